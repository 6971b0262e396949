//! Errors: [`Error`] for the service layer (each with a stable snake_case [`Error::code`] and an
//! [`ErrorKind`] that the HTTP layer maps one-to-one onto a status), and [`StoreError`] for backends.

use std::borrow::Cow;

/// A failure of a storage backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A uniqueness rule was broken; says which.
    #[error("{0} already exists")]
    Conflict(Conflict),
    /// A referenced row does not exist (names what was missing).
    #[error("unknown {0}")]
    Missing(&'static str),
    /// The database could not be reached or answered with an error.
    #[error("database error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A stored row could not be turned back into a domain object.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The query ran past its time limit and was stopped ([`crate::store::SearchQuery::time_limit`]).
    #[error("the query ran past its time limit")]
    TimedOut,
}

/// Which uniqueness rule a store refused a write for ([`StoreError::Conflict`]).
///
/// The service layer maps each kind to its own [`Error`] (`impl From<StoreError> for Error`, with
/// no catch-all arm), so a kind added here must be given its answer there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Conflict {
    /// Another user has this username (compared without case).
    Username,
    /// Another user has this email address (compared without case).
    Email,
    /// Another row of the same kind mirrors this remote object (`bridge_source`, `bridge_remote_id`).
    BridgeRef,
    /// These two users already have their one-to-one DM (one per pair), made by another remote
    /// DM or a concurrent call.
    DmPair,
    /// Another invite has this code.
    InviteCode,
    /// Another role of the server holds this position (a concurrent role change).
    RolePosition,
    /// An import needs an empty database and this one holds data.
    DatabaseNotEmpty,
    /// A row with this generated key (an id, a token hash) already exists in the named table: a
    /// bug or an astronomically unlikely clash, never the caller's doing. The name is for logs.
    Key(&'static str),
}

impl Conflict {
    /// What clashed, in snake_case (`username`, `bridge_ref`, or the table of a [`Conflict::Key`]).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Username => "username",
            Self::Email => "email",
            Self::BridgeRef => "bridge_ref",
            Self::DmPair => "dm_pair",
            Self::InviteCode => "invite_code",
            Self::RolePosition => "role_position",
            Self::DatabaseNotEmpty => "database_not_empty",
            Self::Key(table) => table,
        }
    }
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The category of an [`Error`], which decides its HTTP status and gateway close behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Malformed or invalid input (400).
    Invalid,
    /// Missing or bad credentials (401).
    Unauthenticated,
    /// Visible but not permitted (403).
    Forbidden,
    /// Unknown, or invisible to the caller (404).
    NotFound,
    /// Clashes with existing state (409).
    Conflict,
    /// Over a size limit (413).
    TooLarge,
    /// Too many requests (429).
    RateLimited,
    /// Something broke on our side (500); details are logged, never shown.
    Internal,
}

impl ErrorKind {
    /// The HTTP status of this kind (every kind has its own; no fallback).
    pub fn http_status(self) -> u16 {
        match self {
            Self::Invalid => 400,
            Self::Unauthenticated => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::Conflict => 409,
            Self::TooLarge => 413,
            Self::RateLimited => 429,
            Self::Internal => 500,
        }
    }
}

/// Defines [`ErrorCode`] with each code's wire string written once.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal,)*) => {
        /// Every stable error code a client can meet, in REST bodies (`{"error":{"code"}}`) and
        /// gateway `Error` frames. [`ErrorCode::as_str`] is the wire form and never changes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(Self::$variant,)*];

            /// The snake_case wire form.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)*
                }
            }
        }
    };
}

