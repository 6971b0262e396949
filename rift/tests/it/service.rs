//! The service layer over real stores: domain rules, permissions and events, end to end. Each body
//! runs on SQLite and on PostgreSQL (see `service_tests!` in `main.rs`).

use std::sync::Arc;
use std::time::Duration;

use rift::bridge::BridgeHost;
use rift::clock::ManualClock;
use rift::event::{Event, Topic};
use rift::files::{DirFileStore, FileStore};
use rift::model::{BridgeConnection, BridgeStatus, ChannelKind, OverwriteKind, Status};
use rift::router::{Router, Subscription};
use rift::{
    ChannelId, ChannelInput, Config, ErrorKind, InviteInput, MessageQuery, OverwriteInput, Permissions,
    RegisterInput, RemoteChannel, RemoteMember, RemoteMessage, RemoteRole, RemoteUser, Rift, RoleInput,
    RoleUpdate, SearchParams, SendMessage, ServerId, ServerUpdate, Store, UploadId, UserId,
};
use rift_examples::LineBridge;

pub(crate) use crate::imports::import_jobs_report_progress_to_their_owner_only;

fn service(store: Arc<dyn Store>) -> Rift {
    let mut config = Config::new(b"test secret, long enough to be a secret".to_vec());
    config.rate_limits = false;
    Rift::new(store, config)
}

async fn user(rift: &Rift, name: &str) -> UserId {
    rift.register(RegisterInput::new(name, "password123")).await.expect("register").user.id
}

#[track_caller]
fn assert_code<T: std::fmt::Debug>(result: rift::Result<T>, code: &str) {
    match result {
        Err(error) => assert_eq!(error.code(), code, "{error:?}"),
        Ok(value) => panic!("expected {code}, got Ok({value:?})"),
    }
}

#[track_caller]
fn assert_kind<T: std::fmt::Debug>(result: rift::Result<T>, kind: ErrorKind) {
    match result {
        Err(error) => assert_eq!(error.kind(), kind, "{error:?}"),
        Ok(value) => panic!("expected {kind:?}, got Ok({value:?})"),
    }
}

/// A server owned by a new user, with a second user joined by invite.
struct Fixture {
    rift: Rift,
    owner: UserId,
    member: UserId,
    server: ServerId,
    general: ChannelId,
}

async fn fixture(store: Arc<dyn Store>) -> Fixture {
    fixture_of(service(store)).await
}

async fn fixture_of(rift: Rift) -> Fixture {
    let owner = user(&rift, "owner").await;
    let member = user(&rift, "member").await;
    let server = rift.create_server(owner, "Lab").await.unwrap().id;
    let general = rift.channels(owner, server).await.unwrap()[0].id;
    let invite = rift.create_invite(owner, server, InviteInput::default()).await.unwrap();
    rift.join_server(member, server, &invite.code).await.unwrap();
    Fixture { rift, owner, member, server, general }
}

async fn next_event(sub: &mut Subscription) -> Event {
    tokio::time::timeout(Duration::from_secs(5), sub.recv())
        .await
        .expect("an event")
        .expect("not lagged")
        .event
        .clone()
}

fn no_event(sub: &mut Subscription) {
    assert!(sub.try_recv().is_none(), "unexpected event");
}

pub(crate) async fn refresh_rotates_and_reuse_revokes_the_family(store: Arc<dyn Store>) {
    let rift = service(store);
    let session = rift.register(RegisterInput::new("ada", "password123")).await.unwrap();
    assert_eq!(rift.authenticate(session.access_token.expose()).unwrap(), session.user.id);

    let second = rift.refresh(session.refresh_token.expose()).await.unwrap();
    assert_code(rift.refresh(session.refresh_token.expose()).await, "invalid_refresh_token");
    // The reuse revoked the family: the newer token is dead too.
    assert_code(rift.refresh(second.refresh_token.expose()).await, "invalid_refresh_token");

    let login = rift.login("ADA", "password123").await.unwrap();
    let next = rift.refresh(login.refresh_token.expose()).await.unwrap();
    rift.logout(login.user.id, next.refresh_token.expose()).await.unwrap();
    assert_code(rift.refresh(next.refresh_token.expose()).await, "invalid_refresh_token");
}

pub(crate) async fn login_does_not_reveal_which_part_was_wrong(store: Arc<dyn Store>) {
    let rift = service(store);
    user(&rift, "grace").await;
    assert_code(rift.login("grace", "wrong password").await, "invalid_credentials");
    assert_code(rift.login("nobody", "password123").await, "invalid_credentials");
    assert_code(rift.register(RegisterInput::new("Grace", "password123")).await, "username_taken");
    assert_code(rift.register(RegisterInput::new("x", "password123")).await, "invalid_username");
    assert_code(rift.register(RegisterInput::new("bad name", "password123")).await, "invalid_username");
    assert_code(rift.register(RegisterInput::new("shortpw", "1234567")).await, "invalid_password");
}

pub(crate) async fn forged_and_foreign_tokens_are_rejected(store: Arc<dyn Store>) {
    let rift = service(Arc::clone(&store));
    let session = rift.register(RegisterInput::new("eve", "password123")).await.unwrap();
    let other = Rift::new(Arc::clone(&store), Config::new(b"another secret entirely".to_vec()));
    assert_code(other.authenticate(session.access_token.expose()).map(|_| ()), "invalid_token");
    // alg: none with the same claims.
    let claims = session.access_token.expose().split('.').nth(1).unwrap();
    let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{claims}.");
    assert_code(rift.authenticate(&none).map(|_| ()), "invalid_token");
    assert_code(rift.authenticate("garbage").map(|_| ()), "invalid_token");
    // Expired: a zero-lifetime token is expired as soon as it is made.
    let mut config = Config::new(b"test secret, long enough to be a secret".to_vec());
    config.access_token_ttl = Duration::ZERO;
    let clock = ManualClock::starting_now();
    let short = Rift::builder(Arc::clone(&store), config).clock(Arc::new(clock.clone())).build();
    let login = short.login("eve", "password123").await.unwrap();
    assert_eq!(short.authenticate(login.access_token.expose()).unwrap(), session.user.id);
    clock.advance(Duration::from_secs(1));
    assert_code(short.authenticate(login.access_token.expose()).map(|_| ()), "invalid_token");
}

pub(crate) async fn change_password_revokes_other_sessions(store: Arc<dyn Store>) {
    let rift = service(store);
    let first = rift.register(RegisterInput::new("ann", "password123")).await.unwrap();
    let id = first.user.id;
    assert_code(rift.change_password(id, "wrong-current", "newpassword1").await, "invalid_credentials");
    let pair = rift.change_password(id, "password123", "newpassword1").await.unwrap();
    assert_code(rift.refresh(first.refresh_token.expose()).await, "invalid_refresh_token");
    rift.refresh(pair.refresh_token.expose()).await.unwrap();
    assert_code(rift.login("ann", "password123").await, "invalid_credentials");
    rift.login("ann", "newpassword1").await.unwrap();
}

pub(crate) async fn a_new_server_has_owner_everyone_and_general(store: Arc<dyn Store>) {
    let rift = service(store);
    let owner = user(&rift, "owner").await;
    let server = rift.create_server(owner, "  Lab  ").await.unwrap();
    assert_eq!(server.name, "Lab");
    assert_eq!(server.owner_id, owner);
    let roles = rift.roles(owner, server.id).await.unwrap();
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0].id.uuid(), server.id.uuid());
    assert_eq!(roles[0].permissions, Permissions::EVERYONE_DEFAULT);
    let channels = rift.channels(owner, server.id).await.unwrap();
    assert_eq!(channels.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["general"]);
    assert_eq!(rift.servers(owner).await.unwrap(), vec![server.clone()]);
    let stranger = user(&rift, "stranger").await;
    assert_code(rift.server(stranger, server.id).await, "unknown_server");
    assert_code(rift.create_server(owner, "   ").await, "invalid_name");
}

