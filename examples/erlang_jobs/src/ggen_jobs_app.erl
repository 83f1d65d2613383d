%%%-------------------------------------------------------------------
%%% @doc Application callback of `ggen_jobs': starts the top
%%% supervisor.
%%% @end
%%%-------------------------------------------------------------------
-module(ggen_jobs_app).
-behaviour(application).

-export([start/2, stop/1]).

-spec start(application:start_type(), term()) -> {ok, pid()} | {error, term()}.
start(_StartType, _StartArgs) ->
    ggen_jobs_sup:start_link().

-spec stop(term()) -> ok.
stop(_State) ->
    ok.
