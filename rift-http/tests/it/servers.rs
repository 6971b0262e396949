//! Servers, members, invites, bans, roles and the audit log.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::TestServer;

pub(crate) async fn server_lifecycle(s: TestServer) {
    let owner = s.register("owner").await;
    let stranger = s.register("stranger").await;
    let server = s.post("/api/servers", &owner, json!({ "name": "Lab" })).await.expect(201);
    let id = server["id"].as_str().unwrap();
    for field in ["name", "icon_url", "owner_id", "created_at"] {
        assert!(server.get(field).is_some(), "server lacks {field}");
    }
    assert_eq!(s.get("/api/servers", &owner).await.expect(200).as_array().unwrap().len(), 1);
    s.get(&format!("/api/servers/{id}"), &stranger).await.expect_error(404, "unknown_server");
    let renamed =
        s.patch(&format!("/api/servers/{id}"), &owner, json!({ "name": "Lab 2" })).await.expect(200);
    assert_eq!(renamed["name"], "Lab 2");
    s.post("/api/servers", &owner, json!({ "name": "" })).await.expect_error(400, "invalid_name");
    let roles = s.get(&format!("/api/servers/{id}/roles"), &owner).await.expect(200);
    assert_eq!(roles[0]["id"], id, "@everyone has the server's id");
    assert_eq!(roles[0]["permissions"], 1 | 2 | 4 | 16 | 1024);
    s.delete(&format!("/api/servers/{id}"), &stranger).await.expect_error(404, "unknown_server");
    s.delete(&format!("/api/servers/{id}"), &owner).await.expect(204);
    s.get(&format!("/api/servers/{id}"), &owner).await.expect_error(404, "unknown_server");
}

pub(crate) async fn invites_count_uses_and_expire(s: TestServer) {
    let owner = s.register("owner").await;
    let (server, _) = s.server(&owner, "Lab").await;
    let invite = s
        .post(&format!("/api/servers/{server}/invites"), &owner, json!({ "max_uses": 3, "max_age_secs": 0 }))
        .await
        .expect(201);
    let code = invite["code"].as_str().unwrap().to_owned();
    assert_eq!((invite["max_uses"].as_i64(), invite["uses"].as_i64()), (Some(3), Some(0)));
    assert!(invite["expires_at"].is_null());
    // The invite page works without signing in.
    let public = s.call(Method::GET, &format!("/api/invites/{code}"), None, None).await.expect(200);
    assert_eq!(public["server"]["name"], "Lab");

    // Eight users race for three uses.
    let mut users = Vec::new();
    for i in 0..8 {
        users.push(s.register(&format!("racer{i}")).await);
    }
    let join_path = format!("/api/servers/{server}/join");
    let joins =
        users.iter().map(|u| s.call(Method::POST, &join_path, Some(&u.token), Some(json!({ "code": code }))));
    let results = futures_util::future::join_all(joins).await;
    let ok = results.iter().filter(|r| r.status == 200).count();
    let joined = results.iter().position(|r| r.status == 200).expect("someone joined");
    assert_eq!(ok, 3, "{:?}", results.iter().map(|r| r.status).collect::<Vec<_>>());
    for reply in results.into_iter().filter(|r| r.status != 200) {
        reply.expect_error(404, "unknown_invite");
    }
    let members = s.get(&format!("/api/servers/{server}/members"), &owner).await.expect(200);
    assert_eq!(members.as_array().unwrap().len(), 4);

    // An invite that expires.
    let short = s
        .post(&format!("/api/servers/{server}/invites"), &owner, json!({ "max_age_secs": 1 }))
        .await
        .expect(201);
    let late = s.register("late").await;
    s.advance_clock(std::time::Duration::from_secs(1));
    let body = json!({ "code": short["code"] });
    s.post(&format!("/api/servers/{server}/join"), &late, body).await.expect_error(404, "unknown_invite");
    s.post(&format!("/api/servers/{server}/invites"), &owner, json!({ "max_uses": -1 }))
        .await
        .expect_error(400, "invalid_max_uses");

    // Revoking: the creator or MANAGE_INVITES.
    let member = &users[joined];
    let listed = s.get(&format!("/api/servers/{server}/invites"), &owner).await.expect(200);
    assert!(listed.as_array().unwrap().len() >= 2);
    s.get(&format!("/api/servers/{server}/invites"), member).await.expect_error(403, "missing_permissions");
    let mine = s.post(&format!("/api/servers/{server}/invites"), member, json!({})).await.expect(201);
    s.delete(&format!("/api/invites/{}", mine["code"].as_str().unwrap()), member).await.expect(204);
    s.delete(&format!("/api/invites/{code}"), member).await.expect_error(403, "missing_permissions");
    s.delete(&format!("/api/invites/{code}"), &owner).await.expect(204);
    s.call(Method::GET, &format!("/api/invites/{code}"), None, None)
        .await
        .expect_error(404, "unknown_invite");
}

