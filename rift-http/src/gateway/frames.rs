//! Gateway frames: what clients send (`{"type": ..., ...}`) and what the server answers
//! (`{"type": ..., "data": ..., "seq"?}`), with the close codes of SPEC §11.

use rift::SendMessage;
use rift::model::Status;
use rift::{ChannelId, Secret, ServerId, SessionId};
use serde::Deserialize;
use serde_json::{Value, json};

/// Close codes (Discord's gateway numbering).
pub(crate) mod close {
    /// Normal closure by the client: the session ends.
    pub(crate) const NORMAL: u16 = 1000;
    /// A frame larger than 64 KiB.
    pub(crate) const TOO_BIG: u16 = 1009;
    /// The server is restarting (RFC 6455's Service Restart): reconnect and Resume; the session
    /// is saved and resumable after the restart, within the resume window.
    pub(crate) const SERVICE_RESTART: u16 = 1012;
    /// Unknown error (also: this session was resumed elsewhere, or fell too far behind).
    pub(crate) const UNKNOWN: u16 = 4000;
    /// A frame of an unknown type.
    pub(crate) const UNKNOWN_TYPE: u16 = 4001;
    /// Binary frame, invalid JSON, or not an object with a string `type`.
    pub(crate) const DECODE: u16 = 4002;
    /// Anything but Identify or Resume first.
    pub(crate) const NOT_AUTHENTICATED: u16 = 4003;
    /// Bad token.
    pub(crate) const AUTHENTICATION_FAILED: u16 = 4004;
    /// A second Identify.
    pub(crate) const ALREADY_AUTHENTICATED: u16 = 4005;
    /// Too many frames.
    pub(crate) const RATE_LIMITED: u16 = 4008;
    /// Silent for two heartbeat intervals.
    pub(crate) const SESSION_TIMED_OUT: u16 = 4009;
}

/// A client frame, after the `type` has been recognised.
#[derive(Debug)]
pub(crate) enum ClientFrame {
    Identify { token: Secret },
    Resume { token: Secret, session_id: SessionId, seq: u64 },
    Heartbeat,
    SendMessage { channel_id: ChannelId, message: SendMessage },
    StartTyping { channel_id: ChannelId },
    UpdatePresence { status: Status },
    SubscribeChannel { channel_id: ChannelId },
    SubscribeServer { server_id: ServerId },
}

/// Why a text frame could not be used.
#[derive(Debug)]
pub(crate) enum FrameError {
    /// Not a JSON object with a string `type`: close 4002.
    Decode,
    /// A `type` we do not know: close 4001.
    UnknownType,
    /// A known type with missing or ill-typed fields: an `invalid_frame` Error, connection stays.
    Invalid { message: String, nonce: Option<Value> },
}

#[derive(Deserialize)]
struct IdentifyFields {
    token: Secret,
}

#[derive(Deserialize)]
struct ResumeFields {
    token: Secret,
    session_id: SessionId,
    seq: u64,
}

#[derive(Deserialize)]
struct SendFields {
    channel_id: ChannelId,
    #[serde(flatten)]
    message: SendMessage,
}

#[derive(Deserialize)]
struct ChannelFields {
    channel_id: ChannelId,
}

#[derive(Deserialize)]
struct ServerFields {
    server_id: ServerId,
}

#[derive(Deserialize)]
struct PresenceFields {
    status: Status,
}

fn fields<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, FrameError> {
    let nonce = value.get("nonce").cloned();
    serde_json::from_value(value).map_err(|e| FrameError::Invalid { message: e.to_string(), nonce })
}

/// Parses a text frame.
pub(crate) fn parse(text: &str) -> Result<ClientFrame, FrameError> {
    let value: Value = serde_json::from_str(text).map_err(|_| FrameError::Decode)?;
    let kind = match value.get("type") {
        Some(Value::String(kind)) if value.is_object() => kind.clone(),
        _ => return Err(FrameError::Decode),
    };
    Ok(match kind.as_str() {
        "Identify" => {
            let f: IdentifyFields = fields(value)?;
            ClientFrame::Identify { token: f.token }
        }
        "Resume" => {
            let f: ResumeFields = fields(value)?;
            ClientFrame::Resume { token: f.token, session_id: f.session_id, seq: f.seq }
        }
        "Heartbeat" => ClientFrame::Heartbeat,
        "SendMessage" => {
            let f: SendFields = fields(value)?;
            ClientFrame::SendMessage { channel_id: f.channel_id, message: f.message }
        }
        "StartTyping" => ClientFrame::StartTyping { channel_id: fields::<ChannelFields>(value)?.channel_id },
        "UpdatePresence" => ClientFrame::UpdatePresence { status: fields::<PresenceFields>(value)?.status },
        "SubscribeChannel" => {
            ClientFrame::SubscribeChannel { channel_id: fields::<ChannelFields>(value)?.channel_id }
        }
        "SubscribeServer" => {
            ClientFrame::SubscribeServer { server_id: fields::<ServerFields>(value)?.server_id }
        }
        _ => return Err(FrameError::UnknownType),
    })
}

