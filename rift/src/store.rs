//! The storage contract. Backends (`rift-store`: SQLite and PostgreSQL) implement [`Store`]; only the
//! service layer calls it. Methods speak domain types; rows and SQL stay inside the backend.
//!
//! Rules every backend keeps:
//! - Lookups of things that do not exist answer `Ok(None)` / `Ok(false)`, never an error.
//! - Operations documented as atomic happen in one transaction.
//! - Lists have a stable documented order; pages are bounded by the caller's `limit`.
//! - Deleted messages keep their row (soft delete) so their history survives; they leave lists,
//!   search and reaction counts.

use async_trait::async_trait;
use uuid::Uuid;

use crate::error::StoreError;
use crate::id::{
    AuditEntryId, BackfillRequestId, BridgeConnectionId, ChannelId, MessageId, RoleId, ServerId, SessionId,
    Timestamp, TokenFamilyId, UploadId, UserId,
};
use crate::model::{
    AuditEntry, BackfillRequest, Ban, BridgeConnection, BridgeRef, BridgeStatus, Channel, DmChannel,
    HistorySettings, Invite, Member, Message, MessageHistoryEntry, PermissionOverwrite, ReadState, Role,
    Server, Status, Upload, User,
};
use crate::permissions::Permissions;
/// How a backend tests a message's text against a search's words, as its index would (for the
/// deleted messages no index holds; see [`SearchQuery`]).
pub use crate::search_text::Matcher;

/// The result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// `"sqlite"` or `"postgres"`, as `GET /api/health` reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The id to give it.
    pub id: UserId,
    /// Login name (unique ignoring ASCII case).
    pub username: String,
    /// Shown name.
    pub display_name: String,
    /// Optional e-mail (unique ignoring case).
    pub email: Option<String>,
    /// Argon2id PHC string; `None` for puppets, which cannot log in.
    pub password_hash: Option<crate::secret::Secret>,
    /// Set for bridge puppets.
    pub bridge: Option<BridgeRef>,
    /// When it was made.
    pub created_at: Timestamp,
}

/// Fields of a user to change; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    /// New display name.
    pub display_name: Option<String>,
    /// New avatar (`Some(None)` clears it).
    pub avatar_url: Option<Option<String>>,
    /// New chosen status.
    pub status: Option<Status>,
}

/// A refresh token to store. Only its SHA-256 hash is kept.
#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    /// The rotation family.
    pub family_id: TokenFamilyId,
    /// Its user.
    pub user_id: UserId,
    /// When it was issued.
    pub created_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
}

/// What presenting a refresh token found. The store decides atomically, so two concurrent uses of
/// one token yield one `Valid` and one `Reused`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// Unused and live: it is now marked used.
    Valid {
        /// Its user.
        user_id: UserId,
        /// Its family, which the next token joins.
        family_id: TokenFamilyId,
    },
    /// Already used: the whole family is now revoked.
    Reused {
        /// Its user.
        user_id: UserId,
        /// The revoked family.
        family_id: TokenFamilyId,
    },
    /// Unknown, expired or revoked.
    Invalid,
}

/// A server to create, atomically with its owner's membership, its `@everyone` role and its first
/// channels.
#[derive(Debug, Clone)]
pub struct NewServer {
    /// The server (its id is also `@everyone`'s id).
    pub server: Server,
    /// `@everyone`'s permissions.
    pub everyone_permissions: Permissions,
    /// Channels to create with it (`general` for native servers; none for mirrored guilds).
    pub channels: Vec<Channel>,
    /// When the owner joined.
    pub owner_joined_at: Timestamp,
}

/// Fields of a server to change.
#[derive(Debug, Clone, Default)]
pub struct ServerPatch {
    /// New name.
    pub name: Option<String>,
    /// New icon (`Some(None)` clears it).
    pub icon_url: Option<Option<String>>,
    /// New owner (must already be a member).
    pub owner_id: Option<UserId>,
}

/// Fields of a channel to change.
#[derive(Debug, Clone, Default)]
pub struct ChannelPatch {
    /// New name.
    pub name: Option<String>,
    /// New topic (`Some(None)` clears it).
    pub topic: Option<Option<String>>,
    /// New position.
    pub position: Option<i32>,
    /// New category (`Some(None)` takes it out).
    pub parent_id: Option<Option<ChannelId>>,
}

/// Fields of a role to change (its position moves with [`Store::move_role`]).
#[derive(Debug, Clone, Default)]
pub struct RolePatch {
    /// New name.
    pub name: Option<String>,
    /// New colour.
    pub color: Option<i32>,
    /// New permissions.
    pub permissions: Option<Permissions>,
}

/// What happened when a user presented an invite code. Checked in this order, in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum JoinOutcome {
    /// The code is unknown, expired, used up, or for another server.
    UnknownInvite,
    /// The user is banned from the server (no use counted).
    Banned,
    /// The user was already a member (no use counted).
    AlreadyMember(Member),
    /// The user joined; the invite's use was counted, never past `max_uses`.
    Joined(Member),
}

