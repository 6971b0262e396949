//! Typed identifiers: one UUIDv7 newtype per entity.
//!
//! Ids made by the `new()` constructors (e.g. [`UserId::new`]) are strictly increasing within a
//! process, so id order is creation order and message cursors can be ids. Ids of imported objects
//! are made with `at(timestamp)` so that history sorts by when it was written, not when it was
//! imported.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

/// A UTC timestamp, as used throughout Rift.
pub type Timestamp = DateTime<Utc>;

/// The last id handed out by this process, so the next one can be made strictly greater.
static LAST_ID: Mutex<u128> = Mutex::new(0);

const RAND_B_MASK: u128 = (1 << 62) - 1;

/// Makes a UUIDv7 for `millis` whose random bits come from the thread RNG.
fn v7_at(millis: u64) -> Uuid {
    let random: [u8; 10] = rand::random();
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}

/// The next UUIDv7 after `last` in the same millisecond: the 74 random bits count up,
/// carrying into the timestamp only after 2^74 ids in one millisecond.
fn increment_v7(last: u128) -> u128 {
    let rand_b = last & RAND_B_MASK;
    let rand_a = (last >> 64) & 0xfff;
    let millis = last >> 80;
    let (rand_b, carry) = if rand_b == RAND_B_MASK { (0, 1) } else { (rand_b + 1, 0) };
    let (rand_a, carry) = match (carry, rand_a) {
        (0, a) => (a, 0),
        (_, 0xfff) => (0, 1),
        (_, a) => (a + 1, 0),
    };
    ((millis + carry) << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
}

/// A new UUIDv7, strictly greater than every one this process made before.
pub(crate) fn new_uuid() -> Uuid {
    let millis = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0);
    let candidate = v7_at(millis).as_u128();
    // A poisoned lock only means another thread panicked between two plain integer writes.
    let mut last = LAST_ID.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let next = if candidate > *last { candidate } else { increment_v7(*last) };
    *last = next;
    Uuid::from_u128(next)
}

/// A UUIDv7 carrying `at`'s millisecond, for objects created elsewhere (bridges, imports).
pub(crate) fn uuid_at(at: Timestamp) -> Uuid {
    v7_at(u64::try_from(at.timestamp_millis()).unwrap_or(0))
}

/// The creation time a UUIDv7 carries; `None` for other versions.
pub(crate) fn uuid_time(id: Uuid) -> Option<Timestamp> {
    if id.get_version_num() != 7 {
        return None;
    }
    let millis = i64::try_from(id.as_u128() >> 80).ok()?;
    Utc.timestamp_millis_opt(millis).single()
}

/// Error returned when a string is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid id")]
pub struct ParseIdError;

macro_rules! define_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new id, strictly greater than every id this process made before.
            #[allow(clippy::new_without_default)]
            pub fn new() -> Self {
                Self(new_uuid())
            }

            /// An id carrying `at` as its creation time (for imported or bridged objects).
            pub fn at(at: Timestamp) -> Self {
                Self(uuid_at(at))
            }

            /// Wraps an existing UUID.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The underlying UUID.
            pub const fn uuid(self) -> Uuid {
                self.0
            }

            /// The creation time carried by the id (UUIDv7), if any.
            pub fn created_at(self) -> Option<Timestamp> {
                uuid_time(self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::try_parse(s).map(Self).map_err(|_| ParseIdError)
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }
    };
}

define_id!(
    /// Identifies a user (native or a bridge puppet).
    UserId
);
define_id!(
    /// Identifies a server (a Discord guild).
    ServerId
);
define_id!(
    /// Identifies a channel: a server channel or a DM channel.
    ChannelId
);
define_id!(
    /// Identifies a message.
    MessageId
);
define_id!(
    /// Identifies a role. A server's `@everyone` role has the server's id.
    RoleId
);
define_id!(
    /// Identifies an uploaded file (an attachment or an avatar).
    UploadId
);
define_id!(
    /// Identifies a server audit-log entry.
    AuditEntryId
);
define_id!(
    /// Identifies an entry of a message's edit/delete history.
    HistoryEntryId
);
define_id!(
    /// Identifies a family of rotated refresh tokens.
    TokenFamilyId
);
define_id!(
    /// Identifies an import job.
    ImportJobId
);
define_id!(
    /// Identifies a bridge connection.
    BridgeConnectionId
);
define_id!(
    /// Identifies a request to read a bridge connection's history again.
    BackfillRequestId
);
define_id!(
    /// Identifies a gateway session.
    SessionId
);

impl RoleId {
    /// The id of a server's `@everyone` role, which is the server's own id (as in Discord).
    pub const fn everyone(server: ServerId) -> Self {
        Self(server.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_strictly_increase_within_a_process() {
        let mut last = UserId::new();
        for _ in 0..100_000 {
            let next = UserId::new();
            assert!(next > last, "{next} <= {last}");
            assert_eq!(next.uuid().get_version_num(), 7);
            last = next;
        }
    }

    #[test]
    fn increment_keeps_version_and_variant() {
        let max_random = (5u128 << 80) | (0x7 << 76) | (0xfff << 64) | (0b10 << 62) | RAND_B_MASK;
        let next = Uuid::from_u128(increment_v7(max_random));
        assert_eq!(next.get_version_num(), 7);
        assert_eq!(next.get_variant(), uuid::Variant::RFC4122);
        assert_eq!(next.as_u128() >> 80, 6);
        assert!(next.as_u128() > max_random);
    }

    #[test]
    fn id_at_carries_its_millisecond() {
        let at = Utc.timestamp_millis_opt(1_420_070_400_123).unwrap();
        assert_eq!(MessageId::at(at).created_at(), Some(at));
    }

    #[test]
    fn ids_round_trip_as_strings() {
        let id = ChannelId::new();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<ChannelId>(&json).unwrap(), id);
        assert_eq!(id.to_string().parse::<ChannelId>(), Ok(id));
        assert_eq!("not-an-id".parse::<ChannelId>(), Err(ParseIdError));
    }

    #[test]
    fn everyone_role_shares_the_server_id() {
        let server = ServerId::new();
        assert_eq!(RoleId::everyone(server).uuid(), server.uuid());
    }
}
