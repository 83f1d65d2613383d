%%%-------------------------------------------------------------------
%%% @doc Benchmark of `ggen_jobs', not part of `rebar3 ct':
%%% run it with `rebar3 ct --dir bench'.
%%%
%%% Measured in one run, on the first lane whose breaker starts closed:
%%% <ul>
%%% <li>bare `poolboy:transaction/2' with an empty fun (the floor);</li>
%%% <li>`poolboy:transaction/2' plus one call into the worker;</li>
%%% <li>`job_worker_pool:execute/2' on an empty lane (checkout, breaker,
%%%     pull of nothing, checkin): its overhead over the floor;</li>
%%% <li>`execute/2' on noop jobs, one caller: per job and per call;</li>
%%% <li>`execute/2' on noop jobs, one caller per worker of the pool;</li>
%%% <li>for every pool, how long it takes to be back at its size after
%%%     one of its workers is killed, checked out or idle: from the kill
%%%     to the pool's status showing all its workers idle again, without
%%%     the dead one (median and max over ?KILLS kills of each kind).</li>
%%% </ul>
%%% The test suites only check that a killed worker is replaced (within
%%% seconds); how fast it is replaced is this measurement.
%%% @end
%%%-------------------------------------------------------------------
-module(job_bench_SUITE).

-include_lib("common_test/include/ct.hrl").

-export([suite/0, all/0, init_per_suite/1, end_per_suite/1]).
-export([execute_throughput/1]).

-define(APP, ggen_jobs).
-define(CALLS, 20000).
-define(WARMUP, 1000).
-define(KILLS, 200).

suite() ->
    [{timetrap, {minutes, 10}}].

all() ->
    [execute_throughput].

%% The lanes' consumers are off: the benchmark drives the lanes itself.
init_per_suite(Config) ->
    ok = application:load(?APP),
    ok = application:set_env(?APP, consumers, false),
    {ok, _} = application:ensure_all_started(?APP),
    Config.

end_per_suite(_Config) ->
    ok = application:stop(?APP).

