//! Gateway sessions. A session outlives its connection: its pump keeps turning router deliveries
//! into numbered frames (kept in a replay buffer) while the client is away, so a resume within the
//! window gets exactly what it missed. The pump also keeps the session's subscriptions equal to what
//! its user may see: joining, leaving, kicks, bans, role and overwrite changes all re-subscribe.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rift::Rift;
use rift::event::{Event, Topic};
use rift::fanout::Resume;
use rift::router::{RecvError, Subscription};
use rift::{ChannelId, ServerId, SessionId, UserId};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use super::frames::{self, close};

/// Tells a connection to close with a code (from the pump or a newer connection).
#[derive(Default)]
pub(crate) struct CloseSignal {
    code: AtomicU16,
    notify: Notify,
}

impl CloseSignal {
    pub(crate) fn close(&self, code: u16) {
        self.code.store(code, Ordering::Relaxed);
        self.notify.notify_one();
    }

    pub(crate) async fn wait(&self) -> u16 {
        self.notify.notified().await;
        self.code.load(Ordering::Relaxed)
    }
}

/// A numbered event for the attached connection: the event's wire form, shared with every other
/// session it went to (the number is spliced in as it is written, [`frames::sequenced`]), and when
/// the pump queued it (for the delivery metric).
pub(crate) struct Outbound {
    pub(crate) seq: u64,
    pub(crate) event: Arc<str>,
    pub(crate) queued_at: Instant,
}

/// The events waiting for one connection, at most `capacity`. A deque rather than a tokio
/// channel: a channel allocates a block of 32 slots when it is made (about 1 KiB for every idle
/// connection); this allocates only while events wait, and gives a grown buffer back once drained.
pub(crate) struct OutboundQueue {
    frames: Mutex<VecDeque<Outbound>>,
    ready: Notify,
    capacity: usize,
}

impl OutboundQueue {
    pub(crate) fn new(capacity: usize) -> Self {
        Self { frames: Mutex::new(VecDeque::new()), ready: Notify::new(), capacity }
    }

    fn frames(&self) -> std::sync::MutexGuard<'_, VecDeque<Outbound>> {
        self.frames.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `frame`; `false` when the queue is full.
    fn push(&self, frame: Outbound) -> bool {
        let mut frames = self.frames();
        if frames.len() >= self.capacity {
            return false;
        }
        frames.push_back(frame);
        drop(frames);
        self.ready.notify_one();
        true
    }

    /// The next waiting frame, if any.
    pub(crate) fn try_pop(&self) -> Option<Outbound> {
        let mut frames = self.frames();
        let frame = frames.pop_front();
        if frames.is_empty() && frames.capacity() > 16 {
            *frames = VecDeque::new();
        }
        frame
    }

    /// Waits for the next frame. Cancel-safe: a frame is taken only when it is returned (one
    /// reader; `notify_one` keeps a wake-up that comes before the wait).
    pub(crate) async fn pop(&self) -> Outbound {
        loop {
            if let Some(frame) = self.try_pop() {
                return frame;
            }
            self.ready.notified().await;
        }
    }
}

/// The connection a session is currently attached to.
struct Attachment {
    id: u64,
    outbound: Arc<OutboundQueue>,
    close: Arc<CloseSignal>,
}

struct SessionState {
    seq: u64,
    /// The newest events (wire forms shared with other sessions) with their sequence numbers,
    /// for resuming.
    replay: VecDeque<(u64, Arc<str>)>,
    attached: Option<Attachment>,
    detached_at: Option<Instant>,
    ended: bool,
}

/// One gateway session of a user.
pub(crate) struct Session {
    pub(crate) id: SessionId,
    pub(crate) user_id: UserId,
    state: Mutex<SessionState>,
    replay_capacity: usize,
    pump: Mutex<Option<tokio::task::JoinHandle<Option<View>>>>,
    /// Tells the pump to route what is queued and stop, handing back its view (at shutdown).
    drain: Notify,
}

/// What a resume found.
pub(crate) enum ResumeOutcome {
    /// Attached: send these events (numbered), then `Resumed`.
    Resumed(Vec<(u64, Arc<str>)>),
    /// Too old, unknown, ended or someone else's.
    Invalid,
}

impl Session {
    pub(crate) fn new(id: SessionId, user_id: UserId, replay_capacity: usize) -> Self {
        Self {
            id,
            user_id,
            state: Mutex::new(SessionState {
                seq: 0,
                replay: VecDeque::new(),
                attached: None,
                detached_at: None,
                ended: false,
            }),
            replay_capacity,
            pump: Mutex::new(None),
            drain: Notify::new(),
        }
    }

