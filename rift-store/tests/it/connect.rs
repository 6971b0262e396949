//! Opening databases by URL.

use rift::Store;
use rift::store::Backend;

#[tokio::test]
async fn connect_picks_sqlite_for_paths_and_sqlite_urls() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.db");
    let store = rift_store::connect(plain.to_str().unwrap()).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    store.ping().await.unwrap();
    store.close().await;
    assert!(plain.exists());
    for (url, file) in [
        (format!("sqlite://{}", dir.path().join("a.db").display()), "a.db"),
        (format!("sqlite:{}?mode=rwc", dir.path().join("b.db").display()), "b.db"),
    ] {
        let store = rift_store::connect(&url).await.unwrap();
        assert_eq!(store.backend(), Backend::Sqlite, "{url}");
        store.close().await;
        assert!(dir.path().join(file).exists(), "{url}");
    }
    // Reopening runs no migration twice and keeps the data.
    let store = rift_store::Database::open_sqlite(&plain).await.unwrap();
    assert!(store.user_by_username("nobody").await.unwrap().is_none());
    let memory = rift_store::connect("sqlite::memory:").await;
    assert!(memory.is_err(), "each pooled connection would see another empty database");
}

#[tokio::test]
async fn connect_picks_postgres_for_postgres_urls() {
    let Some((url, _)) = rift_testing::postgres_url().await else { return };
    for url in [url.clone(), url.replacen("postgres://", "postgresql://", 1)] {
        let store = rift_store::connect(&url).await.unwrap();
        assert_eq!(store.backend(), Backend::Postgres);
        store.ping().await.unwrap();
        store.close().await;
    }
    assert!(rift_store::connect("postgres://postgres:wrong@127.0.0.1:1/none").await.is_err());
}
