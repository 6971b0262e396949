//! A fake Discord gateway on loopback: it speaks zlib-stream with ETF and JSON, keeps sessions
//! with their event logs across connections (so a resume replays what was missed), and runs the
//! faults a test scripts: reconnect requests, invalid sessions, dropped sockets, missing acks and
//! fatal closes. It records where each IDENTIFY and RESUME arrived and counts pacing violations.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flate2::{Compress, Compression, FlushCompress};
use futures_util::{SinkExt, StreamExt};
use rift_discord::etf;
use rift_discord::gateway::{Encoding, GatewayPayload, Opcode};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// What the fake saw, in order.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Seen {
    /// A client connected to this path and query.
    Connected {
        /// The request path (`/` for the gateway URL, `/resume` for the resume URL).
        path: String,
        /// The query string (`v=10&encoding=json&compress=zlib-stream`).
        query: String,
    },
    /// A frame from the client.
    Frame(GatewayPayload),
    /// The client closed with this code.
    ClosedByClient(Option<u16>),
    /// The client's connection ended without a close frame.
    Gone,
}

/// Something for the live connection to do.
#[derive(Debug)]
enum Command {
    /// Send the session's log entries the client has not had yet.
    Flush,
    /// Send a raw frame.
    Send(GatewayPayload),
    /// Drop the TCP connection without a close frame.
    Drop,
    /// Close with a code.
    Close(u16),
    /// Flush, then report that the frames are written.
    FlushNotify(oneshot::Sender<()>),
}

/// Which session-starting frame arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArrivalKind {
    /// Op 2 IDENTIFY.
    Identify,
    /// Op 6 RESUME.
    Resume,
}

/// An IDENTIFY or RESUME and the connection it arrived on.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Arrival {
    /// IDENTIFY or RESUME.
    pub kind: ArrivalKind,
    /// The path of the WebSocket URL it arrived on: `/` is the gateway URL, `/resume` the resume URL.
    pub path: String,
    /// The connection's number, counting from 1 in the order connections were accepted.
    pub connection: u32,
}

/// What builds a new session's first dispatches from the IDENTIFY payload's `d`: READY (and, for
/// bots, GUILD_CREATEs), or a close code such as 4004 for a wrong token.
pub(crate) type IdentifyHook =
    Arc<dyn Fn(&Value, &str, &str) -> Result<Vec<(String, Value)>, u16> + Send + Sync>;

/// How much later than the announced interval a heartbeat may come before it counts as late.
const HEARTBEAT_TOLERANCE: Duration = Duration::from_secs(2);

struct Shared {
    url: String,
    /// Session id to its dispatch log; `s` of entry `i` is `i + 1`.
    sessions: HashMap<String, Vec<GatewayPayload>>,
    current: Option<String>,
    acking: bool,
    heartbeat_interval: u64,
    split_frames: bool,
    next_session: u32,
    live: Option<mpsc::UnboundedSender<Command>>,
    seen: mpsc::UnboundedSender<Seen>,
    identify: Option<IdentifyHook>,
    /// The token RESUME must carry (IDENTIFY is checked by the hook); `None` accepts any.
    token: Option<String>,
    arrivals: Vec<Arrival>,
    violations: Vec<String>,
    last_identify: Option<Instant>,
    connections: u32,
}

