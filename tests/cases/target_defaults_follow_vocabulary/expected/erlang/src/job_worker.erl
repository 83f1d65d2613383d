%%%-------------------------------------------------------------------
%%% @doc A pooled job worker, and the lanes and circuit breakers it serves.
%%%
%%% == Lanes ==
%%% A lane is a (priority, domain) pair declared by a jobs:Worker, served
%%% by one pool. Declared lanes:
%%% <ul>
%%% <li>`{p9, d9}' in `job_worker_pool': breaker opens at 7
%%%     failures within 1234 ms, initially closed.</li>
%%% </ul>
%%% A lane the ontology does not declare is served by the default pool,
%%% `job_worker_pool', with the vocabulary's breaker defaults (7 failures
%%% within 1234 ms, initially closed).
%%% {@link lane_config/2} merges a lane's settings with its pool's; the
%%% app env `lanes', a map from lane to settings, may override a lane's
%%% `failure_threshold' and `failure_window', and set `consumers', the
%%% most executions its {@link job_consumer} runs at once.
%%%
%%% == Work ==
%%% `pull_and_process/3' pulls up to pullSize jobs of a lane from
%%% {@link job_queue} and runs them one after the other, each in a process
%%% of {@link job_worker_sup} calling the handler of the app env `handler'
%%% (behaviour {@link job_handler}), telling the queue as each but the
%%% first starts ({@link job_queue:in_progress/1}). A job that returns `ok' is acked; one
%%% that returns an error, crashes or runs past processTimeout (it is then
%%% killed) is nacked, so the queue delivers it again or dead-letters it.
%%% A pull the queue cannot serve (its NATS server is away) is
%%% `{error, {queue, Reason}}'; an ack or nack it cannot take leaves the
%%% job to come back after its ack wait.
%%% The worker's metrics (`pulled', `processed', `failed', `acked') are
%%% kept in its state across calls.
%%%
%%% == Circuit breakers: one per lane, shared by all workers ==
%%% poolboy hands any idle worker of a pool to any caller, so a breaker
%%% kept in a worker's state would be one of many per lane, and a restarted
%%% worker would forget it. The breakers therefore live in the public ETS
%%% table `job_worker_breakers', keyed by lane, created by
%%% {@link job_worker_pool_sup} (which outlives every worker). Updates are
%%% compare-and-swap, so failures recorded by concurrent workers are never
%%% lost. A breaker is `closed' (recent failure times), `open' (since when)
%%% or `half_open' (probe taken when):
%%% <ul>
%%% <li>closed: each failure is recorded with its time; when the failures
%%%     within failureWindow reach failureThreshold, it opens.</li>
%%% <li>open: `pull_and_process/3' answers `{error, circuit_breaker_open}'
%%%     without pulling; once failureWindow has passed, the next call takes
%%%     the single probe (half-open) and pulls one job.</li>
%%% <li>half_open: other calls are refused; the probe's success closes the
%%%     breaker, its failure reopens it. A probe that found no job gives the
%%%     probe back; one lost with its worker is retaken after
%%%     processTimeout + failureWindow.</li>
%%% </ul>
%%% When the breaker opens in the middle of a batch, the jobs not yet run
%%% go back to the queue without counting as a delivery.
%%%
%%% == Status ==
%%% {@link get_status/1} reports the lane the worker served last (at start,
%%% the first lane of its pool, or `undefined'), that lane's shared breaker
%%% (an open breaker whose window has passed reports `half_open': the next
%%% call probes), and this process's metrics since it started.
%%% @end
%%%-------------------------------------------------------------------
-module(job_worker).
-behaviour(gen_server).
-behaviour(poolboy_worker).

-export([start_link/1, pull_and_process/3, get_status/1,
         lanes/0, lane_config/2, circuit_breaker/2, breaker_wait/2,
         init_breakers/0, start_runner/2]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

-export_type([lane/0, lane_config/0, breaker/0, metrics/0, status/0]).

-define(APP, defaults).
-define(BREAKERS, job_worker_breakers).

-type lane() :: {job_queue:priority(), job_queue:domain()}.
-type breaker() :: closed | open | half_open.
-type lane_config() :: #{pool := job_worker_pool:pool(),
                         pull_size := pos_integer(),
                         process_timeout := pos_integer(),
                         checkout_timeout := timeout(),
                         failure_threshold := pos_integer(),
                         failure_window := pos_integer(),
                         circuit_breaker := breaker(),
                         consumers => pos_integer()}.
-type metrics() :: #{pulled := non_neg_integer(), processed := non_neg_integer(),
                     failed := non_neg_integer(), acked := non_neg_integer()}.
