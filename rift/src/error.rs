//! Errors: [`Error`] for the service layer (each with a stable snake_case [`Error::code`] and an
//! [`ErrorKind`] that the HTTP layer maps one-to-one onto a status), and [`StoreError`] for backends.

use std::borrow::Cow;

/// A failure of a storage backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A uniqueness rule was broken; names what clashed (`username`, `email`, `bridge_ref`, ...).
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// A referenced row does not exist (names what was missing).
    #[error("unknown {0}")]
    Missing(&'static str),
    /// The database could not be reached or answered with an error.
    #[error("database error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A stored row could not be turned back into a domain object.
    #[error("corrupt row: {0}")]
    Corrupt(String),
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

/// A failed domain operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Malformed or invalid input.
    #[error("{message}")]
    Invalid {
        /// Stable snake_case code.
        code: &'static str,
        /// Human text.
        message: Cow<'static, str>,
    },
    /// Missing or bad credentials.
    #[error("{message}")]
    Unauthenticated {
        /// Stable snake_case code.
        code: &'static str,
        /// Human text.
        message: Cow<'static, str>,
    },
    /// The caller may see the object but not do this.
    #[error("{message}")]
    Forbidden {
        /// Stable snake_case code.
        code: &'static str,
        /// Human text.
        message: Cow<'static, str>,
    },
    /// Unknown, or not visible to the caller.
    #[error("unknown {}", .0.name())]
    NotFound(Resource),
    /// Clashes with existing state.
    #[error("{message}")]
    Conflict {
        /// Stable snake_case code.
        code: &'static str,
        /// Human text.
        message: Cow<'static, str>,
    },
    /// Over a size limit.
    #[error("{message}")]
    TooLarge {
        /// Stable snake_case code.
        code: &'static str,
        /// Human text.
        message: Cow<'static, str>,
    },
    /// Too many requests; retry after this many seconds.
    #[error("rate limited, retry in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
    },
    /// The storage backend failed.
    #[error(transparent)]
    Store(#[from] StoreError),
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

    fn code(self) -> &'static str {
        match self {
            Self::User => "unknown_user",
            Self::Server => "unknown_server",
            Self::Channel => "unknown_channel",
            Self::Message => "unknown_message",
            Self::Role => "unknown_role",
            Self::Member => "unknown_member",
            Self::Ban => "unknown_ban",
            Self::Invite => "unknown_invite",
            Self::Upload => "unknown_upload",
            Self::Overwrite => "unknown_overwrite",
            Self::Bridge => "unknown_bridge",
            Self::Session => "unknown_session",
            Self::Import => "unknown_import",
        }
    }
}

impl Error {
    /// 400 with `code`.
    pub fn invalid(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::Invalid { code, message: message.into() }
    }

    /// 403 with `code`.
    pub fn forbidden(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::Forbidden { code, message: message.into() }
    }

    /// 403 `missing_permissions`.
    pub fn missing_permissions() -> Self {
        Self::forbidden("missing_permissions", "you lack the permissions for this")
    }

    /// 401 with `code`.
    pub fn unauthenticated(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::Unauthenticated { code, message: message.into() }
    }

    /// 409 with `code`.
    pub fn conflict(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::Conflict { code, message: message.into() }
    }

    /// 413 with `code`.
    pub fn too_large(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::TooLarge { code, message: message.into() }
    }

    /// The stable snake_case code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid { code, .. }
            | Self::Unauthenticated { code, .. }
            | Self::Forbidden { code, .. }
            | Self::Conflict { code, .. }
            | Self::TooLarge { code, .. } => code,
            Self::NotFound(resource) => resource.code(),
            Self::RateLimited { .. } => "rate_limited",
            Self::Store(_) | Self::Internal(_) => "internal_error",
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

/// The result of a service operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_kinds_are_stable() {
        let cases: [(Error, &str, ErrorKind); 6] = [
            (Error::NotFound(Resource::Channel), "unknown_channel", ErrorKind::NotFound),
            (Error::invalid("empty_message", "message is empty"), "empty_message", ErrorKind::Invalid),
            (Error::missing_permissions(), "missing_permissions", ErrorKind::Forbidden),
            (Error::RateLimited { retry_after_secs: 3 }, "rate_limited", ErrorKind::RateLimited),
            (Error::Store(StoreError::Conflict("username")), "internal_error", ErrorKind::Internal),
            (Error::too_large("message_too_long", "too long"), "message_too_long", ErrorKind::TooLarge),
        ];
        for (error, code, kind) in cases {
            assert_eq!(error.code(), code);
            assert_eq!(error.kind(), kind);
        }
    }

    #[test]
    fn internal_details_are_not_public() {
        let error = Error::Store(StoreError::Corrupt("row 7 has a bad uuid".into()));
        assert_eq!(error.public_message(), "internal error");
        assert_eq!(Error::NotFound(Resource::Message).public_message(), "unknown message");
    }
}
