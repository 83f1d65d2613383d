%%% @doc Drives the generated Erlang application for the cross-language
%%% test and benchmark (tests/cross_language.rs, benches/nats_consume.rs):
%%% one phase per run of a node, the results as lines on stdout.
%%%
%%%   erl -noshell -pa ... -run cross_driver main App Phase NatsUrl N
%%%
%%% Phases (on the application's first declared lane, NATS backend):
%%% <dl>
%%% <dt>consume</dt><dd>start the application with its consumers and wait
%%%   until the stream shows N jobs acked and none pending or in flight;
%%%   prints `elapsed_us' (application start to that state) and
%%%   `stats'.</dd>
%%% <dt>publish</dt><dd>start it without consumers and publish N noop
%%%   jobs through job_queue:publish/3; prints `published' and `stats'.</dd>
%%% <dt>stats</dt><dd>prints `stats' as job_queue:stats/0 reads it.</dd>
%%% </dl>
%%% `stats P F A D' is pending, in flight, acked and dead. Any failure
%%% prints `error ...' and exits with status 1.
-module(cross_driver).

-export([main/1]).

-define(DEADLINE_MS, 300000).

main([App0, Phase, Url, N0]) ->
    App = list_to_atom(App0),
    N = list_to_integer(N0),
    try
        ok = application:load(App),
        ok = application:set_env(App, queue_backend, nats),
        ok = application:set_env(App, nats_url, Url),
        ok = application:set_env(App, consumers, Phase =:= "consume"),
        run(Phase, App, N),
        print_stats(job_queue:stats()),
        ok = application:stop(App),
        halt(0)
    catch
        Class:Reason:Stack ->
            io:format("error ~0p~n", [{Class, Reason, Stack}]),
            halt(1)
    end.

run("consume", App, N) ->
    T0 = erlang:monotonic_time(microsecond),
    start(App),
    await(fun() ->
                  case job_queue:stats() of
                      #{pending := 0, in_flight := 0, acked := A} when A >= N -> true;
                      _ -> false
                  end
          end, erlang:monotonic_time(millisecond) + ?DEADLINE_MS),
    io:format("elapsed_us ~b~n", [erlang:monotonic_time(microsecond) - T0]);
run("publish", App, N) ->
    start(App),
    [{P, D} | _] = job_worker:lanes(),
    [{ok, _} = job_queue:publish(P, D, #{<<"action">> => <<"noop">>, <<"n">> => I})
     || I <- lists:seq(1, N)],
    io:format("published ~b~n", [N]);
run("stats", App, _N) ->
    start(App).

start(App) ->
    {ok, _} = application:ensure_all_started(App),
    await(fun job_queue:ready/0, erlang:monotonic_time(millisecond) + ?DEADLINE_MS).

print_stats(#{pending := P, in_flight := F, acked := A, dead := D}) ->
    io:format("stats ~b ~b ~b ~b~n", [P, F, A, D]).

await(Done, Deadline) ->
    case Done() of
        true ->
            ok;
        false ->
            case erlang:monotonic_time(millisecond) > Deadline of
                true -> error(timeout);
                false -> timer:sleep(10), await(Done, Deadline)
            end
    end.
