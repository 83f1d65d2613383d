%%% @doc NATS client protocol codec.
%%%
%%% Owns the wire format: an incremental parser for what a server sends
%%% (INFO, MSG, HMSG, PING, PONG, +OK, -ERR) and the encoders for what a
%%% client sends (CONNECT, PUB, HPUB, SUB, UNSUB, PING, PONG), plus the
%%% `NATS/1.0' header block codec and subject/header validation.
%%%
%%% The parser is a value (no process): feed it bytes with parse/2 and get
%%% back complete events. It never holds more than one control line
%%% (bounded by `max_control_line') plus one message body (bounded by the
%%% server's max_payload plus ?HDR_SLACK); anything else is a protocol
%%% error, after which the caller must drop the connection.
-module(nats_proto).

-export([new_parser/1,
         set_max_payload/2,
         parse/2,
         connect/1,
         pub/4,
         hpub/5,
         sub/3,
         unsub/1,
         ping/0,
         pong/0,
         encode_headers/1,
         parse_headers/1,
         valid_subject/1,
         valid_headers/1]).

-export_type([parser/0, event/0, headers/0]).

-type headers() :: [{binary(), binary()}].
-type event() :: {info, map()}
               | {msg, Subject :: binary(), Sid :: pos_integer(),
                  Reply :: binary() | undefined,
                  HeaderBlock :: binary() | undefined, Payload :: binary()}
               | ping | pong | ok
               | {err, binary()}.

%% Control lines longer than this are garbage (INFO with a long
%% connect_urls list is the largest legitimate one).
-define(MAX_CONTROL_LINE, 65536).
%% Received messages may exceed max_payload by the headers the server
%% itself adds (JetStream metadata, status lines).
-define(HDR_SLACK, 8192).
-define(CRLF, "\r\n").

-record(parser, {buf = <<>> :: binary(),
                 %% set while waiting for the body of a MSG/HMSG
                 pending :: undefined | {pending_msg(), non_neg_integer()},
                 max_payload :: pos_integer()}).

-type pending_msg() :: {binary(), pos_integer(), binary() | undefined,
                        non_neg_integer() | undefined}.
-opaque parser() :: #parser{}.

%%====================================================================
%% Parser
%%====================================================================

-spec new_parser(pos_integer()) -> parser().
new_parser(MaxPayload) ->
    #parser{max_payload = MaxPayload}.

%% @doc Update the receive limit after an INFO.
-spec set_max_payload(parser(), pos_integer()) -> parser().
set_max_payload(P, MaxPayload) ->
    P#parser{max_payload = MaxPayload}.