pub(crate) async fn a_hidden_channel_is_invisible_everywhere(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    let secret = f.rift.create_channel(f.owner, f.server, ChannelInput::text("secret")).await.unwrap();
    let hide = OverwriteInput::new(OverwriteKind::Role, Permissions::NONE, Permissions::VIEW_CHANNELS);
    f.rift.put_overwrite(f.owner, secret.id, f.server.uuid(), hide).await.unwrap();
    let sent = f.rift.send_message(f.owner, secret.id, SendMessage::text("classified plans")).await.unwrap();

    let visible = f.rift.channels(f.member, f.server).await.unwrap();
    assert!(visible.iter().all(|c| c.id != secret.id));
    assert_code(f.rift.channel(f.member, secret.id).await, "unknown_channel");
    assert_code(f.rift.messages(f.member, secret.id, MessageQuery::default()).await, "unknown_channel");
    assert_code(f.rift.send_message(f.member, secret.id, SendMessage::text("hi")).await, "unknown_channel");
    assert_code(f.rift.add_reaction(f.member, sent.message.id, "👍").await, "unknown_message");
    assert_code(f.rift.start_typing(f.member, secret.id).await, "unknown_channel");
    assert!(f.rift.search(f.member, SearchParams::text("classified")).await.unwrap().is_empty());
    let mut scoped = SearchParams::text("classified");
    scoped.channel_id = Some(secret.id);
    assert_code(f.rift.search(f.member, scoped).await, "unknown_channel");
    // The owner still finds it.
    assert_eq!(f.rift.search(f.owner, SearchParams::text("classified")).await.unwrap().len(), 1);

    // A member overwrite reveals it again.
    let reveal = OverwriteInput::new(OverwriteKind::Member, Permissions::VIEW_CHANNELS, Permissions::NONE);
    f.rift.put_overwrite(f.owner, secret.id, f.member.uuid(), reveal).await.unwrap();
    assert_eq!(f.rift.messages(f.member, secret.id, MessageQuery::default()).await.unwrap().len(), 1);
}

pub(crate) async fn reading_history_needs_read_history(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    let deny = OverwriteInput::new(OverwriteKind::Role, Permissions::NONE, Permissions::READ_HISTORY);
    f.rift.put_overwrite(f.owner, f.general, f.server.uuid(), deny).await.unwrap();
    f.rift.send_message(f.owner, f.general, SendMessage::text("needle")).await.unwrap();
    assert_kind(f.rift.messages(f.member, f.general, MessageQuery::default()).await, ErrorKind::Forbidden);
    assert!(f.rift.search(f.member, SearchParams::text("needle")).await.unwrap().is_empty());
    // Sending still works.
    f.rift.send_message(f.member, f.general, SendMessage::text("hello")).await.unwrap();
}

pub(crate) async fn the_role_hierarchy_limits_moderation(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    let rift = &f.rift;
    let third = user(rift, "third").await;
    let code = rift.create_invite(f.owner, f.server, InviteInput::default()).await.unwrap().code;
    rift.join_server(third, f.server, &code).await.unwrap();

    let mods = rift
        .create_role(
            f.owner,
            f.server,
            RoleInput::new("mods", Permissions::KICK_MEMBERS | Permissions::MANAGE_ROLES),
        )
        .await
        .unwrap();
    assert_eq!(mods.position, 1);
    rift.set_member_role(f.owner, mods.id, f.member, true).await.unwrap();
    // Without KICK_MEMBERS: 403; a moderator can kick a plain member but not the owner or a peer.
    assert_code(rift.kick(third, f.server, f.member).await, "missing_permissions");
    assert_code(rift.kick(f.member, f.server, f.owner).await, "role_hierarchy");
    rift.set_member_role(f.owner, mods.id, third, true).await.unwrap();
    assert_code(rift.kick(f.member, f.server, third).await, "role_hierarchy");
    rift.set_member_role(f.owner, mods.id, third, false).await.unwrap();
    // The moderator cannot edit, assign or delete a role at their own level.
    assert_code(rift.update_role(f.member, mods.id, RoleUpdate::default()).await, "role_hierarchy");
    assert_code(rift.set_member_role(f.member, mods.id, third, true).await, "role_hierarchy");
    assert_code(rift.delete_role(f.member, mods.id).await, "role_hierarchy");
    rift.kick(f.member, f.server, third).await.unwrap();
    assert_code(rift.server(third, f.server).await, "unknown_server");
    let log = rift.audit_log(f.owner, f.server, None, None).await.unwrap();
    assert!(log.iter().any(|e| e.action == "member_kick" && e.target_id == Some(third.uuid())));
    assert_kind(rift.audit_log(f.member, f.server, None, None).await, ErrorKind::Forbidden);
}

pub(crate) async fn nobody_grants_what_they_lack(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    let rift = &f.rift;
    let managers = rift
        .create_role(f.owner, f.server, RoleInput::new("managers", Permissions::MANAGE_ROLES))
        .await
        .unwrap();
    rift.set_member_role(f.owner, managers.id, f.member, true).await.unwrap();
    let escalate = RoleInput::new("sneaky", Permissions::BAN_MEMBERS);
    assert_code(rift.create_role(f.member, f.server, escalate).await, "missing_permissions");
    let ok = rift
        .create_role(f.member, f.server, RoleInput::new("helpers", Permissions::SEND_MESSAGES))
        .await
        .unwrap();
    let mut grant_admin = RoleUpdate::default();
    grant_admin.permissions = Some(Permissions::ADMINISTRATOR);
    assert_code(rift.update_role(f.member, ok.id, grant_admin).await, "missing_permissions");
    let overwrite = OverwriteInput::new(OverwriteKind::Role, Permissions::MANAGE_MESSAGES, Permissions::NONE);
    assert_code(
        rift.put_overwrite(f.member, f.general, ok.id.uuid(), overwrite).await,
        "missing_permissions",
    );
    // Moving a role to or above one's own highest role is refused; out of range is 400.
    let mut up = RoleUpdate::default();
    up.position = Some(managers.position + 1);
    assert_kind(rift.update_role(f.member, ok.id, up).await, ErrorKind::Forbidden);
    let mut far = RoleUpdate::default();
    far.position = Some(99);
    assert_code(rift.update_role(f.owner, ok.id, far).await, "invalid_position");
    assert_code(rift.delete_role(f.owner, rift::RoleId::everyone(f.server)).await, "cannot_delete_everyone");
}

pub(crate) async fn administrators_bypass_overwrites(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    let admin = f
        .rift
        .create_role(f.owner, f.server, RoleInput::new("admin", Permissions::ADMINISTRATOR))
        .await
        .unwrap();
    let hide = OverwriteInput::new(OverwriteKind::Role, Permissions::NONE, Permissions::VIEW_CHANNELS);
    f.rift.put_overwrite(f.owner, f.general, f.server.uuid(), hide).await.unwrap();
    assert_code(f.rift.channel(f.member, f.general).await, "unknown_channel");
    f.rift.set_member_role(f.owner, admin.id, f.member, true).await.unwrap();
    f.rift.channel(f.member, f.general).await.unwrap();
    f.rift.messages(f.member, f.general, MessageQuery::default()).await.unwrap();
}

pub(crate) async fn invites_bans_and_leaving(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    let rift = &f.rift;
    let late = user(rift, "late").await;
    let mut input = InviteInput::default();
    input.max_uses = Some(1);
    let once = rift.create_invite(f.owner, f.server, input).await.unwrap();
    assert_eq!(rift.invite(&once.code).await.unwrap().max_uses, 1);
    // Already a member: 200 and no use counted.
    rift.join_server(f.member, f.server, &once.code).await.unwrap();
    rift.join_server(late, f.server, &once.code).await.unwrap();
    assert_code(rift.invite(&once.code).await, "unknown_invite");
    let outsider = user(rift, "outsider").await;
    assert_code(rift.join_server(outsider, f.server, &once.code).await, "unknown_invite");
    assert_code(rift.join_server(outsider, f.server, "nope").await, "unknown_invite");

    // Bans remove the member at once and block rejoining; they can target non-members too.
    rift.ban(f.owner, f.server, late, Some("spam".into())).await.unwrap();
    assert_code(rift.server(late, f.server).await, "unknown_server");
    let open = rift.create_invite(f.owner, f.server, InviteInput::default()).await.unwrap();
    assert_code(rift.join_server(late, f.server, &open.code).await, "banned");
    rift.ban(f.owner, f.server, outsider, None).await.unwrap();
    let bans = rift.bans(f.owner, f.server, None, None).await.unwrap();
    assert_eq!(bans.len(), 2);
    rift.unban(f.owner, f.server, late).await.unwrap();
    rift.join_server(late, f.server, &open.code).await.unwrap();
    assert_kind(rift.bans(f.member, f.server, None, None).await, ErrorKind::Forbidden);

    assert_code(rift.leave(f.owner, f.server).await, "owner_cannot_leave");
    rift.leave(late, f.server).await.unwrap();
    // Ownership moves only to a member, only by the owner.
    let mut to_outsider = ServerUpdate::default();
    to_outsider.owner_id = Some(outsider);
    assert_code(rift.update_server(f.owner, f.server, to_outsider).await, "invalid_owner");
    let mut to_member = ServerUpdate::default();
    to_member.owner_id = Some(f.member);
    assert_kind(rift.update_server(f.member, f.server, to_member.clone()).await, ErrorKind::Forbidden);
    rift.update_server(f.owner, f.server, to_member).await.unwrap();
    rift.leave(f.owner, f.server).await.unwrap();
}

