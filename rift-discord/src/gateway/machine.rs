//! The shard's protocol logic as a pure state machine: [`Machine::process`] takes one input (a
//! frame, a timer, a connection change) and returns the actions to take. No IO, no clock, no
//! global randomness: the caller passes `now`, and jitter comes from a seeded generator, so every
//! path is tested without sockets or sleeps.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::config::{Config, TokenKind};
use super::event::Dispatch;
use super::payload::{
    GatewayPayload, Hello, Identify, Opcode, Resume, describe_close, invalidates_session, is_fatal_close,
};

/// Close code this client uses when it drops a connection it wants to resume: any code but
/// 1000 and 1001, which would end the session.
pub(crate) const RESUME_CLOSE_CODE: u16 = 4000;

/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Where a shard is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShardState {
    /// No connection; the next attempt is the `attempts + 1`th since the session was last
    /// established.
    Disconnected {
        /// Failed attempts since the last READY or RESUMED.
        attempts: u32,
    },
    /// Connected, waiting for Hello.
    AwaitingHello,
    /// Identify sent (or waiting for the identify rate limit), waiting for READY.
    Identifying,
    /// Resume sent, waiting for the replay and RESUMED.
    Resuming,
    /// The session is up.
    Active,
    /// The gateway closed with a fatal code; the shard will not reconnect.
    FatallyClosed {
        /// The close code.
        code: u16,
    },
}

/// What a shard reports besides dispatches.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ShardEvent {
    /// A dispatch, in sequence order, each delivered once.
    Dispatch(Dispatch),
    /// The connection ended; a new one will be made after `delay`.
    Reconnecting {
        /// Whether the new connection will resume the session (rather than identify anew).
        resume: bool,
        /// Reconnection attempts since the session was last established.
        attempt: u32,
        /// Wait before connecting.
        delay: Duration,
        /// Why the connection ended.
        reason: String,
    },
    /// The gateway invalidated the session (opcode 9).
    InvalidSession {
        /// Whether the session is resumed; if not, a new one is identified after 1-5 s.
        resumable: bool,
    },
}

/// An input to the machine.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Input {
    /// The WebSocket connection is open.
    Connected,
    /// Opening the connection failed.
    ConnectFailed(String),
    /// A frame arrived.
    Payload(GatewayPayload),
    /// The connection ended, by a close frame (with its code) or by an error or EOF.
    Closed { code: Option<u16>, reason: String },
    /// The heartbeat timer fired.
    HeartbeatDue,
    /// The identify timer fired.
    IdentifyDue,
}

/// An action for the IO layer, in order.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Action {
    /// Open a connection to this base URL after the delay (the socket is already gone).
    Connect { url: String, delay: Duration },
    /// Send a frame.
    Send(GatewayPayload),
    /// (Re)arm the heartbeat timer.
    ScheduleHeartbeat(Duration),
    /// Arm the identify timer.
    ScheduleIdentify(Duration),
    /// Disarm both timers.
    CancelTimers,
    /// Close the connection with this code and drop it.
    Close(u16),
    /// Report to the shard's owner.
    Emit(ShardEvent),
    /// Stop for good.
    Fatal { code: u16, reason: String },
}

#[derive(Clone, Debug, PartialEq)]
struct Session {
    id: String,
    resume_url: String,
}

