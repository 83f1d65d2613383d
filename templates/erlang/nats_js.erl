%%% @doc JetStream over the JSON API (`$JS.API.*'), as stateless functions
%%% on a nats_conn connection.
%%%
%%% Owns: stream and durable pull-consumer provisioning (idempotent
%%% "ensure"), publishing with PubAck, batch fetch from pull consumers,
%%% acknowledgements, and the info / message-get / delete calls.
%%%
%%% == Errors ==
%%% An error object in an API reply becomes
%%% `{error, {jetstream, Code, ErrCode, Description}}', e.g.
%%% `{jetstream, 404, 10059, <<"stream not found">>}'. A request nobody
%%% answers gives `{error, no_responders}': for publish/5 no stream
%%% captures the subject, for fetch/5 the consumer (or stream) does not
%%% exist, for the API calls JetStream is not enabled. Transport errors of
%%% nats_conn:request/5 (`timeout', `not_connected', `disconnected') pass
%%% through unchanged.
%%%
%%% == Units ==
%%% `ack_wait' in ensure_consumer/3 and every `*_ms' option here are
%%% milliseconds (converted to the nanoseconds of the wire format). Other
%%% configuration fields are passed through in wire units.
%%%
%%% == Facts verified against nats-server 2.15.1 ==
%%% <ul>
%%% <li>Pull with `no_wait': the server immediately sends the messages
%%%   available (up to `batch'); if that is fewer than `batch' (including
%%%   none) it ends the batch at once with a `404 No Messages' status
%%%   message. With exactly `batch' available no status follows, so fetch/5
%%%   stops on the count. So a no_wait fetch never waits for the client
%%%   timeout.</li>
%%% <li>Pull with `expires' and nothing available: after `expires' the
%%%   server sends `408 Request Timeout' (with `Nats-Pending-Messages' /
%%%   `Nats-Pending-Bytes' headers).</li>
%%% <li>MSG.NEXT for a consumer that does not exist: 503 no responders (the
%%%   subject is served by the consumer itself).</li>
%%% <li>Consumer create: `$JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>'
%%%   (the filter may contain wildcards) with no `action' field is
%%%   create-or-update: the same config again succeeds, a changed
%%%   `ack_wait' updates the consumer in place. (`action: "create"' would
%%%   fail with 10148 "consumer already exists".)</li>
%%% <li>Stream create with an identical config succeeds; with a different
%%%   one it fails with 10058 "stream name already in use with a different
%%%   configuration", hence the info + update path.</li>
%%% <li>Error codes seen: 10058 (stream exists, differs), 10059 (stream not
%%%   found), 10014 (consumer not found), 10037 (no message found),
%%%   10100 (overlapping filtered consumer on a workqueue stream).</li>
%%% </ul>
%%%
%%% Not supported: JetStream domains / custom API prefixes, ordered or push
%%% consumers, flow control.
-module(nats_js).

-export([ensure_stream/2,
         ensure_consumer/3,
         publish/5,
         fetch/5,
         ack/2, ack/3,
         nak/2, nak/3,
         term/2,
         in_progress/2,
         stream_info/2, stream_info/3,
         consumer_info/3,
         delete_stream/2,
         delete_consumer/3,
         get_msg/3,
         parse_ack_subject/1]).

-export_type([js_msg/0, js_error/0, pub_ack/0, fetch_opts/0, ack_meta/0]).

-type conn() :: nats_conn:conn().
-type js_error() :: {jetstream, Code :: integer(), ErrCode :: integer(), Description :: binary()}.
-type pub_ack() :: #{stream := binary(), seq := pos_integer(), duplicate := boolean()}.
-type ack_meta() :: #{stream := binary(), consumer := binary(), domain := binary() | undefined,
                      delivered := pos_integer(), stream_seq := pos_integer(),
                      consumer_seq := pos_integer(), timestamp := non_neg_integer(),
                      pending := non_neg_integer()}.
