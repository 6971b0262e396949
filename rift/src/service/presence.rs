//! Presence and typing: ephemeral, kept in memory, only ever published as events.
//!
//! A user is online while at least one gateway session is connected, on any node; their chosen
//! status (idle, dnd, invisible) is stored. Others see `invisible` and disconnected users as
//! `offline`.
//!
//! **Cluster-wide.** Each node counts its own sessions per user and tells the other nodes through
//! the fan-out ([`Event::NodePresence`] on [`Topic::Nodes`]): a user's first session on the node
//! (`Connected`), their last one closing (`Disconnected`), every `presence_heartbeat` a `Snapshot`
//! of all its users (which also says the node is alive and repairs any lost change), and `Leaving`
//! at shutdown. Each node merges these into its view; a node not heard from for
//! `presence_expiry` (killed, cut off) is dropped from it. A user is online when any node has
//! them. Each node decides the transitions for its own subscribers from its merged view and
//! publishes those `PresenceUpdate`s locally only, so a user on two nodes stays online while one
//! of their sessions closes, and nobody hears an event twice. A chosen-status change is one
//! cluster-wide event as before ([`Rift::update_profile`]).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::event::{Envelope, Event, NodeBeat, Topic};
use crate::fanout::NodeId;
use crate::id::{ChannelId, Timestamp, UserId};
use crate::model::{Status, User};
use crate::permissions::Permissions;
use crate::router::RecvError;
use crate::store::SavedSession;

use super::{Inner, Rift};

/// What another node last told us.
struct RemoteNode {
    users: HashSet<UserId>,
    seen: Instant,
}

#[derive(Default)]
struct Sessions {
    /// Sessions on this node, per user.
    local: HashMap<UserId, usize>,
    /// Users with sessions on the other nodes, per node.
    remote: HashMap<NodeId, RemoteNode>,
}

impl Sessions {
    fn is_connected(&self, user_id: UserId) -> bool {
        self.local.get(&user_id).is_some_and(|n| *n > 0)
            || self.remote.values().any(|node| node.users.contains(&user_id))
    }
}

/// A user whose cluster-wide presence changed: `true` came online, `false` went offline.
pub(super) type Transition = (UserId, bool);