/// xorshift64*, seeded from the configuration.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    /// A fraction in `[0, 1)`.
    fn fraction(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The gateway protocol of one shard. Its `Debug` leaves out the token (and the identify
/// payload, which carries it).
pub(crate) struct Machine {
    token: String,
    identify: GatewayPayload,
    gateway_url: String,
    identify_interval: Duration,
    state: ShardState,
    session: Option<Session>,
    seq: Option<u64>,
    interval: Option<Duration>,
    ack_pending: bool,
    identify_pending: bool,
    last_identify: Option<Instant>,
    attempts: u32,
    rng: Rng,
}

impl std::fmt::Debug for Machine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Machine")
            .field("token", &"<redacted>")
            .field("gateway_url", &self.gateway_url)
            .field("state", &self.state)
            .field("session", &self.session)
            .field("seq", &self.seq)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// Wait before the `attempt`th reconnection in a row: at once, then 1 s doubling up to 60 s.
pub(crate) fn backoff(attempt: u32) -> Duration {
    match attempt {
        0 | 1 => Duration::ZERO,
        n => Duration::from_secs(1u64 << (n - 2).min(6)).min(MAX_BACKOFF),
    }
}

impl Machine {
    pub(crate) fn new(config: &Config) -> Self {
        let mut identify = Identify::new(config.token.clone(), config.properties.clone());
        if config.token_kind == TokenKind::Bot {
            identify.intents = Some(config.intents);
        }
        identify.large_threshold = config.large_threshold;
        identify.shard = config.shard;
        let d = serde_json::to_value(identify).unwrap_or(Value::Null);
        Self {
            token: config.token.clone(),
            identify: GatewayPayload::new(Opcode::Identify, d),
            gateway_url: config.gateway_url.clone(),
            identify_interval: config.identify_interval,
            state: ShardState::Disconnected { attempts: 0 },
            session: None,
            seq: None,
            interval: None,
            ack_pending: false,
            identify_pending: false,
            last_identify: None,
            attempts: 0,
            rng: Rng(config.seed | 1),
        }
    }

    pub(crate) fn state(&self) -> ShardState {
        self.state
    }

    pub(crate) fn seq(&self) -> Option<u64> {
        self.seq
    }

    pub(crate) fn session_id(&self) -> Option<&str> {
        self.session.as_ref().map(|s| s.id.as_str())
    }

    /// The first action: connect to the configured gateway.
    pub(crate) fn start(&mut self) -> Vec<Action> {
        self.state = ShardState::Disconnected { attempts: 0 };
        vec![Action::Connect { url: self.gateway_url.clone(), delay: Duration::ZERO }]
    }

    /// One step: the actions that `input` calls for at `now`.
    pub(crate) fn process(&mut self, input: Input, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if matches!(self.state, ShardState::FatallyClosed { .. }) {
            return out;
        }
        match input {
            Input::Connected => {
                self.state = ShardState::AwaitingHello;
                self.ack_pending = false;
                self.identify_pending = false;
            }
            Input::ConnectFailed(reason) => {
                self.reconnect(&mut out, format!("connecting failed: {reason}"), None, true);
            }
            Input::Payload(payload) => self.payload(&mut out, payload, now),
            Input::Closed { code: Some(code), reason } if is_fatal_close(code) => {
                self.state = ShardState::FatallyClosed { code };
                self.identify_pending = false;
                out.push(Action::CancelTimers);
                let reason = match reason.is_empty() {
                    true => describe_close(code).to_owned(),
                    false => format!("{} ({reason})", describe_close(code)),
                };
                out.push(Action::Fatal { code, reason });
            }
            Input::Closed { code, reason } => {
                if code.is_some_and(invalidates_session) {
                    self.session = None;
                    self.seq = None;
                }
                let reason = match code {
                    Some(code) => format!("closed by the gateway with {code} ({})", describe_close(code)),
                    None => format!("connection lost: {reason}"),
                };
                self.reconnect(&mut out, reason, None, true);
            }
            Input::HeartbeatDue => self.heartbeat_due(&mut out),
            Input::IdentifyDue => {
                if self.identify_pending && self.state == ShardState::Identifying {
                    self.identify(&mut out, now);
                }
            }
        }
        out
    }

    fn payload(&mut self, out: &mut Vec<Action>, payload: GatewayPayload, now: Instant) {
        match payload.opcode() {
            Some(Opcode::Hello) => {
                if self.state != ShardState::AwaitingHello {
                    return;
                }
                let interval = match serde_json::from_value::<Hello>(payload.d) {
                    Ok(hello) if hello.heartbeat_interval > 0 => {
                        Duration::from_millis(hello.heartbeat_interval)
                    }
                    _ => {
                        let reason = "hello without a valid heartbeat interval".to_owned();
                        return self.reconnect(out, reason, Some(RESUME_CLOSE_CODE), true);
                    }
                };
                self.interval = Some(interval);
                self.ack_pending = false;
                // The first beat at a random point of the interval, so clients that reconnect
                // together do not beat together.
                out.push(Action::ScheduleHeartbeat(interval.mul_f64(self.rng.fraction())));
                match &self.session {
                    Some(session) => {
                        let resume = Resume::new(self.token.clone(), session.id.clone(), self.seq);
                        let d = serde_json::to_value(resume).unwrap_or(Value::Null);
                        out.push(Action::Send(GatewayPayload::new(Opcode::Resume, d)));
                        self.state = ShardState::Resuming;
                    }
                    None => self.identify(out, now),
                }
            }
            Some(Opcode::Heartbeat) => out.push(Action::Send(GatewayPayload::heartbeat(self.seq))),
            Some(Opcode::HeartbeatAck) => self.ack_pending = false,
            Some(Opcode::Dispatch) => self.dispatch(out, payload),
            Some(Opcode::Reconnect) => {
                let reason = "the gateway asked to reconnect".to_owned();
                self.reconnect(out, reason, Some(RESUME_CLOSE_CODE), false);
            }
            Some(Opcode::InvalidSession) => {
                let resumable = payload.d.as_bool().unwrap_or(false);
                out.push(Action::Emit(ShardEvent::InvalidSession { resumable }));
                if resumable && self.session.is_some() {
                    let reason = "the gateway invalidated the session; resuming".to_owned();
                    self.reconnect(out, reason, Some(RESUME_CLOSE_CODE), false);
                } else {
                    // A new session starts on the gateway URL (the resume URL is for RESUME only),
                    // on a new connection opened after 1-5 s.
                    self.session = None;
                    self.seq = None;
                    let wait = Duration::from_secs(1) + Duration::from_secs(4).mul_f64(self.rng.fraction());
                    let reason = "the gateway invalidated the session; identifying anew".to_owned();
                    self.reconnect_after(out, reason, Some(1000), wait);
                }
            }
            // Client-only opcodes and unknown ones: nothing to do.
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<Action>, payload: GatewayPayload) {
        if let (Some(s), Some(last)) = (payload.s, self.seq)
            && s <= last
        {
            // A replay of something already delivered: each dispatch is delivered once.
            return;
        }
        if payload.s.is_some() {
            self.seq = payload.s;
        }
        let name = payload.t.unwrap_or_default();
        match name.as_str() {
            "READY" => {
                let field = |key: &str| payload.d.get(key).and_then(Value::as_str).map(str::to_owned);
                match (field("session_id"), field("resume_gateway_url")) {
                    (Some(id), Some(resume_url)) => {
                        self.session = Some(Session { id, resume_url });
                        self.state = ShardState::Active;
                        self.attempts = 0;
                    }
                    _ => {
                        let reason = "ready without session_id or resume_gateway_url".to_owned();
                        return self.reconnect(out, reason, Some(RESUME_CLOSE_CODE), true);
                    }
                }
            }
            "RESUMED" => {
                self.state = ShardState::Active;
                self.attempts = 0;
            }
            _ => {}
        }
        out.push(Action::Emit(ShardEvent::Dispatch(Dispatch::new(name, payload.s, payload.d))));
    }

    fn heartbeat_due(&mut self, out: &mut Vec<Action>) {
        if !matches!(self.state, ShardState::Identifying | ShardState::Resuming | ShardState::Active) {
            return;
        }
        let Some(interval) = self.interval else { return };
        if self.ack_pending {
            let reason = "no heartbeat ack since the last heartbeat".to_owned();
            return self.reconnect(out, reason, Some(RESUME_CLOSE_CODE), true);
        }
        out.push(Action::Send(GatewayPayload::heartbeat(self.seq)));
        self.ack_pending = true;
        out.push(Action::ScheduleHeartbeat(interval));
    }

    /// Sends identify now, or arms the timer if the identify rate limit is not yet over.
    fn identify(&mut self, out: &mut Vec<Action>, now: Instant) {
        self.state = ShardState::Identifying;
        let ready_at = self.last_identify.map(|last| last + self.identify_interval);
        match ready_at {
            Some(at) if at > now => {
                self.identify_pending = true;
                out.push(Action::ScheduleIdentify(at - now));
            }
            _ => {
                self.identify_pending = false;
                self.last_identify = Some(now);
                self.session = None;
                self.seq = None;
                out.push(Action::Send(self.identify.clone()));
            }
        }
    }

    /// Drops the connection (closing it with `close` if it is still open) and plans the next.
    fn reconnect(&mut self, out: &mut Vec<Action>, reason: String, close: Option<u16>, counts: bool) {
        let delay = match counts {
            true => {
                self.attempts += 1;
                backoff(self.attempts)
            }
            false => Duration::ZERO,
        };
        self.reconnect_after(out, reason, close, delay);
    }

    /// Like [`Self::reconnect`], with a given wait before the new connection.
    fn reconnect_after(
        &mut self,
        out: &mut Vec<Action>,
        reason: String,
        close: Option<u16>,
        delay: Duration,
    ) {
        if let Some(code) = close {
            out.push(Action::Close(code));
        }
        out.push(Action::CancelTimers);
        self.identify_pending = false;
        self.ack_pending = false;
        self.state = ShardState::Disconnected { attempts: self.attempts };
        let (resume, url) = match &self.session {
            Some(session) => (true, session.resume_url.clone()),
            None => (false, self.gateway_url.clone()),
        };
        out.push(Action::Emit(ShardEvent::Reconnecting { resume, attempt: self.attempts, delay, reason }));
        out.push(Action::Connect { url, delay });
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::gateway::config::TokenKind;

    const GATEWAY: &str = "ws://gateway.test";
    const RESUME_URL: &str = "ws://resume.test";
    const INTERVAL: Duration = Duration::from_millis(41_250);

    struct Harness {
        machine: Machine,
        now: Instant,
    }

    impl Harness {
        fn with(config: Config) -> Self {
            let mut machine = Machine::new(&config);
            let start = machine.start();
            assert_eq!(start, vec![Action::Connect { url: GATEWAY.into(), delay: Duration::ZERO }]);
            Self { machine, now: Instant::now() }
        }

        fn new() -> Self {
            Self::with(Config::builder("tok").gateway_url(GATEWAY).seed(7).build())
        }

        fn step(&mut self, input: Input) -> Vec<Action> {
            self.machine.process(input, self.now)
        }

        fn op(&mut self, op: Opcode, d: Value) -> Vec<Action> {
            self.step(Input::Payload(GatewayPayload::new(op, d)))
        }

        fn dispatch(&mut self, name: &str, seq: u64, d: Value) -> Vec<Action> {
            self.step(Input::Payload(GatewayPayload::dispatch(name, seq, d)))
        }

        fn advance(&mut self, by: Duration) {
            self.now += by;
        }

        /// Connected, Hello, Identify, READY (seq 1): an active session.
        fn ready() -> Self {
            let mut h = Self::new();
            h.step(Input::Connected);
            h.op(Opcode::Hello, json!({"heartbeat_interval": 41_250}));
            h.dispatch("READY", 1, ready_data());
            assert_eq!(h.machine.state(), ShardState::Active);
            h
        }
    }

    fn ready_data() -> Value {
        json!({"v": 10, "user": {"id": "1", "username": "bot"}, "guilds": [],
               "session_id": "sess", "resume_gateway_url": RESUME_URL})
    }

    fn sent(actions: &[Action]) -> Vec<&GatewayPayload> {
        actions.iter().filter_map(|a| if let Action::Send(p) = a { Some(p) } else { None }).collect()
    }

    fn connect(actions: &[Action]) -> Option<(&str, Duration)> {
        actions.iter().find_map(|a| match a {
            Action::Connect { url, delay } => Some((url.as_str(), *delay)),
            _ => None,
        })
    }

    fn reconnecting(actions: &[Action]) -> Option<(bool, u32, Duration)> {
        actions.iter().find_map(|a| match a {
            Action::Emit(ShardEvent::Reconnecting { resume, attempt, delay, .. }) => {
                Some((*resume, *attempt, *delay))
            }
            _ => None,
        })
    }

    fn first_heartbeat(actions: &[Action]) -> Duration {
        actions
            .iter()
            .find_map(|a| if let Action::ScheduleHeartbeat(d) = a { Some(*d) } else { None })
            .expect("a heartbeat is scheduled")
    }

    #[test]
    fn hello_leads_to_identify_and_a_jittered_first_heartbeat() {
        let mut h = Harness::new();
        assert!(h.step(Input::Connected).is_empty());
        assert_eq!(h.machine.state(), ShardState::AwaitingHello);
        let actions = h.op(Opcode::Hello, json!({"heartbeat_interval": 41_250}));
        let first = first_heartbeat(&actions);
        assert!(first < INTERVAL, "{first:?}");
        let identify = sent(&actions);
        assert_eq!(identify.len(), 1);
        assert_eq!(identify[0].op, 2);
        assert_eq!(identify[0].d["token"], "tok");
        assert!(identify[0].d["intents"].as_u64().is_some_and(|i| i & (1 << 15) != 0));
        assert_eq!(identify[0].d["properties"]["browser"], "rift");
        assert_eq!(h.machine.state(), ShardState::Identifying);
    }

    #[test]
    fn first_heartbeat_jitter_depends_on_the_seed() {
        let firsts: std::collections::BTreeSet<Duration> = (1..20u64)
            .map(|seed| {
                let mut h =
                    Harness::with(Config::builder("t").gateway_url(GATEWAY).seed(seed * 7919).build());
                h.step(Input::Connected);
                first_heartbeat(&h.op(Opcode::Hello, json!({"heartbeat_interval": 41_250})))
            })
            .collect();
        assert!(firsts.len() > 15, "{firsts:?}");
    }

    #[test]
    fn the_machine_does_not_print_its_token() {
        let config = Config::builder("tok-Secret.123").gateway_url(GATEWAY).build();
        let machine = Machine::new(&config);
        let printed = format!("{machine:?}");
        assert!(!printed.contains("tok-Secret.123"), "{printed}");
    }

    #[test]
    fn user_tokens_identify_without_intents() {
        let config = Config::builder("user-token").gateway_url(GATEWAY).token_kind(TokenKind::User).build();
        let mut h = Harness::with(config);
        h.step(Input::Connected);
        let actions = h.op(Opcode::Hello, json!({"heartbeat_interval": 1000}));
        let identify = sent(&actions);
        assert_eq!(identify[0].d["token"], "user-token");
        assert!(identify[0].d.get("intents").is_none());
    }

    #[test]
    fn ready_keeps_the_session_and_is_delivered() {
        let mut h = Harness::new();
        h.step(Input::Connected);
        h.op(Opcode::Hello, json!({"heartbeat_interval": 41_250}));
        let actions = h.dispatch("READY", 1, ready_data());
        assert!(
            matches!(&actions[..], [Action::Emit(ShardEvent::Dispatch(d))] if d.name == "READY" && d.seq == Some(1))
        );
        assert_eq!(h.machine.session_id(), Some("sess"));
        assert_eq!(h.machine.seq(), Some(1));
    }

    #[test]
    fn ready_without_session_reconnects() {
        let mut h = Harness::new();
        h.step(Input::Connected);
        h.op(Opcode::Hello, json!({"heartbeat_interval": 41_250}));
        let actions = h.dispatch("READY", 1, json!({"user": {"id": "1"}}));
        assert!(actions.contains(&Action::Close(RESUME_CLOSE_CODE)));
        assert_eq!(connect(&actions), Some((GATEWAY, Duration::ZERO)));
    }

    #[test]
    fn heartbeat_carries_the_last_sequence_and_an_ack_keeps_the_connection() {
        let mut h = Harness::ready();
        h.dispatch("MESSAGE_CREATE", 2, json!({}));
        let actions = h.step(Input::HeartbeatDue);
        assert_eq!(sent(&actions), vec![&GatewayPayload::heartbeat(Some(2))]);
        assert!(actions.contains(&Action::ScheduleHeartbeat(INTERVAL)));
        assert!(h.op(Opcode::HeartbeatAck, Value::Null).is_empty());
        let actions = h.step(Input::HeartbeatDue);
        assert_eq!(sent(&actions).len(), 1);
        assert_eq!(h.machine.state(), ShardState::Active);
    }

    #[test]
    fn missed_ack_closes_without_1000_and_resumes_at_the_resume_url() {
        let mut h = Harness::ready();
        h.step(Input::HeartbeatDue);
        let actions = h.step(Input::HeartbeatDue);
        assert_eq!(actions[0], Action::Close(RESUME_CLOSE_CODE));
        assert_ne!(RESUME_CLOSE_CODE, 1000);
        assert_eq!(reconnecting(&actions), Some((true, 1, Duration::ZERO)));
        assert_eq!(connect(&actions), Some((RESUME_URL, Duration::ZERO)));
        assert_eq!(h.machine.state(), ShardState::Disconnected { attempts: 1 });

        h.step(Input::Connected);
        let actions = h.op(Opcode::Hello, json!({"heartbeat_interval": 41_250}));
        let resume = sent(&actions);
        assert_eq!(resume.len(), 1);
        assert_eq!(resume[0].op, 6);
        assert_eq!(resume[0].d, json!({"token": "tok", "session_id": "sess", "seq": 1}));
        assert_eq!(h.machine.state(), ShardState::Resuming);
    }

    #[test]
    fn server_heartbeat_request_is_answered_at_once() {
        let mut h = Harness::ready();
        let actions = h.op(Opcode::Heartbeat, Value::Null);
        assert_eq!(actions, vec![Action::Send(GatewayPayload::heartbeat(Some(1)))]);
    }

    #[test]
    fn reconnect_opcode_resumes_without_waiting() {
        let mut h = Harness::ready();
        let actions = h.op(Opcode::Reconnect, Value::Null);
        assert_eq!(actions[0], Action::Close(RESUME_CLOSE_CODE));
        assert_eq!(connect(&actions), Some((RESUME_URL, Duration::ZERO)));
        assert_eq!(reconnecting(&actions).map(|r| r.0), Some(true));
    }

    #[test]
    fn resumable_invalid_session_resumes() {
        let mut h = Harness::ready();
        let actions = h.op(Opcode::InvalidSession, json!(true));
        assert!(actions.contains(&Action::Emit(ShardEvent::InvalidSession { resumable: true })));
        assert_eq!(connect(&actions), Some((RESUME_URL, Duration::ZERO)));
        h.step(Input::Connected);
        let actions = h.op(Opcode::Hello, json!({"heartbeat_interval": 41_250}));
        assert_eq!(sent(&actions)[0].op, 6);
    }

    #[test]
    fn invalid_session_not_resumable_identifies_again_after_one_to_five_seconds() {
        for seed in 1..50 {
            let mut h = Harness::with(Config::builder("tok").gateway_url(GATEWAY).seed(seed).build());
            h.step(Input::Connected);
            h.op(Opcode::Hello, json!({"heartbeat_interval": 41_250}));
            h.dispatch("READY", 1, ready_data());
            h.advance(Duration::from_secs(60));
            let actions = h.op(Opcode::InvalidSession, json!(false));
            let (url, wait) = actions
                .iter()
                .find_map(|a| {
                    if let Action::Connect { url, delay } = a { Some((url.clone(), *delay)) } else { None }
                })
                .expect("a new connection is planned");
            assert_eq!(url, GATEWAY, "a new session starts on the gateway URL, not the resume URL");
            assert!((Duration::from_secs(1)..=Duration::from_secs(5)).contains(&wait), "{wait:?}");
            assert!(sent(&actions).is_empty(), "nothing is sent before the wait");
            assert_eq!(h.machine.session_id(), None);
            h.advance(wait);
            h.step(Input::Connected);
            let actions = h.op(Opcode::Hello, json!({"heartbeat_interval": 41_250}));
            assert_eq!(sent(&actions)[0].op, 2);
            // The new session starts its sequence afresh.
            let actions = h.dispatch("READY", 1, ready_data());
            assert_eq!(actions.len(), 1);
        }
    }

    #[test]
    fn identify_waits_for_the_identify_rate_limit() {
        let mut h = Harness::new();
        h.step(Input::Connected);
        h.op(Opcode::Hello, json!({"heartbeat_interval": 41_250}));
        // The session dies before READY, and the new connection's Hello comes 2 s later.
        h.step(Input::Closed { code: Some(4009), reason: String::new() });
        h.advance(Duration::from_secs(2));
        h.step(Input::Connected);
        let actions = h.op(Opcode::Hello, json!({"heartbeat_interval": 41_250}));
        assert!(sent(&actions).is_empty());
        assert!(actions.contains(&Action::ScheduleIdentify(Duration::from_secs(3))));
        h.advance(Duration::from_secs(3));
        assert_eq!(sent(&h.step(Input::IdentifyDue))[0].op, 2);
    }

    #[test]
    fn fatal_close_codes_stop_for_good() {
        for code in [4004, 4010, 4011, 4012, 4013, 4014] {
            let mut h = Harness::ready();
            let actions = h.step(Input::Closed { code: Some(code), reason: "nope".into() });
            assert!(
                matches!(&actions[..], [Action::CancelTimers, Action::Fatal { code: c, reason }] if *c == code && reason.contains("nope")),
                "{code}: {actions:?}"
            );
            assert_eq!(h.machine.state(), ShardState::FatallyClosed { code });
            assert!(h.step(Input::HeartbeatDue).is_empty());
            assert!(h.step(Input::Connected).is_empty());
        }
    }

    #[test]
    fn drops_resume_with_growing_backoff_until_the_session_is_back() {
        let mut h = Harness::ready();
        let mut delays = Vec::new();
        for attempt in 1..=9 {
            let input = match attempt % 3 {
                0 => Input::ConnectFailed("refused".into()),
                1 => Input::Closed { code: None, reason: "eof".into() },
                _ => Input::Closed { code: Some(1006), reason: String::new() },
            };
            let actions = h.step(input);
            let (resume, n, delay) = reconnecting(&actions).expect("reconnects");
            assert!(resume);
            assert_eq!(n, attempt);
            assert_eq!(connect(&actions), Some((RESUME_URL, delay)));
            delays.push(delay.as_secs());
        }
        assert_eq!(delays, [0, 1, 2, 4, 8, 16, 32, 60, 60]);
        h.step(Input::Connected);
        h.op(Opcode::Hello, json!({"heartbeat_interval": 41_250}));
        h.dispatch("RESUMED", 2, Value::Null);
        assert_eq!(h.machine.state(), ShardState::Active);
        let actions = h.step(Input::Closed { code: None, reason: "eof".into() });
        assert_eq!(reconnecting(&actions), Some((true, 1, Duration::ZERO)));
    }

    #[test]
    fn session_ending_close_codes_identify_anew() {
        for code in [4007, 4009] {
            let mut h = Harness::ready();
            let actions = h.step(Input::Closed { code: Some(code), reason: String::new() });
            assert_eq!(reconnecting(&actions).map(|r| r.0), Some(false));
            assert_eq!(connect(&actions).map(|c| c.0), Some(GATEWAY));
            assert_eq!(h.machine.seq(), None);
        }
    }

    #[test]
    fn replayed_dispatches_are_delivered_once() {
        let mut h = Harness::ready();
        assert_eq!(h.dispatch("MESSAGE_CREATE", 2, json!({})).len(), 1);
        assert!(h.dispatch("MESSAGE_CREATE", 2, json!({})).is_empty());
        assert!(h.dispatch("MESSAGE_CREATE", 1, json!({})).is_empty());
        assert_eq!(h.dispatch("MESSAGE_CREATE", 3, json!({})).len(), 1);
        assert_eq!(h.machine.seq(), Some(3));
    }

    #[test]
    fn bad_hello_reconnects_and_stray_hello_is_ignored() {
        let mut h = Harness::new();
        h.step(Input::Connected);
        let actions = h.op(Opcode::Hello, json!({"heartbeat_interval": 0}));
        assert!(actions.contains(&Action::Close(RESUME_CLOSE_CODE)));
        let mut h = Harness::ready();
        assert!(h.op(Opcode::Hello, json!({"heartbeat_interval": 1000})).is_empty());
        assert!(h.op(Opcode::RequestGuildMembers, Value::Null).is_empty());
        assert!(
            h.step(Input::Payload(GatewayPayload { op: 99, d: Value::Null, s: None, t: None })).is_empty()
        );
    }

    #[test]
    fn timers_are_ignored_without_a_session_handshake() {
        let mut h = Harness::new();
        assert!(h.step(Input::HeartbeatDue).is_empty());
        assert!(h.step(Input::IdentifyDue).is_empty());
        h.step(Input::Connected);
        assert!(h.step(Input::HeartbeatDue).is_empty());
    }

    #[test]
    fn backoff_doubles_from_one_second_to_a_minute() {
        let delays: Vec<u64> = (0..12).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(delays, [0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60, 60]);
    }
}
