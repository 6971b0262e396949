//! The queries, one module per area, written once for both backends (see [`crate::db::on_db`]),
//! and the [`rift::Store`] implementation that delegates to them.
//!
//! Each query is a `pub(crate)` method on [`Database`] named exactly like the trait method it
//! serves, so there is one name per operation. The trait impl calls it as `Database::name(self, ..)`:
//! a path on the type finds the inherent method before the trait's, and [`lift`] accepts only the
//! crate's own error type, so a forward whose inherent method went missing fails to compile
//! instead of calling itself. The one query that serves two trait methods, [`Database::find_bans`],
//! is named for what it does.

mod audit;
mod backfill;
mod bridges;
pub(crate) mod channels;
mod dms;
mod export;
mod invites;
mod members;
pub(crate) mod messages;
mod pins;
mod roles;
pub(crate) mod search;
mod servers;
mod sessions;
mod users;

use async_trait::async_trait;
use rift::Timestamp;
use rift::id::{
    AuditEntryId, BackfillRequestId, BridgeConnectionId, ChannelId, MessageId, RoleId, ServerId,
    TokenFamilyId, UploadId, UserId,
};
use rift::model::{
    AuditEntry, BackfillRequest, Ban, BridgeConnection, BridgeRef, BridgeStatus, Channel, DmChannel,
    HistorySettings, Invite, Member, Message, MessageHistoryEntry, PermissionOverwrite, ReadState, Role,
    Server, Upload, User,
};
use rift::store::{
    Backend, BridgedKind, ChannelPatch, CreateMessageOutcome, JoinOutcome, MessagePage, NewInvite,
    NewMessage, NewRefreshToken, NewServer, NewUser, PinOutcome, PurgeCounts, RefreshOutcome, RolePatch,
    SearchQuery, ServerPatch, Store, StoreResult, UserPatch,
};
use uuid::Uuid;

use crate::db::{Database, Fail, on_db};

/// Turns a query's result into the trait's. Taking `Result<_, Fail>` rather than any error is the
/// point: the trait's own methods return `StoreError`, so they cannot be passed here by mistake.
fn lift<T>(result: Result<T, Fail>) -> StoreResult<T> {
    result.map_err(Into::into)
}

#[async_trait]
impl Store for Database {
    fn backend(&self) -> Backend {
        Database::backend(self)
    }

    fn usage(&self) -> rift::store::StoreUsage {
        Database::usage(self)
    }

    async fn ping(&self) -> StoreResult<()> {
        let ping: Result<i32, sqlx::Error> =
            on_db!(self, read, |pool| sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(pool).await);
        ping.map(drop).map_err(|e| crate::db::Fail::from(e).into())
    }

