%%%-------------------------------------------------------------------
%%% @doc A lane's consumer: it keeps the lane's jobs processed with
%%% nobody calling {@link job_worker_pool:execute/2}.
%%%
%%% It runs executions of its lane, each in a process of its own (a
%%% runner, linked), at most `slots' at a time: the lane's `consumers' in
%%% the app env `lanes', by default its pool's size, so the lane never
%%% asks its pool for more workers than that (the pool's own bounds
%%% still hold: a runner waits for a worker like any caller). It looks at
%%% an idle lane with one execution; after an execution that found jobs
%%% it starts up to two more, so a backlog is served by every slot within
%%% a few rounds; after one that found none it backs off, waiting twice
%%% as long each time from `idle_min_ms' to `idle_max_ms' (the app env
%%% `consumer_idle_ms', `{10, 500}' by default) before it looks again. A
%%% job published on this node brings the next look forward to
%%% `idle_min_ms' from then ({@link wake/1}): a burst of publishes costs
%%% one look, and a caller that publishes and at once drives the lane by
%%% hand with `execute/2' finds its job. While the lane's circuit breaker is
%%% open it runs nothing, and looks again when the breaker's window has
%%% passed: then it runs one execution, the half-open probe, and once that
%%% has closed the breaker the consumer is back to full speed. (An
%%% execution the breaker refuses is counted as `refused': one that was
%%% already running when the breaker opened.)
%%%
%%% The app env `consumers' (`true' by default) set to `false' starts no
%%% consumer, for applications that drive their lanes by hand.
%%% @end
%%%-------------------------------------------------------------------
-module(job_consumer).
-behaviour(gen_server).

-export([start_link/1, status/1, wake/1]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2, terminate/2]).

-export_type([status/0]).

-define(APP, ggen_jobs).
-define(DEFAULT_IDLE_MS, {10, 500}).

-type status() :: #{lane := job_queue:lane(),
                    state := running | idle | breaker_open,
                    slots := pos_integer(),
                    running := non_neg_integer(),
                    executions := non_neg_integer(),
                    refused := non_neg_integer(),
                    processed := non_neg_integer(),
                    failed := non_neg_integer()}.

-record(state, {lane :: job_queue:lane(),
                slots :: pos_integer(),
                idle_min :: pos_integer(),
                idle_max :: pos_integer(),
                backoff :: pos_integer(),
                runners = #{} :: #{pid() => true},
                timer :: reference() | undefined,
                breaker_open = false :: boolean(),
                executions = 0 :: non_neg_integer(),
                refused = 0 :: non_neg_integer(),
                processed = 0 :: non_neg_integer(),
                failed = 0 :: non_neg_integer()}).

%%%===================================================================
%%% API
%%%===================================================================

-spec start_link(job_queue:lane()) -> {ok, pid()}.
start_link(Lane) ->
    gen_server:start_link(?MODULE, Lane, []).

%% @doc What the consumer is doing, and what its executions have done
%% since it started.
-spec status(pid()) -> status().
status(Consumer) ->
    gen_server:call(Consumer, status).

%% @doc Tells the lane's consumer on this node, if any, that a job was
%% published: an idle consumer looks within `idle_min_ms'.
-spec wake(job_queue:lane()) -> ok.
wake(Lane) ->
    case job_consumer_sup:consumer(Lane) of
        undefined -> ok;
        Pid -> Pid ! wake, ok
    end.

%%%===================================================================
%%% gen_server callbacks
%%%===================================================================

%% @private
-spec init(job_queue:lane()) -> {ok, #state{}}.
init({P, D} = Lane) ->
    process_flag(trap_exit, true),
    #{pool := Pool} = Config = job_worker:lane_config(P, D),
    Slots = maps:get(consumers, Config, proplists:get_value(size, job_worker_pool_sup:pool_args(Pool))),
    {Min, Max} = application:get_env(?APP, consumer_idle_ms, ?DEFAULT_IDLE_MS),
    {ok, schedule(0, #state{lane = Lane, slots = max(1, Slots), idle_min = max(1, Min),
                            idle_max = max(1, Max), backoff = max(1, Min)})}.

%% @private
-spec handle_call(status, gen_server:from(), #state{}) -> {reply, status(), #state{}}.
handle_call(status, _From, S) ->
    State = if map_size(S#state.runners) > 0 -> running;
               S#state.breaker_open -> breaker_open;
               true -> idle
            end,
    {reply, #{lane => S#state.lane, state => State, slots => S#state.slots,
              running => map_size(S#state.runners), executions => S#state.executions,
              refused => S#state.refused,
              processed => S#state.processed, failed => S#state.failed}, S}.

%% @private
-spec handle_cast(term(), #state{}) -> {noreply, #state{}}.
handle_cast(_Msg, S) ->
    {noreply, S}.

%% @private Timers, wake-ups, and runners ending.
-spec handle_info(term(), #state{}) -> {noreply, #state{}} | {stop, term(), #state{}}.
handle_info(poll, S) ->
    {noreply, start_runners(1, S#state{timer = undefined})};
handle_info(wake, #state{runners = Runners, breaker_open = false} = S)
  when map_size(Runners) =:= 0 ->
    {noreply, soon(S#state{backoff = S#state.idle_min})};
handle_info(wake, S) ->
    {noreply, S};
handle_info({'EXIT', Pid, Reason}, #state{runners = Runners} = S)
  when is_map_key(Pid, Runners) ->
    {noreply, executed(Reason, S#state{runners = maps:remove(Pid, Runners)})};
handle_info({'EXIT', _Parent, Reason}, S) ->
    {stop, Reason, S};
handle_info(_Info, S) ->
    {noreply, S}.

%% @private Runners stop with their consumer.
-spec terminate(term(), #state{}) -> ok.
terminate(_Reason, S) ->
    maps:foreach(fun(Pid, _) -> exit(Pid, kill) end, S#state.runners).

%%%===================================================================
%%% Internal functions
%%%===================================================================

%% What one execution found decides what comes next.
executed({executed, {ok, #{processed := 0, failed := 0}}}, S) ->
    idle(S);
executed({executed, {ok, #{processed := Processed, failed := Failed}}}, S) ->
    S1 = S#state{processed = S#state.processed + Processed,
                 failed = S#state.failed + Failed,
                 backoff = S#state.idle_min},
    start_runners(2, S1);
executed({executed, {error, {worker_exit, _}}}, S) ->
    %% The worker was killed mid-batch; its jobs went back to the lane.
    start_runners(1, S);
executed({executed, {error, circuit_breaker_open}}, S) ->
    start_runners(1, S#state{refused = S#state.refused + 1});
executed(_PoolExhaustedQueueErrorOrCrash, S) ->
    idle(S).

%% Nothing found: look again after the backoff, which doubles.
idle(#state{timer = undefined, runners = Runners, slots = Slots} = S)
  when map_size(Runners) < Slots ->
    S1 = schedule(S#state.backoff, S),
    S1#state{backoff = min(2 * S#state.backoff, S#state.idle_max)};
idle(S) ->
    S.

%% Starts up to N runners, within the free slots, while the breaker is
%% closed; one, the probe, when the breaker lets a probe through; none
%% while it is open: then it looks again when the window has passed.
start_runners(N, #state{lane = {P, D}} = S) ->
    case {job_worker:circuit_breaker(P, D), job_worker:breaker_wait(P, D)} of
        {closed, _} -> fill(N, S#state{breaker_open = false});
        {_, 0} -> fill(1, S#state{breaker_open = true});
        {_, Wait} -> schedule(Wait, cancel_timer(S#state{breaker_open = true}))
    end.

fill(N, S) ->
    Free = S#state.slots - map_size(S#state.runners),
    lists:foldl(fun(_, Acc) -> start_runner(Acc) end, S, lists:seq(1, min(N, Free))).

start_runner(#state{lane = {P, D}} = S) ->
    Pid = spawn_link(fun() -> exit({executed, job_worker_pool:execute(P, D)}) end),
    S#state{runners = (S#state.runners)#{Pid => true}, executions = S#state.executions + 1}.

%% The next look at most idle_min ms from now.
soon(#state{timer = TRef, idle_min = Min} = S) ->
    case TRef =/= undefined andalso erlang:read_timer(TRef) of
        Left when is_integer(Left), Left =< Min -> S;
        _ -> schedule(Min, cancel_timer(S))
    end.

schedule(Ms, #state{timer = undefined} = S) ->
    S#state{timer = erlang:send_after(Ms, self(), poll)}.

cancel_timer(#state{timer = undefined} = S) ->
    S;
cancel_timer(#state{timer = TRef} = S) ->
    case erlang:cancel_timer(TRef) of
        false -> receive poll -> ok after 0 -> ok end;
        _ -> ok
    end,
    S#state{timer = undefined}.
