%%% @doc One supervised connection to a NATS server.
%%%
%%% Owns the TCP socket, the protocol state (parser, PING/PONG keepalive,
%%% server INFO), the set of live subscriptions and the request/reply
%%% routing. Reconnects forever: rotating through the configured URLs,
%%% with exponential backoff and jitter between full rounds. The TCP
%%% connect and the INFO/CONNECT handshake run in a short-lived linked
%%% helper process, so the gen_server never blocks on the network and
%%% always answers at once (e.g. `{error, not_connected}').
%%%
%%% == Delivery to Erlang processes ==
%%% <ul>
%%% <li>`subscribe/3': the calling process receives `{nats_msg, Sid, msg()}'
%%%   until `unsubscribe/2' or until it dies (it is monitored).
%%%   Subscriptions survive reconnects (re-sent with the same sid before
%%%   anything else is written to a new connection).</li>
%%% <li>`request/4,5': one wildcard subscription `_INBOX.<random>.*' per
%%%   connection, a fresh token per request. The caller waits in its own
%%%   process, so any number of requests run concurrently. A reply that is
%%%   a bare 503 status means "no responders".</li>
%%% <li>`open_inbox/1': a multi-message reply subject `_INBOX.<random>'
%%%   with its own subscription (it cannot share the request wildcard:
%%%   JetStream delivers pulled messages with their original subject, so
%%%   only the sid identifies the inbox). The caller receives
%%%   `{nats_inbox, Ref, msg()}' for every message, and
%%%   `{nats_inbox_disconnected, Ref}' when the connection drops (the inbox
%%%   stays open and is re-subscribed), until `close_inbox/2' or its
%%%   death.</li>
%%% </ul>
%%% While disconnected, publish/request fail at once with `not_connected'
%%% (nothing is buffered); requests in flight at a disconnect fail with
%%% `disconnected'. subscribe/unsubscribe work at any time.
%%%
%%% Not supported: TLS (a server requiring TLS is logged and retried),
%%% cluster discovery from INFO `connect_urls', lame-duck-mode handling,
%%% message buffering while disconnected.
-module(nats_conn).
-behaviour(gen_server).

-include_lib("kernel/include/logger.hrl").

%% API
-export([start_link/2,
         publish/3, publish/4, publish/5,
         request/4, request/5,
         subscribe/3, unsubscribe/2,
         open_inbox/1, close_inbox/2,
         flush/2,
         status/1, info/1,
         stop/1]).

%% exported for tests
-export([parse_url/1]).

%% gen_server
-export([init/1, handle_call/3, handle_cast/2, handle_info/2, terminate/2]).

-export_type([conn/0, msg/0, headers/0, sid/0, opts/0]).

-type conn() :: atom() | pid().
-type sid() :: pos_integer().
-type headers() :: [{binary(), binary()}].
-type msg() :: #{subject := binary(),
                 reply := binary() | undefined,
                 headers := headers(),
                 status := integer() | undefined,
                 description := binary(),
                 payload := binary()}.
-type opts() :: #{urls => [binary() | string()] | binary() | string(),
                  credentials => undefined | file:filename_all(),
                  name => binary(),
                  reconnect_min_ms => non_neg_integer(),
                  reconnect_max_ms => non_neg_integer(),
                  ping_interval_ms => pos_integer(),
                  max_pings_out => pos_integer(),
                  connect_timeout_ms => pos_integer()}.

-define(VERSION, <<"0.1.0">>).
-define(DEFAULT_PORT, 4222).
-define(DEFAULT_MAX_PAYLOAD, 1048576).
%% A socket write blocked this long (peer not reading) drops the connection.
-define(SEND_TIMEOUT, 10000).
%% Longer than SEND_TIMEOUT, so the server gives up on a stuck write first.
-define(CALL_TIMEOUT, 15000).
%% Abandoned request entries (caller died or its cancel got lost) are
%% swept on the keepalive tick once they are this far past their deadline.
-define(REQUEST_GRACE_MS, 1000).

-record(url, {host :: inet:hostname() | inet:ip_address(),
              port :: inet:port_number(),
              user :: binary() | undefined,
              pass :: binary() | undefined,
              token :: binary() | undefined,
              display :: binary()}).          % without credentials, for logs

-record(opts, {reconnect_min :: non_neg_integer(),
               reconnect_max :: non_neg_integer(),
               ping_interval :: pos_integer(),
               max_pings_out :: pos_integer(),
               connect_timeout :: pos_integer(),
               credentials :: undefined | file:filename_all(),
               client_name :: binary() | undefined}).

-record(sub, {subject :: binary(),
              queue :: binary() | undefined,
              pid :: pid(),
              mon :: reference(),
              %% subscribe/3 delivers {nats_msg, Sid, Msg};
              %% open_inbox/1 delivers {nats_inbox, Mon, Msg}
              kind = msg :: msg | inbox}).

