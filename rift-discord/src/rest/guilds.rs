//! Guilds: the guild, its channels, members and roles, `users/@me/guilds`, icons on the CDN.

use reqwest::Method;

use super::Client;
use crate::Error;
use crate::model::{Channel, Guild, Member, Role, Snowflake};

impl Client {
    /// `GET /users/@me/guilds`: the guilds of the current user (partial objects).
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn current_user_guilds(&self) -> Result<Vec<Guild>, Error> {
        self.json(Method::GET, &["users", "@me", "guilds"], |r| r).await
    }

    /// `GET /guilds/{id}`.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn guild(&self, guild_id: Snowflake) -> Result<Guild, Error> {
        self.json(Method::GET, &["guilds", &guild_id.to_string()], |r| r).await
    }

    /// `GET /guilds/{id}/channels`.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn guild_channels(&self, guild_id: Snowflake) -> Result<Vec<Channel>, Error> {
        self.json(Method::GET, &["guilds", &guild_id.to_string(), "channels"], |r| r).await
    }

    /// `GET /guilds/{id}/members`: up to `limit` (1-1000) members with ids after `after`.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn guild_members(
        &self,
        guild_id: Snowflake,
        after: Option<Snowflake>,
        limit: u16,
    ) -> Result<Vec<Member>, Error> {
        let limit = limit.clamp(1, 1000).to_string();
        let after = after.map(|a| a.to_string());
        self.json(Method::GET, &["guilds", &guild_id.to_string(), "members"], |r| {
            let r = r.query(&[("limit", &limit)]);
            match &after {
                Some(after) => r.query(&[("after", after)]),
                None => r,
            }
        })
        .await
    }

    /// `GET /guilds/{id}/roles`.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn guild_roles(&self, guild_id: Snowflake) -> Result<Vec<Role>, Error> {
        self.json(Method::GET, &["guilds", &guild_id.to_string(), "roles"], |r| r).await
    }

    /// Where a guild's icon is on the configured CDN.
    pub fn guild_icon_url(&self, guild_id: Snowflake, hash: &str) -> String {
        let ext = if hash.starts_with("a_") { "gif" } else { "png" };
        format!("{}/icons/{guild_id}/{hash}.{ext}", self.inner.cdn_base)
    }
}
