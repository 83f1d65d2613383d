%%%-------------------------------------------------------------------
%%% @doc The memory backend of {@link job_queue}: jobs in ETS tables that
%%% outlive the `job_queue' process.
%%%
%%% The top supervisor's process owns the tables (see
%%% {@link job_queue:init_store/0}), so a crash or kill of `job_queue'
%%% loses no job; only stopping the application does. Only `job_queue'
%%% writes them; anyone may read the counts and the pending index.
%%%
%%% `job_queue_jobs' is the record: a row per job that is pending, in
%%% flight or dead, `{{job, Id}, Lane, Payload, Deliveries, Status}' with
%%% Status `pending', `{in_flight, Puller, Deadline}' or
%%% `{dead, Seq, Reason}', and the row `{counters, NextId, Pending,
%%% InFlight, Acked, Dead}'. Every change of a job writes its row and the
%%% counters in one `ets:insert/2', which is atomic, so however the writer
%%% dies the counts match the rows. An acked job's row is first marked
%%% `acked' (with the counters), then deleted; {@link recover/0} deletes
%%% a marked row a killed writer left behind.
%%%
%%% `job_queue_pending' is an index of the pending jobs, ordered by lane
%%% and id: `{{Lane, Id}}'. It is derived from the rows, and
%%% {@link recover/0} rebuilds it when a new `job_queue' starts.
%%% @end
%%%-------------------------------------------------------------------
-module(job_queue_memory).

-export([init_tables/0, recover/0, any_pending/1, publish/2, pull/6, ack/1, fail/2, release/1,
         held_by/1, stats/0, dead_letters/0]).

-define(JOBS, job_queue_jobs).
-define(PENDING, job_queue_pending).
-define(MAX_DELIVERIES, 3).

-type status() :: pending | {in_flight, pid(), integer()} | acked
                | {dead, pos_integer(), term()}.
-type row() :: {{job, job_queue:job_id()}, job_queue:lane(), map(), non_neg_integer(), status()}.

%% @doc Creates the tables; the calling process owns them.
-spec init_tables() -> ok.
init_tables() ->
    ?JOBS = ets:new(?JOBS, [named_table, public, set]),
    ?PENDING = ets:new(?PENDING, [named_table, public, ordered_set]),
    true = ets:insert(?JOBS, {counters, 1, 0, 0, 0, 0}),
    ok.

%% @doc Brings the tables back to a consistent state after a writer died
%% (the pending index rebuilt, acked rows deleted) and returns the jobs
%% in flight, with their pullers and ack deadlines.
-spec recover() -> [{job_queue:job_id(), pid(), integer()}].
recover() ->
    _ = ets:select_delete(?JOBS, [{{{job, '_'}, '_', '_', '_', acked}, [], [true]}]),
    true = ets:delete_all_objects(?PENDING),
    Pending = ets:select(?JOBS, [{{{job, '$1'}, '$2', '_', '_', pending}, [], [{{'$2', '$1'}}]}]),
    true = ets:insert(?PENDING, [{Key} || Key <- Pending]),
    ets:select(?JOBS, [{{{job, '$1'}, '_', '_', '_', {in_flight, '$2', '$3'}}, [],
                        [{{'$1', '$2', '$3'}}]}]).

%% @doc Whether the pending index holds a job of `Lane'; read by any
%% process.
-spec any_pending(job_queue:lane()) -> boolean().
any_pending(Lane) ->
    case ets:next(?PENDING, {Lane, 0}) of
        {Lane, _} -> true;
        _ -> false
    end.

%% @doc Adds a pending job; returns its id.
-spec publish(job_queue:lane(), map()) -> job_queue:job_id().
publish(Lane, Payload) ->
    {Id, P, F, A, D} = counters(),
    true = ets:insert(?JOBS, [{{job, Id}, Lane, Payload, 0, pending},
                              {counters, Id + 1, P + 1, F, A, D}]),
    true = ets:insert(?PENDING, {{Lane, Id}}),
    Id.

