%%%-------------------------------------------------------------------
%%% @doc Workers, pools and circuit breakers of `ggen_jobs'.
%%%
%%% The walk-through's three cases, then poolboy's acceptance list run
%%% against every configured pool, each on both queue backends: the group
%%% `memory', and the group `nats' against a real nats-server that the
%%% suite starts ({@link job_test}). The lanes' consumers are off:
%%% the cases drive the lanes by hand. Sizes, strategies, lanes and timeouts
%%% are read from the generated configuration
%%% ({@link job_worker_pool_sup:pool_args/1}, {@link job_worker:lanes/0},
%%% {@link job_worker:lane_config/2}), never restated here.
%%%
%%% No case asserts how fast anything is (the benchmark,
%%% `rebar3 ct --dir bench', measures that): a case waits for what must
%%% happen up to ?LIVENESS_MS and fails if it has not happened by then, so
%%% the suite passes on a loaded machine and still catches a worker never
%%% replaced or a job never killed. Where a case tells a wait from no wait,
%%% or one mechanism from a slower one, the two are seconds apart.
%%% @end
%%%-------------------------------------------------------------------
-module(job_worker_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([suite/0, all/0, groups/0, init_per_group/2, end_per_group/2,
         init_per_testcase/2, end_per_testcase/2, handle_job/1]).
-export([test_worker_crash_and_restart/1, test_circuit_breaker_opens/1,
         test_pool_overflow/1,
         pool_startup/1, pool_overflow_and_dismissal/1, pool_empty_blocks_then_served/1,
         checkout_timeout/1, nonblocking_full/1, idle_worker_death/1,
         checked_out_worker_death/1, worker_death_serves_waiting_client/1,
         owner_death_returns_worker/1, status_states/1, strategy_order/1,
         circuit_breaker_half_open/1, breaker_shared_by_pooled_workers/1,
         worker_status_and_metrics/1, job_timeout_kills_job/1,
         crashing_job_leaves_worker_alive/1, handler_from_app_env/1,
         concurrent_executes_lose_nothing/1, stop_during_job_is_prompt/1,
         supervision_tree/1]).

-define(APP, ggen_jobs).
-define(TOP_SUP, ggen_jobs_sup).
%% How long a case waits for what must happen (a worker replaced, a job
%% killed, a client served) before it fails.
-define(LIVENESS_MS, 10000).
%% Settings that keep a mechanism out of a case not about it, however
%% loaded the machine (and whatever the ontology's values, which may be a
%% millisecond): no job runs into its processTimeout, no breaker window
%% passes. Every pool's processTimeout is ?LONG_MS unless a case sets it.
-define(LONG_MS, 60000).

suite() ->
    [{timetrap, {seconds, 60}}].

all() ->
    [{group, memory}, {group, nats}].

groups() ->
    [{memory, [], cases()}, {nats, [], cases()}].

init_per_group(Group, Config) ->
    job_test:init_group(Group, Config).

end_per_group(_Group, Config) ->
    job_test:end_group(Config).

cases() ->
    [test_worker_crash_and_restart, test_circuit_breaker_opens, test_pool_overflow,
     pool_startup, pool_overflow_and_dismissal, pool_empty_blocks_then_served,
     checkout_timeout, nonblocking_full, idle_worker_death, checked_out_worker_death,
     worker_death_serves_waiting_client, owner_death_returns_worker, status_states,
     strategy_order, circuit_breaker_half_open, breaker_shared_by_pooled_workers,
     worker_status_and_metrics, job_timeout_kills_job, crashing_job_leaves_worker_alive,
     handler_from_app_env, concurrent_executes_lose_nothing, stop_during_job_is_prompt,
     supervision_tree].

init_per_testcase(_Case, Config) ->
    ok = application:set_env(?APP, consumers, false),
    ok = application:set_env(?APP, pools,
                             maps:from_list([{Pool, #{process_timeout => ?LONG_MS}}
                                             || Pool <- job_worker_pool:pools()])),
    ok = job_test:start_app(?APP, Config),
    Config.

end_per_testcase(_Case, _Config) ->
    _ = application:stop(?APP),
    [application:unset_env(?APP, Key) || Key <- [pools, lanes, ack_margin, consumers]],
    ok = application:set_env(?APP, handler, job_handler).

%%%===================================================================
%%% The walk-through's cases
%%%===================================================================

%% Killing a worker, checked out or idle, restores the pool (how fast is
%% measured by the benchmark); the top supervisor is untouched.
test_worker_crash_and_restart(_Config) ->
    TopSup = whereis(?TOP_SUP),
    lists:foreach(
      fun(Pool) ->
              Worker = job_worker_pool:checkout_worker(Pool, ?LIVENESS_MS),
              ?assert(is_pid(Worker)),
              kill(Worker),
              await_status(Pool, 0),
              [Idle | _] = idle_workers(Pool),
              kill(Idle),
              await_status(Pool, 0),
              ?assertNot(lists:member(Idle, idle_workers(Pool))),
              ?assertEqual(pool_size(Pool), length(all_workers(Pool)))
      end, job_worker_pool:pools()),
    ?assertEqual(TopSup, whereis(?TOP_SUP)),
    ?assert(is_process_alive(TopSup)).

%% failureThreshold failures open the lane's breaker; then execute refuses.
%% The windows are made long so that the failures stay within one window,
%% and the breaker open, however slowly the case runs.
test_circuit_breaker_opens(_Config) ->
    Lanes = job_worker:lanes() ++ [undeclared_lane()],
    ok = application:set_env(?APP, lanes,
                             maps:from_list([{L, #{failure_window => ?LONG_MS}} || L <- Lanes])),
    lists:foreach(fun breaker_opens/1, Lanes).

breaker_opens({P, D}) ->
    case job_worker:lane_config(P, D) of
        #{circuit_breaker := open} ->
            ?assertEqual(open, job_worker:circuit_breaker(P, D)),
            ?assertEqual({error, circuit_breaker_open}, job_worker_pool:execute(P, D));
        #{circuit_breaker := closed, failure_threshold := Threshold} ->
            ?assertEqual(closed, job_worker:circuit_breaker(P, D)),
            #{pending := Pending0, in_flight := InFlight0, dead := Dead0} = job_queue:stats(),
            [publish(P, D, <<"fail">>) || _ <- lists:seq(1, Threshold)],
            ?assertEqual(Threshold, fail_until_open(P, D, 0, 3 * Threshold)),
            ?assertEqual(open, job_worker:circuit_breaker(P, D)),
            ?assertEqual({error, circuit_breaker_open}, job_worker_pool:execute(P, D)),
            %% (on NATS, a nacked job counts as in flight until delivered again)
            #{pending := Pending, in_flight := InFlight, acked := 0, dead := Dead} = job_queue:stats(),
            ?assertEqual(Threshold, Pending + InFlight + Dead - Pending0 - InFlight0 - Dead0)
    end.

fail_until_open(_P, _D, _Failed, 0) ->
    ct:fail(breaker_never_opened);
fail_until_open(P, D, Failed, Tries) ->
    case job_worker_pool:execute(P, D) of
        {error, circuit_breaker_open} -> Failed;
        {ok, #{processed := 0, failed := F}} -> fail_until_open(P, D, Failed + F, Tries - 1)
    end.

%% Size + max_overflow checkouts exhaust a pool: `full', then
%% `pool_exhausted'; checking all in dismisses the overflow workers.
test_pool_overflow(_Config) ->
    lists:foreach(
      fun(Pool) ->
              set_pool(Pool, #{checkout_timeout => 100}),
              Workers = checkout(Pool, capacity(Pool)),
              ?assertEqual(expected_status(Pool, capacity(Pool)), job_worker_pool:pool_status(Pool)),
              ?assertEqual(full, job_worker_pool:checkout_worker(Pool, 0)),
              [begin
                   {Micros, Result} = timer:tc(job_worker_pool, execute, [P, D]),
                   ?assertEqual({error, pool_exhausted}, Result),
                   ?assert(Micros >= 100000)
               end || {P, D} <- lists:sublist(lanes_of(Pool), 1)],
              checkin(Pool, Workers),
              ?assertEqual(expected_status(Pool, 0), job_worker_pool:pool_status(Pool)),
              ?assertEqual(pool_size(Pool), length(all_workers(Pool)))
      end, job_worker_pool:pools()).

%%%===================================================================
%%% poolboy's acceptance list, per configured pool
%%%===================================================================

pool_startup(_Config) ->
    each_pool(
      fun(Pool) ->
              ?assertEqual(#{state => ready, available_workers => pool_size(Pool),
                             overflow_workers => 0, monitored_workers => pool_size(Pool)},
                           job_worker_pool:pool_status(Pool)),
              ?assertEqual(pool_size(Pool), length(all_workers(Pool))),
              [Worker] = checkout(Pool, 1),
              ?assertEqual(expected_status(Pool, 1), job_worker_pool:pool_status(Pool)),
              ok = job_worker_pool:checkin_worker(Pool, Worker),
              ?assertEqual(expected_status(Pool, 0), job_worker_pool:pool_status(Pool))
      end),
    ?assertEqual(job_worker_pool:pool_status(hd(job_worker_pool:pools())),
                 job_worker_pool:pool_status()).

%% Overflow workers are started on demand and dismissed on checkin.
pool_overflow_and_dismissal(_Config) ->
    each_pool(
      fun(Pool) ->
              Capacity = capacity(Pool),
              Workers = checkout(Pool, Capacity),
              ?assertEqual(Capacity, length(all_workers(Pool))),
              lists:foldl(
                fun(Worker, Held) ->
                        ok = job_worker_pool:checkin_worker(Worker),
                        ?assertEqual(expected_status(Pool, Held - 1),
                                     job_worker_pool:pool_status(Pool)),
                        ?assertEqual(max(pool_size(Pool), Held - 1), length(all_workers(Pool))),
                        Held - 1
                end, Capacity, Workers)
      end).

%% A checkout on an exhausted pool blocks until a worker is checked in.
pool_empty_blocks_then_served(_Config) ->
    each_pool(
      fun(Pool) ->
              [First | Rest] = checkout(Pool, capacity(Pool)),
              Client = waiting_client(Pool),
              receive {served, Client, _} -> ct:fail(served_while_exhausted)
              after 100 -> ok
              end,
              ok = job_worker_pool:checkin_worker(Pool, First),
              receive {served, Client, Worker} -> ?assertEqual(First, Worker)
              after ?LIVENESS_MS -> ct:fail(not_served)
              end,
              checkin(Pool, Rest),
              await_status(Pool, 0)
      end).

%% A blocking checkout that times out returns `full' and leaves no trace.
%% (It waits at least its timeout: a lower bound, which load cannot break.)
checkout_timeout(_Config) ->
    each_pool(
      fun(Pool) ->
              Workers = checkout(Pool, capacity(Pool)),
              {Micros, full} = timer:tc(job_worker_pool, checkout_worker, [Pool, 50]),
              ?assert(Micros >= 50000),
              ?assertEqual(expected_status(Pool, capacity(Pool)), job_worker_pool:pool_status(Pool)),
              checkin(Pool, Workers),
              ?assertEqual(expected_status(Pool, 0), job_worker_pool:pool_status(Pool)),
              ?assertEqual(pool_size(Pool), length(checkout(Pool, pool_size(Pool))))
      end).

%% A checkout with timeout 0 on a full pool answers `full' at once: a
%% checkout that waited would wait poolboy's 5 s call timeout, so 2 s tells
%% them apart on a loaded machine too.
nonblocking_full(_Config) ->
    each_pool(
      fun(Pool) ->
              Workers = checkout(Pool, capacity(Pool)),
              {Micros, full} = timer:tc(job_worker_pool, checkout_worker, [Pool, 0]),
              ?assert(Micros < 2000000),
              checkin(Pool, Workers),
              ?assert(is_pid(job_worker_pool:checkout_worker(Pool, 0)))
      end).

idle_worker_death(_Config) ->
    each_pool(
      fun(Pool) ->
              Before = idle_workers(Pool),
              [kill(Worker) || Worker <- Before],
              await_status(Pool, 0),
              After = idle_workers(Pool),
              ?assertEqual(pool_size(Pool), length(After)),
              ?assertEqual([], [W || W <- After, lists:member(W, Before)])
      end).

%% A checked-out worker that dies is replaced when no overflow worker is
%% out; otherwise the overflow shrinks by one.
checked_out_worker_death(_Config) ->
    each_pool(
      fun(Pool) ->
              [Worker] = checkout(Pool, 1),
              kill(Worker),
              await_status(Pool, 0),
              Held = checkout(Pool, capacity(Pool)),
              [kill(W) || W <- lists:sublist(Held, 3)],
              await_status(Pool, capacity(Pool) - min(3, length(Held))),
              checkin(Pool, lists:nthtail(min(3, length(Held)), Held)),
              await_status(Pool, 0),
              ?assertEqual(pool_size(Pool), length(all_workers(Pool)))
      end).

%% A worker dying while a client waits serves that client.
worker_death_serves_waiting_client(_Config) ->
    each_pool(
      fun(Pool) ->
              [First | Rest] = checkout(Pool, capacity(Pool)),
              Client = waiting_client(Pool),
              kill(First),
              receive {served, Client, Worker} -> ?assert(is_pid(Worker))
              after ?LIVENESS_MS -> ct:fail(not_served)
              end,
              checkin(Pool, Rest),
              await_status(Pool, 0)
      end).

%% A worker whose owner dies goes back to the pool, alive.
owner_death_returns_worker(_Config) ->
    each_pool(
      fun(Pool) ->
              Self = self(),
              {Owner, MRef} = spawn_monitor(fun() ->
                                                    Self ! {worker, job_worker_pool:checkout_worker(Pool, ?LIVENESS_MS)}
                                            end),
              Worker = receive {worker, W} -> W after ?LIVENESS_MS -> ct:fail(no_checkout) end,
              receive {'DOWN', MRef, process, Owner, _} -> ok end,
              await_status(Pool, 0),
              ?assert(is_process_alive(Worker)),
              ?assert(lists:member(Worker, idle_workers(Pool)))
      end).

%% ready while a worker is idle, overflow while overflow workers can be
%% started, full when neither.
status_states(_Config) ->
    each_pool(
      fun(Pool) ->
              Capacity = capacity(Pool),
              Workers = [begin
                             ?assertEqual(expected_status(Pool, Held), job_worker_pool:pool_status(Pool)),
                             job_worker_pool:checkout_worker(Pool, 0)
                         end || Held <- lists:seq(0, Capacity - 1)],
              #{state := full} = job_worker_pool:pool_status(Pool),
              States = [state_name(Pool, Held) || Held <- lists:seq(0, Capacity)],
              ?assertEqual(ready, hd(States)),
              ?assertEqual(full, lists:last(States)),
              ?assertEqual(max_overflow(Pool) > 0, lists:member(overflow, States)),
              checkin(Pool, Workers)
      end).

%% fifo hands out the worker idle the longest; lifo the one checked in last.
strategy_order(_Config) ->
    each_pool(
      fun(Pool) ->
              Workers = checkout(Pool, pool_size(Pool)),
              checkin(Pool, Workers),
              Expected = case proplists:get_value(strategy, job_worker_pool_sup:pool_args(Pool)) of
                             fifo -> hd(Workers);
                             lifo -> lists:last(Workers)
                         end,
              ?assertEqual(Expected, job_worker_pool:checkout_worker(Pool, 0))
      end).

%%%===================================================================
%%% Breakers, workers, jobs
%%%===================================================================

%% After the window one probe goes through: its failure reopens the
%% breaker, its success closes it; a probe that finds no job gives the
%% probe back.
%%
%% The window is read on every call. While the case checks that the
%% breaker is open, the window is a minute (however slowly the case runs,
%% it cannot pass); to let it pass, the case sets it to 300 ms and waits
%% 300 ms.
circuit_breaker_half_open(_Config) ->
    {P, D} = Lane = closed_lane(),
    set_lane(Lane, #{failure_window => ?LONG_MS}),
    use_test_handler(fail),
    #{failure_threshold := Threshold, pull_size := PullSize} = job_worker:lane_config(P, D),
    [publish(P, D, <<"fail">>) || _ <- lists:seq(1, Threshold)],
    ?assertEqual(Threshold, fail_until_open(P, D, 0, 3 * Threshold)),
    ?assertEqual(open, job_worker:circuit_breaker(P, D)),
    {ok, Left} = job_queue:pull_jobs(P, D, 3 * Threshold),
    [ok = job_queue:ack(Id) || #{id := Id} <- Left],
    let_window_pass(Lane, 300),
    ?assertEqual(half_open, job_worker:circuit_breaker(P, D)),
    ?assertEqual({ok, #{processed => 0, failed => 0}}, job_worker_pool:execute(P, D)),
    ?assertEqual(half_open, job_worker:circuit_breaker(P, D)),
    [publish(P, D, <<"fail">>) || _ <- [1, 2]],
    ?assertEqual({ok, #{processed => 0, failed => 1}}, job_worker_pool:execute(P, D)),
    set_lane(Lane, #{failure_window => ?LONG_MS}),
    ?assertEqual(open, job_worker:circuit_breaker(P, D)),
    ?assertEqual({error, circuit_breaker_open}, job_worker_pool:execute(P, D)),
    let_window_pass(Lane, 300),
    use_test_handler(ok),
    [publish(P, D, <<"noop">>) || _ <- lists:seq(1, PullSize)],
    ?assertEqual({ok, #{processed => 1, failed => 0}}, job_worker_pool:execute(P, D)),
    ?assertEqual(closed, job_worker:circuit_breaker(P, D)),
    ?assertEqual({ok, #{processed => PullSize, failed => 0}}, job_worker_pool:execute(P, D)).

%% One breaker per lane whichever worker runs the lane's jobs: a worker
%% kept aside while other workers fail the lane's jobs finds the breaker
%% open.
breaker_shared_by_pooled_workers(_Config) ->
    case [L || {P, D} = L <- closed_lanes(),
               capacity(maps:get(pool, job_worker:lane_config(P, D))) >= 2] of
        [] ->
            {skip, "no lane whose breaker starts closed in a pool of two workers or more"};
        [{P, D} = Lane | _] ->
            #{pool := Pool, failure_threshold := Threshold} = job_worker:lane_config(P, D),
            set_lane(Lane, #{failure_window => ?LONG_MS}),
            set_pool(Pool, #{checkout_timeout => ?LIVENESS_MS}),
            Aside = job_worker_pool:checkout_worker(Pool, 0),
            [publish(P, D, <<"fail">>) || _ <- lists:seq(1, Threshold)],
            ?assertEqual(Threshold, fail_until_open(P, D, 0, 3 * Threshold)),
            ?assertMatch(#{metrics := #{pulled := 0}}, job_worker:get_status(Aside)),
            ?assertEqual({error, circuit_breaker_open}, job_worker:pull_and_process(Aside, P, D)),
            ?assertMatch(#{priority := P, domain := D, circuit_breaker := open},
                         job_worker:get_status(Aside)),
            ok = job_worker_pool:checkin_worker(Pool, Aside)
    end.

%% Status and metrics persist across calls.
%% A fresh worker reports its pool's first lane (or none).
worker_status_and_metrics(_Config) ->
    {P, D} = closed_lane(),
    #{pool := Pool, pull_size := PullSize} = job_worker:lane_config(P, D),
    Worker = job_worker_pool:checkout_worker(Pool, ?LIVENESS_MS),
    {FirstP, FirstD} = case [L || {LP, LD} = L <- job_worker:lanes(),
                                  maps:get(pool, job_worker:lane_config(LP, LD)) =:= Pool] of
                           [First | _] -> First;
                           [] -> {undefined, undefined}
                       end,
    ?assertMatch(#{worker_id := Id, priority := FirstP, domain := FirstD,
                   metrics := #{pulled := 0, processed := 0, failed := 0, acked := 0}}
                   when is_binary(Id), job_worker:get_status(Worker)),
    [publish(P, D, <<"noop">>) || _ <- lists:seq(1, PullSize)],
    ?assertEqual({ok, #{processed => PullSize, failed => 0}},
                 job_worker:pull_and_process(Worker, P, D)),
    publish(P, D, <<"fail">>),
    ?assertEqual({ok, #{processed => 0, failed => 1}}, job_worker:pull_and_process(Worker, P, D)),
    ?assertMatch(#{priority := P, domain := D,
                   metrics := #{pulled := Pulled, processed := PullSize, failed := 1,
                                acked := PullSize}} when Pulled =:= PullSize + 1,
                 job_worker:get_status(Worker)),
    ok = job_worker_pool:checkin_worker(Pool, Worker).

%% A job past processTimeout is killed and counts as a failure: the
%% execute returns long before the job would have ended (a minute; the
%% timetrap fails the case before that).
job_timeout_kills_job(_Config) ->
    {P, D} = closed_lane(),
    #{pool := Pool} = job_worker:lane_config(P, D),
    set_pool(Pool, #{process_timeout => 100}),
    {ok, Id} = job_test:publish(P, D, #{<<"action">> => <<"sleep">>, <<"ms">> => ?LONG_MS}),
    {Micros, Result} = timer:tc(job_worker_pool, execute, [P, D]),
    ?assertEqual({ok, #{processed => 0, failed => 1}}, Result),
    ?assert(Micros < ?LIVENESS_MS * 1000),
    ?assertEqual([], supervisor:which_children(job_worker_sup)),
    ?assertEqual(1, job_test:outstanding()),
    {ok, [#{id := Id, deliveries := 2}]} = job_queue:pull_jobs(P, D, 1),
    ok = job_queue:ack(Id).

crashing_job_leaves_worker_alive(_Config) ->
    {P, D} = closed_lane(),
    #{pool := Pool} = job_worker:lane_config(P, D),
    Worker = job_worker_pool:checkout_worker(Pool, ?LIVENESS_MS),
    publish(P, D, <<"crash">>),
    set_lane({P, D}, #{failure_threshold => 100}),
    %% delivered three times, then dead
    [?assertEqual({ok, #{processed => 0, failed => 1}}, job_worker:pull_and_process(Worker, P, D))
     || _ <- [1, 2, 3]],
    ?assert(is_process_alive(Worker)),
    ?assertEqual({ok, #{processed => 0, failed => 0}}, job_worker:pull_and_process(Worker, P, D)),
    case job_queue:backend() of
        memory ->
            ?assertMatch([#{deliveries := 3, reason := {crashed, {simulated_crash, _}}}],
                         job_queue:dead_letters());
        nats ->
            ?assertMatch([#{deliveries := 3, reason := <<"{crashed,{simulated_crash,", _/binary>>}],
                         job_queue:dead_letters())
    end,
    ok = job_worker_pool:checkin_worker(Pool, Worker),
    ?assertEqual(expected_status(Pool, 0), job_worker_pool:pool_status(Pool)).

%% The app env `handler' names the module that runs jobs.
handler_from_app_env(_Config) ->
    use_test_handler(ok),
    {P, D} = closed_lane(),
    {ok, Id} = job_test:publish(P, D, #{<<"n">> => 1}),
    ?assertEqual({ok, #{processed => 1, failed => 0}}, job_worker_pool:execute(P, D)),
    receive {handled, #{id := Id, priority := P, domain := D, payload := #{<<"n">> := 1}}} -> ok
    after ?LIVENESS_MS -> ct:fail(handler_not_called)
    end.

%% As many callers as a pool has workers, overflow included, drain a lane
%% concurrently: every job is acked exactly once and the pool ends at its
%% size.
concurrent_executes_lose_nothing(_Config) ->
    each_pool(
      fun(Pool) ->
              [drain_lane(Pool, Lane) || Lane <- lists:sublist(closed_lanes(Pool), 1)]
      end).

drain_lane(Pool, {P, D}) ->
    #{pull_size := PullSize} = job_worker:lane_config(P, D),
    #{acked := Acked0} = job_queue:stats(),
    Jobs = 20 * PullSize * capacity(Pool),
    [publish(P, D, <<"noop">>) || _ <- lists:seq(1, Jobs)],
    Self = self(),
    Callers = [spawn_link(fun() -> Self ! {drained, self(), drain(P, D, 0)} end)
               || _ <- lists:seq(1, capacity(Pool))],
    Processed = lists:sum([receive {drained, C, N} -> N after 10000 -> ct:fail(stuck) end
                           || C <- Callers]),
    ?assertEqual(Jobs, Processed),
    ?assertMatch(#{pending := 0, in_flight := 0, dead := 0}, job_queue:stats()),
    ?assertEqual(Acked0 + Jobs, maps:get(acked, job_queue:stats())),
    ?assertEqual(expected_status(Pool, 0), job_worker_pool:pool_status(Pool)).

drain(P, D, Done) ->
    case job_worker_pool:execute(P, D) of
        {ok, #{processed := 0, failed := 0}} -> Done;
        {ok, #{processed := N, failed := 0}} -> drain(P, D, Done + N);
        {error, pool_exhausted} -> drain(P, D, Done)
    end.

%% A worker told to stop (an exit signal, as from its supervisor) stops
%% at once, even in the middle of a job: the job is killed and goes back
%% to the queue because its puller died. The job would run a minute, and
%% so would its processTimeout and its ack wait, so a worker that waited
%% for the job, a job that outlived its worker or a job that came back
%% only by its ack wait would all miss the ?LIVENESS_MS deadlines.
stop_during_job_is_prompt(_Config) ->
    {P, D} = closed_lane(),
    #{pool := Pool} = job_worker:lane_config(P, D),
    set_pool(Pool, #{process_timeout => ?LONG_MS}),
    {ok, Id} = job_test:publish(P, D, #{<<"action">> => <<"sleep">>, <<"ms">> => ?LONG_MS}),
    Worker = job_worker_pool:checkout_worker(Pool, ?LIVENESS_MS),
    Caller = spawn(fun() -> job_worker:pull_and_process(Worker, P, D) end),
    await(fun() -> length(supervisor:which_children(job_worker_sup)) end, 1),
    [{_, Job, _, _}] = supervisor:which_children(job_worker_sup),
    WorkerRef = monitor(process, Worker),
    JobRef = monitor(process, Job),
    exit(Worker, shutdown),
    receive {'DOWN', WorkerRef, process, Worker, shutdown} -> ok
    after ?LIVENESS_MS -> ct:fail(worker_kept_running)
    end,
    receive {'DOWN', JobRef, process, Job, _} -> ok
    after ?LIVENESS_MS -> ct:fail(job_outlived_worker)
    end,
    await(fun() -> case job_queue:pull_jobs(P, D, 1) of
                       {ok, [#{id := Id, deliveries := 2}]} -> back;
                       {ok, []} -> not_yet
                   end
          end, back),
    exit(Caller, kill).

supervision_tree(_Config) ->
    Queue = case job_queue:backend() of
                memory -> [job_queue];
                nats -> [job_queue, job_queue_nats]
            end,
    ?assertEqual(lists:sort([job_worker_pool_sup | Queue]),
                 lists:sort([Id || {Id, _, _, _} <- supervisor:which_children(?TOP_SUP)])),
    ?assertEqual(lists:sort([job_worker_sup, job_consumer_sup | job_worker_pool:pools()]),
                 lists:sort([Id || {Id, _, _, _} <- supervisor:which_children(job_worker_pool_sup)])).

%%%===================================================================
%%% The test handler: answers as told, reports each job to the test
%%%===================================================================

handle_job(Job) ->
    job_worker_SUITE ! {handled, Job},
    persistent_term:get({?MODULE, answer}).

use_test_handler(Answer) ->
    persistent_term:put({?MODULE, answer}, case Answer of
                                               ok -> ok;
                                               fail -> {error, test_failure}
                                           end),
    catch register(job_worker_SUITE, self()),
    ok = application:set_env(?APP, handler, ?MODULE).

%%%===================================================================
%%% Helpers
%%%===================================================================

each_pool(Fun) ->
    lists:foreach(Fun, job_worker_pool:pools()).

pool_size(Pool) -> proplists:get_value(size, job_worker_pool_sup:pool_args(Pool)).

max_overflow(Pool) -> proplists:get_value(max_overflow, job_worker_pool_sup:pool_args(Pool)).

capacity(Pool) -> pool_size(Pool) + max_overflow(Pool).

%% The status of Pool with Held workers checked out.
expected_status(Pool, Held) ->
    #{state => state_name(Pool, Held),
      available_workers => max(0, pool_size(Pool) - Held),
      overflow_workers => max(0, Held - pool_size(Pool)),
      monitored_workers => max(pool_size(Pool), Held)}.

state_name(Pool, Held) ->
    Size = pool_size(Pool),
    Capacity = capacity(Pool),
    if Held < Size -> ready;
       Held < Capacity -> overflow;
       true -> full
    end.

%% Lanes served by Pool, declared or not (undeclared lanes go to the
%% default pool).
lanes_of(Pool) ->
    [{P, D} || {P, D} <- job_worker:lanes() ++ [undeclared_lane()],
               maps:get(pool, job_worker:lane_config(P, D)) =:= Pool].

%% Lanes whose breaker starts closed, the undeclared one last.
closed_lanes() ->
    [{P, D} || {P, D} <- job_worker:lanes() ++ [undeclared_lane()],
               maps:get(circuit_breaker, job_worker:lane_config(P, D)) =:= closed].

closed_lanes(Pool) ->
    [Lane || Lane <- closed_lanes(), lists:member(Lane, lanes_of(Pool))].

closed_lane() -> hd(closed_lanes()).

undeclared_lane() -> {undeclared_priority, undeclared_domain}.

publish(P, D, Action) ->
    {ok, _} = job_test:publish(P, D, #{<<"action">> => Action}).

%% Overrides some of Pool's settings, keeping the others' overrides.
set_pool(Pool, Settings) ->
    Pools = application:get_env(?APP, pools, #{}),
    ok = application:set_env(?APP, pools,
                             Pools#{Pool => maps:merge(maps:get(Pool, Pools, #{}), Settings)}).

set_lane(Lane, Settings) ->
    ok = application:set_env(?APP, lanes, #{Lane => Settings}).

%% The lane's breaker window becomes Ms, and Ms go by: a breaker that
%% opened before the call has seen its window pass.
let_window_pass(Lane, Ms) ->
    set_lane(Lane, #{failure_window => Ms}),
    timer:sleep(Ms).

checkout(Pool, N) ->
    [begin
         Worker = job_worker_pool:checkout_worker(Pool, 0),
         ?assert(is_pid(Worker)),
         Worker
     end || _ <- lists:seq(1, N)].

checkin(Pool, Workers) ->
    [ok = job_worker_pool:checkin_worker(Pool, W) || W <- Workers],
    ok.

idle_workers(Pool) -> gen_server:call(Pool, get_avail_workers).

all_workers(Pool) -> [Pid || {_, Pid, _, _} <- gen_server:call(Pool, get_all_workers)].

kill(Pid) ->
    MRef = monitor(process, Pid),
    exit(Pid, kill),
    receive {'DOWN', MRef, process, Pid, _} -> ok end.

%% A process that checks a worker out of Pool, waiting for one (the pool
%% is full), sends `{served, self(), Worker}' and checks it back in.
%% Returns once the pool has taken its request: it monitors the client
%% from then on, waiting or served.
waiting_client(Pool) ->
    Self = self(),
    Client = spawn_link(fun() ->
                                Worker = job_worker_pool:checkout_worker(Pool, 2 * ?LIVENESS_MS),
                                Self ! {served, self(), Worker},
                                [ok = job_worker_pool:checkin_worker(Pool, Worker) || is_pid(Worker)]
                        end),
    await(fun() ->
                  case process_info(Client, monitored_by) of
                      {monitored_by, By} -> lists:member(whereis(Pool), By);
                      undefined -> true   % served at once, and gone
                  end
          end, true),
    Client.

%% Waits for Pool to show Held workers checked out.
await_status(Pool, Held) ->
    await(fun() -> job_worker_pool:pool_status(Pool) end, expected_status(Pool, Held)).

%% Waits for Get() to return Expected; fails after ?LIVENESS_MS.
await(Get, Expected) ->
    await(Get, Expected, erlang:monotonic_time(millisecond) + ?LIVENESS_MS).

await(Get, Expected, Deadline) ->
    case Get() of
        Expected -> ok;
        Other ->
            case erlang:monotonic_time(millisecond) > Deadline of
                true -> ct:fail({timeout, {expected, Expected}, {got, Other}});
                false -> timer:sleep(2), await(Get, Expected, Deadline)
            end
    end.
