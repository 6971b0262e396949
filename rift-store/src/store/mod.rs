//! The queries, one module per area, written once for both backends (see [`crate::db::on_db`]),
//! and the [`rift::Store`] implementation that delegates to them.

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

use crate::db::{Database, on_db};

#[async_trait]
impl Store for Database {
    fn backend(&self) -> Backend {
        self.backend_kind()
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
        Ok(Database::create_user(self, user).await?)
    }
    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        Ok(self.get_user(id).await?)
    }
    async fn users(&self, ids: &[UserId]) -> StoreResult<Vec<User>> {
        let ids: Vec<Uuid> = ids.iter().map(|id| id.uuid()).collect();
        Ok(self.get_users(&ids).await?)
    }
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        Ok(self.user_by_name(username).await?)
    }
    async fn password_hash(&self, id: UserId) -> StoreResult<Option<String>> {
        Ok(self.get_password_hash(id).await?)
    }
    async fn set_password_hash(&self, id: UserId, hash: &str) -> StoreResult<()> {
        Ok(self.put_password_hash(id, hash).await?)
    }
    async fn update_user(&self, id: UserId, patch: &UserPatch) -> StoreResult<Option<User>> {
        Ok(self.patch_user(id, patch).await?)
    }

    // ---- refresh tokens ----
    async fn insert_refresh_token(&self, token: &NewRefreshToken) -> StoreResult<()> {
        Ok(self.insert_token(token).await?)
    }
    async fn use_refresh_token(&self, token_hash: &str, now: Timestamp) -> StoreResult<RefreshOutcome> {
        Ok(self.use_token(token_hash, now).await?)
    }
    async fn refresh_token_family(&self, token_hash: &str) -> StoreResult<Option<(UserId, TokenFamilyId)>> {
        Ok(self.token_family(token_hash).await?)
    }
    async fn revoke_token_family(&self, family_id: TokenFamilyId) -> StoreResult<()> {
        Ok(self.revoke_family(family_id).await?)
    }
    async fn revoke_user_tokens(&self, user_id: UserId, keep: Option<TokenFamilyId>) -> StoreResult<()> {
        Ok(self.revoke_user(user_id, keep).await?)
    }

    // ---- servers ----
    async fn create_server(&self, new: &NewServer) -> StoreResult<Server> {
        Ok(self.create_server_bundle(new).await?)
    }
    async fn server(&self, id: ServerId) -> StoreResult<Option<Server>> {
        Ok(self.get_server(id).await?)
    }
    async fn servers_of_user(&self, user_id: UserId) -> StoreResult<Vec<Server>> {
        Ok(self.servers_of(user_id).await?)
    }
    async fn update_server(&self, id: ServerId, patch: &ServerPatch) -> StoreResult<Option<Server>> {
        Ok(self.patch_server(id, patch).await?)
    }
    async fn delete_server(&self, id: ServerId) -> StoreResult<bool> {
        Ok(self.drop_server(id).await?)
    }

    // ---- members and bans ----
    async fn member(&self, server_id: ServerId, user_id: UserId) -> StoreResult<Option<Member>> {
        Ok(self.get_member(server_id, user_id).await?)
    }
    async fn members(
        &self,
        server_id: ServerId,
        after: Option<UserId>,
        limit: u32,
    ) -> StoreResult<Vec<Member>> {
        Ok(self.list_members(server_id, after, limit).await?)
    }
    async fn member_ids(&self, server_id: ServerId) -> StoreResult<Vec<UserId>> {
        Ok(self.list_member_ids(server_id).await?)
    }
    async fn add_member(
        &self,
        server_id: ServerId,
        user_id: UserId,
        joined_at: Timestamp,
    ) -> StoreResult<bool> {
        Ok(self.insert_member(server_id, user_id, joined_at).await?)
    }
    async fn set_member_nickname(
        &self,
        server_id: ServerId,
        user_id: UserId,
        nickname: Option<&str>,
    ) -> StoreResult<bool> {
        Ok(self.update_nickname(server_id, user_id, nickname).await?)
    }
    async fn remove_member(&self, server_id: ServerId, user_id: UserId) -> StoreResult<bool> {
        Ok(self.drop_member(server_id, user_id).await?)
    }
    async fn join_with_invite(
        &self,
        code: &str,
        server_id: ServerId,
        user_id: UserId,
        now: Timestamp,
    ) -> StoreResult<JoinOutcome> {
        Ok(self.join_invite(code, server_id, user_id, now).await?)
    }
    async fn share_a_server(&self, a: UserId, b: UserId) -> StoreResult<bool> {
        Ok(self.users_share_server(a, b).await?)
    }
    async fn ban(
        &self,
        server_id: ServerId,
        user_id: UserId,
        reason: Option<&str>,
        at: Timestamp,
    ) -> StoreResult<()> {
        Ok(self.put_ban(server_id, user_id, reason, at).await?)
    }
    async fn unban(&self, server_id: ServerId, user_id: UserId) -> StoreResult<bool> {
        Ok(self.drop_ban(server_id, user_id).await?)
    }
    async fn ban_entry(&self, server_id: ServerId, user_id: UserId) -> StoreResult<Option<Ban>> {
        Ok(self.list_bans(server_id, Some(user_id), None, 1).await?.pop())
    }
    async fn bans(&self, server_id: ServerId, after: Option<UserId>, limit: u32) -> StoreResult<Vec<Ban>> {
        Ok(self.list_bans(server_id, None, after, limit).await?)
    }

    // ---- roles ----
    async fn create_role(&self, role: &Role) -> StoreResult<Role> {
        Ok(self.insert_role(role).await?)
    }
    async fn role(&self, id: RoleId) -> StoreResult<Option<Role>> {
        Ok(self.get_role(id).await?)
    }
    async fn roles(&self, server_id: ServerId) -> StoreResult<Vec<Role>> {
        Ok(self.server_roles(server_id).await?)
    }
    async fn update_role(&self, id: RoleId, patch: &RolePatch) -> StoreResult<Option<Role>> {
        Ok(self.patch_role(id, patch).await?)
    }
    async fn move_role(&self, id: RoleId, position: i32) -> StoreResult<Option<Vec<Role>>> {
        Ok(self.reposition_role(id, position).await?)
    }
    async fn delete_role(&self, id: RoleId) -> StoreResult<bool> {
        Ok(self.drop_role(id).await?)
    }
    async fn add_member_role(
        &self,
        server_id: ServerId,
        user_id: UserId,
        role_id: RoleId,
    ) -> StoreResult<bool> {
        Ok(self.grant_role(server_id, user_id, role_id).await?)
    }
    async fn remove_member_role(
        &self,
        server_id: ServerId,
        user_id: UserId,
        role_id: RoleId,
    ) -> StoreResult<bool> {
        Ok(self.revoke_role(server_id, user_id, role_id).await?)
    }

    // ---- channels ----
    async fn create_channel(&self, channel: &Channel) -> StoreResult<Channel> {
        Ok(self.insert_server_channel(channel).await?)
    }
    async fn channel(&self, id: ChannelId) -> StoreResult<Option<Channel>> {
        Ok(self.get_channel(id).await?)
    }
    async fn channels(&self, server_id: ServerId) -> StoreResult<Vec<Channel>> {
        Ok(self.server_channels(server_id).await?)
    }
    async fn update_channel(&self, id: ChannelId, patch: &ChannelPatch) -> StoreResult<Option<Channel>> {
        Ok(self.patch_channel(id, patch).await?)
    }
    async fn delete_channel(&self, id: ChannelId) -> StoreResult<bool> {
        Ok(self.drop_channel(id).await?)
    }
    async fn put_overwrite(&self, channel_id: ChannelId, overwrite: &PermissionOverwrite) -> StoreResult<()> {
        Ok(self.upsert_overwrite(channel_id, overwrite).await?)
    }
    async fn delete_overwrite(&self, channel_id: ChannelId, target_id: Uuid) -> StoreResult<bool> {
        Ok(self.drop_overwrite(channel_id, target_id).await?)
    }

    // ---- messages ----
    async fn create_message(
        &self,
        message: &NewMessage,
        nonce_since: Timestamp,
    ) -> StoreResult<CreateMessageOutcome> {
        Ok(self.insert_message(message, nonce_since).await?)
    }
    async fn message(&self, id: MessageId, viewer: Option<UserId>) -> StoreResult<Option<Message>> {
        Ok(self.get_message(id, viewer).await?)
    }
    async fn messages(
        &self,
        channel_id: ChannelId,
        page: MessagePage,
        viewer: Option<UserId>,
    ) -> StoreResult<Vec<Message>> {
        Ok(self.page(channel_id, page, viewer).await?)
    }
    async fn edit_message(
        &self,
        id: MessageId,
        content: &str,
        mention_everyone: bool,
        actor_id: Option<UserId>,
        at: Timestamp,
    ) -> StoreResult<Option<Message>> {
        Ok(self.edit(id, content, mention_everyone, actor_id, at).await?)
    }
    async fn delete_message(
        &self,
        id: MessageId,
        actor_id: Option<UserId>,
        at: Timestamp,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<Option<Message>> {
        Ok(self.soft_delete(id, actor_id, at, audit).await?)
    }
    async fn message_history(&self, id: MessageId) -> StoreResult<Vec<MessageHistoryEntry>> {
        Ok(self.history(id).await?)
    }
    async fn search(&self, query: &SearchQuery) -> StoreResult<Vec<Message>> {
        Ok(self.search_messages(query).await?)
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
        Ok(self.pin(id, by, at, max, audit).await?)
    }
    async fn unpin_message(&self, id: MessageId, audit: Option<&AuditEntry>) -> StoreResult<bool> {
        Ok(self.unpin(id, audit).await?)
    }
    async fn pinned_messages(
        &self,
        channel_id: ChannelId,
        viewer: Option<UserId>,
    ) -> StoreResult<Vec<Message>> {
        Ok(self.pinned(channel_id, viewer).await?)
    }

    // ---- history settings and purges ----
    async fn history_settings(&self, server_id: ServerId) -> StoreResult<HistorySettings> {
        Ok(self.get_history_settings(server_id).await?)
    }
    async fn set_history_settings(
        &self,
        server_id: ServerId,
        settings: &HistorySettings,
        at: Timestamp,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()> {
        Ok(self.put_history_settings(server_id, settings, at, audit).await?)
    }
    async fn servers_with_retention(&self) -> StoreResult<Vec<(ServerId, u32)>> {
        Ok(self.retention_servers().await?)
    }
    async fn purgeable_attachments(
        &self,
        server_id: ServerId,
        older_than: Timestamp,
    ) -> StoreResult<Vec<UploadId>> {
        Ok(self.purge_candidates(server_id, older_than).await?)
    }
    async fn purge_history(
        &self,
        server_id: ServerId,
        older_than: Timestamp,
        attachments: &[UploadId],
        audit: &AuditEntry,
    ) -> StoreResult<PurgeCounts> {
        Ok(self.purge(server_id, older_than, attachments, audit).await?)
    }

    // ---- uploads ----
    async fn create_upload(&self, upload: &Upload) -> StoreResult<()> {
        Ok(self.insert_upload(upload).await?)
    }
    async fn upload(&self, id: UploadId) -> StoreResult<Option<Upload>> {
        Ok(self.get_upload(id).await?)
    }
    async fn clear_reactions(
        &self,
        message_id: MessageId,
        emoji: Option<&str>,
    ) -> StoreResult<Vec<(UserId, String)>> {
        Ok(Database::clear_reactions(self, message_id, emoji).await?)
    }
    async fn set_message_extras(
        &self,
        id: MessageId,
        extras: Option<&serde_json::Value>,
    ) -> StoreResult<bool> {
        Ok(self.update_extras(id, extras).await?)
    }
    async fn upload_by_hash(&self, content_hash: &str) -> StoreResult<Option<Upload>> {
        Ok(self.get_upload_by_hash(content_hash).await?)
    }

    // ---- reactions ----
    async fn add_reaction(
        &self,
        message_id: MessageId,
        user_id: UserId,
        emoji: &str,
        at: Timestamp,
    ) -> StoreResult<bool> {
        Ok(self.react(message_id, user_id, emoji, at).await?)
    }
    async fn remove_reaction(
        &self,
        message_id: MessageId,
        user_id: UserId,
        emoji: &str,
    ) -> StoreResult<bool> {
        Ok(self.unreact(message_id, user_id, emoji).await?)
    }

    // ---- DMs ----
    async fn open_dm(
        &self,
        a: UserId,
        b: UserId,
        new_id: ChannelId,
        at: Timestamp,
    ) -> StoreResult<(ChannelId, bool)> {
        Ok(self.open_dm_channel(a, b, new_id, at).await?)
    }
    async fn dm_channels(&self, user_id: UserId) -> StoreResult<Vec<DmChannel>> {
        Ok(self.dms_of(user_id).await?)
    }
    async fn dm_channel(&self, id: ChannelId, viewer: UserId) -> StoreResult<Option<DmChannel>> {
        Ok(self.dm_of(id, viewer).await?)
    }
    async fn dm_participants(&self, id: ChannelId) -> StoreResult<Vec<UserId>> {
        Ok(self.participants(id).await?)
    }
    async fn mirror_dm(&self, dm: &rift::store::MirroredDm) -> StoreResult<rift::store::MirroredDmOutcome> {
        Ok(self.mirror_dm_channel(dm).await?)
    }

    // ---- invites ----
    async fn create_invite(&self, invite: &NewInvite) -> StoreResult<Invite> {
        Ok(self.insert_invite(invite).await?)
    }
    async fn invite(&self, code: &str) -> StoreResult<Option<Invite>> {
        Ok(self.get_invite(code).await?)
    }
    async fn invites(&self, server_id: ServerId) -> StoreResult<Vec<Invite>> {
        Ok(self.server_invites(server_id).await?)
    }
    async fn delete_invite(&self, code: &str) -> StoreResult<bool> {
        Ok(self.drop_invite(code).await?)
    }

    // ---- read state ----
    async fn ack(&self, user_id: UserId, channel_id: ChannelId, message_id: MessageId) -> StoreResult<()> {
        Ok(self.ack_read(user_id, channel_id, message_id).await?)
    }
    async fn read_states(&self, user_id: UserId) -> StoreResult<Vec<ReadState>> {
        Ok(self.read_positions(user_id).await?)
    }
    async fn last_message_ids(
        &self,
        channel_ids: &[ChannelId],
    ) -> StoreResult<std::collections::HashMap<ChannelId, MessageId>> {
        Ok(self.newest_message_ids(channel_ids).await?)
    }
    async fn unread_mention_candidates(
        &self,
        user_id: UserId,
        channel_ids: &[ChannelId],
        patterns: &[String],
        every_message: &[ChannelId],
        scan: u32,
    ) -> StoreResult<Vec<rift::store::MentionCandidate>> {
        Ok(self.unread_candidates(user_id, channel_ids, patterns, every_message, scan).await?)
    }

    // ---- server audit log ----
    async fn add_audit_entry(&self, entry: &AuditEntry) -> StoreResult<()> {
        Ok(self.append_audit(entry).await?)
    }
    async fn audit_log(
        &self,
        server_id: ServerId,
        before: Option<AuditEntryId>,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>> {
        Ok(self.audit_page(server_id, before, limit).await?)
    }

    // ---- bridges ----
    async fn find_bridged(&self, kind: BridgedKind, bridge: &BridgeRef) -> StoreResult<Option<Uuid>> {
        Ok(self.bridged_id(kind, bridge).await?)
    }
    async fn create_bridge_connection(&self, connection: &BridgeConnection) -> StoreResult<()> {
        Ok(self.insert_connection(connection).await?)
    }
    async fn bridge_connection(&self, id: BridgeConnectionId) -> StoreResult<Option<BridgeConnection>> {
        Ok(self.get_connection(id).await?)
    }
    async fn bridge_connections(&self, owner_id: Option<UserId>) -> StoreResult<Vec<BridgeConnection>> {
        Ok(self.list_connections(owner_id).await?)
    }
    async fn set_bridge_status(
        &self,
        id: BridgeConnectionId,
        status: BridgeStatus,
        reason: Option<&str>,
        remote_user_id: Option<&str>,
    ) -> StoreResult<bool> {
        Ok(self.put_status(id, status, reason, remote_user_id).await?)
    }
    async fn delete_bridge_connection(&self, id: BridgeConnectionId) -> StoreResult<bool> {
        Ok(self.drop_connection(id).await?)
    }
    async fn set_bridge_cursor(&self, id: BridgeConnectionId, key: &str, value: &str) -> StoreResult<()> {
        Ok(self.put_cursor(id, key, value).await?)
    }
    async fn bridge_cursor(&self, id: BridgeConnectionId, key: &str) -> StoreResult<Option<String>> {
        Ok(self.get_cursor(id, key).await?)
    }
    async fn acquire_bridge_lease(
        &self,
        id: BridgeConnectionId,
        holder: Uuid,
        now: Timestamp,
        ttl: std::time::Duration,
    ) -> StoreResult<bool> {
        Ok(self.take_lease(id, holder, now, ttl).await?)
    }
    async fn release_bridge_lease(&self, id: BridgeConnectionId, holder: Uuid) -> StoreResult<bool> {
        Ok(self.drop_lease(id, holder).await?)
    }
    async fn create_backfill_request(&self, request: &BackfillRequest) -> StoreResult<()> {
        Ok(self.insert_backfill_request(request).await?)
    }
    async fn backfill_request(&self, id: BackfillRequestId) -> StoreResult<Option<BackfillRequest>> {
        Ok(self.get_backfill_request(id).await?)
    }
    async fn latest_backfill_request(
        &self,
        connection_id: BridgeConnectionId,
    ) -> StoreResult<Option<BackfillRequest>> {
        Ok(self.get_latest_backfill_request(connection_id).await?)
    }
    async fn take_backfill_requests(
        &self,
        connection_id: BridgeConnectionId,
        holder: Uuid,
        now: Timestamp,
    ) -> StoreResult<Vec<BackfillRequest>> {
        Ok(self.take_open_backfill_requests(connection_id, holder, now).await?)
    }
    async fn finish_backfill_request(
        &self,
        id: BackfillRequestId,
        holder: Uuid,
        error: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<bool> {
        Ok(self.put_backfill_finished(id, holder, error, now).await?)
    }
    async fn release_backfill_requests(
        &self,
        connection_id: BridgeConnectionId,
        holder: Uuid,
    ) -> StoreResult<u64> {
        Ok(self.put_backfill_requests_pending(connection_id, holder).await?)
    }

    async fn save_gateway_sessions(
        &self,
        owner: &str,
        sessions: &[rift::store::SavedSession],
    ) -> StoreResult<()> {
        Ok(self.put_gateway_sessions(owner, sessions).await?)
    }
    async fn take_gateway_sessions(&self, owner: &str) -> StoreResult<Vec<rift::store::SavedSession>> {
        Ok(self.pop_gateway_sessions(owner).await?)
    }

    // ---- administration ----
    async fn all_users(&self, after: Option<UserId>, limit: u32) -> StoreResult<Vec<User>> {
        Ok(self.list_all_users(after, limit).await?)
    }
    async fn all_servers(&self, after: Option<ServerId>, limit: u32) -> StoreResult<Vec<Server>> {
        Ok(self.list_all_servers(after, limit).await?)
    }
    async fn set_user_disabled(&self, id: UserId, disabled_at: Option<Timestamp>) -> StoreResult<bool> {
        Ok(self.put_user_disabled(id, disabled_at).await?)
    }
    async fn user_disabled_at(&self, id: UserId) -> StoreResult<Option<Timestamp>> {
        Ok(self.get_user_disabled(id).await?)
    }
    async fn export(
        &self,
        scope: rift::store::ExportScope,
        password_hashes: bool,
        sink: rift::store::ExportSink<'_>,
    ) -> StoreResult<u64> {
        Ok(self.export_records(scope, password_hashes, sink).await?)
    }
    async fn import(&self, records: rift::store::ImportSource<'_>) -> StoreResult<u64> {
        Ok(self.import_records(records).await?)
    }
}
