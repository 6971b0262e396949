//! The real-time gateway at `/ws` (SPEC §5, §11): JSON frames over WebSocket, sessions that follow
//! what their user may see, sequence numbers, heartbeats and resume.
//!
//! Per connection one task reads client frames and writes server frames (`select!` over the
//! socket, the session's bounded outbound queue, a close signal and the heartbeat deadline). Per
//! session one pump task turns router deliveries into numbered frames (see [`session`]). Every
//! write a client asks for goes through the same service calls as REST.

mod frames;
mod session;

use futures_util::SinkExt;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use rift::RateLimiter;
use rift::Rift;
use rift::event::Topic;
use rift::{Error, SessionId, UserId};
use serde_json::{Value, json};

use self::frames::{ClientFrame, FrameError, close};
use self::session::{CloseSignal, Outbound, OutboundQueue, ResumeOutcome, SavedState, Session, View};
use crate::AppState;

/// Settings of the gateway.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GatewayConfig {
    /// How often clients should heartbeat; silent for two intervals closes 4009 (default 30 s).
    pub heartbeat_interval: Duration,
    /// How long a dropped session can be resumed (default 60 s).
    pub resume_window: Duration,
    /// Frames kept per session for resuming (default 1024).
    pub replay_capacity: usize,
    /// Frames queued for a connection before it counts as too slow and is closed (default 256).
    pub outbound_capacity: usize,
    /// Router deliveries queued for a session before it falls behind and ends (default 1024).
    pub subscription_capacity: usize,
    /// Whether client frames are limited to 50/s with bursts of 100 (close 4008).
    pub rate_limits: bool,
    /// How long one write may take before the client counts as not reading (default 10 s).
    pub write_timeout: Duration,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            heartbeat_interval: Duration::from_secs(30),
            resume_window: Duration::from_secs(60),
            replay_capacity: 1024,
            outbound_capacity: 256,
            subscription_capacity: 1024,
            rate_limits: true,
            write_timeout: Duration::from_secs(10),
        }
    }
}

/// Largest client frame: 64 KiB (close 1009 beyond).
const MAX_FRAME: usize = 64 * 1024;

/// The live sessions of this process.
pub(crate) struct Gateway {
    config: GatewayConfig,
    sessions: Mutex<HashMap<SessionId, Arc<Session>>>,
    next_connection: AtomicU64,
}

impl Gateway {
    pub(crate) fn new(config: GatewayConfig) -> Self {
        Self { config, sessions: Mutex::default(), next_connection: AtomicU64::new(1) }
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, Arc<Session>>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Live sessions (attached, or detached and still resumable).
    pub(crate) fn session_count(&self) -> usize {
        self.sessions().len()
    }

    fn all_sessions(&self) -> Vec<Arc<Session>> {
        self.sessions().values().cloned().collect()
    }
}

/// How long a shutdown waits for connections to finish their closing handshakes.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

impl AppState {
    /// For a shutdown: closes every gateway connection with 1012 (Service Restart: reconnect and
    /// Resume) and waits, up to 5 s, for them to let go of their sessions, which stay resumable.
    pub async fn close_gateway_connections(&self) {
        let sessions = self.gateway.all_sessions();
        for session in &sessions {
            session.close_connection(close::SERVICE_RESTART);
        }
        let deadline = Instant::now() + CLOSE_GRACE;
        while sessions.iter().any(|s| s.is_attached()) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// For a shutdown, after [`close_gateway_connections`](Self::close_gateway_connections) and
    /// once nothing publishes any more (bridges and the fan-out stopped): saves every resumable
    /// session (sequence, replay buffer, what it sees, and where the fan-out stood) under `owner`,
    /// so that after a restart [`RestoredSessions::load`] brings them back. Returns how many.
    ///
    /// # Errors
    /// When the database refuses them (nothing is saved then).
    pub async fn save_gateway_sessions(&self, owner: &str) -> rift::Result<usize> {
        let fanout = self.rift.fanout_position();
        let now = chrono::Utc::now();
        let mut saved = Vec::new();
        for session in self.gateway.all_sessions() {
            if let Some(state) = session.save(fanout).await {
                saved.push(rift::store::SavedSession::new(session.id, session.user_id, state, now));
            }
        }
        self.rift.save_gateway_sessions(owner, &saved).await?;
        Ok(saved.len())
    }

    /// Brings back the sessions [`RestoredSessions::load`] read: their pumps start, Resume finds
    /// them, and each ends when its resume window passes. Returns how many.
    pub async fn restore_gateway_sessions(&self, restored: RestoredSessions) -> usize {
        let count = restored.sessions.len();
        for (session, subscription, view) in restored.sessions {
            let session = Arc::new(session);
            let pump = session::pump(self.rift.clone(), Arc::clone(&session), subscription, view);
            session.set_pump(tokio::spawn(pump));
            self.gateway.sessions().insert(session.id, Arc::clone(&session));
            if let Err(error) = self.rift.session_connected(session.user_id).await {
                tracing::warn!(%error, "presence update failed");
            }
            let wait = self.gateway.config.resume_window.saturating_sub(session.detached_for());
            expire_later(self.clone(), session, wait);
        }
        count
    }
}

/// Gateway sessions saved by the previous shutdown, read back at start (see
/// [`AppState::save_gateway_sessions`]). Each is already subscribed to what it saw, so events
/// published from now on (including what the fan-out replays) are queued for it until
/// [`AppState::restore_gateway_sessions`] starts it.
pub struct RestoredSessions {
    sessions: Vec<(Session, rift::router::Subscription, View)>,
    fanout: Option<rift::fanout::Resume>,
}

impl std::fmt::Debug for RestoredSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestoredSessions").field("sessions", &self.sessions.len()).finish_non_exhaustive()
    }
}

