//! SQLite's group commit: concurrent sends share transactions, and a failing message in a
//! shared transaction leaves the others stored.

use crate::conformance::messages::concurrent_sends_are_each_stored_once_and_a_failure_fails_alone;

#[tokio::test]
async fn concurrent_sends_share_transactions_on_sqlite() {
    let db = rift_testing::sqlite().await;
    let (batches_before, stored_before) = db.database.group_commit_stats().expect("sqlite");
    concurrent_sends_are_each_stored_once_and_a_failure_fails_alone(&db.database).await;
    let (batches, stored) = db.database.group_commit_stats().expect("sqlite");
    let (batches, stored) = (batches - batches_before, stored - stored_before);
    assert_eq!(stored, 96 - 12 - 1, "every stored message counted once");
    assert!(batches < stored, "{stored} messages took {batches} transactions: nothing was batched");
}

#[tokio::test]
async fn postgres_has_no_group_commit() {
    let Some(db) = rift_testing::postgres().await else { return };
    assert_eq!(db.database.group_commit_stats(), None);
}