pub(crate) async fn messages_follow_the_contract(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    let rift = &f.rift;
    let mut sub = rift.router().subscribe(64);
    sub.add(Topic::Channel(f.general));

    let mut first = SendMessage::text("hello");
    first.nonce = Some("n-1".into());
    let sent = rift.send_message(f.member, f.general, first.clone()).await.unwrap();
    assert!(sent.created);
    assert_eq!(sent.message.nonce.as_deref(), Some("n-1"));
    match next_event(&mut sub).await {
        Event::MessageCreate(m) => assert_eq!((m.id, m.nonce.as_deref()), (sent.message.id, Some("n-1"))),
        other => panic!("{other:?}"),
    }
    // Same nonce again: the original, no duplicate, no event.
    let again = rift.send_message(f.member, f.general, first).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.message.id, sent.message.id);
    no_event(&mut sub);

    assert_code(rift.send_message(f.member, f.general, SendMessage::text("  \n ")).await, "empty_message");
    assert_code(
        rift.send_message(f.member, f.general, SendMessage::text("x".repeat(10_001))).await,
        "message_too_long",
    );
    rift.send_message(f.member, f.general, SendMessage::text("é".repeat(10_000))).await.unwrap();
    let voice = rift
        .create_channel(f.owner, f.server, {
            let mut input = ChannelInput::text("voice");
            input.kind = ChannelKind::Voice;
            input
        })
        .await
        .unwrap();
    assert_code(rift.send_message(f.member, voice.id, SendMessage::text("hi")).await, "wrong_channel_kind");
    let other = rift.create_channel(f.owner, f.server, ChannelInput::text("other")).await.unwrap();
    let mut reply = SendMessage::text("re");
    reply.reply_to = Some(sent.message.id);
    assert_code(rift.send_message(f.member, other.id, reply.clone()).await, "invalid_reply");
    let replied = rift.send_message(f.owner, f.general, reply).await.unwrap();
    assert_eq!(replied.message.reply_to, Some(sent.message.id));
    let mut long_nonce = SendMessage::text("n");
    long_nonce.nonce = Some("x".repeat(65));
    assert_code(rift.send_message(f.member, f.general, long_nonce).await, "invalid_nonce");

    // Listing: newest first, never the nonce.
    let listed = rift.messages(f.owner, f.general, MessageQuery::default()).await.unwrap();
    assert_eq!(listed.len(), 3);
    assert!(listed.windows(2).all(|w| w[0].id > w[1].id));
    assert!(listed.iter().all(|m| m.nonce.is_none()));
    let mut bad = MessageQuery::default();
    bad.limit = Some(101);
    assert_code(rift.messages(f.owner, f.general, bad).await, "invalid_limit");
}

pub(crate) async fn edits_and_deletes_keep_their_history(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    let rift = &f.rift;
    let id =
        rift.send_message(f.member, f.general, SendMessage::text("first draft")).await.unwrap().message.id;
    assert_code(rift.edit_message(f.owner, id, "not yours").await, "not_author");
    let edited = rift.edit_message(f.member, id, "second draft").await.unwrap();
    assert_eq!(edited.content, "second draft");
    assert!(edited.edited_at.is_some());
    let history = rift.message_history(f.owner, id).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].old_content.as_deref(), Some("first draft"));
    assert_eq!(history[0].new_content.as_deref(), Some("second draft"));

    // Someone else's message: only with MANAGE_MESSAGES, and it is audited.
    let third = user(rift, "third").await;
    let code = rift.create_invite(f.owner, f.server, InviteInput::default()).await.unwrap().code;
    rift.join_server(third, f.server, &code).await.unwrap();
    assert_kind(rift.delete_message(third, id).await, ErrorKind::Forbidden);
    rift.delete_message(f.owner, id).await.unwrap();
    assert_code(rift.message(f.owner, id).await, "unknown_message");
    assert_code(rift.delete_message(f.owner, id).await, "unknown_message");
    assert!(rift.search(f.owner, SearchParams::text("draft")).await.unwrap().is_empty());
    // A deleted message's history: the author and MANAGE_MESSAGES holders only.
    let trail = rift.message_history(f.member, id).await.unwrap();
    assert_eq!(trail.len(), 2);
    assert_eq!(trail[1].old_content.as_deref(), Some("second draft"));
    assert_eq!(rift.message_history(f.owner, id).await.unwrap().len(), 2);
    assert_code(rift.message_history(third, id).await, "unknown_message");
    let log = rift.audit_log(f.owner, f.server, None, None).await.unwrap();
    assert!(log.iter().any(|e| e.action == "message_delete" && e.target_id == Some(id.uuid())));
    // Deleting one's own message is not audited.
    let own = rift.send_message(f.member, f.general, SendMessage::text("oops")).await.unwrap().message.id;
    rift.delete_message(f.member, own).await.unwrap();
    let log = rift.audit_log(f.owner, f.server, None, None).await.unwrap();
    assert!(!log.iter().any(|e| e.target_id == Some(own.uuid())));
}

pub(crate) async fn reactions_are_idempotent_and_evented(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    let rift = &f.rift;
    let id = rift.send_message(f.owner, f.general, SendMessage::text("react")).await.unwrap().message.id;
    let mut sub = rift.router().subscribe(16);
    sub.add(Topic::Channel(f.general));
    rift.add_reaction(f.member, id, "👍").await.unwrap();
    rift.add_reaction(f.member, id, "👍").await.unwrap();
    assert!(matches!(next_event(&mut sub).await, Event::ReactionAdd { .. }));
    no_event(&mut sub);
    rift.add_reaction(f.owner, id, "👍").await.unwrap();
    let message = rift.message(f.member, id).await.unwrap();
    assert_eq!(message.reactions.len(), 1);
    assert_eq!((message.reactions[0].count, message.reactions[0].me), (2, true));
    assert_kind(rift.remove_reaction(f.member, id, "👍", Some(f.owner)).await, ErrorKind::Forbidden);
    rift.remove_reaction(f.owner, id, "👍", Some(f.member)).await.unwrap();
    rift.remove_reaction(f.owner, id, "👍", None).await.unwrap();
    rift.remove_reaction(f.owner, id, "👍", None).await.unwrap();
    assert!(rift.message(f.member, id).await.unwrap().reactions.is_empty());
    assert_code(rift.add_reaction(f.member, id, "not an emoji").await, "invalid_emoji");
}

pub(crate) async fn direct_messages_need_a_mutual_server(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    let rift = &f.rift;
    let loner = user(rift, "loner").await;
    assert_code(rift.open_dm(f.owner, loner).await, "no_mutual_server");
    assert_code(rift.open_dm(f.owner, f.owner).await, "cannot_dm_self");
    let mut sub = rift.router().subscribe(8);
    sub.add(Topic::User(f.member));
    let dm = rift.open_dm(f.owner, f.member).await.unwrap();
    assert!(dm.created);
    assert_eq!(dm.value.recipients.iter().map(|u| u.id).collect::<Vec<_>>(), [f.member]);
    assert!(matches!(next_event(&mut sub).await, Event::DmChannelCreate(_)));
    let again = rift.open_dm(f.member, f.owner).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.value.id, dm.value.id);

    let sent = rift.send_message(f.member, dm.value.id, SendMessage::text("psst")).await.unwrap();
    assert_eq!(sent.message.channel_id, dm.value.id);
    assert_eq!(rift.messages(f.owner, dm.value.id, MessageQuery::default()).await.unwrap().len(), 1);
    assert_code(rift.messages(loner, dm.value.id, MessageQuery::default()).await, "unknown_channel");
    assert_eq!(rift.search(f.owner, SearchParams::text("psst")).await.unwrap().len(), 1);
    assert!(rift.search(loner, SearchParams::text("psst")).await.unwrap().is_empty());
    // Leaving the server does not close an existing DM.
    rift.leave(f.member, f.server).await.unwrap();
    assert!(!rift.open_dm(f.owner, f.member).await.unwrap().created);
}