/// A message to store.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Its id (creation time; a bridged message's id carries the remote timestamp).
    pub id: MessageId,
    /// Channel or DM channel.
    pub channel_id: ChannelId,
    /// Author.
    pub author_id: UserId,
    /// Text.
    pub content: String,
    /// The message it answers (checked by the service).
    pub reply_to: Option<MessageId>,
    /// Whether its `@everyone`/`@here` notifies everyone (decided by the service).
    pub mention_everyone: bool,
    /// The sender's nonce, for deduplication.
    pub nonce: Option<String>,
    /// Uploads to attach; each must be unattached and, unless bridged, the author's.
    pub attachment_ids: Vec<UploadId>,
    /// When it was written.
    pub created_at: Timestamp,
    /// When it was last edited, for a mirrored message that was edited before Rift saw it.
    pub edited_at: Option<Timestamp>,
    /// What a mirrored message carries beside its text (see [`Message::extras`]).
    pub extras: Option<serde_json::Value>,
    /// Set for mirrored messages.
    pub bridge: Option<BridgeRef>,
}

impl NewMessage {
    /// A plain message: no reply, nonce, attachments, edit, extras or bridge, and no
    /// `@everyone` notification (callers set those fields they need).
    pub fn new(
        id: MessageId,
        channel_id: ChannelId,
        author_id: UserId,
        content: impl Into<String>,
        created_at: Timestamp,
    ) -> Self {
        Self {
            id,
            channel_id,
            author_id,
            content: content.into(),
            reply_to: None,
            mention_everyone: false,
            nonce: None,
            attachment_ids: Vec::new(),
            created_at,
            edited_at: None,
            extras: None,
            bridge: None,
        }
    }
}

/// A message that may mention someone (see [`Store::unread_mention_candidates`]).
#[derive(Debug, Clone, PartialEq)]
pub struct MentionCandidate {
    /// Its channel.
    pub channel_id: ChannelId,
    /// Its text.
    pub content: String,
    /// Its stored [`Message::mention_everyone`] flag.
    pub mention_everyone: bool,
}

/// How a backend's connections are used, for operators ([`Store::usage`]; `/metrics`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreUsage {
    /// Each connection pool, by name (`write` and `read` on SQLite, `main` on PostgreSQL).
    pub pools: Vec<PoolUsage>,
    /// SQLite's group commit so far: transactions, and the messages they stored (their ratio is
    /// the mean batch size). `None` where each message has its own transaction.
    pub group_commit: Option<(u64, u64)>,
}

/// One connection pool's use at this moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolUsage {
    /// The pool's name.
    pub name: &'static str,
    /// Connections open (idle or lent out).
    pub open: u32,
    /// Open connections waiting to be lent.
    pub idle: u32,
    /// The most connections the pool opens.
    pub max: u32,
}

impl PoolUsage {
    /// One pool's figures.
    pub fn new(name: &'static str, open: u32, idle: u32, max: u32) -> Self {
        Self { name, open, idle, max }
    }
}

/// A gateway session saved by a graceful shutdown ([`Store::save_gateway_sessions`]), so its
/// client can resume it after the restart.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SavedSession {
    /// The session.
    pub id: SessionId,
    /// Its user.
    pub user_id: UserId,
    /// The gateway's own encoding of the session (opaque to the store).
    pub state: String,
    /// When it was saved.
    pub saved_at: Timestamp,
}

impl SavedSession {
    /// A saved session.
    pub fn new(id: SessionId, user_id: UserId, state: String, saved_at: Timestamp) -> Self {
        Self { id, user_id, state, saved_at }
    }
}

/// The result of [`Store::create_message`].
#[derive(Debug, Clone, PartialEq)]
pub enum CreateMessageOutcome {
    /// Stored (and durable) now.
    Created(Message),
    /// The same author sent the same nonce in the same channel since `nonce_since`: the original.
    Duplicate(Message),
}

/// A page of a channel's messages, newest first: `before` gives the `limit` just older, `after` the
/// `limit` just newer, both the newest `limit` strictly between them; neither the newest `limit`.
#[derive(Debug, Clone, Copy)]
pub struct MessagePage {
    /// Only messages with smaller ids.
    pub before: Option<MessageId>,
    /// Only messages with larger ids.
    pub after: Option<MessageId>,
    /// 1..=100 (checked by the service).
    pub limit: u32,
}

