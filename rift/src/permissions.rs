//! The permission engine: pure functions from roles and overwrites to a [`Permissions`] set.
//!
//! Computed as Discord does (SPEC §6): the owner has everything; the base set is `@everyone`'s
//! permissions united with the member's roles'; ADMINISTRATOR grants everything and ignores
//! overwrites; then a channel's overwrites apply in order `@everyone` → roles (all denies, then all
//! allows) → the member. Without VIEW_CHANNELS a channel and everything in it is invisible.

use crate::id::{RoleId, UserId};
pub(crate) use crate::model::Permissions;
use crate::model::{OverwriteKind, PermissionOverwrite, Role};

/// Who is asking, in one server: enough to compute their permissions anywhere in it.
#[derive(Debug, Clone)]
pub struct MemberContext<'a> {
    /// The member's user id.
    pub user_id: UserId,
    /// Whether the member owns the server.
    pub is_owner: bool,
    /// The server's `@everyone` role.
    pub everyone: &'a Role,
    /// The member's other roles (without `@everyone`), sorted by id when made by
    /// [`MemberContext::new`].
    pub roles: Vec<&'a Role>,
}

impl<'a> MemberContext<'a> {
    /// Builds the context from a server's full role list and the member's role ids.
    ///
    /// Returns `None` when the role list has no `@everyone` (the server id is its role id).
    pub fn new(
        user_id: UserId,
        is_owner: bool,
        everyone_id: RoleId,
        server_roles: &'a [Role],
        member_roles: &[RoleId],
    ) -> Option<Self> {
        let everyone = server_roles.iter().find(|role| role.id == everyone_id)?;
        // Sorted ids make each "does the member hold it" a binary search, so a member with many
        // roles in a server with many costs O(R log M), not O(R × M).
        let mut held = member_roles.to_vec();
        held.sort_unstable();
        let mut roles: Vec<&Role> = server_roles
            .iter()
            .filter(|role| role.id != everyone_id && held.binary_search(&role.id).is_ok())
            .collect();
        roles.sort_unstable_by_key(|role| role.id);
        Some(Self { user_id, is_owner, everyone, roles })
    }

    /// Server-wide permissions: owner → all; `@everyone` ∪ roles; ADMINISTRATOR → all.
    pub fn base(&self) -> Permissions {
        if self.is_owner {
            return Permissions::ALL;
        }
        let mut perms = self.everyone.permissions;
        for role in &self.roles {
            perms |= role.permissions;
        }
        if perms.contains(Permissions::ADMINISTRATOR) {
            return Permissions::ALL;
        }
        perms
    }

    /// Permissions in a channel with these overwrites.
    pub fn in_channel(&self, overwrites: &[PermissionOverwrite]) -> Permissions {
        // `new` sorts the roles by id; a context built by hand may not be.
        if self.roles.is_sorted_by_key(|role| role.id) {
            overwrites_on(self.base(), overwrites, self.everyone.id, &self.roles, self.user_id)
        } else {
            apply_overwrites(self.base(), overwrites, self.everyone.id, &self.roles, self.user_id)
        }
    }

    /// The position of the member's highest role; the owner outranks every role.
    pub fn rank(&self) -> Rank {
        if self.is_owner {
            return Rank::Owner;
        }
        Rank::Role(self.roles.iter().map(|role| role.position).max().unwrap_or(0))
    }

    /// Whether the member is the owner or has ADMINISTRATOR, which lifts the no-escalation rule.
    pub fn is_admin(&self) -> bool {
        self.base().contains(Permissions::ADMINISTRATOR)
    }
}

/// Applies channel overwrites to server-wide permissions (the steps after the base set).
pub(crate) fn apply_overwrites(
    base: Permissions,
    overwrites: &[PermissionOverwrite],
    everyone_id: RoleId,
    roles: &[&Role],
    user_id: UserId,
) -> Permissions {
    let mut sorted = roles.to_vec();
    sorted.sort_unstable_by_key(|role| role.id);
    overwrites_on(base, overwrites, everyone_id, &sorted, user_id)
}

