//! The permission view: per server, what a permission check reads (the server and its owner, its
//! roles, its channels with their overwrites, and the members asked about with their roles), kept
//! in memory so a send does not read them from the database every time.
//!
//! **Kept current** in three ways, each synchronous with the change it follows:
//! - every service operation that changes one of them holds a [`Forget`] guard for the server
//!   from just before its store write until it returns (error or not), and the guard forgets the
//!   server when dropped: on this node a change is never answered while a stale view remains;
//! - every envelope passes through [`AccessCache::before_delivery`] (the cache is a router
//!   [`Observer`]) before any subscriber sees it, local or from another node: a membership, ban,
//!   role, member role, channel or server event forgets its server. On another node a change is
//!   therefore enforced once its event has arrived through the fan-out (staleness is bounded by
//!   fan-out delivery);
//! - when events were lost on the way ([`RemoteInbox::lag_all`](crate::router::RemoteInbox::lag_all), an
//!   unreadable envelope), the whole cache is dropped.
//!
//! **No stale insert:** every forget bumps an epoch. A load records the epoch before its first
//! read and keeps its result only if the epoch is unchanged when it is done, so a read that raced
//! a change can serve the one request it was made for but never stays in the cache.
//!
//! **Bounded:** at most [`MAX_SERVERS`] views and [`MAX_MEMBERS`] member entries in all; past
//! either, the least recently used views go. DMs are not cached (their participants are read).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::event::{Envelope, Event};
use crate::id::{ChannelId, RoleId, ServerId, UserId};
use crate::model::{Channel, Role, Server};
use crate::router::Observer;

/// Most server views kept.
pub(crate) const MAX_SERVERS: usize = 4096;
/// Most member entries kept, over every view.
pub(crate) const MAX_MEMBERS: usize = 200_000;

/// One server as the permission check sees it.
#[derive(Debug)]
pub(crate) struct ServerView {
    pub(crate) server: Server,
    /// In the store's order (by position).
    pub(crate) roles: Vec<Role>,
    /// In the store's order.
    pub(crate) channels: Vec<Channel>,
    channel_index: HashMap<ChannelId, usize>,
    /// The members asked about: their role ids, or `None` for "not a member".
    members: Mutex<HashMap<UserId, Option<Arc<[RoleId]>>>>,
    last_used: AtomicU64,
}

impl ServerView {
    /// A view of `server` with its roles and channels.
    pub(crate) fn new(server: Server, roles: Vec<Role>, channels: Vec<Channel>) -> Self {
        let channel_index = channels.iter().enumerate().map(|(i, channel)| (channel.id, i)).collect();
        Self {
            server,
            roles,
            channels,
            channel_index,
            members: Mutex::default(),
            last_used: AtomicU64::new(0),
        }
    }

    /// One of the server's channels.
    pub(crate) fn channel(&self, channel_id: ChannelId) -> Option<&Channel> {
        self.channel_index.get(&channel_id).map(|&i| &self.channels[i])
    }

    fn member(&self, user_id: UserId) -> Option<Option<Arc<[RoleId]>>> {
        self.members.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&user_id).cloned()
    }

    fn member_count(&self) -> usize {
        self.members.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).len()
    }

    /// An estimate of the heap and inline bytes this view holds, from its own contents.
    fn estimated_bytes(&self) -> usize {
        let text = |s: &str| s.len();
        let server =
            size_of::<Server>() + text(&self.server.name) + self.server.icon_url.as_deref().map_or(0, text);
        let roles: usize = self.roles.iter().map(|role| size_of::<Role>() + text(&role.name)).sum();
        let channels: usize = self
            .channels
            .iter()
            .map(|channel| {
                size_of::<Channel>()
                    + text(&channel.name)
                    + channel.topic.as_deref().map_or(0, text)
                    + size_of_val(channel.permission_overwrites.as_slice())
            })
            .sum();
        // A hash map entry costs its key and value plus about one control byte, at a load of
        // at most 7/8.
        let index = self.channel_index.len() * (size_of::<(ChannelId, usize)>() + 1) * 8 / 7;
        let members: usize = {
            let members = self.members.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            members
                .values()
                .map(|roles| {
                    (size_of::<(UserId, Option<Arc<[RoleId]>>)>() + 1) * 8 / 7
                        + roles.as_ref().map_or(0, |r| 2 * size_of::<usize>() + size_of_val(&**r))
                })
                .sum()
        };
        size_of::<Self>() + server + roles + channels + index + members
    }
}