/// A server frame without a sequence number.
pub(crate) fn frame(kind: &str, data: Value) -> String {
    json!({ "type": kind, "data": data }).to_string()
}

/// An `Error` frame, echoing the nonce of the frame that failed.
pub(crate) fn error_frame(code: &str, message: &str, nonce: Option<Value>) -> String {
    let mut data = json!({ "code": code, "message": message });
    if let Some(nonce) = nonce.filter(|n| !n.is_null()) {
        data["nonce"] = nonce;
    }
    frame("Error", data)
}

/// A dispatched event with its sequence number, `{"seq", "type", "data"}`: the number is spliced
/// in front of the event's wire form (`{"type", "data"}`, serialised once per event and shared by
/// every session), so the payload is copied, never serialised again. `None` if `event_json` is not
/// a JSON object.
pub(crate) fn sequenced(event_json: &str, seq: u64) -> Option<String> {
    let fields = event_json.strip_prefix('{')?;
    let seq = seq.to_string();
    let mut frame = String::with_capacity(event_json.len() + seq.len() + 8);
    frame.push_str("{\"seq\":");
    frame.push_str(&seq);
    if !fields.trim_start().starts_with('}') {
        frame.push(',');
    }
    frame.push_str(fields);
    Some(frame)
}

/// The event of a frame [`sequenced`] numbered `seq` (a restarted server reads its saved
/// sessions' frames back this way); `None` if `frame` is not one.
pub(crate) fn unsequenced(frame: &str, seq: u64) -> Option<String> {
    let rest = frame.strip_prefix("{\"seq\":")?.strip_prefix(seq.to_string().as_str())?;
    let fields = rest.strip_prefix(',').unwrap_or(rest);
    fields.trim_start().starts_with(['"', '}']).then(|| format!("{{{fields}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_numbered_frame_gives_back_its_event() {
        for event in [r#"{"type":"Ready","data":{"a":[1,2]}}"#, "{}", r#"{ "type":"X"}"#] {
            let frame = sequenced(event, 17).unwrap();
            let back = unsequenced(&frame, 17).unwrap();
            let (a, b): (Value, Value) =
                (serde_json::from_str(event).unwrap(), serde_json::from_str(&back).unwrap());
            assert_eq!(a, b, "{frame}");
            assert_eq!(unsequenced(&frame, 1), None, "another number");
            assert_eq!(unsequenced(&frame, 170), None, "a longer number");
        }
        assert_eq!(unsequenced(r#"{"type":"X"}"#, 1), None);
    }

    #[test]
    fn a_sequenced_frame_is_the_event_with_its_number() {
        let channel_id = ChannelId::new();
        let event =
            rift::event::Event::MessageDelete { id: rift::MessageId::new(), channel_id, content: None };
        let wire = serde_json::to_string(&event).unwrap();
        let frame: Value = serde_json::from_str(&sequenced(&wire, 42).unwrap()).unwrap();
        let mut expected = serde_json::to_value(&event).unwrap();
        expected["seq"] = json!(42);
        assert_eq!(frame, expected);
        assert_eq!(serde_json::from_str::<Value>(&sequenced("{}", 1).unwrap()).unwrap(), json!({"seq": 1}));
        assert_eq!(sequenced("[1]", 1), None);
    }

    #[test]
    fn recognises_every_client_frame() {
        let channel = ChannelId::new();
        let cases = [
            json!({ "type": "Identify", "token": "t" }),
            json!({ "type": "Resume", "token": "t", "session_id": SessionId::new(), "seq": 3 }),
            json!({ "type": "Heartbeat", "seq": null }),
            json!({ "type": "SendMessage", "channel_id": channel, "content": "hi", "nonce": 5 }),
            json!({ "type": "StartTyping", "channel_id": channel }),
            json!({ "type": "UpdatePresence", "status": "idle" }),
            json!({ "type": "SubscribeChannel", "channel_id": channel }),
            json!({ "type": "SubscribeServer", "server_id": ServerId::new() }),
        ];
        for case in cases {
            assert!(parse(&case.to_string()).is_ok(), "{case}");
        }
        match parse(
            &json!({ "type": "SendMessage", "channel_id": channel, "content": "hi", "nonce": 5 }).to_string(),
        ) {
            Ok(ClientFrame::SendMessage { message, .. }) => assert_eq!(message.nonce.as_deref(), Some("5")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sorts_bad_frames_by_their_answer() {
        for decode in ["", "nope", "[]", "42", r#"{"type": 5}"#, r#"{"no_type": 1}"#] {
            assert!(matches!(parse(decode), Err(FrameError::Decode)), "{decode}");
        }
        assert!(matches!(parse(r#"{"type": "Dance"}"#), Err(FrameError::UnknownType)));
        match parse(r#"{"type": "SendMessage", "content": "x", "nonce": "n1"}"#) {
            Err(FrameError::Invalid { nonce, .. }) => assert_eq!(nonce, Some(json!("n1"))),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(r#"{"type": "UpdatePresence", "status": "asleep"}"#),
            Err(FrameError::Invalid { .. })
        ));
    }

    #[test]
    fn error_frames_carry_the_nonce_only_when_given() {
        let with: Value = serde_json::from_str(&error_frame("x", "y", Some(json!("n")))).unwrap();
        assert_eq!(with["data"]["nonce"], "n");
        let without: Value = serde_json::from_str(&error_frame("x", "y", None)).unwrap();
        assert!(without["data"].get("nonce").is_none());
        assert!(without.get("seq").is_none());
    }
}

/// Property tests: `PROPTEST_CASES=100000 cargo test -p rift-http --lib frames::fuzz` for a long run.
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::*;

    const TYPES: [&str; 9] = [
        "Identify",
        "Resume",
        "Heartbeat",
        "SendMessage",
        "StartTyping",
        "UpdatePresence",
        "SubscribeChannel",
        "SubscribeServer",
        "Dance",
    ];

    /// Any JSON value, a few levels deep.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            // Quarters are exact in binary, so the printed JSON reads back the same number.
            any::<i32>().prop_map(|i| Value::from(f64::from(i) / 4.0)),
            any::<String>().prop_map(Value::String),
            Just(json!(ChannelId::new())),
            Just(json!("idle")),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..6)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    /// Objects with a known (or unknown) `type` and a mix of the fields frames use.
    fn frame_like() -> impl Strategy<Value = Value> {
        let field = prop_oneof![
            Just("token"),
            Just("session_id"),
            Just("seq"),
            Just("channel_id"),
            Just("server_id"),
            Just("content"),
            Just("nonce"),
            Just("status"),
            Just("attachments"),
        ];
        (prop::sample::select(&TYPES[..]), prop::collection::vec((field, any_json()), 0..6)).prop_map(
            |(kind, fields)| {
                let mut object = serde_json::Map::new();
                object.insert("type".into(), json!(kind));
                for (name, value) in fields {
                    object.insert(name.into(), value);
                }
                Value::Object(object)
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Arbitrary text never panics and is sorted into exactly one answer.
        #[test]
        fn arbitrary_text_is_parsed_or_refused(text in any::<String>()) {
            let _ = parse(&text);
        }

        /// Frame-shaped objects: an unknown type is 4001; a known one parses or is `Invalid`
        /// (the connection stays), never `Decode`; the nonce of an invalid frame is the one sent.
        #[test]
        fn frame_shaped_objects_get_the_right_answer(value in frame_like()) {
            let known = value["type"] != "Dance";
            match parse(&value.to_string()) {
                Ok(_) => prop_assert!(known),
                Err(FrameError::UnknownType) => prop_assert!(!known),
                Err(FrameError::Invalid { nonce, .. }) => {
                    prop_assert!(known);
                    prop_assert_eq!(nonce.as_ref(), value.get("nonce"));
                }
                Err(FrameError::Decode) => prop_assert!(false, "a JSON object with a string type is not a decode error"),
            }
        }

        /// Any JSON that is not an object with a string `type` is a decode error (4002).
        #[test]
        fn values_without_a_string_type_are_decode_errors(value in any_json()) {
            let typed = value.get("type").is_some_and(Value::is_string);
            let answer = parse(&value.to_string());
            if !typed {
                prop_assert!(matches!(answer, Err(FrameError::Decode)), "{:?}", answer);
            }
        }
    }
}