pub(crate) async fn bans_and_kicks_follow_the_hierarchy(s: TestServer) {
    let owner = s.register("owner").await;
    let moderator = s.register("moderator").await;
    let member = s.register("member").await;
    let (server, _) = s.server(&owner, "Lab").await;
    s.join(&owner, &server, &moderator).await;
    s.join(&owner, &server, &member).await;
    let role = s
        .post(
            &format!("/api/servers/{server}/roles"),
            &owner,
            json!({ "name": "mods", "permissions": 256 | 512 }),
        )
        .await
        .expect(201);
    let role_id = role["id"].as_str().unwrap();
    s.post(&format!("/api/roles/{role_id}/members/{}", moderator.id), &owner, json!(null)).await.expect(204);

    s.delete(&format!("/api/servers/{server}/members/{}", moderator.id), &member)
        .await
        .expect_error(403, "missing_permissions");
    s.delete(&format!("/api/servers/{server}/members/{}", owner.id), &moderator)
        .await
        .expect_error(403, "role_hierarchy");
    s.put(
        &format!("/api/servers/{server}/bans/{}", member.id),
        &moderator,
        Some(json!({ "reason": "spam" })),
    )
    .await
    .expect(204);
    let bans = s.get(&format!("/api/servers/{server}/bans"), &owner).await.expect(200);
    assert_eq!(bans[0]["user"]["id"], member.id.as_str());
    assert_eq!(bans[0]["reason"], "spam");
    s.get(&format!("/api/servers/{server}"), &member).await.expect_error(404, "unknown_server");
    let invite = s.post(&format!("/api/servers/{server}/invites"), &owner, json!({})).await.expect(201);
    let join = json!({ "code": invite["code"] });
    s.post(&format!("/api/servers/{server}/join"), &member, join.clone()).await.expect_error(403, "banned");
    s.delete(&format!("/api/servers/{server}/bans/{}", member.id), &moderator).await.expect(204);
    s.delete(&format!("/api/servers/{server}/bans/{}", member.id), &moderator)
        .await
        .expect_error(404, "unknown_ban");
    s.post(&format!("/api/servers/{server}/join"), &member, join).await.expect(200);
    s.delete(&format!("/api/servers/{server}/members/{}", member.id), &moderator).await.expect(204);
    // A ban without a body, of a user who never joined.
    let outsider = s.register("outsider").await;
    s.put(&format!("/api/servers/{server}/bans/{}", outsider.id), &owner, None).await.expect(204);

    // Leaving.
    s.delete(&format!("/api/users/me/servers/{server}"), &owner)
        .await
        .expect_error(409, "owner_cannot_leave");
    s.delete(&format!("/api/users/me/servers/{server}"), &moderator).await.expect(204);

    let log = s.get(&format!("/api/servers/{server}/audit-log"), &owner).await.expect(200);
    let actions: Vec<&str> = log.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for action in
        ["member_ban", "member_unban", "member_kick", "role_create", "member_role_update", "invite_create"]
    {
        assert!(actions.contains(&action), "{action} missing from {actions:?}");
    }
    let page = s.get(&format!("/api/servers/{server}/audit-log?limit=2"), &owner).await.expect(200);
    assert_eq!(page.as_array().unwrap().len(), 2);
    let before = page[1]["id"].as_str().unwrap();
    let older = s
        .get(&format!("/api/servers/{server}/audit-log?before={before}&limit=100"), &owner)
        .await
        .expect(200);
    assert_eq!(older.as_array().unwrap().len(), log.as_array().unwrap().len() - 2);
    s.get(&format!("/api/servers/{server}/audit-log?limit=0"), &owner)
        .await
        .expect_error(400, "invalid_limit");
}

