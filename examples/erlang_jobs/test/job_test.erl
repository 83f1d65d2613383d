%%%-------------------------------------------------------------------
%%% @doc A real `nats-server' for the suites: started on a free loopback
%%% port with JetStream and a store of its own, stopped and started again
%%% on the same port and store, and never left running.
%%%
%%% Under `CI=true' a missing `nats-server' fails the suite; elsewhere
%%% the NATS groups are skipped, saying why.
%%%
%%% Also what the suites share to run one case on either backend: the
%%% group set-up, a fresh application (and, on NATS, a fresh stream) per
%%% case, and how each backend reports counts and reasons.
%%% @end
%%%-------------------------------------------------------------------
-module(job_test).

-export([init/1, start/1, stop/1, restart/1, url/1]).
-export([init_group/2, end_group/1, group_config/2, start_app/2, await_ready/0,
         delete_stream/1, publish/3, settle/0, outstanding/0, reason/1, await/2, await/3]).

-export_type([server/0]).

-type server() :: #{port := inet:port_number(), dir := file:filename(),
                    executable := file:filename(), os_pid := non_neg_integer(),
                    owner := pid()}.

-define(APP, ggen_jobs).
%% Runs the server in the background; a watcher stops it when a line
%% arrives on stdin or stdin closes.
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
%% How long a server may take to accept connections.
-define(START_MS, 15000).

%% @doc `{ok, Config}' with a server started under the suite's priv_dir,
%% or `{skip, Why}' when there is no nats-server (a failure under CI).
-spec init(list()) -> {ok, list()} | {skip, term()}.
init(Config) ->
    case os:find_executable("nats-server") of
        false ->
            case os:getenv("CI") of
                "true" -> ct:fail("nats-server is not installed, and CI=true: see .ci/run");
                _ -> {skip, "nats-server is not installed: the NATS cases did not run"}
            end;
        Executable ->
            Dir = filename:join(proplists:get_value(priv_dir, Config),
                                "nats-" ++ integer_to_list(erlang:unique_integer([positive]))),
            ok = filelib:ensure_dir(filename:join(Dir, "x")),
            {ok, [{nats_server, start(#{executable => Executable, dir => Dir,
                                        port => free_port()})} | Config]}
    end.

%% @doc `init_per_group/2' for the groups `memory' and `nats'.
%% The application is loaded first: loading it later would reset the
%% app env the cases set to the values of its .app file.
-spec init_group(memory | nats, list()) -> list() | {skip, term()}.
init_group(Group, Config) ->
    case application:load(?APP) of
        ok -> ok;
        {error, {already_loaded, ?APP}} -> ok
    end,
    group(Group, Config).

group(memory, Config) ->
    Config;
group(nats, Config) ->
    case init(Config) of
        {ok, Config1} -> Config1;
        Skip -> Skip
    end.

