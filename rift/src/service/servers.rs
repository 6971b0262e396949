//! Servers, memberships, kicks, bans, and the state a session starts from.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{Error, ErrorCode, Resource, Result};
use crate::event::{Event, Topic};
use crate::id::{ChannelId, MessageId, ServerId, UserId};
use crate::model::{Ban, Channel, ChannelKind, DmChannel, Member, ReadState, Role, Server};
use crate::permissions::Permissions;
use crate::store::{JoinOutcome, NewServer, ServerPatch};

use super::{Rift, check_name};

/// `PATCH /api/servers/:id`.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct ServerUpdate {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New icon path (`null` clears it).
    #[serde(default, deserialize_with = "super::double_option")]
    pub icon_url: Option<Option<String>>,
    /// Transfer ownership to this member (owner only).
    #[serde(default)]
    pub owner_id: Option<UserId>,
}

/// A server with the channels the user can see and its roles, as `Ready` carries it.
#[derive(Debug, Clone, Serialize)]
pub struct ReadyServer {
    /// The server.
    #[serde(flatten)]
    pub server: Server,
    /// Channels the user can view.
    pub channels: Vec<ReadyChannel>,
    /// All roles.
    pub roles: Vec<Role>,
}

/// What `Ready` carries beside the user and session.
#[derive(Debug, Clone, Serialize)]
pub struct ReadyState {
    /// The user's servers.
    pub servers: Vec<ReadyServer>,
    /// Their DM channels, newest activity first.
    pub dm_channels: Vec<DmChannel>,
    /// How far they have read, per channel.
    pub read_state: Vec<ReadState>,
    /// Unread messages that mention them, per channel (absent: none); counted among each
    /// channel's newest [`MENTION_SCAN`] messages.
    pub mention_counts: HashMap<ChannelId, u32>,
}

/// How many of a channel's newest messages the start-up mention count looks at.
pub const MENTION_SCAN: u32 = 100;

/// A channel as `Ready` carries it: the channel and its newest live message, so a client can
/// tell unread channels from read state without asking for each channel's messages.
#[derive(Debug, Clone, Serialize)]
pub struct ReadyChannel {
    /// The channel.
    #[serde(flatten)]
    pub channel: Channel,
    /// The newest message not deleted, if any.
    pub last_message_id: Option<MessageId>,
}

impl Rift {
    /// Creates a server owned by the caller, with `@everyone` and a `general` channel.
    ///
    /// # Errors
    /// 400 `invalid_name`.
    pub async fn create_server(&self, user_id: UserId, name: &str) -> Result<Server> {
        let name = check_name("server name", ErrorCode::InvalidName, name, 100)?;
        let now = self.now();
        let id = ServerId::new();
        let server = Server { id, name, icon_url: None, owner_id: user_id, bridge: None, created_at: now };
        let general = Channel::new(ChannelId::new(), id, "general", ChannelKind::Text);
        let new = NewServer {
            server,
            everyone_permissions: Permissions::EVERYONE_DEFAULT,
            channels: vec![general],
            owner_joined_at: now,
        };
        let server = self.inner.store.create_server(&new).await?;
        // The owner's sessions start following the new server.
        if let Some(member) = self.inner.store.member(server.id, user_id).await? {
            self.publish(Topic::User(user_id), Event::MemberAdd(member));
        }
        Ok(server)
    }

    /// The servers the caller is a member of.
    pub async fn servers(&self, user_id: UserId) -> Result<Vec<Server>> {
        Ok(self.inner.store.servers_of_user(user_id).await?)
    }

    /// A server the caller is a member of; 404 otherwise.
    pub async fn server(&self, user_id: UserId, server_id: ServerId) -> Result<Server> {
        Ok(self.server_access(user_id, server_id).await?.server().clone())
    }

    /// Renames, re-icons or transfers a server.
    ///
    /// # Errors
    /// 403 without MANAGE_SERVER, or when a non-owner transfers; 400 when the new owner is not a member.
    pub async fn update_server(
        &self,
        user_id: UserId,
        server_id: ServerId,
        update: ServerUpdate,
    ) -> Result<Server> {
        let access = self.server_access(user_id, server_id).await?;
        access.require(Permissions::MANAGE_SERVER)?;
        let name = update
            .name
            .as_deref()
            .map(|n| check_name("server name", ErrorCode::InvalidName, n, 100))
            .transpose()?;
        if let Some(new_owner) = update.owner_id {
            if !access.is_owner() {
                return Err(Error::forbidden(ErrorCode::NotOwner, "only the owner can transfer the server"));
            }
            if self.inner.store.member(server_id, new_owner).await?.is_none() {
                return Err(Error::invalid(ErrorCode::InvalidOwner, "the new owner must be a member"));
            }
        }
        let patch = ServerPatch { name, icon_url: update.icon_url.clone(), owner_id: update.owner_id };
        let _forget = self.forget_on_drop(server_id);
        let server = self
            .inner
            .store
            .update_server(server_id, &patch)
            .await?
            .ok_or(Error::NotFound(Resource::Server))?;
        let changes = json!({
            "name": patch.name, "icon_url": update.icon_url, "owner_id": update.owner_id,
        });
        self.audit(server_id, Some(user_id), "server_update", Some(server_id.uuid()), changes, None).await?;
        self.publish(Topic::Server(server_id), Event::ServerUpdate(server.clone()));
        Ok(server)
    }

