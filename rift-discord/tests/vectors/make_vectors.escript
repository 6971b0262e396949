#!/usr/bin/env escript
%% Reference vectors for rift-discord's ETF codec, made by real Erlang `term_to_binary`.
%%
%% Run from this folder:  escript make_vectors.escript > etf_vectors.tsv
%%
%% Each output line is  NAME <TAB> CANONICAL <TAB> HEX <TAB> EXPECTED_JSON
%%   NAME            a short label
%%   CANONICAL       "yes" when rift-discord's encoder must reproduce HEX byte for byte from
%%                   EXPECTED_JSON (the term is written the way Discord's own encoder writes it:
%%                   binaries, binary map keys, utf8 atoms), "no" when only decoding is checked
%%   HEX             upper-case hex of term_to_binary(Term, Opts)
%%   EXPECTED_JSON   the JSON value the decoder must produce
%%
%% Options: `utf8` is [{minor_version, 2}] (SMALL_ATOM_UTF8_EXT, NEW_FLOAT_EXT), `latin1` is the OTP 25
%% default (ATOM_EXT), `oldfloat` is [{minor_version, 0}] (FLOAT_EXT, the 31-byte text float).
-mode(compile).

cases() ->
    Big = 18446744073709551615,
    [
     %% integers
     {"small_int_zero", yes, utf8, 0, "0"},
     {"small_int_max", yes, utf8, 255, "255"},
     {"int_256", yes, utf8, 256, "256"},
     {"int_negative_one", yes, utf8, -1, "-1"},
     {"int_min", yes, utf8, -2147483648, "-2147483648"},
     {"int_max", yes, utf8, 2147483647, "2147483647"},
     {"big_above_int_max", yes, utf8, 2147483648, "2147483648"},
     {"big_below_int_min", yes, utf8, -2147483649, "-2147483649"},
     {"big_snowflake", yes, utf8, 175928847299117063, "175928847299117063"},
     {"big_snowflake_2", yes, utf8, 1100000000000000000, "1100000000000000000"},
     {"big_i64_max", yes, utf8, 9223372036854775807, "9223372036854775807"},
     {"big_i64_min", yes, utf8, -9223372036854775808, "-9223372036854775808"},
     {"big_u64_max", yes, utf8, Big, "18446744073709551615"},
     %% floats
     {"new_float_half", yes, utf8, 1.5, "1.5"},
     {"new_float_negative", yes, utf8, -273.15, "-273.15"},
     {"new_float_zero", yes, utf8, 0.0, "0.0"},
     {"new_float_tiny", yes, utf8, 5.0e-324, "5e-324"},
     {"new_float_huge", yes, utf8, 1.7976931348623157e308, "1.7976931348623157e308"},
     {"old_float_half", no, oldfloat, 1.5, "1.5"},
     {"old_float_negative", no, oldfloat, -0.1, "-0.1"},
     {"old_float_large", no, oldfloat, 6.02214076e23, "6.02214076e23"},
     %% atoms
     {"atom_nil_utf8", yes, utf8, nil, "null"},
     {"atom_true_utf8", yes, utf8, true, "true"},
     {"atom_false_utf8", yes, utf8, false, "false"},
     {"atom_nil_latin1", no, latin1, nil, "null"},
     {"atom_true_latin1", no, latin1, true, "true"},
     {"atom_false_latin1", no, latin1, false, "false"},
     {"atom_other_latin1", no, latin1, 'GUILD_CREATE', "\"GUILD_CREATE\""},
     {"atom_other_utf8", no, utf8, 'MESSAGE_CREATE', "\"MESSAGE_CREATE\""},
     {"atom_latin1_accent", no, latin1, 'h\x{e9}llo', "\"h\\u00e9llo\""},
     {"atom_utf8_accent", no, utf8, 'h\x{e9}llo', "\"h\\u00e9llo\""},
     {"atom_utf8_non_latin1", no, utf8, list_to_atom([16#263A]), "\"\\u263a\""},
     {"atom_empty", no, utf8, '', "\"\""},
     %% binaries
     {"binary_empty", yes, utf8, <<>>, "\"\""},
     {"binary_ascii", yes, utf8, <<"hello world">>, "\"hello world\""},
     {"binary_utf8", yes, utf8, <<"caf\x{e9} \x{1F600}"/utf8>>, "\"caf\\u00e9 \\ud83d\\ude00\""},
     {"binary_quotes", yes, utf8, <<"say \"hi\"\n">>, "\"say \\\"hi\\\"\\n\""},
     {"binary_long", yes, utf8, binary:copy(<<"ab">>, 300), "\"" ++ lists:flatten(lists:duplicate(300, "ab")) ++ "\""},
     %% lists and strings
     {"nil_empty_list", yes, utf8, [], "[]"},
     {"string_ext_small_ints", no, utf8, [1, 2, 3], "[1,2,3]"},
     {"string_ext_text", no, utf8, "hi", "[104,105]"},
     {"list_mixed", yes, utf8, [1, <<"a">>, nil, true, 1.5], "[1,\"a\",null,true,1.5]"},
     {"list_with_big", yes, utf8, [175928847299117063, 256], "[175928847299117063,256]"},
     {"list_nested", yes, utf8, [[], [[<<"x">>]], [300]], "[[],[[\"x\"]],[300]]"},
     {"list_long", yes, utf8, lists:seq(1000, 1299), "[" ++ string:join([integer_to_list(I) || I <- lists:seq(1000, 1299)], ",") ++ "]"},
     %% maps
     {"map_empty", yes, utf8, #{}, "{}"},
     {"map_op", yes, utf8, #{<<"op">> => 2}, "{\"op\":2}"},
     {"map_atom_keys", no, utf8, #{op => 10, d => #{heartbeat_interval => 41250}}, "{\"op\":10,\"d\":{\"heartbeat_interval\":41250}}"},
     {"map_latin1_atom_keys", no, latin1, #{t => nil, s => nil}, "{\"t\":null,\"s\":null}"},
     {"map_int_keys", no, utf8, #{1 => <<"one">>}, "{\"1\":\"one\"}"},
     {"map_hello", yes, utf8,
      #{<<"op">> => 10, <<"s">> => nil, <<"t">> => nil,
        <<"d">> => #{<<"heartbeat_interval">> => 41250, <<"_trace">> => [<<"[\"gateway-prd-1\"]">>]}},
      "{\"op\":10,\"s\":null,\"t\":null,\"d\":{\"heartbeat_interval\":41250,\"_trace\":[\"[\\\"gateway-prd-1\\\"]\"]}}"},
     {"map_message_create", yes, utf8,
      #{<<"op">> => 0, <<"s">> => 42, <<"t">> => <<"MESSAGE_CREATE">>,
        <<"d">> => #{<<"id">> => 1100000000000000001, <<"channel_id">> => 1100000000000000002,
                     <<"guild_id">> => 1100000000000000003, <<"content">> => <<"hello \x{1F600}"/utf8>>,
                     <<"tts">> => false, <<"edited_timestamp">> => nil,
                     <<"author">> => #{<<"id">> => 1100000000000000004, <<"username">> => <<"alice">>,
                                       <<"bot">> => true},
                     <<"attachments">> => [], <<"mention_roles">> => [],
                     <<"nonce">> => <<"abc">>, <<"type">> => 0, <<"flags">> => 0}},
      "{\"op\":0,\"s\":42,\"t\":\"MESSAGE_CREATE\",\"d\":{\"id\":1100000000000000001,"
      "\"channel_id\":1100000000000000002,\"guild_id\":1100000000000000003,"
      "\"content\":\"hello \\ud83d\\ude00\",\"tts\":false,\"edited_timestamp\":null,"
      "\"author\":{\"id\":1100000000000000004,\"username\":\"alice\",\"bot\":true},"
      "\"attachments\":[],\"mention_roles\":[],\"nonce\":\"abc\",\"type\":0,\"flags\":0}}"},
     {"map_many_keys", no, utf8, maps:from_list([{integer_to_binary(I), I} || I <- lists:seq(1, 40)]),
      "{" ++ string:join([io_lib:format("\"~b\":~b", [I, I]) || I <- lists:seq(1, 40)], ",") ++ "}"},
     %% tuples decode as arrays
     {"tuple_small", no, utf8, {1, <<"a">>}, "[1,\"a\"]"},
     {"tuple_empty", no, utf8, {}, "[]"}
    ].

main(_) ->
    lists:foreach(
      fun({Name, Canonical, Opt, Term, Json}) ->
              Opts = case Opt of
                         utf8 -> [{minor_version, 2}];
                         latin1 -> [{minor_version, 1}];
                         oldfloat -> [{minor_version, 0}]
                     end,
              Hex = binary:encode_hex(term_to_binary(Term, Opts)),
              io:format("~s\t~s\t~s\t~s~n", [Name, Canonical, Hex, lists:flatten(Json)])
      end,
      cases()).
