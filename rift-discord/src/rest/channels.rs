//! Channels: one channel, and the typing indicator.

use reqwest::Method;

use super::Client;
use crate::Error;
use crate::model::{Channel, Snowflake};

impl Client {
    /// `GET /channels/{id}`.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn channel(&self, channel_id: Snowflake) -> Result<Channel, Error> {
        self.json(Method::GET, &["channels", &channel_id.to_string()], |r| r).await
    }

    /// `POST /channels/{id}/typing`.
    ///
    /// # Errors
    ///
    /// As [`gateway`](Self::gateway).
    pub async fn trigger_typing(&self, channel_id: Snowflake) -> Result<(), Error> {
        self.send(Method::POST, &["channels", &channel_id.to_string(), "typing"], |r| {
            r.header("content-length", "0")
        })
        .await
        .map(drop)
    }
}
