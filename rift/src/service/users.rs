//! Registration and profiles.

use serde::Deserialize;

use crate::error::{Error, ErrorCode, Resource, Result};
use crate::event::{Event, Topic};
use crate::id::{UploadId, UserId};
use crate::model::{Status, User};
use crate::store::{NewUser, UserPatch};

use super::check_username;
use super::hashing::{check_password, hash_password};
use super::{AuthSession, Rift, check_name};

/// `POST /api/auth/register`.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct RegisterInput {
    /// 2–32 of `[A-Za-z0-9_.-]`, unique ignoring case.
    pub username: String,
    /// 8–256 characters.
    pub password: String,
    /// Optional, unique ignoring case.
    #[serde(default)]
    pub email: Option<String>,
    /// Defaults to the username.
    #[serde(default)]
    pub display_name: Option<String>,
}

impl RegisterInput {
    /// A registration with just a username and password.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self { username: username.into(), password: password.into(), email: None, display_name: None }
    }
}

/// `PATCH /api/users/me`.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct ProfileUpdate {
    /// New display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// An image upload of the caller's to use as avatar.
    #[serde(default)]
    pub avatar_id: Option<UploadId>,
    /// `online`, `idle`, `dnd` or `invisible`.
    #[serde(default)]
    pub status: Option<Status>,
}

/// An email address, trimmed: something before `@` and a dot after it, no spaces.
fn check_email(email: &str) -> Result<String> {
    let email = email.trim();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email.to_owned())
    } else {
        Err(Error::invalid(ErrorCode::InvalidEmail, "email address is invalid"))
    }
}

impl Rift {
    /// Creates an account and signs it in.
    ///
    /// # Errors
    /// 400 `invalid_username` / `invalid_password` / `invalid_email` / `invalid_display_name`;
    /// 409 `username_taken` / `email_taken`.
    pub async fn register(&self, input: RegisterInput) -> Result<AuthSession> {
        check_username(&input.username)?;
        check_password(&input.password)?;
        let email = input.email.as_deref().map(check_email).transpose()?;
        let display_name = match &input.display_name {
            Some(name) => check_name("display name", ErrorCode::InvalidDisplayName, name, 64)?,
            None => input.username.clone(),
        };
        let password_hash = hash_password(&input.password).await?;
        let new = NewUser {
            id: UserId::new(),
            username: input.username,
            display_name,
            email,
            password_hash: Some(password_hash.into()),
            bridge: None,
            created_at: self.now(),
        };
        // A taken username or email becomes its own 409 in `From<StoreError> for Error`.
        let user = self.inner.store.create_user(&new).await?;
        self.sign_in(user).await
    }

    /// The caller's own profile (with their real status).
    pub async fn me(&self, user_id: UserId) -> Result<User> {
        let user = self.inner.store.user(user_id).await?.ok_or(Error::NotFound(Resource::User))?;
        Ok(user)
    }

    /// Another user's profile, with the presence others see.
    pub async fn user(&self, _viewer: UserId, user_id: UserId) -> Result<User> {
        let user = self.inner.store.user(user_id).await?.ok_or(Error::NotFound(Resource::User))?;
        Ok(self.public_view(user))
    }

    /// Changes the caller's display name, avatar or status.
    ///
    /// # Errors
    /// 400 `invalid_display_name`, `invalid_status` (`offline` is not choosable), `invalid_avatar`
    /// (not the caller's upload, or not an image).
    pub async fn update_profile(&self, user_id: UserId, update: ProfileUpdate) -> Result<User> {
        let display_name = update
            .display_name
            .as_deref()
            .map(|n| check_name("display name", ErrorCode::InvalidDisplayName, n, 64));
        let mut patch = UserPatch { display_name: display_name.transpose()?, ..UserPatch::default() };
        if let Some(status) = update.status {
            if status == Status::Offline {
                return Err(Error::invalid(
                    ErrorCode::InvalidStatus,
                    "status must be online, idle, dnd or invisible",
                ));
            }
            patch.status = Some(status);
        }
        if let Some(avatar_id) = update.avatar_id {
            let upload = self.inner.store.upload(avatar_id).await?;
            match upload {
                Some(upload)
                    if upload.uploader_id == Some(user_id) && upload.content_type.starts_with("image/") =>
                {
                    patch.avatar_url = Some(Some(upload.url));
                }
                _ => {
                    return Err(Error::invalid(
                        ErrorCode::InvalidAvatar,
                        "avatar must be an image you uploaded",
                    ));
                }
            }
        }
        let before = self.inner.store.user(user_id).await?.ok_or(Error::NotFound(Resource::User))?;
        let user =
            self.inner.store.update_user(user_id, &patch).await?.ok_or(Error::NotFound(Resource::User))?;
        let public = self.public_view(user.clone());
        if self.public_view(before).status != public.status {
            self.publish_presence(user_id, public.status).await?;
        }
        for peer in self.presence_audience(user_id).await? {
            let view = if peer == user_id { user.clone() } else { public.clone() };
            self.publish(Topic::User(peer), Event::UserUpdate(view));
        }
        Ok(user)
    }
}
