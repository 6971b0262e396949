//! The shard: the [`Machine`] with a WebSocket, a zlib-stream inflater and two timers around it.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::config::Config;
use super::machine::{Action, Input, Machine, RESUME_CLOSE_CODE, ShardEvent, ShardState};
use super::payload::{Encoding, GatewayPayload};
use crate::{Error, Inflater};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How often a timer that fired yields to the runtime before it is acted on, so frames already on
/// their way (a heartbeat ack, a handshake reply) are read first. It costs nothing in production
/// and keeps tests on a paused clock honest: there the clock jumps to the next timer whenever every
/// task waits, even while bytes are in flight on loopback.
const SETTLE_YIELDS: usize = 16;

/// One gateway connection that identifies, heartbeats, resumes and reconnects by itself.
///
/// Drive it with [`Shard::next_event`]; between calls nothing happens (heartbeats included), so
/// call it in a loop. Dispatches arrive once each, in sequence order, across resumes.
///
/// # Examples
///
/// ```no_run
/// use rift_discord::gateway::{Config, Encoding, Shard, ShardEvent};
///
/// # async fn run() -> Result<(), rift_discord::Error> {
/// let config = Config::builder(std::env::var("DISCORD_TOKEN").unwrap_or_default())
///     .encoding(Encoding::Etf)
///     .build();
/// let mut shard = Shard::new(config);
/// loop {
///     match shard.next_event().await? {
///         ShardEvent::Dispatch(dispatch) => println!("{} {:?}", dispatch.name, dispatch.event()?),
///         other => eprintln!("{other:?}"),
///     }
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct Shard {
    config: Config,
    machine: Machine,
    socket: Option<Socket>,
    inflater: Inflater,
    connect: Option<(String, Instant)>,
    heartbeat_at: Option<Instant>,
    identify_at: Option<Instant>,
    inputs: VecDeque<Input>,
    actions: VecDeque<Action>,
    commands: CommandLimit,
    events: VecDeque<ShardEvent>,
    fatal: Option<Error>,
    closed: bool,
}

impl Shard {
    /// A shard for the configuration; it connects on the first [`next_event`](Self::next_event).
    pub fn new(config: Config) -> Self {
        let mut machine = Machine::new(&config);
        let connect = machine.start().into_iter().find_map(|action| match action {
            Action::Connect { url, delay } => Some((url, Instant::now() + delay)),
            _ => None,
        });
        Self {
            inflater: Inflater::with_limit(config.max_payload),
            config,
            machine,
            socket: None,
            connect,
            heartbeat_at: None,
            identify_at: None,
            inputs: VecDeque::new(),
            actions: VecDeque::new(),
            commands: CommandLimit::default(),
            events: VecDeque::new(),
            fatal: None,
            closed: false,
        }
    }

    /// Where the shard is in its life.
    pub fn state(&self) -> ShardState {
        self.machine.state()
    }

    /// The session id, once READY arrived (until the session is invalidated).
    pub fn session_id(&self) -> Option<&str> {
        self.machine.session_id()
    }

