%%%-------------------------------------------------------------------
%%% @doc The job queue of `ggen_jobs': publish, pull, ack, lanes,
%%% at-least-once redelivery and the dead-letter list. Lanes and timeouts
%%% come from the generated configuration ({@link job_worker:lanes/0},
%%% {@link job_worker:lane_config/2}); short timeouts are set through the
%%% app env overrides, so no test waits for the ontology's 30 s.
%%%
%%% No case asserts how fast anything is: a case waits for what must
%%% happen up to ?LIVENESS_MS and fails if it has not happened by then.
%%% Ack margins and processTimeouts are a minute unless a case shortens
%%% them (the ontology's may be a millisecond), so that no job runs into
%%% its timeout in a case not about it, and in a case about another way
%%% back to pending (a puller dying, a worker killed) a job cannot come
%%% back by its ack wait instead, however loaded the machine. Where a case
%%% shortens them, it checks that a job does not come back before its ack
%%% wait (a lower bound, which load cannot break).
%%% @end
%%%-------------------------------------------------------------------
-module(job_queue_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([suite/0, all/0, init_per_testcase/2, end_per_testcase/2, handle_job/1]).
-export([publish_pull_ack/1, redelivery_after_ack_wait/1, ack_wait_grows_with_batch_position/1,
         late_ack_is_honoured/1, redelivery_when_puller_dies/1,
         no_loss_when_worker_killed_mid_job/1, lanes_isolated/1,
         dead_letter_after_3_deliveries/1, release_does_not_count/1]).

-define(APP, ggen_jobs).
%% How long a case waits for what must happen before it fails.
-define(LIVENESS_MS, 5000).
%% Ack margin and processTimeout of the cases not about them.
-define(LONG_MS, 60000).

suite() ->
    [{timetrap, {seconds, 30}}].

all() ->
    [publish_pull_ack, redelivery_after_ack_wait, ack_wait_grows_with_batch_position,
     late_ack_is_honoured, redelivery_when_puller_dies, no_loss_when_worker_killed_mid_job,
     lanes_isolated, dead_letter_after_3_deliveries, release_does_not_count].

init_per_testcase(_Case, Config) ->
    ok = application:set_env(?APP, ack_margin, ?LONG_MS),
    ok = application:set_env(?APP, pools,
                             maps:from_list([{Pool, #{process_timeout => ?LONG_MS}}
                                             || Pool <- job_worker_pool:pools()])),
    {ok, _} = application:ensure_all_started(?APP),
    Config.

end_per_testcase(_Case, _Config) ->
    ok = application:stop(?APP),
    [application:unset_env(?APP, Key) || Key <- [pools, lanes, ack_margin]],
    ok = application:set_env(?APP, handler, job_handler).

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

%% A job not acked within processTimeout + margin is delivered again: it
%% stays in flight until then, and comes back.
redelivery_after_ack_wait(_Config) ->
    {P, D} = Lane = lane(),
    short_ack_wait(Lane, 100, 50),
    Id = publish(P, D, 1),
    Pulled = now_ms(),
    {ok, [#{id := Id, deliveries := 1}]} = job_queue:pull_jobs(P, D, 1),
    await_from(fun job_queue:stats/0, stats(0, 1, 0, 0), stats(1, 0, 0, 0)),
    ?assert(now_ms() - Pulled >= 100 + 50),
    {ok, [#{id := Id, deliveries := 2}]} = job_queue:pull_jobs(P, D, 1),
    ok = job_queue:ack(Id),
    ?assertEqual(stats(0, 0, 1, 0), job_queue:stats()).

%% The k-th job of a batch may wait for the k - 1 before it: its ack wait
%% is k x processTimeout + margin. With processTimeout 1 s, the first job
%% comes back after 1.05 s (not before), while the second stays in flight
%% until 2.05 s: the case must look at the queue in that second.
ack_wait_grows_with_batch_position(_Config) ->
    {P, D} = Lane = lane(),
    short_ack_wait(Lane, 1000, 50),
    [First, Second] = [publish(P, D, N) || N <- [1, 2]],
    Pulled = now_ms(),
    {ok, [_, _]} = job_queue:pull_jobs(P, D, 2),
    await_from(fun job_queue:stats/0, stats(0, 2, 0, 0), stats(1, 1, 0, 0)),
    ?assert(now_ms() - Pulled >= 1000 + 50),
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
    await(fun job_queue:stats/0, stats(1, 0, 0, 0)),
    ok = job_queue:ack(Id),
    ?assertEqual(stats(0, 0, 1, 0), job_queue:stats()),
    ?assertEqual({ok, []}, job_queue:pull_jobs(P, D, 1)).

%% The job comes back because its puller died (its ack wait is a minute).
redelivery_when_puller_dies(_Config) ->
    {P, D} = lane(),
    Id = publish(P, D, 1),
    pull_and_die(P, D),
    await(fun job_queue:stats/0, stats(1, 0, 0, 0)),
    {ok, [#{id := Id, deliveries := 2}]} = job_queue:pull_jobs(P, D, 1).

%% Killing the worker in the middle of a job kills the job and puts it
%% back; the next execute completes it. The job's first delivery runs
%% until it is killed (handle_job/1 below), its processTimeout and ack
%% wait are a minute: only the worker's death can end it and bring it back
%% within ?LIVENESS_MS.
no_loss_when_worker_killed_mid_job(_Config) ->
    {P, D} = lane(),
    #{pool := Pool} = job_worker:lane_config(P, D),
    set_pool(Pool, #{process_timeout => ?LONG_MS}),
    ok = application:set_env(?APP, handler, ?MODULE),
    publish(P, D, 1),
    Worker = job_worker_pool:checkout_worker(Pool, ?LIVENESS_MS),
    Caller = spawn(fun() -> job_worker:pull_and_process(Worker, P, D) end),
    await(fun() -> length(supervisor:which_children(job_worker_sup)) end, 1),
    ?assertEqual(stats(0, 1, 0, 0), job_queue:stats()),
    [{_, Job, _, _}] = supervisor:which_children(job_worker_sup),
    JobRef = monitor(process, Job),
    exit(Worker, kill),
    receive {'DOWN', JobRef, process, Job, _} -> ok
    after ?LIVENESS_MS -> ct:fail(job_survived)
    end,
    await(fun job_queue:stats/0, stats(1, 0, 0, 0)),
    ?assertEqual({ok, #{processed => 1, failed => 0}}, job_worker_pool:execute(P, D)),
    ?assertEqual(stats(0, 0, 1, 0), job_queue:stats()),
    ?assertEqual([], job_queue:dead_letters()),
    exit(Caller, kill).

%% Jobs stay in their lane, and a lane's open breaker leaves the others
%% alone. (The first lane's window is made long so that its failures stay
%% within one window, and its breaker open, however slowly the case runs.)
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
    ok = application:set_env(?APP, lanes, #{{P1, D1} => #{failure_window => ?LONG_MS}}),
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
%% it returned an error or its puller died (its ack wait is a minute).
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
         await(fun job_queue:stats/0, stats(Pending, 0, 0, Dead))
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
    after ?LIVENESS_MS -> ct:fail(puller_stuck)
    end.

publish(P, D, N) ->
    {ok, Id} = job_queue:publish(P, D, #{<<"n">> => N}),
    Id.

stats(Pending, InFlight, Acked, Dead) ->
    #{pending => Pending, in_flight => InFlight, acked => Acked, dead => Dead}.

short_ack_wait({P, D}, ProcessTimeout, Margin) ->
    #{pool := Pool} = job_worker:lane_config(P, D),
    set_pool(Pool, #{process_timeout => ProcessTimeout}),
    ok = application:set_env(?APP, ack_margin, Margin).

%% Overrides some of Pool's settings, keeping the others' overrides.
set_pool(Pool, Settings) ->
    Pools = application:get_env(?APP, pools, #{}),
    ok = application:set_env(?APP, pools,
                             Pools#{Pool => maps:merge(maps:get(Pool, Pools, #{}), Settings)}).

open_breaker(_P, _D, 0) ->
    ct:fail(breaker_never_opened);
open_breaker(P, D, Tries) ->
    case job_worker_pool:execute(P, D) of
        {error, circuit_breaker_open} -> ok;
        {ok, _} -> open_breaker(P, D, Tries - 1)
    end.

%% Waits for Get() to return Expected; fails after ?LIVENESS_MS.
await(Get, Expected) ->
    await(Get, fun(_) -> true end, Expected, now_ms() + ?LIVENESS_MS).

%% Waits for Get() to return Expected, and fails if it returns anything
%% but Before meanwhile.
await_from(Get, Before, Expected) ->
    await(Get, fun(Got) -> Got =:= Before end, Expected, now_ms() + ?LIVENESS_MS).

await(Get, Allowed, Expected, Deadline) ->
    case Get() of
        Expected ->
            ok;
        Other ->
            case Allowed(Other) of
                true -> ok;
                false -> ct:fail({unexpected, {expected, Expected}, {got, Other}})
            end,
            case now_ms() > Deadline of
                true -> ct:fail({timeout, ?LIVENESS_MS, {expected, Expected}, {got, Other}});
                false -> timer:sleep(2), await(Get, Allowed, Expected, Deadline)
            end
    end.

now_ms() ->
    erlang:monotonic_time(millisecond).

%%%===================================================================
%%% The handler of no_loss_when_worker_killed_mid_job: a job's first
%%% delivery runs until it is killed, the next ones succeed
%%%===================================================================

handle_job(#{deliveries := 1}) ->
    receive after infinity -> ok end;
handle_job(_Job) ->
    ok.