error_codes! {
    /// The request body does not fit the route's schema.
    InvalidBody = "invalid_body",
    /// A JSON body without `Content-Type: application/json`.
    InvalidContentType = "invalid_content_type",
    /// The request body is not JSON.
    InvalidJson = "invalid_json",
    /// A path parameter is malformed (not an id, say).
    InvalidPath = "invalid_path",
    /// A query parameter or search text is malformed.
    InvalidQuery = "invalid_query",
    /// A search ran past its time limit (one no text index could narrow): narrow it.
    SearchTimeout = "search_timeout",
    /// A gateway frame that is not a valid command.
    InvalidFrame = "invalid_frame",
    /// A malformed upload request.
    InvalidUpload = "invalid_upload",
    /// A username outside the username rule.
    InvalidUsername = "invalid_username",
    /// A display name that is empty, too long or has control characters.
    InvalidDisplayName = "invalid_display_name",
    /// An email address that is not one.
    InvalidEmail = "invalid_email",
    /// A password outside the password rule.
    InvalidPassword = "invalid_password",
    /// An unknown presence status.
    InvalidStatus = "invalid_status",
    /// An avatar that is not an image upload of the caller.
    InvalidAvatar = "invalid_avatar",
    /// A server, channel or role name that is empty, too long or has control characters.
    InvalidName = "invalid_name",
    /// A channel topic that is too long or has NUL characters.
    InvalidTopic = "invalid_topic",
    /// A channel kind that is unknown or not allowed here.
    InvalidKind = "invalid_kind",
    /// A channel parent that is not a category of the same server.
    InvalidParent = "invalid_parent",
    /// A role or channel position out of range.
    InvalidPosition = "invalid_position",
    /// A role color outside 24 bits.
    InvalidColor = "invalid_color",
    /// A role that cannot be used here (another server's, `@everyone`).
    InvalidRole = "invalid_role",
    /// A new owner who is not a member.
    InvalidOwner = "invalid_owner",
    /// Message content with NUL characters.
    InvalidContent = "invalid_content",
    /// A message nonce that is too long or malformed.
    InvalidNonce = "invalid_nonce",
    /// A reply to a message outside the channel.
    InvalidReply = "invalid_reply",
    /// A reaction emoji that is not one.
    InvalidEmoji = "invalid_emoji",
    /// A page size out of range.
    InvalidLimit = "invalid_limit",
    /// An invite lifetime out of range.
    InvalidMaxAge = "invalid_max_age",
    /// An invite use count out of range.
    InvalidMaxUses = "invalid_max_uses",
    /// A history retention out of range.
    InvalidRetention = "invalid_retention",
    /// An import file that cannot be read.
    InvalidImport = "invalid_import",
    /// A bridge token kind other than `user` or `bot`.
    InvalidTokenKind = "invalid_token_kind",
    /// A bridge mode other than `relay` or `archive`.
    InvalidMode = "invalid_mode",
    /// A message with no content and no attachments.
    EmptyMessage = "empty_message",
    /// The channel's kind does not allow this (messages in a category).
    WrongChannelKind = "wrong_channel_kind",
    /// More attachments than a message may carry.
    TooManyAttachments = "too_many_attachments",
    /// The channel already has the most pins it may have.
    TooManyPins = "too_many_pins",
    /// The caller already runs the most imports at once.
    TooManyImports = "too_many_imports",
    /// An attachment that is not the caller's upload.
    UnknownAttachment = "unknown_attachment",
    /// A bridge kind this server does not run.
    UnknownBridgeKind = "unknown_bridge_kind",
    /// An import kind this server does not know.
    UnknownImportKind = "unknown_import_kind",
    /// A DM with oneself.
    CannotDmSelf = "cannot_dm_self",
    /// Kicking or banning oneself.
    CannotTargetSelf = "cannot_target_self",
    /// Deleting a server's `@everyone` role.
    CannotDeleteEveryone = "cannot_delete_everyone",
    /// A wrong username or password.
    InvalidCredentials = "invalid_credentials",
    /// An access or bridge token that is malformed, expired or revoked.
    InvalidToken = "invalid_token",
    /// A refresh token that is unknown, expired, used or revoked.
    InvalidRefreshToken = "invalid_refresh_token",
    /// No bearer token, or not in the expected form.
    Unauthenticated = "unauthenticated",
    /// The account was disabled by an administrator.
    AccountDisabled = "account_disabled",
    /// The caller lacks the permissions for this.
    MissingPermissions = "missing_permissions",
    /// The target ranks at or above the caller.
    RoleHierarchy = "role_hierarchy",
    /// Only the server's owner may do this.
    NotOwner = "not_owner",
    /// Only the message's author may do this.
    NotAuthor = "not_author",
    /// The caller is banned from the server.
    Banned = "banned",
    /// A DM with someone who shares no server with the caller.
    NoMutualServer = "no_mutual_server",
    /// The server keeps earlier versions hidden from the caller.
    HistoryHidden = "history_hidden",
    /// The bridge connection is not running.
    BridgeNotRunning = "bridge_not_running",
    /// A backfill named channels its bridge connection does not mirror.
    InvalidChannelIds = "invalid_channel_ids",
    /// Unknown user, or not visible to the caller.
    UnknownUser = "unknown_user",
    /// Unknown server, or not visible to the caller.
    UnknownServer = "unknown_server",
    /// Unknown channel, or not visible to the caller.
    UnknownChannel = "unknown_channel",
    /// Unknown message, or not visible to the caller.
    UnknownMessage = "unknown_message",
    /// Unknown role.
    UnknownRole = "unknown_role",
    /// Unknown member.
    UnknownMember = "unknown_member",
    /// Unknown ban.
    UnknownBan = "unknown_ban",
    /// Unknown, expired, used up or revoked invite.
    UnknownInvite = "unknown_invite",
    /// Unknown upload.
    UnknownUpload = "unknown_upload",
    /// Unknown permission overwrite.
    UnknownOverwrite = "unknown_overwrite",
    /// Unknown bridge connection.
    UnknownBridge = "unknown_bridge",
    /// Unknown gateway session.
    UnknownSession = "unknown_session",
    /// Unknown import job.
    UnknownImport = "unknown_import",
    /// No route has this path.
    UnknownRoute = "unknown_route",
    /// The route exists with other methods.
    MethodNotAllowed = "method_not_allowed",
    /// Another user has this username.
    UsernameTaken = "username_taken",
    /// Another user has this email address.
    EmailTaken = "email_taken",
    /// Another invite has this code.
    InviteCodeTaken = "invite_code_taken",
    /// Another object already mirrors this remote object.
    AlreadyMirrored = "already_mirrored",
    /// A concurrent change got there first; try again.
    ConcurrentChange = "concurrent_change",
    /// An import needs an empty database.
    DatabaseNotEmpty = "database_not_empty",
    /// The owner must transfer the server before leaving it.
    OwnerCannotLeave = "owner_cannot_leave",
    /// Message content over the length limit.
    MessageTooLong = "message_too_long",
    /// A file over the size limit.
    FileTooLarge = "file_too_large",
    /// An import file over the size limit.
    ImportTooLarge = "import_too_large",
    /// A request body over the size limit.
    PayloadTooLarge = "payload_too_large",
    /// Too many requests; retry later.
    RateLimited = "rate_limited",
    /// Something broke on the server's side.
    InternalError = "internal_error",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<ErrorCode> for &str {
    fn eq(&self, other: &ErrorCode) -> bool {
        *self == other.as_str()
    }
}

/// A failed domain operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Malformed or invalid input.
    #[error("{message}")]
    Invalid {
        /// Stable code.
        code: ErrorCode,
        /// Human text.
        message: Cow<'static, str>,
    },
    /// Missing or bad credentials.
    #[error("{message}")]
    Unauthenticated {
        /// Stable code.
        code: ErrorCode,
        /// Human text.
        message: Cow<'static, str>,
    },
    /// The caller may see the object but not do this.
    #[error("{message}")]
    Forbidden {
        /// Stable code.
        code: ErrorCode,
        /// Human text.
        message: Cow<'static, str>,
    },
    /// Unknown, or not visible to the caller.
    #[error("unknown {}", .0.name())]
    NotFound(Resource),
    /// Clashes with existing state.
    #[error("{message}")]
    Conflict {
        /// Stable code.
        code: ErrorCode,
        /// Human text.
        message: Cow<'static, str>,
    },
    /// Over a size limit.
    #[error("{message}")]
    TooLarge {
        /// Stable code.
        code: ErrorCode,
        /// Human text.
        message: Cow<'static, str>,
    },
    /// Too many requests; retry after this many seconds.
    #[error("rate limited, retry in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
    },
    /// The storage backend failed. `?` on a [`StoreError`] gives this only for real failures: a
    /// conflict the caller can act on becomes its own [`Error::Conflict`] (see `From<StoreError>`).
    #[error(transparent)]
    Store(StoreError),
    /// Another internal failure (hashing, token signing).
    #[error("internal error: {0}")]
    Internal(String),
}

