//! Who may do what: loads what the permission engine needs and answers with the caller's
//! permissions. Every operation goes through here, so visibility is decided in one place.

use std::sync::Arc;

use crate::error::{Error, ErrorCode, Resource, Result};
use crate::id::{ChannelId, RoleId, ServerId, UserId};
use crate::model::{Channel, ChannelKind, Role, Server};
use crate::permissions::{MemberContext, Permissions, Rank};

use super::Rift;
use super::access_cache::{AccessCacheStats, Forget, ServerView};

/// A member's standing in one server.
pub(crate) struct ServerAccess {
    view: Arc<ServerView>,
    member_roles: Arc<[RoleId]>,
    pub(crate) user_id: UserId,
}

impl ServerAccess {
    /// The server.
    pub(crate) fn server(&self) -> &Server {
        &self.view.server
    }

    /// The server's roles, by position.
    pub(crate) fn roles(&self) -> &[Role] {
        &self.view.roles
    }

    /// The server's channels (all of them, visible or not).
    pub(crate) fn channels(&self) -> &[Channel] {
        &self.view.channels
    }

    fn ctx(&self) -> MemberContext<'_> {
        let everyone = RoleId::everyone(self.server().id);
        // A server always has its @everyone role (created with it); if a row went missing,
        // fall back to a context that grants nothing rather than panicking.
        MemberContext::new(self.user_id, self.is_owner(), everyone, self.roles(), &self.member_roles)
            .unwrap_or_else(|| MemberContext {
                user_id: self.user_id,
                is_owner: self.is_owner(),
                everyone: &NO_ROLE,
                roles: Vec::new(),
            })
    }

    pub(crate) fn is_owner(&self) -> bool {
        self.server().owner_id == self.user_id
    }

    /// Server-wide permissions.
    pub(crate) fn base(&self) -> Permissions {
        self.ctx().base()
    }

    /// Permissions in a channel of this server.
    pub(crate) fn in_channel(&self, channel: &Channel) -> Permissions {
        self.ctx().in_channel(&channel.permission_overwrites)
    }

    /// The caller's rank in the hierarchy.
    pub(crate) fn rank(&self) -> Rank {
        self.ctx().rank()
    }

    /// Owner or ADMINISTRATOR: may grant any permission.
    pub(crate) fn is_admin(&self) -> bool {
        self.ctx().is_admin()
    }

    /// Fails with 403 unless the server-wide permissions contain `needed`.
    pub(crate) fn require(&self, needed: Permissions) -> Result<()> {
        if self.base().contains(needed) { Ok(()) } else { Err(Error::missing_permissions()) }
    }

    /// The rank of a role of this server.
    pub(crate) fn role_rank(&self, role: &Role) -> Rank {
        Rank::Role(role.position)
    }

    /// The rank of another member, given their role ids.
    pub(crate) fn member_rank(&self, user_id: UserId, member_roles: &[RoleId]) -> Rank {
        if self.server().owner_id == user_id {
            return Rank::Owner;
        }
        let mut held = member_roles.to_vec();
        held.sort_unstable();
        Rank::Role(
            self.roles()
                .iter()
                .filter(|role| held.binary_search(&role.id).is_ok())
                .map(|role| role.position)
                .max()
                .unwrap_or(0),
        )
    }

    /// No escalation: unless owner or admin, `granted` must be within what the caller has.
    pub(crate) fn check_grant(&self, granted: Permissions, held: Permissions) -> Result<()> {
        if self.is_admin() || held.contains(granted) {
            Ok(())
        } else {
            Err(Error::forbidden(
                ErrorCode::MissingPermissions,
                "you cannot grant permissions you do not have",
            ))
        }
    }
}

static NO_ROLE: std::sync::LazyLock<Role> = std::sync::LazyLock::new(|| {
    Role::new(
        RoleId::from_uuid(uuid::Uuid::nil()),
        ServerId::from_uuid(uuid::Uuid::nil()),
        "",
        0,
        0,
        Permissions::NONE,
    )
});

/// The caller's view of one channel.
pub(crate) struct ChannelAccess {
    pub(crate) channel: Channel,
    /// The caller's permissions in it (never empty of VIEW_CHANNELS: invisible channels are 404).
    pub(crate) permissions: Permissions,
    /// The server standing, for server channels.
    pub(crate) server: Option<ServerAccess>,
}

impl ChannelAccess {
    pub(crate) fn require(&self, needed: Permissions) -> Result<()> {
        if self.permissions.contains(needed) { Ok(()) } else { Err(Error::missing_permissions()) }
    }

    pub(crate) fn server_id(&self) -> Option<ServerId> {
        self.channel.server_id
    }
}

/// What a participant may do in a DM channel.
const DM_PERMISSIONS: Permissions = Permissions::from_bits(
    Permissions::VIEW_CHANNELS.bits()
        | Permissions::SEND_MESSAGES.bits()
        | Permissions::READ_HISTORY.bits()
        | Permissions::ATTACH_FILES.bits(),
);