/// The fake gateway. Dropping it stops accepting.
///
/// On its own (`FakeGateway::start`) it accepts any token and answers IDENTIFY with a bot READY
/// carrying one unavailable guild; inside [`FakeDiscord`](super::FakeDiscord) READY comes from the
/// world. Either way a test drives it with [`dispatch`](Self::dispatch), [`send`](Self::send),
/// [`drop_connection`](Self::drop_connection), [`close`](Self::close) and watches it with
/// [`seen`](Self::seen), [`frame`](Self::frame), [`arrivals`](Self::arrivals) and
/// [`violations`](Self::violations).
pub struct FakeGateway {
    shared: Arc<Mutex<Shared>>,
    seen: mpsc::UnboundedReceiver<Seen>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for FakeGateway {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl FakeGateway {
    /// Starts listening on 127.0.0.1 on a free port.
    ///
    /// # Panics
    /// If no loopback port can be bound.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let (seen_tx, seen) = mpsc::unbounded_channel();
        let shared = Arc::new(Mutex::new(Shared {
            url,
            sessions: HashMap::new(),
            current: None,
            acking: true,
            heartbeat_interval: 41_250,
            split_frames: false,
            next_session: 0,
            live: None,
            seen: seen_tx,
            identify: None,
            token: None,
            arrivals: Vec::new(),
            violations: Vec::new(),
            last_identify: None,
            connections: 0,
        }));
        let accept_shared = shared.clone();
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(connection(stream, accept_shared.clone()));
            }
        });
        Self { shared, seen, accept }
    }

    /// The base URL to configure as the gateway URL.
    pub fn url(&self) -> String {
        self.shared.lock().unwrap().url.clone()
    }

    /// Where READY tells clients to resume.
    pub fn resume_url(&self) -> String {
        format!("{}/resume", self.url())
    }

    /// Whether heartbeats are acknowledged (default yes).
    pub fn set_acking(&self, acking: bool) {
        self.shared.lock().unwrap().acking = acking;
    }

    /// The heartbeat interval announced in Hello, in milliseconds (default 41250).
    pub fn set_heartbeat_interval(&self, ms: u64) {
        self.shared.lock().unwrap().heartbeat_interval = ms;
    }

    /// Sends compressed payloads in several WebSocket frames each.
    pub fn set_split_frames(&self, split: bool) {
        self.shared.lock().unwrap().split_frames = split;
    }

    /// Appends a dispatch to the current session's log and sends it if the client is connected.
    /// Returns its sequence number.
    ///
    /// # Panics
    /// If no client has identified yet.
    pub fn dispatch(&self, name: &str, data: Value) -> u64 {
        self.try_dispatch(name, data).expect("a session exists")
    }

    /// As [`dispatch`](Self::dispatch), but without a session (nobody identified yet) the event is
    /// dropped and `None` returned, as Discord drops events for nobody.
    pub fn try_dispatch(&self, name: &str, data: Value) -> Option<u64> {
        handle_dispatch(&self.shared, name, data)
    }

    /// Every IDENTIFY and RESUME so far, with the URL path it arrived on.
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.shared.lock().unwrap().arrivals.clone()
    }

    /// Pacing violations so far: heartbeats later than the interval plus 2 s (or missing that
    /// long on an open connection), IDENTIFYs less than 5 s apart, more than 120 payloads from
    /// the client in 60 s on one connection.
    pub fn violations(&self) -> Vec<String> {
        self.shared.lock().unwrap().violations.clone()
    }

    /// The id of the session the last IDENTIFY started, if any.
    pub fn session_id(&self) -> Option<String> {
        self.shared.lock().unwrap().current.clone()
    }

    /// Whether a client is connected now.
    pub fn is_connected(&self) -> bool {
        self.shared.lock().unwrap().live.is_some()
    }

    pub(crate) fn set_identify_hook(&self, hook: IdentifyHook, token: String) {
        let mut shared = self.shared.lock().unwrap();
        shared.identify = Some(hook);
        shared.token = Some(token);
    }

    pub(crate) fn handle(&self) -> GatewayHandle {
        GatewayHandle(self.shared.clone())
    }

    fn command(&self, command: Command) {
        let shared = self.shared.lock().unwrap();
        shared.live.as_ref().expect("a client is connected").send(command).unwrap();
    }

    /// Sends op 9 INVALID_SESSION with `d = resumable` on the live connection.
    pub fn invalidate_session(&self, resumable: bool) {
        self.send(Opcode::InvalidSession, json!(resumable));
    }

    /// Sends op 7 RECONNECT on the live connection.
    pub fn request_reconnect(&self) {
        self.send(Opcode::Reconnect, Value::Null);
    }

    /// Sends a raw frame on the live connection.
    pub fn send(&self, op: Opcode, d: Value) {
        self.command(Command::Send(GatewayPayload::new(op, d)));
    }

    /// Drops the live connection without a close frame.
    pub fn drop_connection(&self) {
        self.command(Command::Drop);
    }

    /// Closes the live connection with a code.
    pub fn close(&self, code: u16) {
        self.command(Command::Close(code));
    }

    /// The next thing the fake saw.
    pub async fn seen(&mut self) -> Seen {
        self.seen.recv().await.expect("the fake runs")
    }

    /// The next frame with this opcode, skipping everything else.
    pub async fn frame(&mut self, op: Opcode) -> GatewayPayload {
        loop {
            if let Seen::Frame(frame) = self.seen().await
                && frame.opcode() == Some(op)
            {
                return frame;
            }
        }
    }

    /// Everything seen so far, without waiting.
    pub fn drain(&mut self) -> Vec<Seen> {
        std::iter::from_fn(|| self.seen.try_recv().ok()).collect()
    }
}

