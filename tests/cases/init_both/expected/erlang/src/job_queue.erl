%%%-------------------------------------------------------------------
%%% @doc The job queue: lanes, at-least-once delivery and a dead-letter
%%% list, over one of two backends.
%%%
%%% == Backends ==
%%% <dl>
%%% <dt>`memory'</dt><dd>The jobs live in ETS tables of
%%%   {@link job_queue_memory}, owned by the top supervisor: they outlive
%%%   this process (a crash of `job_queue' loses nothing) but not the
%%%   application.</dd>
%%% <dt>`nats'</dt><dd>The jobs live in a NATS JetStream stream
%%%   ({@link job_queue_jetstream}), which outlives the application and is
%%%   shared by every node, Erlang or Rust, of the specification.</dd>
%%% </dl>
%%% The backend is the specification's (`jobs:backend' of its
%%% jobs:JobQueue: memory) unless the app env `queue_backend' (`memory' or
%%% `nats') names another; it is read once, when the application starts.
%%%
%%% == Delivery ==
%%% Jobs are published to a lane (priority, domain) and pulled from it
%%% oldest first. A pulled job is in flight until it is acked. It is
%%% delivered again, counting as a failed delivery, when its puller nacks
%%% it, when the puller dies (this process monitors every puller), or when
%%% no ack came within its ack wait. A job is delivered at most 3 times;
%%% its third failed delivery moves it to the dead-letter list.
%%% `release/1' hands back pulled jobs that were not tried. No job is lost:
%%% every published job is pending, in flight, acked or dead, and
%%% `stats/0' counts each. An ack for a job that went back to pending is
%%% still honoured (the work was done); acks of acked, dead or unknown
%%% jobs are ignored.
%%%
%%% The ack wait differs by backend. In memory, the k-th job of a pull
%%% waits k &#215; processTimeout + margin (the lane's worker runs a batch
%%% in order, each job for at most processTimeout). On NATS it is the
%%% lane consumer's ack wait, processTimeout + margin, which
%%% `in_progress/1' (called by the worker as it starts each job) starts
%%% afresh. processTimeout is the lane's pool's (see
%%% {@link job_worker:lane_config/2}); the margin is the app env
%%% `ack_margin', by default 1000 ms in memory and 5000 ms on NATS (the
%%% Rust crate's margin, so that both create the same consumers).
%%%
%%% This process serializes the memory backend's writes, keeps the
%%% timers of its ack waits and watches every puller. On NATS the callers
%%% talk to the server themselves; this process creates the stream and the
%%% declared lanes' consumers when it starts (retrying until the server
%%% answers), and a publish or pull that finds them missing (a server
%%% with a new store) creates them again. When it restarts, it reads what
%%% was in flight back from the store.
%%% @end
%%%-------------------------------------------------------------------
-module(job_queue).
-behaviour(gen_server).

-export([start_link/0, init_store/0, child_specs/0, backend/0, ready/0, ack_wait/1, watch/0,
         publish/3, pull_jobs/3, ack/1, nack/2, release/1, in_progress/1,
         stats/0, dead_letters/0]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2, terminate/2]).

-export_type([backend/0, priority/0, domain/0, lane/0, job_id/0, job/0, dead_letter/0,
              stats/0]).

-define(APP, both_demo).
%% jobs:backend of the specification.
-define(SPEC_BACKEND, memory).
%% Where init_store/0 writes the backend chosen at start.
-define(CONFIG, job_queue_config).
-define(MAX_DELIVERIES, 3).
%% How long an API call waits for a restarting job_queue.
-define(RESTART_WAIT_MS, 5000).
%% The NATS backend retries its set-up while it fails, first after
%% ?SETUP_RETRY_MS, waiting twice as long each time up to ?SETUP_RETRY_MAX_MS.
-define(SETUP_RETRY_MS, 10).
-define(SETUP_RETRY_MAX_MS, 1000).

-type backend() :: memory | nats.
-type priority() :: atom().
-type domain() :: atom().
-type lane() :: {priority(), domain()}.
-type job_id() :: pos_integer().
-type job() :: #{id := job_id(), priority := priority(), domain := domain(),
                 payload := map(), deliveries := non_neg_integer(),
                 reason => term()}.
-type dead_letter() :: #{id := job_id(), priority := priority() | binary(),
                         domain := domain() | binary(), payload := map(),
                         deliveries := non_neg_integer(), reason := term()}.
%% A dead job. On NATS, `reason' is the text of the last failure, and a
%% lane this node has no atom for is given as text.
-type stats() :: #{pending := non_neg_integer(), in_flight := non_neg_integer(),
                   acked := non_neg_integer(), dead := non_neg_integer()}.