    // ---- users ----
    async fn create_user(&self, user: &NewUser) -> StoreResult<User> {
        lift(Database::create_user(self, user).await)
    }
    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        lift(Database::user(self, id).await)
    }
    async fn users(&self, ids: &[UserId]) -> StoreResult<Vec<User>> {
        let ids: Vec<Uuid> = ids.iter().map(|id| id.uuid()).collect();
        lift(Database::users(self, &ids).await)
    }
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        lift(Database::user_by_username(self, username).await)
    }
    async fn password_hash(&self, id: UserId) -> StoreResult<Option<String>> {
        lift(Database::password_hash(self, id).await)
    }
    async fn set_password_hash(&self, id: UserId, hash: &str) -> StoreResult<()> {
        lift(Database::set_password_hash(self, id, hash).await)
    }
    async fn update_user(&self, id: UserId, patch: &UserPatch) -> StoreResult<Option<User>> {
        lift(Database::update_user(self, id, patch).await)
    }

    // ---- refresh tokens ----
    async fn insert_refresh_token(&self, token: &NewRefreshToken) -> StoreResult<()> {
        lift(Database::insert_refresh_token(self, token).await)
    }
    async fn use_refresh_token(&self, token_hash: &str, now: Timestamp) -> StoreResult<RefreshOutcome> {
        lift(Database::use_refresh_token(self, token_hash, now).await)
    }
    async fn refresh_token_family(&self, token_hash: &str) -> StoreResult<Option<(UserId, TokenFamilyId)>> {
        lift(Database::refresh_token_family(self, token_hash).await)
    }
    async fn revoke_token_family(&self, family_id: TokenFamilyId) -> StoreResult<()> {
        lift(Database::revoke_token_family(self, family_id).await)
    }
    async fn revoke_user_tokens(&self, user_id: UserId, keep: Option<TokenFamilyId>) -> StoreResult<()> {
        lift(Database::revoke_user_tokens(self, user_id, keep).await)
    }

    // ---- servers ----
    async fn create_server(&self, new: &NewServer) -> StoreResult<Server> {
        lift(Database::create_server(self, new).await)
    }
    async fn server(&self, id: ServerId) -> StoreResult<Option<Server>> {
        lift(Database::server(self, id).await)
    }
    async fn servers_of_user(&self, user_id: UserId) -> StoreResult<Vec<Server>> {
        lift(Database::servers_of_user(self, user_id).await)
    }
    async fn update_server(&self, id: ServerId, patch: &ServerPatch) -> StoreResult<Option<Server>> {
        lift(Database::update_server(self, id, patch).await)
    }
    async fn delete_server(&self, id: ServerId) -> StoreResult<bool> {
        lift(Database::delete_server(self, id).await)
    }

    // ---- members and bans ----
    async fn member(&self, server_id: ServerId, user_id: UserId) -> StoreResult<Option<Member>> {
        lift(Database::member(self, server_id, user_id).await)
    }
    async fn members(
        &self,
        server_id: ServerId,
        after: Option<UserId>,
        limit: u32,
    ) -> StoreResult<Vec<Member>> {
        lift(Database::members(self, server_id, after, limit).await)
    }
    async fn member_ids(&self, server_id: ServerId) -> StoreResult<Vec<UserId>> {
        lift(Database::member_ids(self, server_id).await)
    }
    async fn add_member(
        &self,
        server_id: ServerId,
        user_id: UserId,
        joined_at: Timestamp,
    ) -> StoreResult<bool> {
        lift(Database::add_member(self, server_id, user_id, joined_at).await)
    }
    async fn set_member_nickname(
        &self,
        server_id: ServerId,
        user_id: UserId,
        nickname: Option<&str>,
    ) -> StoreResult<bool> {
        lift(Database::set_member_nickname(self, server_id, user_id, nickname).await)
    }
    async fn remove_member(&self, server_id: ServerId, user_id: UserId) -> StoreResult<bool> {
        lift(Database::remove_member(self, server_id, user_id).await)
    }
    async fn join_with_invite(
        &self,
        code: &str,
        server_id: ServerId,
        user_id: UserId,
        now: Timestamp,
    ) -> StoreResult<JoinOutcome> {
        lift(Database::join_with_invite(self, code, server_id, user_id, now).await)
    }
    async fn share_a_server(&self, a: UserId, b: UserId) -> StoreResult<bool> {
        lift(Database::share_a_server(self, a, b).await)
    }
    async fn ban(
        &self,
        server_id: ServerId,
        user_id: UserId,
        reason: Option<&str>,
        at: Timestamp,
    ) -> StoreResult<()> {
        lift(Database::ban(self, server_id, user_id, reason, at).await)
    }
    async fn unban(&self, server_id: ServerId, user_id: UserId) -> StoreResult<bool> {
        lift(Database::unban(self, server_id, user_id).await)
    }
    async fn ban_entry(&self, server_id: ServerId, user_id: UserId) -> StoreResult<Option<Ban>> {
        lift(Database::find_bans(self, server_id, Some(user_id), None, 1).await).map(|mut bans| bans.pop())
    }
    async fn bans(&self, server_id: ServerId, after: Option<UserId>, limit: u32) -> StoreResult<Vec<Ban>> {
        lift(Database::find_bans(self, server_id, None, after, limit).await)
    }

    // ---- roles ----
    async fn create_role(&self, role: &Role) -> StoreResult<Role> {
        lift(Database::create_role(self, role).await)
    }
    async fn role(&self, id: RoleId) -> StoreResult<Option<Role>> {
        lift(Database::role(self, id).await)
    }
    async fn roles(&self, server_id: ServerId) -> StoreResult<Vec<Role>> {
        lift(Database::roles(self, server_id).await)
    }
    async fn update_role(&self, id: RoleId, patch: &RolePatch) -> StoreResult<Option<Role>> {
        lift(Database::update_role(self, id, patch).await)
    }
    async fn move_role(&self, id: RoleId, position: i32) -> StoreResult<Option<Vec<Role>>> {
        lift(Database::move_role(self, id, position).await)
    }
    async fn delete_role(&self, id: RoleId) -> StoreResult<bool> {
        lift(Database::delete_role(self, id).await)
    }
    async fn add_member_role(
        &self,
        server_id: ServerId,
        user_id: UserId,
        role_id: RoleId,
    ) -> StoreResult<bool> {
        lift(Database::add_member_role(self, server_id, user_id, role_id).await)
    }
    async fn remove_member_role(
        &self,
        server_id: ServerId,
        user_id: UserId,
        role_id: RoleId,
    ) -> StoreResult<bool> {
        lift(Database::remove_member_role(self, server_id, user_id, role_id).await)
    }

    // ---- channels ----
    async fn create_channel(&self, channel: &Channel) -> StoreResult<Channel> {
        lift(Database::create_channel(self, channel).await)
    }
    async fn channel(&self, id: ChannelId) -> StoreResult<Option<Channel>> {
        lift(Database::channel(self, id).await)
    }
    async fn channels(&self, server_id: ServerId) -> StoreResult<Vec<Channel>> {
        lift(Database::channels(self, server_id).await)
    }
    async fn update_channel(&self, id: ChannelId, patch: &ChannelPatch) -> StoreResult<Option<Channel>> {
        lift(Database::update_channel(self, id, patch).await)
    }
    async fn delete_channel(&self, id: ChannelId) -> StoreResult<bool> {
        lift(Database::delete_channel(self, id).await)
    }
    async fn put_overwrite(&self, channel_id: ChannelId, overwrite: &PermissionOverwrite) -> StoreResult<()> {
        lift(Database::put_overwrite(self, channel_id, overwrite).await)
    }
    async fn delete_overwrite(&self, channel_id: ChannelId, target_id: Uuid) -> StoreResult<bool> {
        lift(Database::delete_overwrite(self, channel_id, target_id).await)
    }

    // ---- messages ----
    async fn create_message(
        &self,
        message: &NewMessage,
        nonce_since: Timestamp,
    ) -> StoreResult<CreateMessageOutcome> {
        lift(Database::create_message(self, message, nonce_since).await)
    }
    async fn message(&self, id: MessageId, viewer: Option<UserId>) -> StoreResult<Option<Message>> {
        lift(Database::message(self, id, viewer).await)
    }
    async fn messages(
        &self,
        channel_id: ChannelId,
        page: MessagePage,
        viewer: Option<UserId>,
    ) -> StoreResult<Vec<Message>> {
        lift(Database::messages(self, channel_id, page, viewer).await)
    }
    async fn edit_message(
        &self,
        id: MessageId,
        content: &str,
        mention_everyone: bool,
        actor_id: Option<UserId>,
        at: Timestamp,
    ) -> StoreResult<Option<Message>> {
        lift(Database::edit_message(self, id, content, mention_everyone, actor_id, at).await)
    }
    async fn delete_message(
        &self,
        id: MessageId,
        actor_id: Option<UserId>,
        at: Timestamp,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<Option<Message>> {
        lift(Database::delete_message(self, id, actor_id, at, audit).await)
    }
    async fn message_history(&self, id: MessageId) -> StoreResult<Vec<MessageHistoryEntry>> {
        lift(Database::message_history(self, id).await)
    }
    async fn search(&self, query: &SearchQuery) -> StoreResult<Vec<Message>> {
        lift(Database::search(self, query).await)
    }

    // ---- pins ----
    async fn pin_message(
        &self,
        id: MessageId,
        by: Option<UserId>,
        at: Timestamp,
        max: u32,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<PinOutcome> {
        lift(Database::pin_message(self, id, by, at, max, audit).await)
    }
    async fn unpin_message(&self, id: MessageId, audit: Option<&AuditEntry>) -> StoreResult<bool> {
        lift(Database::unpin_message(self, id, audit).await)
    }
    async fn pinned_messages(
        &self,
        channel_id: ChannelId,
        viewer: Option<UserId>,
    ) -> StoreResult<Vec<Message>> {
        lift(Database::pinned_messages(self, channel_id, viewer).await)
    }

    // ---- history settings and purges ----
    async fn history_settings(&self, server_id: ServerId) -> StoreResult<HistorySettings> {
        lift(Database::history_settings(self, server_id).await)
    }
    async fn set_history_settings(
        &self,
        server_id: ServerId,
        settings: &HistorySettings,
        at: Timestamp,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()> {
        lift(Database::set_history_settings(self, server_id, settings, at, audit).await)
    }
    async fn servers_with_retention(&self) -> StoreResult<Vec<(ServerId, u32)>> {
        lift(Database::servers_with_retention(self).await)
    }
    async fn purgeable_attachments(
        &self,
        server_id: ServerId,
        older_than: Timestamp,
    ) -> StoreResult<Vec<UploadId>> {
        lift(Database::purgeable_attachments(self, server_id, older_than).await)
    }
    async fn purge_history(
        &self,
        server_id: ServerId,
        older_than: Timestamp,
        attachments: &[UploadId],
        audit: &AuditEntry,
    ) -> StoreResult<PurgeCounts> {
        lift(Database::purge_history(self, server_id, older_than, attachments, audit).await)
    }

    // ---- uploads ----
    async fn create_upload(&self, upload: &Upload) -> StoreResult<()> {
        lift(Database::create_upload(self, upload).await)
    }
    async fn upload(&self, id: UploadId) -> StoreResult<Option<Upload>> {
        lift(Database::upload(self, id).await)
    }
    async fn clear_reactions(
        &self,
        message_id: MessageId,
        emoji: Option<&str>,
    ) -> StoreResult<Vec<(UserId, String)>> {
        lift(Database::clear_reactions(self, message_id, emoji).await)
    }
    async fn set_message_extras(
        &self,
        id: MessageId,
        extras: Option<&serde_json::Value>,
    ) -> StoreResult<bool> {
        lift(Database::set_message_extras(self, id, extras).await)
    }
    async fn upload_by_hash(&self, content_hash: &str) -> StoreResult<Option<Upload>> {
        lift(Database::upload_by_hash(self, content_hash).await)
    }

    // ---- reactions ----
    async fn add_reaction(
        &self,
        message_id: MessageId,
        user_id: UserId,
        emoji: &str,
        at: Timestamp,
    ) -> StoreResult<bool> {
        lift(Database::add_reaction(self, message_id, user_id, emoji, at).await)
    }
    async fn remove_reaction(
        &self,
        message_id: MessageId,
        user_id: UserId,
        emoji: &str,
    ) -> StoreResult<bool> {
        lift(Database::remove_reaction(self, message_id, user_id, emoji).await)
    }

    // ---- DMs ----
    async fn open_dm(
        &self,
        a: UserId,
        b: UserId,
        new_id: ChannelId,
        at: Timestamp,
    ) -> StoreResult<(ChannelId, bool)> {
        lift(Database::open_dm(self, a, b, new_id, at).await)
    }
    async fn dm_channels(&self, user_id: UserId) -> StoreResult<Vec<DmChannel>> {
        lift(Database::dm_channels(self, user_id).await)
    }
    async fn dm_channel(&self, id: ChannelId, viewer: UserId) -> StoreResult<Option<DmChannel>> {
        lift(Database::dm_channel(self, id, viewer).await)
    }
    async fn dm_participants(&self, id: ChannelId) -> StoreResult<Vec<UserId>> {
        lift(Database::dm_participants(self, id).await)
    }
    async fn mirror_dm(&self, dm: &rift::store::MirroredDm) -> StoreResult<rift::store::MirroredDmOutcome> {
        lift(Database::mirror_dm(self, dm).await)
    }

    // ---- invites ----
    async fn create_invite(&self, invite: &NewInvite) -> StoreResult<Invite> {
        lift(Database::create_invite(self, invite).await)
    }
    async fn invite(&self, code: &str) -> StoreResult<Option<Invite>> {
        lift(Database::invite(self, code).await)
    }
    async fn invites(&self, server_id: ServerId) -> StoreResult<Vec<Invite>> {
        lift(Database::invites(self, server_id).await)
    }
    async fn delete_invite(&self, code: &str) -> StoreResult<bool> {
        lift(Database::delete_invite(self, code).await)
    }

    // ---- read state ----
    async fn ack(&self, user_id: UserId, channel_id: ChannelId, message_id: MessageId) -> StoreResult<()> {
        lift(Database::ack(self, user_id, channel_id, message_id).await)
    }
    async fn read_states(&self, user_id: UserId) -> StoreResult<Vec<ReadState>> {
        lift(Database::read_states(self, user_id).await)
    }
    async fn last_message_ids(
        &self,
        channel_ids: &[ChannelId],
    ) -> StoreResult<std::collections::HashMap<ChannelId, MessageId>> {
        lift(Database::last_message_ids(self, channel_ids).await)
    }
    async fn unread_mention_candidates(
        &self,
        user_id: UserId,
        channel_ids: &[ChannelId],
        patterns: &[String],
        every_message: &[ChannelId],
        scan: u32,
    ) -> StoreResult<Vec<rift::store::MentionCandidate>> {
        lift(
            Database::unread_mention_candidates(self, user_id, channel_ids, patterns, every_message, scan)
                .await,
        )
    }

    // ---- server audit log ----
    async fn add_audit_entry(&self, entry: &AuditEntry) -> StoreResult<()> {
        lift(Database::add_audit_entry(self, entry).await)
    }
    async fn audit_log(
        &self,
        server_id: ServerId,
        before: Option<AuditEntryId>,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>> {
        lift(Database::audit_log(self, server_id, before, limit).await)
    }

    // ---- bridges ----
    async fn find_bridged(&self, kind: BridgedKind, bridge: &BridgeRef) -> StoreResult<Option<Uuid>> {
        lift(Database::find_bridged(self, kind, bridge).await)
    }
    async fn create_bridge_connection(&self, connection: &BridgeConnection) -> StoreResult<()> {
        lift(Database::create_bridge_connection(self, connection).await)
    }
    async fn bridge_connection(&self, id: BridgeConnectionId) -> StoreResult<Option<BridgeConnection>> {
        lift(Database::bridge_connection(self, id).await)
    }
    async fn bridge_connections(&self, owner_id: Option<UserId>) -> StoreResult<Vec<BridgeConnection>> {
        lift(Database::bridge_connections(self, owner_id).await)
    }
    async fn set_bridge_status(
        &self,
        id: BridgeConnectionId,
        status: BridgeStatus,
        reason: Option<&str>,
        remote_user_id: Option<&str>,
    ) -> StoreResult<bool> {
        lift(Database::set_bridge_status(self, id, status, reason, remote_user_id).await)
    }
    async fn delete_bridge_connection(&self, id: BridgeConnectionId) -> StoreResult<bool> {
        lift(Database::delete_bridge_connection(self, id).await)
    }
    async fn set_bridge_cursor(&self, id: BridgeConnectionId, key: &str, value: &str) -> StoreResult<()> {
        lift(Database::set_bridge_cursor(self, id, key, value).await)
    }
    async fn bridge_cursor(&self, id: BridgeConnectionId, key: &str) -> StoreResult<Option<String>> {
        lift(Database::bridge_cursor(self, id, key).await)
    }
    async fn acquire_bridge_lease(
        &self,
        id: BridgeConnectionId,
        holder: Uuid,
        now: Timestamp,
        ttl: std::time::Duration,
    ) -> StoreResult<bool> {
        lift(Database::acquire_bridge_lease(self, id, holder, now, ttl).await)
    }
    async fn release_bridge_lease(&self, id: BridgeConnectionId, holder: Uuid) -> StoreResult<bool> {
        lift(Database::release_bridge_lease(self, id, holder).await)
    }
    async fn create_backfill_request(&self, request: &BackfillRequest) -> StoreResult<()> {
        lift(Database::create_backfill_request(self, request).await)
    }
    async fn backfill_request(&self, id: BackfillRequestId) -> StoreResult<Option<BackfillRequest>> {
        lift(Database::backfill_request(self, id).await)
    }
    async fn latest_backfill_request(
        &self,
        connection_id: BridgeConnectionId,
    ) -> StoreResult<Option<BackfillRequest>> {
        lift(Database::latest_backfill_request(self, connection_id).await)
    }
    async fn take_backfill_requests(
        &self,
        connection_id: BridgeConnectionId,
        holder: Uuid,
        now: Timestamp,
    ) -> StoreResult<Vec<BackfillRequest>> {
        lift(Database::take_backfill_requests(self, connection_id, holder, now).await)
    }
    async fn finish_backfill_request(
        &self,
        id: BackfillRequestId,
        holder: Uuid,
        error: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<bool> {
        lift(Database::finish_backfill_request(self, id, holder, error, now).await)
    }
    async fn release_backfill_requests(
        &self,
        connection_id: BridgeConnectionId,
        holder: Uuid,
    ) -> StoreResult<u64> {
        lift(Database::release_backfill_requests(self, connection_id, holder).await)
    }

    async fn save_gateway_sessions(
        &self,
        owner: &str,
        sessions: &[rift::store::SavedSession],
    ) -> StoreResult<()> {
        lift(Database::save_gateway_sessions(self, owner, sessions).await)
    }
    async fn take_gateway_sessions(&self, owner: &str) -> StoreResult<Vec<rift::store::SavedSession>> {
        lift(Database::take_gateway_sessions(self, owner).await)
    }

    // ---- administration ----
    async fn all_users(&self, after: Option<UserId>, limit: u32) -> StoreResult<Vec<User>> {
        lift(Database::all_users(self, after, limit).await)
    }
    async fn all_servers(&self, after: Option<ServerId>, limit: u32) -> StoreResult<Vec<Server>> {
        lift(Database::all_servers(self, after, limit).await)
    }
    async fn set_user_disabled(&self, id: UserId, disabled_at: Option<Timestamp>) -> StoreResult<bool> {
        lift(Database::set_user_disabled(self, id, disabled_at).await)
    }
    async fn user_disabled_at(&self, id: UserId) -> StoreResult<Option<Timestamp>> {
        lift(Database::user_disabled_at(self, id).await)
    }
    async fn export(
        &self,
        scope: rift::store::ExportScope,
        password_hashes: bool,
        sink: rift::store::ExportSink<'_>,
    ) -> StoreResult<u64> {
        lift(Database::export(self, scope, password_hashes, sink).await)
    }
    async fn import(&self, records: rift::store::ImportSource<'_>) -> StoreResult<u64> {
        lift(Database::import(self, records).await)
    }
}
