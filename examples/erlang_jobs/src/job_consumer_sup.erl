%%%-------------------------------------------------------------------
%%% @doc Supervisor of the lanes' consumers ({@link job_consumer}): one
%%% per declared lane, unless the app env `consumers' is `false'.
%%%
%%% Its `init/1' also creates the table `job_consumers' (lane to
%%% consumer), which {@link job_consumer:wake/1} reads and which lives as
%%% long as the consumers it names.
%%% @end
%%%-------------------------------------------------------------------
-module(job_consumer_sup).
-behaviour(supervisor).

-export([start_link/0, init/1, start_consumer/1, consumer/1, consumers/0]).

-define(APP, ggen_jobs).
-define(TABLE, job_consumers).

-spec start_link() -> supervisor:startlink_ret().
start_link() ->
    supervisor:start_link({local, ?MODULE}, ?MODULE, []).

%% @private Start function of a consumer: records it for wake/1.
-spec start_consumer(job_queue:lane()) -> {ok, pid()}.
start_consumer(Lane) ->
    {ok, Pid} = job_consumer:start_link(Lane),
    true = ets:insert(?TABLE, {Lane, Pid}),
    {ok, Pid}.

%% @doc The consumer of `Lane' on this node, if it runs.
-spec consumer(job_queue:lane()) -> pid() | undefined.
consumer(Lane) ->
    try ets:lookup(?TABLE, Lane) of
        [{Lane, Pid}] -> Pid;
        [] -> undefined
    catch
        error:badarg -> undefined   % no consumers on this node
    end.

%% @doc The running consumers, by lane.
-spec consumers() -> [{job_queue:lane(), pid()}].
consumers() ->
    lists:sort([{Lane, Pid} || {Lane, Pid, worker, _} <- supervisor:which_children(?MODULE),
                               is_pid(Pid)]).

-spec init([]) -> {ok, {supervisor:sup_flags(), [supervisor:child_spec()]}}.
init([]) ->
    ?TABLE = ets:new(?TABLE, [named_table, public, set, {read_concurrency, true}]),
    Lanes = case application:get_env(?APP, consumers, true) of
                false -> [];
                true -> job_worker:lanes()
            end,
    SupFlags = #{strategy => one_for_one, intensity => 10, period => 10},
    {ok, {SupFlags, [#{id => Lane, start => {?MODULE, start_consumer, [Lane]}}
                     || Lane <- Lanes]}}.