/// A full-text search, already limited to what the searcher may read.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    /// Words that must all appear (matched as words; punctuation-only or emoji words match as
    /// substrings). Never interpreted as query syntax.
    pub words: Vec<String>,
    /// Phrases that must appear as written (word sequence).
    pub phrases: Vec<String>,
    /// Channels to search: exactly those the searcher may read. Empty: no results.
    pub channel_ids: Vec<ChannelId>,
    /// Only this author.
    pub author_id: Option<UserId>,
    /// Only messages created before this.
    pub before: Option<Timestamp>,
    /// Only messages created after this.
    pub after: Option<Timestamp>,
    /// Only messages with at least one attachment.
    pub has_attachment: bool,
    /// Only these authors (any of them; empty: no such filter).
    pub author_ids: Vec<UserId>,
    /// Words whose last token may be a prefix of a word in the message (`prefix*`).
    pub prefixes: Vec<String>,
    /// Words or phrases that must not appear (`-word`, `-"a phrase"`).
    pub excluded: Vec<String>,
    /// Only messages whose content has an `http://` or `https://` link.
    pub has_link: bool,
    /// Only messages with at least one image attachment (`image/*`).
    pub has_image: bool,
    /// Only edited messages.
    pub edited: bool,
    /// Only pinned messages.
    pub pinned: bool,
    /// Deleted messages instead of live ones (the caller has checked who may see them). Deleted
    /// messages are outside the text index: the backend reads the channels' deleted messages
    /// (a partial index) and matches the text with [`Matcher`], so both
    /// backends answer alike.
    pub deleted: bool,
    /// 1..=100.
    pub limit: u32,
    /// Who searches (for `reactions[].me`).
    pub viewer: Option<UserId>,
    /// How long the backend may work on a search that no text index can narrow (only
    /// punctuation or emoji, only filters, or deleted messages): past it the statement is stopped
    /// and the search fails with [`StoreError::TimedOut`]. `None`:
    /// no limit. A search by words is bounded by the index (its newest messages first, or a word's
    /// matches), not by this.
    pub time_limit: Option<std::time::Duration>,
}

impl SearchQuery {
    /// A query for `words` in `channel_ids`, with no other filter.
    pub fn new(channel_ids: Vec<ChannelId>, limit: u32) -> Self {
        Self {
            words: Vec::new(),
            phrases: Vec::new(),
            channel_ids,
            author_id: None,
            before: None,
            after: None,
            has_attachment: false,
            author_ids: Vec::new(),
            prefixes: Vec::new(),
            excluded: Vec::new(),
            has_link: false,
            has_image: false,
            edited: false,
            pinned: false,
            deleted: false,
            limit,
            viewer: None,
            time_limit: None,
        }
    }
}

/// What pinning a message did.
#[derive(Debug, Clone, PartialEq)]
pub enum PinOutcome {
    /// Pinned now; the message as it is.
    Pinned(Message),
    /// It was pinned already; nothing changed.
    AlreadyPinned(Message),
    /// The channel has `max` live pinned messages; nothing changed.
    LimitReached,
    /// No such live message.
    Missing,
}

/// How much a history purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeCounts {
    /// Earlier versions (edit entries) removed.
    pub versions: u64,
    /// Deleted messages whose content was erased.
    pub deleted_contents: u64,
    /// Attachments of deleted messages removed (row and file).
    pub attachments: u64,
}

/// An invite to create.
#[derive(Debug, Clone)]
pub struct NewInvite {
    /// The code (unique).
    pub code: String,
    /// The server.
    pub server_id: ServerId,
    /// The channel it points at.
    pub channel_id: Option<ChannelId>,
    /// 0 when unlimited.
    pub max_uses: i64,
    /// `None` when it never expires.
    pub expires_at: Option<Timestamp>,
    /// Who made it.
    pub creator_id: UserId,
    /// When.
    pub created_at: Timestamp,
}

/// Kinds of objects a bridge maps, for [`Store::find_bridged`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BridgedKind {
    /// Users (puppets).
    User,
    /// Servers (guilds).
    Server,
    /// Channels (including DM channels).
    Channel,
    /// Roles.
    Role,
    /// Messages (deleted ones too).
    Message,
    /// Uploads (attachments).
    Upload,
}

/// A remote DM or group DM to mirror, for [`Store::mirror_dm`].
#[derive(Debug, Clone)]
pub struct MirroredDm {
    /// The id a new channel gets.
    pub new_id: ChannelId,
    /// The remote DM.
    pub bridge: BridgeRef,
    /// `Dm` (one or two distinct participants) or `GroupDm`.
    pub kind: crate::model::ChannelKind,
    /// A group DM's name (ignored for a `Dm`).
    pub name: Option<String>,
    /// Every participant (the bridge owner included), without duplicates.
    pub participants: Vec<UserId>,
    /// When a new channel was made.
    pub at: Timestamp,
}

/// What [`Store::mirror_dm`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirroredDmOutcome {
    /// The channel.
    pub id: ChannelId,
    /// Whether it was made now (then `added` lists every participant).
    pub created: bool,
    /// Participants who joined it.
    pub added: Vec<UserId>,
    /// Participants who left it.
    pub removed: Vec<UserId>,
    /// Whether its name changed.
    pub renamed: bool,
}