    /// A session saved at shutdown, detached since `detached_for` ago.
    fn restored(
        id: SessionId,
        user_id: UserId,
        replay_capacity: usize,
        saved: &SavedState,
        detached_for: Duration,
    ) -> Self {
        let session = Self::new(id, user_id, replay_capacity);
        {
            let mut state = session.state();
            state.seq = saved.seq;
            // Saved as numbered frames; a frame that is not one is left out (a resume that needs
            // it is then refused rather than given a wrong frame).
            state.replay = saved
                .replay
                .iter()
                .map_while(|(seq, frame)| Some((*seq, Arc::from(frames::unsequenced(frame, *seq)?))))
                .collect();
            state.detached_at = Some(Instant::now().checked_sub(detached_for).unwrap_or_else(Instant::now));
        }
        session
    }

    /// Closes the attached connection, if any, with `code`; the session stays resumable.
    pub(crate) fn close_connection(&self, code: u16) {
        if let Some(attached) = self.state().attached.as_ref() {
            attached.close.close(code);
        }
    }

    /// How long it has waited without a connection (zero while attached).
    pub(crate) fn detached_for(&self) -> Duration {
        self.state().detached_at.map_or(Duration::ZERO, |at| at.elapsed())
    }

    /// Whether a connection is attached.
    pub(crate) fn is_attached(&self) -> bool {
        self.state().attached.is_some()
    }

    /// Stops the pump once it has routed what is queued, and encodes the session for a restart;
    /// `None` when it has ended (or falls behind while draining).
    pub(crate) async fn save(&self, fanout: Option<Resume>) -> Option<String> {
        let pump = self.pump.lock().unwrap_or_else(|p| p.into_inner()).take()?;
        self.drain.notify_one();
        let view = pump.await.ok()??;
        let state = self.state();
        if state.ended {
            return None;
        }
        let saved = SavedState {
            seq: state.seq,
            replay: state
                .replay
                .iter()
                .filter_map(|(seq, event)| Some((*seq, frames::sequenced(event, *seq)?)))
                .collect(),
            servers: view
                .servers
                .into_iter()
                .map(|(server, channels)| (server, channels.into_iter().collect()))
                .collect(),
            dms: view.dms.into_iter().collect(),
            fanout,
        };
        serde_json::to_string(&saved).ok()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, SessionState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Attaches a fresh connection (after Identify).
    pub(crate) fn attach(&self, id: u64, outbound: Arc<OutboundQueue>, close: Arc<CloseSignal>) {
        let mut state = self.state();
        state.attached = Some(Attachment { id, outbound, close });
        state.detached_at = None;
    }

    /// Attaches a resuming connection: the frames after `seq`, or `Invalid` when some are gone.
    /// An older connection of the session is closed (4000).
    pub(crate) fn resume(
        &self,
        seq: u64,
        id: u64,
        outbound: Arc<OutboundQueue>,
        close: Arc<CloseSignal>,
    ) -> ResumeOutcome {
        let mut state = self.state();
        let oldest = state.replay.front().map_or(state.seq + 1, |(s, _)| *s);
        if state.ended || seq > state.seq || seq + 1 < oldest {
            return ResumeOutcome::Invalid;
        }
        let missed =
            state.replay.iter().filter(|(s, _)| *s > seq).map(|(s, event)| (*s, Arc::clone(event))).collect();
        if let Some(old) = state.attached.replace(Attachment { id, outbound, close }) {
            old.close.close(close::UNKNOWN);
        }
        state.detached_at = None;
        ResumeOutcome::Resumed(missed)
    }

    /// Detaches connection `id` if it is still the attached one; the session waits for a resume.
    pub(crate) fn detach(&self, id: u64) {
        let mut state = self.state();
        if state.attached.as_ref().is_some_and(|a| a.id == id) {
            state.attached = None;
            state.detached_at = Some(Instant::now());
        }
    }

    /// Whether the session has waited longer than `window` without a connection.
    pub(crate) fn expired(&self, window: std::time::Duration) -> bool {
        let state = self.state();
        state.ended || state.detached_at.is_some_and(|at| at.elapsed() >= window)
    }

    /// Ends the session: no resume is possible; the pump stops. Returns whether this call ended it.
    pub(crate) fn end(&self) -> bool {
        let mut state = self.state();
        if state.ended {
            return false;
        }
        state.ended = true;
        if let Some(attached) = state.attached.take() {
            attached.close.close(close::UNKNOWN);
        }
        drop(state);
        if let Some(pump) = self.pump.lock().unwrap_or_else(|p| p.into_inner()).take() {
            pump.abort();
        }
        true
    }

    pub(crate) fn set_pump(&self, pump: tokio::task::JoinHandle<Option<View>>) {
        *self.pump.lock().unwrap_or_else(|p| p.into_inner()) = Some(pump);
    }

    /// Numbers an event (given in its wire form, a JSON object), keeps it for resuming and hands
    /// it to the connection. A connection whose queue is full is told to close (4000); the session
    /// stays resumable.
    fn dispatch(&self, event: &Arc<str>) {
        if !event.starts_with('{') {
            return;
        }
        let mut state = self.state();
        let seq = state.seq + 1;
        state.seq = seq;
        state.replay.push_back((seq, Arc::clone(event)));
        while state.replay.len() > self.replay_capacity {
            state.replay.pop_front();
        }
        let full = match &state.attached {
            Some(attached) => {
                !attached.outbound.push(Outbound { seq, event: Arc::clone(event), queued_at: Instant::now() })
            }
            None => false,
        };
        if full && let Some(attached) = state.attached.take() {
            attached.close.close(close::UNKNOWN);
            state.detached_at = Some(Instant::now());
        }
    }
}

/// What the session can see, kept by its pump.
pub(crate) struct View {
    /// Servers the user is in, with the channels they can view.
    pub(crate) servers: HashMap<ServerId, HashSet<ChannelId>>,
    /// DM channels.
    pub(crate) dms: HashSet<ChannelId>,
}

impl View {
    fn can_see(&self, channel: ChannelId) -> bool {
        self.dms.contains(&channel) || self.servers.values().any(|channels| channels.contains(&channel))
    }
}

/// A session as saved at shutdown (the `state` of a [`rift::store::SavedSession`]).
#[derive(Serialize, Deserialize)]
pub(crate) struct SavedState {
    seq: u64,
    replay: Vec<(u64, String)>,
    servers: HashMap<ServerId, Vec<ChannelId>>,
    dms: Vec<ChannelId>,
    /// Where the node's fan-out stood: events other nodes published after it are replayed.
    pub(crate) fanout: Option<Resume>,
}

impl SavedState {
    pub(crate) fn parse(state: &str) -> Option<Self> {
        serde_json::from_str(state).ok()
    }

