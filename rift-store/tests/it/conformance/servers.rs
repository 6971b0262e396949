//! Servers, members, bans and invites.

use rift::id::{ChannelId, RoleId, ServerId, UserId};
use rift::model::{ChannelKind, Role};
use rift::store::{JoinOutcome, NewInvite, NewServer, ServerPatch};
use rift::{Permissions, Store, StoreError};

use crate::fixtures::*;

pub(crate) async fn create_server_makes_owner_everyone_and_channels(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let (server, general) = server(store, &owner).await;
    assert_eq!(store.server(server.id).await.unwrap(), Some(server.clone()));
    assert_eq!(server.created_at, at(1));
    let roles = store.roles(server.id).await.unwrap();
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0].id, RoleId::everyone(server.id));
    assert!(roles[0].is_everyone());
    assert_eq!(roles[0].position, 0);
    assert_eq!(roles[0].permissions, Permissions::EVERYONE_DEFAULT);
    let member = store.member(server.id, owner.id).await.unwrap().unwrap();
    assert_eq!(member.user, owner);
    assert_eq!(member.joined_at, at(1));
    assert!(member.roles.is_empty());
    assert_eq!(general.name, "general");
    assert_eq!(general.server_id, Some(server.id));
    assert_eq!(store.channels(server.id).await.unwrap(), vec![general]);
    assert_eq!(store.servers_of_user(owner.id).await.unwrap(), vec![server]);
    assert_eq!(store.server(ServerId::new()).await.unwrap(), None);
}

pub(crate) async fn create_server_is_atomic(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let (existing, general) = server(store, &owner).await;
    // The second channel clashes with an existing id, so nothing of the new server may remain.
    let fresh = server_value(owner.id, "doomed");
    let mut clash = general.clone();
    clash.server_id = Some(fresh.id);
    let new = NewServer {
        server: fresh.clone(),
        everyone_permissions: Permissions::NONE,
        channels: vec![rift::model::Channel::new(ChannelId::new(), fresh.id, "ok", ChannelKind::Text), clash],
        owner_joined_at: at(1),
    };
    assert!(store.create_server(&new).await.is_err());
    assert_eq!(store.server(fresh.id).await.unwrap(), None);
    assert!(store.roles(fresh.id).await.unwrap().is_empty());
    assert!(store.member(fresh.id, owner.id).await.unwrap().is_none());
    assert_eq!(store.servers_of_user(owner.id).await.unwrap(), vec![existing]);
}

pub(crate) async fn update_and_delete_server(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let other = user(store, "other").await;
    let (server, _) = server(store, &owner).await;
    store.add_member(server.id, other.id, at(5)).await.unwrap();
    let patch = ServerPatch {
        name: Some("renamed".into()),
        icon_url: Some(Some("/i.png".into())),
        owner_id: Some(other.id),
    };
    let updated = store.update_server(server.id, &patch).await.unwrap().unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.icon_url.as_deref(), updated.owner_id),
        ("renamed", Some("/i.png"), other.id)
    );
    let cleared = store
        .update_server(server.id, &ServerPatch { icon_url: Some(None), ..Default::default() })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cleared.icon_url, None);
    assert_eq!(store.update_server(ServerId::new(), &patch).await.unwrap(), None);
    assert!(store.delete_server(server.id).await.unwrap());
    assert!(!store.delete_server(server.id).await.unwrap());
    assert_eq!(store.server(server.id).await.unwrap(), None);
}

pub(crate) async fn members_page_by_user_id(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let (server, _) = server(store, &owner).await;
    let mut ids = vec![owner.id];
    for i in 0..5 {
        let u = user(store, &format!("m{i}")).await;
        assert!(store.add_member(server.id, u.id, at(10 + i)).await.unwrap());
        assert!(!store.add_member(server.id, u.id, at(10 + i)).await.unwrap());
        ids.push(u.id);
    }
    ids.sort();
    assert_eq!(store.member_ids(server.id).await.unwrap(), ids);
    let first = store.members(server.id, None, 4).await.unwrap();
    assert_eq!(first.iter().map(|m| m.user.id).collect::<Vec<_>>(), ids[..4]);
    let rest = store.members(server.id, Some(ids[3]), 100).await.unwrap();
    assert_eq!(rest.iter().map(|m| m.user.id).collect::<Vec<_>>(), ids[4..]);
    assert!(store.members(server.id, Some(ids[5]), 10).await.unwrap().is_empty());
    assert!(store.remove_member(server.id, ids[1]).await.unwrap());
    assert!(!store.remove_member(server.id, ids[1]).await.unwrap());
    assert_eq!(store.member_ids(server.id).await.unwrap().len(), 5);
}