pub(crate) async fn roles_keep_order_and_hierarchy(s: TestServer) {
    let owner = s.register("owner").await;
    let manager = s.register("manager").await;
    let (server, _) = s.server(&owner, "Lab").await;
    s.join(&owner, &server, &manager).await;
    let mut ids = Vec::new();
    for name in ["a", "b", "c"] {
        let role = s
            .post(
                &format!("/api/servers/{server}/roles"),
                &owner,
                json!({ "name": name, "permissions": 128 }),
            )
            .await
            .expect(201);
        assert_eq!(role["position"], 1, "new roles go just above @everyone");
        ids.push(role["id"].as_str().unwrap().to_owned());
    }
    let positions = |roles: &Value| -> Vec<(String, i64)> {
        roles
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["name"].as_str().unwrap().to_owned(), r["position"].as_i64().unwrap()))
            .collect()
    };
    let roles = s.get(&format!("/api/servers/{server}/roles"), &owner).await.expect(200);
    assert_eq!(
        positions(&roles),
        [("@everyone".into(), 0), ("c".into(), 1), ("b".into(), 2), ("a".into(), 3)]
    );
    // Move "c" to the top: the others shift down.
    s.patch(&format!("/api/roles/{}", ids[2]), &owner, json!({ "position": 3 })).await.expect(200);
    let roles = s.get(&format!("/api/servers/{server}/roles"), &owner).await.expect(200);
    assert_eq!(
        positions(&roles),
        [("@everyone".into(), 0), ("b".into(), 1), ("a".into(), 2), ("c".into(), 3)]
    );
    s.patch(&format!("/api/roles/{}", ids[2]), &owner, json!({ "position": 9 }))
        .await
        .expect_error(400, "invalid_position");
    s.delete(&format!("/api/roles/{}", ids[0]), &owner).await.expect(204);
    let roles = s.get(&format!("/api/servers/{server}/roles"), &owner).await.expect(200);
    assert_eq!(positions(&roles), [("@everyone".into(), 0), ("b".into(), 1), ("c".into(), 2)]);
    s.delete(&format!("/api/roles/{server}"), &owner).await.expect_error(400, "cannot_delete_everyone");

    // A manager holding "b" (MANAGE_ROLES) can act only below "b".
    s.post(&format!("/api/roles/{}/members/{}", ids[1], manager.id), &owner, json!(null)).await.expect(204);
    s.patch(&format!("/api/roles/{}", ids[2]), &manager, json!({ "name": "x" }))
        .await
        .expect_error(403, "role_hierarchy");
    s.patch(&format!("/api/roles/{}", ids[1]), &manager, json!({ "name": "x" }))
        .await
        .expect_error(403, "role_hierarchy");
    let low =
        s.post(&format!("/api/servers/{server}/roles"), &manager, json!({ "name": "low" })).await.expect(201);
    s.patch(
        &format!("/api/roles/{}", low["id"].as_str().unwrap()),
        &manager,
        json!({ "permissions": 1 << 30 }),
    )
    .await
    .expect_error(403, "missing_permissions");
    s.post(&format!("/api/servers/{server}/roles"), &manager, json!({ "name": "ban", "permissions": 512 }))
        .await
        .expect_error(403, "missing_permissions");
    let members = s.get(&format!("/api/servers/{server}/members"), &owner).await.expect(200);
    let entry = members.as_array().unwrap().iter().find(|m| m["user"]["id"] == manager.id.as_str()).unwrap();
    assert_eq!(entry["roles"], json!([ids[1]]), "member roles leave out @everyone");
    s.delete(&format!("/api/roles/{}/members/{}", ids[1], manager.id), &owner).await.expect(204);
    s.get(&format!("/api/servers/{server}/members?limit=1001"), &owner)
        .await
        .expect_error(400, "invalid_limit");
}