    /// The session again, subscribed (on `router`) to what it saw, so every event published from
    /// now on is queued for it; its pump starts later ([`pump`]).
    pub(crate) fn restore(
        &self,
        id: SessionId,
        user_id: UserId,
        detached_for: Duration,
        router: &rift::router::Router,
        replay_capacity: usize,
        subscription_capacity: usize,
    ) -> (Session, Subscription, View) {
        let subscription = router.subscribe(subscription_capacity);
        subscription.add(Topic::User(user_id));
        let mut view = View { servers: HashMap::new(), dms: HashSet::new() };
        for (server, channels) in &self.servers {
            subscription.add(Topic::Server(*server));
            for channel in channels {
                subscription.add(Topic::Channel(*channel));
            }
            view.servers.insert(*server, channels.iter().copied().collect());
        }
        for dm in &self.dms {
            subscription.add(Topic::Channel(*dm));
            view.dms.insert(*dm);
        }
        (Session::restored(id, user_id, replay_capacity, self, detached_for), subscription, view)
    }
}

/// Feeds router deliveries into the session until it ends or falls behind (`None`), or until it
/// is told to drain (at shutdown): then it routes what is queued and hands back its view.
pub(crate) async fn pump(
    rift: Rift,
    session: Arc<Session>,
    mut subscription: Subscription,
    mut view: View,
) -> Option<View> {
    loop {
        let delivery = tokio::select! {
            delivery = subscription.recv() => delivery,
            () = session.drain.notified() => loop {
                match subscription.try_recv() {
                    None => return Some(view),
                    Some(Ok(delivery)) => {
                        if !deliver(&rift, &session, &subscription, &mut view, &delivery).await {
                            return None;
                        }
                    }
                    Some(Err(RecvError::Lagged)) => {
                        Box::pin(end_from_pump(&rift, &session)).await;
                        return None;
                    }
                }
            },
        };
        let delivery = match delivery {
            Ok(delivery) => delivery,
            Err(RecvError::Lagged) => {
                tracing::warn!(session = %session.id, "gateway session fell behind its events; ending it");
                Box::pin(end_from_pump(&rift, &session)).await;
                return None;
            }
        };
        if !deliver(&rift, &session, &subscription, &mut view, &delivery).await {
            return None;
        }
    }
}

/// Ends the session from its own pump (which must not abort itself mid-cleanup: its handle is
/// taken out first).
async fn end_from_pump(rift: &Rift, session: &Session) {
    drop(session.pump.lock().unwrap_or_else(|p| p.into_inner()).take());
    if session.end() {
        let _ = rift.session_disconnected(session.user_id).await;
    }
}

/// Routes one delivery into the session; `false` when the session had to end.
async fn deliver(
    rift: &Rift,
    session: &Session,
    subscription: &Subscription,
    view: &mut View,
    delivery: &rift::router::Delivery,
) -> bool {
    let events = match delivery.topic {
        // Nearly every event: decided from the view alone, with no database read.
        Topic::Channel(channel) => Some(channel_events(view, channel, &delivery.event)),
        // Boxed: deciding may read the database, and an idle session's task should not carry
        // room for that.
        _ => Box::pin(route_with_retries(rift, session, subscription, view, delivery)).await,
    };
    let Some(events) = events else {
        // Guessing would either leak events or silently drop a whole server, so the session
        // ends (its connection closes with 4000) and the client identifies again, getting a
        // fresh Ready.
        Box::pin(end_from_pump(rift, session)).await;
        return false;
    };
    for event in events {
        match event {
            // The delivered event itself: its wire form is built once for every session.
            Cow::Borrowed(_) => {
                if let Some(json) = delivery.event_json() {
                    session.dispatch(json);
                }
            }
            Cow::Owned(derived) => {
                if let Ok(json) = serde_json::to_string(&derived) {
                    session.dispatch(&Arc::from(json));
                }
            }
        }
    }
    true
}

/// [`route`], retried with [`RETRY_BACKOFF`] when the database fails; `None` after the last try.
async fn route_with_retries<'e>(
    rift: &Rift,
    session: &Session,
    subscription: &Subscription,
    view: &mut View,
    delivery: &'e rift::router::Delivery,
) -> Option<Vec<Cow<'e, Event>>> {
    let mut failures = 0;
    loop {
        match route(rift, session, subscription, view, delivery.topic, &delivery.event).await {
            Ok(events) => return Some(events),
            Err(error) if failures < RETRY_BACKOFF.len() => {
                tracing::warn!(session = %session.id, %error, "gateway session could not re-check visibility; retrying");
                tokio::time::sleep(RETRY_BACKOFF[failures]).await;
                failures += 1;
            }
            Err(error) => {
                tracing::error!(session = %session.id, %error, "gateway session could not re-check visibility; ending it");
                return None;
            }
        }
    }
}

