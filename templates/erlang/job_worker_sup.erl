%%%-------------------------------------------------------------------
%%% @doc Supervisor of the processes that run single jobs.
%%%
%%% A {@link job_worker} starts one temporary process per job with
%%% {@link start_job/2} and, when the job outlives the pool's
%%% processTimeout, kills it with {@link stop_job/1}. Jobs therefore run
%%% inside the supervision tree (they show in `which_children/1' and are
%%% killed when the application stops), never as stray processes.
%%% @end
%%%-------------------------------------------------------------------
-module(job_worker_sup).
-behaviour(supervisor).

-export([start_link/0, start_job/2, stop_job/1, init/1]).

-spec start_link() -> supervisor:startlink_ret().
start_link() ->
    supervisor:start_link({local, ?MODULE}, ?MODULE, []).

%% @doc Starts a process running `Job' for `Owner' (see
%% {@link job_worker:start_runner/2}).
-spec start_job(pid(), job_queue:job()) -> {ok, pid()}.
start_job(Owner, Job) ->
    {ok, _Pid} = supervisor:start_child(?MODULE, [Owner, Job]).

%% @doc Kills a job process; `ok' also when it has already ended.
-spec stop_job(pid()) -> ok.
stop_job(Pid) ->
    case supervisor:terminate_child(?MODULE, Pid) of
        ok -> ok;
        {error, not_found} -> ok
    end.

-spec init([]) -> {ok, {supervisor:sup_flags(), [supervisor:child_spec()]}}.
init([]) ->
    SupFlags = #{strategy => simple_one_for_one, intensity => 0, period => 1},
    {ok, {SupFlags, [#{id => job, start => {job_worker, start_runner, []},
                       restart => temporary, shutdown => brutal_kill}]}}.
