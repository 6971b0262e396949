//! Users and DMs: `users/@me`, `users/{id}`, `users/@me/channels`, avatars on the CDN.

use reqwest::Method;
use serde_json::json;

use super::Client;
use crate::Error;
use crate::model::{Channel, Snowflake, User};

impl Client {
    /// `GET /users/@me`.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn current_user(&self) -> Result<User, Error> {
        self.json(Method::GET, &["users", "@me"], |r| r).await
    }

    /// `POST /users/@me/channels`: opens (or finds) the DM channel with a user.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn create_dm(&self, recipient_id: Snowflake) -> Result<Channel, Error> {
        let body = serde_json::to_string(&json!({ "recipient_id": recipient_id }))?;
        self.json(Method::POST, &["users", "@me", "channels"], |r| {
            r.header("content-type", "application/json").body(body.clone())
        })
        .await
    }

    /// `GET /users/{id}`.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn user(&self, user_id: Snowflake) -> Result<User, Error> {
        self.json(Method::GET, &["users", &user_id.to_string()], |r| r).await
    }

    /// `GET /users/@me/channels`: the open DMs and group DMs (user accounts).
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn private_channels(&self) -> Result<Vec<Channel>, Error> {
        self.json(Method::GET, &["users", "@me", "channels"], |r| r).await
    }

    /// Where a user's avatar is on the configured CDN.
    pub fn avatar_url(&self, user_id: Snowflake, hash: &str) -> String {
        let ext = if hash.starts_with("a_") { "gif" } else { "png" };
        format!("{}/avatars/{user_id}/{hash}.{ext}", self.inner.cdn_base)
    }
}
