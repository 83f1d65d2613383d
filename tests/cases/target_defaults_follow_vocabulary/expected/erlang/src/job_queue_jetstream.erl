%%%-------------------------------------------------------------------
%%% @doc The NATS backend of {@link job_queue}: the jobs live in a
%%% JetStream stream that every node, Erlang or Rust, of the
%%% specification shares.
%%%
%%% == Wire layout (the same as the Rust crate's `NatsQueue') ==
%%% <table>
%%% <tr><td>stream</td><td>`OTHER' (jobs:stream), work-queue retention,
%%%   file storage, subjects `work.jobs.lane.>' and `work.jobs.dead.>'
%%%   (jobs:subjectPrefix `work.jobs')</td></tr>
%%% <tr><td>lane (P, D)</td><td>subject `work.jobs.lane.P.D', durable pull
%%%   consumer `OTHER_P_D' (the stream's name as a token): explicit ack, ack wait = the lane's
%%%   processTimeout + margin, max_deliver 4</td></tr>
%%% <tr><td>dead letters of (P, D)</td><td>subject `work.jobs.dead.P.D',
%%%   never consumed; headers `Jobs-Sequence', `Jobs-Deliveries',
%%%   `Jobs-Priority', `Jobs-Domain' (and `Jobs-Reason')</td></tr>
%%% <tr><td>job id</td><td>the job's stream sequence</td></tr>
%%% <tr><td>payload</td><td>the job's JSON object</td></tr>
%%% </table>
%%% Priority and domain are written into subjects and consumer names
%%% with every byte outside `[A-Za-z0-9-]' as `_XX' (hex), so any atom is
%%% safe. Deliveries 1 to 3 reach workers; a job whose third delivery
%%% failed is moved to its dead subject by the nack, and one whose third
%%% ack wait ran out (its node died) comes back a fourth time only to be
%%% moved there by the pull. A message that is not a JSON object is moved
%%% there at once. A dead letter is a copy carrying the message id
%%% `dead-<seq>', so a move that is retried is stored once; the original
%%% is acked after the copy is stored.
%%%
%%% == Where the work happens ==
%%% Publishing, pulling and acking run in the caller's process, through
%%% the connection `job_queue_nats' ({@link nats_conn}), so callers do not
%%% queue behind one another. What a node has pulled is recorded in the
%%% table `job_queue_nats_jobs' (owned by the top supervisor, like the
%%% memory backend's tables): `{Seq, Lane, AckSubject, Delivered,
%%% Puller}'. `job_queue' watches each puller and nacks what a dead one
%%% held. Acks of jobs this node did not pull are ignored: the job's
%%% puller (elsewhere) settles it, or its ack wait does.
%%% @end
%%%-------------------------------------------------------------------
-module(job_queue_jetstream).

-export([init_table/0, connection_spec/0, connection/0, stream/0, subject_prefix/0,
         lane_subject/1, dead_subject/1, consumer_name/1, token/1,
         setup/0, publish/2, pull/2, ack/1, nack/2, release/1, in_progress/1,
         puller_down/2, release_all/1, pullers/0, lanes/0, stats/0, dead_letters/0]).

-define(APP, defaults).
%% jobs:stream and jobs:subjectPrefix of the specification.
-define(STREAM, <<"OTHER">>).
-define(PREFIX, <<"work.jobs">>).
-define(CONN, job_queue_nats).
-define(TABLE, job_queue_nats_jobs).
-define(MAX_DELIVERIES, 3).
%% How long one request to the server may take.
-define(REQUEST_MS, 5000).

%%%===================================================================
%%% Layout
%%%===================================================================

%% @doc Creates the table of pulled jobs; the calling process owns it.
-spec init_table() -> ok.
init_table() ->
    ?TABLE = ets:new(?TABLE, [named_table, public, set]),
    ok.

