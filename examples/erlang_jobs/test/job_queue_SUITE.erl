%%%-------------------------------------------------------------------
%%% @doc The job queue of `ggen_jobs': publish, pull, ack, lanes,
%%% at-least-once redelivery and the dead-letter list, on both backends:
%%% the group `memory', and the group `nats' against a real nats-server
%%% that the suite starts (see {@link job_test}). Lanes and timeouts
%%% come from the generated configuration ({@link job_worker:lanes/0},
%%% {@link job_worker:lane_config/2}); short timeouts are set through the
%%% app env overrides, so no test waits for the ontology's 30 s. The
%%% lanes' consumers are off: the cases drive the queue by hand.
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

-export([suite/0, all/0, groups/0, init_per_group/2, end_per_group/2,
         init_per_testcase/2, end_per_testcase/2, handle_job/1]).
-export([publish_pull_ack/1, redelivery_after_ack_wait/1, ack_wait_grows_with_batch_position/1,
         late_ack_is_honoured/1, redelivery_when_puller_dies/1,
         no_loss_when_worker_killed_mid_job/1, lanes_isolated/1,
         dead_letter_after_3_deliveries/1, release_does_not_count/1,
         queue_crash_loses_nothing/1, in_progress_restarts_ack_wait/1,
         release_counts_a_delivery/1, foreign_publisher/1, wire_layout/1,
         calls_wait_for_a_restarting_queue/1]).

-define(APP, ggen_jobs).
-define(APP_SUP, ggen_jobs_sup).
%% How long a case waits for what must happen before it fails.
-define(LIVENESS_MS, 10000).
%% Ack margin and processTimeout of the cases not about them.
-define(LONG_MS, 60000).

suite() ->
    [{timetrap, {seconds, 60}}].

all() ->
    [{group, memory}, {group, nats}].

groups() ->
    Both = [publish_pull_ack, redelivery_after_ack_wait, redelivery_when_puller_dies,
            no_loss_when_worker_killed_mid_job, lanes_isolated, dead_letter_after_3_deliveries,
            queue_crash_loses_nothing],
    [{memory, [], Both ++ [ack_wait_grows_with_batch_position, late_ack_is_honoured,
                           release_does_not_count, calls_wait_for_a_restarting_queue]},
     {nats, [], Both ++ [in_progress_restarts_ack_wait, release_counts_a_delivery,
                         foreign_publisher, wire_layout]}].

init_per_group(Group, Config) ->
    job_test:init_group(Group, Config).

end_per_group(_Group, Config) ->
    job_test:end_group(Config).