/// [`apply_overwrites`] with the member's roles sorted by id (each overwrite's role is then found
/// by binary search).
fn overwrites_on(
    base: Permissions,
    overwrites: &[PermissionOverwrite],
    everyone_id: RoleId,
    roles_by_id: &[&Role],
    user_id: UserId,
) -> Permissions {
    if base.contains(Permissions::ADMINISTRATOR) {
        return Permissions::ALL;
    }
    let mut perms = base;
    let everyone_uuid = everyone_id.uuid();
    if let Some(ow) = overwrites.iter().find(|ow| ow.kind == OverwriteKind::Role && ow.id == everyone_uuid) {
        perms = (perms & !ow.deny) | ow.allow;
    }
    let mut role_allow = Permissions::NONE;
    let mut role_deny = Permissions::NONE;
    for ow in overwrites.iter().filter(|ow| ow.kind == OverwriteKind::Role && ow.id != everyone_uuid) {
        if roles_by_id.binary_search_by_key(&ow.id, |role| role.id.uuid()).is_ok() {
            role_allow |= ow.allow;
            role_deny |= ow.deny;
        }
    }
    perms = (perms & !role_deny) | role_allow;
    if let Some(ow) = overwrites.iter().find(|ow| ow.kind == OverwriteKind::Member && ow.id == user_id.uuid())
    {
        perms = (perms & !ow.deny) | ow.allow;
    }
    // Without VIEW_CHANNELS nothing in the channel is reachable (as in Discord).
    if !perms.contains(Permissions::VIEW_CHANNELS) {
        return Permissions::NONE;
    }
    perms
}

/// Where a member stands in a server's hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rank {
    /// The highest role position the member holds (0: only `@everyone`).
    Role(i32),
    /// The server's owner, above every role.
    Owner,
}

impl Rank {
    /// Whether a member of this rank may act on something ranked `target` (strictly below).
    pub fn outranks(self, target: Rank) -> bool {
        self > target
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::ServerId;
    use crate::model::OverwriteKind::{Member, Role as RoleKind};

    fn role(server: ServerId, id: RoleId, position: i32, perms: Permissions) -> Role {
        Role::new(id, server, format!("r{position}"), 0, position, perms)
    }

    fn overwrite(
        kind: OverwriteKind,
        id: uuid::Uuid,
        allow: Permissions,
        deny: Permissions,
    ) -> PermissionOverwrite {
        PermissionOverwrite { id, kind, allow, deny }
    }

    struct World {
        server: ServerId,
        user: UserId,
        roles: Vec<Role>,
    }

    impl World {
        fn new(everyone: Permissions) -> Self {
            let server = ServerId::new();
            Self {
                server,
                user: UserId::new(),
                roles: vec![role(server, RoleId::everyone(server), 0, everyone)],
            }
        }

        fn add_role(&mut self, position: i32, perms: Permissions) -> RoleId {
            let id = RoleId::new();
            self.roles.push(role(self.server, id, position, perms));
            id
        }

        fn ctx(&self, owner: bool, member_roles: &[RoleId]) -> MemberContext<'_> {
            MemberContext::new(self.user, owner, RoleId::everyone(self.server), &self.roles, member_roles)
                .unwrap()
        }
    }

    use Permissions as P;

    #[test]
    fn owner_has_everything_even_when_denied() {
        let w = World::new(P::NONE);
        let ctx = w.ctx(true, &[]);
        assert_eq!(ctx.base(), P::ALL);
        let deny_all = [overwrite(Member, w.user.uuid(), P::NONE, P::ALL)];
        assert_eq!(ctx.in_channel(&deny_all), P::ALL);
    }

    #[test]
    fn base_is_everyone_united_with_member_roles() {
        let mut w = World::new(P::VIEW_CHANNELS);
        let mods = w.add_role(1, P::MANAGE_MESSAGES);
        let other = w.add_role(2, P::BAN_MEMBERS);
        let ctx = w.ctx(false, &[mods]);
        assert_eq!(ctx.base(), P::VIEW_CHANNELS | P::MANAGE_MESSAGES);
        assert!(!ctx.base().contains(P::BAN_MEMBERS), "a role the member lacks ({other:?}) adds nothing");
    }

    #[test]
    fn administrator_grants_all_and_ignores_overwrites() {
        let mut w = World::new(P::VIEW_CHANNELS);
        let admin = w.add_role(1, P::ADMINISTRATOR);
        let ctx = w.ctx(false, &[admin]);
        assert_eq!(ctx.base(), P::ALL);
        let deny = [
            overwrite(RoleKind, w.server.uuid(), P::NONE, P::ALL),
            overwrite(Member, w.user.uuid(), P::NONE, P::VIEW_CHANNELS),
        ];
        assert_eq!(ctx.in_channel(&deny), P::ALL);
    }