%% @doc The child spec of the connection `job_queue_nats', from the app
%% env: `nats_url', one `"nats://host:port"' or a list of them (default
%% `"nats://127.0.0.1:4222"'; `nats://user:password@host:port' and
%% `nats://token@host:port' carry credentials), and `nats_credentials',
%% the path of a NATS credentials file (a user JWT and nkey seed, or an
%% nkey seed alone).
-spec connection_spec() -> supervisor:child_spec().
connection_spec() ->
    Urls = case application:get_env(?APP, nats_url, "nats://127.0.0.1:4222") of
               [C | _] = Url when is_integer(C) -> [Url];
               Url when is_binary(Url) -> [Url];
               List when is_list(List) -> List
           end,
    Opts = #{urls => Urls, name => atom_to_binary(?APP, utf8),
             credentials => application:get_env(?APP, nats_credentials, undefined)},
    #{id => ?CONN, start => {nats_conn, start_link, [?CONN, Opts]}}.

%% @doc The registered name of the NATS connection.
-spec connection() -> atom().
connection() -> ?CONN.

-spec stream() -> binary().
stream() -> ?STREAM.

-spec subject_prefix() -> binary().
subject_prefix() -> ?PREFIX.

%% @doc `<prefix>.lane.<priority>.<domain>'.
-spec lane_subject(job_queue:lane()) -> binary().
lane_subject({P, D}) ->
    <<?PREFIX/binary, ".lane.", (token(P))/binary, ".", (token(D))/binary>>.

%% @doc `<prefix>.dead.<priority>.<domain>'.
-spec dead_subject(job_queue:lane()) -> binary().
dead_subject({P, D}) ->
    <<?PREFIX/binary, ".dead.", (token(P))/binary, ".", (token(D))/binary>>.

%% @doc `<stream>_<priority>_<domain>'.
-spec consumer_name(job_queue:lane()) -> binary().
consumer_name({P, D}) ->
    <<(token(?STREAM))/binary, "_", (token(P))/binary, "_", (token(D))/binary>>.

%% @doc A subject token: `[A-Za-z0-9-]' as is, any other byte of the
%% UTF-8 text as `_XX'.
-spec token(atom() | binary()) -> binary().
token(Atom) when is_atom(Atom) ->
    token(atom_to_binary(Atom, utf8));
token(Bin) ->
    << <<(if (C >= $a andalso C =< $z) orelse (C >= $A andalso C =< $Z)
                 orelse (C >= $0 andalso C =< $9) orelse C =:= $- -> <<C>>;
             true -> iolist_to_binary(io_lib:format("_~2.16.0B", [C]))
          end)/binary>> || <<C>> <= Bin >>.

%%%===================================================================
%%% Set-up
%%%===================================================================

%% @doc Creates the stream and the consumer of every declared lane, or
%% checks that they are as configured; idempotent.
-spec setup() -> ok | {error, term()}.
setup() ->
    case ensure_stream() of
        ok -> ensure_consumers(job_worker:lanes());
        Error -> Error
    end.

ensure_stream() ->
    Config = #{name => ?STREAM,
               subjects => [<<?PREFIX/binary, ".lane.>">>, <<?PREFIX/binary, ".dead.>">>],
               retention => workqueue, storage => file},
    case nats_js:ensure_stream(?CONN, Config) of
        {ok, _} -> ok;
        Error -> Error
    end.

ensure_consumers([]) ->
    ok;
ensure_consumers([Lane | Lanes]) ->
    case ensure_consumer(Lane) of
        ok -> ensure_consumers(Lanes);
        Error -> Error
    end.

%% Creates or updates the lane's consumer; the table remembers the ack
%% wait it was given, so that a pull sees when the app env changed it.
ensure_consumer(Lane) ->
    AckWait = job_queue:ack_wait(Lane),
    Config = #{durable_name => consumer_name(Lane), filter_subject => lane_subject(Lane),
               ack_wait => AckWait, max_deliver => ?MAX_DELIVERIES + 1},
    case nats_js:ensure_consumer(?CONN, ?STREAM, Config) of
        {ok, _} -> true = ets:insert(?TABLE, {{consumer, Lane}, AckWait}), ok;
        Error -> Error
    end.

%%%===================================================================
%%% Jobs
%%%===================================================================

%% @doc Publishes `Payload' as JSON to the lane's subject; the job id is
%% the stream sequence the server gave it.
-spec publish(job_queue:lane(), map()) -> {ok, job_queue:job_id()} | {error, term()}.
publish(Lane, Payload) ->
    case encode(Payload) of
        {ok, Body} -> publish(Lane, Body, 1);
        Error -> Error
    end.

