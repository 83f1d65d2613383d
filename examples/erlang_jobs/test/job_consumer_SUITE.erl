%%%-------------------------------------------------------------------
%%% @doc The lanes' consumers, and what the queue survives, on both
%%% backends (groups `memory' and `nats'; the NATS cases run against a
%%% real nats-server that the suite starts, see {@link job_test}).
%%%
%%% Jobs are published and nobody calls `execute/2': the consumers
%%% process them. The cases kill workers, `job_queue', the NATS
%%% connection, the application and the NATS server in the middle of a
%%% run, run a second Erlang node (OTP `peer') on the same lane, and count
%%% at the end: every published job is acked or dead, none lost.
%%%
%%% No case asserts how fast anything is. A case waits for the state it
%%% needs (up to ?LIVENESS_MS, or ?RUN_MS for a long run); where it checks
%%% that something did not happen too early, that is a lower bound, which
%%% load cannot break.
%%% @end
%%%-------------------------------------------------------------------
-module(job_consumer_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([suite/0, all/0, groups/0, init_per_group/2, end_per_group/2,
         init_per_testcase/2, end_per_testcase/2]).
-export([consumers_process_published_jobs/1, open_breaker_stops_pulling/1,
         killed_worker_job_comes_back/1, queue_crash_mid_run_loses_nothing/1,
         ten_thousand_jobs_with_killed_workers/1, connection_crash_mid_run_loses_nothing/1,
         application_restart_keeps_jobs/1, server_restart_mid_run_loses_nothing/1,
         two_nodes_share_a_lane/1]).
-export([handle_job/1, start_recorder/0, recorded/0]).

-define(APP, ggen_jobs).
-define(LIVENESS_MS, 10000).
%% How long a case waits for a run of thousands of jobs to settle.
-define(RUN_MS, 240000).
-define(LONG_MS, 60000).
-define(SEEN, job_consumer_SUITE_seen).

suite() ->
    [{timetrap, {minutes, 6}}].

all() ->
    [{group, memory}, {group, nats}].

groups() ->
    Both = [consumers_process_published_jobs, open_breaker_stops_pulling,
            killed_worker_job_comes_back, queue_crash_mid_run_loses_nothing,
            ten_thousand_jobs_with_killed_workers],
    [{memory, [], Both},
     {nats, [], Both ++ [connection_crash_mid_run_loses_nothing, application_restart_keeps_jobs,
                         server_restart_mid_run_loses_nothing, two_nodes_share_a_lane]}].

init_per_group(Group, Config) ->
    job_test:init_group(Group, Config).

end_per_group(_Group, Config) ->
    job_test:end_group(Config).

init_per_testcase(_Case, Config) ->
    start_recorder(),
    ok = application:set_env(?APP, handler, ?MODULE),
    ok = application:set_env(?APP, pools,
                             maps:from_list([{Pool, #{process_timeout => ?LONG_MS}}
                                             || Pool <- job_worker_pool:pools()])),
    ok = application:set_env(?APP, ack_margin, ?LONG_MS),
    Config.

end_per_testcase(_Case, _Config) ->
    _ = application:stop(?APP),
    [application:unset_env(?APP, Key) || Key <- [pools, lanes, ack_margin, consumers]],
    ok = application:set_env(?APP, handler, job_handler).

%%%===================================================================
%%% Cases
%%%===================================================================

%% Nobody calls execute/2: the lane's consumer processes every job.
consumers_process_published_jobs(Config) ->
    ok = job_test:start_app(?APP, Config),
    {P, D} = Lane = lane(),
    [publish(Lane, noop, N) || N <- lists:seq(1, 200)],
    await_settled(200),
    ?assertMatch(#{pending := 0, in_flight := 0, acked := 200, dead := 0}, job_queue:stats()),
    ?assertEqual(lists:seq(1, 200), lists:usort([N || {{done, N}, _} <- recorded()])),
    #{executions := Executions, processed := 200} = job_consumer:status(consumer(P, D)),
    ?assert(Executions > 0).

%% Each failure opens the lane's breaker (threshold 1): from the end of
%% that failure, no job starts until the breaker's window has passed.
%% Then the probe runs: the failing job is dead after its third delivery,
%% and the noop jobs run once a probe has succeeded. (Which job a probe
%% gets, and so whether the breaker ends open, is the queue's order of
%% redelivery.)
%% (A pull takes up to 10 jobs here, so the first one takes all six: no
%% job pulled before the breaker opened runs after it.)
open_breaker_stops_pulling(Config) ->
    Window = 1000,
    {P, D} = Lane = lane(),
    ok = application:set_env(?APP, lanes, #{Lane => #{failure_threshold => 1,
                                                      failure_window => Window}}),
    ok = application:set_env(?APP, pools,
                             maps:from_list([{Pool, #{process_timeout => ?LONG_MS, pull_size => 10}}
                                             || Pool <- job_worker_pool:pools()])),
    ok = job_test:start_app(?APP, Config),
    publish(Lane, fail, 0),
    [publish(Lane, noop, N) || N <- lists:seq(1, 5)],
    await_settled(6),
    ?assertMatch(#{acked := 5, dead := 1}, job_queue:stats()),
    %% The consumer waited out each open window instead of trying in a
    %% loop: it only had refused executions already running when the
    %% breaker opened (at most one per slot, three openings).
    #{refused := Refused, slots := Slots} = job_consumer:status(consumer(P, D)),
    ?assert(Refused =< 3 * Slots),
    Events = [{What, T} || {{event, _}, {What, T}} <- lists:sort(recorded())],
    Failures = [T || {{'end', fail}, T} <- Events],
    ?assertEqual(3, length(Failures)),
    [?assertEqual([], [E || {{start, _}, T} = E <- Events, T > F, T < F + Window])
     || F <- Failures],
    ?assertMatch([{{start, fail}, _} | _], Events),
    %% every noop ran after the first failure, so after a probe
    [FirstFailure | _] = Failures,
    ?assertEqual(5, length([T || {{start, noop}, T} <- Events, T >= FirstFailure + Window])).

%% A worker killed in the middle of a job: the job comes back, is
%% processed again and acked once.
killed_worker_job_comes_back(Config) ->
    ok = job_test:start_app(?APP, Config),
    Lane = lane(),
    publish(Lane, block_first, 1),
    await(fun() -> length(supervisor:which_children(job_worker_sup)) end, 1),
    [{_, Job, _, _}] = supervisor:which_children(job_worker_sup),
    [Worker] = [Pid || Pid <- linked(Job), Pid =/= whereis(job_worker_sup)],
    exit(Worker, kill),
    await_settled(1),
    ?assertMatch(#{acked := 1, dead := 0}, job_queue:stats()),
    ?assertEqual([{{done, 1}, 1}], [R || {{done, _}, _} = R <- recorded()]).

%% job_queue killed three times while 2,000 jobs run: every job is acked.
queue_crash_mid_run_loses_nothing(Config) ->
    ok = job_test:start_app(?APP, Config),
    Lane = lane(),
    Jobs = 2000,
    [publish(Lane, noop, N) || N <- lists:seq(1, Jobs)],
    lists:foreach(fun(Step) ->
                          await_acked_at_least(Step * Jobs div 5),
                          kill(job_queue)
                  end, [1, 2, 3]),
    await_settled(Jobs),
    report(Jobs).

%% 10,000 jobs, one in ten kills the worker running it: at the end every
%% job is acked or dead, none lost.
ten_thousand_jobs_with_killed_workers(Config) ->
    ok = job_test:start_app(?APP, Config),
    Lane = lane(),
    Jobs = 10000,
    quiet(fun() ->
                  [publish(Lane, case N rem 10 of 0 -> kill_worker; _ -> noop end, N)
                   || N <- lists:seq(1, Jobs)],
                  await_settled(Jobs)
          end),
    #{acked := Acked, dead := Dead} = report(Jobs),
    %% A job that kills its worker never succeeds: it dies after 3 deliveries.
    ?assert(Dead >= Jobs div 10),
    ?assert(Acked > 0).

%% NATS: the connection process killed three times mid-run; requests in
%% flight fail, the connection comes back, and every job is acked.
connection_crash_mid_run_loses_nothing(Config) ->
    short_ack_wait(),
    ok = job_test:start_app(?APP, Config),
    Lane = lane(),
    Jobs = 2000,
    [publish(Lane, noop, N) || N <- lists:seq(1, Jobs)],
    quiet(fun() ->
                  lists:foreach(fun(Step) ->
                                        await_acked_at_least(Step * Jobs div 5),
                                        kill(job_queue_nats)
                                end, [1, 2, 3]),
                  await_settled(Jobs)
          end),
    report(Jobs).

%% NATS: jobs published by an application that then stops are processed
%% when it starts again; and an application stopped in the middle of a
%% run and started again finishes the run.
application_restart_keeps_jobs(Config) ->
    ok = application:set_env(?APP, consumers, false),
    ok = job_test:start_app(?APP, Config),
    Lane = lane(),
    [publish(Lane, noop, N) || N <- lists:seq(1, 100)],
    ok = application:stop(?APP),
    ok = application:set_env(?APP, consumers, true),
    {ok, _} = application:ensure_all_started(?APP),
    await_settled(100),
    ?assertEqual(lists:seq(1, 100), lists:usort([N || {{done, N}, _} <- recorded()])),
    Jobs = 1000,
    [publish(Lane, sleep, N) || N <- lists:seq(101, 100 + Jobs)],
    await_acked_at_least(100 + 50),
    ok = application:stop(?APP),
    {ok, _} = application:ensure_all_started(?APP),
    await_settled(100 + Jobs),
    report(100 + Jobs).

%% NATS: the server stopped and started again on the same store in the
%% middle of a run: the application reconnects by itself, and every job
%% is done.
server_restart_mid_run_loses_nothing(Config) ->
    short_ack_wait(),
    ok = job_test:start_app(?APP, Config),
    Lane = lane(),
    Jobs = 1000,
    [publish(Lane, sleep, N) || N <- lists:seq(1, Jobs)],
    await_acked_at_least(100),
    quiet(fun() ->
                  _ = job_test:restart(?config(nats_server, Config)),
                  ok = job_test:await(fun() -> nats_conn:status(job_queue_nats) end,
                                           connected, ?LIVENESS_MS),
                  await_settled(Jobs)
          end),
    report(Jobs).

%% NATS: two Erlang nodes consume one lane: they share the work, and
%% every job is processed and acked exactly once.
two_nodes_share_a_lane(Config) ->
    ok = job_test:start_app(?APP, Config),
    {ok, Peer, _Node} = peer:start_link(#{name => peer:random_name(?MODULE),
                                          connection => standard_io,
                                          args => code_path_args()}),
    try
        ok = peer:call(Peer, ?MODULE, start_recorder, []),
        ok = peer:call(Peer, application, load, [?APP]),
        [ok = peer:call(Peer, application, set_env, [?APP, Key, Value])
         || {Key, Value} <- application:get_all_env(?APP), Key =/= included_applications],
        {ok, _} = peer:call(Peer, application, ensure_all_started, [?APP]),
        ok = peer:call(Peer, job_test, await_ready, []),
        Lane = lane(),
        Jobs = 1000,
        %% Each node publishes half (which wakes its own consumer), and
        %% each job takes 10 ms: neither node can drain the lane alone
        %% before the other's consumer looks.
        Half = Jobs div 2,
        [publish(Lane, slow, N) || N <- lists:seq(1, Half)],
        [{ok, _} = peer:call(Peer, job_queue, publish,
                             [P, D, #{<<"action">> => <<"slow">>, <<"n">> => N}])
         || {P, D} <- [Lane], N <- lists:seq(Half + 1, Jobs)],
        await_settled(Jobs),
        report(Jobs),
        Here = [N || {{done, N}, _} <- recorded()],
        There = [N || {{done, N}, _} <- peer:call(Peer, ?MODULE, recorded, [])],
        ct:pal("jobs processed: ~b on this node, ~b on the peer", [length(Here), length(There)]),
        ?assertEqual(lists:seq(1, Jobs), lists:sort(Here ++ There)),
        ?assertEqual([], [R || {{done, _}, Count} = R <- recorded(), Count =/= 1]),
        ?assert(length(Here) > 0),
        ?assert(length(There) > 0),
        ok = peer:call(Peer, application, stop, [?APP])
    after
        peer:stop(Peer)
    end.

%%%===================================================================
%%% The handler: acts on the payload's action, records what it did
%%%===================================================================

%% `noop' succeeds, `fail' fails, `sleep' and `slow' succeed after 2 and
%% 10 ms,
%% `block_first' blocks on its first delivery and succeeds on the next,
%% `kill_worker' kills the worker running it. Each success is counted
%% per job number; starts and ends are recorded with their times.
handle_job(#{payload := #{<<"action">> := Action, <<"n">> := N}, deliveries := Deliveries}) ->
    event({start, binary_to_atom(Action, utf8)}),
    Result = act(Action, Deliveries),
    event({'end', binary_to_atom(Action, utf8)}),
    case Result of
        ok -> ets:update_counter(?SEEN, {done, N}, 1, {{done, N}, 0}), ok;
        Error -> Error
    end.

act(<<"noop">>, _) ->
    ok;
act(<<"fail">>, _) ->
    {error, test_failure};
act(<<"sleep">>, _) ->
    timer:sleep(2);
act(<<"slow">>, _) ->
    timer:sleep(10);
act(<<"block_first">>, 1) ->
    receive after infinity -> ok end;
act(<<"block_first">>, _) ->
    ok;
act(<<"kill_worker">>, _) ->
    Sup = whereis(job_worker_sup),
    [exit(Pid, kill) || Pid <- linked(self()), Pid =/= Sup],
    receive after infinity -> ok end.

event(What) ->
    Key = {event, erlang:unique_integer([monotonic])},
    true = ets:insert(?SEEN, {Key, {What, erlang:monotonic_time(millisecond)}}).

%% @private Creates a fresh record table, owned by a process of its own
%% (on a peer, peer:call's process would not live long enough).
start_recorder() ->
    case whereis(?SEEN) of
        undefined ->
            ok;
        Old ->
            MRef = monitor(process, Old),
            exit(Old, kill),
            receive {'DOWN', MRef, process, Old, _} -> ok end
    end,
    Self = self(),
    Pid = spawn(fun() ->
                        true = register(?SEEN, self()),
                        ?SEEN = ets:new(?SEEN, [named_table, public, set,
                                                {write_concurrency, true}]),
                        Self ! {recorder, self()},
                        receive after infinity -> ok end
                end),
    receive {recorder, Pid} -> ok end.

recorded() ->
    ets:tab2list(?SEEN).

%%%===================================================================
%%% Helpers
%%%===================================================================

%% The first declared lane whose breaker starts closed.
lane() ->
    hd([{P, D} || {P, D} <- job_worker:lanes(),
                  maps:get(circuit_breaker, job_worker:lane_config(P, D)) =:= closed]).

consumer(P, D) ->
    proplists:get_value({P, D}, job_consumer_sup:consumers()).

publish({P, D}, Action, N) ->
    {ok, Id} = job_queue:publish(P, D, #{<<"action">> => atom_to_binary(Action, utf8),
                                         <<"n">> => N}),
    Id.

%% Jobs come back after their ack wait when a NATS request failed.
short_ack_wait() ->
    ok = application:set_env(?APP, pools,
                             maps:from_list([{Pool, #{process_timeout => 1000}}
                                             || Pool <- job_worker_pool:pools()])),
    ok = application:set_env(?APP, ack_margin, 1000).

linked(Pid) ->
    {links, Links} = process_info(Pid, links),
    [L || L <- Links, is_pid(L)].

%% Waits for every one of Jobs published jobs to be acked or dead.
await_settled(Jobs) ->
    await(fun() ->
                  case job_queue:stats() of
                      #{pending := 0, in_flight := 0, acked := A, dead := D} when A + D =:= Jobs ->
                          settled;
                      Other ->
                          Other
                  end
          end, settled, ?RUN_MS).

await_acked_at_least(N) ->
    await(fun() ->
                  case job_queue:stats() of
                      #{acked := A} when A >= N -> reached;
                      Other -> Other
                  end
          end, reached, ?RUN_MS).

%% Prints the counts, and checks that no job was lost.
report(Published) ->
    #{pending := Pending, in_flight := InFlight, acked := Acked, dead := Dead} = Stats =
        job_queue:stats(),
    Lost = Published - Acked - Dead - Pending - InFlight,
    ct:pal("published ~b, acked ~b, dead ~b, pending ~b, in flight ~b, lost ~b",
           [Published, Acked, Dead, Pending, InFlight, Lost]),
    ?assertEqual(0, Lost),
    ?assertEqual(Published, Acked + Dead),
    Stats.

%% Kills the registered process and waits for its supervisor to have
%% started a new one.
kill(Name) ->
    Old = whereis(Name),
    exit(Old, kill),
    await(fun() -> case whereis(Name) of
                       Pid when is_pid(Pid), Pid =/= Old -> restarted;
                       _ -> waiting
                   end
          end, restarted).

%% Runs Fun with the logger quiet: crashes are what the case is about.
quiet(Fun) ->
    #{level := Level} = logger:get_primary_config(),
    ok = logger:set_primary_config(level, critical),
    try Fun() after logger:set_primary_config(level, Level) end.

await(Get, Expected) ->
    job_test:await(Get, Expected, ?LIVENESS_MS).

await(Get, Expected, Ms) ->
    job_test:await(Get, Expected, Ms).

%% The code path of this node, for a peer: the application, its
%% dependencies and these suites.
code_path_args() ->
    Lib = code:lib_dir(),
    lists:append([["-pa", Dir] || Dir <- code:get_path(), not lists:prefix(Lib, Dir)]).