%% A nats_conn:msg() plus the metadata parsed from the `$JS.ACK' reply
%% subject (`undefined' values if the reply subject is not one).
-type js_msg() :: #{subject := binary(),
                    reply := binary() | undefined,
                    headers := nats_conn:headers(),
                    status := integer() | undefined,
                    description := binary(),
                    payload := binary(),
                    stream := binary() | undefined,
                    consumer := binary() | undefined,
                    domain := binary() | undefined,
                    delivered := pos_integer() | undefined,
                    stream_seq := pos_integer() | undefined,
                    consumer_seq := pos_integer() | undefined,
                    timestamp := non_neg_integer() | undefined,
                    pending := non_neg_integer() | undefined}.
-type fetch_opts() :: #{expires_ms => pos_integer(), timeout_ms => pos_integer()}.
-type ackable() :: js_msg() | nats_conn:msg() | binary().

-define(API, "$JS.API.").
-define(TIMEOUT, 5000).
%% Client-side margin over `expires' for a long-poll fetch.
-define(FETCH_MARGIN_MS, 5000).
-define(NS_PER_MS, 1000000).

%%====================================================================
%% Streams and consumers
%%====================================================================

%% @doc Create the stream, or make sure the existing one has the fields
%% given in Config (updating it if not). Config keys may be atoms or
%% binaries, e.g. `#{name => <<"ORDERS">>, subjects => [<<"orders.>">>],
%% retention => workqueue, storage => file}'. Returns the stream info.
-spec ensure_stream(conn(), map()) -> {ok, map()} | {error, js_error() | term()}.
ensure_stream(Conn, Config) ->
    Cfg = binary_keys(Config),
    Name = maps:get(<<"name">>, Cfg, undefined),
    case valid_name(Name) of
        false ->
            {error, invalid_stream_name};
        true ->
            case api(Conn, [<<"STREAM.CREATE.">>, Name], Cfg) of
                {error, {jetstream, _, 10058, _}} -> reconcile_stream(Conn, Name, Cfg);
                Other -> Other
            end
    end.

