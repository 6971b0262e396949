//! Server audit log, read states, bridge lookups, connections and cursors, cascades.

use rift::id::{AuditEntryId, BridgeConnectionId, ChannelId, MessageId, RoleId, ServerId, UserId};
use rift::model::{BridgeStatus, Channel, ChannelKind, ReadState, Role};
use rift::store::{
    BridgedKind, CreateMessageOutcome, MentionCandidate, NewInvite, NewMessage, NewServer, NewUser,
};
use rift::{Permissions, Store, StoreError};
use uuid::Uuid;

use crate::fixtures::*;

pub(crate) async fn audit_log_pages_newest_first(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let (server, _) = server(store, &owner).await;
    let (other, _) = crate::fixtures::server(store, &owner).await;
    let mut entries = Vec::new();
    for i in 0..5 {
        let mut entry = audit_entry(server.id, if i == 0 { None } else { Some(owner.id) }, "role_update", i);
        entry.target_id = Some(Uuid::from(RoleId::new()));
        store.add_audit_entry(&entry).await.unwrap();
        entries.push(entry);
    }
    store.add_audit_entry(&audit_entry(other.id, None, "server_update", 9)).await.unwrap();
    entries.reverse();
    assert_eq!(store.audit_log(server.id, None, 100).await.unwrap(), entries);
    assert_eq!(store.audit_log(server.id, None, 2).await.unwrap(), entries[..2]);
    assert_eq!(store.audit_log(server.id, Some(entries[1].id), 2).await.unwrap(), entries[2..4]);
    assert!(store.audit_log(server.id, Some(entries[4].id), 2).await.unwrap().is_empty());
    assert!(store.audit_log(ServerId::new(), None, 10).await.unwrap().is_empty());
    assert_eq!(entries[0].changes, serde_json::json!({"name": ["old", "new"], "n": 1}));
    let _ = AuditEntryId::new();
}

pub(crate) async fn read_state_only_moves_forward(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let (_, general) = server(store, &owner).await;
    let m1 = message(store, general.id, owner.id, "1").await;
    let m2 = message(store, general.id, owner.id, "2").await;
    assert!(store.read_states(owner.id).await.unwrap().is_empty());
    store.ack(owner.id, general.id, m2.id).await.unwrap();
    store.ack(owner.id, general.id, m1.id).await.unwrap();
    assert_eq!(
        store.read_states(owner.id).await.unwrap(),
        [ReadState { channel_id: general.id, last_read_message_id: m2.id }]
    );
    let m3 = message(store, general.id, owner.id, "3").await;
    store.ack(owner.id, general.id, m3.id).await.unwrap();
    assert_eq!(store.read_states(owner.id).await.unwrap()[0].last_read_message_id, m3.id);
    let unknown = store.ack(owner.id, ChannelId::new(), MessageId::new()).await;
    assert!(matches!(unknown, Err(StoreError::Missing(_))), "{unknown:?}");
}