publish(Lane, Body, Retries) ->
    case nats_js:publish(?CONN, lane_subject(Lane), [], Body, ?REQUEST_MS) of
        {ok, #{seq := Seq}} ->
            {ok, Seq};
        {error, no_responders} when Retries > 0 ->
            %% No stream listens on the subject (a server with a new store).
            case ensure_stream() of
                ok -> publish(Lane, Body, Retries - 1);
                Error -> Error
            end;
        {error, _} = Error ->
            Error
    end.

%% @doc Takes up to `N' jobs of the lane without waiting for more; the
%% caller becomes their puller.
-spec pull(job_queue:lane(), non_neg_integer()) -> {ok, [job_queue:job()]} | {error, term()}.
pull(_Lane, 0) ->
    {ok, []};
pull(Lane, N) ->
    AckWait = job_queue:ack_wait(Lane),
    case ets:lookup(?TABLE, {consumer, Lane}) of
        [{_, AckWait}] ->
            fetch(Lane, N, 1);
        _ ->
            case ensure_consumer(Lane) of
                ok -> fetch(Lane, N, 1);
                Error -> Error
            end
    end.

fetch(Lane, N, Retries) ->
    case nats_js:fetch(?CONN, ?STREAM, consumer_name(Lane), N, #{}) of
        {ok, []} ->
            {ok, []};
        {ok, Messages} ->
            ok = job_queue:watch(),
            {ok, lists:filtermap(fun(M) -> take(Lane, M) end, Messages)};
        {error, Reason} when Retries > 0 ->
            %% The consumer may be gone (a server with a new store).
            ets:delete(?TABLE, {consumer, Lane}),
            case ensure_stream() == ok andalso ensure_consumer(Lane) of
                ok -> fetch(Lane, N, Retries - 1);
                _ -> {error, Reason}
            end;
        Error ->
            Error
    end.

%% A delivered message becomes a job in flight, or a dead letter when it
%% is out of deliveries or not a JSON object.
take(Lane, #{payload := Body, reply := Reply, stream_seq := Seq, delivered := Delivered} = M) ->
    case decode(Body) of
        {ok, Payload} when Delivered =< ?MAX_DELIVERIES ->
            true = ets:insert(?TABLE, {Seq, Lane, Reply, Delivered, self()}),
            {true, job(Seq, Lane, Payload, Delivered)};
        {ok, _} ->
            _ = bury(M, Lane, Delivered, out_of_deliveries),
            false;
        {error, Why} ->
            _ = bury(M, Lane, Delivered, Why),
            false
    end.

%% @doc Acks the job (and waits for the server to confirm it).
-spec ack(job_queue:job_id()) -> ok | {error, term()}.
ack(Id) ->
    case ets:take(?TABLE, Id) of
        [{Id, _Lane, Reply, _, _}] -> nats_js:ack(?CONN, Reply);
        [] -> ok
    end.

%% @doc The job failed: `-NAK' (delivered again) or, after its third
%% delivery, moved to the dead letters.
-spec nack(job_queue:job_id(), term()) -> ok | {error, term()}.
nack(Id, Reason) ->
    case ets:take(?TABLE, Id) of
        [{Id, Lane, Reply, Delivered, _}] when Delivered >= ?MAX_DELIVERIES ->
            bury(#{reply => Reply, stream_seq => Id}, Lane, Delivered, Reason);
        [{Id, _Lane, Reply, _, _}] ->
            nats_js:nak(?CONN, Reply);
        [] ->
            ok
    end.

%% @doc Gives pulled jobs back (`-NAK'); JetStream counts the delivery.
-spec release([job_queue:job_id()]) -> ok | {error, term()}.
release(Ids) ->
    lists:foldl(fun(Id, Acc) ->
                        case ets:take(?TABLE, Id) of
                            [{Id, _, Reply, _, _}] -> first_error(Acc, nats_js:nak(?CONN, Reply));
                            [] -> Acc
                        end
                end, ok, Ids).

%% @doc `+WPI': the job's ack wait starts afresh.
-spec in_progress(job_queue:job_id()) -> ok | {error, term()}.
in_progress(Id) ->
    case ets:lookup(?TABLE, Id) of
        [{Id, _, Reply, _, _}] -> nats_js:in_progress(?CONN, Reply);
        [] -> ok
    end.

%% @doc Nacks what a dead puller held; called by `job_queue'.
-spec puller_down(pid(), term()) -> ok.
puller_down(Puller, Reason) ->
    Held = ets:select(?TABLE, [{{'$1', '_', '_', '_', Puller}, [], ['$1']}]),
    lists:foreach(fun(Id) -> _ = nack(Id, {puller_down, Reason}) end, lists:sort(Held)).

%% @doc Nacks every job this node holds; called by `job_queue' as the
%% application stops, after the workers.
-spec release_all(term()) -> ok.
release_all(Reason) ->
    Held = ets:select(?TABLE, [{{'$1', '_', '_', '_', '_'}, [], ['$1']}]),
    lists:foreach(fun(Id) -> _ = nack(Id, Reason) end, lists:sort(Held)).

%% @doc The lanes this node has consumers for: the declared ones, and
%% any other it has pulled from.
-spec lanes() -> [job_queue:lane()].
lanes() ->
    lists:usort(job_worker:lanes() ++ [Lane || [Lane] <- ets:match(?TABLE, {{consumer, '$1'}, '_'})]).

%% @doc The processes holding jobs this node pulled.
-spec pullers() -> [pid()].
pullers() ->
    lists:usort(ets:select(?TABLE, [{{'_', '_', '_', '_', '$1'}, [], ['$1']}])).

%% Copies the message to its lane's dead subject, then acks the original.
bury(#{reply := Reply, stream_seq := Seq} = M, {P, D} = Lane, Delivered, Reason) ->
    Headers = [{<<"Nats-Msg-Id">>, <<"dead-", (integer_to_binary(Seq))/binary>>},
               {<<"Jobs-Sequence">>, integer_to_binary(Seq)},
               {<<"Jobs-Deliveries">>, integer_to_binary(min(Delivered, ?MAX_DELIVERIES))},
               {<<"Jobs-Priority">>, atom_to_binary(P, utf8)},
               {<<"Jobs-Domain">>, atom_to_binary(D, utf8)},
               {<<"Jobs-Reason">>, reason_text(Reason)}],
    Body = case M of
               #{payload := Payload} -> Payload;
               #{} -> original(Seq)
           end,
    case Body of
        {error, _} = Error ->
            Error;
        _ ->
            case nats_js:publish(?CONN, dead_subject(Lane), Headers, Body, ?REQUEST_MS) of
                {ok, _} -> nats_js:ack(?CONN, Reply);
                Error -> Error
            end
    end.

%% The stored bytes of a job, for a nack that no longer has them.
original(Seq) ->
    case nats_js:get_msg(?CONN, ?STREAM, #{seq => Seq}) of
        {ok, #{payload := Payload}} -> Payload;
        Error -> Error
    end.

%%%===================================================================
%%% Counts and dead letters
%%%===================================================================

%% @doc Counts from the stream, as the Rust crate reads them: dead = the
%% messages on the dead subjects, in flight = the consumers' unacked
%% deliveries (a nacked job counts until it is delivered again), pending
%% = the other stored jobs, acked = every sequence assigned less what is
%% stored and the dead-letter copies.
-spec stats() -> job_queue:stats() | {error, term()}.
stats() ->
    DeadFilter = <<?PREFIX/binary, ".dead.>">>,
    case nats_js:stream_info(?CONN, ?STREAM, DeadFilter) of
        {ok, #{<<"state">> := State}} ->
            Messages = maps:get(<<"messages">>, State, 0),
            LastSeq = maps:get(<<"last_seq">>, State, 0),
            Dead = lists:sum(maps:values(maps:get(<<"subjects">>, State, #{}))),
            case in_flight() of
                {ok, InFlight} ->
                    #{pending => max(0, Messages - Dead - InFlight), in_flight => InFlight,
                      acked => max(0, LastSeq - Messages - Dead), dead => Dead};
                Error ->
                    Error
            end;
        {ok, _} ->
            {error, no_stream_state};
        Error ->
            Error
    end.

in_flight() ->
    lists:foldl(fun(_, {error, _} = Error) -> Error;
                   (Lane, {ok, Sum}) ->
                        case nats_js:consumer_info(?CONN, ?STREAM, consumer_name(Lane)) of
                            {ok, #{<<"num_ack_pending">> := N}} -> {ok, Sum + N};
                            {error, {jetstream, 404, _, _}} -> {ok, Sum};
                            {error, _} = Error -> Error
                        end
                end, {ok, 0}, lanes()).

%% @doc The dead letters, most recent first.
-spec dead_letters() -> [job_queue:dead_letter()] | {error, term()}.
dead_letters() ->
    dead_letters(1, []).

dead_letters(From, Acc) ->
    case nats_js:get_msg(?CONN, ?STREAM, #{seq => From,
                                           next_by_subj => <<?PREFIX/binary, ".dead.>">>}) of
        {ok, #{seq := Seq, headers := Headers, payload := Body}} ->
            Get = fun(Name) -> proplists:get_value(Name, Headers, <<>>) end,
            Payload = case decode(Body) of
                          {ok, Map} -> Map;
                          {error, _} -> #{<<"raw">> => Body}
                      end,
            Job = #{id => binary_to_integer(Get(<<"Jobs-Sequence">>)),
                    priority => to_atom(Get(<<"Jobs-Priority">>)),
                    domain => to_atom(Get(<<"Jobs-Domain">>)),
                    payload => Payload,
                    deliveries => binary_to_integer(Get(<<"Jobs-Deliveries">>)),
                    reason => Get(<<"Jobs-Reason">>)},
            dead_letters(Seq + 1, [Job | Acc]);
        {error, not_found} ->
            Acc;
        {error, _} = Error ->
            Error
    end.

%%%===================================================================
%%% Internal functions
%%%===================================================================

job(Seq, {P, D}, Payload, Delivered) ->
    #{id => Seq, priority => P, domain => D, payload => Payload, deliveries => Delivered}.

encode(Payload) ->
    try
        {ok, jiffy:encode(Payload)}
    catch
        error:Why -> {error, {bad_payload, Why}}
    end.

decode(Body) ->
    try jiffy:decode(Body, [return_maps]) of
        Map when is_map(Map) -> {ok, Map};
        _ -> {error, not_a_json_object}
    catch
        error:_ -> {error, not_json}
    end.

%% A lane name read back from a header: the atom if this node knows it,
%% else the text (no atom is made from what the stream holds).
to_atom(Bin) ->
    try binary_to_existing_atom(Bin, utf8)
    catch error:badarg -> Bin
    end.

reason_text(Reason) ->
    Text = iolist_to_binary(io_lib:format("~0tp", [Reason])),
    binary:replace(binary:part(Text, 0, min(byte_size(Text), 512)),
                   [<<"\r">>, <<"\n">>], <<" ">>, [global]).

first_error(ok, Result) -> Result;
first_error(Error, _) -> Error.