fn handle_dispatch(shared: &Mutex<Shared>, name: &str, data: Value) -> Option<u64> {
    let mut shared = shared.lock().unwrap();
    let current = shared.current.clone()?;
    let log = shared.sessions.get_mut(&current).unwrap();
    let seq = log.len() as u64 + 1;
    log.push(GatewayPayload::dispatch(name, seq, data));
    if let Some(live) = &shared.live {
        let _ = live.send(Command::Flush);
    }
    Some(seq)
}

/// A cloneable handle for the REST side of a [`FakeDiscord`](super::FakeDiscord).
#[derive(Clone)]
pub(crate) struct GatewayHandle(Arc<Mutex<Shared>>);

impl GatewayHandle {
    pub(crate) fn dispatch(&self, name: &str, data: Value) -> Option<u64> {
        handle_dispatch(&self.0, name, data)
    }

    /// Waits (at most a second) until the live connection has written everything dispatched.
    pub(crate) async fn flushed(&self) {
        let (tx, rx) = oneshot::channel();
        let sent = self
            .0
            .lock()
            .unwrap()
            .live
            .as_ref()
            .is_some_and(|live| live.send(Command::FlushNotify(tx)).is_ok());
        if sent {
            let _ = tokio::time::timeout(Duration::from_secs(1), rx).await;
        }
    }

    /// Runs a fault on the live connection, if there is one.
    pub(crate) fn fault(&self, fault: super::GatewayFault) {
        let shared = self.0.lock().unwrap();
        let Some(live) = &shared.live else { return };
        let command = match fault {
            super::GatewayFault::Drop => Command::Drop,
            super::GatewayFault::Close(code) => Command::Close(code),
            super::GatewayFault::Reconnect => {
                Command::Send(GatewayPayload::new(Opcode::Reconnect, Value::Null))
            }
            super::GatewayFault::InvalidSession(resumable) => {
                Command::Send(GatewayPayload::new(Opcode::InvalidSession, json!(resumable)))
            }
        };
        let _ = live.send(command);
    }

    pub(crate) fn url(&self) -> String {
        self.0.lock().unwrap().url.clone()
    }
}

/// Discord's ETF writes snowflakes as integers: turn `id`, `*_id` and `ids` strings into numbers.
fn etf_snowflakes(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                let is_id = key == "id" || key.ends_with("_id") || key == "ids" || key == "roles";
                match item {
                    Value::String(s) if is_id => {
                        if let Ok(n) = s.parse::<u64>() {
                            *item = json!(n);
                        }
                    }
                    Value::Array(items) if is_id => {
                        for id in items {
                            if let Some(n) = id.as_str().and_then(|s| s.parse::<u64>().ok()) {
                                *id = json!(n);
                            }
                        }
                    }
                    _ => etf_snowflakes(item),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(etf_snowflakes),
        _ => {}
    }
}