-type status() :: #{worker_id := binary(),
                    priority := job_queue:priority() | undefined,
                    domain := job_queue:domain() | undefined,
                    circuit_breaker := breaker(),
                    metrics := metrics()}.

%% Breaker states as stored: recent failure times, open since, probe taken at.
-type breaker_state() :: {closed, [integer()]} | {open, integer()} | {half_open, integer()}.

-record(state, {worker_id :: binary(),
                lane :: lane() | undefined,
                metrics :: metrics()}).

%%%===================================================================
%%% Lanes
%%%===================================================================

%% @doc The declared lanes, sorted by (pool, priority, domain).
-spec lanes() -> [lane()].
lanes() ->
    [{p9, d9}].

lane(p9, d9) ->
    #{pool => job_worker_pool, failure_threshold => 7, failure_window => 1234,
      circuit_breaker => closed};
lane(_Priority, _Domain) ->
    #{pool => job_worker_pool, failure_threshold => 7, failure_window => 1234,
      circuit_breaker => closed}.

%% @doc Settings of a lane and of the pool serving it, overrides applied.
%% `circuit_breaker' is the breaker's initial state (jobs:circuitBreakerOpen).
-spec lane_config(job_queue:priority(), job_queue:domain()) -> lane_config().
lane_config(Priority, Domain) ->
    #{pool := Pool} = Lane = lane(Priority, Domain),
    Overrides = maps:get({Priority, Domain}, application:get_env(?APP, lanes, #{}), #{}),
    maps:merge(maps:merge(job_worker_pool:pool_config(Pool), Lane),
               maps:with([failure_threshold, failure_window, consumers], Overrides)).

%%%===================================================================
%%% API
%%%===================================================================

%% @doc Starts a worker of pool `proplists:get_value(pool, Args)'; called
%% by poolboy. Cannot fail: a worker whose start fails would take its
%% pool down.
-spec start_link(proplists:proplist()) -> {ok, pid()}.
start_link(Args) ->
    gen_server:start_link(?MODULE, Args, []).

%% @doc Has `Worker' pull and process up to pullSize jobs of the lane.
%% The call has no timeout of its own: every step of the worker is
%% bounded (each job by processTimeout, queue calls by their timeout).
-spec pull_and_process(pid(), job_queue:priority(), job_queue:domain()) ->
          job_worker_pool:result().
pull_and_process(Worker, Priority, Domain) ->
    try
        gen_server:call(Worker, {pull_and_process, Priority, Domain}, infinity)
    catch
        exit:{Reason, {gen_server, call, _}} -> {error, {worker_exit, Reason}}
    end.

%% @doc `Worker''s last lane, that lane's breaker, and its metrics.
-spec get_status(pid()) -> status().
get_status(Worker) ->
    gen_server:call(Worker, get_status).

%% @doc The state of the lane's shared circuit breaker.
-spec circuit_breaker(job_queue:priority(), job_queue:domain()) -> breaker().
circuit_breaker(Priority, Domain) ->
    #{failure_window := Window} = lane_config(Priority, Domain),
    Now = now_ms(),
    case read_breaker({Priority, Domain}) of
        {closed, _} -> closed;
        {open, Since} when Now - Since >= Window -> half_open;
        {open, _} -> open;
        {half_open, _} -> half_open
    end.

%% @doc How long (ms) until the lane's breaker lets a call through: 0
%% when it is closed or its probe may be taken now.
-spec breaker_wait(job_queue:priority(), job_queue:domain()) -> non_neg_integer().
breaker_wait(Priority, Domain) ->
    #{failure_window := Window, process_timeout := Timeout} = lane_config(Priority, Domain),
    Now = now_ms(),
    case read_breaker({Priority, Domain}) of
        {closed, _} -> 0;
        {open, Since} -> max(0, Since + Window - Now);
        {half_open, Since} -> max(0, Since + Timeout + Window - Now)
    end.

%% @doc Creates the breaker table and puts each declared lane in its
%% initial state; called by {@link job_worker_pool_sup}, which owns it.
-spec init_breakers() -> ok.
init_breakers() ->
    ?BREAKERS = ets:new(?BREAKERS, [named_table, public, set, {read_concurrency, true}]),
    Now = now_ms(),
    true = ets:insert(?BREAKERS, [{{P, D}, initial_breaker(lane(P, D), Now)}
                                  || {P, D} <- lanes()]),
    ok.

