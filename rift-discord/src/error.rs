//! The crate's one error type.

/// Everything that can go wrong in `rift-discord`.
///
/// Messages are lower case without a trailing period; match on the variant, not the text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bytes that are not a valid External Term Format term of the supported subset.
    #[error("invalid etf at byte {offset}: {reason}")]
    EtfDecode {
        /// Offset in the input where decoding failed.
        offset: usize,
        /// What was wrong.
        reason: String,
    },
    /// A value that cannot be written as an External Term Format term.
    #[error("cannot encode etf: {0}")]
    EtfEncode(String),
    /// The zlib-stream transport received data that does not inflate.
    #[error("zlib-stream inflate failed: {0}")]
    Inflate(String),
    /// A payload (compressed or inflated) is larger than the configured limit.
    #[error("payload of {size} bytes exceeds the limit of {limit} bytes")]
    PayloadTooLarge {
        /// Size reached when the limit was hit.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A JSON payload did not parse, or a value did not match the expected type.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// The WebSocket transport failed.
    #[error("websocket: {0}")]
    WebSocket(#[from] Box<tokio_tungstenite::tungstenite::Error>),
    /// The gateway sent a payload that breaks the protocol.
    #[error("gateway protocol: {0}")]
    Protocol(String),
    /// The gateway closed the connection with a code that forbids reconnecting (4004, 4010-4014).
    #[error("gateway closed the session with fatal code {code}: {reason}")]
    FatalClose {
        /// The WebSocket close code.
        code: u16,
        /// What the code means, and the server's reason text if it gave one.
        reason: String,
    },
    /// The REST API refused the token (HTTP 401).
    #[error("unauthorized: {message}")]
    Unauthorized {
        /// Discord's message.
        message: String,
    },
    /// The token lacks access to the resource (HTTP 403).
    #[error("forbidden: {message}")]
    Forbidden {
        /// Discord's message.
        message: String,
    },
    /// The resource does not exist (HTTP 404).
    #[error("not found: {message}")]
    NotFound {
        /// Discord's message.
        message: String,
    },
    /// Any other unsuccessful HTTP status, after retries for 5xx.
    #[error("http {status}: {message}")]
    Http {
        /// The status code.
        status: u16,
        /// Discord's JSON error code, if the body had one.
        code: Option<u64>,
        /// Discord's message, or the body.
        message: String,
    },
    /// Still rate limited after the configured number of 429 retries.
    #[error("rate limited; retry after {retry_after} s")]
    RateLimited {
        /// Seconds the last 429 asked to wait.
        retry_after: f64,
    },
    /// The HTTP request failed (connection, TLS, body), after retries.
    #[error("http request: {0}")]
    Request(#[from] reqwest::Error),
    /// There is no gateway connection to send on.
    #[error("not connected to the gateway")]
    NotConnected,
    /// The shard was closed by its owner and delivers no more events.
    #[error("shard is closed")]
    Closed,
    /// An invalid configuration value.
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl From<tokio_tungstenite::tungstenite::Error> for Error {
    fn from(error: tokio_tungstenite::tungstenite::Error) -> Self {
        Self::WebSocket(Box::new(error))
    }
}