pub(crate) async fn presence_reaches_those_who_share_a_server(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    let rift = &f.rift;
    let loner = user(rift, "loner").await;
    let mut owner_sub = rift.router().subscribe(16);
    owner_sub.add(Topic::User(f.owner));
    let mut loner_sub = rift.router().subscribe(16);
    loner_sub.add(Topic::User(loner));

    assert_eq!(rift.user(f.owner, f.member).await.unwrap().status, Status::Offline);
    rift.session_connected(f.member).await.unwrap();
    assert_eq!(
        next_event(&mut owner_sub).await,
        Event::PresenceUpdate { user_id: f.member, status: Status::Online }
    );
    assert_eq!(rift.user(f.owner, f.member).await.unwrap().status, Status::Online);
    let mut dnd = rift::ProfileUpdate::default();
    dnd.status = Some(Status::Invisible);
    rift.update_profile(f.member, dnd).await.unwrap();
    assert_eq!(
        next_event(&mut owner_sub).await,
        Event::PresenceUpdate { user_id: f.member, status: Status::Offline }
    );
    assert_eq!(rift.me(f.member).await.unwrap().status, Status::Invisible);
    rift.session_disconnected(f.member).await.unwrap();
    no_event(&mut loner_sub);
}

pub(crate) async fn a_bridge_mirrors_idempotently_and_relays_native_messages(store: Arc<dyn Store>) {
    let rift = service(Arc::clone(&store));
    let owner = user(&rift, "owner").await;
    // The bridge of the `custom_bridge` example: one channel relayed to a line-based socket.
    let connection = BridgeConnection::new("lines", owner, "secret", "bot", "relay", chrono::Utc::now());
    store.create_bridge_connection(&connection).await.unwrap();
    let bridge = Arc::new(LineBridge::new(std::net::SocketAddr::from(([127, 0, 0, 1], 0))));
    let host = BridgeHost::start(&rift, bridge.clone(), connection.id).await.unwrap();
    let ctx = host.context().clone();
    let channel = bridge.channel().unwrap();
    let (socket_read, _socket_write) =
        tokio::net::TcpStream::connect(bridge.local_addr().unwrap()).await.unwrap().into_split();
    let mut socket = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(socket_read));
    assert_eq!(socket.next_line().await.unwrap().as_deref(), Some("connected to #general"));
    assert_eq!(store.bridge_connection(connection.id).await.unwrap().unwrap().status, BridgeStatus::Ready);

    // Mirroring twice gives the same puppet and the same message.
    let puppet = rift.mirror_user(&RemoteUser::new(ctx.remote("user-9"), "Remote Person")).await.unwrap();
    assert_eq!(
        rift.mirror_user(&RemoteUser::new(ctx.remote("user-9"), "Remote Person")).await.unwrap().id,
        puppet.id
    );
    assert_code(rift.login(&puppet.username, "").await, "invalid_credentials");
    let server_id = store.channel(channel).await.unwrap().unwrap().server_id.unwrap();
    rift.mirror_member(server_id, &RemoteMember::new(puppet.id, chrono::Utc::now())).await.unwrap();
    let at = chrono::DateTime::parse_from_rfc3339("2020-01-02T03:04:05.678Z").unwrap().to_utc();
    let remote = RemoteMessage::new(ctx.remote("msg-1"), channel, puppet.id, "from afar", at);
    let first = rift.mirror_message(remote.clone()).await.unwrap();
    assert!(first.created);
    assert_eq!(first.value.created_at, at);
    assert_eq!(first.value.id.created_at(), Some(at));
    assert!(!rift.mirror_message(remote).await.unwrap().created);
    assert_eq!(
        ctx.find(rift::store::BridgedKind::Message, "msg-1").await.unwrap(),
        Some(first.value.id.uuid())
    );
    ctx.set_cursor("backfill:chan-1", "msg-1").await.unwrap();
    assert_eq!(ctx.cursor("backfill:chan-1").await.unwrap().as_deref(), Some("msg-1"));

    // A remote edit and delete keep the history; the delete is audited with no actor.
    rift.mirror_edit(&ctx.remote("msg-1"), "from afar, edited", chrono::Utc::now()).await.unwrap().unwrap();
    assert!(rift.mirror_delete(&ctx.remote("msg-1")).await.unwrap());
    assert!(!rift.mirror_delete(&ctx.remote("msg-1")).await.unwrap());
    assert_eq!(rift.message_history(owner, first.value.id).await.unwrap().len(), 2);
    let log = rift.audit_log(owner, server_id, None, None).await.unwrap();
    let entry = log.iter().find(|e| e.action == "message_delete").unwrap();
    assert_eq!((entry.actor_id, entry.reason.as_deref()), (None, Some("lines")));

    // The owner's native message is relayed; the mirrored one was not (no echo: it would be the
    // first line on the socket).
    rift.send_message(owner, channel, SendMessage::text("to the other side")).await.unwrap();
    let relayed = tokio::time::timeout(Duration::from_secs(30), socket.next_line()).await.unwrap().unwrap();
    assert_eq!(relayed.as_deref(), Some("owner: to the other side"));
    // Stopping the host (a shutdown) is not a verdict: the stored status stays.
    host.stop().await.unwrap();
    assert_eq!(store.bridge_connection(connection.id).await.unwrap().unwrap().status, BridgeStatus::Ready);
}

pub(crate) async fn mirrored_roles_channels_members_and_reactions_follow_the_remote(store: Arc<dyn Store>) {
    let rift = service(Arc::clone(&store));
    let owner = user(&rift, "owner").await;
    let remote = |id: &str| rift::model::BridgeRef::new("loopback", id);
    let server = rift.mirror_server(owner, &remote("g"), "Guild").await.unwrap();
    let mut sub = rift.router().subscribe(64);
    sub.add(Topic::Server(server.id));

    // Roles: made in rank order, then reordered, renamed and one removed.
    let mods = RemoteRole::new(remote("r-mods"), "mods", 0xff0000, Permissions::MANAGE_MESSAGES);
    let vips = RemoteRole::new(remote("r-vips"), "vips", 0, Permissions::NONE);
    let everyone = Permissions::VIEW_CHANNELS | Permissions::READ_HISTORY;
    let roles = rift.mirror_roles(server.id, everyone, &[vips.clone(), mods.clone()]).await.unwrap();
    let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["@everyone", "vips", "mods"]);
    assert_eq!(roles[0].permissions, everyone);
    let again = rift.mirror_roles(server.id, everyone, &[vips.clone(), mods.clone()]).await.unwrap();
    assert_eq!(again, roles, "replaying the same roles changes nothing");
    let mut renamed = mods.clone();
    renamed.name = "moderators".into();
    let roles = rift.mirror_roles(server.id, everyone, &[renamed, vips.clone()]).await.unwrap();
    let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["@everyone", "moderators", "vips"]);
    let mod_role = roles[1].id;
    let vip_role = roles[2].id;

    // Channels: a category and a text channel in it, then the topic and overwrites change.
    let category = rift
        .mirror_channel(server.id, &RemoteChannel::new(remote("c-cat"), "Text", ChannelKind::Category))
        .await
        .unwrap();
    let mut text = RemoteChannel::new(remote("c-1"), "chat", ChannelKind::Text);
    text.parent_id = Some(category.id);
    text.position = 1;
    text.topic = Some("  ".into());
    let channel = rift.mirror_channel(server.id, &text).await.unwrap();
    assert_eq!((channel.parent_id, channel.topic.clone(), channel.position), (Some(category.id), None, 1));
    text.topic = Some("talk here".into());
    text.overwrites = vec![rift::model::PermissionOverwrite {
        id: vip_role.uuid(),
        kind: OverwriteKind::Role,
        allow: Permissions::SEND_MESSAGES,
        deny: Permissions::NONE,
    }];
    let channel = rift.mirror_channel(server.id, &text).await.unwrap();
    assert_eq!(channel.topic.as_deref(), Some("talk here"));
    assert_eq!(channel.permission_overwrites.len(), 1);
    assert_eq!(rift.mirror_channel(server.id, &text).await.unwrap(), channel);

    // Members: nickname and mirrored roles follow; leaving removes; the owner is never removed.
    let puppet = rift.mirror_user(&RemoteUser::new(remote("u-1"), "Remote One")).await.unwrap();
    let mut member = RemoteMember::new(puppet.id, chrono::Utc::now());
    member.nickname = Some("nick".into());
    member.roles = vec![mod_role];
    rift.mirror_member(server.id, &member).await.unwrap();
    let stored = store.member(server.id, puppet.id).await.unwrap().unwrap();
    assert_eq!((stored.nickname.as_deref(), stored.roles.clone()), (Some("nick"), vec![mod_role]));
    member.nickname = None;
    member.roles = vec![vip_role];
    rift.mirror_member(server.id, &member).await.unwrap();
    let stored = store.member(server.id, puppet.id).await.unwrap().unwrap();
    assert_eq!((stored.nickname, stored.roles), (None, vec![vip_role]));
    assert!(!rift.mirror_member_remove(server.id, owner).await.unwrap());
    assert!(rift.mirror_member_remove(server.id, puppet.id).await.unwrap());
    assert!(store.member(server.id, puppet.id).await.unwrap().is_none());

    // A message edited before the bridge saw it keeps `edited_at` and no earlier version;
    // reactions count once per user.
    let at = chrono::DateTime::parse_from_rfc3339("2021-05-06T07:08:09.123Z").unwrap().to_utc();
    let edited = chrono::DateTime::parse_from_rfc3339("2021-05-06T08:00:00.456Z").unwrap().to_utc();
    let mut message = RemoteMessage::new(remote("m-1"), channel.id, puppet.id, "hi", at);
    message.edited_at = Some(edited);
    let stored = rift.mirror_message(message).await.unwrap().value;
    assert_eq!(stored.edited_at, Some(edited));
    assert!(rift.message_history(owner, stored.id).await.unwrap().is_empty());
    // Remote text PostgreSQL cannot hold is kept, cleaned, not refused (an archive loses nothing).
    let nul = RemoteMessage::new(remote("m-nul"), channel.id, puppet.id, "a\0b", at);
    assert_eq!(rift.mirror_message(nul).await.unwrap().value.content, "a\u{FFFD}b");
    assert!(rift.mirror_reaction(&remote("m-1"), puppet.id, "👍", true).await.unwrap());
    assert!(!rift.mirror_reaction(&remote("m-1"), puppet.id, "👍", true).await.unwrap());
    assert!(rift.mirror_reaction(&remote("m-1"), owner, "👍", true).await.unwrap());
    let reactions = rift.message(owner, stored.id).await.unwrap().reactions;
    assert_eq!((reactions[0].count, reactions[0].me), (2, true));
    assert!(rift.mirror_reaction(&remote("m-1"), owner, "👍", false).await.unwrap());
    assert!(!rift.mirror_reaction(&remote("unknown"), owner, "👍", true).await.unwrap());
    assert_eq!(rift.message(owner, stored.id).await.unwrap().reactions[0].count, 1);
    assert!(rift.mirror_reaction(&remote("m-1"), owner, "🎉", true).await.unwrap());
    assert_eq!(rift.mirror_reactions_clear(&remote("m-1"), Some("🎉")).await.unwrap(), 1);
    assert_eq!(rift.message(owner, stored.id).await.unwrap().reactions.len(), 1, "only 🎉 went");
    assert_eq!(rift.mirror_reactions_clear(&remote("m-1"), None).await.unwrap(), 1);
    assert!(rift.message(owner, stored.id).await.unwrap().reactions.is_empty());
    let mut saw_role_update = false;
    while let Some(Ok(delivery)) = sub.try_recv() {
        saw_role_update |= matches!(delivery.event, Event::RoleUpdate(_));
    }
    assert!(saw_role_update, "role changes are published");
}

