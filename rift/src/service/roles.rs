//! Roles, their order, and who holds them.

use serde::Deserialize;
use serde_json::json;

use crate::error::{Error, ErrorCode, Resource, Result};
use crate::event::{Event, Topic};
use crate::id::{RoleId, ServerId, UserId};
use crate::model::Role;
use crate::permissions::Permissions;
use crate::store::RolePatch;

use super::{Rift, ServerAccess, check_name};

/// `POST /api/servers/:id/roles`.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct RoleInput {
    /// 1–100 characters.
    pub name: String,
    /// RGB colour (0 for none).
    #[serde(default)]
    pub color: i32,
    /// Granted permissions.
    #[serde(default)]
    pub permissions: Permissions,
}

impl RoleInput {
    /// A role called `name` granting `permissions`.
    pub fn new(name: impl Into<String>, permissions: Permissions) -> Self {
        Self { name: name.into(), color: 0, permissions }
    }
}

/// `PATCH /api/roles/:id`.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct RoleUpdate {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New colour.
    #[serde(default)]
    pub color: Option<i32>,
    /// New permissions.
    #[serde(default)]
    pub permissions: Option<Permissions>,
    /// New position (1 up to the highest; the roles between shift by one).
    #[serde(default)]
    pub position: Option<i32>,
}

fn check_color(color: i32) -> Result<i32> {
    if (0..=0xff_ffff).contains(&color) {
        Ok(color)
    } else {
        Err(Error::invalid(ErrorCode::InvalidColor, "color must be an RGB value from 0 to 16777215"))
    }
}

impl Rift {
    /// Loads a role with the caller's standing, checking MANAGE_ROLES and that the role is below them.
    async fn managed_role(&self, user_id: UserId, role_id: RoleId) -> Result<(Role, ServerAccess)> {
        let role = self.inner.store.role(role_id).await?.ok_or(Error::NotFound(Resource::Role))?;
        let access = match self.server_access(user_id, role.server_id).await {
            Err(Error::NotFound(_)) => return Err(Error::NotFound(Resource::Role)),
            other => other?,
        };
        access.require(Permissions::MANAGE_ROLES)?;
        if !role.is_everyone() && !access.rank().outranks(access.role_rank(&role)) {
            return Err(Error::forbidden(
                ErrorCode::RoleHierarchy,
                "that role is not below your highest role",
            ));
        }
        Ok((role, access))
    }

    /// Creates a role at position 1, just above `@everyone` (MANAGE_ROLES; no escalation).
    pub async fn create_role(&self, user_id: UserId, server_id: ServerId, input: RoleInput) -> Result<Role> {
        let access = self.server_access(user_id, server_id).await?;
        access.require(Permissions::MANAGE_ROLES)?;
        access.check_grant(input.permissions, access.base())?;
        let name = check_name("role name", ErrorCode::InvalidName, &input.name, 100)?;
        let role = Role::new(
            RoleId::new(),
            server_id,
            name,
            check_color(input.color)?,
            1,
            input.permissions & Permissions::ALL,
        );
        let _forget = self.forget_on_drop(server_id);
        let role = self.inner.store.create_role(&role).await?;
        let changes = json!({ "name": role.name, "permissions": role.permissions });
        self.audit(server_id, Some(user_id), "role_create", Some(role.id.uuid()), changes, None).await?;
        self.publish_roles(server_id).await?;
        Ok(role)
    }

    /// A server's roles by position (members only).
    pub async fn roles(&self, user_id: UserId, server_id: ServerId) -> Result<Vec<Role>> {
        Ok(self.server_access(user_id, server_id).await?.roles().to_vec())
    }

    /// Publishes every role of a server (positions shift together, so all may have changed).
    async fn publish_roles(&self, server_id: ServerId) -> Result<()> {
        for role in self.inner.store.roles(server_id).await? {
            self.publish(Topic::Server(server_id), Event::RoleUpdate(role));
        }
        Ok(())
    }