    /// Deletes a server and everything in it. Owner only.
    pub async fn delete_server(&self, user_id: UserId, server_id: ServerId) -> Result<()> {
        let access = self.server_access(user_id, server_id).await?;
        if !access.is_owner() {
            return Err(Error::forbidden(ErrorCode::NotOwner, "only the owner can delete the server"));
        }
        let _forget = self.forget_on_drop(server_id);
        self.inner.store.delete_server(server_id).await?;
        self.publish(Topic::Server(server_id), Event::ServerDelete { id: server_id });
        Ok(())
    }

    /// A page of members (by user id), for members only.
    pub async fn members(
        &self,
        user_id: UserId,
        server_id: ServerId,
        after: Option<UserId>,
        limit: Option<u32>,
    ) -> Result<Vec<Member>> {
        self.server_access(user_id, server_id).await?;
        let limit = super::check_limit(limit, 100, 1000)?;
        let members = self.inner.store.members(server_id, after, limit).await?;
        Ok(members.into_iter().map(|m| self.public_member(m)).collect())
    }

    fn public_member(&self, mut member: Member) -> Member {
        member.user = self.public_view(member.user);
        member
    }

    /// Joins a server with an invite code. Already a member: 200 and no use counted.
    ///
    /// # Errors
    /// 404 `unknown_invite` (unknown, expired, used up, revoked or another server's); 403 `banned`.
    pub async fn join_server(&self, user_id: UserId, server_id: ServerId, code: &str) -> Result<Server> {
        if !super::invites::plausible_code(code) {
            return Err(Error::NotFound(Resource::Invite));
        }
        let _forget = self.forget_on_drop(server_id);
        let outcome = self.inner.store.join_with_invite(code, server_id, user_id, self.now()).await?;
        match outcome {
            JoinOutcome::UnknownInvite => Err(Error::NotFound(Resource::Invite)),
            JoinOutcome::Banned => {
                Err(Error::forbidden(ErrorCode::Banned, "you are banned from this server"))
            }
            JoinOutcome::AlreadyMember(_) => self.server(user_id, server_id).await,
            JoinOutcome::Joined(member) => {
                let member = self.public_member(member);
                // Members hear of it on the server's topic; the joiner's sessions on its own.
                self.publish(Topic::User(user_id), Event::MemberAdd(member.clone()));
                self.publish(Topic::Server(server_id), Event::MemberAdd(member));
                self.server(user_id, server_id).await
            }
        }
    }

    /// Checks that the caller may act on `target` with `permission`: they hold it, the target is not
    /// the owner or themselves, and the target ranks strictly below them.
    async fn check_moderation(
        &self,
        user_id: UserId,
        server_id: ServerId,
        target: UserId,
        permission: Permissions,
    ) -> Result<super::ServerAccess> {
        let access = self.server_access(user_id, server_id).await?;
        access.require(permission)?;
        if target == user_id {
            return Err(Error::invalid(ErrorCode::CannotTargetSelf, "you cannot do this to yourself"));
        }
        if let Some(member) = self.inner.store.member(server_id, target).await? {
            if !access.rank().outranks(access.member_rank(target, &member.roles)) {
                return Err(Error::forbidden(
                    ErrorCode::RoleHierarchy,
                    "the target's highest role is not below yours",
                ));
            }
        } else if target == access.server().owner_id {
            return Err(Error::forbidden(ErrorCode::RoleHierarchy, "the owner cannot be acted on"));
        }
        Ok(access)
    }

    /// Removes a member (KICK_MEMBERS, target strictly below the caller).
    pub async fn kick(&self, user_id: UserId, server_id: ServerId, target: UserId) -> Result<()> {
        self.check_moderation(user_id, server_id, target, Permissions::KICK_MEMBERS).await?;
        let _forget = self.forget_on_drop(server_id);
        if !self.inner.store.remove_member(server_id, target).await? {
            return Err(Error::NotFound(Resource::Member));
        }
        self.audit(server_id, Some(user_id), "member_kick", Some(target.uuid()), json!({}), None).await?;
        self.publish(Topic::Server(server_id), Event::MemberRemove { server_id, user_id: target });
        Ok(())
    }