impl Rift {
    /// A server's permission view: the cached one, or read (and cached unless it changed
    /// meanwhile); `None` when the server does not exist.
    async fn server_view(&self, server_id: ServerId) -> Result<Option<Arc<ServerView>>> {
        let cache = &self.inner.access_cache;
        if let Some(view) = cache.server(server_id) {
            return Ok(Some(view));
        }
        let ticket = cache.ticket();
        let store = &self.inner.store;
        let Some(server) = store.server(server_id).await? else {
            return Ok(None);
        };
        let roles = store.roles(server_id).await?;
        let channels = store.channels(server_id).await?;
        Ok(Some(cache.keep_server(ticket, ServerView::new(server, roles, channels))))
    }

    /// The standing of `user_id` in the server of `view`; 404 unless they are a member.
    async fn member_access(&self, view: Arc<ServerView>, user_id: UserId) -> Result<ServerAccess> {
        let cache = &self.inner.access_cache;
        let member_roles = match cache.member(&view, user_id) {
            Some(roles) => roles,
            None => {
                let ticket = cache.ticket();
                let member = self.inner.store.member(view.server.id, user_id).await?;
                let roles: Option<Arc<[RoleId]>> = member.map(|member| member.roles.into());
                cache.keep_member(ticket, &view, user_id, roles.clone());
                roles
            }
        };
        let member_roles = member_roles.ok_or(Error::NotFound(Resource::Server))?;
        Ok(ServerAccess { view, member_roles, user_id })
    }

    /// The caller's standing in a server; 404 unless they are a member.
    pub(crate) async fn server_access(&self, user_id: UserId, server_id: ServerId) -> Result<ServerAccess> {
        let view = self.server_view(server_id).await?.ok_or(Error::NotFound(Resource::Server))?;
        self.member_access(view, user_id).await
    }

    /// The caller's view of a channel; 404 if it is unknown or they cannot view it.
    pub(crate) async fn channel_access(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
    ) -> Result<ChannelAccess> {
        if let Some(view) = self.inner.access_cache.server_of_channel(channel_id)
            && let Some(channel) = view.channel(channel_id).cloned()
        {
            return self.server_channel_access(user_id, view, channel).await;
        }
        let channel =
            self.inner.store.channel(channel_id).await?.ok_or(Error::NotFound(Resource::Channel))?;
        self.access_to(user_id, channel).await
    }

    /// Like [`Rift::channel_access`] for a channel already loaded.
    pub(crate) async fn access_to(&self, user_id: UserId, channel: Channel) -> Result<ChannelAccess> {
        if channel.kind == ChannelKind::Dm {
            let participants = self.inner.store.dm_participants(channel.id).await?;
            if !participants.contains(&user_id) {
                return Err(Error::NotFound(Resource::Channel));
            }
            return Ok(ChannelAccess { channel, permissions: DM_PERMISSIONS, server: None });
        }
        let server_id = channel.server_id.ok_or(Error::NotFound(Resource::Channel))?;
        let view = self.server_view(server_id).await?.ok_or(Error::NotFound(Resource::Channel))?;
        self.server_channel_access(user_id, view, channel).await
    }

    async fn server_channel_access(
        &self,
        user_id: UserId,
        view: Arc<ServerView>,
        channel: Channel,
    ) -> Result<ChannelAccess> {
        let server = match self.member_access(view, user_id).await {
            Ok(server) => server,
            Err(Error::NotFound(_)) => return Err(Error::NotFound(Resource::Channel)),
            Err(other) => return Err(other),
        };
        let permissions = server.in_channel(&channel);
        if !permissions.contains(Permissions::VIEW_CHANNELS) {
            return Err(Error::NotFound(Resource::Channel));
        }
        Ok(ChannelAccess { channel, permissions, server: Some(server) })
    }

    /// A guard that forgets a server's permission view when dropped: taken by every operation
    /// that changes the server, its members, bans, roles or channels, just before the store
    /// write, so that whatever way the operation returns, the next check reads the change.
    pub(crate) fn forget_on_drop(&self, server_id: ServerId) -> Forget {
        self.inner.access_cache.forget_on_drop(server_id)
    }

    /// What the permission view holds (servers, members, an estimate of its bytes) and its
    /// hits, misses and invalidations since the service started.
    pub fn access_cache_stats(&self) -> AccessCacheStats {
        self.inner.access_cache.stats()
    }
}

/// `NotFound` (the answer "you may not see it") as `None`; any other error stays an error.
fn not_found_is_none<T>(result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(Error::NotFound(_)) => Ok(None),
        Err(other) => Err(other),
    }
}

/// What a live session may see, decided here so the gateway only follows the answers.
impl Rift {
    /// The channel, if `user_id` may view it now (`None`: unknown, not a member, no
    /// VIEW_CHANNELS, not a participant of the DM).
    ///
    /// # Errors
    /// Only when it could not be decided (the database failed): never a stand-in for "not
    /// visible", so a caller must not unsubscribe on it.
    pub async fn visible_channel(&self, user_id: UserId, channel_id: ChannelId) -> Result<Option<Channel>> {
        not_found_is_none(self.channel_access(user_id, channel_id).await.map(|access| access.channel))
    }

    /// The channels of a server that `user_id` may view now; `None` when they are not a member
    /// (or the server is gone).
    ///
    /// # Errors
    /// Only when it could not be decided (the database failed), as [`Rift::visible_channel`].
    pub async fn visible_channels(
        &self,
        user_id: UserId,
        server_id: ServerId,
    ) -> Result<Option<Vec<Channel>>> {
        not_found_is_none(self.channels(user_id, server_id).await)
    }
}
