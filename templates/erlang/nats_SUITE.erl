%%% Common Test suite for nats_conn / nats_js against a real nats-server.
%%%
%%% The suite starts its own nats-server processes (fresh store dirs, free
%%% ports, loopback only) through a small sh wrapper that kills the server
%%% when the wrapper's stdin closes, so no server outlives the test node
%%% even if it crashes. No assertion depends on timing: states are awaited
%%% by polling with generous deadlines; the only time checks are lower
%%% bounds (a delay was at least honoured).
-module(nats_SUITE).

-compile([export_all, nowarn_export_all]).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

%% Runs the server in the background; a watcher kills it when stdin is
%% closed (test node gone) or a line arrives on it (stop request).
-define(WRAPPER,
        "exec 3<&0\n"
        "\"$0\" \"$@\" </dev/null >>\"$NATS_LOG\" 2>&1 &\n"
        "p=$!\n"
        "( read -r _ <&3; kill $p ) >/dev/null 2>&1 &\n"
        "w=$!\n"
        "wait $p\n"
        "s=$?\n"
        "kill $w 2>/dev/null\n"
        "exit $s\n").

-define(WAIT_MS, 10000).

%% nkey prefix bytes (public keys)
-define(NKEY_OPERATOR, (14 bsl 3)).
-define(NKEY_ACCOUNT, 0).
-define(NKEY_USER, (20 bsl 3)).

%% Boolean "does Expr match Pattern" (patterns may use _ and bound vars).
-define(MATCHES(Pattern, Expr), (case (Expr) of Pattern -> true; _ -> false end)).

%%====================================================================
%% CT callbacks
%%====================================================================

suite() ->
    [{timetrap, {seconds, 120}}].

all() ->
    [{group, unit}, {group, core}, {group, auth}, {group, jwt}, {group, jetstream}, {group, resilience}].

groups() ->
    [{unit, [], [parser_incremental, parser_rejects_garbage, nkey_known_vector,
                 creds_file_parsing, url_parsing, ack_subject_parsing]},
     {core, [], [connect_flush, pubsub_plain, pubsub_headers, pubsub_payload_edges,
                 max_payload, request_reply, no_responders, request_timeout,
                 concurrent_requests, queue_group, unsubscribe, subscriber_death,
                 inbox, urls_first_dead, not_connected]},
     {auth, [], [user_pass_url, token_url, nkey_seed_file, nkey_wrong_seed,
                 creds_file_fixed_later]},
     {jwt, [], [jwt_creds_file, jwt_creds_wrong_seed, jwt_user_not_signed_by_account]},
     {jetstream, [], [js_ensure_stream, js_ensure_consumer, js_publish, js_fetch_no_wait,
                      js_fetch_expires, js_ack, js_nak, js_nak_delay, js_term,
                      js_in_progress, js_get_msg, js_stream_info_filter, js_errors]},
     {resilience, [], [protocol_garbage, tls_required, keepalive, reconnect]}].

init_per_suite(Config) ->
    case os:find_executable("nats-server") of
        false ->
            case os:getenv("CI") of
                "true" -> ct:fail("nats-server not found on PATH");
                _ -> {skip, "nats-server not found on PATH"}
            end;
        Exe ->
            {ok, _} = application:ensure_all_started(crypto),
            {ok, _} = application:ensure_all_started(jiffy),
            Base = make_tmp_dir(),
            Port = free_port(),
            Store = filename:join(Base, "js"),
            Args = ["-js", "-sd", Store, "-p", integer_to_list(Port), "-a", "127.0.0.1"],
            Server = start_server(Exe, Args, filename:join(Base, "main.log"), Port),
            persistent_term:put({?MODULE, server}, Server),
            [{exe, Exe}, {base, Base}, {port, Port}, {server_args, Args},
             {server, Server} | Config]
    end.

end_per_suite(Config) ->
    %% the reconnect test replaces the server; stop whichever is current
    stop_server(current_server(Config)),
    persistent_term:erase({?MODULE, server}),
    %% keep the server logs with the CT logs, drop the stores
    Base = ?config(base, Config),
    [{ok, _} = file:copy(Log, filename:join(?config(priv_dir, Config), filename:basename(Log)))
     || Log <- filelib:wildcard(filename:join(Base, "*.log"))],
    ok = file:del_dir_r(Base),
    Config.

init_per_group(auth, Config) ->
    Seed = crypto:strong_rand_bytes(32),
    {Pub, _} = crypto:generate_key(eddsa, ed25519, Seed),
    PubText = test_encode(160, Pub),             % 'U' prefix
    Port = free_port(),
    Base = ?config(base, Config),
    Conf = filename:join(Base, "auth.conf"),
    ok = file:write_file(Conf, [
        "listen: \"127.0.0.1:", integer_to_list(Port), "\"\n",
        "authorization {\n",
        "  users = [\n",
        "    {nkey: \"", PubText, "\"}\n",
        "    {user: \"alice\", password: \"s3cret\"}\n",
        "  ]\n",
        "}\n"]),
    Server = start_server(?config(exe, Config), ["-c", Conf], filename:join(Base, "auth.log"), Port),
    [{auth_port, Port}, {auth_server, Server}, {user_seed, Seed}, {user_pub, PubText} | Config];
init_per_group(jwt, Config) ->
    %% Decentralized auth (operator mode): operator -> account -> user,
    %% all keys and JWTs made here, the account preloaded in a memory resolver.
    {OpPub, OpSeed} = crypto:generate_key(eddsa, ed25519),
    {AccPub, AccSeed} = crypto:generate_key(eddsa, ed25519),
    {UserPub, UserSeed} = crypto:generate_key(eddsa, ed25519),
    Op = test_encode(?NKEY_OPERATOR, OpPub),
    Acc = test_encode(?NKEY_ACCOUNT, AccPub),
    User = test_encode(?NKEY_USER, UserPub),
    OpJwt = test_jwt(Op, Op, OpSeed, #{type => <<"operator">>, version => 2}),
    AccJwt = test_jwt(Op, Acc, OpSeed,
                      #{type => <<"account">>, version => 2,
                        limits => #{subs => -1, data => -1, payload => -1,
                                    imports => -1, exports => -1, wildcards => true,
                                    conn => -1, leaf => -1}}),
    UserJwt = test_user_jwt(Acc, User, AccSeed),
    Port = free_port(),
    Base = ?config(base, Config),
    Conf = filename:join(Base, "jwt.conf"),
    ok = file:write_file(Conf, [
        "listen: \"127.0.0.1:", integer_to_list(Port), "\"\n",
        "operator: \"", OpJwt, "\"\n",
        "resolver: MEMORY\n",
        "resolver_preload: {\n",
        "  ", Acc, ": \"", AccJwt, "\"\n",
        "}\n"]),
    Log = filename:join(Base, "jwt.log"),
    Server = start_server(?config(exe, Config), ["-c", Conf], Log, Port),
    [{jwt_port, Port}, {jwt_server, Server}, {jwt_log, Log}, {account, Acc},
     {account_seed, AccSeed}, {user_jwt, UserJwt}, {user_seed, UserSeed}, {user_pub, User}
     | Config];
init_per_group(_, Config) ->
    Config.

end_per_group(auth, Config) ->
    stop_server(?config(auth_server, Config)),
    Config;
end_per_group(jwt, Config) ->
    stop_server(?config(jwt_server, Config)),
    Config;
end_per_group(_, Config) ->
    Config.

init_per_testcase(_TC, Config) ->
    Config.

end_per_testcase(_TC, Config) ->
    Config.

%%====================================================================
%% unit
%%====================================================================

