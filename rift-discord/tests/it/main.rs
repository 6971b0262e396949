//! Integration tests of `rift-discord`, one binary (see STYLE.md §8).

mod bridge;
mod etf;
mod fuzz;
mod gateway;
mod import;
mod rest;

/// Emits `sqlite::<name>` and `postgres::<name>` tests for each `module::name` body taking a `TestDb`.
macro_rules! bridge_tests {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::$module::$name(rift_testing::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = rift_testing::postgres().await else { return };
                    crate::$module::$name(db).await;
                }
            )*
        }
    };
}

bridge_tests! {
    bridge::a_scripted_guild_mirrors_whole_and_follows_live_changes,
    bridge::relay_splits_retries_and_recognises_its_echoes,
    bridge::a_restart_mid_backfill_finishes_with_every_message_once,
    bridge::bad_tokens_and_other_owners_get_clear_answers,
    bridge::dms_and_group_dms_mirror_with_history_and_relay,
    bridge::pins_round_trip_through_discord_without_echo,
    bridge::archive_mode_mirrors_pins_and_writes_none,
    import::exports_import_once_and_the_live_bridge_updates_the_same_rows,
    import::hostile_files_are_refused_or_reported_never_a_panic,
}