/// What an export covers: the whole database, or one server, or one channel (a DM channel too).
/// A scoped export also carries what its rows need to be imported on their own: the users they
/// name (authors, reactors, members, participants, the owner), and for a channel its server, the
/// server's roles and the channel's category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportScope {
    /// Every server, DM, user and upload, and read states.
    All,
    /// One server with its roles, channels, overwrites, members, messages, bans, invites and
    /// audit log.
    Server(ServerId),
    /// One channel or DM with its messages.
    Channel(ChannelId),
}

/// One record of an export: a row of one kind (`type`) with its fields, in the form of the
/// export format (`docs/export-format.md`): ids as UUID strings, timestamps as RFC 3339 UTC
/// strings with microseconds, permission sets as unsigned integers, JSON columns as JSON.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExportRecord {
    /// The kind of row (`user`, `server`, `role`, `member`, `member_role`, `channel`,
    /// `overwrite`, `dm`, `dm_participant`, `message`, `attachment`, `reaction`,
    /// `message_history`, `ban`, `invite`, `audit_entry`, `read_state`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Its columns by name.
    #[serde(flatten)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// Where [`Store::export`] hands each record; an error stops the export.
pub type ExportSink<'a> = &'a mut (dyn FnMut(ExportRecord) -> StoreResult<()> + Send);

/// The records [`Store::import`] stores, in export order; an error stops the import.
pub type ImportSource<'a> = &'a mut (dyn Iterator<Item = StoreResult<ExportRecord>> + Send);

