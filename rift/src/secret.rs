//! [`Secret`]: a string that never shows itself in logs.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A credential (a token, a password hash): `Debug` and `Display` print `<redacted>`, so a struct
/// holding one can derive `Debug` and be logged safely. The value is read with
/// [`Secret::expose`], which makes every use easy to find.
///
/// Serde reads and writes the plain value (tokens must reach their owner and be read from
/// requests); a field that must never be written out is also `#[serde(skip)]`.
///
/// # Examples
/// ```
/// use rift::Secret;
///
/// let token = Secret::new("hunter2");
/// assert_eq!(format!("{token:?} {token}"), "<redacted> <redacted>");
/// assert_eq!(token.expose(), "hunter2");
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The credential itself.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The credential itself, owned.
    pub fn into_inner(self) -> String {
        self.0
    }

    /// Whether the credential is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_printed_but_serialized_plainly() {
        let secret = Secret::new("tok-123");
        assert!(!format!("{secret:?}").contains("tok-123"));
        assert!(!format!("{secret}").contains("tok-123"));
        assert!(!format!("{:#?}", Some(&secret)).contains("tok-123"));
        assert_eq!(serde_json::to_string(&secret).unwrap(), r#""tok-123""#);
        assert_eq!(serde_json::from_str::<Secret>(r#""tok-123""#).unwrap(), secret);
    }
}