execute_throughput(_Config) ->
    {P, D} = hd([{LP, LD} || {LP, LD} <- job_worker:lanes() ++ [{bench, bench}],
                             maps:get(circuit_breaker, job_worker:lane_config(LP, LD)) =:= closed]),
    #{pool := Pool, pull_size := PullSize} = job_worker:lane_config(P, D),
    Size = proplists:get_value(size, job_worker_pool_sup:pool_args(Pool)),
    Floor = per_call(fun() -> poolboy:transaction(Pool, fun(_Worker) -> ok end) end),
    WithCall = per_call(fun() -> poolboy:transaction(Pool, fun job_worker:get_status/1) end),
    Empty = per_call(fun() -> {ok, #{processed := 0}} = job_worker_pool:execute(P, D) end),
    publish(P, D, (?WARMUP + ?CALLS) * PullSize),
    Full = per_call(fun() -> {ok, #{processed := PullSize}} = job_worker_pool:execute(P, D) end),
    Jobs = ?CALLS * PullSize,
    publish(P, D, Jobs),
    {Micros, ok} = timer:tc(fun() -> drain_concurrently(P, D, Size) end),
    #{pending := 0, in_flight := 0, dead := 0} = job_queue:stats(),
    Recovery = [{"pool back to size after a worker is killed", ""}
                | [{io_lib:format("  ~p, ~s worker", [KPool, Which]),
                    median_max(recovery_times(KPool, Which))}
                   || KPool <- job_worker_pool:pools(), Which <- ["checked-out", "idle"]]],
    Report = [{"pool / lane", io_lib:format("~p (size ~p) / ~p", [Pool, Size, {P, D}])},
              {"poolboy:transaction, empty fun", us(Floor)},
              {"poolboy:transaction + 1 call to the worker", us(WithCall)},
              {"execute/2, empty lane", us(Empty)},
              {"execute/2 overhead over bare transaction", us(Empty - Floor)},
              {io_lib:format("execute/2, ~p noop jobs per call", [PullSize]), us(Full)},
              {"  per job, 1 caller", us(Full / PullSize)},
              {"  jobs/s, 1 caller", rate(PullSize / Full)},
              {io_lib:format("jobs/s, ~p concurrent callers", [Size]), rate(Jobs / Micros)}]
        ++ Recovery,
    Text = [case Value of
                "" -> io_lib:format("~s~n", [Name]);
                _ -> io_lib:format("~-46s ~s~n", [Name, Value])
            end || {Name, Value} <- Report],
    ct:log("~s", [Text]),
    io:format(user, "~n~s", [Text]),
    {comment, lists:flatten(io_lib:format("execute/2 empty ~s, floor ~s, ~s per noop job",
                                          [us(Empty), us(Floor), us(Full / PullSize)]))}.

%% Mean microseconds per call over ?CALLS calls, after a warm-up.
per_call(Fun) ->
    [Fun() || _ <- lists:seq(1, ?WARMUP)],
    {Micros, _} = timer:tc(fun() -> [Fun() || _ <- lists:seq(1, ?CALLS)] end),
    Micros / ?CALLS.

publish(P, D, N) ->
    [{ok, _} = job_queue:publish(P, D, #{<<"action">> => <<"noop">>}) || _ <- lists:seq(1, N)],
    ok.

drain_concurrently(P, D, Callers) ->
    Self = self(),
    Pids = [spawn_link(fun() -> drain(P, D), Self ! {done, self()} end)
            || _ <- lists:seq(1, Callers)],
    [receive {done, Pid} -> ok end || Pid <- Pids],
    ok.

%% Microseconds from killing a worker of Pool (`"checked-out"' or `"idle"')
%% to Pool showing its size in idle workers again, the dead one not among
%% them; one figure per kill. The kills' error reports are not logged.
recovery_times(Pool, Which) ->
    Size = proplists:get_value(size, job_worker_pool_sup:pool_args(Pool)),
    Back = #{state => ready, available_workers => Size, overflow_workers => 0,
             monitored_workers => Size},
    Back = job_worker_pool:pool_status(Pool),
    #{level := Level} = logger:get_primary_config(),
    ok = logger:set_primary_config(level, critical),
    try
        [recover_once(Pool, Which, Back) || _ <- lists:seq(1, ?KILLS)]
    after
        ok = logger:set_primary_config(level, Level)
    end.

recover_once(Pool, Which, Back) ->
    Worker = case Which of
                 "checked-out" -> job_worker_pool:checkout_worker(Pool, 0);
                 "idle" -> hd(gen_server:call(Pool, get_avail_workers))
             end,
    true = is_pid(Worker),
    Start = erlang:monotonic_time(microsecond),
    exit(Worker, kill),
    await_back(Pool, Worker, Back, Start + 10000000),
    erlang:monotonic_time(microsecond) - Start.

await_back(Pool, Worker, Back, Deadline) ->
    case job_worker_pool:pool_status(Pool) =:= Back
        andalso not lists:member(Worker, gen_server:call(Pool, get_avail_workers)) of
        true -> ok;
        false ->
            case erlang:monotonic_time(microsecond) < Deadline of
                true -> await_back(Pool, Worker, Back, Deadline);
                false -> ct:fail({not_back_to_size, Pool, job_worker_pool:pool_status(Pool)})
            end
    end.

median_max(Micros) ->
    Sorted = lists:sort(Micros),
    N = length(Sorted),
    Median = case N rem 2 of
                 1 -> lists:nth(N div 2 + 1, Sorted);
                 0 -> (lists:nth(N div 2, Sorted) + lists:nth(N div 2 + 1, Sorted)) / 2
             end,
    io_lib:format("median ~s, max ~s (~p kills)",
                  [us(float(Median)), us(float(lists:last(Sorted))), N]).

drain(P, D) ->
    case job_worker_pool:execute(P, D) of
        {ok, #{processed := 0}} -> ok;
        {ok, _} -> drain(P, D);
        {error, pool_exhausted} -> drain(P, D)
    end.

us(Micros) -> io_lib:format("~.2f us", [Micros]).

rate(PerMicro) -> integer_to_list(round(PerMicro * 1000000)).