pub(crate) async fn typing_is_throttled_and_scoped(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    let mut sub = f.rift.router().subscribe(8);
    sub.add(Topic::Channel(f.general));
    f.rift.start_typing(f.member, f.general).await.unwrap();
    f.rift.start_typing(f.member, f.general).await.unwrap();
    assert!(matches!(next_event(&mut sub).await, Event::TypingStart { .. }));
    no_event(&mut sub);
}

pub(crate) async fn search_treats_operators_as_text(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    let rift = &f.rift;
    rift.send_message(f.member, f.general, SendMessage::text("rust is great 🦀 for C++ fans")).await.unwrap();
    rift.send_message(f.member, f.general, SendMessage::text("python is great too")).await.unwrap();
    for q in ["\"", "*", "-", ":", "NEAR(", "OR", "AND NOT", "(((", "\"unbalanced", "col:umn", "🦀", "C++"]
    {
        rift.search(f.owner, SearchParams::text(q)).await.unwrap_or_else(|e| panic!("{q}: {e:?}"));
    }
    assert_eq!(rift.search(f.owner, SearchParams::text("great")).await.unwrap().len(), 2);
    assert_eq!(rift.search(f.owner, SearchParams::text("\"is great too\"")).await.unwrap().len(), 1);
    assert_eq!(rift.search(f.owner, SearchParams::text("🦀")).await.unwrap().len(), 1);
    let mut by_author = SearchParams::text("great");
    by_author.author_id = Some(f.owner);
    assert!(rift.search(f.owner, by_author).await.unwrap().is_empty());
    let mut bad = SearchParams::text("great");
    bad.limit = Some(0);
    assert_code(rift.search(f.owner, bad).await, "invalid_limit");
    let mut foreign = SearchParams::text("great");
    foreign.server_id = Some(ServerId::new());
    assert_code(rift.search(f.owner, foreign).await, "unknown_server");
}

/// What a live session may see: `Some`/`None` for visible/invisible, and an error (never `None`)
/// when the database cannot answer, so the gateway never drops a server on a transient failure.
pub(crate) async fn visibility_tells_hidden_from_failed(db: rift_testing::TestDb) {
    let f = fixture(Arc::clone(&db.store)).await;
    let outsider = user(&f.rift, "outsider").await;
    let secret = f.rift.create_channel(f.owner, f.server, ChannelInput::text("secret")).await.unwrap();
    let hide = OverwriteInput::new(OverwriteKind::Role, Permissions::NONE, Permissions::VIEW_CHANNELS);
    f.rift.put_overwrite(f.owner, secret.id, f.server.uuid(), hide).await.unwrap();

    assert_eq!(f.rift.visible_channel(f.member, f.general).await.unwrap().map(|c| c.id), Some(f.general));
    assert!(f.rift.visible_channel(f.member, secret.id).await.unwrap().is_none());
    assert!(f.rift.visible_channel(f.owner, secret.id).await.unwrap().is_some());
    assert!(f.rift.visible_channel(f.member, ChannelId::new()).await.unwrap().is_none());
    assert!(f.rift.visible_channel(outsider, f.general).await.unwrap().is_none());
    let seen = f.rift.visible_channels(f.member, f.server).await.unwrap().expect("a member");
    assert_eq!(seen.iter().map(|c| c.id).collect::<Vec<_>>(), [f.general]);
    assert!(f.rift.visible_channels(outsider, f.server).await.unwrap().is_none());
    assert!(f.rift.visible_channels(f.member, ServerId::new()).await.unwrap().is_none());

    // The database goes away: "could not tell", not "not visible". (A change first, so the
    // answers cannot come from the permission view.)
    f.rift.create_role(f.owner, f.server, RoleInput::new("any change", Permissions::NONE)).await.unwrap();
    db.database.close().await;
    let failed = f.rift.visible_channel(f.member, f.general).await;
    assert_kind(failed.map(|_| ()), ErrorKind::Internal);
    let failed = f.rift.visible_channels(f.member, f.server).await;
    assert_kind(failed.map(|_| ()), ErrorKind::Internal);
}

// ---- mirrored DMs and group DMs (Rift::mirror_dm) ----

