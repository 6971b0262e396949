//! Accounts and tokens: Argon2id passwords, short-lived HS256 access tokens, and refresh tokens
//! that rotate on every use, where presenting a used one revokes its whole family.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorCode, Result};
use crate::id::{TokenFamilyId, UserId};
use crate::model::User;
use crate::secret::Secret;
use crate::store::{NewRefreshToken, RefreshOutcome};

use super::Rift;
use super::hashing::{check_password, hash_password, verify_password};

/// What register and login answer: a token pair and the user.
#[derive(Debug, Clone, Serialize)]
pub struct AuthSession {
    /// Bearer token for API calls.
    pub access_token: Secret,
    /// Single-use token for `POST /api/auth/refresh`.
    pub refresh_token: Secret,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The signed-in user.
    pub user: User,
}

/// A fresh access and refresh token.
#[derive(Debug, Clone, Serialize)]
pub struct TokenPair {
    /// Bearer token for API calls.
    pub access_token: Secret,
    /// Single-use token for `POST /api/auth/refresh`.
    pub refresh_token: Secret,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Claims {
    /// The user id.
    pub sub: UserId,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
}

fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn invalid_refresh() -> Error {
    Error::unauthenticated(ErrorCode::InvalidRefreshToken, "refresh token is invalid, used or revoked")
}

impl Rift {
    /// Checks an access token and returns its user.
    ///
    /// # Errors
    /// 401 `invalid_token` when it is malformed, forged, of another algorithm or expired.
    pub fn authenticate(&self, access_token: &str) -> Result<UserId> {
        let invalid =
            || Error::unauthenticated(ErrorCode::InvalidToken, "access token is invalid or expired");
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        // Expiry is judged by the service's clock below, not the library's system time.
        validation.validate_exp = false;
        let claims = jsonwebtoken::decode::<Claims>(
            access_token,
            &DecodingKey::from_secret(&self.inner.config.jwt_secret),
            &validation,
        )
        .map_err(|_| invalid())?
        .claims;
        if claims.exp < self.now().timestamp() {
            return Err(invalid());
        }
        Ok(claims.sub)
    }

    /// Checks an access token and that its user may still use it (not disabled since it was
    /// issued): what every request and gateway session presents.
    ///
    /// # Errors
    /// 401 `invalid_token` (see [`Rift::authenticate`]); 401 `account_disabled`.
    pub async fn authenticate_active(&self, access_token: &str) -> Result<UserId> {
        let user_id = self.authenticate(access_token)?;
        self.check_enabled(user_id).await?;
        Ok(user_id)
    }

    async fn check_enabled(&self, user_id: UserId) -> Result<()> {
        match self.inner.store.user_disabled_at(user_id).await? {
            None => Ok(()),
            Some(_) => Err(Error::unauthenticated(ErrorCode::AccountDisabled, "this account is disabled")),
        }
    }

    /// Disables an account: it can no longer sign in, refresh, or use an access token it holds;
    /// every refresh token is revoked. Its data stays.
    ///
    /// # Errors
    /// 404 `unknown_user`.
    pub async fn disable_user(&self, user_id: UserId) -> Result<()> {
        if !self.inner.store.set_user_disabled(user_id, Some(self.now())).await? {
            return Err(Error::NotFound(crate::error::Resource::User));
        }
        self.inner.store.revoke_user_tokens(user_id, None).await?;
        Ok(())
    }

    /// Enables a disabled account again (it signs in afresh).
    ///
    /// # Errors
    /// 404 `unknown_user`.
    pub async fn enable_user(&self, user_id: UserId) -> Result<()> {
        if !self.inner.store.set_user_disabled(user_id, None).await? {
            return Err(Error::NotFound(crate::error::Resource::User));
        }
        Ok(())
    }

    fn access_token(&self, user_id: UserId) -> Result<String> {
        let now = self.now().timestamp();
        let ttl = i64::try_from(self.inner.config.access_token_ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let claims = Claims { sub: user_id, iat: now, exp: now.saturating_add(ttl) };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&self.inner.config.jwt_secret),
        )
        .map_err(|e| Error::Internal(format!("token signing failed: {e}")))
    }

    /// Issues an access token and a refresh token in `family` (a new family when `None`).
    pub(super) async fn issue_tokens(
        &self,
        user_id: UserId,
        family: Option<TokenFamilyId>,
    ) -> Result<TokenPair> {
        let refresh_token = new_refresh_token();
        let now = self.now();
        let ttl = chrono::Duration::from_std(self.inner.config.refresh_token_ttl)
            .unwrap_or(chrono::Duration::days(30));
        self.inner
            .store
            .insert_refresh_token(&NewRefreshToken {
                token_hash: token_hash(&refresh_token),
                family_id: family.unwrap_or_else(TokenFamilyId::new),
                user_id,
                created_at: now,
                expires_at: now + ttl,
            })
            .await?;
        Ok(TokenPair {
            access_token: Secret::new(self.access_token(user_id)?),
            refresh_token: Secret::new(refresh_token),
            expires_in: self.inner.config.access_token_ttl.as_secs(),
        })
    }