    /// Edits a role below the caller (MANAGE_ROLES; no escalation; moving it to or above the
    /// caller's highest role is 403, out of range 400).
    pub async fn update_role(&self, user_id: UserId, role_id: RoleId, update: RoleUpdate) -> Result<Role> {
        let (role, access) = self.managed_role(user_id, role_id).await?;
        let server_id = role.server_id;
        if let Some(permissions) = update.permissions {
            // Only bits being added need holding; keeping what the role already had is fine.
            access.check_grant(permissions.difference(role.permissions), access.base())?;
        }
        let patch = RolePatch {
            name: update
                .name
                .as_deref()
                .map(|n| check_name("role name", ErrorCode::InvalidName, n, 100))
                .transpose()?,
            color: update.color.map(check_color).transpose()?,
            permissions: update.permissions.map(|p| p & Permissions::ALL),
        };
        if let Some(position) = update.position {
            if role.is_everyone() {
                return Err(Error::invalid(
                    ErrorCode::InvalidPosition,
                    "@everyone always stays at position 0",
                ));
            }
            let highest = i32::try_from(access.roles().len()).unwrap_or(i32::MAX) - 1;
            if !(1..=highest).contains(&position) {
                return Err(Error::invalid(
                    ErrorCode::InvalidPosition,
                    format!("position must be between 1 and {highest}"),
                ));
            }
            if !access.rank().outranks(crate::permissions::Rank::Role(position)) {
                return Err(Error::forbidden(
                    ErrorCode::RoleHierarchy,
                    "you cannot move a role to or above your highest role",
                ));
            }
        }
        let _forget = self.forget_on_drop(server_id);
        self.inner.store.update_role(role_id, &patch).await?.ok_or(Error::NotFound(Resource::Role))?;
        if let Some(position) = update.position {
            self.inner.store.move_role(role_id, position).await?.ok_or(Error::NotFound(Resource::Role))?;
        }
        let updated = self.inner.store.role(role_id).await?.ok_or(Error::NotFound(Resource::Role))?;
        let changes = json!({
            "name": patch.name, "color": patch.color, "permissions": patch.permissions, "position": update.position,
        });
        self.audit(server_id, Some(user_id), "role_update", Some(role_id.uuid()), changes, None).await?;
        self.publish_roles(server_id).await?;
        Ok(updated)
    }

    /// Deletes a role below the caller (MANAGE_ROLES). `@everyone`: 400 `cannot_delete_everyone`.
    pub async fn delete_role(&self, user_id: UserId, role_id: RoleId) -> Result<()> {
        let (role, _) = self.managed_role(user_id, role_id).await?;
        if role.is_everyone() {
            return Err(Error::invalid(
                ErrorCode::CannotDeleteEveryone,
                "the @everyone role cannot be deleted",
            ));
        }
        let _forget = self.forget_on_drop(role.server_id);
        self.inner.store.delete_role(role_id).await?;
        let changes = json!({ "name": role.name });
        self.audit(role.server_id, Some(user_id), "role_delete", Some(role_id.uuid()), changes, None).await?;
        self.publish(Topic::Server(role.server_id), Event::RoleDelete { server_id: role.server_id, role_id });
        self.publish_roles(role.server_id).await
    }

    /// Gives (`assign`) or takes a role from a member (MANAGE_ROLES; the role below the caller).
    pub async fn set_member_role(
        &self,
        user_id: UserId,
        role_id: RoleId,
        target: UserId,
        assign: bool,
    ) -> Result<()> {
        let (role, _) = self.managed_role(user_id, role_id).await?;
        if role.is_everyone() {
            return Err(Error::invalid(ErrorCode::InvalidRole, "everyone always has the @everyone role"));
        }
        let server_id = role.server_id;
        if self.inner.store.member(server_id, target).await?.is_none() {
            return Err(Error::NotFound(Resource::Member));
        }
        let _forget = self.forget_on_drop(server_id);
        let changed = if assign {
            self.inner.store.add_member_role(server_id, target, role_id).await?
        } else {
            self.inner.store.remove_member_role(server_id, target, role_id).await?
        };
        if changed {
            let key = if assign { "added" } else { "removed" };
            let changes = json!({ key: [role_id] });
            self.audit(server_id, Some(user_id), "member_role_update", Some(target.uuid()), changes, None)
                .await?;
            if let Some(member) = self.inner.store.member(server_id, target).await? {
                let mut member = member;
                member.user = self.public_view(member.user);
                self.publish(Topic::Server(server_id), Event::MemberUpdate(member));
            }
        }
        Ok(())
    }
}
