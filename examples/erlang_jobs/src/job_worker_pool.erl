%%%-------------------------------------------------------------------
%%% @doc The worker pools: one poolboy pool per jobs:WorkerPool.
%%%
%%% Pools, in the ontology's order (the first is the default pool):
%%% <ul>
%%% <li>`job_worker_pool': 10 workers, 5 overflow, fifo, pulls 5 jobs,
%%%     processTimeout 30000 ms, checkoutTimeout 5000 ms.</li>
%%% </ul>
%%% `execute(Priority, Domain)' checks a worker out of the pool serving
%%% that lane (see {@link job_worker:lane_config/2}), lets it pull and
%%% process jobs, and always checks it back in (`try ... after').
%%%
%%% The run-time settings of a pool may be overridden in the app env
%%% `pools', e.g. `#{job_worker_pool => #{checkout_timeout => 100}}'.
%%% @end
%%%-------------------------------------------------------------------
-module(job_worker_pool).

-export([pools/0, default_pool/0, pool_config/1,
         pool_status/0, pool_status/1,
         checkout_worker/1, checkout_worker/2,
         checkin_worker/1, checkin_worker/2,
         execute/2]).

-export_type([pool/0, status/0, pool_config/0, result/0]).

-define(APP, ggen_jobs).

-type pool() :: atom().
%% The registered name of a poolboy pool.

-type status() :: #{state := ready | overflow | full,
                    available_workers := non_neg_integer(),
                    overflow_workers := non_neg_integer(),
                    monitored_workers := non_neg_integer()}.

-type pool_config() :: #{checkout_timeout := timeout(),
                         process_timeout := pos_integer(),
                         pull_size := pos_integer()}.

-type result() :: {ok, #{processed := non_neg_integer(), failed := non_neg_integer()}}
                | {error, pool_exhausted | circuit_breaker_open | {worker_exit, term()}
                          | {queue, term()}}.

%% @doc The pools, sorted by name; the first is the default pool.
-spec pools() -> [pool(), ...].
pools() ->
    [job_worker_pool].

%% @doc The pool of unknown lanes and of the `/1' functions below.
-spec default_pool() -> pool().
default_pool() ->
    hd(pools()).

%% @doc `Pool''s jobs:checkoutTimeout, jobs:processTimeout (ms) and
%% jobs:pullSize, with the overrides of the app env `pools' applied.
-spec pool_config(pool()) -> pool_config().
pool_config(Pool) ->
    Overrides = maps:get(Pool, application:get_env(?APP, pools, #{}), #{}),
    maps:merge(config(Pool), maps:with(maps:keys(config(Pool)), Overrides)).

config(job_worker_pool) ->
    #{checkout_timeout => 5000, process_timeout => 30000, pull_size => 5}.

%% @doc Status of the default pool.
-spec pool_status() -> status().
pool_status() ->
    pool_status(default_pool()).

%% @doc Status of `Pool', from poolboy's `{StateName, Idle, Overflow,
%% CheckedOut}':
%% <dl>
%% <dt>`state'</dt><dd>`ready': an idle worker is available;
%%   `overflow': none is idle, but overflow workers can still be started;
%%   `full': a checkout now would block.</dd>
%% <dt>`available_workers'</dt><dd>idle workers.</dd>
%% <dt>`overflow_workers'</dt><dd>workers started beyond the pool's size
%%   (they are all checked out; they stop when checked in).</dd>
%% <dt>`monitored_workers'</dt><dd>every live worker of the pool, idle or
%%   checked out (= idle + checked out): an idle pool of 10 reports 10.
%%   Checked-out workers are `monitored_workers - available_workers'.</dd>
%% </dl>
-spec pool_status(pool()) -> status().
pool_status(Pool) ->
    {StateName, Idle, Overflow, CheckedOut} = poolboy:status(Pool),
    #{state => StateName,
      available_workers => Idle,
      overflow_workers => Overflow,
      monitored_workers => Idle + CheckedOut}.

%% @doc Checks a worker out of the default pool.
-spec checkout_worker(timeout()) -> pid() | full.
checkout_worker(Timeout) ->
    checkout_worker(default_pool(), Timeout).

%% @doc Checks a worker out of `Pool', waiting at most `Timeout' ms for
%% one; `full' when none came (`0': do not wait).
-spec checkout_worker(pool(), timeout()) -> pid() | full.
checkout_worker(Pool, 0) ->
    poolboy:checkout(Pool, false);
checkout_worker(Pool, Timeout) ->
    try
        poolboy:checkout(Pool, true, Timeout)
    catch
        exit:{timeout, _} -> full
    end.

%% @doc Returns `Worker' to whichever pool it belongs to.
-spec checkin_worker(pid()) -> ok.
checkin_worker(Worker) ->
    lists:foreach(fun(Pool) -> poolboy:checkin(Pool, Worker) end, pools()).

%% @doc Returns `Worker' to `Pool'.
-spec checkin_worker(pool(), pid()) -> ok.
checkin_worker(Pool, Worker) ->
    poolboy:checkin(Pool, Worker).

%% @doc Pulls and processes up to pullSize jobs of the lane
%% (`Priority', `Domain') with a worker of the pool serving it.
%% `{error, pool_exhausted}' when no worker came within the pool's
%% checkoutTimeout; `{error, circuit_breaker_open}' while the lane's
%% breaker is open; `{error, {worker_exit, Reason}}' if the worker was
%% killed meanwhile (its jobs go back to the queue); `{error, {queue,
%% Reason}}' when the queue could not be read (its NATS server is away).
-spec execute(job_queue:priority(), job_queue:domain()) -> result().
execute(Priority, Domain) ->
    #{pool := Pool, checkout_timeout := Timeout} = job_worker:lane_config(Priority, Domain),
    case checkout_worker(Pool, Timeout) of
        full ->
            {error, pool_exhausted};
        Worker ->
            try
                job_worker:pull_and_process(Worker, Priority, Domain)
            after
                ok = checkin_worker(Pool, Worker)
            end
    end.
