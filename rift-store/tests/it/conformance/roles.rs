//! Roles: positions stay unique and contiguous; assignments.

use rift::id::{RoleId, ServerId};
use rift::model::{OverwriteKind, PermissionOverwrite, Role};
use rift::store::RolePatch;
use rift::{Permissions, Store};

use crate::fixtures::*;

async fn names(store: &dyn Store, server: ServerId) -> Vec<String> {
    let roles = store.roles(server).await.unwrap();
    let positions: Vec<i32> = roles.iter().map(|r| r.position).collect();
    assert_eq!(positions, (0..roles.len() as i32).collect::<Vec<_>>(), "positions not contiguous");
    roles.into_iter().map(|r| r.name).collect()
}

async fn role(store: &dyn Store, server: ServerId, name: &str, position: i32) -> Role {
    store
        .create_role(&Role::new(RoleId::new(), server, name, 0x00ff00, position, Permissions::SEND_MESSAGES))
        .await
        .unwrap()
}

pub(crate) async fn create_role_inserts_and_shifts_up(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let (server, _) = server(store, &owner).await;
    let a = role(store, server.id, "a", 1).await;
    assert_eq!(a.position, 1);
    assert_eq!(a.color, 0x00ff00);
    assert_eq!(a.permissions, Permissions::SEND_MESSAGES);
    role(store, server.id, "b", 1).await;
    role(store, server.id, "c", 99).await;
    let d = role(store, server.id, "d", 0).await;
    assert_eq!(d.position, 1, "nothing goes below @everyone");
    assert_eq!(names(store, server.id).await, ["@everyone", "d", "b", "a", "c"]);
    assert_eq!(store.role(a.id).await.unwrap().unwrap().position, 3);
    assert_eq!(store.role(RoleId::new()).await.unwrap(), None);
    let missing =
        store.create_role(&Role::new(RoleId::new(), ServerId::new(), "x", 0, 1, Permissions::NONE)).await;
    assert!(missing.is_err());
}

pub(crate) async fn move_role_up_and_down_keeps_positions_contiguous(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let (server, _) = server(store, &owner).await;
    let a = role(store, server.id, "a", 1).await;
    let b = role(store, server.id, "b", 2).await;
    let c = role(store, server.id, "c", 3).await;
    let d = role(store, server.id, "d", 4).await;
    let moved = store.move_role(a.id, 3).await.unwrap().unwrap();
    assert_eq!(moved.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["@everyone", "b", "c", "a", "d"]);
    store.move_role(d.id, 1).await.unwrap().unwrap();
    assert_eq!(names(store, server.id).await, ["@everyone", "d", "b", "c", "a"]);
    store.move_role(b.id, 2).await.unwrap().unwrap();
    assert_eq!(names(store, server.id).await, ["@everyone", "d", "b", "c", "a"]);
    store.move_role(c.id, 100).await.unwrap().unwrap();
    assert_eq!(names(store, server.id).await, ["@everyone", "d", "b", "a", "c"]);
    store.move_role(c.id, -5).await.unwrap().unwrap();
    assert_eq!(names(store, server.id).await, ["@everyone", "c", "d", "b", "a"]);
    store.move_role(RoleId::everyone(server.id), 3).await.unwrap().unwrap();
    assert_eq!(names(store, server.id).await, ["@everyone", "c", "d", "b", "a"]);
    assert_eq!(store.move_role(RoleId::new(), 1).await.unwrap(), None);
}

pub(crate) async fn delete_role_closes_the_gap_and_drops_assignments(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let member = user(store, "member").await;
    let (server, general) = server(store, &owner).await;
    store.add_member(server.id, member.id, at(2)).await.unwrap();
    let a = role(store, server.id, "a", 1).await;
    let b = role(store, server.id, "b", 2).await;
    role(store, server.id, "c", 3).await;
    assert!(store.add_member_role(server.id, member.id, b.id).await.unwrap());
    assert!(!store.add_member_role(server.id, member.id, b.id).await.unwrap());
    assert!(store.add_member_role(server.id, member.id, a.id).await.unwrap());
    assert_eq!(store.member(server.id, member.id).await.unwrap().unwrap().roles, vec![a.id, b.id]);
    let overwrite = PermissionOverwrite {
        id: b.id.uuid(),
        kind: OverwriteKind::Role,
        allow: Permissions::NONE,
        deny: Permissions::SEND_MESSAGES,
    };
    store.put_overwrite(general.id, &overwrite).await.unwrap();
    assert!(store.delete_role(b.id).await.unwrap());
    assert!(!store.delete_role(b.id).await.unwrap());
    assert_eq!(names(store, server.id).await, ["@everyone", "a", "c"]);
    assert_eq!(store.member(server.id, member.id).await.unwrap().unwrap().roles, vec![a.id]);
    assert!(store.channel(general.id).await.unwrap().unwrap().permission_overwrites.is_empty());
    assert!(!store.delete_role(RoleId::everyone(server.id)).await.unwrap(), "@everyone stays");
    assert!(store.remove_member_role(server.id, member.id, a.id).await.unwrap());
    assert!(!store.remove_member_role(server.id, member.id, a.id).await.unwrap());
    assert!(store.member(server.id, member.id).await.unwrap().unwrap().roles.is_empty());
}

pub(crate) async fn update_role_changes_fields_not_position(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let (server, _) = server(store, &owner).await;
    let a = role(store, server.id, "a", 1).await;
    let patch = RolePatch {
        name: Some("mods".into()),
        color: Some(7),
        permissions: Some(Permissions::from_bits(1 << 63 | 1)),
    };
    let updated = store.update_role(a.id, &patch).await.unwrap().unwrap();
    assert_eq!((updated.name.as_str(), updated.color, updated.position), ("mods", 7, 1));
    // Every one of the 64 bits survives, the sign bit too.
    assert_eq!(updated.permissions.bits(), 1 << 63 | 1);
    assert_eq!(store.role(a.id).await.unwrap(), Some(updated));
    assert_eq!(store.update_role(RoleId::new(), &patch).await.unwrap(), None);
}

pub(crate) async fn concurrent_role_changes_keep_positions_contiguous(store: &dyn Store) {
    let owner = user(store, "owner").await;
    let (server, _) = server(store, &owner).await;
    let seed = role(store, server.id, "seed", 1).await;
    let make = |name: &'static str, position: i32| {
        let role = Role::new(RoleId::new(), server.id, name, 0, position, Permissions::NONE);
        async move { store.create_role(&role).await }
    };
    let (a, b, c, d, moved) =
        tokio::join!(make("a", 1), make("b", 1), make("c", 2), make("d", 9), store.move_role(seed.id, 3));
    for created in [a, b, c, d] {
        created.unwrap();
    }
    moved.unwrap().unwrap();
    let roles = names(store, server.id).await;
    assert_eq!(roles.len(), 6, "{roles:?}");
}