%% @doc Takes up to `N' pending jobs of `Lane', oldest first, for
%% `Puller'. The k-th job's ack deadline is Now + k &#215; Timeout +
%% Margin. Returns each job with its deadline.
-spec pull(job_queue:lane(), non_neg_integer(), pid(), integer(), non_neg_integer(),
           non_neg_integer()) -> [{job_queue:job(), integer()}].
pull(Lane, N, Puller, Now, Timeout, Margin) ->
    take(Lane, N, 1, Puller, Now, Timeout, Margin).

take(_Lane, 0, _K, _Puller, _Now, _Timeout, _Margin) ->
    [];
take(Lane, N, K, Puller, Now, Timeout, Margin) ->
    case ets:next(?PENDING, {Lane, 0}) of
        {Lane, Id} = Key ->
            [{_, Lane, Payload, Deliveries, pending}] = ets:lookup(?JOBS, {job, Id}),
            Deadline = Now + K * Timeout + Margin,
            write({{job, Id}, Lane, Payload, Deliveries + 1, {in_flight, Puller, Deadline}},
                  {-1, 1, 0, 0}),
            true = ets:delete(?PENDING, Key),
            [{job(Id, Lane, Payload, Deliveries + 1), Deadline}
             | take(Lane, N - 1, K + 1, Puller, Now, Timeout, Margin)];
        _ ->
            []
    end.

%% @doc The job is done, whether it was in flight or back to pending.
-spec ack(job_queue:job_id()) -> ok.
ack(Id) ->
    case ets:lookup(?JOBS, {job, Id}) of
        [{Key, Lane, Payload, N, pending}] ->
            write({Key, Lane, Payload, N, acked}, {-1, 0, 1, 0}),
            true = ets:delete(?PENDING, {Lane, Id}),
            true = ets:delete(?JOBS, Key),
            ok;
        [{Key, Lane, Payload, N, {in_flight, _, _}}] ->
            write({Key, Lane, Payload, N, acked}, {0, -1, 1, 0}),
            true = ets:delete(?JOBS, Key),
            ok;
        _ ->
            ok
    end.

%% @doc A delivery of the job failed: back to pending, or dead after its
%% third delivery. A job not in flight is left as it is.
-spec fail(job_queue:job_id(), term()) -> ok.
fail(Id, Reason) ->
    case ets:lookup(?JOBS, {job, Id}) of
        [{Key, Lane, Payload, N, {in_flight, _, _}}] when N >= ?MAX_DELIVERIES ->
            {_, _, _, _, Dead} = counters(),
            write({Key, Lane, Payload, N, {dead, Dead + 1, Reason}}, {0, -1, 0, 1});
        [{Key, Lane, Payload, N, {in_flight, _, _}}] ->
            requeue({Key, Lane, Payload, N, pending});
        _ ->
            ok
    end.

%% @doc A job pulled but not tried goes back to pending, its delivery not
%% counted.
-spec release(job_queue:job_id()) -> ok.
release(Id) ->
    case ets:lookup(?JOBS, {job, Id}) of
        [{Key, Lane, Payload, N, {in_flight, _, _}}] ->
            requeue({Key, Lane, Payload, N - 1, pending});
        _ ->
            ok
    end.

%% @doc The jobs `Puller' holds in flight.
-spec held_by(pid()) -> [job_queue:job_id()].
held_by(Puller) ->
    ets:select(?JOBS, [{{{job, '$1'}, '_', '_', '_', {in_flight, Puller, '_'}}, [], ['$1']}]).

-spec stats() -> job_queue:stats().
stats() ->
    {_, Pending, InFlight, Acked, Dead} = counters(),
    #{pending => Pending, in_flight => InFlight, acked => Acked, dead => Dead}.

%% @doc Dead jobs, most recent first, each with the reason of its last
%% failure.
-spec dead_letters() -> [job_queue:dead_letter()].
dead_letters() ->
    Rows = ets:select(?JOBS, [{{{job, '_'}, '_', '_', '_', {dead, '_', '_'}}, [], ['$_']}]),
    Newest = lists:reverse(lists:keysort(1, [{Seq, Row} || {_, _, _, _, {dead, Seq, _}} = Row <- Rows])),
    [(job(Id, Lane, Payload, N))#{reason => Reason}
     || {_, {{job, Id}, Lane, Payload, N, {dead, _, Reason}}} <- Newest].

%%%===================================================================
%%% Internal functions
%%%===================================================================

counters() ->
    [{counters, Next, P, F, A, D}] = ets:lookup(?JOBS, counters),
    {Next, P, F, A, D}.

%% Writes a job's row and moves the counters by {Pending, InFlight,
%% Acked, Dead}, in one atomic insert.
-spec write(row(), {integer(), integer(), integer(), integer()}) -> ok.
write(Row, {DP, DF, DA, DD}) ->
    {Next, P, F, A, D} = counters(),
    true = ets:insert(?JOBS, [Row, {counters, Next, P + DP, F + DF, A + DA, D + DD}]),
    ok.

requeue({{job, Id}, Lane, _, _, pending} = Row) ->
    write(Row, {1, -1, 0, 0}),
    true = ets:insert(?PENDING, {{Lane, Id}}),
    ok.

job(Id, {Priority, Domain}, Payload, Deliveries) ->
    #{id => Id, priority => Priority, domain => Domain, payload => Payload,
      deliveries => Deliveries}.
