//! Integration tests of `rift-discord`, one binary (see STYLE.md §8).

mod bridge;
mod etf;
mod fuzz;
mod gateway;
mod rest;

/// Emits `sqlite::<name>` and `postgres::<name>` tests for each bridge body taking a `TestDb`.
macro_rules! bridge_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::bridge::$name(rift_testing::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = rift_testing::postgres().await else { return };
                    crate::bridge::$name(db).await;
                }
            )*
        }
    };
}

bridge_tests! {
    a_scripted_guild_mirrors_whole_and_follows_live_changes,
    relay_splits_retries_and_recognises_its_echoes,
    a_restart_mid_backfill_finishes_with_every_message_once,
    bad_tokens_and_other_owners_get_clear_answers,
    dms_and_group_dms_mirror_with_history_and_relay,
}
