%%%-------------------------------------------------------------------
%%% @doc Supervisor of the worker pools: first `job_worker_sup' (the
%%% processes that run single jobs), then one poolboy pool per
%%% jobs:WorkerPool, whose options {@link pool_args/1} gives, then
%%% `job_consumer_sup' (the lanes' consumers, which use the pools).
%%%
%%% Its `init/1' also creates the circuit-breaker table the workers share
%%% (see {@link job_worker}): owned by this supervisor, the table lives
%%% exactly as long as the pools that use it.
%%% @end
%%%-------------------------------------------------------------------
-module(job_worker_pool_sup).
-behaviour(supervisor).

-export([start_link/0, init/1, pool_args/1]).

-spec start_link() -> supervisor:startlink_ret().
start_link() ->
    supervisor:start_link({local, ?MODULE}, ?MODULE, []).

-spec init([]) -> {ok, {supervisor:sup_flags(), [supervisor:child_spec()]}}.
init([]) ->
    ok = job_worker:init_breakers(),
    JobSup = #{id => job_worker_sup, start => {job_worker_sup, start_link, []},
               type => supervisor, shutdown => infinity},
    Pools = [poolboy:child_spec(Pool, pool_args(Pool), [{pool, Pool}])
             || Pool <- job_worker_pool:pools()],
    Consumers = #{id => job_consumer_sup, start => {job_consumer_sup, start_link, []},
                  type => supervisor, shutdown => infinity},
    SupFlags = #{strategy => one_for_one, intensity => 5, period => 10},
    {ok, {SupFlags, [JobSup | Pools] ++ [Consumers]}}.

%% @doc The poolboy options of `Pool': jobs:poolSize, jobs:maxOverflow and
%% jobs:strategy of its jobs:WorkerPool.
-spec pool_args(job_worker_pool:pool()) -> proplists:proplist().
pool_args(job_worker_pool) ->
    [{name, {local, job_worker_pool}}, {worker_module, job_worker},
     {size, 10}, {max_overflow, 5}, {strategy, fifo}].
