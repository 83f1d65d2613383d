%%%-------------------------------------------------------------------
%%% @doc The job queue of `ggen_jobs': publish, pull, ack, lanes,
%%% at-least-once redelivery and the dead-letter list. Lanes and timeouts
%%% come from the generated configuration ({@link job_worker:lanes/0},
%%% {@link job_worker:lane_config/2}); short timeouts are set through the
%%% app env overrides, so no test waits for the ontology's 30 s.
%%% @end
%%%-------------------------------------------------------------------
-module(job_queue_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([suite/0, all/0, init_per_testcase/2, end_per_testcase/2]).
-export([publish_pull_ack/1, redelivery_after_ack_wait/1, ack_wait_grows_with_batch_position/1,
         late_ack_is_honoured/1, redelivery_when_puller_dies/1,
         no_loss_when_worker_killed_mid_job/1, lanes_isolated/1,
         dead_letter_after_3_deliveries/1, release_does_not_count/1]).

-define(APP, ggen_jobs).

suite() ->
    [{timetrap, {seconds, 30}}].

all() ->
    [publish_pull_ack, redelivery_after_ack_wait, ack_wait_grows_with_batch_position,
     late_ack_is_honoured, redelivery_when_puller_dies, no_loss_when_worker_killed_mid_job,
     lanes_isolated, dead_letter_after_3_deliveries, release_does_not_count].

init_per_testcase(_Case, Config) ->
    {ok, _} = application:ensure_all_started(?APP),
    Config.

end_per_testcase(_Case, _Config) ->
    ok = application:stop(?APP),
    [application:unset_env(?APP, Key) || Key <- [pools, lanes, ack_margin]],
    ok.

%%%===================================================================
%%% Cases
%%%===================================================================

publish_pull_ack(_Config) ->
    {P, D} = lane(),
    ?assertEqual(stats(0, 0, 0, 0), job_queue:stats()),
    Ids = [publish(P, D, N) || N <- [1, 2, 3]],
    ?assertEqual(stats(3, 0, 0, 0), job_queue:stats()),
    {ok, Jobs} = job_queue:pull_jobs(P, D, 2),
    ?assertMatch([#{priority := P, domain := D, deliveries := 1, payload := #{<<"n">> := 1}},
                  #{payload := #{<<"n">> := 2}}], Jobs),
    ?assertEqual(lists:sublist(Ids, 2), [Id || #{id := Id} <- Jobs]),
    ?assertEqual(stats(1, 2, 0, 0), job_queue:stats()),
    [ok = job_queue:ack(Id) || #{id := Id} <- Jobs],
    ?assertEqual(stats(1, 0, 2, 0), job_queue:stats()),
    ok = job_queue:ack(hd(Ids)),
    ok = job_queue:ack(12345),
    ?assertEqual(stats(1, 0, 2, 0), job_queue:stats()),
    {ok, [#{id := Last}]} = job_queue:pull_jobs(P, D, 10),
    ?assertEqual(lists:last(Ids), Last),
    ?assertEqual({ok, []}, job_queue:pull_jobs(P, D, 10)),
    ok = job_queue:ack(Last),
    ?assertEqual(stats(0, 0, 3, 0), job_queue:stats()).

%% A job not acked within processTimeout + margin is delivered again.
redelivery_after_ack_wait(_Config) ->
    {P, D} = Lane = lane(),
    short_ack_wait(Lane, 100, 50),
    Id = publish(P, D, 1),
    {ok, [#{id := Id, deliveries := 1}]} = job_queue:pull_jobs(P, D, 1),
    timer:sleep(80),
    ?assertEqual(stats(0, 1, 0, 0), job_queue:stats()),
    await(fun job_queue:stats/0, stats(1, 0, 0, 0), 1000),
    {ok, [#{id := Id, deliveries := 2}]} = job_queue:pull_jobs(P, D, 1),
    ok = job_queue:ack(Id),
    ?assertEqual(stats(0, 0, 1, 0), job_queue:stats()).

%% The k-th job of a batch may wait for the k - 1 before it: its ack wait
%% is k x processTimeout + margin.
ack_wait_grows_with_batch_position(_Config) ->
    {P, D} = Lane = lane(),
    short_ack_wait(Lane, 200, 50),
    [First, Second] = [publish(P, D, N) || N <- [1, 2]],
    {ok, [_, _]} = job_queue:pull_jobs(P, D, 2),
    await(fun job_queue:stats/0, stats(1, 1, 0, 0), 1000),
    {ok, [#{id := First}]} = job_queue:pull_jobs(P, D, 1),
    ok = job_queue:ack(Second),
    ok = job_queue:ack(First),
    ?assertEqual(stats(0, 0, 2, 0), job_queue:stats()).

%% An ack arriving after the job went back to pending still counts.
late_ack_is_honoured(_Config) ->
    {P, D} = Lane = lane(),
    short_ack_wait(Lane, 50, 10),
    Id = publish(P, D, 1),
    {ok, [_]} = job_queue:pull_jobs(P, D, 1),
    await(fun job_queue:stats/0, stats(1, 0, 0, 0), 1000),
    ok = job_queue:ack(Id),
    ?assertEqual(stats(0, 0, 1, 0), job_queue:stats()),
    ?assertEqual({ok, []}, job_queue:pull_jobs(P, D, 1)).

redelivery_when_puller_dies(_Config) ->
    {P, D} = lane(),
    Id = publish(P, D, 1),
    pull_and_die(P, D),
    await(fun job_queue:stats/0, stats(1, 0, 0, 0), 100),
    {ok, [#{id := Id, deliveries := 2}]} = job_queue:pull_jobs(P, D, 1).

%% Killing the worker in the middle of a job kills the job and puts it
%% back; the next execute completes it.
no_loss_when_worker_killed_mid_job(_Config) ->
    {P, D} = lane(),
    #{pool := Pool} = job_worker:lane_config(P, D),
    {ok, _} = job_queue:publish(P, D, #{<<"action">> => <<"sleep">>, <<"ms">> => 300}),
    Worker = job_worker_pool:checkout_worker(Pool, 1000),
    Caller = spawn(fun() -> job_worker:pull_and_process(Worker, P, D) end),
    await(fun job_queue:stats/0, stats(0, 1, 0, 0), 1000),
    [{_, Job, _, _}] = supervisor:which_children(job_worker_sup),
    JobRef = monitor(process, Job),
    exit(Worker, kill),
    receive {'DOWN', JobRef, process, Job, _} -> ok after 100 -> ct:fail(job_survived) end,
    await(fun job_queue:stats/0, stats(1, 0, 0, 0), 100),
    ?assertEqual({ok, #{processed => 1, failed => 0}}, job_worker_pool:execute(P, D)),
    ?assertEqual(stats(0, 0, 1, 0), job_queue:stats()),
    ?assertEqual([], job_queue:dead_letters()),
    exit(Caller, kill).

%% Jobs stay in their lane, and a lane's open breaker leaves the others alone.
lanes_isolated(_Config) ->
    Lanes = job_worker:lanes() ++ [{undeclared_priority, undeclared_domain}],
    [publish(P, D, N) || {P, D} <- Lanes, N <- [1, 2]],
    lists:foreach(fun({P, D}) ->
                          {ok, Jobs} = job_queue:pull_jobs(P, D, 10),
                          ?assertEqual([{P, D, 1}, {P, D, 2}],
                                       [{JP, JD, N} || #{priority := JP, domain := JD,
                                                         payload := #{<<"n">> := N}} <- Jobs]),
                          [ok = job_queue:ack(Id) || #{id := Id} <- Jobs]
                  end, Lanes),
    [{P1, D1}, {P2, D2} | _] = Lanes,
    #{failure_threshold := Threshold} = job_worker:lane_config(P1, D1),
    [{ok, _} = job_queue:publish(P1, D1, #{<<"action">> => <<"fail">>})
     || _ <- lists:seq(1, Threshold)],
    open_breaker(P1, D1, 3 * Threshold),
    publish(P2, D2, 3),
    case job_worker:lane_config(P2, D2) of
        #{circuit_breaker := closed} ->
            ?assertMatch({ok, #{processed := 1}}, job_worker_pool:execute(P2, D2));
        #{circuit_breaker := open} ->
            ok
    end.

%% A job that fails on each of its 3 deliveries is dead-lettered, whether
%% it returned an error or its worker died.
dead_letter_after_3_deliveries(_Config) ->
    {P, D} = Lane = lane(),
    ok = application:set_env(?APP, lanes, #{Lane => #{failure_threshold => 100}}),
    {ok, Failing} = job_queue:publish(P, D, #{<<"action">> => <<"fail">>}),
    [?assertEqual({ok, #{processed => 0, failed => 1}}, job_worker_pool:execute(P, D))
     || _ <- [1, 2, 3]],
    ?assertEqual(stats(0, 0, 0, 1), job_queue:stats()),
    ?assertMatch([#{id := Failing, deliveries := 3, reason := simulated_failure}],
                 job_queue:dead_letters()),
    ?assertEqual({ok, #{processed => 0, failed => 0}}, job_worker_pool:execute(P, D)),
    Orphan = publish(P, D, 1),
    [begin
         pull_and_die(P, D),
         await(fun job_queue:stats/0, stats(Pending, 0, 0, Dead), 100)
     end || {Pending, Dead} <- [{1, 1}, {1, 1}, {0, 2}]],
    ?assertMatch([#{id := Orphan, deliveries := 3, reason := {puller_down, normal}} | _],
                 job_queue:dead_letters()).

%% Released jobs go back to pending without using up a delivery.
release_does_not_count(_Config) ->
    {P, D} = lane(),
    Id = publish(P, D, 1),
    [begin
         {ok, [#{id := Id, deliveries := 1}]} = job_queue:pull_jobs(P, D, 1),
         ok = job_queue:release([Id])
     end || _ <- [1, 2, 3, 4]],
    ?assertEqual(stats(1, 0, 0, 0), job_queue:stats()).

%%%===================================================================
%%% Helpers
%%%===================================================================

%% The first lane whose breaker starts closed; an undeclared lane (served
%% by the default pool) when every declared one starts open.
lane() ->
    hd([{P, D} || {P, D} <- job_worker:lanes() ++ [{undeclared_priority, undeclared_domain}],
                  maps:get(circuit_breaker, job_worker:lane_config(P, D)) =:= closed]).

%% A process pulls one job of the lane and ends without acking it.
pull_and_die(P, D) ->
    {Pid, MRef} = spawn_monitor(fun() -> {ok, [_]} = job_queue:pull_jobs(P, D, 1) end),
    receive {'DOWN', MRef, process, Pid, Reason} -> ?assertEqual(normal, Reason)
    after 1000 -> ct:fail(puller_stuck)
    end.

publish(P, D, N) ->
    {ok, Id} = job_queue:publish(P, D, #{<<"n">> => N}),
    Id.

stats(Pending, InFlight, Acked, Dead) ->
    #{pending => Pending, in_flight => InFlight, acked => Acked, dead => Dead}.

short_ack_wait({P, D}, ProcessTimeout, Margin) ->
    #{pool := Pool} = job_worker:lane_config(P, D),
    ok = application:set_env(?APP, pools, #{Pool => #{process_timeout => ProcessTimeout}}),
    ok = application:set_env(?APP, ack_margin, Margin).

open_breaker(_P, _D, 0) ->
    ct:fail(breaker_never_opened);
open_breaker(P, D, Tries) ->
    case job_worker_pool:execute(P, D) of
        {error, circuit_breaker_open} -> ok;
        {ok, _} -> open_breaker(P, D, Tries - 1)
    end.

await(Get, Expected, TimeoutMs) ->
    await(Get, Expected, TimeoutMs, erlang:monotonic_time(millisecond) + TimeoutMs).

await(Get, Expected, TimeoutMs, Deadline) ->
    case Get() of
        Expected -> ok;
        Other ->
            case erlang:monotonic_time(millisecond) > Deadline of
                true -> ct:fail({timeout, TimeoutMs, {expected, Expected}, {got, Other}});
                false -> timer:sleep(2), await(Get, Expected, TimeoutMs, Deadline)
            end
    end.