parser_incremental(_Config) ->
    Stream = iolist_to_binary(
               ["INFO {\"max_payload\":1048576,\"server_id\":\"x\"}\r\n",
                "PING\r\n",
                "MSG a.b 3 5\r\nab\r\nc\r\n",
                "MSG a.b 3 reply.to 0\r\n\r\n",
                "HMSG h 4 24 27\r\nNATS/1.0\r\nK: v\r\nK: w\r\n\r\nxyz\r\n",
                "HMSG _INBOX.x 5 28 28\r\nNATS/1.0 404 No Messages\r\n\r\n\r\n",
                "+OK\r\n-ERR 'Stale Connection'\r\npong\r\n"]),
    Expected = [{info, #{<<"max_payload">> => 1048576, <<"server_id">> => <<"x">>}},
                ping,
                {msg, <<"a.b">>, 3, undefined, undefined, <<"ab\r\nc">>},
                {msg, <<"a.b">>, 3, <<"reply.to">>, undefined, <<>>},
                {msg, <<"h">>, 4, undefined, <<"NATS/1.0\r\nK: v\r\nK: w\r\n\r\n">>, <<"xyz">>},
                {msg, <<"_INBOX.x">>, 5, undefined, <<"NATS/1.0 404 No Messages\r\n\r\n">>, <<>>},
                ok, {err, <<"Stale Connection">>}, pong],
    %% every split point, and byte by byte
    lists:foreach(
      fun(N) ->
              <<A:N/binary, B/binary>> = Stream,
              ?assertEqual(Expected, feed([A, B]))
      end, lists:seq(0, byte_size(Stream))),
    ?assertEqual(Expected, feed([<<C>> || <<C>> <= Stream])),
    ?assertEqual({ok, 404, <<"No Messages">>, []},
                 nats_proto:parse_headers(<<"NATS/1.0 404 No Messages\r\n\r\n">>)),
    ?assertEqual({ok, undefined, <<>>, [{<<"K">>, <<"v">>}, {<<"K">>, <<"w">>}]},
                 nats_proto:parse_headers(<<"NATS/1.0\r\nK: v\r\nK: w\r\n\r\n">>)),
    ?assertEqual({ok, 503, <<>>, []}, nats_proto:parse_headers(<<"NATS/1.0 503\r\n\r\n">>)).

feed(Chunks) ->
    {Events, _} = lists:foldl(
                    fun(Chunk, {Acc, P}) ->
                            {ok, Evs, P1} = nats_proto:parse(Chunk, P),
                            {Acc ++ Evs, P1}
                    end, {[], nats_proto:new_parser(1048576)}, Chunks),
    Events.

parser_rejects_garbage(_Config) ->
    P = nats_proto:new_parser(1024),
    ?assertMatch({error, {unknown_operation, _}}, nats_proto:parse(<<"HELLO world\r\n">>, P)),
    ?assertMatch({error, control_line_too_long},
                 nats_proto:parse(binary:copy(<<"A">>, 70000), P)),
    ?assertMatch({error, {max_payload_exceeded, _}},
                 nats_proto:parse(<<"MSG a 1 99999999\r\n">>, P)),
    ?assertMatch({error, missing_crlf_after_payload},
                 nats_proto:parse(<<"MSG a 1 3\r\nabcXY">>, P)),
    ?assertMatch({error, bad_msg_line}, nats_proto:parse(<<"MSG a 1 -3\r\n">>, P)),
    ?assertMatch({error, bad_msg_line}, nats_proto:parse(<<"HMSG a 1 9 3\r\n">>, P)),
    ?assertMatch({error, bad_info}, nats_proto:parse(<<"INFO {nope\r\n">>, P)),
    %% garbage that is not UTF-8 must not crash the parser
    ?assertMatch({error, _}, nats_proto:parse(<<255, 254, 0, 13, 10>>, P)).

nkey_known_vector(_Config) ->
    %% Public test vector (NATS documentation): seed, public key, and the
    %% signature of nonce "DhXdTMAeiHhLDig".
    SeedText = <<"SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY">>,
    {ok, {user, Seed}} = nats_nkey:decode_seed(SeedText),
    ?assertEqual(<<"UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4">>,
                 nats_nkey:encode_public(user, nats_nkey:public_key(Seed))),
    ?assertEqual(SeedText, nats_nkey:encode_seed(user, Seed)),
    ?assertEqual(<<"WosANJXgeyxerXFo0twRiMG-_ZjYp1K_46bFeFax705yFTCTjM18jWl01gGYk4KKbadiHd-hP3WgUQ2iLZUAAA">>,
                 nats_nkey:sign(<<"DhXdTMAeiHhLDig">>, Seed)),
    %% the suite's own encoder agrees with the vector
    ?assertEqual(SeedText, test_encode_seed(Seed)),
    ?assertEqual({error, invalid_seed_checksum},
                 nats_nkey:decode_seed(<<"SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3XX">>)),
    ?assertMatch({error, _}, nats_nkey:decode_seed(<<"SUACSS">>)),
    ?assertMatch({error, _}, nats_nkey:decode_seed(<<"SUACSSL3UAHUD0KF1NVUZRF5UHPMWZ6BFDTJ7M6USDXIED8PPQYYYCU3VY">>)).

creds_file_parsing(_Config) ->
    Seed = <<"SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY">>,
    Jwt = <<"eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJzdWIiOiJVIn0.c2ln">>,
    Creds = <<"-----BEGIN NATS USER JWT-----\n", Jwt/binary,
              "\n------END NATS USER JWT------\n\n"
              "************************* IMPORTANT *************************\n"
              "NKEY Seed printed below can be used to sign and prove identity.\n\n"
              "-----BEGIN USER NKEY SEED-----\n", Seed/binary,
              "\n------END USER NKEY SEED------\n\n*************************************************************\n">>,
    {ok, #{jwt := Jwt, public := Pub}} = nats_nkey:parse_credentials(Creds),
    ?assertEqual(<<"UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4">>, Pub),
    %% CRLF line endings, bare seed file, seed-only block
    CrLf = binary:replace(Creds, <<"\n">>, <<"\r\n">>, [global]),
    ?assertMatch({ok, #{jwt := Jwt}}, nats_nkey:parse_credentials(CrLf)),
    ?assertMatch({ok, #{jwt := undefined, public := Pub}},
                 nats_nkey:parse_credentials(<<"  ", Seed/binary, "\n">>)),
    ?assertMatch({ok, #{jwt := undefined, public := Pub}},
                 nats_nkey:parse_credentials(<<"-----BEGIN USER NKEY SEED-----\n", Seed/binary,
                                               "\n------END USER NKEY SEED------\n">>)),
    ?assertEqual({error, no_seed_in_credentials}, nats_nkey:parse_credentials(<<"hello">>)),
    ?assertMatch({error, _}, nats_nkey:parse_credentials(<<255, 0, 1>>)),
    ?assertMatch({error, {read_failed, enoent}}, nats_nkey:read_credentials("/nonexistent/x.creds")).

url_parsing(_Config) ->
    {ok, U1} = nats_conn:parse_url("nats://alice:s%40cret@example.com:4223"),
    ?assertMatch({url, "example.com", 4223, <<"alice">>, <<"s@cret">>, undefined,
                  <<"nats://example.com:4223">>}, U1),
    ?assertMatch({ok, {url, {127, 0, 0, 1}, 4222, undefined, undefined, <<"tok">>, _}},
                 nats_conn:parse_url(<<"nats://tok@127.0.0.1">>)),
    ?assertMatch({ok, {url, {0, 0, 0, 0, 0, 0, 0, 1}, 5000, _, _, _, <<"nats://[::1]:5000">>}},
                 nats_conn:parse_url(<<"nats://[::1]:5000">>)),
    ?assertMatch({ok, {url, "localhost", 4222, _, _, _, _}}, nats_conn:parse_url("localhost")),
    ?assertMatch({error, {unsupported_scheme, _}}, nats_conn:parse_url("tls://h:1")),
    %% a bad URL is a configuration error: the process refuses to start
    Trap = process_flag(trap_exit, true),
    ?assertMatch({error, {bad_urls, _}}, nats_conn:start_link(bad_urls_conn, #{urls => ["http://x"]})),
    receive {'EXIT', _, _} -> ok after 1000 -> ok end,
    process_flag(trap_exit, Trap).

ack_subject_parsing(_Config) ->
    ?assertEqual({ok, #{stream => <<"S">>, consumer => <<"C">>, domain => undefined,
                        delivered => 2, stream_seq => 10, consumer_seq => 7,
                        timestamp => 1700000000000000000, pending => 3}},
                 nats_js:parse_ack_subject(<<"$JS.ACK.S.C.2.10.7.1700000000000000000.3">>)),
    ?assertEqual({ok, #{stream => <<"S">>, consumer => <<"C">>, domain => <<"hub">>,
                        delivered => 1, stream_seq => 5, consumer_seq => 4,
                        timestamp => 17, pending => 0}},
                 nats_js:parse_ack_subject(<<"$JS.ACK.hub.ACCHASH.S.C.1.5.4.17.0.rnd">>)),
    ?assertMatch({ok, #{domain := undefined}},
                 nats_js:parse_ack_subject(<<"$JS.ACK._.ACCHASH.S.C.1.5.4.17.0.rnd">>)),
    ?assertEqual(error, nats_js:parse_ack_subject(<<"$JS.ACK.S.C.x.5.4.17.0">>)),
    ?assertEqual(error, nats_js:parse_ack_subject(<<"foo.bar">>)),
    ?assertEqual(error, nats_js:parse_ack_subject(undefined)).

%%====================================================================
%% core
%%====================================================================

connect_flush(Config) ->
    C = connect(Config),
    ?assertEqual(ok, nats_conn:flush(C, ?WAIT_MS)),
    {ok, Info} = nats_conn:info(C),
    ?assertMatch(#{status := connected, connects := 1,
                   server_info := #{<<"jetstream">> := true, <<"headers">> := true}}, Info),
    ok = nats_conn:stop(C),
    ?assertEqual(undefined, whereis(C)),
    ?assertEqual(disconnected, nats_conn:status(C)).

pubsub_plain(Config) ->
    C = connect(Config),
    {ok, Sid} = nats_conn:subscribe(C, <<"plain.*">>, #{}),
    ok = nats_conn:publish(C, <<"plain.one">>, <<"hello">>),
    ok = nats_conn:publish(C, ["plain", ".", <<"two">>], [<<"io">>, $l, "ist"]),
    ?assertEqual(#{subject => <<"plain.one">>, reply => undefined, headers => [],
                   status => undefined, description => <<>>, payload => <<"hello">>},
                 recv_msg(Sid)),
    ?assertMatch(#{subject := <<"plain.two">>, payload := <<"iolist">>}, recv_msg(Sid)),
    ?assertEqual({error, invalid_subject}, nats_conn:publish(C, <<"bad subject">>, <<>>)),
    ?assertEqual({error, invalid_subject}, nats_conn:publish(C, <<>>, <<>>)),
    ?assertEqual({error, invalid_subject}, nats_conn:subscribe(C, <<"a\r\nPUB x 1">>, #{})).

pubsub_headers(Config) ->
    C = connect(Config),
    {ok, Sid} = nats_conn:subscribe(C, <<"hdr.>">>, #{}),
    Headers = [{<<"X-One">>, <<"1">>}, {<<"X-Two">>, <<"two words">>}, {<<"X-One">>, <<"again">>}],
    ok = nats_conn:publish(C, <<"hdr.a">>, Headers, <<"body">>),
    ?assertMatch(#{headers := Headers, payload := <<"body">>, status := undefined},
                 recv_msg(Sid)),
    ok = nats_conn:publish(C, <<"hdr.b">>, [{<<"K">>, <<"v">>}], <<>>),
    ?assertMatch(#{headers := [{<<"K">>, <<"v">>}], payload := <<>>}, recv_msg(Sid)),
    ?assertEqual({error, invalid_headers},
                 nats_conn:publish(C, <<"hdr.c">>, [{<<"K">>, <<"v\r\nX: y">>}], <<>>)),
    ?assertEqual({error, invalid_headers},
                 nats_conn:publish(C, <<"hdr.c">>, [{<<"K:">>, <<"v">>}], <<>>)).

pubsub_payload_edges(Config) ->
    C = connect(Config),
    {ok, Sid} = nats_conn:subscribe(C, <<"edge">>, #{}),
    Big = crypto:strong_rand_bytes(1000000),
    Payloads = [<<>>, <<"\r\n">>, <<"a\r\nb\r\n">>, <<"MSG edge 1 3\r\nabc\r\n">>,
                <<"PING\r\n">>, Big],
    [begin
         ok = nats_conn:publish(C, <<"edge">>, P),
         ?assertEqual(P, maps:get(payload, recv_msg(Sid))),
         ok = nats_conn:publish(C, <<"edge">>, [{<<"H">>, <<"x">>}], P),
         ?assertMatch(#{payload := P, headers := [{<<"H">>, <<"x">>}]}, recv_msg(Sid))
     end || P <- Payloads],
    ?assertEqual(connected, nats_conn:status(C)).

max_payload(Config) ->
    C = connect(Config),
    {ok, #{max_payload := Max}} = nats_conn:info(C),
    ?assertEqual(1048576, Max),
    ?assertEqual({error, max_payload}, nats_conn:publish(C, <<"big">>, binary:copy(<<0>>, Max + 1))),
    ?assertEqual({error, max_payload},
                 nats_conn:publish(C, <<"big">>, [{<<"H">>, <<"v">>}], binary:copy(<<0>>, Max))),
    ?assertEqual({error, max_payload},
                 nats_conn:request(C, <<"big">>, binary:copy(<<0>>, Max + 1), 1000)),
    ?assertEqual(ok, nats_conn:publish(C, <<"big">>, binary:copy(<<0>>, Max))),
    ?assertEqual(ok, nats_conn:flush(C, ?WAIT_MS)).

request_reply(Config) ->
    C = connect(Config),
    start_responder(C, <<"svc.echo">>, #{}),
    {ok, Msg} = nats_conn:request(C, <<"svc.echo">>, <<"ping">>, ?WAIT_MS),
    ?assertMatch(#{payload := <<"echo:ping">>, headers := [{<<"Echo">>, <<"yes">>}]}, Msg),
    {ok, Msg2} = nats_conn:request(C, <<"svc.echo">>, [{<<"In">>, <<"h">>}], <<"x">>, ?WAIT_MS),
    ?assertMatch(#{payload := <<"echo:x">>, headers := [{<<"Echo">>, <<"yes">>}, {<<"In">>, <<"h">>}]},
                 Msg2),
    ?assertMatch(#{pending_requests := 0}, info(C)).

no_responders(Config) ->
    C = connect(Config),
    ?assertEqual({error, no_responders}, nats_conn:request(C, <<"nobody.home">>, <<"?">>, ?WAIT_MS)),
    ?assertMatch(#{pending_requests := 0}, info(C)).

request_timeout(Config) ->
    C = connect(Config),
    %% a subscriber that never answers: interest exists, so no 503
    Silent = spawn_link(fun() -> {ok, _} = nats_conn:subscribe(C, <<"svc.silent">>, #{}),
                                 receive never -> ok end end),
    wait_until(fun() -> maps:get(subscriptions, info(C)) >= 1 end),
    ?assertEqual({error, timeout}, nats_conn:request(C, <<"svc.silent">>, <<>>, 300)),
    %% the timed-out request was cancelled in the connection
    wait_until(fun() -> maps:get(pending_requests, info(C)) =:= 0 end),
    unlink(Silent),
    exit(Silent, kill).

concurrent_requests(Config) ->
    C = connect(Config),
    start_responder(C, <<"svc.conc">>, #{queue => <<"q">>}),
    start_responder(C, <<"svc.conc">>, #{queue => <<"q">>}),
    Self = self(),
    Workers = [spawn_link(fun() ->
                                  Reqs = [spawn_monitor(fun() -> exit(one_request(C, W, I)) end)
                                          || I <- lists:seq(1, 100)],
                                  Results = [receive {'DOWN', M, process, P, R} -> R end
                                             || {P, M} <- Reqs],
                                  Self ! {worker, W, Results}
                          end) || W <- lists:seq(1, 10)],
    Results = lists:append([receive {worker, W, R} -> R after 60000 -> ct:fail(worker_timeout) end
                            || W <- lists:seq(1, length(Workers))]),
    ?assertEqual(1000, length(Results)),
    ?assertEqual([ok], lists:usort(Results)),
    ?assertMatch(#{pending_requests := 0}, info(C)).

one_request(C, W, I) ->
    Payload = iolist_to_binary(io_lib:format("~b/~b", [W, I])),
    case nats_conn:request(C, <<"svc.conc">>, Payload, 30000) of
        {ok, #{payload := <<"echo:", Payload/binary>>}} -> ok;
        Other -> {bad, Other}
    end.

queue_group(Config) ->
    C = connect(Config),
    Self = self(),
    Members = [spawn_link(fun() ->
                                  {ok, Sid} = nats_conn:subscribe(C, <<"qg.work">>, #{queue => <<"workers">>}),
                                  Self ! {ready, self()},
                                  queue_member(Self, Sid)
                          end) || _ <- [1, 2, 3]],
    [receive {ready, P} -> ok end || P <- Members],
    [ok = nats_conn:publish(C, <<"qg.work">>, integer_to_binary(N)) || N <- lists:seq(1, 30)],
    Got = [receive {qgot, B} -> binary_to_integer(B) after ?WAIT_MS -> ct:fail(missing) end
           || _ <- lists:seq(1, 30)],
    %% each message exactly once across the group
    ?assertEqual(lists:seq(1, 30), lists:sort(Got)),
    ok = marker(C),
    receive {qgot, Extra} -> ct:fail({duplicate_delivery, Extra}) after 0 -> ok end.

queue_member(Parent, Sid) ->
    receive
        {nats_msg, Sid, #{payload := P}} -> Parent ! {qgot, P}, queue_member(Parent, Sid)
    end.

unsubscribe(Config) ->
    C = connect(Config),
    {ok, Sid} = nats_conn:subscribe(C, <<"unsub.x">>, #{}),
    ok = nats_conn:publish(C, <<"unsub.x">>, <<"1">>),
    ?assertMatch(#{payload := <<"1">>}, recv_msg(Sid)),
    ok = nats_conn:unsubscribe(C, Sid),
    ?assertEqual({error, not_found}, nats_conn:unsubscribe(C, Sid)),
    ok = nats_conn:publish(C, <<"unsub.x">>, <<"2">>),
    ok = marker(C),
    receive {nats_msg, Sid, M} -> ct:fail({after_unsubscribe, M}) after 0 -> ok end,
    %% the server no longer has interest either
    ?assertEqual({error, no_responders}, nats_conn:request(C, <<"unsub.x">>, <<>>, ?WAIT_MS)).

subscriber_death(Config) ->
    C = connect(Config),
    Base = maps:get(subscriptions, info(C)),
    Self = self(),
    Pid = spawn(fun() ->
                        {ok, _} = nats_conn:subscribe(C, <<"death.x">>, #{}),
                        Self ! subscribed,
                        receive never -> ok end
                end),
    receive subscribed -> ok end,
    ?assertEqual(Base + 1, maps:get(subscriptions, info(C))),
    exit(Pid, kill),
    wait_until(fun() -> maps:get(subscriptions, info(C)) =:= Base end),
    %% UNSUB reached the server: nobody is listening any more
    ?assertEqual({error, no_responders}, nats_conn:request(C, <<"death.x">>, <<>>, ?WAIT_MS)).

inbox(Config) ->
    C = connect(Config),
    {ok, Inbox, Ref} = nats_conn:open_inbox(C),
    ?assertMatch(<<"_INBOX.", _/binary>>, Inbox),
    [ok = nats_conn:publish(C, Inbox, integer_to_binary(N)) || N <- [1, 2, 3]],
    [?assertMatch({nats_inbox, Ref, #{payload := Expected}},
                  receive {nats_inbox, Ref, _} = M -> M after ?WAIT_MS -> timeout end)
     || Expected <- [<<"1">>, <<"2">>, <<"3">>]],
    ok = nats_conn:publish(C, Inbox, <<"late">>),
    ok = nats_conn:flush(C, ?WAIT_MS),
    wait_until(fun() -> {messages, Ms} = process_info(self(), messages),
                        lists:keymember(nats_inbox, 1, Ms) end),
    %% close drops what is still queued for it
    ok = nats_conn:close_inbox(C, Ref),
    receive {nats_inbox, Ref, _} -> ct:fail(not_flushed) after 0 -> ok end,
    ?assertEqual({error, not_found}, nats_conn:close_inbox(C, Ref)),
    %% an inbox whose owner dies is removed
    Base = maps:get(subscriptions, info(C)),
    Self = self(),
    Owner = spawn(fun() -> {ok, _, _} = nats_conn:open_inbox(C), Self ! opened,
                           receive never -> ok end end),
    receive opened -> ok end,
    ?assertEqual(Base + 1, maps:get(subscriptions, info(C))),
    exit(Owner, kill),
    wait_until(fun() -> maps:get(subscriptions, info(C)) =:= Base end).

urls_first_dead(Config) ->
    Dead = free_port(),
    C = connect(Config, #{urls => [url(Dead), list_to_binary(url(?config(port, Config)))]}),
    ?assertEqual(ok, nats_conn:flush(C, ?WAIT_MS)),
    Expected = list_to_binary(url(?config(port, Config))),
    ?assertMatch(#{url := Expected}, info(C)).

not_connected(_Config) ->
    Dead = free_port(),
    {ok, _} = nats_conn:start_link(nc_dead, #{urls => url(Dead), reconnect_max_ms => 200}),
    wait_until(fun() -> ?MATCHES(#{last_error := {connect_failed, econnrefused}}, info(nc_dead)) end),
    ?assertEqual(disconnected, nats_conn:status(nc_dead)),
    ?assertEqual({error, not_connected}, nats_conn:publish(nc_dead, <<"x">>, <<>>)),
    ?assertEqual({error, not_connected}, nats_conn:request(nc_dead, <<"x">>, <<>>, 1000)),
    ?assertEqual({error, not_connected}, nats_conn:flush(nc_dead, 1000)),
    %% subscribing while disconnected is fine (sent on connect)
    ?assertMatch({ok, _}, nats_conn:subscribe(nc_dead, <<"x">>, #{})),
    ?assertEqual({error, noproc}, nats_conn:publish(no_such_conn, <<"x">>, <<>>)).

%%====================================================================
%% auth
%%====================================================================

user_pass_url(Config) ->
    P = integer_to_list(?config(auth_port, Config)),
    C = connect(Config, #{urls => "nats://alice:s3cret@127.0.0.1:" ++ P}),
    ?assertEqual(ok, nats_conn:flush(C, ?WAIT_MS)),
    {ok, _} = nats_conn:start_link(auth_bad_pass, #{urls => "nats://alice:wrong@127.0.0.1:" ++ P}),
    wait_until(fun() -> is_auth_violation(info(auth_bad_pass)) end),
    ?assertEqual(disconnected, nats_conn:status(auth_bad_pass)),
    %% and without any credentials
    {ok, _} = nats_conn:start_link(auth_none, #{urls => "nats://127.0.0.1:" ++ P}),
    wait_until(fun() -> is_auth_violation(info(auth_none)) end).

token_url(Config) ->
    Port = free_port(),
    Server = start_server(?config(exe, Config),
                          ["-p", integer_to_list(Port), "-a", "127.0.0.1", "--auth", "t0ken"],
                          filename:join(?config(base, Config), "token.log"), Port),
    try
        C = connect(Config, #{urls => "nats://t0ken@127.0.0.1:" ++ integer_to_list(Port)}),
        ?assertEqual(ok, nats_conn:flush(C, ?WAIT_MS)),
        {ok, _} = nats_conn:start_link(tok_bad, #{urls => "nats://nope@127.0.0.1:" ++ integer_to_list(Port)}),
        wait_until(fun() -> is_auth_violation(info(tok_bad)) end)
    after
        stop_server(Server)
    end.

nkey_seed_file(Config) ->
    Seed = ?config(user_seed, Config),
    Dir = ?config(priv_dir, Config),
    %% a bare seed file ...
    Bare = filename:join(Dir, "user.nk"),
    ok = file:write_file(Bare, [test_encode_seed(Seed), "\n"]),
    C1 = connect(Config, #{urls => auth_url(Config), credentials => Bare}),
    ?assertEqual(ok, nats_conn:flush(C1, ?WAIT_MS)),
    %% ... and the .creds block format (no JWT: nkey auth)
    Creds = filename:join(Dir, "user.creds"),
    ok = file:write_file(Creds, ["-----BEGIN USER NKEY SEED-----\n", test_encode_seed(Seed),
                                 "\n------END USER NKEY SEED------\n"]),
    {ok, _} = nats_conn:start_link(nkey_creds, #{urls => auth_url(Config), credentials => Creds}),
    wait_connected(nkey_creds),
    ?assertEqual(ok, nats_conn:flush(nkey_creds, ?WAIT_MS)).

nkey_wrong_seed(Config) ->
    Path = filename:join(?config(priv_dir, Config), "wrong.nk"),
    ok = file:write_file(Path, test_encode_seed(crypto:strong_rand_bytes(32))),
    {ok, _} = nats_conn:start_link(nkey_wrong, #{urls => auth_url(Config), credentials => Path}),
    wait_until(fun() -> is_auth_violation(info(nkey_wrong)) end),
    ?assertEqual(disconnected, nats_conn:status(nkey_wrong)).

creds_file_fixed_later(Config) ->
    Path = filename:join(?config(priv_dir, Config), "later.creds"),
    ok = file:write_file(Path, <<"SUNOTAVALIDSEEDATALL\n">>),
    {ok, _} = nats_conn:start_link(nkey_later, #{urls => auth_url(Config), credentials => Path,
                                                 reconnect_max_ms => 300}),
    wait_until(fun() -> ?MATCHES(#{last_error := {credentials, Path, _}}, info(nkey_later)) end),
    ?assertEqual(disconnected, nats_conn:status(nkey_later)),
    ok = file:delete(Path),
    wait_until(fun() -> ?MATCHES(#{last_error := {credentials, Path, {read_failed, enoent}}},
                              info(nkey_later)) end),
    %% fixing the file is picked up by the next retry
    ok = file:write_file(Path, test_encode_seed(?config(user_seed, Config))),
    wait_connected(nkey_later).

%%====================================================================
%% jwt (operator mode)
%%====================================================================

jwt_creds_file(Config) ->
    Creds = write_creds(Config, "user.creds", ?config(user_jwt, Config),
                        test_encode_seed(?config(user_seed, Config))),
    C = connect(Config, #{urls => jwt_url(Config), credentials => Creds}),
    ?assertEqual(ok, nats_conn:flush(C, ?WAIT_MS)),
    %% the server really was in nonce/JWT mode
    ?assertMatch(#{server_info := #{<<"nonce">> := _}}, info(C)),
    {ok, Sid} = nats_conn:subscribe(C, <<"jwt.>">>, #{}),
    ok = nats_conn:publish(C, <<"jwt.hello">>, <<"signed">>),
    ?assertMatch(#{subject := <<"jwt.hello">>, payload := <<"signed">>}, recv_msg(Sid)),
    _ = start_responder(C, <<"jwt.svc">>, #{}),
    ?assertMatch({ok, #{payload := <<"echo:ping">>}},
                 nats_conn:request(C, <<"jwt.svc">>, <<"ping">>, ?WAIT_MS)),
    ?assertMatch(#{status := connected, connects := 1}, info(C)).

jwt_creds_wrong_seed(Config) ->
    %% right user JWT, but the nonce is signed with another user's key
    Creds = write_creds(Config, "wrong_seed.creds", ?config(user_jwt, Config),
                        test_encode_seed(crypto:strong_rand_bytes(32))),
    expect_jwt_refused(Config, jwt_wrong_seed, Creds).

jwt_user_not_signed_by_account(Config) ->
    Acc = ?config(account, Config),
    {UserPub, UserSeed} = crypto:generate_key(eddsa, ed25519),
    User = test_encode(?NKEY_USER, UserPub),
    {_, OtherSeed} = crypto:generate_key(eddsa, ed25519),
    %% claims to be issued by the account, signed by some other key
    Forged = test_user_jwt(Acc, User, OtherSeed),
    expect_jwt_refused(Config, jwt_forged,
                       write_creds(Config, "forged.creds", Forged, test_encode_seed(UserSeed))),
    %% issued (and correctly signed) by an account the operator never signed
    {OtherAccPub, OtherAccSeed} = crypto:generate_key(eddsa, ed25519),
    Unknown = test_user_jwt(test_encode(?NKEY_ACCOUNT, OtherAccPub), User, OtherAccSeed),
    expect_jwt_refused(Config, jwt_unknown_account,
                       write_creds(Config, "unknown.creds", Unknown, test_encode_seed(UserSeed))),
    %% control: the same user key, issued by the real account, gets in
    Good = test_user_jwt(Acc, User, ?config(account_seed, Config)),
    C = connect(Config, #{urls => jwt_url(Config),
                          credentials => write_creds(Config, "good.creds", Good,
                                                     test_encode_seed(UserSeed))}),
    ?assertEqual(ok, nats_conn:flush(C, ?WAIT_MS)).

expect_jwt_refused(Config, Name, Creds) ->
    Log = ?config(jwt_log, Config),
    Before = auth_errors_logged(Log),
    {ok, _} = nats_conn:start_link(Name, #{urls => jwt_url(Config), credentials => Creds,
                                           reconnect_max_ms => 300}),
    wait_until(fun() -> is_auth_violation(info(Name)) end),
    %% the server logged the refusal too
    wait_until(fun() -> auth_errors_logged(Log) > Before end),
    %% never got in, on any attempt
    ?assertMatch(#{status := disconnected, connects := 0}, info(Name)),
    ok = nats_conn:stop(Name).

auth_errors_logged(Log) ->
    {ok, Text} = file:read_file(Log),
    length(binary:matches(Text, <<"authentication error">>)).

jwt_url(Config) ->
    url(?config(jwt_port, Config)).

write_creds(Config, File, Jwt, SeedText) ->
    %% byte for byte the layout nsc / jwt.FormatUserConfig writes
    Path = filename:join(?config(priv_dir, Config), File),
    ok = file:write_file(Path, [
        "-----BEGIN NATS USER JWT-----\n", Jwt, "\n------END NATS USER JWT------\n\n",
        "************************* IMPORTANT *************************\n"
        "NKEY Seed printed below can be used to sign and prove identity.\n"
        "NKEYs are sensitive and should be treated as secrets.\n\n"
        "-----BEGIN USER NKEY SEED-----\n", SeedText, "\n------END USER NKEY SEED------\n\n"
        "*************************************************************\n"]),
    Path.

%%====================================================================
%% jetstream
%%====================================================================

js_ensure_stream(Config) ->
    C = connect(Config),
    Cfg = #{name => <<"ENS">>, subjects => [<<"ens.a">>], retention => workqueue, storage => file},
    {ok, #{<<"config">> := #{<<"retention">> := <<"workqueue">>, <<"storage">> := <<"file">>}}} =
        nats_js:ensure_stream(C, Cfg),
    {ok, _} = nats_js:ensure_stream(C, Cfg),
    %% a changed field is updated in place (create reports 10058 first)
    {ok, #{<<"config">> := #{<<"subjects">> := Subjects}}} =
        nats_js:ensure_stream(C, Cfg#{subjects => [<<"ens.a">>, <<"ens.b">>]}),
    ?assertEqual([<<"ens.a">>, <<"ens.b">>], lists:sort(Subjects)),
    {ok, #{<<"config">> := #{<<"subjects">> := Subjects2}}} = nats_js:stream_info(C, <<"ENS">>),
    ?assertEqual([<<"ens.a">>, <<"ens.b">>], lists:sort(Subjects2)),
    %% same again: no change, still fine
    {ok, _} = nats_js:ensure_stream(C, Cfg#{subjects => [<<"ens.b">>, <<"ens.a">>]}),
    ?assertEqual({error, invalid_stream_name}, nats_js:ensure_stream(C, #{name => <<"a.b">>})),
    ok = nats_js:delete_stream(C, <<"ENS">>),
    ?assertMatch({error, {jetstream, 404, 10059, _}}, nats_js:stream_info(C, <<"ENS">>)).

js_ensure_consumer(Config) ->
    C = connect(Config),
    ok = stream(C, <<"ENC">>, [<<"enc.>">>]),
    Cfg = #{durable_name => <<"W">>, filter_subject => <<"enc.*">>, ack_wait => 30000,
            max_deliver => 5},
    {ok, #{<<"config">> := #{<<"ack_wait">> := 30000000000, <<"ack_policy">> := <<"explicit">>,
                             <<"max_deliver">> := 5, <<"filter_subject">> := <<"enc.*">>}}} =
        nats_js:ensure_consumer(C, <<"ENC">>, Cfg),
    {ok, _} = nats_js:ensure_consumer(C, <<"ENC">>, Cfg),
    {ok, #{<<"config">> := #{<<"ack_wait">> := 10000000000}}} =
        nats_js:ensure_consumer(C, <<"ENC">>, Cfg#{ack_wait => 10000}),
    {ok, #{<<"config">> := #{<<"ack_wait">> := 10000000000}}} =
        nats_js:consumer_info(C, <<"ENC">>, <<"W">>),
    %% a filter with '>' and one without a filter (on another stream:
    %% workqueue consumers must not overlap)
    {ok, _} = nats_js:ensure_consumer(C, <<"ENC">>, #{durable_name => <<"W2">>,
                                                      filter_subject => <<"enc.x.>">>}),
    ok = stream(C, <<"ENC2">>, [<<"enc2">>]),
    {ok, #{<<"config">> := Cfg2}} = nats_js:ensure_consumer(C, <<"ENC2">>, #{durable_name => <<"ALL">>}),
    ?assertNot(maps:is_key(<<"filter_subject">>, Cfg2)),
    ?assertMatch({error, {jetstream, 404, 10014, _}}, nats_js:consumer_info(C, <<"ENC">>, <<"NOPE">>)),
    ?assertEqual({error, invalid_name}, nats_js:ensure_consumer(C, <<"ENC">>, #{durable_name => <<"a.b">>})),
    ok = nats_js:delete_consumer(C, <<"ENC">>, <<"W2">>).

js_publish(Config) ->
    C = connect(Config),
    ok = stream(C, <<"PUB">>, [<<"pub.>">>]),
    {ok, #{stream := <<"PUB">>, seq := 1, duplicate := false}} =
        nats_js:publish(C, <<"pub.a">>, [], <<"1">>, ?WAIT_MS),
    {ok, #{seq := 2}} = nats_js:publish(C, <<"pub.a">>, [{<<"Nats-Msg-Id">>, <<"m-1">>}], <<"2">>, ?WAIT_MS),
    {ok, #{seq := 2, duplicate := true}} =
        nats_js:publish(C, <<"pub.a">>, [{<<"Nats-Msg-Id">>, <<"m-1">>}], <<"2">>, ?WAIT_MS),
    {ok, #{seq := 3}} = nats_js:publish(C, <<"pub.b">>, [], <<>>, ?WAIT_MS),
    ?assertEqual({error, no_responders}, nats_js:publish(C, <<"nostream.a">>, [], <<"x">>, ?WAIT_MS)),
    %% expected-stream mismatch comes back as a JetStream error
    ?assertMatch({error, {jetstream, 400, _, _}},
                 nats_js:publish(C, <<"pub.a">>, [{<<"Nats-Expected-Stream">>, <<"OTHER">>}], <<>>, ?WAIT_MS)).

js_fetch_no_wait(Config) ->
    C = connect(Config),
    ok = stream(C, <<"FNW">>, [<<"fnw.>">>]),
    ok = consumer(C, <<"FNW">>, <<"W">>, #{}),
    %% The client-side timeout is far beyond the timetrap: these only pass
    %% if the server ends a short batch by itself (404 No Messages).
    Long = #{timeout_ms => 600000},
    ?assertEqual({ok, []}, nats_js:fetch(C, <<"FNW">>, <<"W">>, 5, Long)),
    publish_n(C, <<"fnw.a">>, 3),
    %% a consumer learns of new messages asynchronously: wait until it
    %% counts them, or a no_wait pull may see fewer (seen under load)
    wait_pending(C, <<"FNW">>, <<"W">>, 3),
    {ok, Three} = nats_js:fetch(C, <<"FNW">>, <<"W">>, 5, Long),
    ?assertEqual([<<"1">>, <<"2">>, <<"3">>], [P || #{payload := P} <- Three]),
    ?assertMatch([#{stream := <<"FNW">>, consumer := <<"W">>, stream_seq := 1, consumer_seq := 1,
                    delivered := 1, pending := 2, subject := <<"fnw.a">>},
                  #{stream_seq := 2, pending := 1},
                  #{stream_seq := 3, pending := 0}], Three),
    publish_n(C, <<"fnw.b">>, 7),
    wait_pending(C, <<"FNW">>, <<"W">>, 7),
    {ok, Five} = nats_js:fetch(C, <<"FNW">>, <<"W">>, 5, Long),
    ?assertEqual(5, length(Five)),
    ?assertMatch([#{stream_seq := 4, pending := 6} | _], Five),
    {ok, Two} = nats_js:fetch(C, <<"FNW">>, <<"W">>, 5, Long),
    ?assertEqual([9, 10], [S || #{stream_seq := S} <- Two]),
    ?assertEqual({ok, []}, nats_js:fetch(C, <<"FNW">>, <<"W">>, 5, Long)),
    [ok = nats_js:ack(C, M) || M <- Three ++ Five ++ Two],
    ?assertMatch(#{subscriptions := 0}, info(C)),
    %% a consumer that does not exist: no responders
    ?assertEqual({error, no_responders}, nats_js:fetch(C, <<"FNW">>, <<"NOPE">>, 1, Long)).

js_fetch_expires(Config) ->
    C = connect(Config),
    ok = stream(C, <<"FEX">>, [<<"fex.>">>]),
    ok = consumer(C, <<"FEX">>, <<"W">>, #{}),
    %% nothing arrives: the server ends the long poll (408) well before
    %% the client-side timeout
    ?assertEqual({ok, []}, nats_js:fetch(C, <<"FEX">>, <<"W">>, 2,
                                         #{expires_ms => 300, timeout_ms => 600000})),
    %% a message published while the pull waits is delivered to it
    Self = self(),
    spawn_link(fun() ->
                       Self ! {fetched, nats_js:fetch(C, <<"FEX">>, <<"W">>, 1, #{expires_ms => 30000})}
               end),
    wait_until(fun() ->
                       {ok, #{<<"num_waiting">> := N}} = nats_js:consumer_info(C, <<"FEX">>, <<"W">>),
                       N >= 1
               end),
    publish_n(C, <<"fex.a">>, 1),
    receive
        {fetched, R} -> ?assertMatch({ok, [#{payload := <<"1">>, stream_seq := 1}]}, R)
    after 30000 -> ct:fail(long_poll_not_answered)
    end.

js_ack(Config) ->
    C = connect(Config),
    ok = stream(C, <<"ACK">>, [<<"ack.>">>]),
    ok = consumer(C, <<"ACK">>, <<"W">>, #{}),
    publish_n(C, <<"ack.a">>, 2),
    %% a long poll: a consumer learns of new messages asynchronously, so a
    %% no_wait pull just after the publish can find none (seen under load)
    {ok, [M1, M2]} = nats_js:fetch(C, <<"ACK">>, <<"W">>, 2, #{expires_ms => ?WAIT_MS}),
    ?assertEqual(2, stream_msgs(C, <<"ACK">>)),
    ok = nats_js:ack(C, M1),
    %% double ack: confirmed by the server, so it is gone from the workqueue now
    ?assertEqual(1, stream_msgs(C, <<"ACK">>)),
    ok = nats_js:ack(C, maps:get(reply, M2)),
    ?assertEqual(0, stream_msgs(C, <<"ACK">>)),
    ?assertEqual({error, no_reply_subject}, nats_js:ack(C, #{reply => undefined})).

js_nak(Config) ->
    C = connect(Config),
    ok = stream(C, <<"NAK">>, [<<"nak.>">>]),
    ok = consumer(C, <<"NAK">>, <<"W">>, #{}),
    publish_n(C, <<"nak.a">>, 1),
    {ok, [#{delivered := 1, stream_seq := 1} = M]} = nats_js:fetch(C, <<"NAK">>, <<"W">>, 1, #{expires_ms => ?WAIT_MS}),
    ok = nats_js:nak(C, M),
    {ok, [#{delivered := 2, stream_seq := 1} = M2]} =
        wait_fetch(C, <<"NAK">>, <<"W">>),
    ok = nats_js:ack(C, M2),
    ?assertEqual(0, stream_msgs(C, <<"NAK">>)).

js_nak_delay(Config) ->
    C = connect(Config),
    ok = stream(C, <<"NAKD">>, [<<"nakd.>">>]),
    ok = consumer(C, <<"NAKD">>, <<"W">>, #{}),
    publish_n(C, <<"nakd.a">>, 1),
    {ok, [M]} = nats_js:fetch(C, <<"NAKD">>, <<"W">>, 1, #{expires_ms => ?WAIT_MS}),
    Delay = 1500,
    T0 = erlang:monotonic_time(millisecond),
    ok = nats_js:nak(C, M, Delay),
    {ok, [#{delivered := 2, stream_seq := 1} = M2]} = wait_fetch(C, <<"NAKD">>, <<"W">>),
    %% lower bound only: the redelivery did not come before the delay
    ?assert(erlang:monotonic_time(millisecond) - T0 >= Delay),
    ok = nats_js:ack(C, M2).

js_term(Config) ->
    C = connect(Config),
    ok = stream(C, <<"TERM">>, [<<"term.>">>]),
    ok = consumer(C, <<"TERM">>, <<"W">>, #{ack_wait => 60000}),
    publish_n(C, <<"term.a">>, 1),
    {ok, [M]} = nats_js:fetch(C, <<"TERM">>, <<"W">>, 1, #{expires_ms => ?WAIT_MS}),
    ?assertMatch({ok, #{<<"num_ack_pending">> := 1}}, nats_js:consumer_info(C, <<"TERM">>, <<"W">>)),
    ok = nats_js:term(C, M),
    %% no longer pending (without term it would stay pending for 60 s) and
    %% never redelivered
    wait_until(fun() ->
                       ?MATCHES({ok, #{<<"num_ack_pending">> := 0}},
                             nats_js:consumer_info(C, <<"TERM">>, <<"W">>))
               end),
    ?assertEqual({ok, []}, nats_js:fetch(C, <<"TERM">>, <<"W">>, 1, #{})),
    ?assertEqual(0, stream_msgs(C, <<"TERM">>)).

js_in_progress(Config) ->
    C = connect(Config),
    ok = stream(C, <<"WPI">>, [<<"wpi.>">>]),
    AckWait = 2000,
    ok = consumer(C, <<"WPI">>, <<"W">>, #{ack_wait => AckWait}),
    publish_n(C, <<"wpi.a">>, 1),
    {ok, [M]} = nats_js:fetch(C, <<"WPI">>, <<"W">>, 1, #{expires_ms => ?WAIT_MS}),
    T0 = erlang:monotonic_time(millisecond),
    %% keep reporting progress for well over one ack_wait
    keep_in_progress(C, M, T0 + 2 * AckWait),
    ?assert(erlang:monotonic_time(millisecond) - T0 >= 2 * AckWait),
    %% ... so the message was not redelivered
    ?assertEqual({ok, []}, nats_js:fetch(C, <<"WPI">>, <<"W">>, 1, #{})),
    ?assertMatch({ok, #{<<"num_redelivered">> := 0, <<"num_ack_pending">> := 1}},
                 nats_js:consumer_info(C, <<"WPI">>, <<"W">>)),
    %% control: without progress reports it is redelivered after ack_wait
    {ok, [#{delivered := 2, stream_seq := 1} = M2]} = wait_fetch(C, <<"WPI">>, <<"W">>),
    ok = nats_js:ack(C, M2).

keep_in_progress(C, M, Until) ->
    case erlang:monotonic_time(millisecond) >= Until of
        true ->
            ok;
        false ->
            ok = nats_js:in_progress(C, M),
            timer:sleep(200),
            keep_in_progress(C, M, Until)
    end.

js_get_msg(Config) ->
    C = connect(Config),
    ok = stream(C, <<"GET">>, [<<"get.>">>]),
    {ok, #{seq := 1}} = nats_js:publish(C, <<"get.a">>, [], <<"a1">>, ?WAIT_MS),
    {ok, #{seq := 2}} = nats_js:publish(C, <<"get.b">>, [{<<"X-K">>, <<"v1">>}, {<<"X-L">>, <<"v 2">>}],
                                         <<"b\r\n1">>, ?WAIT_MS),
    {ok, #{seq := 3}} = nats_js:publish(C, <<"get.b">>, [], <<>>, ?WAIT_MS),
    ?assertMatch({ok, #{seq := 2, subject := <<"get.b">>, payload := <<"b\r\n1">>,
                        headers := [{<<"X-K">>, <<"v1">>}, {<<"X-L">>, <<"v 2">>}]}},
                 nats_js:get_msg(C, <<"GET">>, #{next_by_subj => <<"get.b">>})),
    ?assertMatch({ok, #{seq := 3, payload := <<>>, headers := []}},
                 nats_js:get_msg(C, <<"GET">>, #{seq => 3, next_by_subj => <<"get.b">>})),
    ?assertMatch({ok, #{seq := 1, payload := <<"a1">>}}, nats_js:get_msg(C, <<"GET">>, #{seq => 1})),
    ?assertMatch({ok, #{seq := 3}}, nats_js:get_msg(C, <<"GET">>, #{last_by_subj => <<"get.b">>})),
    ?assertEqual({error, not_found}, nats_js:get_msg(C, <<"GET">>, #{seq => 4, next_by_subj => <<"get.b">>})),
    ?assertEqual({error, not_found}, nats_js:get_msg(C, <<"GET">>, #{next_by_subj => <<"get.none">>})).

js_stream_info_filter(Config) ->
    C = connect(Config),
    ok = stream(C, <<"SIF">>, [<<"sif.>">>]),
    publish_n(C, <<"sif.a">>, 2),
    publish_n(C, <<"sif.b">>, 1),
    publish_n(C, <<"sif.c.d">>, 3),
    {ok, #{<<"state">> := #{<<"subjects">> := All, <<"messages">> := 6}}} =
        nats_js:stream_info(C, <<"SIF">>, <<">">>),
    ?assertEqual(#{<<"sif.a">> => 2, <<"sif.b">> => 1, <<"sif.c.d">> => 3}, All),
    {ok, #{<<"state">> := #{<<"subjects">> := Some}}} = nats_js:stream_info(C, <<"SIF">>, <<"sif.*">>),
    ?assertEqual(#{<<"sif.a">> => 2, <<"sif.b">> => 1}, Some),
    {ok, #{<<"state">> := #{<<"subjects">> := None}}} = nats_js:stream_info(C, <<"SIF">>, <<"zzz">>),
    ?assertEqual(#{}, None),
    %% without a filter there is no per-subject map
    {ok, #{<<"state">> := Plain}} = nats_js:stream_info(C, <<"SIF">>),
    ?assertNot(maps:is_key(<<"subjects">>, Plain)).

js_errors(Config) ->
    C = connect(Config),
    ?assertMatch({error, {jetstream, 404, 10059, <<"stream not found">>}},
                 nats_js:stream_info(C, <<"MISSING">>)),
    ?assertMatch({error, {jetstream, 404, 10059, _}}, nats_js:delete_stream(C, <<"MISSING">>)),
    ?assertMatch({error, {jetstream, 404, _, _}},
                 nats_js:ensure_consumer(C, <<"MISSING">>, #{durable_name => <<"X">>})),
    ?assertEqual({error, no_responders}, nats_js:fetch(C, <<"MISSING">>, <<"X">>, 1, #{})),
    ?assertEqual({error, invalid_name}, nats_js:fetch(C, <<"A.B">>, <<"X">>, 1, #{})).

%%====================================================================
%% resilience
%%====================================================================

protocol_garbage(_Config) ->
    Cases = [{<<"GARBAGE here\r\n">>, {protocol_error, {unknown_operation, <<"GARBAGE">>}}},
             {binary:copy(<<"Z">>, 70000), {protocol_error, control_line_too_long}},
             {<<"MSG foo 1 99999999\r\n">>, {protocol_error, {max_payload_exceeded, 99999999}}},
             {<<"MSG foo 1 3\r\nabcXY">>, {protocol_error, missing_crlf_after_payload}}],
    lists:foreach(
      fun({Garbage, Expected}) ->
              Fake = fake_server(fun(Sock) -> handshake_then(Sock, Garbage) end),
              Name = list_to_atom("garbage_" ++ integer_to_list(erlang:unique_integer([positive]))),
              {ok, Pid} = nats_conn:start_link(Name, #{urls => url(fake_port(Fake)),
                                                       reconnect_max_ms => 200}),
              %% dropped the connection with a clear reason, and reconnects
              wait_until(fun() -> ?MATCHES(#{last_error := Expected}, info(Name)) end),
              wait_until(fun() -> fake_accepts(Fake) >= 3 end),
              ?assert(maps:get(connects, info(Name)) >= 2),
              unlink(Pid),
              ok = nats_conn:stop(Name),
              stop_fake(Fake)
      end, Cases).

tls_required(_Config) ->
    Fake = fake_server(fun(Sock) ->
                               ok = gen_tcp:send(Sock, <<"INFO {\"server_id\":\"fake\",\"tls_required\":true}\r\n">>),
                               timer:sleep(5000)
                       end),
    {ok, _} = nats_conn:start_link(tls_conn, #{urls => url(fake_port(Fake)), reconnect_max_ms => 200}),
    wait_until(fun() -> ?MATCHES(#{last_error := tls_required_but_not_supported}, info(tls_conn)) end),
    %% keeps retrying
    wait_until(fun() -> fake_accepts(Fake) >= 2 end),
    ?assertEqual(disconnected, nats_conn:status(tls_conn)),
    stop_fake(Fake).

keepalive(_Config) ->
    Self = self(),
    %% A server that PINGs the client, then stops answering its PINGs.
    Fake = fake_server(fun(Sock) ->
                               handshake_then(Sock, <<"PING\r\n">>, fun(Data) ->
                                   binary:match(Data, <<"PONG">>) =/= nomatch andalso
                                       (Self ! client_ponged)
                               end)
                       end),
    {ok, _} = nats_conn:start_link(ka_conn, #{urls => url(fake_port(Fake)), ping_interval_ms => 100,
                                              max_pings_out => 2, reconnect_max_ms => 200}),
    receive client_ponged -> ok after ?WAIT_MS -> ct:fail(no_pong_from_client) end,
    wait_until(fun() -> ?MATCHES(#{last_error := stale_connection}, info(ka_conn)) end),
    wait_until(fun() -> fake_accepts(Fake) >= 2 end),
    stop_fake(Fake).

reconnect(Config) ->
    C = connect(Config, #{reconnect_max_ms => 500}),
    ok = stream(C, <<"RECON">>, [<<"recon.>">>]),
    ok = consumer(C, <<"RECON">>, <<"W">>, #{}),
    publish_n(C, <<"recon.a">>, 2),
    {ok, Sid} = nats_conn:subscribe(C, <<"rc.sub">>, #{}),
    ok = nats_conn:publish(C, <<"rc.sub">>, <<"before">>),
    ?assertMatch(#{payload := <<"before">>}, recv_msg(Sid)),
    %% a request in flight when the server goes away
    Silent = spawn_link(fun() -> {ok, _} = nats_conn:subscribe(C, <<"rc.silent">>, #{}),
                                 receive never -> ok end end),
    Self = self(),
    wait_until(fun() -> maps:get(subscriptions, info(C)) >= 2 end),
    ok = nats_conn:flush(C, ?WAIT_MS),
    spawn_link(fun() -> Self ! {pending, nats_conn:request(C, <<"rc.silent">>, <<>>, 60000)} end),
    wait_until(fun() -> maps:get(pending_requests, info(C)) =:= 1 end),

    stop_server(current_server(Config)),
    wait_until(fun() -> nats_conn:status(C) =:= disconnected end),
    receive {pending, R} -> ?assertEqual({error, disconnected}, R)
    after ?WAIT_MS -> ct:fail(pending_request_not_failed)
    end,
    ?assertEqual({error, not_connected}, nats_conn:publish(C, <<"rc.sub">>, <<"lost">>)),
    ?assertEqual({error, not_connected}, nats_conn:request(C, <<"rc.sub">>, <<>>, 1000)),

    Server = start_server(?config(exe, Config), ?config(server_args, Config),
                          filename:join(?config(base, Config), "main2.log"), ?config(port, Config)),
    persistent_term:put({?MODULE, server}, Server),
    wait_connected(C),
    ?assertMatch(#{connects := 2}, info(C)),
    %% the subscription was restored with the same sid
    ok = nats_conn:publish(C, <<"rc.sub">>, <<"after">>),
    ?assertMatch(#{payload := <<"after">>}, recv_msg(Sid)),
    %% JetStream data survived the restart
    wait_until(fun() -> ?MATCHES({ok, _}, nats_js:stream_info(C, <<"RECON">>)) end),
    ?assertEqual(2, stream_msgs(C, <<"RECON">>)),
    {ok, Msgs} = wait_fetch(C, <<"RECON">>, <<"W">>),
    ?assertEqual([<<"1">>, <<"2">>], [P || #{payload := P} <- Msgs]),
    [ok = nats_js:ack(C, M) || M <- Msgs],
    unlink(Silent),
    exit(Silent, kill).

%%====================================================================
%% Helpers: connections and messages
%%====================================================================

connect(Config) ->
    connect(Config, #{}).

connect(Config, Extra) ->
    Name = list_to_atom("conn_" ++ integer_to_list(erlang:unique_integer([positive]))),
    Opts = maps:merge(#{urls => [url(?config(port, Config))], name => <<"ct">>}, Extra),
    {ok, _} = nats_conn:start_link(Name, Opts),
    wait_connected(Name),
    Name.

wait_connected(C) ->
    wait_until(fun() -> nats_conn:status(C) =:= connected end).

url(Port) ->
    "nats://127.0.0.1:" ++ integer_to_list(Port).

auth_url(Config) ->
    url(?config(auth_port, Config)).

info(C) ->
    {ok, I} = nats_conn:info(C),
    I.

is_auth_violation(#{last_error := {server_error, Text}}) ->
    binary:match(Text, <<"Authorization Violation">>) =/= nomatch;
is_auth_violation(_) ->
    false.

recv_msg(Sid) ->
    receive
        {nats_msg, Sid, Msg} -> Msg
    after ?WAIT_MS ->
        ct:fail({no_message_for_sid, Sid})
    end.

%% Publish on a marker subject and wait for it: everything the server
%% would deliver to us for earlier publishes has been dispatched by then.
marker(C) ->
    Subject = <<"marker.", (integer_to_binary(erlang:unique_integer([positive])))/binary>>,
    {ok, Sid} = nats_conn:subscribe(C, Subject, #{}),
    ok = nats_conn:publish(C, Subject, <<>>),
    _ = recv_msg(Sid),
    ok = nats_conn:unsubscribe(C, Sid).

start_responder(C, Subject, Opts) ->
    Self = self(),
    Pid = spawn_link(fun() ->
                             {ok, Sid} = nats_conn:subscribe(C, Subject, Opts),
                             Self ! {responder_ready, self()},
                             responder(C, Sid)
                     end),
    receive {responder_ready, Pid} -> Pid end.

responder(C, Sid) ->
    receive
        {nats_msg, Sid, #{reply := Reply, payload := P, headers := H}} when is_binary(Reply) ->
            ok = nats_conn:publish(C, Reply, [{<<"Echo">>, <<"yes">>} | H], <<"echo:", P/binary>>),
            responder(C, Sid)
    end.

stream(C, Name, Subjects) ->
    {ok, _} = nats_js:ensure_stream(C, #{name => Name, subjects => Subjects,
                                         retention => workqueue, storage => file}),
    ok.

consumer(C, Stream, Name, Extra) ->
    {ok, _} = nats_js:ensure_consumer(C, Stream, maps:merge(#{durable_name => Name,
                                                              ack_wait => 30000,
                                                              max_deliver => 10}, Extra)),
    ok.

publish_n(C, Subject, N) ->
    [{ok, _} = nats_js:publish(C, Subject, [], integer_to_binary(I), ?WAIT_MS)
     || I <- lists:seq(1, N)],
    ok.

stream_msgs(C, Stream) ->
    {ok, #{<<"state">> := #{<<"messages">> := N}}} = nats_js:stream_info(C, Stream),
    N.

%% Poll (no_wait) until the consumer hands out something.
%% Waits until the consumer counts N messages not yet delivered.
wait_pending(C, Stream, Consumer, N) ->
    wait_until(fun() ->
                       {ok, Info} = nats_js:consumer_info(C, Stream, Consumer),
                       maps:get(<<"num_pending">>, Info) =:= N
               end).

wait_fetch(C, Stream, Consumer) ->
    Self = self(),
    wait_until(fun() ->
                       case nats_js:fetch(C, Stream, Consumer, 10, #{}) of
                           {ok, [_ | _]} = R -> Self ! {wait_fetch, R}, true;
                           {ok, []} -> false
                       end
               end, 30000),
    receive {wait_fetch, R} -> R end.

wait_until(Fun) ->
    wait_until(Fun, ?WAIT_MS).

wait_until(Fun, Timeout) ->
    Deadline = erlang:monotonic_time(millisecond) + Timeout,
    wait_until_loop(Fun, Deadline).

wait_until_loop(Fun, Deadline) ->
    case catch Fun() of
        true ->
            ok;
        Other ->
            case erlang:monotonic_time(millisecond) > Deadline of
                true -> ct:fail({wait_until_timeout, Other});
                false -> timer:sleep(50), wait_until_loop(Fun, Deadline)
            end
    end.

%%====================================================================
%% Helpers: nats-server processes
%%====================================================================

start_server(Exe, Args, Log, Port) ->
    Self = self(),
    Keeper = spawn(fun() -> keeper(Exe, Args, Log, Self) end),
    receive {keeper_started, Keeper} -> ok end,
    case wait_for_server(Port, erlang:monotonic_time(millisecond) + 30000) of
        ok ->
            Keeper;
        {error, Reason} ->
            {ok, LogText} = file:read_file(Log),
            stop_server(Keeper),
            ct:fail({nats_server_did_not_start, Reason, LogText})
    end.

current_server(_Config) ->
    persistent_term:get({?MODULE, server}).

keeper(Exe, Args, Log, Parent) ->
    Port = open_port({spawn_executable, "/bin/sh"},
                     [{args, ["-c", ?WRAPPER, Exe | Args]}, {env, [{"NATS_LOG", Log}]},
                      exit_status, binary, use_stdio]),
    Parent ! {keeper_started, self()},
    keeper_loop(Port).

keeper_loop(Port) ->
    receive
        {stop, From} ->
            catch port_command(Port, <<"stop\n">>),
            receive
                {Port, {exit_status, _}} -> From ! {stopped, self()}
            after 30000 ->
                From ! {stop_timeout, self()}
            end;
        {Port, {exit_status, Status}} ->
            ct:pal("nats-server exited on its own with ~p", [Status]),
            receive {stop, From} -> From ! {stopped, self()} end;
        {Port, {data, _}} ->
            keeper_loop(Port)
    end.

stop_server(Keeper) ->
    Keeper ! {stop, self()},
    receive
        {stopped, Keeper} -> ok;
        {stop_timeout, Keeper} -> ct:fail(nats_server_did_not_stop)
    after 40000 ->
        ct:fail(nats_server_keeper_gone)
    end.

wait_for_server(Port, Deadline) ->
    case gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}], 1000) of
        {ok, S} ->
            R = gen_tcp:recv(S, 0, 5000),
            gen_tcp:close(S),
            case R of
                {ok, <<"INFO ", _/binary>>} -> ok;
                _ -> retry_server(Port, Deadline, R)
            end;
        Err ->
            retry_server(Port, Deadline, Err)
    end.

retry_server(Port, Deadline, Last) ->
    case erlang:monotonic_time(millisecond) > Deadline of
        true -> {error, Last};
        false -> timer:sleep(100), wait_for_server(Port, Deadline)
    end.

free_port() ->
    {ok, L} = gen_tcp:listen(0, [{ip, {127, 0, 0, 1}}]),
    {ok, Port} = inet:port(L),
    gen_tcp:close(L),
    Port.

make_tmp_dir() ->
    Dir = filename:join(os:getenv("TMPDIR", "/tmp"),
                        "nats_ct_" ++ os:getpid() ++ "_" ++
                            integer_to_list(erlang:unique_integer([positive]))),
    ok = filelib:ensure_dir(filename:join(Dir, "x")),
    Dir.

%%====================================================================
%% Helpers: a fake server speaking just enough protocol
%%====================================================================

fake_server(Handler) ->
    Self = self(),
    Pid = spawn(fun() ->
                        {ok, L} = gen_tcp:listen(0, [binary, {active, false}, {reuseaddr, true},
                                                     {ip, {127, 0, 0, 1}}]),
                        {ok, Port} = inet:port(L),
                        Self ! {fake_port, self(), Port},
                        fake_accept(L, Handler, 0)
                end),
    receive {fake_port, Pid, Port} -> {Pid, Port} end.

fake_accept(L, Handler, N) ->
    case gen_tcp:accept(L, 200) of
        {ok, S} ->
            spawn(fun() -> Handler(S) end),
            fake_accept_loop(L, Handler, N + 1);
        {error, timeout} ->
            fake_accept_loop(L, Handler, N)
    end.

fake_accept_loop(L, Handler, N) ->
    receive
        {count, From} -> From ! {count, N}, fake_accept_loop(L, Handler, N);
        stop -> gen_tcp:close(L)
    after 0 ->
        fake_accept(L, Handler, N)
    end.

fake_port({_, Port}) -> Port.

fake_accepts({Pid, _}) ->
    Pid ! {count, self()},
    receive {count, N} -> N after 5000 -> ct:fail(fake_server_gone) end.

stop_fake({Pid, _}) ->
    Pid ! stop.

handshake_then(Sock, Garbage) ->
    handshake_then(Sock, Garbage, fun(_) -> ok end).

handshake_then(Sock, Garbage, OnData) ->
    ok = gen_tcp:send(Sock, <<"INFO {\"server_id\":\"fake\",\"version\":\"0.0.0\",\"max_payload\":1048576,\"headers\":true}\r\n">>),
    {ok, _} = recv_until(Sock, <<"PING\r\n">>, <<>>),
    ok = gen_tcp:send(Sock, <<"PONG\r\n">>),
    ok = gen_tcp:send(Sock, Garbage),
    %% keep the socket open: the client must be the one closing it
    fake_drain(Sock, OnData).

fake_drain(Sock, OnData) ->
    case gen_tcp:recv(Sock, 0, 10000) of
        {ok, Data} -> OnData(Data), fake_drain(Sock, OnData);
        {error, _} -> gen_tcp:close(Sock)
    end.

recv_until(Sock, Needle, Acc) ->
    case binary:match(Acc, Needle) of
        nomatch ->
            {ok, Data} = gen_tcp:recv(Sock, 0, 10000),
            recv_until(Sock, Needle, <<Acc/binary, Data/binary>>);
        _ ->
            {ok, Acc}
    end.

%%====================================================================
%% Helpers: independent nkey encoding (to avoid testing the client's
%% encoder with itself; cross-checked against a public vector above)
%%====================================================================

test_encode_seed(Seed) ->
    test_encode_seed(?NKEY_USER, Seed).

test_encode_seed(Prefix, Seed) ->
    %% seed prefix (18 << 3) followed by the key type prefix over 2 bytes
    Raw = <<(18 bsl 3 bor (Prefix bsr 5)), ((Prefix band 31) bsl 3), Seed/binary>>,
    b32(<<Raw/binary, (test_crc(Raw)):16/little>>).

test_encode(Prefix, Key) ->
    Raw = <<Prefix, Key/binary>>,
    b32(<<Raw/binary, (test_crc(Raw)):16/little>>).

%% A NATS JWT v2 (header, claims, ed25519 signature of the first two
%% parts, all base64url without padding), signed with the raw 32-byte seed
%% of the issuer. jti: the library uses SHA-512/256 of the claims without
%% jti; OTP 25 has no SHA-512/256 and the server does not verify it, so
%% SHA-256 stands in.
test_jwt(Iss, Sub, IssuerSeed, Nats) ->
    Base = #{iss => Iss, sub => Sub, iat => erlang:system_time(second),
             name => <<"ct">>},
    Claims = Base#{jti => b32(crypto:hash(sha256, jiffy:encode(Base))), nats => Nats},
    Header = b64url(jiffy:encode(#{typ => <<"JWT">>, alg => <<"ed25519-nkey">>})),
    ToSign = <<Header/binary, ".", (b64url(jiffy:encode(Claims)))/binary>>,
    Sig = crypto:sign(eddsa, none, ToSign, [IssuerSeed, ed25519]),
    <<ToSign/binary, ".", (b64url(Sig))/binary>>.

%% A user JWT with empty (allow all) permissions and no limits.
test_user_jwt(Acc, User, AccSeed) ->
    test_jwt(Acc, User, AccSeed, #{type => <<"user">>, version => 2,
                                   pub => #{}, sub => #{},
                                   subs => -1, data => -1, payload => -1}).

b64url(Bin) ->
    << <<(case C of $+ -> $-; $/ -> $_; _ -> C end)>>
       || <<C>> <= base64:encode(Bin), C =/= $= >>.

b32(Bin) ->
    Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",
    Bits = bit_size(Bin),
    Padded = <<Bin/bitstring, 0:((5 - Bits rem 5) rem 5)>>,
    list_to_binary([lists:nth(V + 1, Alphabet) || <<V:5>> <= Padded]).

%% table-driven CRC16/XMODEM
test_crc(Bin) ->
    Table = list_to_tuple([crc_entry(I) || I <- lists:seq(0, 255)]),
    lists:foldl(fun(B, Crc) ->
                        ((Crc bsl 8) band 16#FFFF) bxor element(((Crc bsr 8) bxor B) + 1, Table)
                end, 0, binary_to_list(Bin)).

crc_entry(I) ->
    lists:foldl(fun(_, C) ->
                        case C band 16#8000 of
                            0 -> (C bsl 1) band 16#FFFF;
                            _ -> ((C bsl 1) bxor 16#1021) band 16#FFFF
                        end
                end, I bsl 8, lists:seq(1, 8)).
