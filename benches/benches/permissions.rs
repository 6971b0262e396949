//! The permission computation of a member with many roles in a channel with many overwrites:
//! `MemberContext::new` (picking the member's roles from the server's), `base` and `in_channel`.
//! Pure computation, no I/O: what every permission check costs once its inputs are loaded.
//!
//! `cargo bench -p rift-benches --bench permissions`

// `criterion_group!` makes a public function we cannot document.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use rift::model::{OverwriteKind, PermissionOverwrite, Role};
use rift::{MemberContext, Permissions, RoleId, ServerId, UserId};

/// A server with `roles` roles (plus @everyone), a member holding every other one, and a channel
/// with an overwrite for each role plus one for the member.
fn setup(roles: usize) -> (UserId, RoleId, Vec<Role>, Vec<RoleId>, Vec<PermissionOverwrite>) {
    let server = ServerId::new();
    let user = UserId::new();
    let everyone = RoleId::everyone(server);
    let mut all = vec![Role::new(everyone, server, "@everyone", 0, 0, Permissions::EVERYONE_DEFAULT)];
    for i in 0..roles {
        let bits = Permissions::from_bits(1 << (i % 20));
        all.push(Role::new(RoleId::new(), server, format!("role {i}"), 0, i as i32 + 1, bits));
    }
    let member_roles: Vec<RoleId> = all.iter().skip(1).step_by(2).map(|r| r.id).collect();
    let mut overwrites: Vec<PermissionOverwrite> = all
        .iter()
        .enumerate()
        .map(|(i, role)| {
            let bit = Permissions::from_bits(1 << (i % 20));
            let (allow, deny) = if i % 3 == 0 { (Permissions::NONE, bit) } else { (bit, Permissions::NONE) };
            PermissionOverwrite { id: role.id.uuid(), kind: OverwriteKind::Role, allow, deny }
        })
        .collect();
    overwrites.push(PermissionOverwrite {
        id: user.uuid(),
        kind: OverwriteKind::Member,
        allow: Permissions::SEND_MESSAGES,
        deny: Permissions::NONE,
    });
    (user, everyone, all, member_roles, overwrites)
}

fn permissions(c: &mut Criterion) {
    let mut group = c.benchmark_group("permissions_in_channel");
    for roles in [1usize, 10, 100, 250] {
        let (user, everyone, all, member_roles, overwrites) = setup(roles);
        group.bench_with_input(BenchmarkId::from_parameter(roles), &roles, |b, _| {
            b.iter(|| {
                let ctx =
                    MemberContext::new(user, false, everyone, black_box(&all), black_box(&member_roles))
                        .expect("@everyone is there");
                black_box(ctx.in_channel(black_box(&overwrites)))
            });
        });
    }
    group.finish();
}

criterion_group!(benches, permissions);
criterion_main!(benches);