struct Connection {
    socket: WebSocketStream<TcpStream>,
    encoding: Encoding,
    deflate: Option<Compress>,
    shared: Arc<Mutex<Shared>>,
    session: Option<String>,
    sent: u64,
    path: String,
    number: u32,
    interval: Duration,
    last_beat: Instant,
    /// The current silence was already reported.
    silence_reported: bool,
    recent: VecDeque<Instant>,
}

impl Connection {
    fn violation(&self, what: String) {
        self.shared.lock().unwrap().violations.push(what);
    }

    fn arrival(&self, kind: ArrivalKind) {
        let arrival = Arrival { kind, path: self.path.clone(), connection: self.number };
        self.shared.lock().unwrap().arrivals.push(arrival);
    }

    fn seen(&self, seen: Seen) {
        let _ = self.shared.lock().unwrap().seen.send(seen);
    }

    async fn send(&mut self, payload: &GatewayPayload) -> bool {
        let mut payload = payload.clone();
        if self.encoding == Encoding::Etf {
            etf_snowflakes(&mut payload.d);
        }
        let bytes = self.encoding.encode(&payload).unwrap();
        let split = self.shared.lock().unwrap().split_frames;
        let frames: Vec<Message> = match &mut self.deflate {
            Some(deflate) => {
                let mut out = Vec::with_capacity(bytes.len() + 64);
                let mut input = bytes.as_slice();
                loop {
                    if out.len() == out.capacity() {
                        out.reserve(1024);
                    }
                    let before = deflate.total_in();
                    deflate.compress_vec(input, &mut out, FlushCompress::Sync).unwrap();
                    input = &input[(deflate.total_in() - before) as usize..];
                    if input.is_empty() && out.len() < out.capacity() && out.ends_with(&[0, 0, 0xff, 0xff]) {
                        break;
                    }
                }
                let chunk = if split { out.len().div_ceil(3).max(1) } else { out.len() };
                out.chunks(chunk).map(|c| Message::Binary(c.to_vec().into())).collect()
            }
            None if self.encoding == Encoding::Json => {
                vec![Message::Text(String::from_utf8(bytes).unwrap().into())]
            }
            None => vec![Message::Binary(bytes.into())],
        };
        for frame in frames {
            if self.socket.send(frame).await.is_err() {
                return false;
            }
        }
        true
    }

    /// Sends the session's log entries after `sent`.
    async fn flush(&mut self) -> bool {
        let Some(session) = self.session.clone() else { return true };
        let pending: Vec<GatewayPayload> = {
            let shared = self.shared.lock().unwrap();
            shared.sessions[&session].iter().skip(self.sent as usize).cloned().collect()
        };
        for payload in pending {
            if !self.send(&payload).await {
                return false;
            }
            self.sent = payload.s.unwrap_or(self.sent);
        }
        true
    }

    /// Starts a session for an IDENTIFY; `Err(code)` closes the connection with that code.
    fn new_session(&mut self, identify: &Value) -> Result<(), u16> {
        let (id, url, hook) = {
            let mut shared = self.shared.lock().unwrap();
            shared.next_session += 1;
            (format!("session-{}", shared.next_session), shared.url.clone(), shared.identify.clone())
        };
        let log = match hook {
            Some(hook) => {
                let events = hook(identify, &id, &format!("{url}/resume"))?;
                events
                    .into_iter()
                    .enumerate()
                    .map(|(i, (name, d))| GatewayPayload::dispatch(name, i as u64 + 1, d))
                    .collect()
            }
            None => vec![GatewayPayload::dispatch("READY", 1, self.default_ready(&id))],
        };
        let mut shared = self.shared.lock().unwrap();
        shared.sessions.insert(id.clone(), log);
        shared.current = Some(id.clone());
        drop(shared);
        self.session = Some(id);
        self.sent = 0;
        Ok(())
    }

