%%%-------------------------------------------------------------------
%%% @doc In-memory job queue with lanes, at-least-once delivery and a
%%% dead-letter list.
%%%
%%% Jobs are published to a lane (priority, domain) and pulled from it
%%% oldest first. A pulled job is in flight until it is acked. It goes
%%% back to pending, counting as a failed delivery, when its puller nacks
%%% it, when the puller dies (the queue monitors every puller), or when no
%%% ack came within its ack wait. The k-th job of a pull waits
%%% k &#215; processTimeout + margin: the lane's worker runs a batch in
%%% order, each job for at most processTimeout (the lane's pool's value,
%%% see {@link job_worker:lane_config/2}); the margin is the app env
%%% `ack_margin' (default 1000 ms). A job is delivered at most 3 times;
%%% its third failed delivery moves it to the dead-letter list.
%%% `release/1' returns pulled jobs that were not tried, without counting
%%% the delivery.
%%%
%%% No job is lost: every published job is pending, in flight, acked or
%%% dead, and `stats/0' counts each. An ack for a job that went back to
%%% pending is still honoured (the work was done); acks of acked, dead or
%%% unknown jobs are ignored. The queue lives in memory: its jobs do not
%%% survive a restart of the queue process.
%%% @end
%%%-------------------------------------------------------------------
-module(job_queue).
-behaviour(gen_server).

-export([start_link/0, publish/3, pull_jobs/3, ack/1, nack/2, release/1,
         stats/0, dead_letters/0]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

-export_type([priority/0, domain/0, job_id/0, job/0, stats/0]).

-define(APP, ggen_jobs).
-define(MAX_DELIVERIES, 3).
-define(DEFAULT_ACK_MARGIN, 1000).

-type priority() :: atom().
-type domain() :: atom().
-type lane() :: {priority(), domain()}.
-type job_id() :: pos_integer().
-type job() :: #{id := job_id(), priority := priority(), domain := domain(),
                 payload := map(), deliveries := non_neg_integer(),
                 reason => term()}.
-type stats() :: #{pending := non_neg_integer(), in_flight := non_neg_integer(),
                   acked := non_neg_integer(), dead := non_neg_integer()}.

-record(state, {next_id = 1 :: job_id(),
                jobs = #{} :: #{job_id() => job()},                 % pending or in flight
                pending = #{} :: #{lane() => gb_sets:set(job_id())},
                in_flight = #{} :: #{job_id() => {pid(), reference()}},  % puller, ack timer
                pullers = #{} :: #{pid() => {reference(), pos_integer()}},  % monitor, jobs held
                acked = 0 :: non_neg_integer(),
                dead = [] :: [job()],
                dead_count = 0 :: non_neg_integer()}).

%%%===================================================================
%%% API
%%%===================================================================

-spec start_link() -> {ok, pid()} | {error, term()}.
start_link() ->
    gen_server:start_link({local, ?MODULE}, ?MODULE, [], []).

%% @doc Adds a job to the lane (`Priority', `Domain').
-spec publish(priority(), domain(), map()) -> {ok, job_id()}.
publish(Priority, Domain, Payload)
  when is_atom(Priority), is_atom(Domain), is_map(Payload) ->
    gen_server:call(?MODULE, {publish, {Priority, Domain}, Payload}).