/// The storage contract of the service layer. See the module docs for the rules.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which database this is.
    fn backend(&self) -> Backend;
    /// Checks the database answers.
    async fn ping(&self) -> StoreResult<()>;
    /// How the backend's connections are used now; nothing by default (a store without pools).
    fn usage(&self) -> StoreUsage {
        StoreUsage::default()
    }

    // ---- users ----
    /// Creates a user. `Conflict::Username` / `Conflict::Email` / `Conflict::BridgeRef`.
    async fn create_user(&self, user: &NewUser) -> StoreResult<User>;
    /// A user by id (stored status, not live presence).
    async fn user(&self, id: UserId) -> StoreResult<Option<User>>;
    /// Users by id, in no particular order; unknown ids are left out.
    async fn users(&self, ids: &[UserId]) -> StoreResult<Vec<User>>;
    /// A user by username, ignoring ASCII case.
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>>;
    /// The user's password hash (`None` for unknown users and puppets).
    async fn password_hash(&self, id: UserId) -> StoreResult<Option<String>>;
    /// Replaces the password hash.
    async fn set_password_hash(&self, id: UserId, hash: &str) -> StoreResult<()>;
    /// Changes profile fields; `None` when the user does not exist.
    async fn update_user(&self, id: UserId, patch: &UserPatch) -> StoreResult<Option<User>>;

    // ---- refresh tokens ----
    /// Stores an issued refresh token.
    async fn insert_refresh_token(&self, token: &NewRefreshToken) -> StoreResult<()>;
    /// Presents a token at `now`: marks it used, or detects reuse and revokes its family (atomic).
    async fn use_refresh_token(&self, token_hash: &str, now: Timestamp) -> StoreResult<RefreshOutcome>;
    /// The user and family of a stored token (used or not).
    async fn refresh_token_family(&self, token_hash: &str) -> StoreResult<Option<(UserId, TokenFamilyId)>>;
    /// Revokes every token of a family.
    async fn revoke_token_family(&self, family_id: TokenFamilyId) -> StoreResult<()>;
    /// Revokes every token of a user, except those of `keep` (the family just issued).
    async fn revoke_user_tokens(&self, user_id: UserId, keep: Option<TokenFamilyId>) -> StoreResult<()>;

    // ---- servers ----
    /// Creates a server with owner membership, `@everyone` (position 0) and channels, atomically.
    async fn create_server(&self, new: &NewServer) -> StoreResult<Server>;
    /// A server by id.
    async fn server(&self, id: ServerId) -> StoreResult<Option<Server>>;
    /// The servers a user is a member of, oldest first.
    async fn servers_of_user(&self, user_id: UserId) -> StoreResult<Vec<Server>>;
    /// Changes server fields; `None` when unknown.
    async fn update_server(&self, id: ServerId, patch: &ServerPatch) -> StoreResult<Option<Server>>;
    /// Deletes a server and everything in it (channels, messages, roles, members, invites).
    async fn delete_server(&self, id: ServerId) -> StoreResult<bool>;

    // ---- members and bans ----
    /// One membership.
    async fn member(&self, server_id: ServerId, user_id: UserId) -> StoreResult<Option<Member>>;
    /// Members ordered by user id, after `after`, at most `limit`.
    async fn members(
        &self,
        server_id: ServerId,
        after: Option<UserId>,
        limit: u32,
    ) -> StoreResult<Vec<Member>>;
    /// The user ids of every member (for event delivery).
    async fn member_ids(&self, server_id: ServerId) -> StoreResult<Vec<UserId>>;
    /// Adds a member directly (bridges, tests); `false` if already a member. Does not check bans.
    async fn add_member(
        &self,
        server_id: ServerId,
        user_id: UserId,
        joined_at: Timestamp,
    ) -> StoreResult<bool>;
    /// Sets or clears a member's nickname; `false` if not a member.
    async fn set_member_nickname(
        &self,
        server_id: ServerId,
        user_id: UserId,
        nickname: Option<&str>,
    ) -> StoreResult<bool>;
    /// Removes a member and their role assignments; `false` if not a member.
    async fn remove_member(&self, server_id: ServerId, user_id: UserId) -> StoreResult<bool>;
    /// Joins by invite code (see [`JoinOutcome`] for the order of checks), atomically.
    async fn join_with_invite(
        &self,
        code: &str,
        server_id: ServerId,
        user_id: UserId,
        now: Timestamp,
    ) -> StoreResult<JoinOutcome>;
    /// Whether two users share at least one server.
    async fn share_a_server(&self, a: UserId, b: UserId) -> StoreResult<bool>;
    /// Bans a user (member or not): removes the membership and records the ban, atomically.
    /// Banning again replaces the reason.
    async fn ban(
        &self,
        server_id: ServerId,
        user_id: UserId,
        reason: Option<&str>,
        at: Timestamp,
    ) -> StoreResult<()>;
    /// Lifts a ban; `false` if there was none.
    async fn unban(&self, server_id: ServerId, user_id: UserId) -> StoreResult<bool>;
    /// One ban.
    async fn ban_entry(&self, server_id: ServerId, user_id: UserId) -> StoreResult<Option<Ban>>;
    /// Bans ordered by user id, after `after`, at most `limit`.
    async fn bans(&self, server_id: ServerId, after: Option<UserId>, limit: u32) -> StoreResult<Vec<Ban>>;

    // ---- roles ----
    /// Inserts a role at `role.position`, moving roles at or above it up by one, atomically.
    async fn create_role(&self, role: &Role) -> StoreResult<Role>;
    /// A role by id.
    async fn role(&self, id: RoleId) -> StoreResult<Option<Role>>;
    /// A server's roles, by position ascending (`@everyone` first).
    async fn roles(&self, server_id: ServerId) -> StoreResult<Vec<Role>>;
    /// Changes name, colour or permissions; `None` when unknown.
    async fn update_role(&self, id: RoleId, patch: &RolePatch) -> StoreResult<Option<Role>>;
    /// Moves a role to `position`, shifting the roles between by one, atomically. Positions stay
    /// unique and contiguous. Returns the server's roles afterwards; `None` when unknown.
    async fn move_role(&self, id: RoleId, position: i32) -> StoreResult<Option<Vec<Role>>>;
    /// Deletes a role, its assignments and overwrites; the roles above move down by one. Atomic.
    async fn delete_role(&self, id: RoleId) -> StoreResult<bool>;
    /// Gives a member a role; `false` if they had it.
    async fn add_member_role(
        &self,
        server_id: ServerId,
        user_id: UserId,
        role_id: RoleId,
    ) -> StoreResult<bool>;
    /// Takes a role from a member; `false` if they did not have it.
    async fn remove_member_role(
        &self,
        server_id: ServerId,
        user_id: UserId,
        role_id: RoleId,
    ) -> StoreResult<bool>;

    // ---- channels ----
    /// Creates a server channel (with its overwrites). `Conflict::BridgeRef` on a duplicate mirror.
    async fn create_channel(&self, channel: &Channel) -> StoreResult<Channel>;
    /// A channel (server or DM) with its overwrites.
    async fn channel(&self, id: ChannelId) -> StoreResult<Option<Channel>>;
    /// A server's channels with overwrites, by position then id.
    async fn channels(&self, server_id: ServerId) -> StoreResult<Vec<Channel>>;
    /// Changes channel fields; `None` when unknown.
    async fn update_channel(&self, id: ChannelId, patch: &ChannelPatch) -> StoreResult<Option<Channel>>;
    /// Deletes a channel with its messages and overwrites.
    async fn delete_channel(&self, id: ChannelId) -> StoreResult<bool>;
    /// Creates or replaces the overwrite for `overwrite.id` in a channel.
    async fn put_overwrite(&self, channel_id: ChannelId, overwrite: &PermissionOverwrite) -> StoreResult<()>;
    /// Removes an overwrite; `false` if there was none.
    async fn delete_overwrite(&self, channel_id: ChannelId, target_id: Uuid) -> StoreResult<bool>;

    // ---- messages ----
    /// Stores a message and attaches its uploads, atomically; durable when this returns. If
    /// `nonce` is set and the same author used it in the same channel at or after `nonce_since`,
    /// stores nothing and returns the original. `Missing("upload")` when an attachment is unknown,
    /// already attached, or (for native messages) not the author's.
    async fn create_message(
        &self,
        message: &NewMessage,
        nonce_since: Timestamp,
    ) -> StoreResult<CreateMessageOutcome>;
    /// A message, deleted or not, with author, attachments and reactions (`me` for `viewer`).
    async fn message(&self, id: MessageId, viewer: Option<UserId>) -> StoreResult<Option<Message>>;
    /// Live messages of a channel, newest first (see [`MessagePage`]).
    async fn messages(
        &self,
        channel_id: ChannelId,
        page: MessagePage,
        viewer: Option<UserId>,
    ) -> StoreResult<Vec<Message>>;
    /// Replaces a live message's content and its [`Message::mention_everyone`] flag (decided
    /// again for the new text) and writes the edit to its history, atomically. Returns the edited
    /// message as `actor_id` sees it (`me` on their reactions); `None` if unknown or deleted.
    async fn edit_message(
        &self,
        id: MessageId,
        content: &str,
        mention_everyone: bool,
        actor_id: Option<UserId>,
        at: Timestamp,
    ) -> StoreResult<Option<Message>>;
    /// Soft-deletes a live message, writes the delete (with the old content) to its history, and
    /// `audit` to the server audit log, atomically. Returns the message as it was; `None` if unknown
    /// or already deleted.
    async fn delete_message(
        &self,
        id: MessageId,
        actor_id: Option<UserId>,
        at: Timestamp,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<Option<Message>>;
    /// Replaces what a message carries beside its text (an embed-only update: no history version);
    /// `false` if unknown.
    async fn set_message_extras(
        &self,
        id: MessageId,
        extras: Option<&serde_json::Value>,
    ) -> StoreResult<bool>;
    /// A message's edit/delete trail, oldest first.
    async fn message_history(&self, id: MessageId) -> StoreResult<Vec<MessageHistoryEntry>>;
    /// Live messages matching a search (deleted ones when `query.deleted`), newest first.
    async fn search(&self, query: &SearchQuery) -> StoreResult<Vec<Message>>;

    // ---- pins ----
    /// Pins a live message at `at` unless it is pinned or its channel already has `max` live
    /// pinned messages; writes `audit` (when pinned now) in the same transaction. Two concurrent
    /// pins in one channel never exceed `max`.
    async fn pin_message(
        &self,
        id: MessageId,
        by: Option<UserId>,
        at: Timestamp,
        max: u32,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<PinOutcome>;
    /// Unpins a message (live or not) and writes `audit` in the same transaction; `false` if it
    /// was not pinned.
    async fn unpin_message(&self, id: MessageId, audit: Option<&AuditEntry>) -> StoreResult<bool>;
    /// A channel's live pinned messages, newest pin first (`me` on `viewer`'s reactions).
    async fn pinned_messages(
        &self,
        channel_id: ChannelId,
        viewer: Option<UserId>,
    ) -> StoreResult<Vec<Message>>;

    // ---- history settings and purges ----
    /// A server's history settings; the defaults when never set.
    async fn history_settings(&self, server_id: ServerId) -> StoreResult<HistorySettings>;
    /// Replaces a server's history settings and writes `audit`, atomically.
    async fn set_history_settings(
        &self,
        server_id: ServerId,
        settings: &HistorySettings,
        at: Timestamp,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()>;
    /// Servers with a retention period, and that period in days.
    async fn servers_with_retention(&self) -> StoreResult<Vec<(ServerId, u32)>>;
    /// The attachments of a server's messages deleted before `older_than` that no user's avatar
    /// and no server's icon names (their files are in use): what a purge removes, oldest first.
    async fn purgeable_attachments(
        &self,
        server_id: ServerId,
        older_than: Timestamp,
    ) -> StoreResult<Vec<UploadId>>;
    /// In one transaction, for the messages of a server's channels: removes edit entries older than
    /// `older_than`, erases the content of messages deleted before it (the message row, its
    /// history entries' texts and its edit entries) and removes the `attachments` rows among
    /// those messages' (the caller has removed their files; ids of other messages' attachments
    /// are ignored). When anything was removed, `audit` is written with `changes` extended by
    /// `{"versions": n, "deleted_contents": m, "attachments": k}`.
    async fn purge_history(
        &self,
        server_id: ServerId,
        older_than: Timestamp,
        attachments: &[UploadId],
        audit: &AuditEntry,
    ) -> StoreResult<PurgeCounts>;

    // ---- uploads ----
    /// Records an uploaded file.
    async fn create_upload(&self, upload: &Upload) -> StoreResult<()>;
    /// An upload by id.
    async fn upload(&self, id: UploadId) -> StoreResult<Option<Upload>>;
    /// The oldest upload whose bytes have this SHA-256 (hex), if any.
    async fn upload_by_hash(&self, content_hash: &str) -> StoreResult<Option<Upload>>;

    // ---- reactions ----
    /// Adds a reaction; `false` if it was there.
    async fn add_reaction(
        &self,
        message_id: MessageId,
        user_id: UserId,
        emoji: &str,
        at: Timestamp,
    ) -> StoreResult<bool>;
    /// Removes every reaction of a message, or those with `emoji`; returns who had which.
    async fn clear_reactions(
        &self,
        message_id: MessageId,
        emoji: Option<&str>,
    ) -> StoreResult<Vec<(UserId, String)>>;
    /// Removes a reaction; `false` if it was not there.
    async fn remove_reaction(&self, message_id: MessageId, user_id: UserId, emoji: &str)
    -> StoreResult<bool>;

    // ---- DMs ----
    /// The DM channel between two users, made (with `new_id`) if there is none. Atomic, so two
    /// concurrent calls make one channel. Returns the channel id and whether it was created.
    async fn open_dm(
        &self,
        a: UserId,
        b: UserId,
        new_id: ChannelId,
        at: Timestamp,
    ) -> StoreResult<(ChannelId, bool)>;
    /// A user's DM channels as they see them, newest activity first.
    async fn dm_channels(&self, user_id: UserId) -> StoreResult<Vec<DmChannel>>;
    /// One DM channel as `viewer` sees it; `None` if unknown or `viewer` is not in it.
    async fn dm_channel(&self, id: ChannelId, viewer: UserId) -> StoreResult<Option<DmChannel>>;
    /// The participants of a DM channel (empty if unknown).
    async fn dm_participants(&self, id: ChannelId) -> StoreResult<Vec<UserId>>;
    /// Creates or updates the DM channel mirroring a remote DM or group DM, found by its bridge
    /// ref: its name and exactly `participants` (a remote two-person DM with no channel yet takes
    /// over a native DM of the same pair, keeping one DM per pair). Atomic;
    /// `Conflict::BridgeRef`, or `Conflict::DmPair` for a two-person DM, when a concurrent call
    /// made it first (call again).
    async fn mirror_dm(&self, dm: &MirroredDm) -> StoreResult<MirroredDmOutcome>;

    // ---- invites ----
    /// Creates an invite. `Conflict::InviteCode` on a clash.
    async fn create_invite(&self, invite: &NewInvite) -> StoreResult<Invite>;
    /// An invite by code (expired or used up too: the service decides).
    async fn invite(&self, code: &str) -> StoreResult<Option<Invite>>;
    /// A server's invites, newest first.
    async fn invites(&self, server_id: ServerId) -> StoreResult<Vec<Invite>>;
    /// Revokes an invite; `false` if unknown.
    async fn delete_invite(&self, code: &str) -> StoreResult<bool>;

    // ---- read state ----
    /// Sets how far a user has read in a channel (moving forward only).
    async fn ack(&self, user_id: UserId, channel_id: ChannelId, message_id: MessageId) -> StoreResult<()>;
    /// A user's read states.
    async fn read_states(&self, user_id: UserId) -> StoreResult<Vec<ReadState>>;
    /// The newest live (not deleted) message of each given channel (one query per thousand channels); channels
    /// without one, and unknown channels, are absent from the map.
    async fn last_message_ids(
        &self,
        channel_ids: &[ChannelId],
    ) -> StoreResult<std::collections::HashMap<ChannelId, MessageId>>;
    /// Messages that may count as mentions of `user_id`, oldest first per channel: in those of
    /// `channel_ids` where the user has a read position, the live messages by others after it,
    /// among the channel's newest `scan`, that carry `mention_everyone` or whose content is
    /// `LIKE` one of `patterns` — or any such message in `every_message` channels (DMs). The
    /// caller decides which really mention the user.
    async fn unread_mention_candidates(
        &self,
        user_id: UserId,
        channel_ids: &[ChannelId],
        patterns: &[String],
        every_message: &[ChannelId],
        scan: u32,
    ) -> StoreResult<Vec<MentionCandidate>>;

    // ---- server audit log ----
    /// Appends an entry.
    async fn add_audit_entry(&self, entry: &AuditEntry) -> StoreResult<()>;
    /// Entries newest first, before `before`, at most `limit`.
    async fn audit_log(
        &self,
        server_id: ServerId,
        before: Option<AuditEntryId>,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>>;

    // ---- bridges ----
    /// The Rift id of a mirrored object by its remote id.
    async fn find_bridged(&self, kind: BridgedKind, bridge: &BridgeRef) -> StoreResult<Option<Uuid>>;
    /// Records a bridge connection.
    async fn create_bridge_connection(&self, connection: &BridgeConnection) -> StoreResult<()>;
    /// A bridge connection.
    async fn bridge_connection(&self, id: BridgeConnectionId) -> StoreResult<Option<BridgeConnection>>;
    /// Bridge connections, of one owner or all, oldest first.
    async fn bridge_connections(&self, owner_id: Option<UserId>) -> StoreResult<Vec<BridgeConnection>>;
    /// Sets a connection's status, reason and (when given) remote user id; `false` if unknown.
    async fn set_bridge_status(
        &self,
        id: BridgeConnectionId,
        status: BridgeStatus,
        reason: Option<&str>,
        remote_user_id: Option<&str>,
    ) -> StoreResult<bool>;
    /// Deletes a connection and its cursors (mirrored data stays).
    async fn delete_bridge_connection(&self, id: BridgeConnectionId) -> StoreResult<bool>;
    /// Stores a named cursor of a connection (e.g. a channel's backfill position).
    async fn set_bridge_cursor(&self, id: BridgeConnectionId, key: &str, value: &str) -> StoreResult<()>;
    /// A named cursor.
    async fn bridge_cursor(&self, id: BridgeConnectionId, key: &str) -> StoreResult<Option<String>>;
    /// Takes or renews the lease on running a connection for `holder` until `now + ttl`: taken
    /// when nobody holds it, when its holder let it expire (`expires_at <= now`), or when `holder`
    /// already holds it (a renewal). `false` when another holder's lease is still valid, or the
    /// connection is unknown. Atomic: of concurrent takers of a free lease, one wins.
    async fn acquire_bridge_lease(
        &self,
        id: BridgeConnectionId,
        holder: Uuid,
        now: Timestamp,
        ttl: std::time::Duration,
    ) -> StoreResult<bool>;
    /// Gives up `holder`'s lease on a connection (anyone may take it at once); `false` if
    /// `holder` did not hold it.
    async fn release_bridge_lease(&self, id: BridgeConnectionId, holder: Uuid) -> StoreResult<bool>;
    /// Records a backfill request (as given: normally `pending`).
    async fn create_backfill_request(&self, request: &BackfillRequest) -> StoreResult<()>;
    /// A backfill request.
    async fn backfill_request(&self, id: BackfillRequestId) -> StoreResult<Option<BackfillRequest>>;
    /// A connection's most recently asked backfill request.
    async fn latest_backfill_request(
        &self,
        connection_id: BridgeConnectionId,
    ) -> StoreResult<Option<BackfillRequest>>;
    /// Takes a connection's open requests for `holder` (the lease holder), oldest first: the
    /// `pending` ones, and the `running` ones taken by another holder (a process that lost the
    /// lease or died). They become `running`, taken by `holder`, started at `now`. Atomic: a
    /// request is taken by one caller.
    async fn take_backfill_requests(
        &self,
        connection_id: BridgeConnectionId,
        holder: Uuid,
        now: Timestamp,
    ) -> StoreResult<Vec<BackfillRequest>>;
    /// Finishes a request `holder` runs: `done`, or `failed` with `error`. `false` when `holder`
    /// does not run it (any more): nothing changes.
    async fn finish_backfill_request(
        &self,
        id: BackfillRequestId,
        holder: Uuid,
        error: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Puts the requests `holder` runs for a connection back to `pending` (its bridge stopped
    /// before they finished); how many.
    async fn release_backfill_requests(
        &self,
        connection_id: BridgeConnectionId,
        holder: Uuid,
    ) -> StoreResult<u64>;

    // ---- gateway sessions across a restart ----
    /// Saves `sessions` under `owner` (the installation shutting down), replacing any saved
    /// session with the same id, in one transaction. Sessions of unknown users are an error.
    async fn save_gateway_sessions(&self, owner: &str, sessions: &[SavedSession]) -> StoreResult<()>;
    /// Reads and deletes every session saved under `owner`, in one statement: each saved
    /// session is handed out once.
    async fn take_gateway_sessions(&self, owner: &str) -> StoreResult<Vec<SavedSession>>;

    // ---- administration ----
    /// Every user (puppets included), ordered by id, after `after`, at most `limit`.
    async fn all_users(&self, after: Option<UserId>, limit: u32) -> StoreResult<Vec<User>>;
    /// Every server, ordered by id, after `after`, at most `limit`.
    async fn all_servers(&self, after: Option<ServerId>, limit: u32) -> StoreResult<Vec<Server>>;
    /// Disables (`Some(at)`) or enables (`None`) a user's account; `false` if the user is unknown.
    async fn set_user_disabled(&self, id: UserId, disabled_at: Option<Timestamp>) -> StoreResult<bool>;
    /// When the user's account was disabled; `None` when it is enabled or unknown.
    async fn user_disabled_at(&self, id: UserId) -> StoreResult<Option<Timestamp>>;
    /// Hands every record of `scope` to `sink`, from one consistent snapshot, in an order an
    /// import can replay (a row after the rows it refers to; within a kind, by key, so two exports
    /// of equal data are equal). Password hashes go into `user` records only when
    /// `password_hashes` is set; refresh tokens, bridge connections, leases and the event log are
    /// never exported. Returns how many records were handed over. `Missing("server")` /
    /// `Missing("channel")` when a scoped export names nothing.
    async fn export(
        &self,
        scope: ExportScope,
        password_hashes: bool,
        sink: ExportSink<'_>,
    ) -> StoreResult<u64>;
    /// Stores the records of an export, with their ids and timestamps, in one transaction: all or
    /// nothing. Refuses with `Conflict::DatabaseNotEmpty` when the database has a user (so
    /// nothing is merged or overwritten), and with `Corrupt` on an unknown kind or field or a
    /// value of the wrong form. Returns how many records were stored.
    async fn import(&self, records: ImportSource<'_>) -> StoreResult<u64>;
}