/// Kinds of objects, for [`Error::NotFound`] and its `unknown_*` codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Resource {
    /// A user.
    User,
    /// A server.
    Server,
    /// A channel or DM channel.
    Channel,
    /// A message.
    Message,
    /// A role.
    Role,
    /// A member of a server.
    Member,
    /// A ban.
    Ban,
    /// An invite code.
    Invite,
    /// An upload.
    Upload,
    /// A permission overwrite.
    Overwrite,
    /// A bridge connection.
    Bridge,
    /// A gateway session.
    Session,
    /// An import job.
    Import,
}

impl Resource {
    /// The resource's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Server => "server",
            Self::Channel => "channel",
            Self::Message => "message",
            Self::Role => "role",
            Self::Member => "member",
            Self::Ban => "ban",
            Self::Invite => "invite",
            Self::Upload => "upload",
            Self::Overwrite => "overwrite",
            Self::Bridge => "bridge",
            Self::Session => "session",
            Self::Import => "import",
        }
    }

    /// The `unknown_*` code of this resource.
    pub fn code(self) -> ErrorCode {
        match self {
            Self::User => ErrorCode::UnknownUser,
            Self::Server => ErrorCode::UnknownServer,
            Self::Channel => ErrorCode::UnknownChannel,
            Self::Message => ErrorCode::UnknownMessage,
            Self::Role => ErrorCode::UnknownRole,
            Self::Member => ErrorCode::UnknownMember,
            Self::Ban => ErrorCode::UnknownBan,
            Self::Invite => ErrorCode::UnknownInvite,
            Self::Upload => ErrorCode::UnknownUpload,
            Self::Overwrite => ErrorCode::UnknownOverwrite,
            Self::Bridge => ErrorCode::UnknownBridge,
            Self::Session => ErrorCode::UnknownSession,
            Self::Import => ErrorCode::UnknownImport,
        }
    }
}