    /// The last sequence number received.
    pub fn seq(&self) -> Option<u64> {
        self.machine.seq()
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Runs the connection until it has something to report.
    ///
    /// Cancel safe: inputs, actions and events wait in queues on the shard, so dropping the
    /// future (in a `select!` or `timeout`) loses nothing but a frame being written at that
    /// moment, and a lost heartbeat only costs a resume.
    ///
    /// # Errors
    ///
    /// [`Error::FatalClose`] once, when the gateway closed with a fatal code (4004, 4010-4014);
    /// the shard does not reconnect after it. [`Error::Closed`] after that or after
    /// [`close`](Self::close). Everything else (drops, bad frames, refused connections) is
    /// handled by reconnecting and reported as [`ShardEvent::Reconnecting`].
    pub async fn next_event(&mut self) -> Result<ShardEvent, Error> {
        loop {
            // Actions wait in a queue, so a cancelled call loses at most the one in progress.
            if let Some(action) = self.actions.pop_front() {
                self.execute(action).await;
                continue;
            }
            if let Some(event) = self.events.pop_front() {
                return Ok(event);
            }
            if let Some(error) = self.fatal.take() {
                self.closed = true;
                return Err(error);
            }
            if self.closed {
                return Err(Error::Closed);
            }
            if self.inputs.is_empty() {
                self.wait().await;
                continue;
            }
            if matches!(self.inputs.front(), Some(Input::HeartbeatDue | Input::IdentifyDue)) {
                self.settle().await;
            }
            if let Some(input) = self.inputs.pop_front() {
                self.actions.extend(self.machine.process(input, Instant::now()));
            }
        }
    }

    /// Sends a command (presence update, member request, ...) on the current connection.
    ///
    /// Discord closes a connection that sends more than 120 frames a minute; commands are held
    /// back to [`COMMANDS_PER_MINUTE`] so heartbeats always fit.
    ///
    /// # Errors
    ///
    /// [`Error::NotConnected`] when there is no connection, or the encoding or write error.
    pub async fn send(&mut self, payload: &GatewayPayload) -> Result<(), Error> {
        let message = encode(self.config.encoding, payload)?;
        while let Some(at) = self.commands.wait(Instant::now()) {
            sleep_until(at).await;
        }
        let socket = self.socket.as_mut().ok_or(Error::NotConnected)?;
        socket.send(message).await?;
        self.commands.record(Instant::now());
        Ok(())
    }

    /// Closes the connection with code 1000, which ends the session, and stops the shard.
    pub async fn close(&mut self) {
        self.closed = true;
        self.connect = None;
        if let Some(mut socket) = self.socket.take() {
            let _ = socket.close(Some(close_frame(1000))).await;
        }
    }

    async fn execute(&mut self, action: Action) {
        match action {
            Action::Connect { url, delay } => self.connect = Some((url, Instant::now() + delay)),
            Action::Send(payload) => self.write(&payload).await,
            Action::ScheduleHeartbeat(after) => self.heartbeat_at = Some(Instant::now() + after),
            Action::ScheduleIdentify(after) => self.identify_at = Some(Instant::now() + after),
            Action::CancelTimers => {
                self.heartbeat_at = None;
                self.identify_at = None;
                // Inputs that belonged to the old connection are void.
                self.inputs.retain(|input| !matches!(input, Input::HeartbeatDue | Input::IdentifyDue));
            }
            Action::Close(code) => {
                if let Some(mut socket) = self.socket.take() {
                    let _ = socket.close(Some(close_frame(code))).await;
                }
                self.inputs.clear();
            }
            Action::Emit(event) => {
                if let ShardEvent::Reconnecting { reason, .. } = &event {
                    tracing::info!(reason, "gateway reconnecting");
                }
                self.events.push_back(event);
            }
            Action::Fatal { code, reason } => {
                tracing::error!(code, reason, "gateway closed fatally");
                if let Some(mut socket) = self.socket.take() {
                    let _ = socket.close(Some(close_frame(1000))).await;
                }
                self.connect = None;
                self.fatal = Some(Error::FatalClose { code, reason });
            }
        }
    }

    async fn write(&mut self, payload: &GatewayPayload) {
        let Some(socket) = self.socket.as_mut() else { return };
        let result = match encode(self.config.encoding, payload) {
            Ok(message) => socket.send(message).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(reason) = result {
            self.drop_socket(RESUME_CLOSE_CODE).await;
            self.inputs.push_back(Input::Closed { code: None, reason: format!("sending failed: {reason}") });
        }
    }

    async fn drop_socket(&mut self, code: u16) {
        if let Some(mut socket) = self.socket.take() {
            let _ = socket.close(Some(close_frame(code))).await;
        }
        self.inputs.retain(|input| !matches!(input, Input::Payload(_)));
    }

    /// Waits for the next input (a connection, a frame or a timer) and queues it.
    async fn wait(&mut self) {
        while self.inputs.is_empty() {
            let Some(socket) = self.socket.as_mut() else {
                let input = self.open().await;
                self.inputs.push_back(input);
                return;
            };
            let heartbeat_at = self.heartbeat_at;
            let identify_at = self.identify_at;
            let woke = tokio::select! {
                biased;
                message = socket.next() => Woke::Frame(message),
                () = sleep_until_some(heartbeat_at) => Woke::Timer(Input::HeartbeatDue),
                () = sleep_until_some(identify_at) => Woke::Timer(Input::IdentifyDue),
            };
            match woke {
                Woke::Frame(message) => {
                    if let Some(input) = self.frame(message).await {
                        self.inputs.push_back(input);
                    }
                }
                Woke::Timer(timer) => {
                    match timer {
                        Input::HeartbeatDue => self.heartbeat_at = None,
                        _ => self.identify_at = None,
                    }
                    self.inputs.push_back(timer);
                }
            }
        }
    }

    /// Before a timer is acted on, reads the frames that arrived before it (a heartbeat ack
    /// above all) and queues them ahead of it; see [`SETTLE_YIELDS`]. A cancelled call leaves the
    /// timer queued, and the next call settles again.
    async fn settle(&mut self) {
        for _ in 0..SETTLE_YIELDS {
            tokio::task::yield_now().await;
        }
        let mut ahead = 0;
        while let Some(socket) = self.socket.as_mut() {
            let Some(message) = socket.next().now_or_never() else { break };
            if let Some(input) = self.frame(message).await {
                let closed = matches!(input, Input::Closed { .. });
                self.inputs.insert(ahead.min(self.inputs.len()), input);
                ahead += 1;
                if closed {
                    // The timer belonged to the connection that just ended.
                    self.inputs.retain(|i| !matches!(i, Input::HeartbeatDue | Input::IdentifyDue));
                    break;
                }
            }
        }
    }

    /// Connects to the planned URL once its delay is over.
    async fn open(&mut self) -> Input {
        let Some((base, at)) = self.connect.clone() else {
            // No socket and no plan (a cancelled call lost one): the machine plans anew.
            return Input::Closed { code: None, reason: "no connection".into() };
        };
        sleep_until(at).await;
        let url = self.config.connect_url(&base);
        tracing::debug!(url, "gateway connecting");
        let limits = WebSocketConfig::default()
            .max_message_size(Some(self.config.max_payload))
            .max_frame_size(Some(self.config.max_payload));
        // No Nagle: heartbeats and small commands go out at once.
        let mut connecting = Box::pin(tokio_tungstenite::connect_async_with_config(url, Some(limits), true));
        let result = tokio::select! {
            biased;
            result = &mut connecting => Some(result),
            () = tokio::time::sleep(self.config.connect_timeout) => None,
        };
        let result = match result {
            Some(result) => Some(result),
            None => {
                // A last look before giving up (see SETTLE_YIELDS).
                let mut result = None;
                for _ in 0..SETTLE_YIELDS {
                    tokio::task::yield_now().await;
                    if let Some(done) = (&mut connecting).now_or_never() {
                        result = Some(done);
                        break;
                    }
                }
                result
            }
        };
        self.connect = None;
        match result {
            Some(Ok((socket, _response))) => {
                self.socket = Some(socket);
                self.inflater.reset();
                self.commands = CommandLimit::default();
                self.inputs.clear();
                Input::Connected
            }
            Some(Err(error)) => Input::ConnectFailed(error.to_string()),
            None => Input::ConnectFailed("timed out".into()),
        }
    }

    /// Turns a WebSocket message into an input; `None` for control frames and partial payloads.
    async fn frame(&mut self, message: Option<Result<Message, tungstenite::Error>>) -> Option<Input> {
        let decoded = match message {
            None => Err((None, "the connection ended without a close frame".to_owned())),
            Some(Err(error)) => Err((None, error.to_string())),
            Some(Ok(Message::Close(frame))) => {
                let (code, reason) = match frame {
                    Some(frame) => (Some(u16::from(frame.code)), frame.reason.to_string()),
                    None => (None, "closed without a code".to_owned()),
                };
                self.socket = None;
                return Some(Input::Closed { code, reason });
            }
            Some(Ok(Message::Binary(bytes))) => self.decode(&bytes, true),
            Some(Ok(Message::Text(text))) => self.decode(text.as_bytes(), false),
            Some(Ok(_)) => Ok(None),
        };
        match decoded {
            Ok(payload) => payload.map(Input::Payload),
            Err((code, reason)) => {
                self.drop_socket(RESUME_CLOSE_CODE).await;
                Some(Input::Closed { code, reason })
            }
        }
    }

    #[allow(clippy::type_complexity)]
    fn decode(
        &mut self,
        bytes: &[u8],
        binary: bool,
    ) -> Result<Option<GatewayPayload>, (Option<u16>, String)> {
        let undecodable = |e: Error| (None, format!("undecodable frame: {e}"));
        let encoding = if binary { self.config.encoding } else { Encoding::Json };
        if binary && self.config.compress {
            return match self.inflater.push(bytes).map_err(undecodable)? {
                Some(inflated) => self.config.encoding.decode(inflated).map(Some).map_err(undecodable),
                None => Ok(None),
            };
        }
        encoding.decode(bytes).map(Some).map_err(undecodable)
    }
}

/// Commands the owner may send per minute on one connection: Discord allows 120 frames, and
/// heartbeats (at most a few a minute) need their share.
pub const COMMANDS_PER_MINUTE: usize = 110;

/// A sliding one-minute window over the commands sent on a connection.
#[derive(Debug, Default)]
struct CommandLimit {
    sent: VecDeque<Instant>,
}

impl CommandLimit {
    const WINDOW: Duration = Duration::from_secs(60);

    /// `None` when a command may go now, or when the next one may.
    fn wait(&mut self, now: Instant) -> Option<Instant> {
        while self.sent.front().is_some_and(|at| *at + Self::WINDOW <= now) {
            self.sent.pop_front();
        }
        match self.sent.len() < COMMANDS_PER_MINUTE {
            true => None,
            false => self.sent.front().map(|at| *at + Self::WINDOW),
        }
    }

    fn record(&mut self, now: Instant) {
        self.sent.push_back(now);
    }
}

enum Woke {
    Frame(Option<Result<Message, tungstenite::Error>>),
    Timer(Input),
}

async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn close_frame(code: u16) -> CloseFrame {
    CloseFrame { code: CloseCode::from(code), reason: "".into() }
}

fn encode(encoding: Encoding, payload: &GatewayPayload) -> Result<Message, Error> {
    let bytes = encoding.encode(payload)?;
    Ok(match encoding {
        Encoding::Json => {
            Message::Text(String::from_utf8(bytes).map_err(|e| Error::Protocol(e.to_string()))?.into())
        }
        _ => Message::Binary(bytes.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_held_to_the_per_minute_budget() {
        let start = Instant::now();
        let mut limit = CommandLimit::default();
        for i in 0..COMMANDS_PER_MINUTE {
            let now = start + Duration::from_millis(i as u64 * 10);
            assert_eq!(limit.wait(now), None);
            limit.record(now);
        }
        let later = start + Duration::from_secs(2);
        assert_eq!(limit.wait(later), Some(start + Duration::from_secs(60)));
        // The oldest command leaves the window after a minute, making room for one more.
        assert_eq!(limit.wait(start + Duration::from_secs(60)), None);
        limit.record(start + Duration::from_secs(60));
        assert_eq!(limit.wait(start + Duration::from_secs(60)), Some(start + Duration::from_millis(60_010)));
    }
}