pub(crate) async fn mirrored_dms_and_group_dms_follow_the_remote(store: Arc<dyn Store>) {
    let rift = service(store);
    let owner = user(&rift, "owner").await;
    let stranger = user(&rift, "stranger").await;
    let remote = |id: &str| rift::model::BridgeRef::new("discord", id);
    let puppet = |id: &'static str, name: &'static str| {
        let rift = rift.clone();
        async move { rift.mirror_user(&RemoteUser::new(remote(id), name)).await.unwrap().id }
    };
    let bob = puppet("1", "Bob").await;
    let carol = puppet("2", "Carol").await;
    let dave = puppet("3", "Dave").await;
    let mut owner_sub = rift.router().subscribe(16);
    owner_sub.add(Topic::User(owner));
    let mut dave_sub = rift.router().subscribe(16);
    dave_sub.add(Topic::User(dave));

    // Made once, announced to the owner's sessions once.
    let group = rift
        .mirror_dm(owner, &remote("g1"), ChannelKind::GroupDm, Some(" trio "), &[bob, carol])
        .await
        .unwrap();
    assert_eq!(
        (group.kind, group.name.as_deref(), group.bridge.clone()),
        (ChannelKind::GroupDm, Some("trio"), Some(remote("g1")))
    );
    let mut ids: Vec<UserId> = group.recipients.iter().map(|u| u.id).collect();
    ids.sort();
    let mut expected = vec![bob, carol];
    expected.sort();
    assert_eq!(ids, expected, "recipients leave out the owner");
    match next_event(&mut owner_sub).await {
        Event::DmChannelCreate(dm) => assert_eq!((dm.id, dm.kind), (group.id, ChannelKind::GroupDm)),
        other => panic!("expected DmChannelCreate, got {other:?}"),
    }
    let again = rift
        .mirror_dm(owner, &remote("g1"), ChannelKind::GroupDm, Some("trio"), &[carol, bob])
        .await
        .unwrap();
    assert_eq!(again, group);
    no_event(&mut owner_sub);
    let json = serde_json::to_value(&group).unwrap();
    assert_eq!((json["kind"].as_str(), json["name"].as_str()), (Some("group_dm"), Some("trio")));
    assert_eq!(
        (json["bridge_source"].as_str(), json["bridge_remote_id"].as_str()),
        (Some("discord"), Some("g1"))
    );

    // A two-person DM; its JSON has no name.
    let dm = rift.mirror_dm(owner, &remote("d1"), ChannelKind::Dm, Some("ignored"), &[bob]).await.unwrap();
    assert_eq!((dm.kind, dm.name.clone()), (ChannelKind::Dm, None));
    assert!(serde_json::to_value(&dm).unwrap().get("name").is_none());
    assert!(matches!(next_event(&mut owner_sub).await, Event::DmChannelCreate(_)));
    assert_eq!(rift.dm_channels(owner).await.unwrap().len(), 2);
    assert_code(rift.mirror_dm(owner, &remote("x"), ChannelKind::Text, None, &[bob]).await, "invalid_kind");

    // Messages, reactions, search and a deleted message's trail, for the owner only.
    let at = chrono::DateTime::parse_from_rfc3339("2021-01-02T03:04:05Z").unwrap().to_utc();
    let said = rift
        .mirror_message(RemoteMessage::new(remote("m1"), group.id, carol, "a haystack needle", at))
        .await
        .unwrap()
        .value;
    let gone = rift
        .mirror_message(RemoteMessage::new(remote("m2"), group.id, bob, "soon gone", at))
        .await
        .unwrap()
        .value;
    assert!(rift.mirror_reaction(&remote("m1"), bob, "👍", true).await.unwrap());
    assert!(
        rift.mirror_edit(&remote("m2"), "soon gone, edited", chrono::Utc::now()).await.unwrap().is_some()
    );
    assert!(rift.mirror_delete(&remote("m2")).await.unwrap());
    let listed = rift.messages(owner, group.id, MessageQuery::default()).await.unwrap();
    assert_eq!(listed.iter().map(|m| m.id).collect::<Vec<_>>(), [said.id]);
    assert_eq!(listed[0].reactions[0].emoji, "👍");
    assert_eq!(rift.search(owner, SearchParams::text("needle")).await.unwrap().len(), 1);
    assert_eq!(
        rift.message_history(owner, gone.id).await.unwrap().len(),
        2,
        "the owner reads everything mirrored"
    );
    assert_code(rift.messages(stranger, group.id, MessageQuery::default()).await, "unknown_channel");
    assert_code(rift.message_history(stranger, gone.id).await, "unknown_message");
    assert_code(rift.dm_channel(stranger, group.id).await, "unknown_channel");
    assert!(rift.search(stranger, SearchParams::text("needle")).await.unwrap().is_empty());

    // Renamed, carol left, dave joined: dave's sessions see it appear, carol loses it.
    let changed = rift
        .mirror_dm(owner, &remote("g1"), ChannelKind::GroupDm, Some("quartet"), &[bob, dave])
        .await
        .unwrap();
    assert_eq!(changed.name.as_deref(), Some("quartet"));
    match next_event(&mut owner_sub).await {
        Event::DmChannelCreate(seen) => {
            assert_eq!((seen.id, seen.name.as_deref()), (group.id, Some("quartet")))
        }
        other => panic!("expected the renamed group, got {other:?}"),
    }
    match next_event(&mut dave_sub).await {
        Event::DmChannelCreate(seen) => assert_eq!(seen.id, group.id),
        other => panic!("expected DmChannelCreate, got {other:?}"),
    }
    assert_code(rift.dm_channel(carol, group.id).await, "unknown_channel");
    assert!(rift.dm_channel(dave, group.id).await.is_ok());

    // The owner writes there like in any DM (the relay takes it from the channel's events); a
    // native open with bob finds the two-person DM, never the group.
    let sent = rift.send_message(owner, group.id, SendMessage::text("hello all")).await.unwrap();
    assert_eq!(sent.message.channel_id, group.id);
    let opened = rift.open_dm(owner, bob).await.unwrap();
    assert_eq!((opened.value.id, opened.created), (dm.id, false));
}

/// Stores a message written `days_ago` days ago, straight through the store (the service stamps
/// the present).
async fn old_message(store: &dyn Store, f: &Fixture, content: &str, days_ago: i64) -> rift::MessageId {
    old_message_with(store, f, content, days_ago, Vec::new()).await
}

/// [`old_message`] with attachments.
async fn old_message_with(
    store: &dyn Store,
    f: &Fixture,
    content: &str,
    days_ago: i64,
    attachment_ids: Vec<UploadId>,
) -> rift::MessageId {
    let at = chrono::Utc::now() - chrono::Duration::days(days_ago);
    let mut new = rift::store::NewMessage::new(rift::MessageId::at(at), f.general, f.member, content, at);
    new.attachment_ids = attachment_ids;
    match store.create_message(&new, at).await.unwrap() {
        rift::store::CreateMessageOutcome::Created(m) => m.id,
        other => panic!("{other:?}"),
    }
}

/// An upload of the fixture's member: its file in `files` (unless `write` is false) and its row.
async fn member_upload(f: &Fixture, files: &DirFileStore, name: &str, write: bool) -> rift::model::Upload {
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x02\0\0\0\x03\x08\x02\0\0\0";
    let id = UploadId::new();
    if write {
        files.put(id, PNG).await.unwrap();
    }
    let new = rift::NewUpload::new(id, name, None, PNG.to_vec(), PNG.len() as u64);
    f.rift.record_upload(f.member, new).await.unwrap()
}