%% Which clause applies depends on the ontology (jobs:circuitBreakerOpen).
-dialyzer({no_match, initial_breaker/2}).
initial_breaker(#{circuit_breaker := closed}, _Now) -> {closed, []};
initial_breaker(#{circuit_breaker := open}, Now) -> {open, Now}.

%% @private Start function of a job process, called by
%% {@link job_worker_sup}: runs `Job' and sends the result to `Owner'.
-spec start_runner(pid(), job_queue:job()) -> {ok, pid()}.
start_runner(Owner, Job) ->
    {ok, proc_lib:spawn_link(fun() -> run(Owner, Job) end)}.

%%%===================================================================
%%% gen_server callbacks
%%%===================================================================

%% @private
-spec init(proplists:proplist()) -> {ok, #state{}}.
init(Args) ->
    process_flag(trap_exit, true),
    Pool = proplists:get_value(pool, Args),
    Id = iolist_to_binary([atom_to_binary(Pool), $-,
                           integer_to_binary(erlang:unique_integer([positive]))]),
    Lanes = [Lane || {P, D} = Lane <- lanes(), maps:get(pool, lane(P, D)) =:= Pool],
    {ok, #state{worker_id = Id,
                lane = case Lanes of [First | _] -> First; [] -> undefined end,
                metrics = #{pulled => 0, processed => 0, failed => 0, acked => 0}}}.

%% @private
-spec handle_call({pull_and_process, job_queue:priority(), job_queue:domain()} | get_status,
                  gen_server:from(), #state{}) ->
          {reply, job_worker_pool:result() | status(), #state{}}.
handle_call({pull_and_process, Priority, Domain}, _From, State) ->
    Lane = {Priority, Domain},
    Config = lane_config(Priority, Domain),
    {Reply, Metrics} =
        case allow(Lane, Config) of
            deny -> {{error, circuit_breaker_open}, State#state.metrics};
            Mode -> pull_and_run(Lane, Mode, Config, State#state.metrics)
        end,
    {reply, Reply, State#state{lane = Lane, metrics = Metrics}};
handle_call(get_status, _From, State) ->
    {reply, status(State), State}.

%% @private
-spec handle_cast(term(), #state{}) -> {noreply, #state{}}.
handle_cast(_Msg, State) ->
    {noreply, State}.

%% @private An exit signal from anything but a job process (those are
%% received in `run_job/2'), e.g. its pool dying: stop with it.
-spec handle_info(term(), #state{}) -> {noreply, #state{}} | {stop, term(), #state{}}.
handle_info({'EXIT', _From, Reason}, State) ->
    {stop, Reason, State};
handle_info(_Info, State) ->
    {noreply, State}.

%%%===================================================================
%%% Internal functions
%%%===================================================================

status(#state{worker_id = Id, lane = Lane, metrics = Metrics}) ->
    {Priority, Domain, Breaker} =
        case Lane of
            undefined -> {undefined, undefined, closed};
            {P, D} -> {P, D, circuit_breaker(P, D)}
        end,
    #{worker_id => Id, priority => Priority, domain => Domain,
      circuit_breaker => Breaker, metrics => Metrics}.

pull_and_run({Priority, Domain} = Lane, Mode, #{pull_size := PullSize} = Config, Metrics) ->
    N = case Mode of
            probe -> 1;
            closed -> PullSize
        end,
    case job_queue:pull_jobs(Priority, Domain, N) of
        {ok, Jobs} ->
            case {Mode, Jobs} of
                {probe, []} -> release_probe(Lane, Config);
                _ -> ok
            end,
            {Processed, Failed, NewMetrics} =
                run_jobs(Jobs, Lane, Config, {0, 0, bump(pulled, length(Jobs), Metrics)}),
            {{ok, #{processed => Processed, failed => Failed}}, NewMetrics};
        {error, Reason} ->
            case Mode of
                probe -> release_probe(Lane, Config);
                closed -> ok
            end,
            {{error, {queue, Reason}}, Metrics}
    end.

run_jobs([], _Lane, _Config, Acc) ->
    Acc;
run_jobs([#{id := Id} = Job | Rest], Lane, Config, {Processed, Failed, Metrics}) ->
    {Breaker, Acc} =
        case run_job(Job, maps:get(process_timeout, Config)) of
            ok ->
                Acked = case job_queue:ack(Id) of
                            ok -> 1;
                            {error, _} -> 0
                        end,
                {record_success(Lane),
                 {Processed + 1, Failed, bump(acked, Acked, bump(processed, 1, Metrics))}};
            {error, Reason} ->
                %% The breaker hears of the failure before the job goes
                %% back: a breaker that opens now must stop every pull
                %% that could take the job again.
                Breaker0 = record_failure(Lane, Config),
                _ = job_queue:nack(Id, Reason),
                {Breaker0, {Processed, Failed + 1, bump(failed, 1, Metrics)}}
        end,
    case Breaker of
        open ->
            _ = job_queue:release([JobId || #{id := JobId} <- Rest]),
            Acc;
        _ ->
            %% The next job's ack wait starts afresh (the first one's began
            %% when it was pulled).
            case Rest of
                [#{id := Next} | _] -> _ = job_queue:in_progress(Next);
                [] -> ok
            end,
            run_jobs(Rest, Lane, Config, Acc)
    end.

bump(Key, N, Metrics) ->
    maps:update_with(Key, fun(V) -> V + N end, Metrics).

%% Runs one job in a process of job_worker_sup. The worker links to it
%% before letting it start (`go'), so that killing the worker kills the
%% job, and exactly one 'EXIT' message (this worker traps exits) reports
%% its end, whichever way it ends; until `go' the job process watches its
%% owner, so it cannot outlive it either. An exit signal from anything
%% else (the pool or the supervisor going away) ends the worker at once,
%% and the job with it: the queue delivers the job again.
run_job(Job, Timeout) ->
    {ok, Pid} = job_worker_sup:start_job(self(), Job),
    true = link(Pid),
    Pid ! go,
    receive
        {job_done, Pid, Result} ->
            await_exit(Pid),
            Result;
        {'EXIT', Pid, Reason} ->
            {error, {crashed, Reason}};
        {'EXIT', _From, Reason} ->
            exit(Pid, kill),
            exit(Reason)
    after Timeout ->
        ok = job_worker_sup:stop_job(Pid),
        await_exit(Pid),
        receive
            {job_done, Pid, Result} -> Result
        after 0 ->
            {error, timeout}
        end
    end.

await_exit(Pid) ->
    receive
        {'EXIT', Pid, _} -> ok
    end.

run(Owner, Job) ->
    MRef = monitor(process, Owner),
    receive
        go ->
            true = demonitor(MRef, [flush]),
            Owner ! {job_done, self(), handle(Job)};
        {'DOWN', MRef, process, Owner, _} ->
            ok
    end.

handle(Job) ->
    Handler = application:get_env(?APP, handler, job_handler),
    case Handler:handle_job(Job) of
        ok -> ok;
        {error, _} = Error -> Error;
        Other -> {error, {bad_return, Other}}
    end.

%%%===================================================================
%%% Circuit breaker (shared, per lane)
%%%===================================================================

%% closed: go ahead; probe: the caller took the half-open probe; deny.
allow(Lane, #{failure_window := Window, process_timeout := Timeout}) ->
    Now = now_ms(),
    update_breaker(Lane, fun({closed, _} = S) -> {closed, S};
                            ({open, Since}) when Now - Since >= Window ->
                                 {probe, {half_open, Now}};
                            ({half_open, Since}) when Now - Since >= Timeout + Window ->
                                 {probe, {half_open, Now}};
                            (S) -> {deny, S}
                         end).

record_success(Lane) ->
    update_breaker(Lane, fun({half_open, _}) -> {closed, {closed, []}};
                            ({Name, _} = S) -> {Name, S}
                         end).

record_failure(Lane, #{failure_threshold := Threshold, failure_window := Window}) ->
    Now = now_ms(),
    update_breaker(Lane, fun({closed, Failures}) ->
                                 Recent = [T || T <- [Now | Failures], Now - T < Window],
                                 case length(Recent) >= Threshold of
                                     true -> {open, {open, Now}};
                                     false -> {closed, {closed, Recent}}
                                 end;
                            ({half_open, _}) -> {open, {open, Now}};
                            ({open, _} = S) -> {open, S}
                         end).

%% The probe found no job: open the breaker with its window already over,
%% so that the next call probes again.
release_probe(Lane, #{failure_window := Window}) ->
    Now = now_ms(),
    update_breaker(Lane, fun({half_open, _}) -> {open, {open, Now - Window}};
                            ({Name, _} = S) -> {Name, S}
                         end),
    ok.

-spec read_breaker(lane()) -> breaker_state().
read_breaker(Lane) ->
    case ets:lookup(?BREAKERS, Lane) of
        [{_, State}] ->
            State;
        [] ->
            _ = ets:insert_new(?BREAKERS, {Lane, {closed, []}}),
            read_breaker(Lane)
    end.

%% Applies Fun (state -> {Result, NewState}) atomically: the new state is
%% written only if the entry still holds the state Fun saw, else retried.
update_breaker(Lane, Fun) ->
    Old = read_breaker(Lane),
    {Result, New} = Fun(Old),
    Swap = [{{'$1', '$2'},
             [{'=:=', '$1', {const, Lane}}, {'=:=', '$2', {const, Old}}],
             [{{'$1', {const, New}}}]}],
    case New =:= Old orelse ets:select_replace(?BREAKERS, Swap) =:= 1 of
        true -> Result;
        false -> update_breaker(Lane, Fun)
    end.

now_ms() ->
    erlang:monotonic_time(millisecond).