%% @doc Feed bytes; returns the complete events in order and the parser
%% holding any incomplete rest.
-spec parse(binary(), parser()) -> {ok, [event()], parser()} | {error, term()}.
parse(Data, #parser{buf = Buf} = P) ->
    loop(<<Buf/binary, Data/binary>>, P, []).

loop(Buf, #parser{pending = {Msg, Size}} = P, Acc) ->
    case Buf of
        <<Body:Size/binary, ?CRLF, Rest/binary>> ->
            loop(Rest, P#parser{pending = undefined}, [msg_event(Msg, Body) | Acc]);
        <<_:Size/binary, _, _, _/binary>> ->
            {error, missing_crlf_after_payload};
        _ ->
            {ok, lists:reverse(Acc), P#parser{buf = Buf}}
    end;
loop(Buf, P, Acc) ->
    case binary:match(Buf, <<?CRLF>>) of
        nomatch when byte_size(Buf) > ?MAX_CONTROL_LINE ->
            {error, control_line_too_long};
        nomatch ->
            {ok, lists:reverse(Acc), P#parser{buf = Buf}};
        {Pos, 2} when Pos > ?MAX_CONTROL_LINE ->
            {error, control_line_too_long};
        {Pos, 2} ->
            <<Line:Pos/binary, ?CRLF, Rest/binary>> = Buf,
            case control(Line, P) of
                {event, Ev} -> loop(Rest, P, [Ev | Acc]);
                {body, Msg, Size} -> loop(Rest, P#parser{pending = {Msg, Size}}, Acc);
                skip -> loop(Rest, P, Acc);
                {error, _} = Err -> Err
            end
    end.

control(Line, P) ->
    {Op, Args} = split_op(Line),
    case ascii_upper(Op) of
        <<"MSG">> -> msg_line(tokens(Args), P);
        <<"HMSG">> -> hmsg_line(tokens(Args), P);
        <<"PING">> -> {event, ping};
        <<"PONG">> -> {event, pong};
        <<"+OK">> -> {event, ok};
        <<"-ERR">> -> {event, {err, unquote(trim(Args))}};
        <<"INFO">> -> info_line(Args);
        <<>> when Args =:= <<>> -> skip;           % tolerate a bare CRLF
        _ -> {error, {unknown_operation, binary:part(Op, 0, min(32, byte_size(Op)))}}
    end.

split_op(Line) ->
    case binary:match(Line, [<<" ">>, <<"\t">>]) of
        nomatch -> {Line, <<>>};
        {Pos, 1} -> {binary:part(Line, 0, Pos),
                     binary:part(Line, Pos + 1, byte_size(Line) - Pos - 1)}
    end.

tokens(Args) ->
    binary:split(Args, [<<" ">>, <<"\t">>], [global, trim_all]).

msg_line([Subj, Sid, Size], P) -> body(Subj, Sid, undefined, undefined, Size, P);
msg_line([Subj, Sid, Reply, Size], P) -> body(Subj, Sid, Reply, undefined, Size, P);
msg_line(_, _) -> {error, bad_msg_line}.

hmsg_line([Subj, Sid, HSize, Size], P) -> body(Subj, Sid, undefined, HSize, Size, P);
hmsg_line([Subj, Sid, Reply, HSize, Size], P) -> body(Subj, Sid, Reply, HSize, Size, P);
hmsg_line(_, _) -> {error, bad_hmsg_line}.

body(Subj, SidBin, Reply, HSizeBin, SizeBin, #parser{max_payload = Max}) ->
    Sid = to_int(SidBin),
    Size = to_int(SizeBin),
    HSize = case HSizeBin of
                undefined -> undefined;
                _ -> to_int(HSizeBin)
            end,
    if
        not is_integer(Sid); Sid < 1; not is_integer(Size) ->
            {error, bad_msg_line};
        HSizeBin =/= undefined, not is_integer(HSize) ->
            {error, bad_msg_line};
        is_integer(HSize), HSize > Size ->
            {error, bad_msg_line};
        Size > Max + ?HDR_SLACK ->
            {error, {max_payload_exceeded, Size}};
        true ->
            {body, {Subj, Sid, Reply, HSize}, Size}
    end.

to_int(Bin) ->
    try binary_to_integer(Bin) of
        N when N >= 0 -> N;
        _ -> bad
    catch
        error:badarg -> bad
    end.

msg_event({Subj, Sid, Reply, undefined}, Body) ->
    {msg, Subj, Sid, Reply, undefined, Body};
msg_event({Subj, Sid, Reply, HSize}, Body) ->
    %% HSize =< Size was checked on the control line
    <<Hdr:HSize/binary, Payload/binary>> = Body,
    {msg, Subj, Sid, Reply, Hdr, Payload}.

info_line(Json) ->
    try jiffy:decode(Json, [return_maps]) of
        Info when is_map(Info) -> {event, {info, Info}};
        _ -> {error, bad_info}
    catch
        _:_ -> {error, bad_info}
    end.

unquote(<<$', Rest/binary>>) when byte_size(Rest) > 0 ->
    case binary:last(Rest) of
        $' -> binary:part(Rest, 0, byte_size(Rest) - 1);
        _ -> Rest
    end;
unquote(Bin) ->
    Bin.

%% Byte-wise ASCII helpers: the input may be arbitrary bytes (garbage from
%% a broken peer), which the unicode-aware string module can reject.
ascii_upper(Bin) ->
    << <<(if C >= $a, C =< $z -> C - 32; true -> C end)>> || <<C>> <= Bin >>.

trim(Bin) ->
    trim_trailing(trim_leading(Bin)).

trim_leading(<<C, Rest/binary>>) when C =:= $\s; C =:= $\t -> trim_leading(Rest);
trim_leading(Bin) -> Bin.

trim_trailing(<<>>) ->
    <<>>;
trim_trailing(Bin) ->
    case binary:last(Bin) of
        C when C =:= $\s; C =:= $\t -> trim_trailing(binary:part(Bin, 0, byte_size(Bin) - 1));
        _ -> Bin
    end.

%%====================================================================
%% Header blocks
%%====================================================================

%% @doc Parse a `NATS/1.0[ Code[ Description]]' header block.
-spec parse_headers(binary()) ->
          {ok, integer() | undefined, binary(), headers()} | {error, bad_headers}.
parse_headers(Block) ->
    case binary:split(Block, <<?CRLF>>, [global]) of
        [<<"NATS/1.0", StatusLine/binary>> | Lines] ->
            try
                {Status, Desc} = status_line(trim(StatusLine)),
                {ok, Status, Desc, header_lines(Lines)}
            catch
                throw:bad_headers -> {error, bad_headers}
            end;
        _ ->
            {error, bad_headers}
    end.

status_line(<<>>) ->
    {undefined, <<>>};
status_line(<<Code:3/binary, Rest/binary>>) ->
    case to_int(Code) of
        bad -> throw(bad_headers);
        N -> {N, trim(Rest)}
    end;
status_line(_) ->
    throw(bad_headers).

header_lines(Lines) ->
    [header_line(L) || L <- Lines, L =/= <<>>].

header_line(Line) ->
    case binary:split(Line, <<":">>) of
        [K, V] when K =/= <<>> -> {trim(K), trim(V)};
        _ -> throw(bad_headers)
    end.

%% @doc Encode headers as a `NATS/1.0' block (caller validated them).
-spec encode_headers(headers()) -> iodata().
encode_headers(Headers) ->
    [<<"NATS/1.0\r\n">>, [[K, <<": ">>, V, <<?CRLF>>] || {K, V} <- Headers], <<?CRLF>>].

%% @doc Header names must be non-empty tokens without `:' or whitespace;
%% values must not contain CR or LF (they would break the framing).
-spec valid_headers(term()) -> boolean().
valid_headers(Headers) when is_list(Headers) ->
    lists:all(fun valid_header/1, Headers);
valid_headers(_) ->
    false.

valid_header({K, V}) when is_binary(K), is_binary(V), K =/= <<>> ->
    nomatch =:= binary:match(K, [<<":">>, <<" ">>, <<"\t">>, <<"\r">>, <<"\n">>])
        andalso nomatch =:= binary:match(V, [<<"\r">>, <<"\n">>]);
valid_header(_) ->
    false.

%% @doc A subject (or queue group / reply subject) must be non-empty and
%% free of whitespace, or it would corrupt the protocol line.
-spec valid_subject(term()) -> boolean().
valid_subject(S) when is_binary(S), S =/= <<>> ->
    nomatch =:= binary:match(S, [<<" ">>, <<"\t">>, <<"\r">>, <<"\n">>]);
valid_subject(_) ->
    false.

%%====================================================================
%% Encoders
%%====================================================================

-spec connect(map()) -> iodata().
connect(Opts) ->
    [<<"CONNECT ">>, jiffy:encode(Opts), <<?CRLF>>].

-spec pub(binary(), binary() | undefined, non_neg_integer(), iodata()) -> iodata().
pub(Subject, Reply, Size, Payload) ->
    [<<"PUB ">>, Subject, reply(Reply), $\s, integer_to_binary(Size), <<?CRLF>>,
     Payload, <<?CRLF>>].

-spec hpub(binary(), binary() | undefined, iodata(), non_neg_integer(), iodata()) -> iodata().
hpub(Subject, Reply, HdrBlock, PayloadSize, Payload) ->
    HSize = iolist_size(HdrBlock),
    [<<"HPUB ">>, Subject, reply(Reply), $\s, integer_to_binary(HSize), $\s,
     integer_to_binary(HSize + PayloadSize), <<?CRLF>>, HdrBlock, Payload, <<?CRLF>>].

reply(undefined) -> <<>>;
reply(Reply) -> [$\s, Reply].

-spec sub(binary(), binary() | undefined, pos_integer()) -> iodata().
sub(Subject, undefined, Sid) ->
    [<<"SUB ">>, Subject, $\s, integer_to_binary(Sid), <<?CRLF>>];
sub(Subject, Queue, Sid) ->
    [<<"SUB ">>, Subject, $\s, Queue, $\s, integer_to_binary(Sid), <<?CRLF>>].

-spec unsub(pos_integer()) -> iodata().
unsub(Sid) ->
    [<<"UNSUB ">>, integer_to_binary(Sid), <<?CRLF>>].

-spec ping() -> binary().
ping() -> <<"PING\r\n">>.

-spec pong() -> binary().
pong() -> <<"PONG\r\n">>.
