//! Users and refresh tokens.

use rift::Store;
use rift::StoreError;
use rift::id::{TokenFamilyId, UserId};
use rift::model::Status;
use rift::store::{NewRefreshToken, RefreshOutcome, UserPatch};

use crate::fixtures::*;

pub(crate) async fn user_round_trips_and_lookups_ignore_case(store: &dyn Store) {
    let mut new = new_user("Ada.Lovelace");
    new.email = Some("Ada@Example.org".into());
    let created = store.create_user(&new).await.unwrap();
    assert_eq!(created.id, new.id);
    assert_eq!(created.username, "Ada.Lovelace");
    assert_eq!(created.display_name, "Ada.Lovelace display");
    assert_eq!(created.created_at, at(0));
    assert_eq!(created.status, Status::Online);
    assert!(!created.is_puppet);
    assert_eq!(store.user(new.id).await.unwrap(), Some(created.clone()));
    assert_eq!(store.user_by_username("ada.lovelace").await.unwrap(), Some(created.clone()));
    assert_eq!(store.user_by_username("ADA.LOVELACE").await.unwrap(), Some(created.clone()));
    assert_eq!(store.user_by_username("ada").await.unwrap(), None);
    assert_eq!(store.user(UserId::new()).await.unwrap(), None);
    assert_eq!(store.password_hash(new.id).await.unwrap().as_deref(), Some("$argon2id$fake"));
    assert_eq!(store.password_hash(UserId::new()).await.unwrap(), None);
    store.set_password_hash(new.id, "$argon2id$other").await.unwrap();
    assert_eq!(store.password_hash(new.id).await.unwrap().as_deref(), Some("$argon2id$other"));
}

pub(crate) async fn username_and_email_conflicts_ignore_case(store: &dyn Store) {
    let mut first = new_user("grace");
    first.email = Some("grace@example.org".into());
    store.create_user(&first).await.unwrap();
    let clash = store.create_user(&new_user("GRACE")).await;
    assert!(matches!(clash, Err(StoreError::Conflict(rift::Conflict::Username))), "{clash:?}");
    let mut other = new_user("hopper");
    other.email = Some("GRACE@example.ORG".into());
    let clash = store.create_user(&other).await;
    assert!(matches!(clash, Err(StoreError::Conflict(rift::Conflict::Email))), "{clash:?}");
    // Users without e-mail never clash on it.
    store.create_user(&new_user("a1")).await.unwrap();
    store.create_user(&new_user("a2")).await.unwrap();
    assert!(store.user_by_username("hopper").await.unwrap().is_none());
    // A reused id is a key clash, told apart from the username and email rules.
    let mut same_id = new_user("someone_else");
    same_id.id = first.id;
    let clash = store.create_user(&same_id).await;
    assert!(matches!(clash, Err(StoreError::Conflict(rift::Conflict::Key("users")))), "{clash:?}");
}

pub(crate) async fn puppets_have_bridge_refs_and_no_password(store: &dyn Store) {
    let mut puppet = new_user("discord_123");
    puppet.password_hash = None;
    puppet.bridge = bridge("123");
    let created = store.create_user(&puppet).await.unwrap();
    assert!(created.is_puppet);
    assert_eq!(created.bridge, bridge("123"));
    assert_eq!(store.password_hash(puppet.id).await.unwrap(), None);
    let mut again = new_user("discord_123b");
    again.bridge = bridge("123");
    let clash = store.create_user(&again).await;
    assert!(matches!(clash, Err(StoreError::Conflict(rift::Conflict::BridgeRef))), "{clash:?}");
}

pub(crate) async fn users_batch_leaves_out_unknown_ids(store: &dyn Store) {
    let a = user(store, "a").await;
    let b = user(store, "b").await;
    let mut found = store.users(&[b.id, UserId::new(), a.id]).await.unwrap();
    found.sort_by_key(|u| u.id);
    assert_eq!(found, vec![a.clone(), b]);
    assert!(store.users(&[]).await.unwrap().is_empty());
}

pub(crate) async fn update_user_changes_only_given_fields(store: &dyn Store) {
    let u = user(store, "carol").await;
    let patch = UserPatch {
        display_name: Some("Carol ✨".into()),
        avatar_url: Some(Some("/files/x".into())),
        status: None,
    };
    let updated = store.update_user(u.id, &patch).await.unwrap().unwrap();
    assert_eq!(updated.display_name, "Carol ✨");
    assert_eq!(updated.avatar_url.as_deref(), Some("/files/x"));
    assert_eq!(updated.status, Status::Online);
    let patch = UserPatch { display_name: None, avatar_url: Some(None), status: Some(Status::Dnd) };
    let updated = store.update_user(u.id, &patch).await.unwrap().unwrap();
    assert_eq!(updated.avatar_url, None);
    assert_eq!(updated.status, Status::Dnd);
    assert_eq!(updated.display_name, "Carol ✨");
    assert_eq!(store.update_user(UserId::new(), &patch).await.unwrap(), None);
    assert_eq!(store.update_user(u.id, &UserPatch::default()).await.unwrap(), Some(updated));
}

