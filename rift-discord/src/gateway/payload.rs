//! Gateway frames: opcodes, the `{op, d, s, t}` envelope, the handshake payloads, close codes and
//! the two encodings.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::model::Snowflake;
use crate::{Error, etf};

/// Gateway opcodes (Discord Gateway v10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Opcode {
    /// 0, received: an event.
    Dispatch,
    /// 1, both ways: a heartbeat (the server may ask for one).
    Heartbeat,
    /// 2, sent: start a new session.
    Identify,
    /// 3, sent: update the client's presence.
    PresenceUpdate,
    /// 4, sent: join or leave a voice channel.
    VoiceStateUpdate,
    /// 6, sent: resume a session.
    Resume,
    /// 7, received: reconnect and resume.
    Reconnect,
    /// 8, sent: request guild members.
    RequestGuildMembers,
    /// 9, received: the session is invalid; `d` says whether it may be resumed.
    InvalidSession,
    /// 10, received: the first frame, with the heartbeat interval.
    Hello,
    /// 11, received: a heartbeat was acknowledged.
    HeartbeatAck,
}

impl Opcode {
    /// The opcode for a number, if it is one.
    pub fn from_u8(op: u8) -> Option<Self> {
        Some(match op {
            0 => Self::Dispatch,
            1 => Self::Heartbeat,
            2 => Self::Identify,
            3 => Self::PresenceUpdate,
            4 => Self::VoiceStateUpdate,
            6 => Self::Resume,
            7 => Self::Reconnect,
            8 => Self::RequestGuildMembers,
            9 => Self::InvalidSession,
            10 => Self::Hello,
            11 => Self::HeartbeatAck,
            _ => return None,
        })
    }

    /// The opcode's number.
    pub fn number(self) -> u8 {
        match self {
            Self::Dispatch => 0,
            Self::Heartbeat => 1,
            Self::Identify => 2,
            Self::PresenceUpdate => 3,
            Self::VoiceStateUpdate => 4,
            Self::Resume => 6,
            Self::Reconnect => 7,
            Self::RequestGuildMembers => 8,
            Self::InvalidSession => 9,
            Self::Hello => 10,
            Self::HeartbeatAck => 11,
        }
    }
}

/// The envelope of every gateway frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GatewayPayload {
    /// Opcode number (see [`Opcode`]).
    pub op: u8,
    /// Data.
    #[serde(default)]
    pub d: Value,
    /// Sequence number, dispatches only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s: Option<u64>,
    /// Event name, dispatches only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t: Option<String>,
}

impl GatewayPayload {
    /// A frame with an opcode and data, as a client sends them.
    pub fn new(op: Opcode, d: Value) -> Self {
        Self { op: op.number(), d, s: None, t: None }
    }

    /// A dispatch frame, as a server sends them.
    pub fn dispatch(name: impl Into<String>, seq: u64, d: Value) -> Self {
        Self { op: 0, d, s: Some(seq), t: Some(name.into()) }
    }

    /// The opcode, if known.
    pub fn opcode(&self) -> Option<Opcode> {
        Opcode::from_u8(self.op)
    }

    /// Opcode 8: asks for a guild's members, answered by GUILD_MEMBERS_CHUNK events. An empty
    /// `query` with `limit` 0 asks for all of them (the GUILD_MEMBERS intent is needed).
    pub fn request_guild_members(guild_id: Snowflake, query: &str, limit: u32) -> Self {
        Self::new(Opcode::RequestGuildMembers, json!({"guild_id": guild_id, "query": query, "limit": limit}))
    }

    /// Opcode 3: sets the client's status (`online`, `idle`, `dnd`, `invisible`).
    pub fn presence_update(status: &str, afk: bool) -> Self {
        Self::new(
            Opcode::PresenceUpdate,
            json!({"since": null, "activities": [], "status": status, "afk": afk}),
        )
    }

    /// A heartbeat carrying the last sequence number received.
    pub fn heartbeat(seq: Option<u64>) -> Self {
        Self::new(Opcode::Heartbeat, seq.map_or(Value::Null, Value::from))
    }
}

/// Connection properties sent in [`Identify`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IdentifyProperties {
    /// Operating system.
    pub os: String,
    /// Library (bots) or browser (user accounts) name.
    pub browser: String,
    /// Library or device name.
    pub device: String,
}

