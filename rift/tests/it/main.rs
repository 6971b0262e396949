//! The service layer over real stores, each test on SQLite and on PostgreSQL.

mod fuzz;
mod imports;
mod leases;
mod service;

/// Emits `sqlite::<name>` and `postgres::<name>` tests for each body taking an `Arc<dyn Store>`.
macro_rules! service_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let db = rift_testing::sqlite().await;
                    crate::service::$name(std::sync::Arc::clone(&db.store)).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(db) = rift_testing::postgres().await else { return };
                    crate::service::$name(std::sync::Arc::clone(&db.store)).await;
                }
            )*
        }
    };
}

/// Like `service_tests!`, for bodies that need the database itself (to close it).
macro_rules! database_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite_database {
            $(
                #[tokio::test]
                async fn $name() {
                    crate::service::$name(rift_testing::sqlite().await).await;
                }
            )*
        }
        mod postgres_database {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(db) = rift_testing::postgres().await else { return };
                    crate::service::$name(db).await;
                }
            )*
        }
    };
}

database_tests! {
    visibility_tells_hidden_from_failed,
}

service_tests! {
    refresh_rotates_and_reuse_revokes_the_family,
    login_does_not_reveal_which_part_was_wrong,
    forged_and_foreign_tokens_are_rejected,
    change_password_revokes_other_sessions,
    a_new_server_has_owner_everyone_and_general,
    a_hidden_channel_is_invisible_everywhere,
    reading_history_needs_read_history,
    the_role_hierarchy_limits_moderation,
    nobody_grants_what_they_lack,
    administrators_bypass_overwrites,
    invites_bans_and_leaving,
    messages_follow_the_contract,
    edits_and_deletes_keep_their_history,
    reactions_are_idempotent_and_evented,
    direct_messages_need_a_mutual_server,
    presence_reaches_those_who_share_a_server,
    a_bridge_mirrors_idempotently_and_relays_native_messages,
    mirrored_roles_channels_members_and_reactions_follow_the_remote,
    typing_is_throttled_and_scoped,
    search_treats_operators_as_text,
    mirrored_dms_and_group_dms_follow_the_remote,
    every_permission_change_is_enforced_on_the_next_call,
    lost_events_drop_the_whole_permission_view,
    retention_purges_old_versions_and_deleted_content,
    pins_are_limited_permissioned_and_evented,
    mirrored_pins_follow_the_remote_list,
    import_jobs_report_progress_to_their_owner_only,
}