%% @doc Takes up to `N' pending jobs of the lane, oldest first; the caller
%% becomes their puller and must ack (or nack) each.
-spec pull_jobs(priority(), domain(), non_neg_integer()) -> {ok, [job()]}.
pull_jobs(Priority, Domain, N) when is_integer(N), N >= 0 ->
    #{process_timeout := Timeout} = job_worker:lane_config(Priority, Domain),
    Margin = application:get_env(?APP, ack_margin, ?DEFAULT_ACK_MARGIN),
    gen_server:call(?MODULE, {pull, {Priority, Domain}, N, Timeout, Margin}).

%% @doc The job was processed: it is done.
-spec ack(job_id()) -> ok.
ack(JobId) ->
    gen_server:call(?MODULE, {ack, JobId}).

%% @doc The job failed: deliver it again, or dead-letter it after its
%% third delivery.
-spec nack(job_id(), term()) -> ok.
nack(JobId, Reason) ->
    gen_server:call(?MODULE, {nack, JobId, Reason}).

%% @doc The jobs were pulled but not tried: back to pending, the delivery
%% not counted.
-spec release([job_id()]) -> ok.
release(JobIds) ->
    gen_server:call(?MODULE, {release, JobIds}).

-spec stats() -> stats().
stats() ->
    gen_server:call(?MODULE, stats).

%% @doc Dead jobs, most recent first; `reason' is their last failure.
-spec dead_letters() -> [job()].
dead_letters() ->
    gen_server:call(?MODULE, dead_letters).

%%%===================================================================
%%% gen_server callbacks
%%%===================================================================