pub(crate) async fn share_a_server_needs_a_common_membership(store: &dyn Store) {
    let a = user(store, "a").await;
    let b = user(store, "b").await;
    let c = user(store, "c").await;
    let (server, _) = server(store, &a).await;
    store.add_member(server.id, b.id, at(2)).await.unwrap();
    assert!(store.share_a_server(a.id, b.id).await.unwrap());
    assert!(store.share_a_server(b.id, a.id).await.unwrap());
    assert!(!store.share_a_server(a.id, c.id).await.unwrap());
    assert!(!store.share_a_server(UserId::new(), c.id).await.unwrap());
}

pub(crate) async fn ban_removes_member_and_roles_and_replaces_reason(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let bad = user(store, "bad").await;
    let stranger = user(store, "stranger").await;
    let (server, _) = server(store, &owner).await;
    store.add_member(server.id, bad.id, at(2)).await.unwrap();
    let role = store
        .create_role(&Role::new(RoleId::new(), server.id, "mod", 0, 1, Permissions::NONE))
        .await
        .unwrap();
    assert!(store.add_member_role(server.id, bad.id, role.id).await.unwrap());
    store.ban(server.id, bad.id, Some("spam"), at(3)).await.unwrap();
    assert!(store.member(server.id, bad.id).await.unwrap().is_none());
    // Re-adding (bridges may) starts without the old roles.
    store.add_member(server.id, bad.id, at(4)).await.unwrap();
    assert!(store.member(server.id, bad.id).await.unwrap().unwrap().roles.is_empty());
    store.ban(server.id, bad.id, Some("again"), at(5)).await.unwrap();
    let ban = store.ban_entry(server.id, bad.id).await.unwrap().unwrap();
    assert_eq!((ban.user.id, ban.reason.as_deref()), (bad.id, Some("again")));
    // A non-member can be banned too.
    store.ban(server.id, stranger.id, None, at(6)).await.unwrap();
    let mut expected = vec![bad.id, stranger.id];
    expected.sort();
    let bans = store.bans(server.id, None, 100).await.unwrap();
    assert_eq!(bans.iter().map(|b| b.user.id).collect::<Vec<_>>(), expected);
    assert_eq!(store.bans(server.id, Some(expected[0]), 100).await.unwrap().len(), 1);
    assert_eq!(store.bans(server.id, None, 1).await.unwrap().len(), 1);
    assert!(store.unban(server.id, bad.id).await.unwrap());
    assert!(!store.unban(server.id, bad.id).await.unwrap());
    assert!(store.ban_entry(server.id, bad.id).await.unwrap().is_none());
    assert!(store.ban_entry(server.id, owner.id).await.unwrap().is_none());
}

fn invite(code: &str, server: ServerId, creator: UserId, max_uses: i64, expires: Option<i64>) -> NewInvite {
    NewInvite {
        code: code.into(),
        server_id: server,
        channel_id: None,
        max_uses,
        expires_at: expires.map(at),
        creator_id: creator,
        created_at: at(1),
    }
}

pub(crate) async fn invites_round_trip_and_list_newest_first(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let (server, general) = server(store, &owner).await;
    let mut first = invite("abc", server.id, owner.id, 0, None);
    first.channel_id = Some(general.id);
    let created = store.create_invite(&first).await.unwrap();
    assert_eq!(created.code, "abc");
    assert_eq!(created.server.id, server.id);
    assert_eq!(created.server.name, "guild");
    assert_eq!(created.channel_id, Some(general.id));
    assert_eq!((created.uses, created.max_uses, created.expires_at), (0, 0, None));
    assert_eq!(created.creator_id, owner.id);
    let clash = store.create_invite(&first).await;
    assert!(matches!(clash, Err(StoreError::Conflict(rift::Conflict::InviteCode))), "{clash:?}");
    let mut second = invite("def", server.id, owner.id, 3, Some(100));
    second.created_at = at(2);
    store.create_invite(&second).await.unwrap();
    let codes: Vec<String> = store.invites(server.id).await.unwrap().into_iter().map(|i| i.code).collect();
    assert_eq!(codes, ["def", "abc"]);
    assert_eq!(store.invite("def").await.unwrap().unwrap().expires_at, Some(at(100)));
    assert!(store.delete_invite("abc").await.unwrap());
    assert!(!store.delete_invite("abc").await.unwrap());
    assert_eq!(store.invite("abc").await.unwrap(), None);
}

