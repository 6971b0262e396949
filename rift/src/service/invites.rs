//! Invites: codes that let a user join a server, with use limits and expiry.

use rand::Rng;
use serde::Deserialize;
use serde_json::json;

use crate::StoreError;
use crate::error::Conflict;
use crate::error::{Error, ErrorCode, Resource, Result};
use crate::id::{ChannelId, ServerId, UserId};
use crate::model::Invite;
use crate::permissions::Permissions;
use crate::store::NewInvite;

use super::Rift;

/// `POST /api/servers/:id/invites`.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct InviteInput {
    /// 0 = unlimited (default).
    #[serde(default)]
    pub max_uses: Option<i64>,
    /// 0 = never expires; default 86,400 (one day).
    #[serde(default)]
    pub max_age_secs: Option<i64>,
    /// A channel of the server to land in.
    #[serde(default)]
    pub channel_id: Option<ChannelId>,
}

/// Longest allowed `max_age_secs`: ten years.
const MAX_AGE_LIMIT: i64 = 10 * 365 * 24 * 3600;

/// Whether `code` could be an invite code at all (so hostile text never reaches the database).
pub(super) fn plausible_code(code: &str) -> bool {
    (1..=64).contains(&code.len())
        && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn new_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..10).map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())])).collect()
}

impl Rift {
    fn is_live(&self, invite: &Invite) -> bool {
        let expired = invite.expires_at.is_some_and(|at| at <= self.now());
        let used_up = invite.max_uses > 0 && invite.uses >= invite.max_uses;
        !expired && !used_up
    }

    /// Creates an invite (CREATE_INVITES, in the channel when one is named).
    ///
    /// # Errors
    /// 400 `invalid_max_uses`, `invalid_max_age`; 404 for a channel not visible in this server.
    pub async fn create_invite(
        &self,
        user_id: UserId,
        server_id: ServerId,
        input: InviteInput,
    ) -> Result<Invite> {
        let access = self.server_access(user_id, server_id).await?;
        let max_uses = input.max_uses.unwrap_or(0);
        if !(0..=1_000_000).contains(&max_uses) {
            return Err(Error::invalid(ErrorCode::InvalidMaxUses, "max_uses must be between 0 and 1000000"));
        }
        let max_age = input.max_age_secs.unwrap_or(86_400);
        if !(0..=MAX_AGE_LIMIT).contains(&max_age) {
            return Err(Error::invalid(
                ErrorCode::InvalidMaxAge,
                "max_age_secs must be between 0 and 315360000",
            ));
        }
        match input.channel_id {
            Some(channel_id) => {
                let channel = self.channel_access(user_id, channel_id).await?;
                if channel.server_id() != Some(server_id) {
                    return Err(Error::NotFound(Resource::Channel));
                }
                channel.require(Permissions::CREATE_INVITES)?;
            }
            None => access.require(Permissions::CREATE_INVITES)?,
        }
        let now = self.now();
        let expires_at = (max_age > 0).then(|| now + chrono::Duration::seconds(max_age));
        // A clash among 57^10 codes is astronomically unlikely; retry a few times all the same.
        for _ in 0..3 {
            let new = NewInvite {
                code: new_code(),
                server_id,
                channel_id: input.channel_id,
                max_uses,
                expires_at,
                creator_id: user_id,
                created_at: now,
            };
            match self.inner.store.create_invite(&new).await {
                Ok(invite) => {
                    let changes =
                        json!({ "code": invite.code, "max_uses": max_uses, "max_age_secs": max_age });
                    self.audit(server_id, Some(user_id), "invite_create", None, changes, None).await?;
                    return Ok(invite);
                }
                Err(StoreError::Conflict(Conflict::InviteCode)) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(Error::Internal("could not find a free invite code".into()))
    }

    /// An invite's public details (no sign-in needed); 404 when unknown, expired or used up.
    pub async fn invite(&self, code: &str) -> Result<Invite> {
        if !plausible_code(code) {
            return Err(Error::NotFound(Resource::Invite));
        }
        match self.inner.store.invite(code).await? {
            Some(invite) if self.is_live(&invite) => Ok(invite),
            _ => Err(Error::NotFound(Resource::Invite)),
        }
    }

    /// A server's invites (MANAGE_INVITES).
    pub async fn invites(&self, user_id: UserId, server_id: ServerId) -> Result<Vec<Invite>> {
        let access = self.server_access(user_id, server_id).await?;
        access.require(Permissions::MANAGE_INVITES)?;
        Ok(self.inner.store.invites(server_id).await?)
    }

    /// Revokes an invite: its creator, or a MANAGE_INVITES holder.
    pub async fn revoke_invite(&self, user_id: UserId, code: &str) -> Result<()> {
        if !plausible_code(code) {
            return Err(Error::NotFound(Resource::Invite));
        }
        let invite = self.inner.store.invite(code).await?.ok_or(Error::NotFound(Resource::Invite))?;
        let server_id = invite.server.id;
        let access = match self.server_access(user_id, server_id).await {
            Err(Error::NotFound(_)) => return Err(Error::NotFound(Resource::Invite)),
            other => other?,
        };
        if invite.creator_id != user_id {
            access.require(Permissions::MANAGE_INVITES)?;
        }
        self.inner.store.delete_invite(code).await?;
        self.audit(server_id, Some(user_id), "invite_delete", None, json!({ "code": code }), None).await?;
        Ok(())
    }
}
