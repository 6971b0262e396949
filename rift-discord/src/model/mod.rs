//! Discord objects as the gateway delivers them, for both encodings: [`Snowflake`] here, the
//! resources (`resources.rs`: users, guilds, channels, messages, …) and the gateway's event
//! payloads (`payloads.rs`), both re-exported so `model::Message` and the like keep their paths.
//!
//! Fields the bridge does not need are ignored on input. In JSON Discord writes snowflakes as
//! strings, in ETF as integers: [`Snowflake`] reads both. A field that Discord may send as `null`
//! or leave out is an `Option`, or an empty `Vec`.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use serde_json::Value;

mod payloads;
mod resources;

pub use payloads::*;
pub use resources::*;

/// A Discord id: 64 bits, the top 42 of which are milliseconds since the Discord epoch (2015).
///
/// Serialized as a decimal string, as Discord's JSON does; deserialized from a string or an integer.
///
/// # Examples
///
/// ```
/// use rift_discord::model::Snowflake;
///
/// let id: Snowflake = "175928847299117063".parse().unwrap();
/// assert_eq!(id.timestamp_ms(), 1_462_015_105_796);
/// assert_eq!(serde_json::to_string(&id).unwrap(), r#""175928847299117063""#);
/// assert_eq!(serde_json::from_str::<Snowflake>("175928847299117063").unwrap(), id);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Snowflake(u64);

impl Snowflake {
    /// Milliseconds between the Unix epoch and the Discord epoch (2015-01-01T00:00:00Z).
    pub const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

    /// Wraps a raw id.
    pub const fn new(id: u64) -> Self {
        Self(id)
    }

    /// The raw id.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// When the id was made, in milliseconds since the Unix epoch.
    pub const fn timestamp_ms(self) -> u64 {
        (self.0 >> 22) + Self::DISCORD_EPOCH_MS
    }
}

impl fmt::Display for Snowflake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for Snowflake {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(Self)
    }
}

impl Serialize for Snowflake {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Snowflake {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = Snowflake;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a snowflake as a string or an integer")
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Snowflake, E> {
                Ok(Snowflake(v))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Snowflake, E> {
                u64::try_from(v).map(Snowflake).map_err(|_| E::custom("negative snowflake"))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Snowflake, E> {
                v.parse().map_err(|_| E::custom(format!("invalid snowflake {v:?}")))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// `null` or absent reads as an empty list.
fn nullable<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// A string that one encoding may send as a number (permission sets, nonces).
fn lenient_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(other) => return Err(de::Error::custom(format!("expected a string or a number, got {other}"))),
    })
}