impl IdentifyProperties {
    /// Properties from their parts.
    pub fn new(os: impl Into<String>, browser: impl Into<String>, device: impl Into<String>) -> Self {
        Self { os: os.into(), browser: browser.into(), device: device.into() }
    }
}

impl Default for IdentifyProperties {
    /// This platform's OS, and `rift` as library and device.
    fn default() -> Self {
        Self::new(std::env::consts::OS, "rift", "rift")
    }
}

/// Opcode 2 data: start a new session. Its `Debug` leaves the token out.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Identify {
    /// The token, without a `Bot ` prefix.
    pub token: String,
    /// Connection properties.
    pub properties: IdentifyProperties,
    /// Gateway intents; bots must send them, user accounts do not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intents: Option<u64>,
    /// Per-payload compression; always `false`, as this client uses zlib-stream instead.
    #[serde(default)]
    pub compress: bool,
    /// Member count above which offline members are not sent (50-250).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub large_threshold: Option<u8>,
    /// `[shard_id, shard_count]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<[u32; 2]>,
}

impl Identify {
    /// An identify for a token with the given properties.
    pub fn new(token: impl Into<String>, properties: IdentifyProperties) -> Self {
        Self {
            token: token.into(),
            properties,
            intents: None,
            compress: false,
            large_threshold: None,
            shard: None,
        }
    }
}

/// Opcode 6 data: resume a session. Its `Debug` leaves the token out.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Resume {
    /// The token.
    pub token: String,
    /// Session id from READY.
    pub session_id: String,
    /// Last sequence number received (`null` if none).
    pub seq: Option<u64>,
}

impl std::fmt::Debug for Identify {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identify")
            .field("token", &"<redacted>")
            .field("properties", &self.properties)
            .field("intents", &self.intents)
            .field("compress", &self.compress)
            .field("large_threshold", &self.large_threshold)
            .field("shard", &self.shard)
            .finish()
    }
}

impl std::fmt::Debug for Resume {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resume")
            .field("token", &"<redacted>")
            .field("session_id", &self.session_id)
            .field("seq", &self.seq)
            .finish()
    }
}

impl Resume {
    /// A resume from its parts.
    pub fn new(token: impl Into<String>, session_id: impl Into<String>, seq: Option<u64>) -> Self {
        Self { token: token.into(), session_id: session_id.into(), seq }
    }
}

/// Opcode 10 data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Hello {
    /// Milliseconds between heartbeats.
    pub heartbeat_interval: u64,
}

impl Hello {
    /// A hello with the interval in milliseconds.
    pub fn new(heartbeat_interval: u64) -> Self {
        Self { heartbeat_interval }
    }
}

/// Close codes after which reconnecting cannot help: the error is in the configuration.
pub const FATAL_CLOSE_CODES: [u16; 6] = [4004, 4010, 4011, 4012, 4013, 4014];

/// Whether a close code forbids reconnecting.
pub fn is_fatal_close(code: u16) -> bool {
    FATAL_CLOSE_CODES.contains(&code)
}

/// Close codes after which the session cannot be resumed (a new one must be identified).
pub(crate) fn invalidates_session(code: u16) -> bool {
    matches!(code, 4007 | 4009)
}

/// What a gateway close code means.
pub fn describe_close(code: u16) -> &'static str {
    match code {
        1000 => "normal closure",
        1001 => "going away",
        4000 => "unknown error",
        4001 => "unknown opcode",
        4002 => "decode error",
        4003 => "not authenticated",
        4004 => "authentication failed: the token is invalid",
        4005 => "already authenticated",
        4007 => "invalid resume sequence",
        4008 => "rate limited",
        4009 => "session timed out",
        4010 => "invalid shard",
        4011 => "sharding required",
        4012 => "invalid api version",
        4013 => "invalid intents",
        4014 => "disallowed intents: enable the privileged intents for this application",
        _ => "unknown close code",
    }
}

/// The payload encoding of a connection (`encoding=` in the gateway URL).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Encoding {
    /// JSON text.
    #[default]
    Json,
    /// Erlang External Term Format (see [`crate::etf`]).
    Etf,
}