reconcile_stream(Conn, Name, Cfg) ->
    case stream_info(Conn, Name) of
        {ok, #{<<"config">> := Current} = Info} ->
            case differs(Cfg, Current) of
                false -> {ok, Info};
                true -> api(Conn, [<<"STREAM.UPDATE.">>, Name], maps:merge(Current, Cfg))
            end;
        {ok, _} ->
            {error, {bad_response, no_config}};
        {error, _} = Err ->
            Err
    end.

%% @doc Create or update a durable pull consumer. Config: `durable_name'
%% (required), `filter_subject', `ack_wait' (ms), `max_deliver', and any
%% other consumer field in wire units; `ack_policy' defaults to explicit.
%% The server treats this as create-or-update, so calling it again with the
%% same config is a no-op and a changed ack_wait updates the consumer.
-spec ensure_consumer(conn(), binary(), map()) -> {ok, map()} | {error, js_error() | term()}.
ensure_consumer(Conn, Stream, Config) ->
    Cfg0 = binary_keys(Config),
    Cfg1 = maps:merge(#{<<"ack_policy">> => explicit}, Cfg0),
    Cfg = case Cfg1 of
              #{<<"ack_wait">> := Ms} when is_integer(Ms) -> Cfg1#{<<"ack_wait">> := Ms * ?NS_PER_MS};
              _ -> Cfg1
          end,
    Durable = maps:get(<<"durable_name">>, Cfg, undefined),
    case valid_name(Stream) andalso valid_name(Durable) of
        false ->
            {error, invalid_name};
        true ->
            Subject = case maps:get(<<"filter_subject">>, Cfg, undefined) of
                          undefined -> [<<"CONSUMER.CREATE.">>, Stream, $., Durable];
                          Filter -> [<<"CONSUMER.CREATE.">>, Stream, $., Durable, $., Filter]
                      end,
            api(Conn, Subject, #{<<"stream_name">> => Stream, <<"config">> => Cfg})
    end.

-spec stream_info(conn(), binary()) -> {ok, map()} | {error, js_error() | term()}.
stream_info(Conn, Stream) ->
    case valid_name(Stream) of
        true -> api(Conn, [<<"STREAM.INFO.">>, Stream], undefined);
        false -> {error, invalid_stream_name}
    end.

%% @doc Stream info with per-subject message counts in
%% `state.subjects' for the subjects matching Filter (e.g. `<<">">>').
%% Follows the server's paging (`total'/`offset') and merges the pages.
-spec stream_info(conn(), binary(), binary()) -> {ok, map()} | {error, js_error() | term()}.
stream_info(Conn, Stream, Filter) ->
    case valid_name(Stream) of
        true -> stream_info_pages(Conn, Stream, Filter, #{});
        false -> {error, invalid_stream_name}
    end.

stream_info_pages(Conn, Stream, Filter, Acc) ->
    Offset = maps:size(Acc),
    Req = #{<<"subjects_filter">> => Filter, <<"offset">> => Offset},
    case api(Conn, [<<"STREAM.INFO.">>, Stream], Req) of
        {ok, Info} ->
            State = maps:get(<<"state">>, Info, #{}),
            Page = maps:get(<<"subjects">>, State, #{}),
            Acc1 = maps:merge(Acc, Page),
            Total = maps:get(<<"total">>, Info, 0),
            case maps:size(Page) > 0 andalso Total > maps:size(Acc1) of
                true -> stream_info_pages(Conn, Stream, Filter, Acc1);
                false -> {ok, Info#{<<"state">> => State#{<<"subjects">> => Acc1}}}
            end;
        {error, _} = Err ->
            Err
    end.

-spec consumer_info(conn(), binary(), binary()) -> {ok, map()} | {error, js_error() | term()}.
consumer_info(Conn, Stream, Consumer) ->
    case valid_name(Stream) andalso valid_name(Consumer) of
        true -> api(Conn, [<<"CONSUMER.INFO.">>, Stream, $., Consumer], undefined);
        false -> {error, invalid_name}
    end.

-spec delete_stream(conn(), binary()) -> ok | {error, js_error() | term()}.
delete_stream(Conn, Stream) ->
    case valid_name(Stream) of
        true -> success(api(Conn, [<<"STREAM.DELETE.">>, Stream], undefined));
        false -> {error, invalid_stream_name}
    end.

-spec delete_consumer(conn(), binary(), binary()) -> ok | {error, js_error() | term()}.
delete_consumer(Conn, Stream, Consumer) ->
    case valid_name(Stream) andalso valid_name(Consumer) of
        true -> success(api(Conn, [<<"CONSUMER.DELETE.">>, Stream, $., Consumer], undefined));
        false -> {error, invalid_name}
    end.

success({ok, #{<<"success">> := true}}) -> ok;
success({ok, Other}) -> {error, {bad_response, Other}};
success({error, _} = Err) -> Err.

%% @doc Get one stored message: Query is `#{seq => N}',
%% `#{seq => N, next_by_subj => Subject}' (first message at or after N on
%% Subject; seq defaults to 1 for next_by_subj) or
%% `#{last_by_subj => Subject}'.
-spec get_msg(conn(), binary(), map()) ->
          {ok, #{seq := pos_integer(), subject := binary(),
                 headers := nats_conn:headers(), payload := binary(),
                 time := binary()}}
          | {error, not_found | js_error() | term()}.
get_msg(Conn, Stream, Query) ->
    Req0 = binary_keys(Query),
    Req = case Req0 of
              #{<<"next_by_subj">> := _, <<"seq">> := _} -> Req0;
              #{<<"next_by_subj">> := _} -> Req0#{<<"seq">> => 1};
              _ -> Req0
          end,
    case valid_name(Stream) andalso api(Conn, [<<"STREAM.MSG.GET.">>, Stream], Req) of
        false -> {error, invalid_stream_name};
        {ok, #{<<"message">> := M}} -> stored_msg(M);
        {ok, Other} -> {error, {bad_response, Other}};
        {error, {jetstream, _, 10037, _}} -> {error, not_found};
        {error, _} = Err -> Err
    end.

stored_msg(#{<<"subject">> := Subject, <<"seq">> := Seq} = M) ->
    try
        Payload = base64:decode(maps:get(<<"data">>, M, <<>>)),
        Headers = case maps:get(<<"hdrs">>, M, <<>>) of
                      <<>> -> [];
                      Hdrs ->
                          {ok, _, _, H} = nats_proto:parse_headers(base64:decode(Hdrs)),
                          H
                  end,
        {ok, #{seq => Seq, subject => Subject, headers => Headers, payload => Payload,
               time => maps:get(<<"time">>, M, <<>>)}}
    catch
        error:_ -> {error, {bad_response, bad_stored_message}}
    end;
stored_msg(_) ->
    {error, {bad_response, bad_stored_message}}.

%%====================================================================
%% Publish
%%====================================================================

%% @doc Publish to a stream subject and wait for the PubAck. Headers may
%% include `Nats-Msg-Id' for de-duplication (then `duplicate' can be true).
-spec publish(conn(), iodata(), nats_conn:headers(), iodata(), non_neg_integer()) ->
          {ok, pub_ack()} | {error, no_responders | js_error() | term()}.
publish(Conn, Subject, Headers, Payload, TimeoutMs) ->
    case nats_conn:request(Conn, Subject, Headers, Payload, TimeoutMs) of
        {ok, #{payload := Body}} ->
            case decode(Body) of
                {ok, #{<<"stream">> := Stream, <<"seq">> := Seq} = Ack} ->
                    {ok, #{stream => Stream, seq => Seq,
                           duplicate => maps:get(<<"duplicate">>, Ack, false) =:= true}};
                {ok, Other} -> {error, {bad_response, Other}};
                {error, _} = Err -> Err
            end;
        {error, _} = Err ->
            Err
    end.

%%====================================================================
%% Fetch
%%====================================================================

%% @doc Fetch up to Batch messages from a durable pull consumer.
%% Default: `no_wait' (returns what is available now; an empty list if
%% nothing). With `expires_ms => T' it long-polls up to T ms for the
%% batch. `timeout_ms' is the client-side bound (default 5000 ms, or
%% expires_ms + 5000 ms). Messages gathered before a timeout, a
%% disconnect or a terminal status are returned; an error is returned only
%% if nothing was gathered.
-spec fetch(conn(), binary(), binary(), pos_integer(), fetch_opts()) ->
          {ok, [js_msg()]} | {error, no_responders | timeout | disconnected | term()}.
fetch(Conn, Stream, Consumer, Batch, Opts) when is_integer(Batch), Batch > 0 ->
    {Req, Timeout} =
        case maps:get(expires_ms, Opts, undefined) of
            undefined ->
                {#{batch => Batch, no_wait => true}, maps:get(timeout_ms, Opts, ?TIMEOUT)};
            Expires ->
                {#{batch => Batch, expires => Expires * ?NS_PER_MS},
                 maps:get(timeout_ms, Opts, Expires + ?FETCH_MARGIN_MS)}
        end,
    case valid_name(Stream) andalso valid_name(Consumer) of
        false ->
            {error, invalid_name};
        true ->
            case nats_conn:open_inbox(Conn) of
                {ok, Inbox, Ref} ->
                    Subject = [?API, <<"CONSUMER.MSG.NEXT.">>, Stream, $., Consumer],
                    Result = case nats_conn:publish(Conn, Subject, [], jiffy:encode(Req),
                                                    #{reply => Inbox}) of
                                 ok -> collect(Ref, Batch, now_ms() + Timeout, []);
                                 {error, _} = Err -> Err
                             end,
                    _ = nats_conn:close_inbox(Conn, Ref),
                    Result;
                {error, _} = Err ->
                    Err
            end
    end.

collect(_Ref, 0, _Deadline, Acc) ->
    {ok, lists:reverse(Acc)};
collect(Ref, Left, Deadline, Acc) ->
    receive
        {nats_inbox, Ref, #{status := undefined} = Msg} ->
            collect(Ref, Left - 1, Deadline, [js_msg(Msg) | Acc]);
        {nats_inbox, Ref, #{status := 100}} ->
            collect(Ref, Left, Deadline, Acc);          % idle heartbeat
        {nats_inbox, Ref, #{status := Status}} when Status =:= 404; Status =:= 408 ->
            {ok, lists:reverse(Acc)};                   % no (more) messages
        {nats_inbox, Ref, #{status := 503}} ->
            done(Acc, no_responders);
        {nats_inbox, Ref, #{status := Status, description := Desc}} ->
            done(Acc, {status, Status, Desc});          % 409 ... and others
        {nats_inbox_disconnected, Ref} ->
            done(Acc, disconnected)
    after max(0, Deadline - now_ms()) ->
        done(Acc, timeout)
    end.

done([], Reason) -> {error, Reason};
done(Acc, _) -> {ok, lists:reverse(Acc)}.

js_msg(#{reply := Reply} = Msg) ->
    Meta = case parse_ack_subject(Reply) of
               {ok, M} -> M;
               error -> maps:from_list([{K, undefined} || K <- meta_keys()])
           end,
    maps:merge(Msg, Meta).

meta_keys() ->
    [stream, consumer, domain, delivered, stream_seq, consumer_seq, timestamp, pending].

%% @doc Parse `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>'
%% and the newer form `$JS.ACK.<domain>.<account hash>.<stream>.<consumer>.
%% <delivered>.<sseq>.<cseq>.<ts>.<pending>.<token>' (domain `_' = none).
-spec parse_ack_subject(binary() | undefined) -> {ok, ack_meta()} | error.
parse_ack_subject(Reply) when is_binary(Reply) ->
    case binary:split(Reply, <<".">>, [global]) of
        [<<"$JS">>, <<"ACK">>, Stream, Consumer | Nums] when length(Nums) =:= 5 ->
            ack_meta(undefined, Stream, Consumer, Nums);
        [<<"$JS">>, <<"ACK">>, Domain, _AccHash, Stream, Consumer | Rest] when length(Rest) >= 6 ->
            {Nums, _} = lists:split(5, Rest),
            ack_meta(case Domain of <<"_">> -> undefined; _ -> Domain end, Stream, Consumer, Nums);
        _ ->
            error
    end;
parse_ack_subject(_) ->
    error.

ack_meta(Domain, Stream, Consumer, Nums) ->
    try [binary_to_integer(N) || N <- Nums] of
        [Delivered, SSeq, CSeq, Ts, Pending] ->
            {ok, #{stream => Stream, consumer => Consumer, domain => Domain,
                   delivered => Delivered, stream_seq => SSeq, consumer_seq => CSeq,
                   timestamp => Ts, pending => Pending}}
    catch
        error:badarg -> error
    end.

%%====================================================================
%% Acknowledgements
%%====================================================================

%% @doc Acknowledge and wait for the server's confirmation ("double
%% ack"): once this returns ok the ack has been processed.
-spec ack(conn(), ackable()) -> ok | {error, term()}.
ack(Conn, Msg) ->
    ack(Conn, Msg, ?TIMEOUT).

-spec ack(conn(), ackable(), non_neg_integer()) -> ok | {error, term()}.
ack(Conn, Msg, TimeoutMs) ->
    with_reply(Msg, fun(Reply) ->
                            case nats_conn:request(Conn, Reply, <<"+ACK">>, TimeoutMs) of
                                {ok, _} -> ok;
                                {error, _} = Err -> Err
                            end
                    end).

%% @doc Negative ack: redeliver as soon as possible. Like ack/2, it
%% waits for the server's confirmation: the server handles acks apart
%% from pull requests, so a fetch sent right after an unconfirmed nak may
%% not see the message yet (seen with nats-server 2.15).
-spec nak(conn(), ackable()) -> ok | {error, term()}.
nak(Conn, Msg) ->
    with_reply(Msg, fun(Reply) ->
                            case nats_conn:request(Conn, Reply, <<"-NAK">>, ?TIMEOUT) of
                                {ok, _} -> ok;
                                {error, _} = Err -> Err
                            end
                    end).

%% @doc Negative ack: redeliver after DelayMs.
-spec nak(conn(), ackable(), non_neg_integer()) -> ok | {error, term()}.
nak(Conn, Msg, DelayMs) ->
    signal(Conn, Msg, [<<"-NAK ">>, jiffy:encode(#{delay => DelayMs * ?NS_PER_MS})]).

%% @doc Stop redelivery of this message for good.
-spec term(conn(), ackable()) -> ok | {error, term()}.
term(Conn, Msg) ->
    signal(Conn, Msg, <<"+TERM">>).

%% @doc Still working on it: restarts the ack_wait timer.
-spec in_progress(conn(), ackable()) -> ok | {error, term()}.
in_progress(Conn, Msg) ->
    signal(Conn, Msg, <<"+WPI">>).

signal(Conn, Msg, Body) ->
    with_reply(Msg, fun(Reply) -> nats_conn:publish(Conn, Reply, Body) end).

with_reply(Reply, Fun) when is_binary(Reply) -> Fun(Reply);
with_reply(#{reply := Reply}, Fun) when is_binary(Reply) -> Fun(Reply);
with_reply(_, _) -> {error, no_reply_subject}.

%%====================================================================
%% JSON API plumbing
%%====================================================================

api(Conn, Subject, Body) ->
    Payload = case Body of
                  undefined -> <<>>;
                  _ -> jiffy:encode(Body)
              end,
    case nats_conn:request(Conn, [?API, Subject], Payload, ?TIMEOUT) of
        {ok, #{payload := Reply}} -> decode(Reply);
        {error, _} = Err -> Err
    end.

decode(Bin) ->
    try jiffy:decode(Bin, [return_maps]) of
        #{<<"error">> := E} when is_map(E) ->
            {error, {jetstream, maps:get(<<"code">>, E, 0), maps:get(<<"err_code">>, E, 0),
                     maps:get(<<"description">>, E, <<>>)}};
        M when is_map(M) ->
            {ok, M};
        _ ->
            {error, {bad_response, truncate(Bin)}}
    catch
        _:_ -> {error, {bad_response, truncate(Bin)}}
    end.

truncate(<<B:200/binary, _/binary>>) -> B;
truncate(B) -> B.

%% Does the existing config differ from ours in any field we set?
differs(Ours, Current) ->
    lists:any(fun({K, V}) -> norm(V) =/= norm(maps:get(K, Current, undefined)) end,
              maps:to_list(Ours)).

norm(V) when is_boolean(V); V =:= null; V =:= undefined -> V;
norm(V) when is_atom(V) -> atom_to_binary(V);
norm(V) when is_list(V) -> lists:sort([norm(E) || E <- V]);
norm(V) when is_map(V) -> maps:from_list([{norm(K), norm(E)} || {K, E} <- maps:to_list(V)]);
norm(V) -> V.

binary_keys(Map) when is_map(Map) ->
    maps:from_list([{key(K), V} || {K, V} <- maps:to_list(Map)]).

key(K) when is_atom(K) -> atom_to_binary(K);
key(K) when is_binary(K) -> K;
key(K) -> iolist_to_binary(K).

%% Stream and consumer names become subject tokens.
valid_name(Name) when is_binary(Name), Name =/= <<>> ->
    nomatch =:= binary:match(Name, [<<".">>, <<"*">>, <<">">>, <<" ">>, <<"\t">>,
                                    <<"\r">>, <<"\n">>]);
valid_name(_) ->
    false.

now_ms() ->
    erlang:monotonic_time(millisecond).