    #[test]
    fn everyone_overwrite_applies_first() {
        let w = World::new(P::EVERYONE_DEFAULT);
        let ctx = w.ctx(false, &[]);
        let ows = [overwrite(RoleKind, w.server.uuid(), P::MANAGE_MESSAGES, P::SEND_MESSAGES)];
        let perms = ctx.in_channel(&ows);
        assert!(!perms.contains(P::SEND_MESSAGES));
        assert!(perms.contains(P::MANAGE_MESSAGES));
    }

    #[test]
    fn role_allow_beats_everyone_deny() {
        let mut w = World::new(P::EVERYONE_DEFAULT);
        let speakers = w.add_role(1, P::NONE);
        let ows = [
            overwrite(RoleKind, w.server.uuid(), P::NONE, P::SEND_MESSAGES),
            overwrite(RoleKind, speakers.uuid(), P::SEND_MESSAGES, P::NONE),
        ];
        assert!(w.ctx(false, &[speakers]).in_channel(&ows).contains(P::SEND_MESSAGES));
        assert!(!w.ctx(false, &[]).in_channel(&ows).contains(P::SEND_MESSAGES));
    }

    #[test]
    fn any_role_allow_beats_another_roles_deny() {
        // Role denies are applied together, then role allows: order among roles does not matter.
        let mut w = World::new(P::EVERYONE_DEFAULT);
        let a = w.add_role(1, P::NONE);
        let b = w.add_role(2, P::NONE);
        let ows = [
            overwrite(RoleKind, a.uuid(), P::SEND_MESSAGES, P::NONE),
            overwrite(RoleKind, b.uuid(), P::NONE, P::SEND_MESSAGES),
        ];
        assert!(w.ctx(false, &[a, b]).in_channel(&ows).contains(P::SEND_MESSAGES));
        let reversed = [ows[1], ows[0]];
        assert!(w.ctx(false, &[b, a]).in_channel(&reversed).contains(P::SEND_MESSAGES));
    }

    #[test]
    fn member_deny_beats_role_allow() {
        let mut w = World::new(P::EVERYONE_DEFAULT);
        let speakers = w.add_role(1, P::NONE);
        let ows = [
            overwrite(RoleKind, speakers.uuid(), P::SEND_MESSAGES, P::NONE),
            overwrite(Member, w.user.uuid(), P::NONE, P::SEND_MESSAGES),
        ];
        assert!(!w.ctx(false, &[speakers]).in_channel(&ows).contains(P::SEND_MESSAGES));
    }

    #[test]
    fn member_allow_beats_role_deny() {
        let mut w = World::new(P::EVERYONE_DEFAULT);
        let muted = w.add_role(1, P::NONE);
        let ows = [
            overwrite(RoleKind, muted.uuid(), P::NONE, P::SEND_MESSAGES),
            overwrite(Member, w.user.uuid(), P::SEND_MESSAGES, P::NONE),
        ];
        assert!(w.ctx(false, &[muted]).in_channel(&ows).contains(P::SEND_MESSAGES));
    }

    #[test]
    fn overwrites_of_other_members_and_roles_do_not_apply() {
        let mut w = World::new(P::EVERYONE_DEFAULT);
        let unrelated = w.add_role(1, P::NONE);
        let ows = [
            overwrite(RoleKind, unrelated.uuid(), P::NONE, P::SEND_MESSAGES),
            overwrite(Member, UserId::new().uuid(), P::NONE, P::SEND_MESSAGES),
        ];
        assert!(w.ctx(false, &[]).in_channel(&ows).contains(P::SEND_MESSAGES));
    }

    #[test]
    fn without_view_channels_nothing_in_the_channel_is_allowed() {
        let w = World::new(P::EVERYONE_DEFAULT | P::MANAGE_MESSAGES);
        let ows = [overwrite(RoleKind, w.server.uuid(), P::NONE, P::VIEW_CHANNELS)];
        assert_eq!(w.ctx(false, &[]).in_channel(&ows), P::NONE);
    }

    #[test]
    fn a_member_overwrite_can_reveal_a_hidden_channel() {
        let w = World::new(P::EVERYONE_DEFAULT);
        let ows = [
            overwrite(RoleKind, w.server.uuid(), P::NONE, P::VIEW_CHANNELS),
            overwrite(Member, w.user.uuid(), P::VIEW_CHANNELS, P::NONE),
        ];
        assert!(w.ctx(false, &[]).in_channel(&ows).contains(P::VIEW_CHANNELS | P::SEND_MESSAGES));
    }

