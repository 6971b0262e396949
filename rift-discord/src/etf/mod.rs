//! External Term Format (ETF), the binary encoding Discord's gateway speaks with `encoding=etf`.
//!
//! Only the subset Discord uses is supported, mapped onto [`serde_json::Value`] so the same serde
//! types serve both encodings:
//!
//! | ETF term | JSON value |
//! | --- | --- |
//! | `SMALL_INTEGER_EXT`, `INTEGER_EXT`, `SMALL_BIG_EXT`, `LARGE_BIG_EXT` | number (big integers must fit `i64` or `u64`) |
//! | `NEW_FLOAT_EXT`, `FLOAT_EXT` | number |
//! | atoms `nil`, `true`, `false` | `null`, `true`, `false` |
//! | other atoms (`ATOM_EXT`, `SMALL_ATOM_EXT`, `ATOM_UTF8_EXT`, `SMALL_ATOM_UTF8_EXT`) | string |
//! | `BINARY_EXT` (UTF-8) | string |
//! | `LIST_EXT`, `NIL_EXT`, `SMALL_TUPLE_EXT`, `LARGE_TUPLE_EXT` | array |
//! | `STRING_EXT` (Erlang's packed list of bytes) | array of numbers |
//! | `MAP_EXT` (binary, atom or integer keys) | object |
//!
//! The encoder writes what Discord expects: strings as binaries, objects as maps with binary keys,
//! integers as `SMALL_INTEGER_EXT`, `INTEGER_EXT` or `SMALL_BIG_EXT`, `null`/booleans as
//! `SMALL_ATOM_UTF8_EXT`, floats as `NEW_FLOAT_EXT`.
//!
//! The decoder is safe on hostile input: it never panics, nesting deeper than [`MAX_DEPTH`] is an
//! error, and a length that claims more than the remaining input is an error before anything is
//! allocated for it.
//!
//! # Examples
//!
//! ```
//! use serde_json::json;
//!
//! let value = json!({"op": 1, "d": 251});
//! let bytes = rift_discord::etf::encode(&value)?;
//! assert_eq!(bytes[0], 131);
//! assert_eq!(rift_discord::etf::decode(&bytes)?, value);
//! # Ok::<(), rift_discord::Error>(())
//! ```

mod decode;
mod encode;

pub use decode::decode;
pub use encode::encode;

use serde::{Serialize, de::DeserializeOwned};

use crate::Error;

/// How deeply lists, tuples and maps may nest before decoding or encoding fails.
pub const MAX_DEPTH: usize = 128;

pub(crate) const VERSION: u8 = 131;
pub(crate) const NEW_FLOAT_EXT: u8 = 70;
pub(crate) const SMALL_INTEGER_EXT: u8 = 97;
pub(crate) const INTEGER_EXT: u8 = 98;
pub(crate) const FLOAT_EXT: u8 = 99;
pub(crate) const ATOM_EXT: u8 = 100;
pub(crate) const SMALL_TUPLE_EXT: u8 = 104;
pub(crate) const LARGE_TUPLE_EXT: u8 = 105;
pub(crate) const NIL_EXT: u8 = 106;
pub(crate) const STRING_EXT: u8 = 107;
pub(crate) const LIST_EXT: u8 = 108;
pub(crate) const BINARY_EXT: u8 = 109;
pub(crate) const SMALL_BIG_EXT: u8 = 110;
pub(crate) const LARGE_BIG_EXT: u8 = 111;
pub(crate) const SMALL_ATOM_EXT: u8 = 115;
pub(crate) const MAP_EXT: u8 = 116;
pub(crate) const ATOM_UTF8_EXT: u8 = 118;
pub(crate) const SMALL_ATOM_UTF8_EXT: u8 = 119;

/// Decodes ETF bytes into any deserializable type, through [`decode`].
///
/// # Errors
///
/// [`Error::EtfDecode`] for malformed input, [`Error::Json`] when the term does not match `T`.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    Ok(serde_json::from_value(decode(bytes)?)?)
}

/// Encodes any serializable value as ETF, through [`encode`].
///
/// # Errors
///
/// [`Error::Json`] when `value` cannot be represented as JSON, [`Error::EtfEncode`] when it nests
/// deeper than [`MAX_DEPTH`].
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    encode(&serde_json::to_value(value)?)
}