-record(state, {
    name :: atom(),
    opts :: #opts{},
    urls :: [#url{}, ...],
    url_pos = 1 :: pos_integer(),             % next URL to try
    tried = 0 :: non_neg_integer(),           % failures in the current round
    round = 0 :: non_neg_integer(),           % failed rounds: backoff exponent
    status = disconnected :: disconnected | connecting | connected,
    retry_timer :: reference() | undefined,
    connector :: pid() | undefined,
    sock :: gen_tcp:socket() | undefined,
    parser :: nats_proto:parser() | undefined,
    url :: #url{} | undefined,                % being tried, or connected to
    info = #{} :: map(),
    max_payload = ?DEFAULT_MAX_PAYLOAD :: pos_integer(),
    ping_timer :: reference() | undefined,
    pings_out = 0 :: non_neg_integer(),
    %% one entry per PING in flight, answered in order by PONGs
    pong_waiters = queue:new() :: queue:queue(keepalive | gen_server:from()),
    next_sid = 1 :: sid(),
    subs = #{} :: #{sid() => #sub{}},
    inbox_prefix :: binary(),                 % <<"_INBOX.<random>.">>
    inbox_sid :: sid(),
    next_token = 1 :: pos_integer(),
    %% token => {caller alias, expiry (monotonic ms)}
    requests = #{} :: #{binary() => {reference(), integer()}},
    %% monitor on a subscriber => its subscription
    monitors = #{} :: #{reference() => sid()},
    last_error :: term(),
    connects = 0 :: non_neg_integer()
}).

%% What publish/request hand to the server process: validated, with the
%% header block already encoded (work done in the caller, not here).
-type prepared() :: {Subject :: binary(), HdrBlock :: iodata() | undefined,
                     Payload :: iodata(), Size :: non_neg_integer()}.

%%====================================================================
%% API
%%====================================================================

-spec start_link(atom(), opts()) -> {ok, pid()} | ignore | {error, term()}.
start_link(Name, Opts) when is_atom(Name), is_map(Opts) ->
    gen_server:start_link({local, Name}, ?MODULE, {Name, Opts}, []).

-spec publish(conn(), iodata(), iodata()) -> ok | {error, term()}.
publish(Conn, Subject, Payload) ->
    publish(Conn, Subject, [], Payload).

%% @doc Publish a message. Errors: `not_connected', `max_payload',
%% `invalid_subject', `invalid_headers', `disconnected' (write failed).
-spec publish(conn(), iodata(), headers(), iodata()) -> ok | {error, term()}.
publish(Conn, Subject, Headers, Payload) ->
    publish(Conn, Subject, Headers, Payload, #{}).

%% @doc publish/4 with options: `reply => Subject' sets the reply-to
%% subject (e.g. an inbox from open_inbox/1).
-spec publish(conn(), iodata(), headers(), iodata(), #{reply => iodata()}) ->
          ok | {error, term()}.
publish(Conn, Subject, Headers, Payload, Opts) ->
    Reply = case maps:get(reply, Opts, undefined) of
                undefined -> undefined;
                R -> iolist_to_binary(R)
            end,
    case Reply =:= undefined orelse nats_proto:valid_subject(Reply) of
        true ->
            case prepare(Subject, Headers, Payload) of
                {ok, Prep} -> call(Conn, {publish, Prep, Reply}, ?CALL_TIMEOUT);
                {error, _} = Err -> Err
            end;
        false ->
            {error, invalid_subject}
    end.

-spec request(conn(), iodata(), iodata(), non_neg_integer()) ->
          {ok, msg()} | {error, term()}.
request(Conn, Subject, Payload, TimeoutMs) ->
    request(Conn, Subject, [], Payload, TimeoutMs).

%% @doc Send a request and wait (in the calling process) for one reply.
%% Errors: `timeout', `not_connected', `disconnected' (connection lost
%% while waiting), `no_responders', `max_payload', `invalid_subject',
%% `invalid_headers', `{connection_down, Reason}'.
-spec request(conn(), iodata(), headers(), iodata(), non_neg_integer()) ->
          {ok, msg()} | {error, term()}.
request(Conn, Subject, Headers, Payload, TimeoutMs) ->
    case prepare(Subject, Headers, Payload) of
        {ok, Prep} ->
            Deadline = now_ms() + TimeoutMs,
            %% The monitor doubles as the reply address (an alias): once it
            %% is removed, late replies are dropped by the runtime.
            Mon = erlang:monitor(process, Conn, [{alias, demonitor}]),
            case call(Conn, {request, Prep, Mon, Deadline}, TimeoutMs) of
                {ok, Token} ->
                    wait_reply(Conn, Mon, Token, max(0, Deadline - now_ms()));
                {error, _} = Err ->
                    erlang:demonitor(Mon, [flush]),
                    Err
            end;
        {error, _} = Err ->
            Err
    end.

%% @doc Subscribe the calling process. Opts: `queue => Group'.
%% Works while disconnected (sent on connect).
-spec subscribe(conn(), iodata(), #{queue => iodata()}) ->
          {ok, sid()} | {error, term()}.
subscribe(Conn, Subject, Opts) ->
    Subj = iolist_to_binary(Subject),
    Queue = case maps:get(queue, Opts, undefined) of
                undefined -> undefined;
                Q -> iolist_to_binary(Q)
            end,
    case nats_proto:valid_subject(Subj) andalso
        (Queue =:= undefined orelse nats_proto:valid_subject(Queue)) of
        true -> call(Conn, {subscribe, Subj, Queue}, ?CALL_TIMEOUT);
        false -> {error, invalid_subject}
    end.

%% @doc Remove a subscription. Messages already delivered stay in the
%% subscriber's mailbox.
-spec unsubscribe(conn(), sid()) -> ok | {error, term()}.
unsubscribe(Conn, Sid) ->
    call(Conn, {unsubscribe, Sid}, ?CALL_TIMEOUT).

%% @doc Open a multi-message reply inbox for the calling process (see the
%% module doc for the messages it receives).
-spec open_inbox(conn()) -> {ok, Inbox :: binary(), reference()} | {error, term()}.
open_inbox(Conn) ->
    call(Conn, open_inbox, ?CALL_TIMEOUT).

%% @doc Close an inbox; also drops its messages still queued in the
%% calling process's mailbox.
-spec close_inbox(conn(), reference()) -> ok | {error, term()}.
close_inbox(Conn, Ref) ->
    Result = call(Conn, {close_inbox, Ref}, ?CALL_TIMEOUT),
    flush_inbox(Ref),
    Result.

%% @doc PING/PONG round trip: everything written before has been
%% processed by the server.
-spec flush(conn(), non_neg_integer()) -> ok | {error, term()}.
flush(Conn, TimeoutMs) ->
    call(Conn, flush, TimeoutMs).

%% @doc `connected' or `disconnected' (also when the process is gone).
-spec status(conn()) -> connected | disconnected.
status(Conn) ->
    case call(Conn, status, ?CALL_TIMEOUT) of
        connected -> connected;
        _ -> disconnected
    end.

%% @doc Diagnostics: status, current URL (without credentials), server
%% INFO, last error, number of successful connects, live counts.
-spec info(conn()) -> {ok, map()} | {error, term()}.
info(Conn) ->
    call(Conn, info, ?CALL_TIMEOUT).

-spec stop(conn()) -> ok.
stop(Conn) ->
    gen_server:stop(Conn).

%%====================================================================
%% Caller-side helpers
%%====================================================================

-spec prepare(iodata(), headers(), iodata()) -> {ok, prepared()} | {error, term()}.
prepare(Subject, Headers, Payload) ->
    Subj = iolist_to_binary(Subject),
    PSize = iolist_size(Payload),
    case {nats_proto:valid_subject(Subj), Headers} of
        {false, _} ->
            {error, invalid_subject};
        {true, []} ->
            {ok, {Subj, undefined, Payload, PSize}};
        {true, _} ->
            case nats_proto:valid_headers(Headers) of
                true ->
                    Block = nats_proto:encode_headers(Headers),
                    {ok, {Subj, Block, Payload, PSize + iolist_size(Block)}};
                false ->
                    {error, invalid_headers}
            end
    end.

wait_reply(Conn, Mon, Token, Timeout) ->
    receive
        {nats_reply, Mon, Reply} ->
            erlang:demonitor(Mon, [flush]),
            Reply;
        {'DOWN', Mon, process, _, Reason} ->
            {error, {connection_down, Reason}}
    after Timeout ->
        gen_server:cast(Conn, {cancel_request, Token}),
        erlang:demonitor(Mon, [flush]),
        %% a reply may have raced the timeout
        receive
            {nats_reply, Mon, Reply} -> Reply
        after 0 ->
            {error, timeout}
        end
    end.

flush_inbox(Ref) ->
    receive
        {nats_inbox, Ref, _} -> flush_inbox(Ref);
        {nats_inbox_disconnected, Ref} -> flush_inbox(Ref)
    after 0 ->
        ok
    end.

call(Conn, Request, Timeout) ->
    try
        gen_server:call(Conn, Request, Timeout)
    catch
        exit:{timeout, _} -> {error, timeout};
        exit:{noproc, _} -> {error, noproc};
        exit:{Reason, _} -> {error, {connection_down, Reason}}
    end.

%%====================================================================
%% gen_server
%%====================================================================

-spec init({atom(), opts()}) -> {ok, #state{}} | {stop, term()}.
init({Name, Opts}) ->
    %% Trapping exits: the connector helper is linked, and terminate/2
    %% should run on supervisor shutdown to close the socket cleanly.
    process_flag(trap_exit, true),
    case parse_opts(Opts) of
        {ok, O, Urls} ->
            Prefix = <<"_INBOX.", (nats_nkey:base64url(crypto:strong_rand_bytes(12)))/binary, ".">>,
            S = #state{name = Name, opts = O, urls = Urls,
                       inbox_prefix = Prefix, inbox_sid = 1, next_sid = 2},
            %% connect asynchronously: init never blocks or fails on the network
            {ok, schedule_connect(0, S)};
        {error, Reason} ->
            {stop, Reason}
    end.

-spec handle_call(term(), gen_server:from(), #state{}) ->
          {reply, term(), #state{}} | {noreply, #state{}}.
handle_call({publish, _, _}, _From, #state{status = St} = S) when St =/= connected ->
    {reply, {error, not_connected}, S};
handle_call({publish, {_, _, _, Size}, _}, _From, #state{max_payload = Max} = S) when Size > Max ->
    {reply, {error, max_payload}, S};
handle_call({publish, Prep, Reply}, _From, S) ->
    case send(frame(Prep, Reply), S) of
        {ok, S1} -> {reply, ok, S1};
        {error, S1} -> {reply, {error, disconnected}, S1}
    end;

handle_call({request, _, _, _}, _From, #state{status = St} = S) when St =/= connected ->
    {reply, {error, not_connected}, S};
handle_call({request, {_, _, _, Size}, _, _}, _From, #state{max_payload = Max} = S) when Size > Max ->
    {reply, {error, max_payload}, S};
handle_call({request, Prep, Alias, Deadline}, _From, S0) ->
    {Token, S} = new_token(S0),
    case send(frame(Prep, reply_subject(Token, S)), S) of
        {ok, S1} ->
            Requests = maps:put(Token, {Alias, Deadline}, S1#state.requests),
            {reply, {ok, Token}, S1#state{requests = Requests}};
        {error, S1} ->
            {reply, {error, disconnected}, S1}
    end;

handle_call({subscribe, Subject, Queue}, {Pid, _}, S) ->
    {Sid, _Mon, S1} = add_sub(Subject, Queue, Pid, msg, S),
    {reply, {ok, Sid}, S1};

handle_call({unsubscribe, Sid}, _From, #state{subs = Subs} = S) ->
    case Subs of
        #{Sid := #sub{kind = msg}} -> {reply, ok, remove_sub(Sid, S)};
        _ -> {reply, {error, not_found}, S}
    end;

handle_call(open_inbox, {Pid, _}, S) ->
    Inbox = <<"_INBOX.", (nats_nkey:base64url(crypto:strong_rand_bytes(12)))/binary>>,
    {_Sid, Mon, S1} = add_sub(Inbox, undefined, Pid, inbox, S),
    {reply, {ok, Inbox, Mon}, S1};

handle_call({close_inbox, Ref}, _From, #state{monitors = Mons, subs = Subs} = S) ->
    Sid = maps:get(Ref, Mons, undefined),
    case Subs of
        #{Sid := #sub{kind = inbox}} -> {reply, ok, remove_sub(Sid, S)};
        _ -> {reply, {error, not_found}, S}
    end;

handle_call(flush, _From, #state{status = St} = S) when St =/= connected ->
    {reply, {error, not_connected}, S};
handle_call(flush, From, S) ->
    case send(nats_proto:ping(), S) of
        {ok, S1} ->
            {noreply, S1#state{pong_waiters = queue:in(From, S1#state.pong_waiters)}};
        {error, S1} ->
            {reply, {error, disconnected}, S1}
    end;

handle_call(status, _From, #state{status = connected} = S) ->
    {reply, connected, S};
handle_call(status, _From, S) ->
    {reply, disconnected, S};

handle_call(info, _From, S) ->
    {reply, {ok, info_map(S)}, S};

handle_call(_Other, _From, S) ->
    {reply, {error, unknown_call}, S}.

-spec handle_cast(term(), #state{}) -> {noreply, #state{}}.
handle_cast({cancel_request, Token}, S) ->
    {noreply, S#state{requests = maps:remove(Token, S#state.requests)}};
handle_cast(_Other, S) ->
    {noreply, S}.

-spec handle_info(term(), #state{}) -> {noreply, #state{}}.
handle_info({tcp, Sock, Data}, #state{sock = Sock, parser = P} = S) ->
    case nats_proto:parse(Data, P) of
        {ok, Events, P1} ->
            {noreply, activate(handle_events(Events, S#state{parser = P1}))};
        {error, Reason} ->
            {noreply, disconnect({protocol_error, Reason}, S)}
    end;
handle_info({tcp_closed, Sock}, #state{sock = Sock} = S) ->
    {noreply, disconnect(closed_by_server, S)};
handle_info({tcp_error, Sock, Reason}, #state{sock = Sock} = S) ->
    {noreply, disconnect({tcp_error, Reason}, S)};

handle_info({ping_tick, Sock}, #state{sock = Sock} = S) ->
    {noreply, keepalive(sweep_requests(S))};

handle_info({timeout, TRef, connect}, #state{retry_timer = TRef} = S) ->
    {noreply, start_connector(S#state{retry_timer = undefined})};

handle_info({connector, Pid, Result}, #state{connector = Pid} = S) ->
    S1 = S#state{connector = undefined},
    case Result of
        {ok, Sock, Info, Parser, Events} -> {noreply, connected(Sock, Info, Parser, Events, S1)};
        {error, Reason} -> {noreply, attempt_failed(Reason, S1)}
    end;
handle_info({'EXIT', Pid, Reason}, #state{connector = Pid} = S) ->
    %% the helper died without reporting (a bug); count it as a failed try
    {noreply, attempt_failed({connector_crashed, Reason}, S#state{connector = undefined})};

handle_info({'DOWN', Mon, process, _, _}, S) ->
    {noreply, owner_down(Mon, S)};

handle_info(_Other, S) ->
    %% stale socket messages and timers of an old connection, 'EXIT' of
    %% finished connectors
    {noreply, S}.

-spec terminate(term(), #state{}) -> ok.
terminate(_Reason, #state{sock = Sock, connector = Connector}) ->
    %% a connector is linked but not killed by a 'normal' exit of ours
    case Connector of
        undefined -> ok;
        _ -> exit(Connector, kill)
    end,
    close(Sock).

%%====================================================================
%% Connection lifecycle
%%====================================================================

schedule_connect(Delay, S) ->
    S#state{status = disconnected,
            retry_timer = erlang:start_timer(Delay, self(), connect)}.

start_connector(#state{urls = Urls, url_pos = Pos, opts = O} = S) ->
    Url = lists:nth(Pos, Urls),
    Owner = self(),
    Pid = spawn_link(fun() -> connector(Owner, Url, O) end),
    S#state{status = connecting, connector = Pid, url = Url}.

attempt_failed(Reason, #state{urls = Urls, url = Url, opts = O} = S) ->
    N = length(Urls),
    Tried = S#state.tried + 1,
    {Round, Tried1, Delay} =
        case Tried >= N of
            true ->
                R = S#state.round + 1,
                {R, 0, backoff(R, O#opts.reconnect_min, O#opts.reconnect_max)};
            false ->
                {S#state.round, Tried, 0}           % next URL of this round now
        end,
    ?LOG_WARNING("nats_conn ~p: connecting to ~s failed: ~ts; next attempt in ~b ms",
                 [S#state.name, Url#url.display, describe(Reason), Delay]),
    schedule_connect(Delay, S#state{tried = Tried1, round = Round,
                                    url_pos = next_pos(S#state.url_pos, N),
                                    last_error = Reason, url = undefined}).

connected(Sock, Info, Parser, Events, S) ->
    %% Re-establish every live subscription (same sids) before anything else.
    Subs = [nats_proto:sub(<<(S#state.inbox_prefix)/binary, "*">>, undefined, S#state.inbox_sid)
            | [nats_proto:sub(Subj, Q, Sid)
               || {Sid, #sub{subject = Subj, queue = Q}} <- lists:sort(maps:to_list(S#state.subs))]],
    case gen_tcp:send(Sock, Subs) of
        ok ->
            MaxPayload = max_payload(Info),
            ?LOG_INFO("nats_conn ~p: connected to ~s (server ~s)",
                      [S#state.name, (S#state.url)#url.display,
                       maps:get(<<"version">>, Info, <<"?">>)]),
            S1 = S#state{status = connected, sock = Sock,
                         parser = nats_proto:set_max_payload(Parser, MaxPayload),
                         info = Info, max_payload = MaxPayload,
                         tried = 0, round = 0, pings_out = 0,
                         pong_waiters = queue:new(), last_error = undefined,
                         connects = S#state.connects + 1},
            activate(handle_events(Events, start_ping_timer(S1)));
        {error, Reason} ->
            gen_tcp:close(Sock),
            attempt_failed({send_failed, Reason}, S)
    end.

%% Drop the connection: fail everything waiting on it and schedule a
%% reconnect (to the next URL) after a short random delay.
disconnect(Reason, #state{sock = Sock} = S) ->
    ?LOG_WARNING("nats_conn ~p: disconnected from ~s: ~0p",
                 [S#state.name, display(S#state.url), Reason]),
    close(Sock),
    cancel_timer(S#state.ping_timer),
    maps:foreach(fun(_Token, {Alias, _}) -> Alias ! {nats_reply, Alias, {error, disconnected}} end,
                 S#state.requests),
    lists:foreach(fun(keepalive) -> ok;
                     (From) -> gen_server:reply(From, {error, disconnected})
                  end, queue:to_list(S#state.pong_waiters)),
    maps:foreach(fun(_Sid, #sub{kind = inbox, pid = Pid, mon = Ref}) ->
                         Pid ! {nats_inbox_disconnected, Ref};
                    (_Sid, #sub{}) ->
                         ok
                 end, S#state.subs),
    O = S#state.opts,
    S1 = S#state{sock = undefined, parser = undefined, ping_timer = undefined,
                 requests = #{}, pong_waiters = queue:new(), pings_out = 0,
                 tried = 0, round = 0, last_error = Reason,
                 url_pos = next_pos(S#state.url_pos, length(S#state.urls))},
    schedule_connect(jitter(O#opts.reconnect_min), S1).

activate(#state{status = connected, sock = Sock} = S) ->
    case inet:setopts(Sock, [{active, once}]) of
        ok -> S;
        {error, Reason} -> disconnect({tcp_error, Reason}, S)
    end;
activate(S) ->
    S.

keepalive(#state{pings_out = Out, opts = #opts{max_pings_out = Max}} = S) when Out >= Max ->
    disconnect(stale_connection, S);
keepalive(S) ->
    case send(nats_proto:ping(), S) of
        {ok, S1} ->
            start_ping_timer(S1#state{pings_out = S1#state.pings_out + 1,
                                      pong_waiters = queue:in(keepalive, S1#state.pong_waiters)});
        {error, S1} ->
            S1
    end.

start_ping_timer(#state{sock = Sock, opts = O} = S) ->
    S#state{ping_timer = erlang:send_after(O#opts.ping_interval, self(), {ping_tick, Sock})}.

sweep_requests(#state{requests = Reqs} = S) ->
    Now = now_ms(),
    S#state{requests = maps:filter(fun(_, {_, Deadline}) -> Deadline + ?REQUEST_GRACE_MS > Now end,
                                   Reqs)}.

%%====================================================================
%% Incoming protocol events
%%====================================================================

%% Stops early if handling an event lost the connection (failed write).
handle_events([Ev | Rest], #state{status = connected} = S) ->
    handle_events(Rest, handle_event(Ev, S));
handle_events(_, S) ->
    S.

handle_event({msg, Subject, Sid, Reply, Hdr, Payload}, S) ->
    case build_msg(Subject, Reply, Hdr, Payload) of
        {ok, Msg} ->
            dispatch(Sid, Msg, S);
        {error, Reason} ->
            ?LOG_WARNING("nats_conn ~p: dropping message on ~s: ~p",
                         [S#state.name, Subject, Reason]),
            S
    end;
handle_event(ping, S) ->
    {_, S1} = send(nats_proto:pong(), S),
    S1;
handle_event(pong, #state{pong_waiters = Q} = S) ->
    Q1 = case queue:out(Q) of
             {{value, keepalive}, Rest} -> Rest;
             {{value, From}, Rest} -> gen_server:reply(From, ok), Rest;
             {empty, Rest} -> Rest
         end,
    S#state{pings_out = 0, pong_waiters = Q1};
handle_event({info, Info}, #state{parser = P} = S) ->
    Max = max_payload(Info),
    case maps:get(<<"ldm">>, Info, false) of
        true ->
            ?LOG_NOTICE("nats_conn ~p: server ~s entered lame duck mode",
                        [S#state.name, display(S#state.url)]);
        _ ->
            ok
    end,
    S#state{info = maps:merge(S#state.info, Info), max_payload = Max,
            parser = nats_proto:set_max_payload(P, Max)};
handle_event(ok, S) ->
    S;
handle_event({err, Text}, S) ->
    %% Fatal errors are followed by the server closing the socket, which
    %% triggers the reconnect; others (e.g. permissions) are just reported.
    ?LOG_WARNING("nats_conn ~p: server error: ~s", [S#state.name, Text]),
    S#state{last_error = {server_error, Text}}.

dispatch(Sid, Msg, #state{inbox_sid = Sid, inbox_prefix = Prefix} = S) ->
    #{subject := Subject} = Msg,
    PLen = byte_size(Prefix),
    case Subject of
        <<Prefix:PLen/binary, Token/binary>> -> dispatch_inbox(Token, Msg, S);
        _ -> S
    end;
dispatch(Sid, Msg, #state{subs = Subs} = S) ->
    _ = case Subs of
            #{Sid := #sub{kind = msg, pid = Pid}} -> Pid ! {nats_msg, Sid, Msg};
            #{Sid := #sub{kind = inbox, pid = Pid, mon = Ref}} -> Pid ! {nats_inbox, Ref, Msg};
            _ -> ok                             % unsubscribed, still in flight
        end,
    S.

dispatch_inbox(Token, Msg, #state{requests = Reqs} = S) ->
    case maps:take(Token, Reqs) of
        {{Alias, _}, Reqs1} ->
            Alias ! {nats_reply, Alias, reply_result(Msg)},
            S#state{requests = Reqs1};
        error ->
            S                                   % timed-out request: drop
    end.

reply_result(#{status := 503, payload := <<>>}) -> {error, no_responders};
reply_result(Msg) -> {ok, Msg}.

build_msg(Subject, Reply, undefined, Payload) ->
    {ok, msg(Subject, Reply, [], undefined, <<>>, Payload)};
build_msg(Subject, Reply, Hdr, Payload) ->
    case nats_proto:parse_headers(Hdr) of
        {ok, Status, Desc, Headers} ->
            {ok, msg(Subject, Reply, [{unshare(K), unshare(V)} || {K, V} <- Headers],
                     Status, unshare(Desc), Payload)};
        {error, _} = Err ->
            Err
    end.

msg(Subject, Reply, Headers, Status, Desc, Payload) ->
    #{subject => unshare(Subject),
      reply => case Reply of undefined -> undefined; _ -> unshare(Reply) end,
      headers => Headers, status => Status, description => Desc,
      payload => unshare(Payload)}.

%% Parts of a received message are sub-binaries of the socket read buffer.
%% Copy the small ones so a subscriber keeping a message does not keep a
%% whole (possibly large) read buffer alive.
unshare(Bin) ->
    case binary:referenced_byte_size(Bin) > 2 * byte_size(Bin) + 64 of
        true -> binary:copy(Bin);
        false -> Bin
    end.

%%====================================================================
%% Subscriptions, inboxes, monitors
%%====================================================================

owner_down(Mon, #state{monitors = Mons} = S) ->
    case Mons of
        #{Mon := Sid} -> remove_sub(Sid, S);
        _ -> S
    end.

add_sub(Subject, Queue, Pid, Kind, #state{next_sid = Sid} = S) ->
    Mon = erlang:monitor(process, Pid),
    Sub = #sub{subject = Subject, queue = Queue, pid = Pid, mon = Mon, kind = Kind},
    S1 = S#state{next_sid = Sid + 1,
                 subs = maps:put(Sid, Sub, S#state.subs),
                 monitors = maps:put(Mon, Sid, S#state.monitors)},
    %% A failed write just means we are reconnecting, and the SUB will be
    %% re-sent then; the subscription itself stays valid.
    {_, S2} = send_if_connected(nats_proto:sub(Subject, Queue, Sid), S1),
    {Sid, Mon, S2}.

remove_sub(Sid, #state{subs = Subs} = S) ->
    {#sub{mon = Mon}, Subs1} = maps:take(Sid, Subs),
    erlang:demonitor(Mon, [flush]),
    S1 = S#state{subs = Subs1, monitors = maps:remove(Mon, S#state.monitors)},
    {_, S2} = send_if_connected(nats_proto:unsub(Sid), S1),
    S2.

new_token(#state{next_token = N} = S) ->
    {integer_to_binary(N, 36), S#state{next_token = N + 1}}.

reply_subject(Token, #state{inbox_prefix = Prefix}) ->
    <<Prefix/binary, Token/binary>>.

%%====================================================================
%% Output
%%====================================================================

frame({Subject, undefined, Payload, Size}, Reply) ->
    nats_proto:pub(Subject, Reply, Size, Payload);
frame({Subject, Block, Payload, Size}, Reply) ->
    nats_proto:hpub(Subject, Reply, Block, Size - iolist_size(Block), Payload).

send(_Data, #state{sock = undefined} = S) ->
    {error, S};
send(Data, #state{sock = Sock} = S) ->
    case gen_tcp:send(Sock, Data) of
        ok -> {ok, S};
        {error, Reason} -> {error, disconnect({send_failed, Reason}, S)}
    end.

send_if_connected(Data, #state{status = connected} = S) ->
    send(Data, S);
send_if_connected(_Data, S) ->
    {ok, S}.

%%====================================================================
%% Connector: TCP connect + INFO/CONNECT/PING handshake, in a helper
%%====================================================================

connector(Owner, Url, O) ->
    Result = try handshake(Url, O)
             catch C:E -> {error, {handshake_crashed, C, E}}
             end,
    Reply = case Result of
                {ok, Sock, _, _, _} ->
                    case gen_tcp:controlling_process(Sock, Owner) of
                        ok -> Result;
                        {error, R} -> gen_tcp:close(Sock), {error, R}
                    end;
                {error, _} ->
                    Result
            end,
    Owner ! {connector, self(), Reply},
    ok.

handshake(#url{host = Host, port = Port} = Url, #opts{connect_timeout = T} = O) ->
    Deadline = now_ms() + T,
    SockOpts = [binary, {packet, raw}, {active, false}, {nodelay, true},
                {keepalive, true}, {send_timeout, ?SEND_TIMEOUT},
                {send_timeout_close, true} | family(Host)],
    case gen_tcp:connect(Host, Port, SockOpts, T) of
        {ok, Sock} ->
            case handshake(Sock, Url, O, Deadline) of
                {ok, Info, Parser, Events} ->
                    {ok, Sock, Info, Parser, Events};
                {error, _} = Err ->
                    gen_tcp:close(Sock),
                    Err
            end;
        {error, Reason} ->
            {error, {connect_failed, Reason}}
    end.

handshake(Sock, Url, O, Deadline) ->
    case recv_events(Sock, nats_proto:new_parser(?DEFAULT_MAX_PAYLOAD), Deadline) of
        {ok, [{info, Info} | Rest], P} ->
            case maps:get(<<"tls_required">>, Info, false) of
                true ->
                    {error, tls_required_but_not_supported};
                _ ->
                    case connect_opts(Url, O, Info) of
                        {ok, ConnectOpts} ->
                            case gen_tcp:send(Sock, [nats_proto:connect(ConnectOpts), nats_proto:ping()]) of
                                ok -> await_pong(Sock, Rest, nats_proto:set_max_payload(P, max_payload(Info)),
                                                 Info, Deadline);
                                {error, R} -> {error, {send_failed, R}}
                            end;
                        {error, _} = Err ->
                            Err
                    end
            end;
        {ok, _, _} ->
            {error, expected_info};
        {error, _} = Err ->
            Err
    end.

%% The server answers CONNECT+PING with PONG, or with -ERR (e.g.
%% 'Authorization Violation') and a close.
await_pong(_Sock, [pong | Rest], P, Info, _Deadline) ->
    {ok, Info, P, Rest};
await_pong(_Sock, [{err, Text} | _], _P, _Info, _Deadline) ->
    {error, {server_error, Text}};
await_pong(Sock, [ping | Rest], P, Info, Deadline) ->
    case gen_tcp:send(Sock, nats_proto:pong()) of
        ok -> await_pong(Sock, Rest, P, Info, Deadline);
        {error, R} -> {error, {send_failed, R}}
    end;
await_pong(Sock, [{info, Info1} | Rest], P, Info, Deadline) ->
    await_pong(Sock, Rest, P, maps:merge(Info, Info1), Deadline);
await_pong(Sock, [_ | Rest], P, Info, Deadline) ->
    await_pong(Sock, Rest, P, Info, Deadline);
await_pong(Sock, [], P, Info, Deadline) ->
    case recv_events(Sock, P, Deadline) of
        {ok, Events, P1} -> await_pong(Sock, Events, P1, Info, Deadline);
        {error, _} = Err -> Err
    end.

recv_events(Sock, P, Deadline) ->
    Left = Deadline - now_ms(),
    case Left > 0 andalso gen_tcp:recv(Sock, 0, Left) of
        false ->
            {error, handshake_timeout};
        {ok, Data} ->
            case nats_proto:parse(Data, P) of
                {ok, [], P1} -> recv_events(Sock, P1, Deadline);
                {ok, Events, P1} -> {ok, Events, P1};
                {error, Reason} -> {error, {protocol_error, Reason}}
            end;
        {error, timeout} ->
            {error, handshake_timeout};
        {error, closed} ->
            {error, closed_during_handshake};
        {error, Reason} ->
            {error, {tcp_error, Reason}}
    end.

connect_opts(Url, #opts{client_name = Name, credentials = Creds}, Info) ->
    Base = #{verbose => false, pedantic => false, tls_required => false,
             headers => true, no_responders => true, protocol => 1,
             echo => true, lang => <<"erlang">>, version => ?VERSION},
    M1 = case Name of
             undefined -> Base;
             _ -> Base#{name => Name}
         end,
    M2 = url_auth(Url, M1),
    case Creds of
        undefined -> {ok, M2};
        Path -> creds_auth(Path, maps:get(<<"nonce">>, Info, undefined), M2)
    end.

url_auth(#url{user = U, pass = P}, M) when U =/= undefined ->
    M#{user => U, pass => case P of undefined -> <<>>; _ -> P end};
url_auth(#url{token = T}, M) when T =/= undefined ->
    M#{auth_token => T};
url_auth(_, M) ->
    M.

creds_auth(Path, Nonce, M) ->
    %% Read on every attempt so a fixed file is picked up on the next retry.
    case nats_nkey:read_credentials(Path) of
        {ok, #{jwt := Jwt, seed := Seed, public := Public}} ->
            M1 = case Nonce of
                     undefined -> M;
                     _ -> M#{sig => nats_nkey:sign(Nonce, Seed)}
                 end,
            case Jwt of
                undefined -> {ok, M1#{nkey => Public}};
                _ -> {ok, M1#{jwt => Jwt}}
            end;
        {error, Reason} ->
            {error, {credentials, Path, Reason}}
    end.

%%====================================================================
%% Options and URLs
%%====================================================================

parse_opts(Opts) ->
    UrlsOpt = maps:get(urls, Opts, [<<"nats://127.0.0.1:4222">>]),
    UrlList = case UrlsOpt of
                  B when is_binary(B) -> [B];
                  [C | _] = Str when is_integer(C) -> [Str];
                  L when is_list(L) -> L
              end,
    Parsed = [parse_url(U) || U <- UrlList],
    case [{U, R} || {U, {error, R}} <- lists:zip(UrlList, Parsed)] of
        [] when Parsed =/= [] ->
            Min = maps:get(reconnect_min_ms, Opts, 100),
            O = #opts{reconnect_min = Min,
                      reconnect_max = max(Min, maps:get(reconnect_max_ms, Opts, 5000)),
                      ping_interval = maps:get(ping_interval_ms, Opts, 20000),
                      max_pings_out = maps:get(max_pings_out, Opts, 2),
                      connect_timeout = maps:get(connect_timeout_ms, Opts, 5000),
                      credentials = maps:get(credentials, Opts, undefined),
                      client_name = case maps:get(name, Opts, undefined) of
                                        undefined -> undefined;
                                        N -> iolist_to_binary(N)
                                    end},
            {ok, O, [U || {ok, U} <- Parsed]};
        [] ->
            {error, no_urls};
        Bad ->
            {error, {bad_urls, Bad}}
    end.

%% @doc Parse `nats://[user:pass@|token@]host[:port]' (scheme optional).
-spec parse_url(binary() | string()) -> {ok, #url{}} | {error, term()}.
parse_url(Url) when is_list(Url) ->
    parse_url(unicode:characters_to_binary(Url));
parse_url(Url) when is_binary(Url) ->
    Full = case binary:match(Url, <<"://">>) of
               nomatch -> <<"nats://", Url/binary>>;
               _ -> Url
           end,
    case uri_string:parse(Full) of
        #{scheme := Scheme, host := Host} = U when Host =/= <<>> ->
            case lists:member(string:lowercase(Scheme), [<<"nats">>, <<"tcp">>]) of
                true -> url_record(Host, U);
                false -> {error, {unsupported_scheme, Scheme}}
            end;
        _ ->
            {error, invalid_url}
    end.

url_record(HostBin, U) ->
    Port = case maps:get(port, U, undefined) of
               undefined -> ?DEFAULT_PORT;
               P -> P
           end,
    HostStr = binary_to_list(HostBin),
    Host = case inet:parse_address(HostStr) of
               {ok, Ip} -> Ip;
               {error, _} -> HostStr
           end,
    Base = #url{host = Host, port = Port,
                display = iolist_to_binary(["nats://", display_host(Host, HostStr), ":",
                                            integer_to_binary(Port)])},
    case maps:get(userinfo, U, undefined) of
        undefined ->
            {ok, Base};
        UserInfo ->
            case binary:split(UserInfo, <<":">>) of
                [User, Pass] -> {ok, Base#url{user = pct(User), pass = pct(Pass)}};
                [Token] -> {ok, Base#url{token = pct(Token)}}
            end
    end.

display_host(Ip, Str) when tuple_size(Ip) =:= 8 -> ["[", Str, "]"];
display_host(_, Str) -> Str.

pct(Bin) ->
    case uri_string:percent_decode(Bin) of
        B when is_binary(B) -> B;
        _ -> Bin
    end.

family(Ip) when is_tuple(Ip), tuple_size(Ip) =:= 8 -> [inet6];
family(_) -> [].

%%====================================================================
%% Small helpers
%%====================================================================

info_map(S) ->
    #{status => case S#state.status of connected -> connected; _ -> disconnected end,
      url => display(S#state.url),
      server_info => S#state.info,
      last_error => S#state.last_error,
      connects => S#state.connects,
      subscriptions => maps:size(S#state.subs),      % incl. inboxes
      pending_requests => maps:size(S#state.requests),
      max_payload => S#state.max_payload}.

%% Human-readable failure reasons for the log.
describe({credentials, Path, Reason}) ->
    io_lib:format("cannot use credentials file ~ts: ~0p", [Path, Reason]);
describe(tls_required_but_not_supported) ->
    "the server requires TLS, which this client does not support";
describe({server_error, Text}) ->
    io_lib:format("server refused the connection: ~ts", [Text]);
describe(Reason) ->
    io_lib:format("~0p", [Reason]).

display(undefined) -> undefined;
display(#url{display = D}) -> D.

max_payload(Info) ->
    case maps:get(<<"max_payload">>, Info, ?DEFAULT_MAX_PAYLOAD) of
        N when is_integer(N), N > 0 -> N;
        _ -> ?DEFAULT_MAX_PAYLOAD
    end.

next_pos(Pos, N) when Pos >= N -> 1;
next_pos(Pos, _) -> Pos + 1.

%% Exponential backoff with "equal jitter": half fixed, half random.
backoff(Round, Min, Max) ->
    Base = min(Max, Min bsl min(Round - 1, 20)),
    Base div 2 + jitter(Base - Base div 2).

jitter(N) when N =< 0 -> 0;
jitter(N) -> rand:uniform(N + 1) - 1.

close(undefined) -> ok;
close(Sock) -> gen_tcp:close(Sock).

cancel_timer(undefined) -> ok;
cancel_timer(Ref) -> _ = erlang:cancel_timer(Ref), ok.

now_ms() ->
    erlang:monotonic_time(millisecond).