    fn default_ready(&self, id: &str) -> Value {
        let shared = self.shared.lock().unwrap();
        json!({
            "v": 10,
            "user": {"id": "1100000000000000099", "username": "rift-bot", "bot": true, "discriminator": "0"},
            "guilds": [{"id": "1100000000000000003", "unavailable": true}],
            "session_id": id,
            "resume_gateway_url": format!("{}/resume", shared.url),
            "shard": [0, 1],
            "private_channels": [],
        })
    }

    /// Records the pacing of a client payload.
    fn pace(&mut self, op: Option<Opcode>) {
        let now = Instant::now();
        self.recent.push_back(now);
        while self.recent.front().is_some_and(|t| now - *t > Duration::from_secs(60)) {
            self.recent.pop_front();
        }
        if self.recent.len() == 121 {
            self.violation(format!("connection {}: more than 120 payloads in 60 s", self.number));
        }
        match op {
            Some(Opcode::Heartbeat) => {
                let gap = now - self.last_beat;
                if gap > self.interval + HEARTBEAT_TOLERANCE && !self.silence_reported {
                    self.violation(format!(
                        "connection {}: heartbeat {} ms after the previous one (interval {} ms)",
                        self.number,
                        gap.as_millis(),
                        self.interval.as_millis()
                    ));
                }
                self.last_beat = now;
                self.silence_reported = false;
            }
            Some(Opcode::Identify) => {
                let mut shared = self.shared.lock().unwrap();
                if let Some(last) = shared.last_identify
                    && now - last < Duration::from_secs(5)
                {
                    let gap = (now - last).as_millis();
                    shared.violations.push(format!("identify {gap} ms after the previous one (minimum 5 s)"));
                }
                shared.last_identify = Some(now);
            }
            _ => {}
        }
    }

    /// Handles a client frame; `false` ends the connection.
    async fn client_frame(&mut self, frame: GatewayPayload) -> bool {
        self.seen(Seen::Frame(frame.clone()));
        self.pace(frame.opcode());
        match frame.opcode() {
            Some(Opcode::Heartbeat) => {
                let acking = self.shared.lock().unwrap().acking;
                !acking || self.send(&GatewayPayload::new(Opcode::HeartbeatAck, Value::Null)).await
            }
            Some(Opcode::Identify) => {
                self.arrival(ArrivalKind::Identify);
                match self.new_session(&frame.d) {
                    Ok(()) => self.flush().await,
                    Err(code) => {
                        let frame =
                            CloseFrame { code: CloseCode::from(code), reason: "identify refused".into() };
                        let _ = self.socket.close(Some(frame)).await;
                        false
                    }
                }
            }
            Some(Opcode::Resume) => {
                self.arrival(ArrivalKind::Resume);
                let expected = self.shared.lock().unwrap().token.clone();
                if expected.is_some_and(|token| frame.d["token"].as_str() != Some(token.as_str())) {
                    let frame =
                        CloseFrame { code: CloseCode::from(4004), reason: "Authentication failed.".into() };
                    let _ = self.socket.close(Some(frame)).await;
                    return false;
                }
                let session_id = frame.d["session_id"].as_str().unwrap_or_default().to_owned();
                let seq = frame.d["seq"].as_u64().unwrap_or(0);
                let known = {
                    let mut shared = self.shared.lock().unwrap();
                    match shared.sessions.get_mut(&session_id) {
                        Some(log) if seq <= log.len() as u64 => {
                            let resumed = log.len() as u64 + 1;
                            log.push(GatewayPayload::dispatch("RESUMED", resumed, Value::Null));
                            true
                        }
                        _ => false,
                    }
                };
                if known {
                    self.session = Some(session_id);
                    self.sent = seq;
                    self.flush().await
                } else {
                    self.send(&GatewayPayload::new(Opcode::InvalidSession, json!(false))).await
                }
            }
            _ => true,
        }
    }
}

