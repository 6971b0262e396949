//! [`Permissions`], the set of permission bits: data that roles, overwrites and members carry.
//! The engine that computes a member's set is `crate::permissions`, above the models.

use std::fmt;
use std::ops::{BitAnd, BitOr, BitOrAssign, Not};

use serde::{Deserialize, Serialize};

/// A set of permission bits, serialised as an integer.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Permissions(u64);

macro_rules! permission_bits {
    ($($(#[$doc:meta])* $name:ident = $bit:expr;)*) => {
        impl Permissions {
            $($(#[$doc])* pub const $name: Self = Self(1 << $bit);)*
            /// Every defined bit.
            pub const ALL: Self = Self(0 $(| (1 << $bit))*);
            const NAMES: &'static [(&'static str, Self)] = &[$((stringify!($name), Self::$name)),*];
        }
    };
}

permission_bits! {
    /// See channels and the live events in them.
    VIEW_CHANNELS = 0;
    /// Send messages.
    SEND_MESSAGES = 1;
    /// Read a channel's earlier messages.
    READ_HISTORY = 2;
    /// Delete other members' messages.
    MANAGE_MESSAGES = 3;
    /// Attach files to messages.
    ATTACH_FILES = 4;
    /// Create, edit and delete channels.
    MANAGE_CHANNELS = 5;
    /// Edit the server and read its audit log.
    MANAGE_SERVER = 6;
    /// Create, edit, assign and delete roles below one's own; edit channel overwrites.
    MANAGE_ROLES = 7;
    /// Kick members below one's own highest role.
    KICK_MEMBERS = 8;
    /// Ban members below one's own highest role.
    BAN_MEMBERS = 9;
    /// Create invites.
    CREATE_INVITES = 10;
    /// List and revoke invites.
    MANAGE_INVITES = 11;
    /// Mention everyone.
    MENTION_EVERYONE = 12;
    /// Every permission, bypassing channel overwrites.
    ADMINISTRATOR = 30;
}

impl Permissions {
    /// No permissions.
    pub const NONE: Self = Self(0);

    /// What `@everyone` starts with in a new server (SPEC §12).
    pub const EVERYONE_DEFAULT: Self = Self(
        Self::VIEW_CHANNELS.0
            | Self::SEND_MESSAGES.0
            | Self::READ_HISTORY.0
            | Self::ATTACH_FILES.0
            | Self::CREATE_INVITES.0,
    );

    /// The set with exactly `bits`, keeping unknown bits (so bridged values survive a round trip).
    pub const fn from_bits(bits: u64) -> Self {
        Self(bits)
    }

    /// The raw bits.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Bits set in `self` but not in `other`.
    pub const fn difference(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    /// Whether no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl BitOr for Permissions {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl BitOrAssign for Permissions {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for Permissions {
    type Output = Self;
    fn bitand(self, rhs: Self) -> Self {
        Self(self.0 & rhs.0)
    }
}

impl Not for Permissions {
    type Output = Self;
    fn not(self) -> Self {
        Self(!self.0)
    }
}

impl fmt::Debug for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> =
            Self::NAMES.iter().filter(|(_, bit)| self.contains(*bit)).map(|(name, _)| *name).collect();
        write!(f, "Permissions({})", names.join(" | "))
    }
}