/// A channel's event, queued before an unsubscribe, is dropped if the session can no longer see
/// the channel.
fn channel_events<'e>(view: &View, channel: ChannelId, event: &'e Event) -> Vec<Cow<'e, Event>> {
    if view.can_see(channel) { vec![Cow::Borrowed(event)] } else { vec![] }
}

/// Waits before each retry when deciding what a session may see fails (the database, not the
/// answer "not visible"); after the last one the session ends.
const RETRY_BACKOFF: [std::time::Duration; 3] = [
    std::time::Duration::from_millis(50),
    std::time::Duration::from_millis(250),
    std::time::Duration::from_secs(1),
];

/// Decides what one delivery means for this session: the events to send (borrowed: the delivered
/// event itself; owned: one derived from it), and subscription changes. An error means visibility
/// could not be decided (nothing was changed that a retry would not redo).
async fn route<'e>(
    rift: &Rift,
    session: &Session,
    subscription: &Subscription,
    view: &mut View,
    topic: Topic,
    event: &'e Event,
) -> rift::Result<Vec<Cow<'e, Event>>> {
    let me = session.user_id;
    Ok(match (topic, event) {
        (Topic::Channel(channel), _) => channel_events(view, channel, event),
        (Topic::User(_), Event::MemberAdd(member)) if member.user.id == me => {
            let mut out = vec![Cow::Borrowed(event)];
            out.extend(
                join(rift, me, subscription, view, member.server_id).await?.into_iter().map(Cow::Owned),
            );
            out
        }
        (Topic::User(_), Event::DmChannelCreate(dm)) => {
            view.dms.insert(dm.id);
            subscription.add(Topic::Channel(dm.id));
            vec![Cow::Borrowed(event)]
        }
        (Topic::User(_), _) => vec![Cow::Borrowed(event)],
        // Between nodes only; a session never subscribes to it.
        (Topic::Nodes, _) => vec![],
        (Topic::Server(server), _) if !view.servers.contains_key(&server) => vec![],
        (Topic::Server(server), event) => match event {
            // The joiner hears of its own join on its user topic.
            Event::MemberAdd(member) if member.user.id == me => vec![],
            Event::MemberRemove { user_id, .. } if *user_id == me => {
                leave(subscription, view, server);
                vec![Cow::Borrowed(event)]
            }
            Event::ServerDelete { .. } => {
                leave(subscription, view, server);
                vec![Cow::Borrowed(event)]
            }
            Event::ChannelCreate(channel) | Event::ChannelUpdate(channel) => {
                let visible = rift.visible_channel(me, channel.id).await?.is_some();
                let channels = view.servers.entry(server).or_default();
                let was_visible = channels.contains(&channel.id);
                if visible {
                    channels.insert(channel.id);
                    subscription.add(Topic::Channel(channel.id));
                    vec![Cow::Borrowed(event)]
                } else if was_visible {
                    channels.remove(&channel.id);
                    subscription.remove(Topic::Channel(channel.id));
                    vec![Cow::Owned(Event::ChannelDelete { id: channel.id, server_id: server })]
                } else {
                    vec![]
                }
            }
            Event::ChannelDelete { id, .. } => {
                let was_visible = view.servers.get_mut(&server).is_some_and(|c| c.remove(id));
                subscription.remove(Topic::Channel(*id));
                if was_visible { vec![Cow::Borrowed(event)] } else { vec![] }
            }
            // Permissions may have changed: what the user sees in the server is computed again.
            Event::RoleCreate(_) | Event::RoleUpdate(_) | Event::RoleDelete { .. } => {
                let derived = refresh(rift, me, subscription, view, server).await?;
                std::iter::once(Cow::Borrowed(event)).chain(derived.into_iter().map(Cow::Owned)).collect()
            }
            Event::MemberUpdate(member) if member.user.id == me => {
                let derived = refresh(rift, me, subscription, view, server).await?;
                std::iter::once(Cow::Borrowed(event)).chain(derived.into_iter().map(Cow::Owned)).collect()
            }
            _ => vec![Cow::Borrowed(event)],
        },
    })
}