impl RestoredSessions {
    /// Takes the sessions saved under `owner` (each is handed out once) and subscribes those
    /// still within `config`'s resume window on `router`. Call before the fan-out starts
    /// replaying into `router`.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn load(
        store: &dyn rift::Store,
        router: &rift::router::Router,
        owner: &str,
        config: &GatewayConfig,
    ) -> rift::Result<Self> {
        let now = chrono::Utc::now();
        let mut sessions = Vec::new();
        let mut fanout = None;
        for saved in store.take_gateway_sessions(owner).await? {
            let Some(state) = SavedState::parse(&saved.state) else {
                tracing::warn!(session = %saved.id, "a saved gateway session could not be read; not resumable");
                continue;
            };
            let detached_for = (now - saved.saved_at).to_std().unwrap_or_default();
            if detached_for >= config.resume_window {
                continue;
            }
            if fanout.is_some() && state.fanout != fanout {
                // One node saved them all at once; anything else cannot be replayed exactly.
                tracing::warn!("saved gateway sessions disagree on the fan-out position; none resumable");
                return Ok(Self { sessions: Vec::new(), fanout: None });
            }
            fanout = state.fanout;
            let restored = state.restore(
                saved.id,
                saved.user_id,
                detached_for,
                router,
                config.replay_capacity,
                config.subscription_capacity,
            );
            sessions.push(restored);
        }
        Ok(Self { sessions, fanout })
    }

    /// Where the saving node's fan-out stood: start the fan-out after it
    /// (`rift_store::Database::fanout_after`) so that what other nodes published meanwhile is
    /// replayed into these sessions.
    pub fn fanout_position(&self) -> Option<rift::fanout::Resume> {
        self.fanout
    }

    /// How many sessions were read back.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether none were.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Gives them up (the fan-out could not replay what they missed): their clients' Resume gets
    /// InvalidSession and they identify afresh.
    pub fn discard(self) -> usize {
        self.sessions.len()
    }
}

/// GET /ws
pub(crate) async fn upgrade(State(state): State<AppState>, ws: WebSocketUpgrade) -> Response {
    // Small buffers: every idle connection holds its read buffer (client frames are small and
    // a larger one is read in several pieces).
    ws.read_buffer_size(1024)
        .write_buffer_size(4096)
        .max_frame_size(MAX_FRAME)
        .max_message_size(MAX_FRAME)
        .on_upgrade(move |socket| Connection::new(state, socket).run())
}

/// Whether a read error was a frame over the size limit.
fn is_too_big(error: axum::Error) -> bool {
    matches!(
        error.into_inner().downcast_ref::<tokio_tungstenite::tungstenite::Error>(),
        Some(tokio_tungstenite::tungstenite::Error::Capacity(_))
    )
}

/// How a connection ended.
enum Ending {
    /// Close with this code; the session (if any) stays resumable unless told otherwise.
    Close(u16),
    /// The client closed with 1000: the session ends.
    ClientDone,
    /// The socket went away without a close.
    Gone,
}

struct Connection {
    state: AppState,
    socket: WebSocket,
    id: u64,
    session: Option<Arc<Session>>,
    outbound: Option<Arc<OutboundQueue>>,
    close: Arc<CloseSignal>,
    limiter: RateLimiter<()>,
    deadline: Instant,
}