pub(super) struct Presence {
    sessions: Mutex<Sessions>,
    typing: Mutex<HashMap<(UserId, ChannelId), Timestamp>>,
    typing_throttle: Duration,
    /// The cluster presence task, while it runs.
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Presence {
    pub(super) fn new(typing_throttle: Duration) -> Self {
        Self { sessions: Mutex::default(), typing: Mutex::default(), typing_throttle, task: Mutex::default() }
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, Sessions> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn is_connected(&self, user_id: UserId) -> bool {
        self.sessions().is_connected(user_id)
    }

    /// Counts a session in; returns (the user's first session on this node, whether they were
    /// offline cluster-wide before).
    fn connect(&self, user_id: UserId) -> (bool, bool) {
        let mut sessions = self.sessions();
        let was_online = sessions.is_connected(user_id);
        let count = sessions.local.entry(user_id).or_insert(0);
        *count += 1;
        (*count == 1, !was_online)
    }

    /// Counts a session out; returns (the user's last session on this node closed, whether they
    /// are now offline cluster-wide).
    fn disconnect(&self, user_id: UserId) -> (bool, bool) {
        let mut sessions = self.sessions();
        let last_here = match sessions.local.get_mut(&user_id) {
            Some(count) if *count > 1 => {
                *count -= 1;
                false
            }
            Some(_) => {
                sessions.local.remove(&user_id);
                true
            }
            None => return (false, false),
        };
        (last_here, last_here && !sessions.is_connected(user_id))
    }

    /// Every user with a session on this node.
    fn local_users(&self) -> Vec<UserId> {
        self.sessions().local.keys().copied().collect()
    }

    /// Applies `change` to the users `touched` names, returning whose cluster-wide presence
    /// changed.
    fn changing(
        &self,
        touched: impl IntoIterator<Item = UserId>,
        change: impl FnOnce(&mut Sessions),
    ) -> Vec<Transition> {
        let mut sessions = self.sessions();
        let before: Vec<(UserId, bool)> =
            touched.into_iter().map(|user| (user, sessions.is_connected(user))).collect();
        change(&mut sessions);
        before
            .into_iter()
            .filter_map(|(user, was)| {
                let now = sessions.is_connected(user);
                (now != was).then_some((user, now))
            })
            .collect()
    }

    /// Merges another node's news, heard at `now`. Returns the transitions and whether the node
    /// was unknown until now (it has just started, or came back: it should hear our snapshot).
    fn apply_beat(&self, node: NodeId, beat: &NodeBeat, now: Instant) -> (Vec<Transition>, bool) {
        let mut touched: HashSet<UserId> = HashSet::new();
        let known;
        {
            let sessions = self.sessions();
            let current = sessions.remote.get(&node);
            known = current.is_some();
            if let Some(current) = current {
                touched.extend(current.users.iter().copied());
            }
        }
        match beat {
            NodeBeat::Snapshot { users } => touched.extend(users.iter().copied()),
            NodeBeat::Connected { user_id } | NodeBeat::Disconnected { user_id } => {
                touched.insert(*user_id);
            }
            NodeBeat::Leaving => {}
        }
        let transitions = self.changing(touched, |sessions| {
            if matches!(beat, NodeBeat::Leaving) {
                sessions.remote.remove(&node);
                return;
            }
            let entry = sessions
                .remote
                .entry(node)
                .or_insert_with(|| RemoteNode { users: HashSet::new(), seen: now });
            entry.seen = now;
            match beat {
                NodeBeat::Snapshot { users } => entry.users = users.iter().copied().collect(),
                NodeBeat::Connected { user_id } => {
                    entry.users.insert(*user_id);
                }
                NodeBeat::Disconnected { user_id } => {
                    entry.users.remove(user_id);
                }
                NodeBeat::Leaving => {}
            }
        });
        (transitions, !known && !matches!(beat, NodeBeat::Leaving))
    }

    /// Forgets the nodes not heard from for `expiry` before `now`: their users are offline unless
    /// connected elsewhere.
    fn expire(&self, now: Instant, expiry: Duration) -> Vec<Transition> {
        let touched: Vec<UserId> = {
            let sessions = self.sessions();
            sessions
                .remote
                .values()
                .filter(|node| now.saturating_duration_since(node.seen) >= expiry)
                .flat_map(|node| node.users.iter().copied())
                .collect()
        };
        self.changing(touched, |sessions| {
            sessions.remote.retain(|node_id, node| {
                let alive = now.saturating_duration_since(node.seen) < expiry;
                if !alive {
                    tracing::warn!(node = %node_id, users = node.users.len(),
                        "no presence heard from a node; its users are offline unless connected elsewhere");
                }
                alive
            });
        })
    }

    /// Whether a TypingStart may go out now (at most one per throttle period per user and channel).
    fn typing_allowed(&self, user_id: UserId, channel_id: ChannelId, now: Timestamp) -> bool {
        // A clock set backwards counts as no time passed.
        let within = |at: &Timestamp| (now - *at).to_std().unwrap_or(Duration::ZERO) < self.typing_throttle;
        let mut typing = self.typing.lock().unwrap_or_else(|p| p.into_inner());
        if typing.len() > 10_000 {
            typing.retain(|_, at| within(at));
        }
        match typing.get(&(user_id, channel_id)) {
            Some(at) if within(at) => false,
            _ => {
                typing.insert((user_id, channel_id), now);
                true
            }
        }
    }
}

/// Queue of the cluster presence task's subscription (snapshots repair what an overflow loses).
const BEAT_QUEUE: usize = 1024;

impl Rift {
    /// The user as others see them: live presence, `invisible` as `offline`.
    pub(crate) fn public_view(&self, mut user: User) -> User {
        user.status = match user.status {
            _ if !self.inner.presence.is_connected(user.id) => Status::Offline,
            Status::Invisible => Status::Offline,
            chosen => chosen,
        };
        user
    }

    /// Everyone who shares a server with `user_id`, and the user.
    pub(super) async fn presence_audience(&self, user_id: UserId) -> Result<BTreeSet<UserId>> {
        let store = &self.inner.store;
        let mut audience = BTreeSet::from([user_id]);
        for server in store.servers_of_user(user_id).await? {
            audience.extend(store.member_ids(server.id).await?);
        }
        Ok(audience)
    }

    /// Sends a user's visible status to everyone who shares a server with them, on every node.
    pub(super) async fn publish_presence(&self, user_id: UserId, status: Status) -> Result<()> {
        for peer in self.presence_audience(user_id).await? {
            self.publish(Topic::User(peer), Event::PresenceUpdate { user_id, status });
        }
        Ok(())
    }

    /// Announces a cluster-wide transition to this node's subscribers only: every node sees the
    /// same transition in its merged view and announces it to its own.
    async fn announce_transition(&self, (user_id, online): Transition) -> Result<()> {
        let chosen = self.me(user_id).await?.status;
        let status = match chosen {
            Status::Invisible => return Ok(()),
            chosen if online => chosen,
            _ => Status::Offline,
        };
        for peer in self.presence_audience(user_id).await? {
            self.inner.router.publish(Topic::User(peer), Event::PresenceUpdate { user_id, status });
        }
        Ok(())
    }

    /// Tells the other nodes (only them: the local router has no use for it).
    fn tell_nodes(&self, beat: NodeBeat) {
        let node_id = self.inner.fanout.node_id();
        let envelope = Envelope::new(Topic::Nodes, Event::NodePresence { node_id, beat });
        self.inner.fanout.publish(Arc::new(envelope));
    }

    /// A gateway session of the user opened. The first one anywhere brings them online.
    pub async fn session_connected(&self, user_id: UserId) -> Result<()> {
        let (first_here, came_online) = self.inner.presence.connect(user_id);
        if first_here {
            self.tell_nodes(NodeBeat::Connected { user_id });
        }
        if came_online {
            self.announce_transition((user_id, true)).await?;
        }
        Ok(())
    }

    /// A gateway session of the user closed. The last one anywhere takes them offline.
    pub async fn session_disconnected(&self, user_id: UserId) -> Result<()> {
        let (last_here, went_offline) = self.inner.presence.disconnect(user_id);
        if last_here {
            self.tell_nodes(NodeBeat::Disconnected { user_id });
        }
        if went_offline {
            self.announce_transition((user_id, false)).await?;
        }
        Ok(())
    }

    /// Saves the gateway sessions of an installation shutting down (`owner`), replacing any saved
    /// session with the same id, in one transaction, so a restarted node can bring them back.
    ///
    /// # Errors
    /// When the database refuses them (a session of an unknown user, say); nothing is saved then.
    pub async fn save_gateway_sessions(&self, owner: &str, sessions: &[SavedSession]) -> Result<()> {
        Ok(self.inner.store.save_gateway_sessions(owner, sessions).await?)
    }

    /// Starts sharing presence with the other nodes (see the module docs): a task that sends this
    /// node's snapshot every [`Config::presence_heartbeat`](super::Config), merges the other
    /// nodes' news and forgets nodes silent for [`Config::presence_expiry`](super::Config).
    /// A no-op when it already runs. On a single node it only sends snapshots nobody reads.
    pub fn start_cluster_presence(&self) {
        let mut task = self.inner.presence.task.lock().unwrap_or_else(|p| p.into_inner());
        if task.is_some() {
            return;
        }
        let subscription = self.inner.router.subscribe(BEAT_QUEUE);
        subscription.add(Topic::Nodes);
        *task = Some(tokio::spawn(cluster_presence(Arc::downgrade(&self.inner), subscription)));
    }

    /// Stops sharing presence and tells the other nodes this node is leaving (call before the
    /// fan-out shuts down, so the news goes out).
    pub fn stop_cluster_presence(&self) {
        let task = self.inner.presence.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(task) = task {
            task.abort();
            self.tell_nodes(NodeBeat::Leaving);
        }
    }

    /// The user is typing in a channel: a TypingStart for those who can see it, at most once per
    /// throttle period. Clients expire the indicator after 10 seconds.
    ///
    /// # Errors
    /// 404 for an invisible channel; 403 without SEND_MESSAGES.
    pub async fn start_typing(&self, user_id: UserId, channel_id: ChannelId) -> Result<()> {
        let access = self.channel_access(user_id, channel_id).await?;
        access.require(Permissions::SEND_MESSAGES)?;
        let now = self.now();
        if self.inner.presence.typing_allowed(user_id, channel_id, now) {
            let event = Event::TypingStart { channel_id, user_id, timestamp: now };
            self.publish(Topic::Channel(channel_id), event);
        }
        Ok(())
    }
}

/// The cluster presence task. Holds the service weakly, so it ends when the service is dropped.
async fn cluster_presence(inner: Weak<Inner>, mut subscription: crate::router::Subscription) {
    let Some(rift) = inner.upgrade().map(|inner| Rift { inner }) else { return };
    let (heartbeat, expiry) = (rift.inner.config.presence_heartbeat, rift.inner.config.presence_expiry);
    let me = rift.inner.fanout.node_id();
    drop(rift);
    let mut ticks = tokio::time::interval(heartbeat.max(Duration::from_millis(10)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let delivery = tokio::select! {
            _ = ticks.tick() => None,
            delivery = subscription.recv() => Some(delivery),
        };
        let Some(rift) = inner.upgrade().map(|inner| Rift { inner }) else { return };
        let presence = &rift.inner.presence;
        let transitions = match delivery {
            None => {
                rift.tell_nodes(NodeBeat::Snapshot { users: presence.local_users() });
                presence.expire(Instant::now(), expiry)
            }
            Some(Ok(delivery)) => match &delivery.event {
                Event::NodePresence { node_id, beat } if *node_id != me => {
                    let (transitions, new_node) = presence.apply_beat(*node_id, beat, Instant::now());
                    if new_node {
                        // A node that just started knows nothing of ours yet.
                        rift.tell_nodes(NodeBeat::Snapshot { users: presence.local_users() });
                    }
                    transitions
                }
                _ => Vec::new(),
            },
            Some(Err(RecvError::Lagged)) => {
                // Some news was lost: the next snapshots repair it.
                subscription = rift.inner.router.subscribe(BEAT_QUEUE);
                subscription.add(Topic::Nodes);
                Vec::new()
            }
        };
        for transition in transitions {
            if let Err(error) = rift.announce_transition(transition).await {
                tracing::warn!(%error, "presence update failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_connect_and_last_disconnect_are_reported() {
        let presence = Presence::new(Duration::from_secs(5));
        let user = UserId::new();
        assert_eq!(presence.connect(user), (true, true));
        assert_eq!(presence.connect(user), (false, false));
        assert!(presence.is_connected(user));
        assert_eq!(presence.disconnect(user), (false, false));
        assert_eq!(presence.disconnect(user), (true, true));
        assert!(!presence.is_connected(user));
        assert_eq!(presence.disconnect(user), (false, false), "an unmatched disconnect changes nothing");
    }

    #[test]
    fn a_user_on_another_node_stays_online_when_their_last_local_session_closes() {
        let presence = Presence::new(Duration::from_secs(5));
        let (user, other) = (UserId::new(), NodeId::random());
        let now = Instant::now();
        assert_eq!(presence.connect(user), (true, true));
        let (transitions, new_node) = presence.apply_beat(other, &NodeBeat::Connected { user_id: user }, now);
        assert!(transitions.is_empty(), "already online here");
        assert!(new_node);
        assert_eq!(presence.disconnect(user), (true, false), "last here, still online elsewhere");
        assert!(presence.is_connected(user));
        let (transitions, new_node) =
            presence.apply_beat(other, &NodeBeat::Disconnected { user_id: user }, now);
        assert_eq!(transitions, [(user, false)]);
        assert!(!new_node);
    }

    #[test]
    fn snapshots_replace_a_nodes_users_and_leaving_drops_them() {
        let presence = Presence::new(Duration::from_secs(5));
        let (ada, bob, node) = (UserId::new(), UserId::new(), NodeId::random());
        let now = Instant::now();
        let (mut transitions, _) =
            presence.apply_beat(node, &NodeBeat::Snapshot { users: vec![ada, bob] }, now);
        transitions.sort();
        let mut expected = vec![(ada, true), (bob, true)];
        expected.sort();
        assert_eq!(transitions, expected);
        // A lost Disconnected is repaired by the next snapshot.
        let (transitions, _) = presence.apply_beat(node, &NodeBeat::Snapshot { users: vec![bob] }, now);
        assert_eq!(transitions, [(ada, false)]);
        assert_eq!(presence.connect(bob), (true, false));
        let (transitions, new_node) = presence.apply_beat(node, &NodeBeat::Leaving, now);
        assert!(transitions.is_empty(), "bob is still connected here");
        assert!(!new_node);
        assert!(presence.is_connected(bob) && !presence.is_connected(ada));
    }

    #[test]
    fn a_silent_node_expires_with_its_users() {
        let presence = Presence::new(Duration::from_secs(5));
        let (ada, node) = (UserId::new(), NodeId::random());
        let start = Instant::now();
        let expiry = Duration::from_secs(15);
        presence.apply_beat(node, &NodeBeat::Connected { user_id: ada }, start);
        assert!(presence.expire(start + Duration::from_secs(14), expiry).is_empty());
        // A beat keeps it alive.
        presence.apply_beat(node, &NodeBeat::Snapshot { users: vec![ada] }, start + Duration::from_secs(10));
        assert!(presence.expire(start + Duration::from_secs(24), expiry).is_empty());
        assert_eq!(presence.expire(start + Duration::from_secs(25), expiry), [(ada, false)]);
        assert!(!presence.is_connected(ada));
        let (_, new_node) =
            presence.apply_beat(node, &NodeBeat::Snapshot { users: vec![] }, start + Duration::from_secs(26));
        assert!(new_node, "a node heard again after its expiry is new again");
    }

    #[test]
    fn typing_is_throttled_per_user_and_channel() {
        let presence = Presence::new(Duration::from_secs(5));
        let (user, channel) = (UserId::new(), ChannelId::new());
        let now = chrono::Utc::now();
        assert!(presence.typing_allowed(user, channel, now));
        assert!(!presence.typing_allowed(user, channel, now + Duration::from_secs(4)));
        assert!(presence.typing_allowed(user, ChannelId::new(), now));
        assert!(presence.typing_allowed(user, channel, now + Duration::from_secs(5)));
    }
}