/// What the cache holds and has done, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccessCacheStats {
    /// Server views held.
    pub servers: usize,
    /// Member entries held, over every view.
    pub members: usize,
    /// An estimate of the bytes held (views, roles, channels, overwrites, member entries).
    pub estimated_bytes: usize,
    /// Permission checks answered from a view.
    pub hits: u64,
    /// Checks that had to read the database (no view, or not the member asked about).
    pub misses: u64,
    /// Servers forgotten because they changed (or everything, after lost events).
    pub invalidations: u64,
}

#[derive(Default)]
struct State {
    /// Bumped by every forget; a load started before a bump is not kept.
    epoch: u64,
    servers: HashMap<ServerId, Arc<ServerView>>,
    /// Which server a cached channel belongs to.
    channel_servers: HashMap<ChannelId, ServerId>,
    members: usize,
    clock: u64,
}

impl State {
    fn forget(&mut self, server_id: ServerId) {
        self.epoch += 1;
        if let Some(view) = self.servers.remove(&server_id) {
            self.drop_view(&view);
        }
    }

    fn drop_view(&mut self, view: &ServerView) {
        for channel in &view.channels {
            self.channel_servers.remove(&channel.id);
        }
        self.members = self.members.saturating_sub(view.member_count());
    }

    /// Drops least recently used views until both bounds hold with room for `room` more member
    /// entries (`keep` stays); returns whether they do.
    fn evict(&mut self, keep: ServerId, room: usize) -> bool {
        while self.servers.len() > MAX_SERVERS || self.members + room > MAX_MEMBERS {
            let oldest = self
                .servers
                .iter()
                .filter(|(id, _)| **id != keep)
                .min_by_key(|(_, view)| view.last_used.load(Ordering::Relaxed))
                .map(|(id, _)| *id);
            let Some(oldest) = oldest else { return false };
            if let Some(view) = self.servers.remove(&oldest) {
                self.drop_view(&view);
            }
        }
        true
    }
}

/// The per-server permission views of one [`Rift`](super::Rift) (see the module docs).
#[derive(Default)]
pub(crate) struct AccessCache {
    state: Mutex<State>,
    hits: AtomicU64,
    misses: AtomicU64,
    invalidations: AtomicU64,
}

/// The epoch a load started at: hand it back with what was read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket(u64);

impl AccessCache {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts a load: take the ticket before the first read.
    pub(crate) fn ticket(&self) -> Ticket {
        Ticket(self.state().epoch)
    }

    /// The view of a server, if held.
    pub(crate) fn server(&self, server_id: ServerId) -> Option<Arc<ServerView>> {
        let mut state = self.state();
        state.clock += 1;
        let clock = state.clock;
        let view = state.servers.get(&server_id).cloned()?;
        view.last_used.store(clock, Ordering::Relaxed);
        Some(view)
    }

    /// The view holding a channel, if held.
    pub(crate) fn server_of_channel(&self, channel_id: ChannelId) -> Option<Arc<ServerView>> {
        let server_id = *self.state().channel_servers.get(&channel_id)?;
        self.server(server_id)
    }

    /// Keeps a view loaded since `ticket` unless something changed meanwhile; returns the view
    /// to use (the held one if another load got there first).
    pub(crate) fn keep_server(&self, ticket: Ticket, view: ServerView) -> Arc<ServerView> {
        let view = Arc::new(view);
        let mut state = self.state();
        if state.epoch != ticket.0 {
            return view;
        }
        let server_id = view.server.id;
        if let Some(held) = state.servers.get(&server_id) {
            return Arc::clone(held);
        }
        state.clock += 1;
        view.last_used.store(state.clock, Ordering::Relaxed);
        for channel in &view.channels {
            state.channel_servers.insert(channel.id, server_id);
        }
        state.servers.insert(server_id, Arc::clone(&view));
        state.evict(server_id, 0);
        view
    }