impl Connection {
    fn new(state: AppState, socket: WebSocket) -> Self {
        let id = state.gateway.next_connection.fetch_add(1, Ordering::Relaxed);
        let deadline = Instant::now() + state.gateway.config.heartbeat_interval * 2;
        Self {
            state,
            socket,
            id,
            session: None,
            outbound: None,
            close: Arc::default(),
            limiter: RateLimiter::new(50.0, 100.0),
            deadline,
        }
    }

    fn rift(&self) -> &Rift {
        &self.state.rift
    }

    fn config(&self) -> &GatewayConfig {
        &self.state.gateway.config
    }

    async fn send(&mut self, text: &str) -> bool {
        let timeout = self.config().write_timeout;
        matches!(tokio::time::timeout(timeout, self.socket.send(Message::text(text))).await, Ok(Ok(())))
    }

    /// Writes `first` and every frame already queued for this connection, flushing once;
    /// `false` when the socket failed or did not take them within the write timeout.
    async fn write_outbound(&mut self, first: Option<Outbound>) -> bool {
        let Some(queue) = self.outbound.as_ref() else { return true };
        let mut batch = Vec::new();
        batch.extend(first);
        // At most one queue's worth, so a busy channel cannot keep this loop from reading.
        while batch.len() < self.state.gateway.config.outbound_capacity
            && let Some(next) = queue.try_pop()
        {
            batch.push(next);
        }
        if batch.is_empty() {
            return true;
        }
        let socket = &mut self.socket;
        let write = async {
            for outbound in &batch {
                if let Some(frame) = frames::sequenced(&outbound.event, outbound.seq) {
                    socket.feed(Message::text(frame)).await?;
                }
            }
            socket.flush().await
        };
        let timeout = self.state.gateway.config.write_timeout;
        if !matches!(tokio::time::timeout(timeout, write).await, Ok(Ok(()))) {
            return false;
        }
        for outbound in &batch {
            self.state.metrics.delivered(outbound.queued_at.elapsed());
        }
        true
    }

    async fn run(mut self) {
        let ending = self.serve().await;
        // Boxed, as it runs once, at the end.
        Box::pin(self.finish(ending)).await;
    }

    /// The closing handshake and what becomes of the session.
    async fn finish(mut self, ending: Ending) {
        let code = match ending {
            Ending::Close(code) => Some(code),
            Ending::ClientDone | Ending::Gone => None,
        };
        if let Some(code) = code {
            let frame = CloseFrame { code, reason: "".into() };
            // The closing handshake: send our close, then read (and drop) until the client's close or
            // EOF, so unread client frames do not turn our close into a connection reset.
            let closing = async {
                self.socket.send(Message::Close(Some(frame))).await.ok()?;
                while let Some(Ok(message)) = self.socket.recv().await {
                    if matches!(message, Message::Close(_)) {
                        break;
                    }
                }
                Some(())
            };
            let _ = tokio::time::timeout(Duration::from_secs(2), closing).await;
        }
        let Some(session) = self.session.take() else { return };
        match ending {
            Ending::ClientDone => end_session(&self.state, &session).await,
            _ => {
                // Resumable for the window; an ended session (it fell behind) is cleaned up then too.
                session.detach(self.id);
                let window = self.config().resume_window;
                expire_later(self.state.clone(), session, window);
            }
        }
    }

