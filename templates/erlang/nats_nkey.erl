%%% @doc NATS nkeys and credentials files.
%%%
%%% Owns everything needed to authenticate with an nkey: the nkey text
%%% encoding (RFC 4648 base32 without padding, a prefix byte naming the key
%%% type and a CRC16-XMODEM checksum, little-endian), decoding of `SU...'
%%% seeds, deriving the public key, ed25519 signing of the server nonce, and
%%% parsing of `.creds' files (a `-----BEGIN NATS USER JWT-----' block plus a
%%% `-----BEGIN USER NKEY SEED-----' block) or of files holding only a seed.
%%%
%%% Pure functions; nothing here talks to the network. Error reasons never
%%% contain key material, so they are safe to log.
-module(nats_nkey).

-export([read_credentials/1,
         parse_credentials/1,
         decode_seed/1,
         encode_seed/2,
         encode_public/2,
         public_key/1,
         sign/2,
         base64url/1,
         base32_encode/1,
         base32_decode/1,
         crc16/1]).

-export_type([key_type/0, credentials/0]).

-type key_type() :: user | account | operator | server | cluster | curve.
-type credentials() :: #{jwt := binary() | undefined,
                         seed := binary(),          % raw 32-byte ed25519 seed
                         public := binary()}.       % encoded public nkey (U...)

%% Prefix bytes from the nkeys specification. A seed carries the seed
%% prefix in its top 5 bits followed by the key type's prefix.
-define(PREFIX_SEED, 18 bsl 3).
-define(ALPHABET, <<"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567">>).

%%====================================================================
%% Credentials files
%%====================================================================

%% @doc Read and parse a `.creds' file or a file holding a bare user seed.
%% Re-read on every connect attempt by nats_conn, so fixing a broken file
%% takes effect without a restart.
-spec read_credentials(file:filename_all()) ->
          {ok, credentials()} | {error, term()}.
read_credentials(Path) ->
    case file:read_file(Path) of
        {ok, Bin} -> parse_credentials(Bin);
        {error, Reason} -> {error, {read_failed, Reason}}
    end.

%% @doc Parse the contents of a credentials file (see module doc).
-spec parse_credentials(binary()) -> {ok, credentials()} | {error, term()}.
parse_credentials(Bin) when is_binary(Bin) ->
    %% string:trim/1 rejects invalid UTF-8; such a file is simply invalid.
    try [string:trim(L) || L <- binary:split(Bin, [<<"\n">>], [global])] of
        Lines -> parse_lines(Lines)
    catch
        error:_ -> {error, invalid_credentials_file}
    end.

parse_lines(Lines) ->
    Blocks = blocks(Lines, []),
    {Jwt, SeedText} =
        case Blocks of
            [] -> {undefined, bare_seed(Lines)};
            _ -> {block(<<"JWT">>, Blocks), block(<<"SEED">>, Blocks)}
        end,
    case SeedText of
        undefined -> {error, no_seed_in_credentials};
        _ ->
            case decode_seed(SeedText) of
                {ok, {user, Seed}} ->
                    {ok, #{jwt => Jwt, seed => Seed,
                           public => encode_public(user, public_key(Seed))}};
                {ok, {Type, _}} -> {error, {not_a_user_seed, Type}};
                {error, _} = Err -> Err
            end
    end.

%% Collect {Label, FirstContentLine} for every "---...BEGIN ...---" block.
blocks([], Acc) ->
    lists:reverse(Acc);
blocks([<<"---", _/binary>> = Line | Rest], Acc) ->
    case binary:match(Line, <<"BEGIN">>) of
        nomatch -> blocks(Rest, Acc);
        _ ->
            case [L || L <- Rest, L =/= <<>>] of
                [<<"---", _/binary>> | _] -> blocks(Rest, Acc);  % empty block
                [Content | _] -> blocks(Rest, [{Line, Content} | Acc]);
                [] -> lists:reverse(Acc)
            end
    end;
blocks([_ | Rest], Acc) ->
    blocks(Rest, Acc).

block(Word, Blocks) ->
    case [C || {Label, C} <- Blocks, binary:match(Label, Word) =/= nomatch] of
        [C | _] -> C;
        [] -> undefined
    end.

bare_seed(Lines) ->
    case [L || <<"SU", _/binary>> = L <- Lines] of
        [Seed | _] -> Seed;
        [] -> undefined
    end.

%%====================================================================
%% nkey encoding
%%====================================================================