impl Error {
    /// 400 with `code`.
    pub fn invalid(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self::Invalid { code, message: message.into() }
    }

    /// 403 with `code`.
    pub fn forbidden(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self::Forbidden { code, message: message.into() }
    }

    /// 403 `missing_permissions`.
    pub fn missing_permissions() -> Self {
        Self::forbidden(ErrorCode::MissingPermissions, "you lack the permissions for this")
    }

    /// 401 with `code`.
    pub fn unauthenticated(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self::Unauthenticated { code, message: message.into() }
    }

    /// 409 with `code`.
    pub fn conflict(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self::Conflict { code, message: message.into() }
    }

    /// 413 with `code`.
    pub fn too_large(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self::TooLarge { code, message: message.into() }
    }

    /// The stable code of this error (its wire form is [`ErrorCode::as_str`]).
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Invalid { code, .. }
            | Self::Unauthenticated { code, .. }
            | Self::Forbidden { code, .. }
            | Self::Conflict { code, .. }
            | Self::TooLarge { code, .. } => *code,
            Self::NotFound(resource) => resource.code(),
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Store(_) | Self::Internal(_) => ErrorCode::InternalError,
        }
    }

    /// The category, which decides the HTTP status.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid { .. } => ErrorKind::Invalid,
            Self::Unauthenticated { .. } => ErrorKind::Unauthenticated,
            Self::Forbidden { .. } => ErrorKind::Forbidden,
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::Conflict { .. } => ErrorKind::Conflict,
            Self::TooLarge { .. } => ErrorKind::TooLarge,
            Self::RateLimited { .. } => ErrorKind::RateLimited,
            Self::Store(_) | Self::Internal(_) => ErrorKind::Internal,
        }
    }

    /// The text safe to show a client: internal details stay in the logs.
    pub fn public_message(&self) -> String {
        match self.kind() {
            ErrorKind::Internal => "internal error".to_owned(),
            _ => self.to_string(),
        }
    }
}

