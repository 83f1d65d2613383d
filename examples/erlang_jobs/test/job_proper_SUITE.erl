%%%-------------------------------------------------------------------
%%% @doc Stateful PropEr stress test of `ggen_jobs': 500 cases on the
%%% memory backend, 200 on NATS (a real nats-server that the suite starts,
%%% see {@link job_test}; each case on an empty stream). The lanes'
%%% consumers are off: the commands drive the lanes.
%%%
%%% Random sequences of checkout, checkin, killing checked-out and idle
%%% workers, publishing noop/fail/crash jobs and executing lanes, against
%%% a model that predicts every result: each pool's status after every
%%% command (a killed worker replaced, and no longer offered, within
%%% ?LIVENESS_MS: how fast is measured by the benchmark), each execute's
%%% `{ok, #{processed, failed}}', `pool_exhausted' or
%%% `circuit_breaker_open', and the queue's stats. At the end of a case
%%% every worker is checked in and each pool is back to its size, and no
%%% published job is lost: pending + in flight + acked + dead = published.
%%%
%%% The backends differ where the model says so: on NATS a job that went
%%% back to its lane counts as in flight until it is delivered again, a
%%% released job's delivery counts (JetStream counts every delivery), and
%%% a job released at its third delivery is dead-lettered by the next pull.
%%%
%%% To keep the model exact, checkouts never block (checkout timeout 0),
%%% breaker windows are an hour long, so a breaker opens after exactly
%%% failureThreshold failures of its lane and stays open, and
%%% processTimeouts are a minute, so that no noop, fail or crash job runs
%%% into its timeout (nor its ack wait), however loaded the machine.
%%% @end
%%%-------------------------------------------------------------------
-module(job_proper_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("proper/include/proper.hrl").

-export([suite/0, all/0, groups/0, init_per_suite/1, end_per_suite/1,
         init_per_group/2, end_per_group/2]).
-export([stateful_pools_and_queue/1]).
-export([initial_state/0, command/1, precondition/2, postcondition/3, next_state/3]).
-export([checkout/1, fill/2, checkin/2, kill_held/3, kill_idle/2, publish/2, execute/1]).

-define(APP, ggen_jobs).
-define(NUMTESTS, #{memory => 500, nats => 200}).
%% How long a kill waits for the pool to recover before it fails.
-define(LIVENESS_MS, 5000).
-define(LONG_MS, 60000).

-record(model, {held = [] :: [{atom(), term()}],      % {Pool, Worker}, oldest first
                next_id = 1 :: pos_integer(),                 % what publish returns next
                published = 0 :: non_neg_integer(),
                jobs = [] :: [{pos_integer(), {atom(), atom()}, binary(), non_neg_integer()}],
                acked = 0 :: non_neg_integer(),
                dead = 0 :: non_neg_integer(),
                failures = #{} :: #{{atom(), atom()} => non_neg_integer()}}).

suite() ->
    [{timetrap, {minutes, 5}}].

all() ->
    [{group, memory}, {group, nats}].

groups() ->
    [{memory, [], [stateful_pools_and_queue]}, {nats, [], [stateful_pools_and_queue]}].

init_per_group(Group, Config) ->
    case job_test:init_group(Group, Config) of
        {skip, _} = Skip -> Skip;
        Config1 -> [{backend, Group} | Config1]
    end.

end_per_group(_Group, Config) ->
    job_test:end_group(Config).

init_per_suite(Config) ->
    ok = application:set_env(?APP, consumers, false),
    Overrides = maps:from_list([{Lane, #{failure_window => 3600000}} || Lane <- lanes()]),
    ok = application:set_env(?APP, lanes, Overrides),
    ok = application:set_env(?APP, pools,
                             maps:from_list([{Pool, #{checkout_timeout => 0,
                                                      process_timeout => ?LONG_MS}}
                                             || Pool <- job_worker_pool:pools()])),
    #{level := Level} = logger:get_primary_config(),
    ok = logger:set_primary_config(level, critical),   % crash jobs are expected
    [{log_level, Level} | Config].

end_per_suite(Config) ->
    ok = logger:set_primary_config(level, ?config(log_level, Config)),
    [application:unset_env(?APP, Key) || Key <- [lanes, pools]],
    ok.

stateful_pools_and_queue(Config) ->
    ok = job_test:group_config(?APP, Config),
    true = proper:quickcheck(prop_pools_and_queue(Config),
                             [{numtests, maps:get(?config(backend, Config), ?NUMTESTS)},
                              {on_output, fun log_output/2}]).

%% PropEr's report, without its progress dots.
log_output(".", []) -> ok;
log_output(Format, Args) -> ct:log(Format, Args).

prop_pools_and_queue(Config) ->
    ?FORALL(Cmds, commands(?MODULE),
            begin
                ok = job_test:start_app(?APP, Config),
                {History, Model, Result} = run_commands(?MODULE, Cmds),
                Final = (catch final_check(Model)),
                ok = application:stop(?APP),
                ?WHENFAIL(ct:log("history: ~p~nmodel: ~p~nresult: ~p~nfinal: ~p",
                                 [History, Model, Result, Final]),
                          aggregate(command_names(Cmds),
                                    aggregate(outcomes(History),
                                              Result =:= ok andalso Final =:= ok)))
            end).

%% What the case reached: full pools, refused executes, dead jobs.
outcomes(History) ->
    lists:usort([case Res of
                     full -> checkout_full;
                     {ok, #{failed := F}} when F > 0 -> execute_failed_jobs;
                     {ok, _} -> execute_ok;
                     {error, Reason} -> Reason;
                     _ -> other
                 end || {_, Res} <- History]).

%% Every worker checked in: each pool is back to its size, and every
%% published job is accounted for.
final_check(#model{held = Held, published = Published}) ->
    [ok = job_worker_pool:checkin_worker(Worker) || {_, Worker} <- Held],
    [#{state := ready, available_workers := Size, overflow_workers := 0,
       monitored_workers := Size} = job_worker_pool:pool_status(Pool)
     || Pool <- job_worker_pool:pools(), Size <- [pool_size(Pool)]],
    #{pending := Pending, in_flight := InFlight, acked := Acked, dead := Dead} = job_queue:stats(),
    Published = Pending + InFlight + Acked + Dead,
    ok.

%%%===================================================================
%%% Model
%%%===================================================================

initial_state() ->
    #model{}.

command(M) ->
    Pools = job_worker_pool:pools(),
    frequency([{3, {call, ?MODULE, checkout, [elements(Pools)]}},
               {1, ?LET(Pool, elements(Pools),
                        {call, ?MODULE, fill, [Pool, capacity(Pool) - held(Pool, M)]})},
               {3, {call, ?MODULE, publish, [elements(lanes()), action()]}},
               {4, {call, ?MODULE, execute, [elements(lanes())]}},
               {1, ?LET(Pool, elements(Pools),
                        {call, ?MODULE, kill_idle, [Pool, expected_status(Pool, held(Pool, M))]})}]
              ++ [{3, ?LET({Pool, Worker}, elements(M#model.held),
                           {call, ?MODULE, checkin, [Pool, Worker]})} || M#model.held =/= []]
              ++ [{1, ?LET({Pool, Worker}, elements(M#model.held),
                           {call, ?MODULE, kill_held,
                            [Pool, Worker, expected_status(Pool, held(Pool, M) - 1)]})}
                  || M#model.held =/= []]).

action() ->
    frequency([{4, <<"noop">>}, {4, <<"fail">>}, {1, <<"crash">>}]).

precondition(M, {call, _, kill_idle, [Pool, Expected]}) ->
    held(Pool, M) < pool_size(Pool) andalso Expected =:= expected_status(Pool, held(Pool, M));
precondition(M, {call, _, fill, [Pool, N]}) ->
    N =:= capacity(Pool) - held(Pool, M);
precondition(M, {call, _, checkin, [Pool, Worker]}) ->
    lists:member({Pool, Worker}, M#model.held);
precondition(M, {call, _, kill_held, [Pool, Worker, Expected]}) ->
    lists:member({Pool, Worker}, M#model.held)
        andalso Expected =:= expected_status(Pool, held(Pool, M) - 1);
precondition(_M, _Call) ->
    true.

next_state(M, Worker, {call, _, checkout, [Pool]}) ->
    case held(Pool, M) < capacity(Pool) of
        true -> M#model{held = M#model.held ++ [{Pool, Worker}]};
        false -> M
    end;
next_state(M, Workers, {call, _, fill, [Pool, N]}) ->
    M#model{held = M#model.held ++ [{Pool, {call, lists, nth, [I, Workers]}}
                                    || I <- lists:seq(1, N)]};
next_state(M, _Res, {call, _, checkin, [Pool, Worker]}) ->
    M#model{held = M#model.held -- [{Pool, Worker}]};
next_state(M, _Res, {call, _, kill_held, [Pool, Worker, _]}) ->
    M#model{held = M#model.held -- [{Pool, Worker}]};
next_state(M, _Res, {call, _, kill_idle, _}) ->
    M;
next_state(M = #model{next_id = Id, jobs = Jobs}, _Res, {call, _, publish, [Lane, Action]}) ->
    M#model{next_id = Id + 1, published = M#model.published + 1,
            jobs = Jobs ++ [{Id, Lane, Action, 0}]};
next_state(M, _Res, {call, _, execute, [Lane]}) ->
    element(2, model_execute(Lane, M)).

postcondition(M, {call, _, checkout, [Pool]}, Res) ->
    case held(Pool, M) < capacity(Pool) of
        true -> is_pid(Res);
        false -> Res =:= full
    end andalso invariants(next_state(M, Res, {call, ?MODULE, checkout, [Pool]}));
postcondition(M, {call, _, fill, [_Pool, N]} = Call, Res) ->
    length(Res) =:= N andalso lists:all(fun is_pid/1, Res)
        andalso invariants(next_state(M, Res, Call));
postcondition(M, {call, _, publish, [_Lane, _Action]} = Call, Res) ->
    Res =:= M#model.next_id andalso invariants(next_state(M, Res, Call));
postcondition(M, {call, _, execute, [Lane]} = Call, Res) ->
    {Expected, _} = model_execute(Lane, M),
    Res =:= Expected andalso invariants(next_state(M, Res, Call));
postcondition(M, {call, _, Kill, _} = Call, Res)
  when Kill =:= kill_held; Kill =:= kill_idle ->
    Res =:= recovered andalso invariants(next_state(M, ok, Call));
postcondition(M, Call, Res) ->
    invariants(next_state(M, Res, Call)).

%% What execute does to the model: the result it must return, and the
%% new model.
model_execute({P, D} = Lane, M) ->
    #{pool := Pool, pull_size := PullSize, failure_threshold := Threshold,
      circuit_breaker := Initial} = job_worker:lane_config(P, D),
    Failures = maps:get(Lane, M#model.failures, 0),
    if
        Initial =:= open orelse Failures >= Threshold ->
            case held(Pool, M) < capacity(Pool) of
                true -> {{error, circuit_breaker_open}, M};
                false -> {{error, pool_exhausted}, M}
            end;
        true ->
            case held(Pool, M) < capacity(Pool) of
                false ->
                    {{error, pool_exhausted}, M};
                true ->
                    Pulled = lists:sublist([J || {_, L, _, _} = J <- M#model.jobs, L =:= Lane],
                                           PullSize),
                    %% On NATS, a job delivered three times already (it was
                    %% released at its third) is dead-lettered by the pull.
                    {Buried, Batch} = lists:partition(fun({_, _, _, N}) -> N >= 3 end, Pulled),
                    M1 = bury(length(Buried), M#model{jobs = M#model.jobs -- Buried}),
                    run_batch(Batch, Lane, Threshold, {0, 0}, M1)
            end
    end.

run_batch([], _Lane, _Threshold, {Ok, Failed}, M) ->
    {{ok, #{processed => Ok, failed => Failed}}, M};
run_batch([{Id, _, <<"noop">>, _} | Rest], Lane, Threshold, {Ok, Failed}, M) ->
    M1 = M#model{jobs = lists:keydelete(Id, 1, M#model.jobs), acked = M#model.acked + 1},
    run_batch(Rest, Lane, Threshold, {Ok + 1, Failed}, M1);
run_batch([{Id, _, _Failing, Deliveries} = Job | Rest], Lane, Threshold, {Ok, Failed}, M) ->
    Jobs = case Deliveries + 1 of
               3 -> lists:keydelete(Id, 1, M#model.jobs);
               N -> lists:keyreplace(Id, 1, M#model.jobs, setelement(4, Job, N))
           end,
    Failures = maps:get(Lane, M#model.failures, 0) + 1,
    M1 = bury(length(M#model.jobs) - length(Jobs),
              M#model{jobs = Jobs, failures = (M#model.failures)#{Lane => Failures}}),
    case Failures >= Threshold of
        true -> {{ok, #{processed => Ok, failed => Failed + 1}}, release(Rest, M1)};
        false -> run_batch(Rest, Lane, Threshold, {Ok, Failed + 1}, M1)
    end.

%% N jobs died. On NATS each one's dead letter is a message of the
%% stream: it takes the next sequence, which job ids are.
bury(N, M) ->
    Ids = case backend() of
              memory -> 0;
              nats -> N
          end,
    M#model{dead = M#model.dead + N, next_id = M#model.next_id + Ids}.

%% The breaker opened: the jobs of the batch not yet run go back. In
%% memory their delivery does not count; on NATS it does.
release(Rest, M) ->
    case backend() of
        memory ->
            M;
        nats ->
            M#model{jobs = lists:foldl(fun({Id, L, A, N}, Jobs) ->
                                               lists:keyreplace(Id, 1, Jobs, {Id, L, A, N + 1})
                                       end, M#model.jobs, Rest)}
    end.

%% After every command: each pool's status follows from the number of
%% workers checked out, and the queue's stats match the model.
invariants(M) ->
    lists:all(fun(Pool) -> job_worker_pool:pool_status(Pool) =:= expected_status(Pool, held(Pool, M)) end,
              job_worker_pool:pools())
        andalso job_queue:stats() =:= model_stats(M).

%% In memory every job not settled is pending; on NATS one that was
%% delivered before counts as in flight until it is delivered again.
model_stats(#model{jobs = Jobs, acked = Acked, dead = Dead}) ->
    Again = case backend() of
                memory -> 0;
                nats -> length([J || {_, _, _, N} = J <- Jobs, N > 0])
            end,
    #{pending => length(Jobs) - Again, in_flight => Again, acked => Acked, dead => Dead}.

backend() ->
    application:get_env(?APP, queue_backend, memory).

%%%===================================================================
%%% Commands
%%%===================================================================

checkout(Pool) ->
    job_worker_pool:checkout_worker(Pool, 0).

%% Checks out N workers: the pool is then full.
fill(Pool, N) ->
    [job_worker_pool:checkout_worker(Pool, 0) || _ <- lists:seq(1, N)].

checkin(_Pool, Worker) ->
    job_worker_pool:checkin_worker(Worker).

%% Kills a worker; `recovered' once the pool shows Expected.
kill_held(Pool, Worker, Expected) ->
    kill_and_wait(Pool, Worker, Expected).

kill_idle(Pool, Expected) ->
    [Worker | _] = gen_server:call(Pool, get_avail_workers),
    kill_and_wait(Pool, Worker, Expected).

publish({P, D}, Action) ->
    {ok, Id} = job_test:publish(P, D, #{<<"action">> => Action}),
    Id.

execute({P, D}) ->
    job_worker_pool:execute(P, D).

%% `recovered' once the pool shows Expected and no longer offers the dead
%% worker; `{not_recovered, Status}' if that has not happened within
%% ?LIVENESS_MS (a worker never replaced, or a dead one still offered).
kill_and_wait(Pool, Worker, Expected) ->
    exit(Worker, kill),
    wait_status(Pool, Worker, Expected, erlang:monotonic_time(millisecond) + ?LIVENESS_MS).

wait_status(Pool, Worker, Expected, Deadline) ->
    Status = job_worker_pool:pool_status(Pool),
    case Status =:= Expected
        andalso not lists:member(Worker, gen_server:call(Pool, get_avail_workers)) of
        true -> recovered;
        false ->
            case erlang:monotonic_time(millisecond) > Deadline of
                true -> {not_recovered, Status};
                false -> timer:sleep(1), wait_status(Pool, Worker, Expected, Deadline)
            end
    end.

%%%===================================================================
%%% Configuration, read from the generated modules
%%%===================================================================

lanes() ->
    job_worker:lanes() ++ [{undeclared_priority, undeclared_domain}].

pool_size(Pool) -> proplists:get_value(size, job_worker_pool_sup:pool_args(Pool)).

capacity(Pool) -> pool_size(Pool) + proplists:get_value(max_overflow, job_worker_pool_sup:pool_args(Pool)).

held(Pool, M) -> length([W || {P, W} <- M#model.held, P =:= Pool]).

expected_status(Pool, Held) ->
    Size = pool_size(Pool),
    Capacity = capacity(Pool),
    #{state => if Held < Size -> ready; Held < Capacity -> overflow; true -> full end,
      available_workers => max(0, Size - Held),
      overflow_workers => max(0, Held - Size),
      monitored_workers => max(Size, Held)}.