    #[test]
    fn rank_is_highest_role_and_owner_outranks_all() {
        let mut w = World::new(P::NONE);
        let low = w.add_role(1, P::NONE);
        let high = w.add_role(5, P::NONE);
        assert_eq!(w.ctx(false, &[low, high]).rank(), Rank::Role(5));
        assert_eq!(w.ctx(false, &[]).rank(), Rank::Role(0));
        assert!(Rank::Owner.outranks(Rank::Role(i32::MAX)));
        assert!(!Rank::Role(3).outranks(Rank::Role(3)), "equal ranks cannot act on each other");
        assert!(Rank::Role(4).outranks(Rank::Role(3)));
    }

    #[test]
    fn a_context_built_by_hand_with_unsorted_roles_matches_new() {
        let mut w = World::new(P::VIEW_CHANNELS);
        let ids: Vec<RoleId> = (1..=6).map(|pos| w.add_role(pos, P::NONE)).collect();
        let ows: Vec<PermissionOverwrite> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let bit = if i % 2 == 0 { P::SEND_MESSAGES } else { P::MANAGE_MESSAGES };
                overwrite(RoleKind, id.uuid(), bit, P::NONE)
            })
            .collect();
        let held = [ids[4], ids[1]];
        let built = w.ctx(false, &held);
        let mut by_hand = built.clone();
        by_hand.roles.reverse();
        assert!(!by_hand.roles.is_sorted_by_key(|role| role.id), "two distinct roles, reversed");
        let expected = P::VIEW_CHANNELS | P::SEND_MESSAGES | P::MANAGE_MESSAGES;
        assert_eq!(built.in_channel(&ows), expected);
        assert_eq!(by_hand.in_channel(&ows), expected);
        let refs: Vec<&Role> = by_hand.roles.clone();
        assert_eq!(
            apply_overwrites(built.base(), &ows, w.ctx(false, &[]).everyone.id, &refs, w.user),
            expected
        );
    }

    #[test]
    fn debug_names_the_bits() {
        assert_eq!(
            format!("{:?}", P::VIEW_CHANNELS | P::BAN_MEMBERS),
            "Permissions(VIEW_CHANNELS | BAN_MEMBERS)"
        );
    }

    /// Brute-force check against a literal reading of SPEC §6 over random worlds.
    #[test]
    fn matches_reference_over_random_worlds() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let bits = |x: u64| {
            Permissions::from_bits(
                x & (P::ALL.bits() & !P::ADMINISTRATOR.bits()
                    | if x.is_multiple_of(17) { P::ADMINISTRATOR.bits() } else { 0 }),
            )
        };
        for _ in 0..2000 {
            let mut w = World::new(bits(next()));
            let role_ids: Vec<RoleId> = (1..=3).map(|pos| w.add_role(pos, bits(next()))).collect();
            let held: Vec<RoleId> = role_ids.iter().copied().filter(|_| next() % 2 == 0).collect();
            let mut ows = vec![overwrite(RoleKind, w.server.uuid(), bits(next()), bits(next()))];
            for id in &role_ids {
                ows.push(overwrite(RoleKind, id.uuid(), bits(next()), bits(next())));
            }
            ows.push(overwrite(Member, w.user.uuid(), bits(next()), bits(next())));
            let owner = next() % 11 == 0;
            let ctx = w.ctx(owner, &held);

            // Reference: written out step by step.
            let expected = if owner {
                P::ALL
            } else {
                let mut base = w.roles[0].permissions;
                for r in &w.roles[1..] {
                    if held.contains(&r.id) {
                        base |= r.permissions;
                    }
                }
                if base.contains(P::ADMINISTRATOR) {
                    P::ALL
                } else {
                    let mut p = (base & !ows[0].deny) | ows[0].allow;
                    let (mut allow, mut deny) = (P::NONE, P::NONE);
                    for (i, id) in role_ids.iter().enumerate() {
                        if held.contains(id) {
                            allow |= ows[i + 1].allow;
                            deny |= ows[i + 1].deny;
                        }
                    }
                    p = (p & !deny) | allow;
                    let member = ows.last().unwrap();
                    p = (p & !member.deny) | member.allow;
                    if p.contains(P::VIEW_CHANNELS) { p } else { P::NONE }
                }
            };
            assert_eq!(ctx.in_channel(&ows), expected);
        }
    }
}