impl From<StoreError> for Error {
    /// Each store conflict gets its answer here, and only here; the match names every kind so a
    /// new one cannot slip through as a wrong code.
    fn from(error: StoreError) -> Self {
        if matches!(error, StoreError::TimedOut) {
            return Self::invalid(
                ErrorCode::SearchTimeout,
                "the search took too long; add words, or search one channel or one author",
            );
        }
        let StoreError::Conflict(conflict) = error else { return Self::Store(error) };
        match conflict {
            Conflict::Username => Self::conflict(ErrorCode::UsernameTaken, "that username is taken"),
            Conflict::Email => Self::conflict(ErrorCode::EmailTaken, "that email is already registered"),
            Conflict::BridgeRef => Self::conflict(
                ErrorCode::AlreadyMirrored,
                "another object already mirrors that remote object",
            ),
            Conflict::DmPair | Conflict::RolePosition => {
                Self::conflict(ErrorCode::ConcurrentChange, "changed concurrently; try again")
            }
            Conflict::InviteCode => Self::conflict(ErrorCode::InviteCodeTaken, "that invite code is taken"),
            Conflict::DatabaseNotEmpty => {
                Self::conflict(ErrorCode::DatabaseNotEmpty, "the database already holds data")
            }
            // A generated key clashed: our bug, so a 500 with the details logged.
            Conflict::Key(_) => Self::Store(error),
        }
    }
}

/// The result of a service operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_kinds_are_stable() {
        let cases: [(Error, &str, ErrorKind); 6] = [
            (Error::NotFound(Resource::Channel), "unknown_channel", ErrorKind::NotFound),
            (
                Error::invalid(ErrorCode::EmptyMessage, "message is empty"),
                "empty_message",
                ErrorKind::Invalid,
            ),
            (Error::missing_permissions(), "missing_permissions", ErrorKind::Forbidden),
            (Error::RateLimited { retry_after_secs: 3 }, "rate_limited", ErrorKind::RateLimited),
            (Error::Store(StoreError::Conflict(Conflict::Username)), "internal_error", ErrorKind::Internal),
            (
                Error::too_large(ErrorCode::MessageTooLong, "too long"),
                "message_too_long",
                ErrorKind::TooLarge,
            ),
        ];
        for (error, code, kind) in cases {
            assert_eq!(error.code(), code);
            assert_eq!(error.kind(), kind);
        }
    }

    #[test]
    fn every_store_conflict_has_its_own_answer() {
        let cases = [
            (Conflict::Username, "username_taken", ErrorKind::Conflict),
            (Conflict::Email, "email_taken", ErrorKind::Conflict),
            (Conflict::BridgeRef, "already_mirrored", ErrorKind::Conflict),
            (Conflict::DmPair, "concurrent_change", ErrorKind::Conflict),
            (Conflict::RolePosition, "concurrent_change", ErrorKind::Conflict),
            (Conflict::InviteCode, "invite_code_taken", ErrorKind::Conflict),
            (Conflict::DatabaseNotEmpty, "database_not_empty", ErrorKind::Conflict),
            (Conflict::Key("users"), "internal_error", ErrorKind::Internal),
        ];
        for (conflict, code, kind) in cases {
            let error = Error::from(StoreError::Conflict(conflict));
            assert_eq!((error.code().as_str(), error.kind()), (code, kind), "{conflict:?}");
        }
        let missing = Error::from(StoreError::Missing("channel"));
        assert_eq!(missing.kind(), ErrorKind::Internal);
        let timed_out = Error::from(StoreError::TimedOut);
        assert_eq!((timed_out.code().as_str(), timed_out.kind().http_status()), ("search_timeout", 400));
    }

    #[test]
    fn codes_are_unique_snake_case_words() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} is used twice");
            assert!(
                !text.is_empty()
                    && text.split('_').all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase())),
                "{text} is not snake_case"
            );
            assert_eq!(code.to_string(), text);
        }
        assert_eq!(ErrorCode::UnknownChannel, "unknown_channel");
        assert_eq!(ErrorKind::Conflict.http_status(), 409);
    }

    #[test]
    fn internal_details_are_not_public() {
        let error = Error::Store(StoreError::Corrupt("row 7 has a bad uuid".into()));
        assert_eq!(error.public_message(), "internal error");
        assert_eq!(Error::NotFound(Resource::Message).public_message(), "unknown message");
    }
}