%% @private
-spec init([]) -> {ok, #state{}}.
init([]) ->
    {ok, #state{}}.

%% @private
-spec handle_call(term(), gen_server:from(), #state{}) -> {reply, term(), #state{}}.
handle_call({publish, {Priority, Domain} = Lane, Payload}, _From, S) ->
    Id = S#state.next_id,
    Job = #{id => Id, priority => Priority, domain => Domain,
            payload => Payload, deliveries => 0},
    {reply, {ok, Id}, add_pending(Lane, Id, S#state{next_id = Id + 1,
                                                    jobs = (S#state.jobs)#{Id => Job}})};
handle_call({pull, Lane, N, Timeout, Margin}, {Puller, _}, S) ->
    {Ids, Left} = take(N, maps:get(Lane, S#state.pending, gb_sets:empty()), []),
    S1 = S#state{pending = (S#state.pending)#{Lane => Left}},
    {Jobs, S2} = deliver(Ids, 1, Puller, Timeout, Margin, [], S1),
    {reply, {ok, Jobs}, S2};
handle_call({ack, Id}, _From, S) ->
    {reply, ok, ack_job(Id, S)};
handle_call({nack, Id, Reason}, _From, S) ->
    {reply, ok, case maps:is_key(Id, S#state.in_flight) of
                    true -> fail_delivery(Id, Reason, S);
                    false -> S
                end};
handle_call({release, Ids}, _From, S) ->
    {reply, ok, lists:foldl(fun release_job/2, S, Ids)};
handle_call(stats, _From, S) ->
    Pending = maps:fold(fun(_, Set, Acc) -> Acc + gb_sets:size(Set) end, 0, S#state.pending),
    {reply, #{pending => Pending, in_flight => map_size(S#state.in_flight),
              acked => S#state.acked, dead => S#state.dead_count}, S};
handle_call(dead_letters, _From, S) ->
    {reply, S#state.dead, S}.

%% @private
-spec handle_cast(term(), #state{}) -> {noreply, #state{}}.
handle_cast(_Msg, S) ->
    {noreply, S}.

%% @private Ack waits running out, and pullers dying.
-spec handle_info(term(), #state{}) -> {noreply, #state{}}.
handle_info({timeout, TRef, {ack_wait, Id}}, S) ->
    case maps:find(Id, S#state.in_flight) of
        {ok, {_Puller, TRef}} -> {noreply, fail_delivery(Id, ack_timeout, S)};
        _ -> {noreply, S}
    end;
handle_info({'DOWN', _MRef, process, Puller, Reason}, S) ->
    Held = [Id || {Id, {P, _}} <- maps:to_list(S#state.in_flight), P =:= Puller],
    {noreply, lists:foldl(fun(Id, Acc) -> fail_delivery(Id, {puller_down, Reason}, Acc) end,
                          S, Held)};
handle_info(_Info, S) ->
    {noreply, S}.

%%%===================================================================
%%% Internal functions
%%%===================================================================

take(0, Set, Acc) ->
    {lists:reverse(Acc), Set};
take(N, Set, Acc) ->
    case gb_sets:is_empty(Set) of
        true ->
            {lists:reverse(Acc), Set};
        false ->
            {Id, Rest} = gb_sets:take_smallest(Set),
            take(N - 1, Rest, [Id | Acc])
    end.

deliver([], _K, _Puller, _Timeout, _Margin, Acc, S) ->
    {lists:reverse(Acc), S};
deliver([Id | Ids], K, Puller, Timeout, Margin, Acc, S) ->
    Job = maps:get(Id, S#state.jobs),
    Delivered = Job#{deliveries := maps:get(deliveries, Job) + 1},
    TRef = erlang:start_timer(K * Timeout + Margin, self(), {ack_wait, Id}),
    S1 = S#state{jobs = (S#state.jobs)#{Id := Delivered},
                 in_flight = (S#state.in_flight)#{Id => {Puller, TRef}},
                 pullers = hold(Puller, S#state.pullers)},
    deliver(Ids, K + 1, Puller, Timeout, Margin, [Delivered | Acc], S1).

ack_job(Id, S) ->
    case maps:take(Id, S#state.jobs) of
        error ->
            S;
        {#{priority := P, domain := D}, Jobs} ->
            S1 = case maps:is_key(Id, S#state.in_flight) of
                     true -> leave_flight(Id, S);
                     false -> remove_pending({P, D}, Id, S)
                 end,
            S1#state{jobs = Jobs, acked = S#state.acked + 1}
    end.

fail_delivery(Id, Reason, S) ->
    S1 = leave_flight(Id, S),
    #{priority := P, domain := D, deliveries := N} = Job = maps:get(Id, S1#state.jobs),
    case N >= ?MAX_DELIVERIES of
        true ->
            S1#state{jobs = maps:remove(Id, S1#state.jobs),
                     dead = [Job#{reason => Reason} | S1#state.dead],
                     dead_count = S1#state.dead_count + 1};
        false ->
            add_pending({P, D}, Id, S1)
    end.

release_job(Id, S) ->
    case maps:is_key(Id, S#state.in_flight) of
        false ->
            S;
        true ->
            S1 = leave_flight(Id, S),
            #{priority := P, domain := D, deliveries := N} = Job = maps:get(Id, S1#state.jobs),
            add_pending({P, D}, Id, S1#state{jobs = (S1#state.jobs)#{Id := Job#{deliveries := N - 1}}})
    end.

leave_flight(Id, S) ->
    {{Puller, TRef}, InFlight} = maps:take(Id, S#state.in_flight),
    _ = erlang:cancel_timer(TRef, [{async, true}, {info, false}]),
    S#state{in_flight = InFlight, pullers = unhold(Puller, S#state.pullers)}.

hold(Puller, Pullers) ->
    case maps:find(Puller, Pullers) of
        {ok, {MRef, N}} -> Pullers#{Puller := {MRef, N + 1}};
        error -> Pullers#{Puller => {erlang:monitor(process, Puller), 1}}
    end.

unhold(Puller, Pullers) ->
    case maps:get(Puller, Pullers) of
        {MRef, 1} ->
            true = erlang:demonitor(MRef, [flush]),
            maps:remove(Puller, Pullers);
        {MRef, N} ->
            Pullers#{Puller := {MRef, N - 1}}
    end.

add_pending(Lane, Id, S) ->
    Set = maps:get(Lane, S#state.pending, gb_sets:empty()),
    S#state{pending = (S#state.pending)#{Lane => gb_sets:add_element(Id, Set)}}.

remove_pending(Lane, Id, S) ->
    Set = maps:get(Lane, S#state.pending, gb_sets:empty()),
    S#state{pending = (S#state.pending)#{Lane => gb_sets:del_element(Id, Set)}}.