impl Encoding {
    /// The value of the `encoding` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Etf => "etf",
        }
    }

    /// Encodes a frame.
    ///
    /// # Errors
    ///
    /// [`Error::Json`] or [`Error::EtfEncode`] when the payload cannot be encoded.
    pub fn encode(self, payload: &GatewayPayload) -> Result<Vec<u8>, Error> {
        match self {
            Self::Json => Ok(serde_json::to_vec(payload)?),
            Self::Etf => etf::to_vec(payload),
        }
    }

    /// Decodes a frame (already inflated).
    ///
    /// # Errors
    ///
    /// [`Error::Json`] or [`Error::EtfDecode`] for bytes that are not a gateway frame.
    pub fn decode(self, bytes: &[u8]) -> Result<GatewayPayload, Error> {
        match self {
            Self::Json => Ok(serde_json::from_slice(bytes)?),
            Self::Etf => etf::from_slice(bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identify_and_resume_do_not_print_their_token() {
        let identify = Identify::new("tok-Secret.123", IdentifyProperties::default());
        let resume = Resume::new("tok-Secret.123", "session", Some(3));
        let printed = format!("{identify:?} {resume:#?}");
        assert!(!printed.contains("tok-Secret.123"), "{printed}");
    }

    #[test]
    fn opcodes_map_both_ways() {
        for op in 0..=20u8 {
            if let Some(opcode) = Opcode::from_u8(op) {
                assert_eq!(opcode.number(), op);
            }
        }
        assert_eq!(Opcode::from_u8(5), None);
        assert_eq!(Opcode::from_u8(11), Some(Opcode::HeartbeatAck));
    }

    #[test]
    fn frames_round_trip_in_both_encodings() {
        let identify = {
            let mut identify = Identify::new("tok", IdentifyProperties::new("linux", "rift", "rift"));
            identify.intents = Some(33_281);
            identify.shard = Some([0, 1]);
            serde_json::to_value(identify).unwrap()
        };
        let frames = [
            GatewayPayload::new(Opcode::Identify, identify),
            GatewayPayload::new(
                Opcode::Resume,
                serde_json::to_value(Resume::new("tok", "sess", Some(9))).unwrap(),
            ),
            GatewayPayload::new(Opcode::Hello, serde_json::to_value(Hello::new(41_250)).unwrap()),
            GatewayPayload::heartbeat(None),
            GatewayPayload::heartbeat(Some(u64::MAX)),
            GatewayPayload::dispatch("MESSAGE_CREATE", 3, json!({"id": 1_100_000_000_000_000_001u64})),
        ];
        for encoding in [Encoding::Json, Encoding::Etf] {
            for frame in &frames {
                let bytes = encoding.encode(frame).unwrap();
                assert_eq!(&encoding.decode(&bytes).unwrap(), frame, "{encoding:?}");
            }
        }
    }

    #[test]
    fn command_frames_have_the_documented_shape() {
        let request = GatewayPayload::request_guild_members(Snowflake::new(5), "", 0);
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            json!({"op": 8, "d": {"guild_id": "5", "query": "", "limit": 0}})
        );
        let presence = GatewayPayload::presence_update("idle", true);
        assert_eq!(presence.op, 3);
        assert_eq!(presence.d["status"], "idle");
    }

    #[test]
    fn client_frames_have_the_documented_shape() {
        let identify = Identify::new("tok", IdentifyProperties::new("linux", "rift", "rift"));
        assert_eq!(
            serde_json::to_value(GatewayPayload::new(
                Opcode::Identify,
                serde_json::to_value(identify).unwrap()
            ))
            .unwrap(),
            json!({"op": 2, "d": {"token": "tok", "compress": false,
                                  "properties": {"os": "linux", "browser": "rift", "device": "rift"}}})
        );
        assert_eq!(serde_json::to_string(&GatewayPayload::heartbeat(Some(5))).unwrap(), r#"{"op":1,"d":5}"#);
        let resume: Resume =
            serde_json::from_value(json!({"token": "t", "session_id": "s", "seq": null})).unwrap();
        assert_eq!(resume, Resume::new("t", "s", None));
    }

    #[test]
    fn fatal_codes_are_the_documented_ones() {
        for code in 4000..4020 {
            assert_eq!(is_fatal_close(code), matches!(code, 4004 | 4010..=4014), "{code}");
        }
        assert!(describe_close(4014).contains("intents"));
        assert!(invalidates_session(4009) && invalidates_session(4007) && !invalidates_session(4000));
    }

    #[test]
    fn undecodable_frames_are_errors() {
        assert!(matches!(Encoding::Json.decode(b"{"), Err(Error::Json(_))));
        assert!(matches!(Encoding::Etf.decode(&[131, 255]), Err(Error::EtfDecode { .. })));
        assert!(matches!(Encoding::Etf.decode(&[131, 97, 1]), Err(Error::Json(_))));
    }
}