pub(crate) async fn retention_purges_old_versions_and_deleted_content(store: Arc<dyn Store>) {
    let f = fixture(Arc::clone(&store)).await;
    let rift = &f.rift;
    let days = |n: i64| chrono::Utc::now() - chrono::Duration::days(n);
    let edited = old_message(&*store, &f, "first draft", 40).await;
    store.edit_message(edited, "second draft", false, Some(f.member), days(35)).await.unwrap();
    store.edit_message(edited, "final", false, Some(f.member), days(1)).await.unwrap();
    let gone = old_message(&*store, &f, "regrettable", 40).await;
    store.delete_message(gone, Some(f.member), days(35), None).await.unwrap();
    let recently_gone = old_message(&*store, &f, "recent regret", 40).await;
    store.delete_message(recently_gone, Some(f.member), days(2), None).await.unwrap();
    // Attachments: of the old deleted message (one plain, one whose file is already gone, one that
    // is also the member's avatar, one whose bytes a live message's attachment shares), of the
    // recent deleted one, and of a live one.
    let dir = tempfile::tempdir().unwrap();
    let files = DirFileStore::new(dir.path());
    rift.set_file_store(Arc::new(files.clone()));
    let plain = member_upload(&f, &files, "plain.png", true).await;
    let missing = member_upload(&f, &files, "missing.png", false).await;
    let avatar = member_upload(&f, &files, "avatar.png", true).await;
    let shared = member_upload(&f, &files, "shared.png", true).await;
    let sharer = member_upload(&f, &files, "sharer.png", false).await;
    files.share(shared.id, sharer.id).await.unwrap();
    let recent = member_upload(&f, &files, "recent.png", true).await;
    let ids = vec![plain.id, missing.id, avatar.id, shared.id];
    let gone_with_files = old_message_with(&*store, &f, "files to regret", 40, ids).await;
    store.delete_message(gone_with_files, Some(f.member), days(35), None).await.unwrap();
    let recently_gone_with_file = old_message_with(&*store, &f, "", 40, vec![recent.id]).await;
    store.delete_message(recently_gone_with_file, Some(f.member), days(2), None).await.unwrap();
    let live_with_file = old_message_with(&*store, &f, "kept", 40, vec![sharer.id]).await;
    let patch = rift::store::UserPatch { avatar_url: Some(Some(avatar.url.clone())), ..Default::default() };
    store.update_user(f.member, &patch).await.unwrap();
    let has_row = |upload: &rift::model::Upload| {
        let (store, id) = (Arc::clone(&store), upload.id);
        async move { store.upload(id).await.unwrap().is_some_and(|u| u.message_id.is_some()) }
    };
    let has_file = |upload: &rift::model::Upload| {
        let (files, id) = (files.clone(), upload.id);
        async move { files.get(id).await.is_ok() }
    };

    // Kept forever by default: a deleted message's attachments stay, rows and files, for those
    // who may see deleted content; only a retention purge removes them.
    assert!(rift.purge_expired_history().await.unwrap().is_empty());
    assert_eq!(rift.message_history(f.member, edited).await.unwrap().len(), 2);
    for upload in [&plain, &avatar, &shared, &recent] {
        assert!(has_row(upload).await && has_file(upload).await, "{}", upload.filename);
    }
    assert!(has_row(&missing).await);

    let mut update = rift::HistorySettingsUpdate::default();
    update.retention_days = Some(Some(30));
    assert_kind(rift.update_history_settings(f.member, f.server, update.clone()).await, ErrorKind::Forbidden);
    let mut bad = update.clone();
    bad.retention_days = Some(Some(0));
    assert_code(rift.update_history_settings(f.owner, f.server, bad).await, "invalid_retention");
    let settings = rift.update_history_settings(f.owner, f.server, update).await.unwrap();
    assert_eq!(settings.retention_days, Some(30));

    let purged = rift.purge_expired_history().await.unwrap();
    assert_eq!(purged.len(), 1);
    let counts = purged[0].1;
    assert_eq!(
        (purged[0].0, counts.versions, counts.deleted_contents, counts.attachments),
        (f.server, 1, 2, 3)
    );
    // The old deleted message's attachments are gone, rows and files (a file already gone is no
    // error); the avatar's stays whole, and so do the recent and the live ones, and the bytes the
    // live attachment shares.
    for upload in [&plain, &missing, &shared] {
        assert!(store.upload(upload.id).await.unwrap().is_none(), "{}", upload.filename);
        assert!(!has_file(upload).await, "{}", upload.filename);
    }
    assert!(has_row(&avatar).await && has_file(&avatar).await, "an avatar's file is in use");
    assert!(has_row(&recent).await && has_file(&recent).await);
    assert!(has_row(&sharer).await && has_file(&sharer).await);
    let attachments = |id| {
        let store = Arc::clone(&store);
        async move { store.message(id, None).await.unwrap().unwrap().attachments.len() }
    };
    assert_eq!(attachments(gone_with_files).await, 1);
    assert_eq!(attachments(live_with_file).await, 1);
    // The recent version stays, the old one is gone.
    let history = rift.message_history(f.member, edited).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].old_content.as_deref(), Some("second draft"));
    // The old deleted message's text is erased everywhere; the recent one keeps it.
    assert_eq!(store.message(gone, None).await.unwrap().unwrap().content, "");
    let trail = rift.message_history(f.member, gone).await.unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].old_content, None);
    assert_eq!(store.message(recently_gone, None).await.unwrap().unwrap().content, "recent regret");
    // Audited, without an actor.
    let log = rift.audit_log(f.owner, f.server, None, None).await.unwrap();
    let entry = log.iter().find(|e| e.action == "history_purge").expect("a history_purge entry");
    assert_eq!(
        (
            entry.actor_id,
            &entry.changes["versions"],
            &entry.changes["deleted_contents"],
            &entry.changes["attachments"]
        ),
        (None, &1.into(), &2.into(), &3.into())
    );
    assert_eq!(entry.changes["retention_days"], 30);
    assert!(log.iter().any(|e| e.action == "history_settings_update"));
    // Nothing left to purge: no new entry.
    assert!(rift.purge_expired_history().await.unwrap().is_empty());
    let log = rift.audit_log(f.owner, f.server, None, None).await.unwrap();
    assert_eq!(log.iter().filter(|e| e.action == "history_purge").count(), 1);
}

pub(crate) async fn pins_are_limited_permissioned_and_evented(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    let rift = &f.rift;
    let mut sub = rift.router().subscribe(256);
    sub.add(Topic::Channel(f.general));
    let mut ids = Vec::new();
    for i in 0..=rift::MAX_PINS {
        ids.push(
            rift.send_message(f.member, f.general, SendMessage::text(format!("m{i}")))
                .await
                .unwrap()
                .message
                .id,
        );
    }
    while tokio::time::timeout(Duration::from_millis(1), sub.recv()).await.is_ok() {}
    assert_kind(rift.pin_message(f.member, f.general, ids[0]).await, ErrorKind::Forbidden);
    let pinned = rift.pin_message(f.owner, f.general, ids[0]).await.unwrap();
    assert!(pinned.pinned && pinned.pinned_at.is_some());
    match next_event(&mut sub).await {
        Event::MessagePin(m) => assert_eq!((m.id, m.pinned), (ids[0], true)),
        other => panic!("{other:?}"),
    }
    // Pinning again changes nothing and says nothing.
    rift.pin_message(f.owner, f.general, ids[0]).await.unwrap();
    no_event(&mut sub);
    for id in &ids[1..rift::MAX_PINS as usize] {
        rift.pin_message(f.owner, f.general, *id).await.unwrap();
    }
    let last = *ids.last().unwrap();
    assert_code(rift.pin_message(f.owner, f.general, last).await, "too_many_pins");
    let list = rift.pinned_messages(f.member, f.general).await.unwrap();
    assert_eq!(list.len(), rift::MAX_PINS as usize);
    assert_eq!(list[0].id, ids[rift::MAX_PINS as usize - 1], "newest pin first");
    // A deleted pinned message frees its place and leaves the list.
    rift.delete_message(f.member, ids[0]).await.unwrap();
    rift.pin_message(f.owner, f.general, last).await.unwrap();
    assert_eq!(rift.pinned_messages(f.member, f.general).await.unwrap()[0].id, last);
    assert_code(rift.pin_message(f.owner, f.general, ids[0]).await, "unknown_message");
    // The channel in the path must be the message's.
    let other = rift.create_channel(f.owner, f.server, ChannelInput::text("other")).await.unwrap();
    assert_code(rift.unpin_message(f.owner, other.id, last).await, "unknown_message");
    rift.unpin_message(f.owner, f.general, last).await.unwrap();
    rift.unpin_message(f.owner, f.general, last).await.unwrap();
    assert!(!rift.pinned_messages(f.member, f.general).await.unwrap().iter().any(|m| m.id == last));
    let log = rift.audit_log(f.owner, f.server, None, Some(100)).await.unwrap();
    assert_eq!(log.iter().filter(|e| e.action == "message_unpin").count(), 1);
    assert_eq!(log.iter().filter(|e| e.action == "message_pin").count(), rift::MAX_PINS as usize + 1);
    // In a DM every participant pins.
    let dm = rift.open_dm(f.member, f.owner).await.unwrap().value;
    let note = rift.send_message(f.owner, dm.id, SendMessage::text("remember")).await.unwrap().message.id;
    rift.pin_message(f.member, dm.id, note).await.unwrap();
    assert_eq!(rift.pinned_messages(f.owner, dm.id).await.unwrap()[0].id, note);
}

pub(crate) async fn mirrored_pins_follow_the_remote_list(store: Arc<dyn Store>) {
    let rift = service(Arc::clone(&store));
    let owner = user(&rift, "owner").await;
    let remote = |id: &str| rift::model::BridgeRef::new("loopback", id);
    let server = rift.mirror_server(owner, &remote("g"), "Guild").await.unwrap();
    let channel = rift
        .mirror_channel(server.id, &RemoteChannel::new(remote("c"), "chat", ChannelKind::Text))
        .await
        .unwrap();
    let puppet = rift.mirror_user(&RemoteUser::new(remote("u"), "Remote")).await.unwrap();
    let mut ids = Vec::new();
    for n in 0..3 {
        let m = RemoteMessage::new(
            remote(&format!("m{n}")),
            channel.id,
            puppet.id,
            format!("m{n}"),
            chrono::Utc::now(),
        );
        ids.push(rift.mirror_message(m).await.unwrap().value.id);
    }
    let mut sub = rift.router().subscribe(16);
    sub.add(Topic::Channel(channel.id));
    assert_eq!(rift.mirror_pins(&remote("c"), &[ids[0], ids[1]]).await.unwrap(), (2, 0));
    assert!(matches!(next_event(&mut sub).await, Event::MessagePin(_)));
    assert!(matches!(next_event(&mut sub).await, Event::MessagePin(_)));
    // The same list again (an echo of our own pin): nothing.
    assert_eq!(rift.mirror_pins(&remote("c"), &[ids[1], ids[0]]).await.unwrap(), (0, 0));
    no_event(&mut sub);
    assert_eq!(rift.mirror_pins(&remote("c"), &[ids[2], ids[1]]).await.unwrap(), (1, 1));
    let pinned: Vec<_> =
        rift.pinned_messages(owner, channel.id).await.unwrap().iter().map(|m| m.id).collect();
    assert_eq!(pinned.len(), 2);
    assert!(pinned.contains(&ids[2]) && pinned.contains(&ids[1]));
    // Unknown channels and messages are skipped.
    assert_eq!(rift.mirror_pins(&remote("nowhere"), &[ids[0]]).await.unwrap(), (0, 0));
    let log = rift.audit_log(owner, server.id, None, None).await.unwrap();
    let pins: Vec<_> = log.iter().filter(|e| e.action == "message_pin").collect();
    assert_eq!(pins.len(), 3);
    assert!(pins.iter().all(|e| e.actor_id.is_none() && e.reason.as_deref() == Some("loopback")));
}

