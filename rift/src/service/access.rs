//! Who may do what: loads what the permission engine needs and answers with the caller's
//! permissions. Every operation goes through here, so visibility is decided in one place.

use crate::error::{Error, ErrorCode, Resource, Result};
use crate::id::{ChannelId, RoleId, ServerId, UserId};
use crate::model::{Channel, ChannelKind, Role, Server};
use crate::permissions::{MemberContext, Permissions, Rank};

use super::Rift;

/// A member's standing in one server.
pub(crate) struct ServerAccess {
    pub(crate) server: Server,
    pub(crate) roles: Vec<Role>,
    pub(crate) member_roles: Vec<RoleId>,
    pub(crate) user_id: UserId,
}

impl ServerAccess {
    fn ctx(&self) -> MemberContext<'_> {
        let everyone = RoleId::everyone(self.server.id);
        // A server always has its @everyone role (created with it); if a row went missing,
        // fall back to a context that grants nothing rather than panicking.
        MemberContext::new(self.user_id, self.is_owner(), everyone, &self.roles, &self.member_roles)
            .unwrap_or_else(|| MemberContext {
                user_id: self.user_id,
                is_owner: self.is_owner(),
                everyone: &NO_ROLE,
                roles: Vec::new(),
            })
    }

    pub(crate) fn is_owner(&self) -> bool {
        self.server.owner_id == self.user_id
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
        if self.server.owner_id == user_id {
            return Rank::Owner;
        }
        Rank::Role(
            self.roles
                .iter()
                .filter(|role| member_roles.contains(&role.id))
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
    /// The caller's standing in a server; 404 unless they are a member.
    pub(crate) async fn server_access(&self, user_id: UserId, server_id: ServerId) -> Result<ServerAccess> {
        let store = &self.inner.store;
        let Some(member) = store.member(server_id, user_id).await? else {
            return Err(Error::NotFound(Resource::Server));
        };
        let server = store.server(server_id).await?.ok_or(Error::NotFound(Resource::Server))?;
        let roles = store.roles(server_id).await?;
        Ok(ServerAccess { server, roles, member_roles: member.roles, user_id })
    }

    /// The caller's view of a channel; 404 if it is unknown or they cannot view it.
    pub(crate) async fn channel_access(
        &self,
        user_id: UserId,
        channel_id: ChannelId,
    ) -> Result<ChannelAccess> {
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
        let server = match self.server_access(user_id, server_id).await {
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