pub(crate) async fn join_checks_invite_then_ban_then_membership(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let joiner = user(store, "joiner").await;
    let banned = user(store, "banned").await;
    let (server, _) = server(store, &owner).await;
    let (other, _) = crate::fixtures::server(store, &owner).await;
    store.create_invite(&invite("open", server.id, owner.id, 0, None)).await.unwrap();
    store.create_invite(&invite("expired", server.id, owner.id, 0, Some(10))).await.unwrap();
    store.create_invite(&invite("elsewhere", other.id, owner.id, 0, None)).await.unwrap();
    let join =
        |code: &'static str, user: UserId, now: i64| store.join_with_invite(code, server.id, user, at(now));
    assert_eq!(join("nope", joiner.id, 1).await.unwrap(), JoinOutcome::UnknownInvite);
    assert_eq!(join("expired", joiner.id, 10).await.unwrap(), JoinOutcome::UnknownInvite);
    assert_eq!(join("elsewhere", joiner.id, 1).await.unwrap(), JoinOutcome::UnknownInvite);
    store.ban(server.id, banned.id, None, at(1)).await.unwrap();
    // A bad code is reported before the ban.
    assert_eq!(join("nope", banned.id, 1).await.unwrap(), JoinOutcome::UnknownInvite);
    assert_eq!(join("open", banned.id, 1).await.unwrap(), JoinOutcome::Banned);
    match join("expired", joiner.id, 9).await.unwrap() {
        JoinOutcome::Joined(member) => {
            assert_eq!(member.user.id, joiner.id);
            assert_eq!(member.joined_at, at(9));
        }
        other => panic!("expected Joined, got {other:?}"),
    }
    assert!(
        matches!(join("open", owner.id, 1).await.unwrap(), JoinOutcome::AlreadyMember(m) if m.user.id == owner.id)
    );
    assert_eq!(store.invite("open").await.unwrap().unwrap().uses, 0);
    assert_eq!(store.invite("expired").await.unwrap().unwrap().uses, 1);
    assert!(store.member(server.id, banned.id).await.unwrap().is_none());
}

pub(crate) async fn used_up_invite_is_unknown(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let (server, _) = server(store, &owner).await;
    store.create_invite(&invite("once", server.id, owner.id, 1, None)).await.unwrap();
    let a = user(store, "a").await;
    let b = user(store, "b").await;
    assert!(matches!(
        store.join_with_invite("once", server.id, a.id, at(1)).await.unwrap(),
        JoinOutcome::Joined(_)
    ));
    // Already a member: answered as such, even though the invite is used up now.
    assert_eq!(
        store.join_with_invite("once", server.id, b.id, at(1)).await.unwrap(),
        JoinOutcome::UnknownInvite
    );
    assert_eq!(store.invite("once").await.unwrap().unwrap().uses, 1);
}

pub(crate) async fn concurrent_joins_never_exceed_max_uses(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let (server, _) = server(store, &owner).await;
    store.create_invite(&invite("limited", server.id, owner.id, 3, None)).await.unwrap();
    let mut users = Vec::new();
    for i in 0..8 {
        users.push(user(store, &format!("j{i}")).await.id);
    }
    let join = |u: UserId| store.join_with_invite("limited", server.id, u, at(2));
    let results = tokio::join!(
        join(users[0]),
        join(users[1]),
        join(users[2]),
        join(users[3]),
        join(users[4]),
        join(users[5]),
        join(users[6]),
        join(users[7]),
    );
    let results = [results.0, results.1, results.2, results.3, results.4, results.5, results.6, results.7];
    let joined = results.iter().filter(|r| matches!(r, Ok(JoinOutcome::Joined(_)))).count();
    let refused = results.iter().filter(|r| matches!(r, Ok(JoinOutcome::UnknownInvite))).count();
    assert_eq!((joined, refused), (3, 5), "{results:?}");
    assert_eq!(store.invite("limited").await.unwrap().unwrap().uses, 3);
    assert_eq!(store.member_ids(server.id).await.unwrap().len(), 4);
}