pub(crate) async fn bridged_objects_are_found_by_remote_id(store: &dyn Store) {
    let mut puppet = new_user("puppet");
    puppet.bridge = bridge("u1");
    puppet.password_hash = None;
    let puppet = store.create_user(&puppet).await.unwrap();
    let mut guild = server_value(puppet.id, "mirrored");
    guild.bridge = bridge("g1");
    let mut channel = Channel::new(ChannelId::new(), guild.id, "c", ChannelKind::Text);
    channel.bridge = bridge("c1");
    store
        .create_server(&NewServer {
            server: guild.clone(),
            everyone_permissions: Permissions::NONE,
            channels: vec![channel.clone()],
            owner_joined_at: at(1),
        })
        .await
        .unwrap();
    let mut role = Role::new(RoleId::new(), guild.id, "r", 0, 1, Permissions::NONE);
    role.bridge = bridge("r1");
    store.create_role(&role).await.unwrap();
    let mut file = upload_value(None, "f.png");
    file.bridge = bridge("a1");
    store.create_upload(&file).await.unwrap();
    let mut new = new_message(channel.id, puppet.id, "mirrored");
    new.bridge = bridge("m1");
    new.attachment_ids = vec![file.id];
    store.create_message(&new, at(0)).await.unwrap();
    store.delete_message(new.id, None, at(2), None).await.unwrap();
    let cases = [
        (BridgedKind::User, "u1", Uuid::from(puppet.id)),
        (BridgedKind::Server, "g1", guild.id.into()),
        (BridgedKind::Channel, "c1", channel.id.into()),
        (BridgedKind::Role, "r1", role.id.into()),
        (BridgedKind::Message, "m1", new.id.into()),
        (BridgedKind::Upload, "a1", file.id.into()),
    ];
    for (kind, remote, id) in cases {
        assert_eq!(store.find_bridged(kind, &bridge(remote).unwrap()).await.unwrap(), Some(id), "{kind:?}");
        assert_eq!(store.find_bridged(kind, &bridge("nope").unwrap()).await.unwrap(), None, "{kind:?}");
    }
    // Same remote id from another bridge is another object.
    let elsewhere = rift::model::BridgeRef::new("matrix", "u1");
    assert_eq!(store.find_bridged(BridgedKind::User, &elsewhere).await.unwrap(), None);
    let mut twin = server_value(puppet.id, "twin");
    twin.bridge = bridge("g1");
    let clash = store
        .create_server(&NewServer {
            server: twin,
            everyone_permissions: Permissions::NONE,
            channels: vec![],
            owner_joined_at: at(1),
        })
        .await;
    assert!(matches!(clash, Err(StoreError::Conflict(rift::Conflict::BridgeRef))), "{clash:?}");
    let mut twin_role = Role::new(RoleId::new(), guild.id, "r2", 0, 1, Permissions::NONE);
    twin_role.bridge = bridge("r1");
    assert!(matches!(
        store.create_role(&twin_role).await,
        Err(StoreError::Conflict(rift::Conflict::BridgeRef))
    ));
    let mut twin_file = upload_value(None, "g.png");
    twin_file.bridge = bridge("a1");
    assert!(matches!(
        store.create_upload(&twin_file).await,
        Err(StoreError::Conflict(rift::Conflict::BridgeRef))
    ));
    // The message was deleted: still found, so a bridge never re-imports it.
    assert!(store.message(new.id, None).await.unwrap().unwrap().deleted_at.is_some());
    let _: Option<NewUser> = None;
}