%% @doc `end_per_group/2': stops the group's server.
-spec end_group(list()) -> ok.
end_group(Config) ->
    case proplists:get_value(nats_server, Config) of
        undefined -> ok;
        Server -> stop(Server)
    end.

%% @doc Starts `App' on the group's backend; on NATS with an empty stream
%% (the previous case's is deleted first), once the queue is set up.
-spec start_app(atom(), list()) -> ok.
start_app(App, Config) ->
    ok = group_config(App, Config),
    case proplists:get_value(nats_server, Config) of
        undefined -> ok;
        Server -> ok = delete_stream(Server)
    end,
    {ok, _} = application:ensure_all_started(App),
    await_ready().

%% @doc Waits for job_queue to be set up.
-spec await_ready() -> ok.
await_ready() ->
    await(fun job_queue:ready/0, true).

%% @doc Deletes the specification's stream, through a connection of the
%% test's own.
-spec delete_stream(server()) -> ok.
delete_stream(Server) ->
    Name = list_to_atom("job_test_" ++ integer_to_list(erlang:unique_integer([positive]))),
    {ok, Conn} = nats_conn:start_link(Name, #{urls => [url(Server)]}),
    try
        await(fun() -> nats_conn:status(Name) end, connected),
        case nats_js:delete_stream(Name, job_queue_jetstream:stream()) of
            ok -> ok;
            {error, {jetstream, 404, _, _}} -> ok
        end
    after
        unlink(Conn),
        nats_conn:stop(Name)
    end.

%% @doc Publishes a job, and returns once a pull would see it
%% ({@link settle/0}).
-spec publish(job_queue:priority(), job_queue:domain(), map()) -> {ok, job_queue:job_id()}.
publish(P, D, Payload) ->
    {ok, Id} = job_queue:publish(P, D, Payload),
    ok = settle(),
    {ok, Id}.

%% @doc Waits until every lane's consumer sees every job of its lane.
%% JetStream tells a consumer of a newly stored message asynchronously, so
%% a pull right after a publish may miss the job (the next pull gets it).
%% Cases that count what a pull returns wait for this first: a lane is
%% current when the jobs its consumer has not delivered plus those it
%% delivered and awaits an ack for are the jobs the stream stores on the
%% lane's subject. In memory there is nothing to wait for.
-spec settle() -> ok.
settle() ->
    case job_queue:backend() of
        memory -> ok;
        nats -> await(fun() -> lists:all(fun current/1, job_queue_jetstream:lanes()) end, true)
    end.

current(Lane) ->
    Conn = job_queue_jetstream:connection(),
    Stream = job_queue_jetstream:stream(),
    Subject = job_queue_jetstream:lane_subject(Lane),
    {ok, #{<<"state">> := State}} = nats_js:stream_info(Conn, Stream, Subject),
    Stored = maps:get(Subject, maps:get(<<"subjects">>, State, #{}), 0),
    case nats_js:consumer_info(Conn, Stream, job_queue_jetstream:consumer_name(Lane)) of
        {ok, #{<<"num_pending">> := Pending, <<"num_ack_pending">> := AckPending}} ->
            Pending + AckPending =:= Stored;
        {error, {jetstream, 404, _, _}} ->
            true
    end.

%% @doc The jobs not yet settled: pending or in flight. (A job nacked on
%% NATS counts as in flight until it is delivered again; in memory it is
%% pending.)
-spec outstanding() -> non_neg_integer().
outstanding() ->
    #{pending := Pending, in_flight := InFlight} = job_queue:stats(),
    Pending + InFlight.

%% @doc How `dead_letters/0' reports a failure `Reason' on the backend
%% in use: the term in memory, its text on NATS.
-spec reason(term()) -> term().
reason(Reason) ->
    case job_queue:backend() of
        memory -> Reason;
        nats -> iolist_to_binary(io_lib:format("~0tp", [Reason]))
    end.

%% @doc Waits for Get() to return Expected; fails after 10 s.
-spec await(fun(() -> term()), term()) -> ok.
await(Get, Expected) ->
    await(Get, Expected, 10000).

-spec await(fun(() -> term()), term(), pos_integer()) -> ok.
await(Get, Expected, Ms) ->
    await_until(Get, Expected, erlang:monotonic_time(millisecond) + Ms).

await_until(Get, Expected, Deadline) ->
    case Get() of
        Expected ->
            ok;
        Other ->
            case erlang:monotonic_time(millisecond) > Deadline of
                true -> ct:fail({timeout, {expected, Expected}, {got, Other}});
                false -> timer:sleep(5), await_until(Get, Expected, Deadline)
            end
    end.

%% @doc Sets the app env of `App' for the backend of a group (`memory'
%% or `nats'), with the group's server when it has one.
-spec group_config(atom(), list()) -> ok.
group_config(App, Config) ->
    case proplists:get_value(nats_server, Config) of
        undefined ->
            ok = application:set_env(App, queue_backend, memory);
        Server ->
            ok = application:set_env(App, queue_backend, nats),
            ok = application:set_env(App, nats_url, url(Server))
    end.

%% @doc Starts `nats-server' on the server's port and store; returns once
%% it accepts connections. A process of its own owns the OS process (the
%% caller may be a short-lived Common Test process), drains its output,
%% and stops or restarts it on request.
-spec start(#{executable := file:filename(), dir := file:filename(),
              port := inet:port_number(), _ => _}) -> server().
start(#{port := Port} = Server) ->
    Self = self(),
    Owner = spawn(fun() -> Self ! {started, self(), open(Server)}, own(Server) end),
    OsPid = receive {started, Owner, Pid} -> Pid end,
    await_listening(Port, erlang:monotonic_time(millisecond) + ?START_MS),
    Server#{os_pid => OsPid, owner => Owner}.

%% @doc Stops the server (SIGTERM, then SIGKILL) and waits for it to exit.
-spec stop(server()) -> ok.
stop(#{owner := Owner}) ->
    MRef = monitor(process, Owner),
    Owner ! {stop, self()},
    receive
        {stopped, Owner} -> demonitor(MRef, [flush]), ok;
        {'DOWN', MRef, process, Owner, _} -> ok
    end.

%% @doc Stops the server and starts it again on the same port and store;
%% the returned server is the same handle with the new OS process id.
-spec restart(server()) -> server().
restart(#{owner := Owner, port := Port} = Server) ->
    Owner ! {restart, self()},
    OsPid = receive {restarted, Owner, Pid} -> Pid end,
    await_listening(Port, erlang:monotonic_time(millisecond) + ?START_MS),
    Server#{os_pid => OsPid}.

%% The server runs under a small shell wrapper that stops it when a line
%% arrives on its stdin, or when its stdin closes: a test node that dies
%% takes its servers with it.
open(#{executable := Executable, dir := Dir, port := Port}) ->
    Args = ["-js", "-sd", Dir, "-p", integer_to_list(Port), "-a", "127.0.0.1"],
    PortRef = open_port({spawn_executable, "/bin/sh"},
                        [{args, ["-c", ?WRAPPER, Executable | Args]},
                         {env, [{"NATS_LOG", Dir ++ ".log"}]},
                         exit_status, binary, use_stdio]),
    put(port_ref, PortRef),
    {os_pid, OsPid} = erlang:port_info(PortRef, os_pid),
    OsPid.

own(Server) ->
    PortRef = get(port_ref),
    receive
        {PortRef, {data, _}} ->
            own(Server);
        {PortRef, {exit_status, Status}} ->
            exit({nats_server_exited, Status});
        {stop, From} ->
            stop_server(),
            From ! {stopped, self()};
        {restart, From} ->
            stop_server(),
            From ! {restarted, self(), open(Server)},
            own(Server)
    end.

stop_server() ->
    PortRef = get(port_ref),
    true = port_command(PortRef, <<"stop\n">>),
    receive
        {PortRef, {exit_status, _}} -> ok
    after ?START_MS ->
        exit(nats_server_did_not_stop)
    end.

-spec url(server()) -> string().
url(#{port := Port}) ->
    "nats://127.0.0.1:" ++ integer_to_list(Port).

free_port() ->
    {ok, Socket} = gen_tcp:listen(0, [{ip, {127, 0, 0, 1}}]),
    {ok, Port} = inet:port(Socket),
    ok = gen_tcp:close(Socket),
    Port.

await_listening(Port, Deadline) ->
    case gen_tcp:connect({127, 0, 0, 1}, Port, [], 1000) of
        {ok, Socket} ->
            ok = gen_tcp:close(Socket);
        {error, Reason} ->
            case erlang:monotonic_time(millisecond) > Deadline of
                true -> ct:fail({nats_server_not_listening, Port, Reason});
                false -> timer:sleep(20), await_listening(Port, Deadline)
            end
    end.