/// Subscribes to a server the user just joined and the channels they can see in it (announced as
/// `ChannelCreate`s).
async fn join(
    rift: &Rift,
    me: UserId,
    subscription: &Subscription,
    view: &mut View,
    server: ServerId,
) -> rift::Result<Vec<Event>> {
    subscription.add(Topic::Server(server));
    view.servers.entry(server).or_default();
    refresh(rift, me, subscription, view, server).await
}

/// Forgets a server: no more of its events or its channels'.
fn leave(subscription: &Subscription, view: &mut View, server: ServerId) {
    subscription.remove(Topic::Server(server));
    for channel in view.servers.remove(&server).unwrap_or_default() {
        subscription.remove(Topic::Channel(channel));
    }
}

/// Re-computes which channels of a server the user can see; returns `ChannelCreate` for channels
/// that appeared and `ChannelDelete` for channels that disappeared. No longer a member: leaves
/// the server. Could not tell (an error): changes nothing.
async fn refresh(
    rift: &Rift,
    me: UserId,
    subscription: &Subscription,
    view: &mut View,
    server: ServerId,
) -> rift::Result<Vec<Event>> {
    let Some(channels) = rift.visible_channels(me, server).await? else {
        leave(subscription, view, server);
        return Ok(vec![]);
    };
    let now: HashSet<ChannelId> = channels.iter().map(|c| c.id).collect();
    let before = view.servers.insert(server, now.clone()).unwrap_or_default();
    let mut out = Vec::new();
    for channel in channels {
        if !before.contains(&channel.id) {
            subscription.add(Topic::Channel(channel.id));
            out.push(Event::ChannelCreate(channel));
        }
    }
    for gone in before.difference(&now) {
        subscription.remove(Topic::Channel(*gone));
        out.push(Event::ChannelDelete { id: *gone, server_id: server });
    }
    Ok(out)
}