-record(state, {backend :: backend(),
                timers = #{} :: #{job_id() => reference()},    % memory: ack waits
                pullers = #{} :: #{pid() => reference()}}).    % monitors

%%%===================================================================
%%% API
%%%===================================================================

-spec start_link() -> {ok, pid()} | {error, term()}.
start_link() ->
    gen_server:start_link({local, ?MODULE}, ?MODULE, [], []).

%% @doc Creates the tables that outlive `job_queue' and records the
%% backend; called by the top supervisor's `init/1', whose process owns
%% them. Exits on an app env `queue_backend' that is neither `memory' nor
%% `nats'.
-spec init_store() -> ok.
init_store() ->
    Backend = case application:get_env(?APP, queue_backend, ?SPEC_BACKEND) of
                  B when B =:= memory; B =:= nats -> B;
                  Other -> exit({invalid_app_env, queue_backend, Other})
              end,
    ?CONFIG = ets:new(?CONFIG, [named_table, public, set, {read_concurrency, true}]),
    true = ets:insert(?CONFIG, [{backend, Backend}, {ready, Backend =:= memory}]),
    job_queue_memory:init_tables(),
    job_queue_jetstream:init_table().

%% @doc The top supervisor's children for the queue: on NATS the
%% connection `job_queue_nats' first, then `job_queue'.
-spec child_specs() -> [supervisor:child_spec()].
child_specs() ->
    Queue = #{id => job_queue, start => {job_queue, start_link, []}, shutdown => 30000},
    case backend() of
        memory -> [Queue];
        nats -> [job_queue_jetstream:connection_spec(), Queue]
    end.

%% @doc The backend in use.
-spec backend() -> backend().
backend() ->
    ets:lookup_element(?CONFIG, backend, 2).

%% @doc Whether the queue is set up: always in memory; on NATS once
%% this `job_queue' has created (or found) the stream and the declared
%% lanes' consumers.
-spec ready() -> boolean().
ready() ->
    ets:lookup_element(?CONFIG, ready, 2).

%% @doc The ack wait of a job of the lane (ms): the lane's pool's
%% processTimeout plus the margin. In memory, the k-th job of a pull
%% waits k - 1 processTimeouts more.
-spec ack_wait(lane()) -> pos_integer().
ack_wait({Priority, Domain}) ->
    #{process_timeout := Timeout} = job_worker:lane_config(Priority, Domain),
    Timeout + ack_margin(backend()).

%% @doc Makes sure `job_queue' watches the calling process, which holds
%% jobs it pulled from NATS: once it dies, what it still holds goes back.
%% Only the first call of a process reaches `job_queue'.
-spec watch() -> ok.
watch() ->
    case ets:member(?CONFIG, {watched, self()}) of
        true -> ok;
        false -> call(watch, true)
    end.

%% @doc Adds a job to the lane (`Priority', `Domain'). On NATS the payload
%% travels as a JSON object, so its keys come back as binaries.
-spec publish(priority(), domain(), map()) -> {ok, job_id()} | {error, term()}.
publish(Priority, Domain, Payload)
  when is_atom(Priority), is_atom(Domain), is_map(Payload) ->
    Lane = {Priority, Domain},
    Result = case backend() of
                 memory -> call({publish, Lane, Payload}, false);
                 nats -> job_queue_jetstream:publish(Lane, Payload)
             end,
    case Result of
        {ok, _} -> job_consumer:wake(Lane);
        {error, _} -> ok
    end,
    Result.

%% @doc Takes up to `N' pending jobs of the lane, oldest first; the caller
%% becomes their puller and must ack (or nack, or release) each.
-spec pull_jobs(priority(), domain(), non_neg_integer()) -> {ok, [job()]} | {error, term()}.
pull_jobs(Priority, Domain, N) when is_integer(N), N >= 0 ->
    Lane = {Priority, Domain},
    case backend() of
        memory ->
            #{process_timeout := Timeout} = job_worker:lane_config(Priority, Domain),
            call({pull, Lane, N, Timeout, ack_margin(memory)}, true);
        nats ->
            job_queue_jetstream:pull(Lane, N)
    end.

%% @doc The job was processed: it is done.
-spec ack(job_id()) -> ok | {error, term()}.
ack(JobId) ->
    case backend() of
        memory -> call({ack, JobId}, true);
        nats -> job_queue_jetstream:ack(JobId)
    end.

%% @doc The job failed: deliver it again, or dead-letter it after its
%% third delivery.
-spec nack(job_id(), term()) -> ok | {error, term()}.
nack(JobId, Reason) ->
    case backend() of
        memory -> call({nack, JobId, Reason}, true);
        nats -> job_queue_jetstream:nack(JobId, Reason)
    end.

%% @doc The jobs were pulled but not tried: they go back to the lane. In
%% memory the delivery is not counted; JetStream counts every delivery,
%% so on NATS it is.
-spec release([job_id()]) -> ok | {error, term()}.
release(JobIds) ->
    case backend() of
        memory -> call({release, JobIds}, true);
        nats -> job_queue_jetstream:release(JobIds)
    end.

%% @doc The puller starts working on the job. On NATS this starts the
%% job's ack wait afresh; in memory there is nothing to do, the ack wait
%% of the k-th job of a pull already covers the k - 1 before it.
-spec in_progress(job_id()) -> ok | {error, term()}.
in_progress(JobId) ->
    case backend() of
        memory -> ok;
        nats -> job_queue_jetstream:in_progress(JobId)
    end.

%% @doc How many jobs are pending, in flight, acked and dead.
-spec stats() -> stats() | {error, term()}.
stats() ->
    case backend() of
        memory -> job_queue_memory:stats();
        nats -> job_queue_jetstream:stats()
    end.

%% @doc Dead jobs, most recent first; `reason' is their last failure.
-spec dead_letters() -> [dead_letter()] | {error, term()}.
dead_letters() ->
    case backend() of
        memory -> job_queue_memory:dead_letters();
        nats -> job_queue_jetstream:dead_letters()
    end.

%%%===================================================================
%%% gen_server callbacks
%%%===================================================================

%% @private Reads back what was in flight when a previous job_queue died.
-spec init([]) -> {ok, #state{}}.
init([]) ->
    process_flag(trap_exit, true),
    Backend = backend(),
    %% The monitors of a previous job_queue died with it.
    true = ets:match_delete(?CONFIG, {{watched, '_'}, '_'}),
    S = #state{backend = Backend},
    case Backend of
        memory ->
            InFlight = job_queue_memory:recover(),
            {ok, lists:foldl(fun({Id, Puller, Deadline}, Acc) ->
                                     watch(Puller, arm(Id, Deadline, Acc))
                             end, S, InFlight)};
        nats ->
            self() ! {setup, ?SETUP_RETRY_MS},
            {ok, lists:foldl(fun watch/2, S, job_queue_jetstream:pullers())}
    end.

%% @private The memory backend's writes, and pullers to watch.
-spec handle_call(term(), gen_server:from(), #state{}) -> {reply, term(), #state{}}.
handle_call(watch, {Puller, _}, S) ->
    {reply, ok, watch(Puller, S)};
handle_call({publish, Lane, Payload}, _From, S) ->
    {reply, {ok, job_queue_memory:publish(Lane, Payload)}, S};
handle_call({pull, Lane, N, Timeout, Margin}, {Puller, _}, S) ->
    Pulled = job_queue_memory:pull(Lane, N, Puller, now_ms(), Timeout, Margin),
    S1 = lists:foldl(fun({#{id := Id}, Deadline}, Acc) -> arm(Id, Deadline, Acc) end,
                     S, Pulled),
    {reply, {ok, [Job || {Job, _} <- Pulled]},
     case Pulled of [] -> S1; _ -> watch(Puller, S1) end};
handle_call({ack, Id}, _From, S) ->
    job_queue_memory:ack(Id),
    {reply, ok, disarm(Id, S)};
handle_call({nack, Id, Reason}, _From, S) ->
    job_queue_memory:fail(Id, Reason),
    {reply, ok, disarm(Id, S)};
handle_call({release, Ids}, _From, S) ->
    {reply, ok, lists:foldl(fun(Id, Acc) ->
                                    job_queue_memory:release(Id),
                                    disarm(Id, Acc)
                            end, S, Ids)}.

%% @private
-spec handle_cast(term(), #state{}) -> {noreply, #state{}}.
handle_cast(_Msg, S) ->
    {noreply, S}.

%% @private Ack waits running out, pullers dying, and the NATS set-up.
-spec handle_info(term(), #state{}) -> {noreply, #state{}}.
handle_info({timeout, TRef, {ack_wait, Id}}, S) ->
    case maps:find(Id, S#state.timers) of
        {ok, TRef} ->
            job_queue_memory:fail(Id, ack_timeout),
            {noreply, S#state{timers = maps:remove(Id, S#state.timers)}};
        _ ->
            {noreply, S}
    end;
handle_info({'DOWN', MRef, process, Puller, Reason}, S) ->
    true = ets:delete(?CONFIG, {watched, Puller}),
    S1 = S#state{pullers = maps:remove(Puller, S#state.pullers)},
    case {maps:find(Puller, S#state.pullers), S#state.backend} of
        {{ok, MRef}, memory} ->
            Held = job_queue_memory:held_by(Puller),
            {noreply, lists:foldl(fun(Id, Acc) ->
                                          job_queue_memory:fail(Id, {puller_down, Reason}),
                                          disarm(Id, Acc)
                                  end, S1, Held)};
        {{ok, MRef}, nats} ->
            job_queue_jetstream:puller_down(Puller, Reason),
            {noreply, S1};
        _ ->
            {noreply, S}
    end;
handle_info({setup, Retry}, #state{backend = nats} = S) ->
    Ready = job_queue_jetstream:setup() =:= ok,
    true = ets:insert(?CONFIG, {ready, Ready}),
    Ready orelse erlang:send_after(Retry, self(), {setup, min(2 * Retry, ?SETUP_RETRY_MAX_MS)}),
    {noreply, S};
handle_info(_Info, S) ->
    {noreply, S}.

%% @private When the application stops, the workers have stopped before
%% this process: on NATS it hands what they held back to the stream at
%% once, instead of leaving it to the ack waits. (A crash of this process
%% hands nothing back: the pullers may still be working.)
-spec terminate(term(), #state{}) -> ok.
terminate(Reason, #state{backend = nats}) when Reason =:= shutdown;
                                                 element(1, Reason) =:= shutdown ->
    job_queue_jetstream:release_all(Reason);
terminate(_Reason, _S) ->
    ok.

%%%===================================================================
%%% Internal functions
%%%===================================================================

%% Calls the queue process, waiting for it while its supervisor restarts
%% it. A call the process died in is made again when `Retry' (the
%% operation can be repeated safely); a publish is not, as the job may
%% already be in.
call(Msg, Retry) ->
    call(Msg, Retry, now_ms() + ?RESTART_WAIT_MS).

call(Msg, Retry, Deadline) ->
    try
        gen_server:call(?MODULE, Msg, infinity)
    catch
        exit:{noproc, _} ->
            %% Not sent: safe to send again, whatever the call.
            wait_restart(Msg, Retry, Deadline);
        exit:{Reason, {gen_server, call, _}} when Retry ->
            case now_ms() < Deadline of
                true -> wait_restart(Msg, Retry, Deadline);
                false -> {error, {queue_down, Reason}}
            end;
        exit:{Reason, {gen_server, call, _}} ->
            {error, {queue_down, Reason}}
    end.

wait_restart(Msg, Retry, Deadline) ->
    case now_ms() < Deadline of
        true ->
            timer:sleep(10),
            call(Msg, Retry, Deadline);
        false ->
            {error, {queue_down, noproc}}
    end.

%% The app env `ack_margin' (ms), or the backend's default.
-spec ack_margin(backend()) -> non_neg_integer().
ack_margin(memory) -> application:get_env(?APP, ack_margin, 1000);
ack_margin(nats) -> application:get_env(?APP, ack_margin, 5000).

arm(Id, Deadline, S) ->
    TRef = erlang:start_timer(max(0, Deadline - now_ms()), self(), {ack_wait, Id}),
    S#state{timers = (S#state.timers)#{Id => TRef}}.

disarm(Id, S) ->
    case maps:take(Id, S#state.timers) of
        {TRef, Timers} ->
            _ = erlang:cancel_timer(TRef, [{async, true}, {info, false}]),
            S#state{timers = Timers};
        error ->
            S
    end.

watch(Puller, S) ->
    case maps:is_key(Puller, S#state.pullers) of
        true ->
            S;
        false ->
            true = ets:insert(?CONFIG, {{watched, Puller}, true}),
            S#state{pullers = (S#state.pullers)#{Puller => monitor(process, Puller)}}
    end.

now_ms() ->
    erlang:monotonic_time(millisecond).
