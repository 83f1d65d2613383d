%%%-------------------------------------------------------------------
%%% @doc The `job_handler' behaviour and the default handler.
%%%
%%% A handler module (app env `handler', default `job_handler') exports
%%% `handle_job(Job) -> ok | {error, Reason}'; it runs in a process of
%%% its own, so it may also crash or block: a crash, an error or running
%%% past processTimeout all count as a failed delivery.
%%%
%%% The default handler acts on the payload's `<<"action">>':
%%% `<<"noop">>' returns `ok', `<<"fail">>' returns
%%% `{error, simulated_failure}', `<<"crash">>' crashes the job process,
%%% `<<"sleep">>' sleeps `<<"ms">>' milliseconds; anything else is `ok'.
%%% @end
%%%-------------------------------------------------------------------
-module(job_handler).

-export([handle_job/1]).

-callback handle_job(Job :: job_queue:job()) -> ok | {error, Reason :: term()}.

-spec handle_job(job_queue:job()) -> ok | {error, simulated_failure}.
handle_job(#{payload := Payload}) ->
    act(Payload).

act(#{<<"action">> := <<"nothing">>}) ->
    ok;
act(#{<<"action">> := <<"fail">>}) ->
    {error, simulated_failure};
act(#{<<"action">> := <<"crash">>}) ->
    error(simulated_crash);
act(#{<<"action">> := <<"sleep">>, <<"ms">> := Ms}) when is_integer(Ms), Ms >= 0 ->
    timer:sleep(Ms);
act(_Payload) ->
    ok.