    async fn serve(&mut self) -> Ending {
        loop {
            let deadline = tokio::time::Instant::from_std(self.deadline);
            tokio::select! {
                message = self.socket.recv() => match message {
                    None => return Ending::Gone,
                    Some(Err(error)) => return if is_too_big(error) { Ending::Close(close::TOO_BIG) } else { Ending::Gone },
                    Some(Ok(Message::Text(text))) => {
                        self.deadline = Instant::now() + self.config().heartbeat_interval * 2;
                        // Events queued for this connection go out before the next client frame
                        // is handled: a client sending as fast as it can (its own echoes queue up
                        // with every send) must not fill its queue and be closed for it.
                        if !self.write_outbound(None).await {
                            return Ending::Gone;
                        }
                        if self.config().rate_limits && self.limiter.check(&()).is_err() {
                            return Ending::Close(close::RATE_LIMITED);
                        }
                        // Boxed: what a frame runs (a send, an identify) is large, and an idle
                        // connection's task should not carry room for it.
                        if let Some(ending) = Box::pin(self.handle(text.as_str())).await {
                            return ending;
                        }
                    }
                    Some(Ok(Message::Binary(_))) => return Ending::Close(close::DECODE),
                    Some(Ok(Message::Close(frame))) => {
                        return match frame {
                            Some(frame) if frame.code == close::NORMAL => Ending::ClientDone,
                            _ => Ending::Gone,
                        };
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                },
                Some(first) = recv_outbound(&self.outbound) => {
                    if !self.write_outbound(Some(first)).await {
                        return Ending::Gone;
                    }
                }
                code = self.close.wait() => return Ending::Close(code),
                () = tokio::time::sleep_until(deadline) => return Ending::Close(close::SESSION_TIMED_OUT),
            }
        }
    }

    /// Handles one text frame; `Some` ends the connection.
    async fn handle(&mut self, text: &str) -> Option<Ending> {
        let frame = match frames::parse(text) {
            Ok(frame) => frame,
            Err(FrameError::Decode) => return Some(Ending::Close(close::DECODE)),
            Err(FrameError::UnknownType) => return Some(Ending::Close(close::UNKNOWN_TYPE)),
            Err(FrameError::Invalid { message, nonce }) => {
                if self.session.is_none() {
                    return Some(Ending::Close(close::NOT_AUTHENTICATED));
                }
                let frame = frames::error_frame(rift::ErrorCode::InvalidFrame.as_str(), &message, nonce);
                return (!self.send(&frame).await).then_some(Ending::Gone);
            }
        };
        let Some(session) = self.session.clone() else {
            return match frame {
                ClientFrame::Identify { token } => self.identify(token.expose()).await,
                ClientFrame::Resume { token, session_id, seq } => {
                    self.resume(token.expose(), session_id, seq).await
                }
                _ => Some(Ending::Close(close::NOT_AUTHENTICATED)),
            };
        };
        let user = session.user_id;
        let (result, nonce) = match frame {
            ClientFrame::Identify { .. } | ClientFrame::Resume { .. } => {
                return Some(Ending::Close(close::ALREADY_AUTHENTICATED));
            }
            ClientFrame::Heartbeat => {
                let ack = frames::frame("HeartbeatAck", Value::Null);
                return (!self.send(&ack).await).then_some(Ending::Gone);
            }
            ClientFrame::SendMessage { channel_id, message } => {
                let nonce = message.nonce.clone().map(Value::String);
                let sent = self.rift().send_message(user, channel_id, message).await;
                if sent.as_ref().is_ok_and(|sent| sent.created) {
                    self.state.metrics.message_sent(crate::metrics::Via::Gateway);
                }
                (sent.map(|_| ()), nonce)
            }
            ClientFrame::StartTyping { channel_id } => {
                (self.rift().start_typing(user, channel_id).await, None)
            }
            ClientFrame::UpdatePresence { status } => {
                let mut update = rift::ProfileUpdate::default();
                update.status = Some(status);
                (self.rift().update_profile(user, update).await.map(|_| ()), None)
            }
            ClientFrame::SubscribeChannel { channel_id } => {
                (self.rift().channel(user, channel_id).await.map(|_| ()), None)
            }
            ClientFrame::SubscribeServer { server_id } => {
                (self.rift().server(user, server_id).await.map(|_| ()), None)
            }
        };
        if let Err(error) = result {
            let frame = error_frame(&error, nonce);
            return (!self.send(&frame).await).then_some(Ending::Gone);
        }
        None
    }

    /// A new session: subscribe to everything the user may see, then send `Ready`.
    async fn identify(&mut self, token: &str) -> Option<Ending> {
        let user_id = match authenticated(self.rift(), token).await {
            Ok(user_id) => user_id,
            Err(ending) => return Some(ending),
        };
        match self.start_session(user_id).await {
            Ok(()) => None,
            Err(error) => {
                tracing::error!(%error, "gateway identify failed");
                Some(Ending::Close(close::UNKNOWN))
            }
        }
    }

    async fn start_session(&mut self, user_id: UserId) -> rift::Result<()> {
        let config = self.config().clone();
        let rift = self.rift().clone();
        // Subscribe before loading what the user sees, so nothing published meanwhile is missed.
        let subscription = rift.router().subscribe(config.subscription_capacity);
        subscription.add(Topic::User(user_id));
        let user = rift.me(user_id).await?;
        let ready = rift.ready_state(user_id).await?;
        let mut view = View { servers: HashMap::new(), dms: HashSet::new() };
        for server in &ready.servers {
            subscription.add(Topic::Server(server.server.id));
            let channels = view.servers.entry(server.server.id).or_default();
            for ready in &server.channels {
                subscription.add(Topic::Channel(ready.channel.id));
                channels.insert(ready.channel.id);
            }
        }
        for dm in &ready.dm_channels {
            subscription.add(Topic::Channel(dm.id));
            view.dms.insert(dm.id);
        }
        let session = Arc::new(Session::new(SessionId::new(), user_id, config.replay_capacity));
        let ready = frames::frame(
            "Ready",
            json!({
                "user_id": user_id,
                "username": user.username,
                "session_id": session.id,
                "heartbeat_interval_ms": u64::try_from(config.heartbeat_interval.as_millis()).unwrap_or(u64::MAX),
                "user": user,
                "servers": ready.servers,
                "dm_channels": ready.dm_channels,
                "read_state": ready.read_state,
                "mention_counts": ready.mention_counts,
            }),
        );
        if !self.send(&ready).await {
            return Err(Error::Internal("could not send Ready".into()));
        }
        let outbound = Arc::new(OutboundQueue::new(config.outbound_capacity));
        session.attach(self.id, Arc::clone(&outbound), Arc::clone(&self.close));
        session.set_pump(tokio::spawn(session::pump(rift.clone(), Arc::clone(&session), subscription, view)));
        self.state.gateway.sessions().insert(session.id, Arc::clone(&session));
        self.session = Some(session);
        self.outbound = Some(outbound);
        rift.session_connected(user_id).await?;
        Ok(())
    }

    /// Re-attaches to a session: replays what it missed, then `Resumed`; or `InvalidSession`.
    async fn resume(&mut self, token: &str, session_id: SessionId, seq: u64) -> Option<Ending> {
        let user_id = match authenticated(self.rift(), token).await {
            Ok(user_id) => user_id,
            Err(ending) => return Some(ending),
        };
        let session = self.state.gateway.sessions().get(&session_id).cloned();
        let outbound = Arc::new(OutboundQueue::new(self.config().outbound_capacity));
        let outcome = match &session {
            Some(session) if session.user_id == user_id => {
                session.resume(seq, self.id, Arc::clone(&outbound), Arc::clone(&self.close))
            }
            _ => ResumeOutcome::Invalid,
        };
        match (outcome, session) {
            (ResumeOutcome::Resumed(missed), Some(session)) => {
                self.session = Some(session);
                self.outbound = Some(outbound);
                for (seq, event) in missed {
                    let Some(frame) = frames::sequenced(&event, seq) else { continue };
                    if !self.send(&frame).await {
                        return Some(Ending::Gone);
                    }
                }
                let resumed = frames::frame("Resumed", Value::Null);
                (!self.send(&resumed).await).then_some(Ending::Gone)
            }
            _ => {
                let invalid = frames::frame("InvalidSession", json!({ "resumable": false }));
                (!self.send(&invalid).await).then_some(Ending::Gone)
            }
        }
    }
}

/// Ends a detached session when the resume window passes without a resume (`wait` from now: a
/// restored session has already waited part of it).
fn expire_later(state: AppState, session: Arc<Session>, wait: Duration) {
    let window = state.gateway.config.resume_window;
    tokio::spawn(async move {
        tokio::time::sleep(wait).await;
        if session.expired(window) {
            end_session(&state, &session).await;
        }
    });
}

/// Ends a session for good: no resume; the user goes offline if it was their last.
async fn end_session(state: &AppState, session: &Arc<Session>) {
    state.gateway.sessions().remove(&session.id);
    if session.end()
        && let Err(error) = state.rift.session_disconnected(session.user_id).await
    {
        tracing::warn!(%error, "presence update failed");
    }
}

async fn recv_outbound(outbound: &Option<Arc<OutboundQueue>>) -> Option<Outbound> {
    match outbound {
        Some(queue) => Some(queue.pop().await),
        None => std::future::pending().await,
    }
}

fn error_frame(error: &Error, nonce: Option<Value>) -> String {
    frames::error_frame(error.code().as_str(), &error.public_message(), nonce)
}

/// The token's user, if it may connect: a bad token or a disabled account closes 4004; not
/// being able to tell (the database) closes 4000.
async fn authenticated(rift: &rift::Rift, token: &str) -> Result<rift::UserId, Ending> {
    match rift.authenticate_active(token).await {
        Ok(user_id) => Ok(user_id),
        Err(error) if error.kind() == rift::ErrorKind::Unauthenticated => {
            Err(Ending::Close(close::AUTHENTICATION_FAILED))
        }
        Err(error) => {
            tracing::error!(%error, "gateway authentication failed");
            Err(Ending::Close(close::UNKNOWN))
        }
    }
}
