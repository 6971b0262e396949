//! HTTP tests over real sockets on 127.0.0.1, each on SQLite and on PostgreSQL.

mod auth;
mod client;
mod common;
mod gateway;
mod history;
mod hostile;
mod messages;
mod probing;
mod servers;
mod uploads;

common::http_tests! {
    server: [
        auth::register_login_and_profile,
        auth::bad_credentials_are_one_answer,
        auth::refresh_rotates_and_reuse_revokes,
        auth::password_change_revokes_other_sessions,
        auth::bearer_tokens_are_checked,
        servers::server_lifecycle,
        servers::invites_count_uses_and_expire,
        servers::bans_and_kicks_follow_the_hierarchy,
        servers::roles_keep_order_and_hierarchy,
        messages::channels_and_the_permission_matrix,
        messages::messages_pages_and_nonces,
        messages::edits_deletes_and_history,
        messages::reactions_and_read_state,
        messages::every_message_answer_marks_the_callers_reactions,
        messages::search_filters_and_visibility,
        messages::direct_messages,
        uploads::uploads_round_trip_with_safe_headers,
        uploads::upload_limits_and_errors,
        uploads::attachments_and_avatars_belong_to_their_uploader,
        hostile::malformed_bodies_never_break_anything,
        hostile::oversized_bodies_are_413,
        hostile::bad_and_foreign_ids_are_400_and_404,
        hostile::unauthenticated_calls_are_401,
        hostile::metacharacters_and_unicode_are_plain_text,
        hostile::unknown_routes_and_methods_answer_in_shape,
        hostile::nul_characters_in_text_fields_are_refused_not_500,
        probing::others_resources_are_404_with_no_data,
        gateway::two_clients_chat_live,
        gateway::a_kicked_member_stops_receiving_at_once,
        gateway::reading_on_one_session_marks_read_on_the_others,
        gateway::losing_view_channels_hides_the_channel,
        gateway::everyone_mentions_need_the_permission,
        gateway::resume_replays_exactly_what_was_missed,
        gateway::bad_frames_get_their_answers_while_others_chat,
        gateway::typing_and_presence_reach_only_those_who_share,
        gateway::dms_and_new_servers_arrive_live,
        gateway::metrics_are_a_json_404_when_off,
        gateway::pins_and_deletes_reach_sessions_as_settings_allow,
        history::pins_over_rest,
        history::search_operators_over_rest,
        history::in_names_dms_and_group_dms,
        history::history_settings_govern_history_and_search,
        gateway::disabled_accounts_cannot_sign_in_or_use_their_tokens,
    ],
    database: [
        client::the_client_is_served_with_strict_headers,
        client::without_a_built_client_api_paths_are_still_json,
        client::an_embedded_client_is_served_by_the_same_rules,
        client::a_client_directory_wins_over_the_embedded_copy,
        auth::expired_tokens_are_rejected,
        auth::auth_routes_are_rate_limited_per_address,
        hostile::message_sends_are_rate_limited_per_user,
        hostile::health_is_503_when_the_database_is_gone,
        gateway::frame_floods_close_4008,
        gateway::silent_sessions_time_out,
        gateway::a_reader_that_never_reads_is_dropped_without_slowing_others,
        gateway::a_sender_that_sends_flat_out_is_not_closed,
        gateway::resuming_after_the_window_is_refused,
        gateway::a_failed_visibility_check_ends_the_session,
        gateway::metrics_count_sends_and_deliveries_when_on,
    ],
}