// ---- the permission view: every change is enforced on the very next call ----

/// Each permission-changing operation, each followed at once by a call that must now be refused
/// or allowed. Before each change the same call is made once, so the answer before it comes from
/// the permission view (the counters show it), which the change must not leave stale.
pub(crate) async fn every_permission_change_is_enforced_on_the_next_call(store: Arc<dyn Store>) {
    let f = fixture(store).await;
    let (rift, owner, member, server, general) = (&f.rift, f.owner, f.member, f.server, f.general);
    let send = |who: UserId| {
        let rift = rift.clone();
        async move { rift.send_message(who, general, SendMessage::text("hi")).await.map(|_| ()) }
    };
    send(member).await.unwrap();
    let before = rift.access_cache_stats();
    send(member).await.unwrap();
    let after = rift.access_cache_stats();
    assert!(after.hits > before.hits, "a repeated check is answered from the view: {after:?}");
    assert_eq!(after.servers, 1);

    // Channel overwrites: @everyone, then the member's own.
    let deny_send = OverwriteInput::new(OverwriteKind::Role, Permissions::NONE, Permissions::SEND_MESSAGES);
    rift.put_overwrite(owner, general, server.uuid(), deny_send).await.unwrap();
    assert_code(send(member).await, "missing_permissions");
    rift.delete_overwrite(owner, general, server.uuid()).await.unwrap();
    send(member).await.unwrap();
    let hide = OverwriteInput::new(OverwriteKind::Member, Permissions::NONE, Permissions::VIEW_CHANNELS);
    rift.put_overwrite(owner, general, member.uuid(), hide).await.unwrap();
    assert_kind(rift.messages(member, general, MessageQuery::default()).await, ErrorKind::NotFound);
    rift.delete_overwrite(owner, general, member.uuid()).await.unwrap();
    rift.messages(member, general, MessageQuery::default()).await.unwrap();

    // A role's permissions (@everyone's here).
    let mut no_send = RoleUpdate::default();
    no_send.permissions = Some(Permissions::EVERYONE_DEFAULT.difference(Permissions::SEND_MESSAGES));
    rift.update_role(owner, rift::RoleId::everyone(server), no_send).await.unwrap();
    assert_code(send(member).await, "missing_permissions");
    let mut default = RoleUpdate::default();
    default.permissions = Some(Permissions::EVERYONE_DEFAULT);
    rift.update_role(owner, rift::RoleId::everyone(server), default).await.unwrap();
    send(member).await.unwrap();

    // A new role, given, taken, given again, deleted; its overwrite mutes.
    let muted = rift.create_role(owner, server, RoleInput::new("muted", Permissions::NONE)).await.unwrap();
    let mute = OverwriteInput::new(OverwriteKind::Role, Permissions::NONE, Permissions::SEND_MESSAGES);
    rift.put_overwrite(owner, general, muted.id.uuid(), mute).await.unwrap();
    send(member).await.unwrap();
    rift.set_member_role(owner, muted.id, member, true).await.unwrap();
    assert_code(send(member).await, "missing_permissions");
    rift.set_member_role(owner, muted.id, member, false).await.unwrap();
    send(member).await.unwrap();
    rift.set_member_role(owner, muted.id, member, true).await.unwrap();
    assert_code(send(member).await, "missing_permissions");
    rift.delete_role(owner, muted.id).await.unwrap();
    send(member).await.unwrap();

    // A role that grants a server permission, then loses it.
    let mods =
        rift.create_role(owner, server, RoleInput::new("mods", Permissions::MANAGE_CHANNELS)).await.unwrap();
    rift.set_member_role(owner, mods.id, member, true).await.unwrap();
    let made = rift.create_channel(member, server, ChannelInput::text("made-by-a-mod")).await.unwrap();
    let mut powerless = RoleUpdate::default();
    powerless.permissions = Some(Permissions::NONE);
    rift.update_role(owner, mods.id, powerless).await.unwrap();
    assert_code(
        rift.create_channel(member, server, ChannelInput::text("again")).await,
        "missing_permissions",
    );

    // Channels: a new one is visible at once, a renamed one shows its name, a deleted one is gone.
    let seen = rift.visible_channels(member, server).await.unwrap().unwrap();
    assert!(seen.iter().any(|c| c.id == made.id), "the new channel is listed at once");
    let mut rename = rift::ChannelUpdate::default();
    rename.name = Some("renamed".into());
    rift.update_channel(owner, made.id, rename).await.unwrap();
    assert_eq!(rift.channel(member, made.id).await.unwrap().name, "renamed");
    rift.delete_channel(owner, made.id).await.unwrap();
    assert_kind(
        rift.send_message(member, made.id, SendMessage::text("hi")).await.map(|_| ()),
        ErrorKind::NotFound,
    );

    // Membership: kicked, rejoined, banned, unbanned and rejoined, left.
    let invite = rift.create_invite(owner, server, InviteInput::default()).await.unwrap();
    send(member).await.unwrap();
    rift.kick(owner, server, member).await.unwrap();
    assert_kind(send(member).await, ErrorKind::NotFound);
    rift.join_server(member, server, &invite.code).await.unwrap();
    send(member).await.unwrap();
    rift.ban(owner, server, member, None).await.unwrap();
    assert_kind(send(member).await, ErrorKind::NotFound);
    rift.unban(owner, server, member).await.unwrap();
    assert_kind(send(member).await, ErrorKind::NotFound);
    rift.join_server(member, server, &invite.code).await.unwrap();
    send(member).await.unwrap();

    // Ownership: transferred, the former owner keeps only what @everyone has.
    let mut rename_server = ServerUpdate::default();
    rename_server.name = Some("Lab 2".into());
    rift.update_server(owner, server, rename_server.clone()).await.unwrap();
    let mut transfer = ServerUpdate::default();
    transfer.owner_id = Some(member);
    rift.update_server(owner, server, transfer).await.unwrap();
    assert_code(rift.update_server(owner, server, rename_server.clone()).await, "missing_permissions");
    rift.update_server(member, server, rename_server).await.unwrap();
    rift.leave(owner, server).await.unwrap();
    assert_kind(send(owner).await, ErrorKind::NotFound);

    // The server deleted: nothing in it answers.
    send(member).await.unwrap();
    rift.delete_server(member, server).await.unwrap();
    assert_kind(send(member).await, ErrorKind::NotFound);
    assert!(rift.visible_channels(member, server).await.unwrap().is_none());
}

/// Events lost on the way to this node (another node's fan-out dropped some) drop every view.
pub(crate) async fn lost_events_drop_the_whole_permission_view(store: Arc<dyn Store>) {
    // The inbox is what a fan-out is given: where other nodes' envelopes, and news of lost ones, arrive.
    let (router, inbox) = Router::with_inbox();
    let mut config = Config::new(b"test secret, long enough to be a secret".to_vec());
    config.rate_limits = false;
    let f = fixture_of(Rift::builder(store, config).router(router).build()).await;
    f.rift.send_message(f.member, f.general, SendMessage::text("hi")).await.unwrap();
    assert_eq!(f.rift.access_cache_stats().servers, 1);
    inbox.lag_all();
    assert_eq!(f.rift.access_cache_stats().servers, 0);
    f.rift.send_message(f.member, f.general, SendMessage::text("hi")).await.unwrap();
    assert_eq!(f.rift.access_cache_stats().servers, 1);
    inbox.report_lost_event();
    assert_eq!(f.rift.access_cache_stats().servers, 0);
}