fn token(hash: &str, family: TokenFamilyId, user: UserId, expires: i64) -> NewRefreshToken {
    NewRefreshToken {
        token_hash: hash.into(),
        family_id: family,
        user_id: user,
        created_at: at(0),
        expires_at: at(expires),
    }
}

pub(crate) async fn refresh_token_is_valid_once_then_reuse_revokes_family(store: &dyn Store) {
    let u = user(store, "dave").await;
    let family = TokenFamilyId::new();
    store.insert_refresh_token(&token("t1", family, u.id, 100)).await.unwrap();
    assert_eq!(store.refresh_token_family("t1").await.unwrap(), Some((u.id, family)));
    assert_eq!(store.refresh_token_family("nope").await.unwrap(), None);
    assert_eq!(
        store.use_refresh_token("t1", at(10)).await.unwrap(),
        RefreshOutcome::Valid { user_id: u.id, family_id: family }
    );
    store.insert_refresh_token(&token("t2", family, u.id, 100)).await.unwrap();
    assert_eq!(
        store.use_refresh_token("t1", at(11)).await.unwrap(),
        RefreshOutcome::Reused { user_id: u.id, family_id: family }
    );
    // The reuse revoked the family: the fresh token no longer works.
    assert_eq!(store.use_refresh_token("t2", at(12)).await.unwrap(), RefreshOutcome::Invalid);
    assert_eq!(store.use_refresh_token("unknown", at(12)).await.unwrap(), RefreshOutcome::Invalid);
}

pub(crate) async fn expired_and_revoked_tokens_are_invalid(store: &dyn Store) {
    let u = user(store, "erin").await;
    let (f1, f2, f3) = (TokenFamilyId::new(), TokenFamilyId::new(), TokenFamilyId::new());
    store.insert_refresh_token(&token("old", f1, u.id, 5)).await.unwrap();
    assert_eq!(store.use_refresh_token("old", at(5)).await.unwrap(), RefreshOutcome::Invalid);
    store.insert_refresh_token(&token("r", f2, u.id, 100)).await.unwrap();
    store.revoke_token_family(f2).await.unwrap();
    assert_eq!(store.use_refresh_token("r", at(1)).await.unwrap(), RefreshOutcome::Invalid);
    // revoke_user_tokens keeps only the named family.
    store.insert_refresh_token(&token("keep", f3, u.id, 100)).await.unwrap();
    store.insert_refresh_token(&token("drop", TokenFamilyId::new(), u.id, 100)).await.unwrap();
    store.revoke_user_tokens(u.id, Some(f3)).await.unwrap();
    assert_eq!(store.use_refresh_token("drop", at(1)).await.unwrap(), RefreshOutcome::Invalid);
    assert!(matches!(store.use_refresh_token("keep", at(1)).await.unwrap(), RefreshOutcome::Valid { .. }));
    store.insert_refresh_token(&token("last", f3, u.id, 100)).await.unwrap();
    store.revoke_user_tokens(u.id, None).await.unwrap();
    assert_eq!(store.use_refresh_token("last", at(1)).await.unwrap(), RefreshOutcome::Invalid);
}

pub(crate) async fn concurrent_refresh_yields_one_valid_and_reuse(store: &dyn Store) {
    let u = user(store, "frank").await;
    for round in 0..5 {
        let family = TokenFamilyId::new();
        let hash = format!("race{round}");
        store.insert_refresh_token(&token(&hash, family, u.id, 100)).await.unwrap();
        let (a, b, c) = tokio::join!(
            store.use_refresh_token(&hash, at(1)),
            store.use_refresh_token(&hash, at(1)),
            store.use_refresh_token(&hash, at(1)),
        );
        let outcomes = [a.unwrap(), b.unwrap(), c.unwrap()];
        let valid = outcomes.iter().filter(|o| matches!(o, RefreshOutcome::Valid { .. })).count();
        let reused = outcomes.iter().filter(|o| matches!(o, RefreshOutcome::Reused { .. })).count();
        assert_eq!(valid, 1, "{outcomes:?}");
        // The third use may come after the family was revoked (Invalid) or before (Reused).
        assert!(reused >= 1, "{outcomes:?}");
        assert_eq!(store.use_refresh_token(&hash, at(2)).await.unwrap(), RefreshOutcome::Invalid);
    }
}