pub(crate) async fn bridge_connections_and_cursors(store: &dyn Store) {
    let a = user(store, "a").await;
    let b = user(store, "b").await;
    let first = connection(a.id);
    let mut second = connection(b.id);
    second.created_at = at(4);
    store.create_bridge_connection(&first).await.unwrap();
    store.create_bridge_connection(&second).await.unwrap();
    assert_eq!(store.bridge_connection(first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(store.bridge_connection(first.id).await.unwrap().unwrap().token.expose(), "tok");
    assert_eq!(store.bridge_connection(BridgeConnectionId::new()).await.unwrap(), None);
    assert_eq!(store.bridge_connections(None).await.unwrap(), [first.clone(), second.clone()]);
    assert_eq!(store.bridge_connections(Some(b.id)).await.unwrap(), [second.clone()]);
    assert!(store.bridge_connections(Some(UserId::new())).await.unwrap().is_empty());

    assert!(store.set_bridge_status(first.id, BridgeStatus::Ready, None, Some("999")).await.unwrap());
    assert!(
        store.set_bridge_status(first.id, BridgeStatus::Stopped, Some("token revoked"), None).await.unwrap()
    );
    let stopped = store.bridge_connection(first.id).await.unwrap().unwrap();
    assert_eq!(
        (stopped.status, stopped.status_reason.as_deref(), stopped.remote_user_id.as_deref()),
        (BridgeStatus::Stopped, Some("token revoked"), Some("999"))
    );
    assert!(
        !store.set_bridge_status(BridgeConnectionId::new(), BridgeStatus::Ready, None, None).await.unwrap()
    );

    assert_eq!(store.bridge_cursor(first.id, "backfill:1").await.unwrap(), None);
    store.set_bridge_cursor(first.id, "backfill:1", "100").await.unwrap();
    store.set_bridge_cursor(first.id, "backfill:1", "200").await.unwrap();
    store.set_bridge_cursor(first.id, "backfill:2", "5").await.unwrap();
    store.set_bridge_cursor(second.id, "backfill:1", "other").await.unwrap();
    assert_eq!(store.bridge_cursor(first.id, "backfill:1").await.unwrap().as_deref(), Some("200"));
    assert_eq!(store.bridge_cursor(second.id, "backfill:1").await.unwrap().as_deref(), Some("other"));
    assert!(store.delete_bridge_connection(first.id).await.unwrap());
    assert!(!store.delete_bridge_connection(first.id).await.unwrap());
    assert_eq!(store.bridge_cursor(first.id, "backfill:1").await.unwrap(), None);
    assert_eq!(store.bridge_cursor(second.id, "backfill:1").await.unwrap().as_deref(), Some("other"));
}

pub(crate) async fn last_message_ids_skip_deleted_and_empty_channels(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let friend = user(store, "friend").await;
    let (_, general) = server(store, &owner).await;
    let (_, quiet) = server(store, &owner).await;
    let (_, emptied) = server(store, &owner).await;
    let older = message(store, general.id, owner.id, "older").await;
    let newest = message(store, general.id, owner.id, "newest").await;
    let gone = message(store, emptied.id, owner.id, "gone").await;
    let dm = ChannelId::new();
    store.open_dm(owner.id, friend.id, dm, at(1)).await.unwrap();
    let in_dm = message(store, dm, friend.id, "hi").await;
    let all = [general.id, quiet.id, emptied.id, dm, ChannelId::new()];
    let expected =
        std::collections::HashMap::from([(general.id, newest.id), (emptied.id, gone.id), (dm, in_dm.id)]);
    assert_eq!(store.last_message_ids(&all).await.unwrap(), expected);

    // Deleting the newest falls back to the one before; a channel whose only message is gone has none.
    store.delete_message(newest.id, Some(owner.id), at(2), None).await.unwrap().unwrap();
    store.delete_message(gone.id, Some(owner.id), at(3), None).await.unwrap().unwrap();
    let expected = std::collections::HashMap::from([(general.id, older.id), (dm, in_dm.id)]);
    assert_eq!(store.last_message_ids(&all).await.unwrap(), expected);

    assert!(store.last_message_ids(&[]).await.unwrap().is_empty());
    // More channels than one query takes: the answer is the same.
    let mut many: Vec<ChannelId> = (0..2500).map(|_| ChannelId::new()).collect();
    many.extend(all);
    assert_eq!(store.last_message_ids(&many).await.unwrap(), expected);
}

pub(crate) async fn unread_mention_candidates_follow_the_read_position(store: &dyn Store) {
    let me = user(store, "me").await;
    let other = user(store, "other").await;
    let (_, general) = server(store, &me).await;
    let (_, unread_never) = server(store, &me).await;
    let pattern = format!("%<@{}>%", me.id);
    let read = message(store, general.id, other.id, &format!("old <@{}>", me.id)).await;
    store.ack(me.id, general.id, read.id).await.unwrap();
    let _plain = message(store, general.id, other.id, "nothing for me").await;
    let _mine = message(store, general.id, me.id, &format!("talking to myself <@{}>", me.id)).await;
    let _unflagged = message(store, general.id, other.id, "@everyone without the right").await;
    let hit = message(store, general.id, other.id, &format!("hey <@{}>", me.id)).await;
    let gone = message(store, general.id, other.id, &format!("deleted <@{}>", me.id)).await;
    store.delete_message(gone.id, Some(other.id), at(2), None).await.unwrap().unwrap();
    // `@everyone` counts by the flag stored at send time, not by the text.
    let flagged =
        NewMessage { mention_everyone: true, ..new_message(general.id, other.id, "@everyone meeting") };
    let everyone = match store.create_message(&flagged, at(0)).await.unwrap() {
        CreateMessageOutcome::Created(m) => m,
        other => panic!("expected Created, got {other:?}"),
    };
    assert!(everyone.mention_everyone);
    assert!(store.message(everyone.id, None).await.unwrap().unwrap().mention_everyone, "stored");
    // No read position: nothing counts (the channel was never opened).
    let _ = message(store, unread_never.id, other.id, &format!("<@{}>", me.id)).await;
    let dm = ChannelId::new();
    store.open_dm(me.id, other.id, dm, at(1)).await.unwrap();
    let dm_read = message(store, dm, other.id, "first").await;
    store.ack(me.id, dm, dm_read.id).await.unwrap();
    let dm_new = message(store, dm, other.id, "second, no mention").await;

    let patterns = [pattern.clone()];
    let channels = [general.id, unread_never.id, dm];
    let got = store.unread_mention_candidates(me.id, &channels, &patterns, &[dm], 100).await.unwrap();
    let candidate = |channel_id, content: &str, mention_everyone| MentionCandidate {
        channel_id,
        content: content.to_owned(),
        mention_everyone,
    };
    let mut expected = vec![
        (general.id, hit.content.clone(), false),
        (general.id, everyone.content.clone(), true),
        (dm, dm_new.content.clone(), false),
    ];
    let mut got_sorted: Vec<_> =
        got.iter().map(|c| (c.channel_id, c.content.clone(), c.mention_everyone)).collect();
    got_sorted.sort();
    expected.sort();
    assert_eq!(got_sorted, expected);
    // Only the channels asked about; no pattern and no DM leaves only the flagged message.
    assert!(store.unread_mention_candidates(me.id, &[dm], &patterns, &[], 100).await.unwrap().is_empty());
    assert_eq!(
        store.unread_mention_candidates(me.id, &channels, &[], &[], 100).await.unwrap(),
        vec![candidate(general.id, &everyone.content, true)]
    );
    // Only the channel's newest `scan` messages are looked at.
    let newest_two = store.unread_mention_candidates(me.id, &[general.id], &patterns, &[], 2).await.unwrap();
    assert_eq!(newest_two, vec![candidate(general.id, &everyone.content, true)]);
    let newest_three =
        store.unread_mention_candidates(me.id, &[general.id], &patterns, &[], 3).await.unwrap();
    assert_eq!(
        newest_three,
        vec![candidate(general.id, &hit.content, false), candidate(general.id, &everyone.content, true)]
    );
}

pub(crate) async fn deleting_a_server_takes_everything_in_it(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let member = user(store, "member").await;
    let (server, general) = server(store, &owner).await;
    let (kept, kept_channel) = crate::fixtures::server(store, &owner).await;
    store.add_member(server.id, member.id, at(1)).await.unwrap();
    let role =
        store.create_role(&Role::new(RoleId::new(), server.id, "r", 0, 1, Permissions::NONE)).await.unwrap();
    store.add_member_role(server.id, member.id, role.id).await.unwrap();
    let m = message(store, general.id, owner.id, "doomed").await;
    let survivor = message(store, kept_channel.id, owner.id, "survivor").await;
    store.add_reaction(m.id, member.id, "x", at(1)).await.unwrap();
    store.ack(member.id, general.id, m.id).await.unwrap();
    let invite = NewInvite {
        code: "gone".into(),
        server_id: server.id,
        channel_id: Some(general.id),
        max_uses: 0,
        expires_at: None,
        creator_id: owner.id,
        created_at: at(1),
    };
    store.create_invite(&invite).await.unwrap();
    store.ban(server.id, UserId::from(Uuid::from(owner.id)), None, at(1)).await.ok();
    store.add_audit_entry(&audit_entry(server.id, None, "x", 1)).await.unwrap();
    assert!(store.delete_server(server.id).await.unwrap());
    assert_eq!(store.channel(general.id).await.unwrap(), None);
    assert_eq!(store.message(m.id, None).await.unwrap(), None);
    assert_eq!(store.role(role.id).await.unwrap(), None);
    assert!(store.member(server.id, member.id).await.unwrap().is_none());
    assert_eq!(store.invite("gone").await.unwrap(), None);
    assert!(store.audit_log(server.id, None, 10).await.unwrap().is_empty());
    assert!(store.read_states(member.id).await.unwrap().is_empty());
    assert!(store.bans(server.id, None, 10).await.unwrap().is_empty());
    assert_eq!(store.servers_of_user(owner.id).await.unwrap(), vec![kept]);
    assert!(store.message(survivor.id, None).await.unwrap().is_some());
    assert_eq!(store.user(member.id).await.unwrap().map(|u| u.id), Some(member.id));
}

pub(crate) async fn ping_and_backend(store: &dyn Store) {
    store.ping().await.unwrap();
    assert!(matches!(store.backend().as_str(), "sqlite" | "postgres"));
}

pub(crate) async fn bridge_lease_has_one_holder_until_it_expires_or_is_released(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let conn = connection(owner.id);
    store.create_bridge_connection(&conn).await.unwrap();
    let (one, two) = (Uuid::now_v7(), Uuid::now_v7());
    let ttl = std::time::Duration::from_secs(30);

    // Free: the first taker gets it; the second is refused while it is valid.
    assert!(store.acquire_bridge_lease(conn.id, one, at(0), ttl).await.unwrap());
    assert!(!store.acquire_bridge_lease(conn.id, two, at(1), ttl).await.unwrap());
    assert!(!store.acquire_bridge_lease(conn.id, two, at(29), ttl).await.unwrap());
    // Renewal: the holder takes it again, which moves the expiry on.
    assert!(store.acquire_bridge_lease(conn.id, one, at(20), ttl).await.unwrap());
    assert!(!store.acquire_bridge_lease(conn.id, two, at(40), ttl).await.unwrap());
    // Expiry: after `expires_at`, anyone takes it, and the former holder is then refused.
    assert!(store.acquire_bridge_lease(conn.id, two, at(50), ttl).await.unwrap());
    assert!(!store.acquire_bridge_lease(conn.id, one, at(51), ttl).await.unwrap());
    // Release: only the holder's release counts; then the lease is free at once.
    assert!(!store.release_bridge_lease(conn.id, one).await.unwrap());
    assert!(!store.acquire_bridge_lease(conn.id, one, at(52), ttl).await.unwrap());
    assert!(store.release_bridge_lease(conn.id, two).await.unwrap());
    assert!(!store.release_bridge_lease(conn.id, two).await.unwrap());
    assert!(store.acquire_bridge_lease(conn.id, one, at(53), ttl).await.unwrap());

    // Leases are per connection; an unknown connection has none to take.
    let other = connection(owner.id);
    store.create_bridge_connection(&other).await.unwrap();
    assert!(store.acquire_bridge_lease(other.id, two, at(53), ttl).await.unwrap());
    assert!(!store.acquire_bridge_lease(BridgeConnectionId::new(), one, at(53), ttl).await.unwrap());
    // Deleting the connection takes its lease.
    assert!(store.delete_bridge_connection(conn.id).await.unwrap());
    assert!(!store.release_bridge_lease(conn.id, one).await.unwrap());
}

pub(crate) async fn concurrent_lease_takers_get_one_lease(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let conn = connection(owner.id);
    store.create_bridge_connection(&conn).await.unwrap();
    let ttl = std::time::Duration::from_secs(30);
    let take = |holder: Uuid| store.acquire_bridge_lease(conn.id, holder, at(0), ttl);
    let (r1, r2, r3, r4) =
        tokio::join!(take(Uuid::now_v7()), take(Uuid::now_v7()), take(Uuid::now_v7()), take(Uuid::now_v7()));
    let won = [r1.unwrap(), r2.unwrap(), r3.unwrap(), r4.unwrap()];
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "{won:?}");
}

pub(crate) async fn saved_gateway_sessions_are_taken_once_by_their_owner(store: &dyn Store) {
    use rift::id::SessionId;
    use rift::store::SavedSession;
    let (ada, bob) = (user(store, "ada").await, user(store, "bob").await);
    let session = |user: UserId, state: &str, second: i64| {
        SavedSession::new(SessionId::new(), user, state.to_owned(), at(second))
    };
    let first = session(ada.id, "{\"seq\":3,\"frame\":\"nul \\u0000 kept\"}", 0);
    let mut second = session(bob.id, "{}", 1);
    store.save_gateway_sessions("node-a", &[first.clone(), second.clone()]).await.unwrap();
    // Saving the same session again replaces it.
    second.state = "{\"seq\":9}".into();
    store.save_gateway_sessions("node-a", std::slice::from_ref(&second)).await.unwrap();
    let other = session(ada.id, "{}", 2);
    store.save_gateway_sessions("node-b", std::slice::from_ref(&other)).await.unwrap();

    let mut taken = store.take_gateway_sessions("node-a").await.unwrap();
    taken.sort_by_key(|s| s.saved_at);
    assert_eq!(taken, [first, second]);
    assert!(store.take_gateway_sessions("node-a").await.unwrap().is_empty(), "taken once");
    assert_eq!(store.take_gateway_sessions("node-b").await.unwrap(), [other]);

    let unknown = session(UserId::new(), "{}", 3);
    assert!(store.save_gateway_sessions("node-a", &[unknown]).await.is_err(), "an unknown user");
    assert!(store.take_gateway_sessions("node-a").await.unwrap().is_empty(), "nothing half-saved");
}

pub(crate) async fn backfill_requests_are_taken_once_finished_by_their_taker_and_handed_back(
    store: &dyn Store,
) {
    use rift::model::{BackfillRequest, BackfillState};
    let owner = user(store, "owner").await;
    let conn = connection(owner.id);
    store.create_bridge_connection(&conn).await.unwrap();
    let (one, two) = (Uuid::now_v7(), Uuid::now_v7());
    assert_eq!(store.latest_backfill_request(conn.id).await.unwrap(), None);

    let every = BackfillRequest::new(conn.id, None, at(0));
    let some = BackfillRequest::new(conn.id, Some(vec![ChannelId::new(), ChannelId::new()]), at(1));
    store.create_backfill_request(&every).await.unwrap();
    store.create_backfill_request(&some).await.unwrap();
    assert_eq!(store.backfill_request(some.id).await.unwrap().as_ref(), Some(&some), "reads back as written");
    assert_eq!(store.latest_backfill_request(conn.id).await.unwrap().map(|r| r.id), Some(some.id));

    // Taken once, oldest first, as running with the taker's time.
    let taken = store.take_backfill_requests(conn.id, one, at(5)).await.unwrap();
    assert_eq!(taken.iter().map(|r| r.id).collect::<Vec<_>>(), [every.id, some.id]);
    assert!(taken.iter().all(|r| r.state == BackfillState::Running && r.started_at == Some(at(5))));
    assert_eq!(taken[1].channel_ids, some.channel_ids);
    assert!(store.take_backfill_requests(conn.id, one, at(6)).await.unwrap().is_empty());

    // Finished only by its taker.
    assert!(!store.finish_backfill_request(every.id, two, None, at(7)).await.unwrap());
    assert!(store.finish_backfill_request(every.id, one, None, at(7)).await.unwrap());
    assert!(!store.finish_backfill_request(every.id, one, None, at(8)).await.unwrap(), "once");
    let done = store.backfill_request(every.id).await.unwrap().unwrap();
    assert_eq!((done.state, done.error, done.finished_at), (BackfillState::Done, None, Some(at(7))));

    // Another holder (the lease moved) takes what the first left running; the first's answer
    // then counts for nothing.
    let moved = store.take_backfill_requests(conn.id, two, at(9)).await.unwrap();
    assert_eq!(moved.iter().map(|r| r.id).collect::<Vec<_>>(), [some.id]);
    assert!(!store.finish_backfill_request(some.id, one, None, at(10)).await.unwrap());
    // Handed back (its host stopped): pending again, and taken again.
    assert_eq!(store.release_backfill_requests(conn.id, one).await.unwrap(), 0);
    assert_eq!(store.release_backfill_requests(conn.id, two).await.unwrap(), 1);
    assert_eq!(store.backfill_request(some.id).await.unwrap().unwrap().state, BackfillState::Pending);
    assert_eq!(store.take_backfill_requests(conn.id, two, at(11)).await.unwrap().len(), 1);
    assert!(store.finish_backfill_request(some.id, two, Some("the bridge refused"), at(12)).await.unwrap());
    let failed = store.backfill_request(some.id).await.unwrap().unwrap();
    assert_eq!((failed.state, failed.error.as_deref()), (BackfillState::Failed, Some("the bridge refused")));
    assert!(
        store.take_backfill_requests(conn.id, one, at(13)).await.unwrap().is_empty(),
        "finished stay finished"
    );

    // Requests belong to a connection: none for an unknown one, and they go with it.
    let orphan = BackfillRequest::new(BridgeConnectionId::new(), None, at(14));
    assert!(matches!(store.create_backfill_request(&orphan).await, Err(StoreError::Missing(_))));
    assert!(store.delete_bridge_connection(conn.id).await.unwrap());
    assert_eq!(store.backfill_request(every.id).await.unwrap(), None);
}