    /// A member's role ids (`Some(None)`: known not to be a member), if held.
    pub(crate) fn member(&self, view: &ServerView, user_id: UserId) -> Option<Option<Arc<[RoleId]>>> {
        let found = view.member(user_id);
        let counter = if found.is_some() { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Keeps a member's roles read since `ticket` in `view`, unless something changed meanwhile
    /// or the view is no longer the one held.
    pub(crate) fn keep_member(
        &self,
        ticket: Ticket,
        view: &Arc<ServerView>,
        user_id: UserId,
        roles: Option<Arc<[RoleId]>>,
    ) {
        let mut state = self.state();
        let current = state.servers.get(&view.server.id).is_some_and(|held| Arc::ptr_eq(held, view));
        if state.epoch != ticket.0 || !current {
            return;
        }
        let mut members = view.members.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(held) = members.get_mut(&user_id) {
            *held = roles;
            return;
        }
        drop(members);
        // Past the bound with only this view left, the member is not kept (read every time).
        if state.evict(view.server.id, 1) {
            view.members.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(user_id, roles);
            state.members += 1;
        }
    }

    /// Forgets one server's view (it changed).
    pub(crate) fn forget(&self, server_id: ServerId) {
        self.state().forget(server_id);
        self.invalidations.fetch_add(1, Ordering::Relaxed);
    }

    /// Forgets every view (events were lost).
    pub(crate) fn forget_all(&self) {
        let mut state = self.state();
        state.epoch += 1;
        state.servers.clear();
        state.channel_servers.clear();
        state.members = 0;
        drop(state);
        self.invalidations.fetch_add(1, Ordering::Relaxed);
    }

    /// A guard that forgets `server_id` when dropped: held across a change to it.
    pub(crate) fn forget_on_drop(self: &Arc<Self>, server_id: ServerId) -> Forget {
        Forget { cache: Arc::clone(self), server_id }
    }

    /// What the cache holds now and its counters.
    pub(crate) fn stats(&self) -> AccessCacheStats {
        let state = self.state();
        let estimated_bytes = state.servers.values().map(|view| view.estimated_bytes()).sum::<usize>()
            + state.channel_servers.len() * (size_of::<(ChannelId, ServerId)>() + 1) * 8 / 7;
        AccessCacheStats {
            servers: state.servers.len(),
            members: state.members,
            estimated_bytes,
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            invalidations: self.invalidations.load(Ordering::Relaxed),
        }
    }
}

/// Which server an event changes the permission inputs of, if any. Every variant is named so a new
/// one needs a decision here.
fn changed_server(event: &Event) -> Option<ServerId> {
    match event {
        Event::ServerUpdate(server) => Some(server.id),
        Event::ServerDelete { id } => Some(*id),
        Event::MemberAdd(member) | Event::MemberUpdate(member) => Some(member.server_id),
        Event::MemberRemove { server_id, .. } | Event::RoleDelete { server_id, .. } => Some(*server_id),
        Event::RoleCreate(role) | Event::RoleUpdate(role) => Some(role.server_id),
        Event::ChannelCreate(channel) | Event::ChannelUpdate(channel) => channel.server_id,
        Event::ChannelDelete { server_id, .. } => Some(*server_id),
        Event::MessageCreate(_)
        | Event::MessageUpdate(_)
        | Event::MessageDelete { .. }
        | Event::MessagePin(_)
        | Event::MessageUnpin { .. }
        | Event::ReactionAdd { .. }
        | Event::ReactionRemove { .. }
        | Event::TypingStart { .. }
        | Event::PresenceUpdate { .. }
        | Event::UserUpdate(_)
        | Event::DmChannelCreate(_)
        | Event::ReadStateUpdate { .. }
        | Event::NodePresence { .. } => None,
    }
}

impl Observer for AccessCache {
    fn before_delivery(&self, envelope: &Envelope) {
        if let Some(server_id) = changed_server(&envelope.event) {
            self.forget(server_id);
        }
    }

    fn events_lost(&self) {
        self.forget_all();
    }
}

/// Forgets a server's view when dropped (see [`AccessCache::forget_on_drop`]).
#[must_use = "the server is forgotten when this is dropped"]
pub(crate) struct Forget {
    cache: Arc<AccessCache>,
    server_id: ServerId,
}

impl Drop for Forget {
    fn drop(&mut self) {
        self.cache.forget(self.server_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Topic;
    use crate::model::ChannelKind;
    use crate::permissions::Permissions;

    fn view(server_id: ServerId) -> ServerView {
        let server = Server {
            id: server_id,
            name: "s".into(),
            icon_url: None,
            owner_id: UserId::new(),
            bridge: None,
            created_at: chrono::Utc::now(),
        };
        let everyone =
            Role::new(RoleId::everyone(server_id), server_id, "@everyone", 0, 0, Permissions::NONE);
        let channel = Channel::new(ChannelId::new(), server_id, "general", ChannelKind::Text);
        ServerView::new(server, vec![everyone], vec![channel])
    }

    #[test]
    fn a_load_that_raced_a_change_is_used_once_but_not_kept() {
        let cache = AccessCache::default();
        let server_id = ServerId::new();
        let ticket = cache.ticket();
        cache.forget(server_id);
        let used = cache.keep_server(ticket, view(server_id));
        assert_eq!(used.server.id, server_id);
        assert!(cache.server(server_id).is_none(), "read before the change: not kept");

        let kept = cache.keep_server(cache.ticket(), view(server_id));
        let channel = kept.channels[0].id;
        assert!(Arc::ptr_eq(&cache.server_of_channel(channel).unwrap(), &kept));

        let user = UserId::new();
        let ticket = cache.ticket();
        cache.forget(ServerId::new()); // any change, anywhere, since the read
        cache.keep_member(ticket, &kept, user, None);
        assert!(cache.member(&kept, user).is_none(), "a member read before a change is not kept");
        cache.keep_member(cache.ticket(), &kept, user, Some(Arc::from(vec![])));
        assert_eq!(cache.member(&kept, user), Some(Some(Arc::from(vec![]))));
    }

    #[test]
    fn permission_events_forget_their_server_and_lost_events_forget_all() {
        let cache = AccessCache::default();
        let (a, b) = (ServerId::new(), ServerId::new());
        let kept_a = cache.keep_server(cache.ticket(), view(a));
        cache.keep_server(cache.ticket(), view(b));
        let message = Envelope::new(
            Topic::Server(a),
            Event::TypingStart {
                channel_id: kept_a.channels[0].id,
                user_id: UserId::new(),
                timestamp: chrono::Utc::now(),
            },
        );
        cache.before_delivery(&message);
        assert!(cache.server(a).is_some(), "typing changes no permission");
        cache.before_delivery(&Envelope::new(
            Topic::Server(a),
            Event::RoleDelete { server_id: a, role_id: RoleId::new() },
        ));
        assert!(cache.server(a).is_none());
        assert!(cache.server_of_channel(kept_a.channels[0].id).is_none(), "its channels go with it");
        assert!(cache.server(b).is_some(), "other servers stay");
        cache.events_lost();
        assert_eq!(cache.stats().servers, 0);
    }

    #[test]
    fn views_and_members_are_bounded() {
        let cache = AccessCache::default();
        let first = ServerId::new();
        cache.keep_server(cache.ticket(), view(first));
        for _ in 0..MAX_SERVERS {
            cache.keep_server(cache.ticket(), view(ServerId::new()));
        }
        let stats = cache.stats();
        assert_eq!(stats.servers, MAX_SERVERS);
        assert!(cache.server(first).is_none(), "the least recently used went first");

        let big = cache.keep_server(cache.ticket(), view(ServerId::new()));
        for _ in 0..=MAX_MEMBERS {
            cache.keep_member(cache.ticket(), &big, UserId::new(), None);
        }
        assert!(cache.stats().members <= MAX_MEMBERS);
    }
}

#[cfg(test)]
mod size {
    use super::*;
    use crate::model::ChannelKind;
    use crate::permissions::Permissions;

    /// The estimate for a small community: 4 roles, 10 channels with 2 overwrites each, 100 members
    /// with one role each (`cargo test -p rift --lib size -- --nocapture` prints it).
    #[test]
    fn a_small_community_costs_a_few_tens_of_kib() {
        let server_id = ServerId::new();
        let server = Server {
            id: server_id,
            name: "A small community".into(),
            icon_url: None,
            owner_id: UserId::new(),
            bridge: None,
            created_at: chrono::Utc::now(),
        };
        let mut roles =
            vec![Role::new(RoleId::everyone(server_id), server_id, "@everyone", 0, 0, Permissions::NONE)];
        for i in 1..4 {
            roles.push(Role::new(RoleId::new(), server_id, format!("role {i}"), 0, i, Permissions::NONE));
        }
        let channels = (0..10)
            .map(|i| {
                let mut channel =
                    Channel::new(ChannelId::new(), server_id, format!("channel-{i}"), ChannelKind::Text);
                channel.topic = Some("what this channel is about".into());
                channel.permission_overwrites = roles[..2]
                    .iter()
                    .map(|role| crate::model::PermissionOverwrite {
                        id: role.id.uuid(),
                        kind: crate::model::OverwriteKind::Role,
                        allow: Permissions::NONE,
                        deny: Permissions::SEND_MESSAGES,
                    })
                    .collect();
                channel
            })
            .collect();
        let cache = AccessCache::default();
        let view = cache.keep_server(cache.ticket(), ServerView::new(server, roles.clone(), channels));
        let empty = cache.stats().estimated_bytes;
        for _ in 0..100 {
            cache.keep_member(cache.ticket(), &view, UserId::new(), Some(Arc::from(vec![roles[1].id])));
        }
        let full = cache.stats().estimated_bytes;
        println!(
            "permission view: {empty} bytes without members, {full} with 100, {} per member",
            (full - empty) / 100
        );
        assert!(empty > 1024 && full < 64 * 1024, "{empty} / {full}");
    }
}