    /// Leaves a server. The owner cannot leave (409 `owner_cannot_leave`): transfer or delete it.
    pub async fn leave(&self, user_id: UserId, server_id: ServerId) -> Result<()> {
        let access = self.server_access(user_id, server_id).await?;
        if access.is_owner() {
            return Err(Error::conflict(
                ErrorCode::OwnerCannotLeave,
                "the owner cannot leave; transfer or delete the server",
            ));
        }
        let _forget = self.forget_on_drop(server_id);
        self.inner.store.remove_member(server_id, user_id).await?;
        self.publish(Topic::Server(server_id), Event::MemberRemove { server_id, user_id });
        Ok(())
    }

    /// Bans a user, member or not (BAN_MEMBERS; a member must rank strictly below the caller).
    pub async fn ban(
        &self,
        user_id: UserId,
        server_id: ServerId,
        target: UserId,
        reason: Option<String>,
    ) -> Result<()> {
        self.check_moderation(user_id, server_id, target, Permissions::BAN_MEMBERS).await?;
        if self.inner.store.user(target).await?.is_none() {
            return Err(Error::NotFound(Resource::User));
        }
        let reason = reason.map(|r| r.chars().filter(|c| *c != '\0').take(512).collect::<String>());
        let was_member = self.inner.store.member(server_id, target).await?.is_some();
        let _forget = self.forget_on_drop(server_id);
        self.inner.store.ban(server_id, target, reason.as_deref(), self.now()).await?;
        self.audit(server_id, Some(user_id), "member_ban", Some(target.uuid()), json!({}), reason).await?;
        if was_member {
            self.publish(Topic::Server(server_id), Event::MemberRemove { server_id, user_id: target });
        }
        Ok(())
    }

    /// Lifts a ban (BAN_MEMBERS).
    pub async fn unban(&self, user_id: UserId, server_id: ServerId, target: UserId) -> Result<()> {
        let access = self.server_access(user_id, server_id).await?;
        access.require(Permissions::BAN_MEMBERS)?;
        if !self.inner.store.unban(server_id, target).await? {
            return Err(Error::NotFound(Resource::Ban));
        }
        self.audit(server_id, Some(user_id), "member_unban", Some(target.uuid()), json!({}), None).await?;
        Ok(())
    }

    /// A page of bans (BAN_MEMBERS).
    pub async fn bans(
        &self,
        user_id: UserId,
        server_id: ServerId,
        after: Option<UserId>,
        limit: Option<u32>,
    ) -> Result<Vec<Ban>> {
        let access = self.server_access(user_id, server_id).await?;
        access.require(Permissions::BAN_MEMBERS)?;
        let limit = super::check_limit(limit, 100, 1000)?;
        Ok(self.inner.store.bans(server_id, after, limit).await?)
    }

    /// A page of the server audit log, newest first (MANAGE_SERVER).
    pub async fn audit_log(
        &self,
        user_id: UserId,
        server_id: ServerId,
        before: Option<crate::id::AuditEntryId>,
        limit: Option<u32>,
    ) -> Result<Vec<crate::model::AuditEntry>> {
        let access = self.server_access(user_id, server_id).await?;
        access.require(Permissions::MANAGE_SERVER)?;
        let limit = super::check_limit(limit, 50, 100)?;
        Ok(self.inner.store.audit_log(server_id, before, limit).await?)
    }

    /// What a gateway session starts from: the user's servers with visible channels (each with
    /// its newest message id) and roles, their DM channels (with theirs), read state, and how
    /// many unread messages mention them per channel.
    pub async fn ready_state(&self, user_id: UserId) -> Result<ReadyState> {
        let mut visible = Vec::new();
        for server in self.inner.store.servers_of_user(user_id).await? {
            let channels = self.channels(user_id, server.id).await?;
            let roles = self.inner.store.roles(server.id).await?;
            visible.push((server, channels, roles));
        }
        // One query for every visible channel's newest message (DMs carry theirs already).
        let channel_ids: Vec<ChannelId> =
            visible.iter().flat_map(|(_, channels, _)| channels.iter().map(|c| c.id)).collect();
        let mut last_ids = self.inner.store.last_message_ids(&channel_ids).await?;
        let servers = visible
            .into_iter()
            .map(|(server, channels, roles)| {
                let channels = channels
                    .into_iter()
                    .map(|channel| ReadyChannel { last_message_id: last_ids.remove(&channel.id), channel })
                    .collect();
                ReadyServer { server, channels, roles }
            })
            .collect();
        let dm_channels = self.dm_channels(user_id).await?;
        let read_state = self.inner.store.read_states(user_id).await?;
        let dm_ids: Vec<ChannelId> = dm_channels.iter().map(|dm| dm.id).collect();
        let mention_counts = self.unread_mention_counts(user_id, channel_ids, &dm_ids).await?;
        Ok(ReadyState { servers, dm_channels, read_state, mention_counts })
    }
}
