%% @doc Top supervisor: the job queue (on NATS, its connection first),
%% then the worker pools. Its process owns the queue's tables
%% (job_queue:init_store/0), so they outlive a crash of job_queue.
%% one_for_one, at most 5 restarts in 10 seconds (jobs:Supervisor).
-module(ggen_jobs_sup).
-behaviour(supervisor).
-export([start_link/0, init/1]).

-spec start_link() -> supervisor:startlink_ret().
start_link() -> supervisor:start_link({local, ?MODULE}, ?MODULE, []).

-spec init([]) -> {ok, {supervisor:sup_flags(), [supervisor:child_spec()]}}.
init([]) ->
    ok = job_queue:init_store(),
    SupFlags = #{strategy => one_for_one, intensity => 5, period => 10},
    {ok, {SupFlags, job_queue:child_specs()
                    ++ [#{id => job_worker_pool_sup, start => {job_worker_pool_sup, start_link, []},
                          type => supervisor, shutdown => infinity}]}}.