#[allow(clippy::result_large_err)] // the handshake callback's signature is tungstenite's
async fn connection(stream: TcpStream, shared: Arc<Mutex<Shared>>) {
    // Without it, Nagle holds small frames for an ACK that the kernel delays by real
    // milliseconds, while the paused clock races ahead.
    let _ = stream.set_nodelay(true);
    let mut uri = None;
    let callback = |request: &Request, response: Response| {
        uri = Some(request.uri().clone());
        Ok(response)
    };
    let Ok(socket) = tokio_tungstenite::accept_hdr_async(stream, callback).await else { return };
    let uri = uri.expect("the handshake saw a request");
    let query = uri.query().unwrap_or_default().to_owned();
    let encoding = if query.contains("encoding=etf") { Encoding::Etf } else { Encoding::Json };
    let deflate = query.contains("compress=zlib-stream").then(|| Compress::new(Compression::default(), true));
    let (tx, mut commands) = mpsc::unbounded_channel();
    let (interval, number) = {
        let mut locked = shared.lock().unwrap();
        locked.live = Some(tx.clone());
        locked.connections += 1;
        let _ = locked.seen.send(Seen::Connected { path: uri.path().to_owned(), query });
        (locked.heartbeat_interval, locked.connections)
    };
    let mut conn = Connection {
        socket,
        encoding,
        deflate,
        shared: shared.clone(),
        session: None,
        sent: 0,
        path: uri.path().to_owned(),
        number,
        interval: Duration::from_millis(interval),
        last_beat: Instant::now(),
        silence_reported: false,
        recent: VecDeque::new(),
    };
    serve(&mut conn, interval, &mut commands).await;
    let mut locked = shared.lock().unwrap();
    if locked.live.as_ref().is_some_and(|live| live.same_channel(&tx)) {
        locked.live = None;
    }
}

async fn serve(conn: &mut Connection, interval: u64, commands: &mut mpsc::UnboundedReceiver<Command>) {
    if !conn.send(&GatewayPayload::new(Opcode::Hello, json!({"heartbeat_interval": interval}))).await {
        return;
    }
    loop {
        let overdue = conn.last_beat + conn.interval + HEARTBEAT_TOLERANCE;
        tokio::select! {
            () = tokio::time::sleep_until(overdue), if !conn.silence_reported => {
                let silent = (Instant::now() - conn.last_beat).as_millis();
                conn.violation(format!(
                    "connection {}: no heartbeat for {silent} ms (interval {} ms)",
                    conn.number,
                    conn.interval.as_millis()
                ));
                conn.silence_reported = true;
            }
            message = conn.socket.next() => {
                let frame = match message {
                    Some(Ok(Message::Text(text))) => serde_json::from_str(&text).ok(),
                    Some(Ok(Message::Binary(bytes))) => etf::from_slice(&bytes).ok(),
                    Some(Ok(Message::Close(frame))) => {
                        conn.seen(Seen::ClosedByClient(frame.map(|f| u16::from(f.code))));
                        break;
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => {
                        conn.seen(Seen::Gone);
                        break;
                    }
                };
                let Some(frame) = frame else {
                    conn.seen(Seen::Gone);
                    break;
                };
                if !conn.client_frame(frame).await {
                    conn.seen(Seen::Gone);
                    break;
                }
            }
            command = commands.recv() => {
                let ok = match command {
                    Some(Command::Flush) => conn.flush().await,
                    Some(Command::FlushNotify(done)) => {
                        let ok = conn.flush().await;
                        let _ = done.send(());
                        ok
                    }
                    Some(Command::Send(payload)) => conn.send(&payload).await,
                    Some(Command::Close(code)) => {
                        let frame = CloseFrame { code: CloseCode::from(code), reason: "scripted close".into() };
                        let _ = conn.socket.close(Some(frame)).await;
                        false
                    }
                    Some(Command::Drop) | None => false,
                };
                if !ok {
                    // A write failed or the script ended the connection: nothing more is read.
                    conn.seen(Seen::Gone);
                    break;
                }
            }
        }
    }
}
