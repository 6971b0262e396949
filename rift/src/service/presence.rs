//! Presence and typing: ephemeral, kept in memory, only ever published as events.
//!
//! A user is online while at least one gateway session is connected; their chosen status (idle,
//! dnd, invisible) is stored. Others see `invisible` and disconnected users as `offline`.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use crate::error::Result;
use crate::event::{Event, Topic};
use crate::id::{ChannelId, Timestamp, UserId};
use crate::model::{Status, User};
use crate::permissions::Permissions;

use super::Rift;

pub(super) struct Presence {
    sessions: Mutex<HashMap<UserId, usize>>,
    typing: Mutex<HashMap<(UserId, ChannelId), Timestamp>>,
    typing_throttle: Duration,
}

impl Presence {
    pub(super) fn new(typing_throttle: Duration) -> Self {
        Self { sessions: Mutex::default(), typing: Mutex::default(), typing_throttle }
    }

    fn is_connected(&self, user_id: UserId) -> bool {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner()).get(&user_id).is_some_and(|n| *n > 0)
    }

    /// Counts a session in; true when it is the user's first.
    fn connect(&self, user_id: UserId) -> bool {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let count = sessions.entry(user_id).or_insert(0);
        *count += 1;
        *count == 1
    }

    /// Counts a session out; true when it was the user's last.
    fn disconnect(&self, user_id: UserId) -> bool {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        match sessions.get_mut(&user_id) {
            Some(count) if *count > 1 => {
                *count -= 1;
                false
            }
            Some(_) => {
                sessions.remove(&user_id);
                true
            }
            None => false,
        }
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

    /// Sends a user's visible status to everyone who shares a server with them.
    pub(super) async fn publish_presence(&self, user_id: UserId, status: Status) -> Result<()> {
        for peer in self.presence_audience(user_id).await? {
            self.publish(Topic::User(peer), Event::PresenceUpdate { user_id, status });
        }
        Ok(())
    }

    /// A gateway session of the user opened. The first one brings them online.
    pub async fn session_connected(&self, user_id: UserId) -> Result<()> {
        if self.inner.presence.connect(user_id) {
            let user = self.me(user_id).await?;
            let status = self.public_view(user).status;
            if status != Status::Offline {
                self.publish_presence(user_id, status).await?;
            }
        }
        Ok(())
    }

    /// A gateway session of the user closed. The last one takes them offline.
    pub async fn session_disconnected(&self, user_id: UserId) -> Result<()> {
        if self.inner.presence.disconnect(user_id) {
            let chosen = self.me(user_id).await?.status;
            if chosen != Status::Invisible {
                self.publish_presence(user_id, Status::Offline).await?;
            }
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_connect_and_last_disconnect_are_reported() {
        let presence = Presence::new(Duration::from_secs(5));
        let user = UserId::new();
        assert!(presence.connect(user));
        assert!(!presence.connect(user));
        assert!(presence.is_connected(user));
        assert!(!presence.disconnect(user));
        assert!(presence.disconnect(user));
        assert!(!presence.is_connected(user));
        assert!(!presence.disconnect(user), "an unmatched disconnect changes nothing");
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