%% @doc Decode an encoded seed (`SU...' for users) into its key type and
%% the raw 32-byte ed25519 seed, checking length, checksum and prefixes.
-spec decode_seed(iodata()) -> {ok, {key_type(), binary()}} | {error, term()}.
decode_seed(Text) ->
    case base32_decode(iolist_to_binary(Text)) of
        {ok, <<Raw:34/binary, Crc:16/little>>} ->
            case crc16(Raw) of
                Crc -> decode_seed_prefix(Raw);
                _ -> {error, invalid_seed_checksum}
            end;
        {ok, _} -> {error, invalid_seed_length};
        {error, _} -> {error, invalid_seed_encoding}
    end.

decode_seed_prefix(<<B1, B2, Seed:32/binary>>) ->
    %% 5 bits of seed prefix, then the 8-bit type prefix split over the
    %% remaining 3 bits of B1 and the top 5 bits of B2.
    case B1 band 16#F8 of
        ?PREFIX_SEED ->
            TypeByte = ((B1 band 7) bsl 5) bor ((B2 band 16#F8) bsr 3),
            case type_of(TypeByte) of
                undefined -> {error, invalid_seed_prefix};
                Type -> {ok, {Type, Seed}}
            end;
        _ ->
            {error, invalid_seed_prefix}
    end.

%% @doc Encode a raw 32-byte seed of the given key type (`SU...' for users).
-spec encode_seed(key_type(), <<_:256>>) -> binary().
encode_seed(Type, <<Seed:32/binary>>) ->
    P = prefix(Type),
    B1 = ?PREFIX_SEED bor (P bsr 5),
    B2 = (P band 31) bsl 3,
    with_crc(<<B1, B2, Seed/binary>>).

%% @doc Encode a raw 32-byte ed25519 public key (`U...' for users).
-spec encode_public(key_type(), <<_:256>>) -> binary().
encode_public(Type, <<Pub:32/binary>>) ->
    with_crc(<<(prefix(Type)), Pub/binary>>).

%% @doc The raw ed25519 public key for a raw seed.
-spec public_key(<<_:256>>) -> binary().
public_key(<<Seed:32/binary>>) ->
    {Pub, _} = crypto:generate_key(eddsa, ed25519, Seed),
    Pub.

%% @doc Sign the server nonce; returns the signature as base64url without
%% padding, ready for the CONNECT `sig' field.
-spec sign(binary(), <<_:256>>) -> binary().
sign(Nonce, <<Seed:32/binary>>) ->
    base64url(crypto:sign(eddsa, none, Nonce, [Seed, ed25519])).

with_crc(Raw) ->
    base32_encode(<<Raw/binary, (crc16(Raw)):16/little>>).

prefix(user) -> 20 bsl 3;
prefix(account) -> 0;
prefix(operator) -> 14 bsl 3;
prefix(server) -> 13 bsl 3;
prefix(cluster) -> 2 bsl 3;
prefix(curve) -> 23 bsl 3.

type_of(B) ->
    Types = [user, account, operator, server, cluster, curve],
    case [T || T <- Types, prefix(T) =:= B] of
        [T] -> T;
        [] -> undefined
    end.

%%====================================================================
%% Codecs
%%====================================================================

%% @doc base64url without padding (OTP 25's base64 has no URL mode).
-spec base64url(binary()) -> binary().
base64url(Bin) ->
    << <<(url_char(C))>> || <<C>> <= base64:encode(Bin), C =/= $= >>.

url_char($+) -> $-;
url_char($/) -> $_;
url_char(C) -> C.

%% @doc RFC 4648 base32, no padding.
-spec base32_encode(binary()) -> binary().
base32_encode(Bin) ->
    Pad = (5 - bit_size(Bin) rem 5) rem 5,
    Bits = <<Bin/binary, 0:Pad>>,
    << <<(binary:at(?ALPHABET, V))>> || <<V:5>> <= Bits >>.

%% @doc Inverse of base32_encode/1; trailing bits that do not fill a byte
%% are dropped, as in the reference implementation.
-spec base32_decode(binary()) -> {ok, binary()} | {error, invalid_base32}.
base32_decode(Text) ->
    try << <<(b32_value(C)):5>> || <<C>> <= Text >> of
        Bits ->
            Whole = bit_size(Bits) div 8,
            <<Bytes:Whole/binary, _/bitstring>> = Bits,
            {ok, Bytes}
    catch
        throw:invalid_base32 -> {error, invalid_base32}
    end.

b32_value(C) when C >= $A, C =< $Z -> C - $A;
b32_value(C) when C >= $2, C =< $7 -> C - $2 + 26;
b32_value(_) -> throw(invalid_base32).

%% @doc CRC16-XMODEM (polynomial 0x1021, initial value 0).
-spec crc16(binary()) -> 0..16#FFFF.
crc16(Bin) ->
    crc16(Bin, 0).

crc16(<<B, Rest/binary>>, Crc) ->
    crc16(Rest, crc_bits(Crc bxor (B bsl 8), 8));
crc16(<<>>, Crc) ->
    Crc.

crc_bits(Crc, 0) ->
    Crc;
crc_bits(Crc, N) when Crc band 16#8000 =/= 0 ->
    crc_bits(((Crc bsl 1) bxor 16#1021) band 16#FFFF, N - 1);
crc_bits(Crc, N) ->
    crc_bits((Crc bsl 1) band 16#FFFF, N - 1).