init_per_testcase(_Case, Config) ->
    ok = application:set_env(?APP, consumers, false),
    ok = application:set_env(?APP, ack_margin, ?LONG_MS),
    ok = application:set_env(?APP, pools,
                             maps:from_list([{Pool, #{process_timeout => ?LONG_MS}}
                                             || Pool <- job_worker_pool:pools()])),
    ok = job_test:start_app(?APP, Config),
    Config.

end_per_testcase(_Case, _Config) ->
    ok = application:stop(?APP),
    [application:unset_env(?APP, Key) || Key <- [pools, lanes, ack_margin, consumers]],
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
%% stays in flight until then, and comes back (on NATS, it shows as in
%% flight until it is delivered again).
redelivery_after_ack_wait(_Config) ->
    {P, D} = Lane = lane(),
    short_ack_wait(Lane, 100, 50),
    Id = publish(P, D, 1),
    Pulled = now_ms(),
    {ok, [#{id := Id, deliveries := 1}]} = job_queue:pull_jobs(P, D, 1),
    case job_queue:backend() of
        memory -> await_from(fun job_queue:stats/0, stats(0, 1, 0, 0), stats(1, 0, 0, 0));
        nats -> ok
    end,
    ?assertMatch([#{id := Id, deliveries := 2}], await_pull(P, D)),
    ?assert(now_ms() - Pulled >= 100 + 50),
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
    ?assertMatch([#{id := Id, deliveries := 2}], await_pull(P, D)).

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
    await(fun() -> job_worker_pool:execute(P, D) end, {ok, #{processed => 1, failed => 0}}),
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
    [{ok, _} = job_test:publish(P1, D1, #{<<"action">> => <<"fail">>})
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
    {ok, Failing} = job_test:publish(P, D, #{<<"action">> => <<"fail">>}),
    [?assertEqual({ok, #{processed => 0, failed => 1}}, job_worker_pool:execute(P, D))
     || _ <- [1, 2, 3]],
    ?assertEqual(stats(0, 0, 0, 1), job_queue:stats()),
    Reason = job_test:reason(simulated_failure),
    ?assertMatch([#{id := Failing, deliveries := 3, reason := Reason}],
                 job_queue:dead_letters()),
    ?assertEqual({ok, #{processed => 0, failed => 0}}, job_worker_pool:execute(P, D)),
    Orphan = publish(P, D, 1),
    [begin
         await_pull_and_die(P, D),
         await(fun() -> {job_test:outstanding(), dead()} end, {Outstanding, Dead})
     end || {Outstanding, Dead} <- [{1, 1}, {1, 1}, {0, 2}]],
    Down = job_test:reason({puller_down, normal}),
    ?assertMatch([#{id := Orphan, deliveries := 3, reason := Down} | _],
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

%% Killing job_queue in the middle of a run loses nothing: it comes back
%% knowing what is pending and in flight, acks still count, and the jobs
%% of a puller that dies after the restart come back.
queue_crash_loses_nothing(_Config) ->
    {P, D} = lane(),
    Ids = [publish(P, D, N) || N <- lists:seq(1, 10)],
    {ok, Held} = job_queue:pull_jobs(P, D, 3),
    Self = self(),
    Puller = spawn(fun() ->
                           {ok, Jobs} = job_queue:pull_jobs(P, D, 2),
                           Self ! {pulled, self(), Jobs},
                           receive die -> ok end
                   end),
    [_, _] = receive {pulled, Puller, Jobs} -> Jobs after ?LIVENESS_MS -> ct:fail(no_pull) end,
    Before = job_queue:stats(),
    ?assertEqual(stats(5, 5, 0, 0), Before),
    kill_queue(),
    ?assertEqual(Before, job_queue:stats()),
    [ok = job_queue:ack(Id) || #{id := Id} <- Held],
    ?assertEqual(stats(5, 2, 3, 0), job_queue:stats()),
    Puller ! die,
    kill_queue(),
    Rest = drain(P, D, 7, []),
    ?assertEqual(lists:sort(Ids -- [Id || #{id := Id} <- Held]), lists:sort(Rest)),
    ?assertEqual(stats(0, 0, 10, 0), job_queue:stats()).

%% Memory: a publish or pull made while job_queue is down (its supervisor,
%% suspended here, has not restarted it yet) waits for the new one.
calls_wait_for_a_restarting_queue(_Config) ->
    {P, D} = lane(),
    Id = publish(P, D, 1),
    Top = whereis(?APP_SUP),
    ok = sys:suspend(Top),
    Old = whereis(job_queue),
    MRef = monitor(process, Old),
    exit(Old, kill),
    receive {'DOWN', MRef, process, Old, _} -> ok end,
    Self = self(),
    Caller = spawn_link(fun() ->
                                Published = job_queue:publish(P, D, #{<<"n">> => 2}),
                                Pulled = job_queue:pull_jobs(P, D, 5),
                                Self ! {calls, Published, Pulled}
                        end),
    await(fun() -> process_info(Caller, current_function) end,
          {current_function, {timer, sleep, 1}}),
    ok = sys:resume(Top),
    receive
        {calls, Published, Pulled} ->
            ?assertEqual({ok, Id + 1}, Published),
            ?assertMatch({ok, [#{id := Id}, #{id := _}]}, Pulled)
    after ?LIVENESS_MS ->
        ct:fail(calls_never_returned)
    end.

%% NATS: in_progress/1 starts a job's ack wait afresh. With an ack wait of
%% 5 s, a job kept in progress every 200 ms for 7 s is not delivered
%% again (the case would fail only if the node stalled for 5 s between
%% two calls); once left alone, it is, and not before its ack wait.
in_progress_restarts_ack_wait(_Config) ->
    {P, D} = Lane = lane(),
    short_ack_wait(Lane, 1000, 4000),
    Id = publish(P, D, 1),
    {ok, [#{id := Id, deliveries := 1}]} = job_queue:pull_jobs(P, D, 1),
    Until = now_ms() + 7000,
    keep_in_progress(Id, P, D, Until),
    Left = now_ms(),
    ?assertMatch([#{id := Id, deliveries := 2}], await_pull(P, D)),
    ?assert(now_ms() - Left >= 5000 - 250).

keep_in_progress(Id, P, D, Until) ->
    case now_ms() < Until of
        true ->
            ok = job_queue:in_progress(Id),
            ?assertEqual({ok, []}, job_queue:pull_jobs(P, D, 1)),
            timer:sleep(200),
            keep_in_progress(Id, P, D, Until);
        false ->
            ok
    end.

%% NATS: a released job comes back at once, and JetStream counts the
%% delivery.
release_counts_a_delivery(_Config) ->
    {P, D} = lane(),
    Id = publish(P, D, 1),
    {ok, [#{id := Id, deliveries := 1}]} = job_queue:pull_jobs(P, D, 1),
    ok = job_queue:release([Id]),
    ?assertMatch([#{id := Id, deliveries := 2}], await_pull(P, D)),
    ok = job_queue:ack(Id),
    ?assertEqual(stats(0, 0, 1, 0), job_queue:stats()).

%% NATS: a job published by any NATS client, as a JSON object on the
%% lane's subject, is a job like one published through publish/3; a
%% message that is not a JSON object goes to the dead letters when pulled.
foreign_publisher(_Config) ->
    {P, D} = lane(),
    Subject = job_queue_jetstream:lane_subject({P, D}),
    Conn = job_queue_jetstream:connection(),
    {ok, #{seq := Seq}} = nats_js:publish(Conn, Subject, [], <<"{\"action\":\"noop\",\"n\":7}">>, 5000),
    {ok, #{seq := Bad}} = nats_js:publish(Conn, Subject, [], <<"not json">>, 5000),
    ok = job_test:settle(),
    ?assertEqual(stats(2, 0, 0, 0), job_queue:stats()),
    ?assertMatch({ok, [#{id := Seq, priority := P, domain := D, deliveries := 1,
                         payload := #{<<"action">> := <<"noop">>, <<"n">> := 7}}]},
                 job_queue:pull_jobs(P, D, 5)),
    ok = job_queue:ack(Seq),
    ?assertEqual(stats(0, 0, 1, 1), job_queue:stats()),
    ?assertMatch([#{id := Bad, priority := P, domain := D, payload := #{<<"raw">> := <<"not json">>},
                    reason := <<"not_json">>}], job_queue:dead_letters()).

%% NATS: the stream and each declared lane's consumer are laid out as the
%% Rust crate's NatsQueue lays them out.
wire_layout(_Config) ->
    Conn = job_queue_jetstream:connection(),
    Stream = job_queue_jetstream:stream(),
    Prefix = job_queue_jetstream:subject_prefix(),
    {ok, #{<<"config">> := StreamConfig}} = nats_js:stream_info(Conn, Stream),
    ?assertMatch(#{<<"retention">> := <<"workqueue">>, <<"storage">> := <<"file">>},
                 StreamConfig),
    ?assertEqual(lists:sort([<<Prefix/binary, ".lane.>">>, <<Prefix/binary, ".dead.>">>]),
                 lists:sort(maps:get(<<"subjects">>, StreamConfig))),
    lists:foreach(
      fun({P, D} = Lane) ->
              Name = job_queue_jetstream:consumer_name(Lane),
              ?assertEqual(<<(job_queue_jetstream:token(Stream))/binary, "_",
                             (job_queue_jetstream:token(P))/binary, "_",
                             (job_queue_jetstream:token(D))/binary>>, Name),
              {ok, #{<<"config">> := C}} = nats_js:consumer_info(Conn, Stream, Name),
              ?assertMatch(#{<<"durable_name">> := Name, <<"ack_policy">> := <<"explicit">>,
                             <<"max_deliver">> := 4}, C),
              ?assertEqual(<<Prefix/binary, ".lane.", (job_queue_jetstream:token(P))/binary, ".",
                             (job_queue_jetstream:token(D))/binary>>,
                           maps:get(<<"filter_subject">>, C)),
              ?assertEqual(job_queue:ack_wait(Lane) * 1000000, maps:get(<<"ack_wait">>, C))
      end, job_worker:lanes()),
    ?assertEqual(<<"a-b_5F_C3_A9_2E">>, job_queue_jetstream:token(<<"a-b_é."/utf8>>)).

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
    {ok, Id} = job_test:publish(P, D, #{<<"n">> => N}),
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

%% Pulls a job of the lane as soon as there is one.
await_pull(P, D) ->
    await_pull(P, D, now_ms() + ?LIVENESS_MS).

await_pull(P, D, Deadline) ->
    case job_queue:pull_jobs(P, D, 1) of
        {ok, []} ->
            case now_ms() > Deadline of
                true -> ct:fail(job_never_came_back);
                false -> timer:sleep(5), await_pull(P, D, Deadline)
            end;
        {ok, Jobs} ->
            Jobs
    end.

%% A process pulls one job of the lane, as soon as there is one, and ends
%% without acking it.
await_pull_and_die(P, D) ->
    {Pid, MRef} = spawn_monitor(fun() -> [_] = await_pull(P, D) end),
    receive {'DOWN', MRef, process, Pid, Reason} -> ?assertEqual(normal, Reason)
    after 2 * ?LIVENESS_MS -> ct:fail(puller_stuck)
    end.

%% Pulls and acks N jobs of the lane as they come; returns their ids.
drain(_P, _D, 0, Acc) ->
    Acc;
drain(P, D, N, Acc) ->
    Jobs = await_pull(P, D),
    [ok = job_queue:ack(Id) || #{id := Id} <- Jobs],
    drain(P, D, N - length(Jobs), Acc ++ [Id || #{id := Id} <- Jobs]).

%% Kills job_queue and waits for its supervisor to have started it again.
kill_queue() ->
    Old = whereis(job_queue),
    exit(Old, kill),
    await(fun() -> case whereis(job_queue) of
                       Pid when is_pid(Pid), Pid =/= Old -> restarted;
                       _ -> waiting
                   end
          end, restarted).

dead() ->
    maps:get(dead, job_queue:stats()).


%%%===================================================================
%%% The handler of no_loss_when_worker_killed_mid_job: a job's first
%%% delivery runs until it is killed, the next ones succeed
%%%===================================================================

handle_job(#{deliveries := 1}) ->
    receive after infinity -> ok end;
handle_job(_Job) ->
    ok.