    /// A new token family for `user`, with the user: what register and login answer.
    pub(super) async fn sign_in(&self, user: User) -> Result<AuthSession> {
        let tokens = self.issue_tokens(user.id, None).await?;
        Ok(AuthSession {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            expires_in: tokens.expires_in,
            user,
        })
    }

    /// Signs in with username (any case) and password.
    ///
    /// # Errors
    /// 401 `invalid_credentials` for an unknown user, a puppet, or a wrong password alike.
    pub async fn login(&self, username: &str, password: &str) -> Result<AuthSession> {
        // A name outside the username rule cannot exist; still spend the hashing time.
        let user = match super::check_username(username) {
            Ok(()) => self.inner.store.user_by_username(username).await?,
            Err(_) => None,
        };
        let hash = match &user {
            Some(user) if !user.is_puppet => self.inner.store.password_hash(user.id).await?,
            _ => None,
        };
        let valid = verify_password(password, hash).await?;
        match user {
            Some(user) if valid => {
                self.check_enabled(user.id).await?;
                self.sign_in(user).await
            }
            _ => Err(Error::unauthenticated(ErrorCode::InvalidCredentials, "wrong username or password")),
        }
    }

    /// Exchanges a refresh token for a new pair; the old one stops working. Presenting a token
    /// that was already used revokes its whole family (someone else has a copy).
    ///
    /// # Errors
    /// 401 `invalid_refresh_token`.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair> {
        match self.inner.store.use_refresh_token(&token_hash(refresh_token), self.now()).await? {
            RefreshOutcome::Valid { user_id, family_id } => self.issue_tokens(user_id, Some(family_id)).await,
            RefreshOutcome::Reused { user_id, family_id } => {
                tracing::warn!(%user_id, ?family_id, "refresh token reused: family revoked");
                Err(invalid_refresh())
            }
            RefreshOutcome::Invalid => Err(invalid_refresh()),
        }
    }

    /// Revokes the family of `refresh_token`, if it is the caller's.
    pub async fn logout(&self, user_id: UserId, refresh_token: &str) -> Result<()> {
        match self.inner.store.refresh_token_family(&token_hash(refresh_token)).await? {
            Some((owner, family)) if owner == user_id => {
                self.inner.store.revoke_token_family(family).await?;
                Ok(())
            }
            _ => Err(invalid_refresh()),
        }
    }

    /// Revokes every refresh token of the caller.
    pub async fn logout_all(&self, user_id: UserId) -> Result<()> {
        self.inner.store.revoke_user_tokens(user_id, None).await?;
        Ok(())
    }

    /// Changes the password; every other refresh token of the user is revoked.
    ///
    /// # Errors
    /// 401 `invalid_credentials` when `current` is wrong; 400 `invalid_password`.
    pub async fn change_password(&self, user_id: UserId, current: &str, new: &str) -> Result<TokenPair> {
        check_password(new)?;
        let hash = self.inner.store.password_hash(user_id).await?;
        if !verify_password(current, hash).await? {
            return Err(Error::unauthenticated(ErrorCode::InvalidCredentials, "current password is wrong"));
        }
        let new_hash = hash_password(new).await?;
        self.inner.store.set_password_hash(user_id, &new_hash).await?;
        let family = TokenFamilyId::new();
        self.inner.store.revoke_user_tokens(user_id, Some(family)).await?;
        self.issue_tokens(user_id, Some(family)).await
    }

    /// Sets a password without knowing the old one (an administrator's reset): every refresh
    /// token of the user is revoked, so each session must sign in again.
    ///
    /// # Errors
    /// 404 `unknown_user` (puppets included: they cannot log in); 400 `invalid_password`.
    pub async fn reset_password(&self, user_id: UserId, new: &str) -> Result<()> {
        check_password(new)?;
        match self.inner.store.user(user_id).await? {
            Some(user) if !user.is_puppet => {}
            _ => return Err(Error::NotFound(crate::error::Resource::User)),
        }
        let new_hash = hash_password(new).await?;
        self.inner.store.set_password_hash(user_id, &new_hash).await?;
        self.inner.store.revoke_user_tokens(user_id, None).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_are_random_and_stored_hashed() {
        let (a, b) = (new_refresh_token(), new_refresh_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_ne!(token_hash(&a), a);
        assert_eq!(token_hash(&a), token_hash(&a));
    }

    #[test]
    fn token_pairs_do_not_print_their_tokens() {
        let pair = TokenPair {
            access_token: Secret::new("eyJ.access.sig"),
            refresh_token: Secret::new("refresh-0123"),
            expires_in: 900,
        };
        let printed = format!("{pair:?}");
        assert!(!printed.contains("eyJ.access.sig") && !printed.contains("refresh-0123"), "{printed}");
        let json = serde_json::to_value(&pair).unwrap();
        assert_eq!(
            (json["access_token"].as_str(), json["refresh_token"].as_str()),
            (Some("eyJ.access.sig"), Some("refresh-0123"))
        );
    }
}
