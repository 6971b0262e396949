//! The storage conformance suite: every test body runs against SQLite (a temp file) and
//! PostgreSQL (a fresh database in a throwaway cluster this binary starts).

mod conformance;
mod connect;
mod export;
mod fanout;
mod fixtures;
mod group_commit;
mod schema;

/// Emits `sqlite::<name>` and `postgres::<name>` tests for each `module::name` body.
macro_rules! conformance {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let db = rift_testing::sqlite().await;
                    crate::conformance::$module::$name(&db.database).await;
                    assert_eq!(rift::Store::backend(&db.database), rift::store::Backend::Sqlite);
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(db) = rift_testing::postgres().await else { return };
                    crate::conformance::$module::$name(&db.database).await;
                    assert_eq!(rift::Store::backend(&db.database), rift::store::Backend::Postgres);
                    db.database.close().await;
                }
            )*
        }
    };
}

conformance! {
    users::user_round_trips_and_lookups_ignore_case,
    users::username_and_email_conflicts_ignore_case,
    users::puppets_have_bridge_refs_and_no_password,
    users::users_batch_leaves_out_unknown_ids,
    users::update_user_changes_only_given_fields,
    users::refresh_token_is_valid_once_then_reuse_revokes_family,
    users::expired_and_revoked_tokens_are_invalid,
    users::concurrent_refresh_yields_one_valid_and_reuse,
    servers::create_server_makes_owner_everyone_and_channels,
    servers::create_server_is_atomic,
    servers::update_and_delete_server,
    servers::members_page_by_user_id,
    servers::share_a_server_needs_a_common_membership,
    servers::ban_removes_member_and_roles_and_replaces_reason,
    servers::invites_round_trip_and_list_newest_first,
    servers::join_checks_invite_then_ban_then_membership,
    servers::used_up_invite_is_unknown,
    servers::concurrent_joins_never_exceed_max_uses,
    roles::create_role_inserts_and_shifts_up,
    roles::move_role_up_and_down_keeps_positions_contiguous,
    roles::delete_role_closes_the_gap_and_drops_assignments,
    roles::update_role_changes_fields_not_position,
    roles::concurrent_role_changes_keep_positions_contiguous,
    channels::channels_round_trip_with_overwrites_in_order,
    channels::duplicate_bridged_channel_conflicts,
    channels::update_channel_and_overwrites,
    channels::deleting_a_channel_takes_its_messages,
    messages::message_round_trips_with_author_and_nonce_only_on_create,
    messages::nonce_repeated_within_window_returns_original,
    messages::attachments_are_attached_in_order_and_only_once,
    messages::pages_respect_before_after_and_limit,
    messages::edit_and_delete_keep_history,
    messages::reactions_summarise_per_emoji_in_first_reaction_order,
    messages::unicode_round_trips,
    messages::unknown_channel_or_author_is_missing,
    messages::concurrent_sends_with_one_nonce_store_one_message,
    messages::concurrent_sends_are_each_stored_once_and_a_failure_fails_alone,
    search::search_matches_all_words_and_phrases_newest_first,
    search::search_filters_author_time_and_attachments,
    search::deleted_and_edited_messages_leave_the_index,
    search::search_metacharacters_are_literal_text,
    search::unicode_is_searchable,
    search::search_prefixes_exclusions_and_flags,
    search::search_operator_text_is_never_syntax,
    search::search_finds_the_newest_matches_whatever_the_storage_order,
    search::a_search_no_index_narrows_stops_at_its_time_limit,
    dms::open_dm_twice_gives_one_channel,
    dms::concurrent_open_dm_makes_one_channel,
    dms::dm_channels_show_the_other_side_newest_activity_first,
    dms::mirror_dm_makes_a_group_dm_and_keeps_it_equal_to_the_remote,
    dms::mirror_dm_keeps_one_dm_per_pair,
    misc::audit_log_pages_newest_first,
    misc::read_state_only_moves_forward,
    misc::last_message_ids_skip_deleted_and_empty_channels,
    misc::unread_mention_candidates_follow_the_read_position,
    misc::bridged_objects_are_found_by_remote_id,
    misc::bridge_connections_and_cursors,
    misc::bridge_lease_has_one_holder_until_it_expires_or_is_released,
    misc::backfill_requests_are_taken_once_finished_by_their_taker_and_handed_back,
    misc::concurrent_lease_takers_get_one_lease,
    misc::saved_gateway_sessions_are_taken_once_by_their_owner,
    misc::deleting_a_server_takes_everything_in_it,
    misc::ping_and_backend,
}
