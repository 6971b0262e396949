//! Channels, the permission matrix, messages, history, reactions, search and DMs.

use serde_json::{Value, json};

use crate::common::{Account, TestServer};

const VIEW: u64 = 1;
const READ_HISTORY: u64 = 4;
const MANAGE_MESSAGES: u64 = 8;
const ADMINISTRATOR: u64 = 1 << 30;

fn ids(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect()
}

pub(crate) async fn channels_and_the_permission_matrix(s: TestServer) {
    let owner = s.register("owner").await;
    let member = s.register("member").await;
    let (server, general) = s.server(&owner, "Lab").await;
    s.join(&owner, &server, &member).await;
    let category = s
        .post(
            &format!("/api/servers/{server}/channels"),
            &owner,
            json!({ "name": "cat", "kind": "category" }),
        )
        .await
        .expect(201);
    let secret = s
        .post(
            &format!("/api/servers/{server}/channels"),
            &owner,
            json!({ "name": "secret", "parent_id": category["id"] }),
        )
        .await
        .expect(201);
    let secret_id = secret["id"].as_str().unwrap().to_owned();
    assert_eq!(secret["parent_id"], category["id"]);
    s.post(
        &format!("/api/servers/{server}/channels"),
        &owner,
        json!({ "name": "bad", "parent_id": general }),
    )
    .await
    .expect_error(400, "invalid_parent");
    s.post(&format!("/api/servers/{server}/channels"), &member, json!({ "name": "nope" }))
        .await
        .expect_error(403, "missing_permissions");

    // @everyone loses VIEW_CHANNELS in "secret": invisible to the member everywhere.
    s.put(
        &format!("/api/channels/{secret_id}/permissions/{server}"),
        &owner,
        Some(json!({ "kind": "role", "allow": 0, "deny": VIEW })),
    )
    .await
    .expect(204);
    let message = s.send(&owner, &secret_id, "classified").await;
    let message_id = message["id"].as_str().unwrap();
    let listed = s.get(&format!("/api/servers/{server}/channels"), &member).await.expect(200);
    assert!(!ids(&listed).contains(&secret_id));
    s.get(&format!("/api/channels/{secret_id}"), &member).await.expect_error(404, "unknown_channel");
    s.get(&format!("/api/channels/{secret_id}/messages"), &member).await.expect_error(404, "unknown_channel");
    s.post(&format!("/api/channels/{secret_id}/messages"), &member, json!({ "content": "hi" }))
        .await
        .expect_error(404, "unknown_channel");
    s.put(&format!("/api/messages/{message_id}/reactions/%F0%9F%91%8D"), &member, None)
        .await
        .expect_error(404, "unknown_message");
    s.get(&format!("/api/messages/{message_id}/history"), &member).await.expect_error(404, "unknown_message");
    let found = s.get("/api/search?q=classified", &member).await.expect(200);
    assert_eq!(found, json!([]));
    s.get(&format!("/api/search?q=classified&channel_id={secret_id}"), &member)
        .await
        .expect_error(404, "unknown_channel");

    // A role allow beats @everyone's deny; a member deny beats the role allow.
    let role = s
        .post(&format!("/api/servers/{server}/roles"), &owner, json!({ "name": "cleared" }))
        .await
        .expect(201);
    let role_id = role["id"].as_str().unwrap();
    s.put(
        &format!("/api/channels/{secret_id}/permissions/{role_id}"),
        &owner,
        Some(json!({ "kind": "role", "allow": VIEW, "deny": 0 })),
    )
    .await
    .expect(204);
    s.post(&format!("/api/roles/{role_id}/members/{}", member.id), &owner, json!(null)).await.expect(204);
    assert_eq!(
        ids(&s.get(&format!("/api/channels/{secret_id}/messages"), &member).await.expect(200)),
        [message_id]
    );
    assert_eq!(ids(&s.get("/api/search?q=classified", &member).await.expect(200)), [message_id]);
    s.put(
        &format!("/api/channels/{secret_id}/permissions/{}", member.id),
        &owner,
        Some(json!({ "kind": "member", "allow": 0, "deny": VIEW })),
    )
    .await
    .expect(204);
    s.get(&format!("/api/channels/{secret_id}"), &member).await.expect_error(404, "unknown_channel");
    let channel = s.get(&format!("/api/channels/{secret_id}"), &owner).await.expect(200);
    assert_eq!(channel["permission_overwrites"].as_array().unwrap().len(), 3);
    s.delete(&format!("/api/channels/{secret_id}/permissions/{}", member.id), &owner).await.expect(204);
    s.get(&format!("/api/channels/{secret_id}"), &member).await.expect(200);

    // Without READ_HISTORY the channel is visible but its history is 403.
    s.put(
        &format!("/api/channels/{general}/permissions/{server}"),
        &owner,
        Some(json!({ "kind": "role", "allow": 0, "deny": READ_HISTORY })),
    )
    .await
    .expect(204);
    s.get(&format!("/api/channels/{general}/messages"), &member)
        .await
        .expect_error(403, "missing_permissions");

    // ADMINISTRATOR ignores overwrites; overwrites need MANAGE_ROLES.
    s.put(
        &format!("/api/channels/{general}/permissions/{server}"),
        &member,
        Some(json!({ "kind": "role", "allow": 0, "deny": 0 })),
    )
    .await
    .expect_error(403, "missing_permissions");
    let admin = s
        .post(
            &format!("/api/servers/{server}/roles"),
            &owner,
            json!({ "name": "admin", "permissions": ADMINISTRATOR }),
        )
        .await
        .expect(201);
    s.post(
        &format!("/api/roles/{}/members/{}", admin["id"].as_str().unwrap(), member.id),
        &owner,
        json!(null),
    )
    .await
    .expect(204);
    s.get(&format!("/api/channels/{general}/messages"), &member).await.expect(200);

    // Channel edits and deletes.
    let renamed = s
        .patch(&format!("/api/channels/{secret_id}"), &owner, json!({ "name": "renamed", "topic": "t" }))
        .await
        .expect(200);
    assert_eq!((renamed["name"].as_str(), renamed["topic"].as_str()), (Some("renamed"), Some("t")));
    let voice = s
        .post(&format!("/api/servers/{server}/channels"), &owner, json!({ "name": "v", "kind": "voice" }))
        .await
        .expect(201);
    s.post(
        &format!("/api/channels/{}/messages", voice["id"].as_str().unwrap()),
        &owner,
        json!({ "content": "x" }),
    )
    .await
    .expect_error(400, "wrong_channel_kind");
    s.delete(&format!("/api/channels/{secret_id}"), &owner).await.expect(204);
    s.get(&format!("/api/messages/{message_id}"), &owner).await.expect_error(404, "unknown_message");
}

pub(crate) async fn messages_pages_and_nonces(s: TestServer) {
    let owner = s.register("owner").await;
    let (_, general) = s.server(&owner, "Lab").await;
    let mut sent = Vec::new();
    for i in 0..7 {
        sent.push(s.send(&owner, &general, &format!("message {i}")).await["id"].as_str().unwrap().to_owned());
    }
    let path = format!("/api/channels/{general}/messages");
    let newest: Vec<String> = sent.iter().rev().cloned().collect();
    assert_eq!(ids(&s.get(&path, &owner).await.expect(200)), newest);
    assert_eq!(ids(&s.get(&format!("{path}?limit=2"), &owner).await.expect(200)), newest[..2]);
    assert_eq!(
        ids(&s.get(&format!("{path}?before={}&limit=2", sent[4]), &owner).await.expect(200)),
        [sent[3].clone(), sent[2].clone()]
    );
    assert_eq!(
        ids(&s.get(&format!("{path}?after={}&limit=2", sent[1]), &owner).await.expect(200)),
        [sent[3].clone(), sent[2].clone()]
    );
    assert_eq!(
        ids(&s.get(&format!("{path}?after={}&before={}", sent[1], sent[5]), &owner).await.expect(200)),
        [sent[4].clone(), sent[3].clone(), sent[2].clone()]
    );
    for bad in ["limit=0", "limit=101", "limit=-1", "limit=abc", "before=nope"] {
        let reply = s.get(&format!("{path}?{bad}"), &owner).await;
        assert_eq!(reply.status.as_u16(), 400, "{bad}");
        crate::common::assert_error_shape(&reply.body);
    }

    let first = s.post(&path, &owner, json!({ "content": "once", "nonce": 42 })).await.expect(201);
    assert_eq!(first["nonce"], "42");
    let again = s.post(&path, &owner, json!({ "content": "once", "nonce": "42" })).await.expect(200);
    assert_eq!(again["id"], first["id"]);
    let listed = s.get(&format!("{path}?limit=1"), &owner).await.expect(200);
    assert!(listed[0].get("nonce").is_none(), "GET never returns the nonce");
    for field in [
        "id",
        "channel_id",
        "author",
        "content",
        "created_at",
        "edited_at",
        "attachments",
        "reactions",
        "reply_to",
    ] {
        assert!(listed[0].get(field).is_some(), "message lacks {field}");
    }
    s.post(&path, &owner, json!({ "content": "   " })).await.expect_error(400, "empty_message");
    s.post(&path, &owner, json!({ "content": "x".repeat(10_001) }))
        .await
        .expect_error(413, "message_too_long");
    s.post(&path, &owner, json!({ "content": "🦀".repeat(10_000) })).await.expect(201);
    let reply = s.post(&path, &owner, json!({ "content": "re", "reply_to": sent[0] })).await.expect(201);
    assert_eq!(reply["reply_to"], sent[0].as_str());
    s.post(&path, &owner, json!({ "content": "re", "reply_to": uuid::Uuid::now_v7() }))
        .await
        .expect_error(400, "invalid_reply");
}

pub(crate) async fn edits_deletes_and_history(s: TestServer) {
    let owner = s.register("owner").await;
    let member = s.register("member").await;
    let third = s.register("third").await;
    let (server, general) = s.server(&owner, "Lab").await;
    s.join(&owner, &server, &member).await;
    s.join(&owner, &server, &third).await;
    let id = s.send(&member, &general, "first words").await["id"].as_str().unwrap().to_owned();
    s.patch(&format!("/api/messages/{id}"), &owner, json!({ "content": "hijack" }))
        .await
        .expect_error(403, "not_author");
    let edited = s
        .patch(&format!("/api/messages/{id}"), &member, json!({ "content": "second words" }))
        .await
        .expect(200);
    assert!(edited["edited_at"].is_string());
    let history = s.get(&format!("/api/messages/{id}/history"), &third).await.expect(200);
    assert_eq!(history[0]["action"], "edit");
    assert_eq!(
        (history[0]["old_content"].as_str(), history[0]["new_content"].as_str()),
        (Some("first words"), Some("second words"))
    );
    s.delete(&format!("/api/messages/{id}"), &third).await.expect_error(403, "missing_permissions");
    s.delete(&format!("/api/messages/{id}"), &owner).await.expect(204);
    s.delete(&format!("/api/messages/{id}"), &owner).await.expect_error(404, "unknown_message");
    s.get(&format!("/api/messages/{id}"), &member).await.expect_error(404, "unknown_message");
    assert_eq!(s.get("/api/search?q=words", &owner).await.expect(200), json!([]));
    // The deleted message's trail: its author and MANAGE_MESSAGES holders only.
    let trail = s.get(&format!("/api/messages/{id}/history"), &member).await.expect(200);
    assert_eq!(trail.as_array().unwrap().len(), 2);
    assert_eq!(
        (trail[1]["action"].as_str(), trail[1]["old_content"].as_str()),
        (Some("delete"), Some("second words"))
    );
    s.get(&format!("/api/messages/{id}/history"), &owner).await.expect(200);
    s.get(&format!("/api/messages/{id}/history"), &third).await.expect_error(404, "unknown_message");
    let mods = s
        .post(
            &format!("/api/servers/{server}/roles"),
            &owner,
            json!({ "name": "m", "permissions": MANAGE_MESSAGES }),
        )
        .await
        .expect(201);
    s.post(&format!("/api/roles/{}/members/{}", mods["id"].as_str().unwrap(), third.id), &owner, json!(null))
        .await
        .expect(204);
    s.get(&format!("/api/messages/{id}/history"), &third).await.expect(200);
}

pub(crate) async fn reactions_and_read_state(s: TestServer) {
    let owner = s.register("owner").await;
    let member = s.register("member").await;
    let (server, general) = s.server(&owner, "Lab").await;
    s.join(&owner, &server, &member).await;
    let id = s.send(&owner, &general, "react to me").await["id"].as_str().unwrap().to_owned();
    let thumbs = "%F0%9F%91%8D";
    s.put(&format!("/api/messages/{id}/reactions/{thumbs}"), &member, None).await.expect(204);
    s.put(&format!("/api/messages/{id}/reactions/{thumbs}"), &member, None).await.expect(204);
    s.put(&format!("/api/messages/{id}/reactions/party:123"), &owner, None).await.expect(204);
    let message = s.get(&format!("/api/messages/{id}"), &member).await.expect(200);
    assert_eq!(
        message["reactions"],
        json!([{ "emoji": "👍", "count": 1, "me": true }, { "emoji": "party:123", "count": 1, "me": false }])
    );
    s.delete(&format!("/api/messages/{id}/reactions/{thumbs}/{}", member.id), &member).await.expect(204);
    s.put(&format!("/api/messages/{id}/reactions/{thumbs}"), &member, None).await.expect(204);
    s.delete(&format!("/api/messages/{id}/reactions/party:123/{}", owner.id), &member)
        .await
        .expect_error(403, "missing_permissions");
    s.delete(&format!("/api/messages/{id}/reactions/{thumbs}/{}", member.id), &owner).await.expect(204);
    s.delete(&format!("/api/messages/{id}/reactions/{thumbs}"), &member).await.expect(204);
    let message = s.get(&format!("/api/messages/{id}"), &member).await.expect(200);
    assert_eq!(message["reactions"], json!([{ "emoji": "party:123", "count": 1, "me": false }]));
    s.put(&format!("/api/messages/{id}/reactions/a%20b"), &member, None)
        .await
        .expect_error(400, "invalid_emoji");

    s.put(&format!("/api/channels/{general}/ack"), &member, Some(json!({ "message_id": id })))
        .await
        .expect(204);
    s.put(
        &format!("/api/channels/{general}/ack"),
        &member,
        Some(json!({ "message_id": uuid::Uuid::now_v7() })),
    )
    .await
    .expect_error(404, "unknown_message");
    s.post(&format!("/api/channels/{general}/typing"), &member, json!(null)).await.expect(204);
    s.delete(&format!("/api/messages/{id}"), &owner).await.expect(204);
    s.put(&format!("/api/messages/{id}/reactions/{thumbs}"), &member, None)
        .await
        .expect_error(404, "unknown_message");
}

pub(crate) async fn search_filters_and_visibility(s: TestServer) {
    let owner = s.register("owner").await;
    let member = s.register("member").await;
    let (server, general) = s.server(&owner, "Lab").await;
    let (other_server, other_general) = s.server(&owner, "Other").await;
    s.join(&owner, &server, &member).await;
    s.send(&owner, &general, "apples and pears").await;
    s.send(&member, &general, "apples and plums").await;
    s.send(&owner, &other_general, "apples elsewhere").await;
    let count = |v: Value| v.as_array().unwrap().len();
    assert_eq!(count(s.get("/api/search?q=apples", &owner).await.expect(200)), 3);
    assert_eq!(count(s.get("/api/search?q=apples", &member).await.expect(200)), 2, "never another server's");
    assert_eq!(
        count(s.get(&format!("/api/search?q=apples&server_id={server}"), &owner).await.expect(200)),
        2
    );
    assert_eq!(
        count(s.get(&format!("/api/search?q=apples&author_id={}", member.id), &owner).await.expect(200)),
        1
    );
    assert_eq!(count(s.get("/api/search?q=%22and%20plums%22", &owner).await.expect(200)), 1);
    assert_eq!(count(s.get("/api/search?q=apples&before=2000-01-01T00:00:00Z", &owner).await.expect(200)), 0);
    assert_eq!(
        count(s.get("/api/search?q=apples&after=2000-01-01T00:00:00Z&limit=1", &owner).await.expect(200)),
        1
    );
    assert_eq!(count(s.get("/api/search?q=apples&has=attachment", &owner).await.expect(200)), 0);
    s.get(&format!("/api/search?q=apples&server_id={other_server}"), &member)
        .await
        .expect_error(404, "unknown_server");
    s.get("/api/search?q=apples&has=link", &owner).await.expect_error(400, "invalid_query");
    s.get("/api/search?q=apples&before=yesterday", &owner).await.expect_error(400, "invalid_query");
    s.get("/api/search?q=apples&limit=101", &owner).await.expect_error(400, "invalid_limit");
    for q in [
        "%22",
        "*",
        "-apples",
        "a:b",
        "NEAR(apples",
        "apples%20OR%20pears",
        "((",
        "%F0%9F%A6%80",
        "'%3B%20DROP%20TABLE%20messages%3B--",
    ] {
        s.get(&format!("/api/search?q={q}"), &owner).await.expect(200);
    }
    assert_eq!(count(s.get("/api/search?q=apples", &owner).await.expect(200)), 3, "nothing was dropped");
}

async fn dm(s: &TestServer, from: &Account, to: &Account) -> crate::common::Reply {
    s.post("/api/dm/channels", from, json!({ "recipient_id": to.id })).await
}

pub(crate) async fn direct_messages(s: TestServer) {
    let ada = s.register("ada").await;
    let bob = s.register("bob").await;
    let eve = s.register("eve").await;
    dm(&s, &ada, &bob).await.expect_error(403, "no_mutual_server");
    dm(&s, &ada, &ada).await.expect_error(400, "cannot_dm_self");
    let (server, _) = s.server(&ada, "Lab").await;
    s.join(&ada, &server, &bob).await;
    let channel = dm(&s, &ada, &bob).await.expect(201);
    assert_eq!(channel["kind"], "dm");
    assert_eq!(channel["recipients"][0]["id"], bob.id.as_str());
    let again = dm(&s, &bob, &ada).await.expect(200);
    assert_eq!(again["id"], channel["id"]);
    let id = channel["id"].as_str().unwrap();
    let sent = s
        .post(&format!("/api/dm/channels/{id}/messages"), &bob, json!({ "content": "psst" }))
        .await
        .expect(201);
    assert_eq!(sent["channel_id"], id);
    let listed = s.get(&format!("/api/channels/{id}/messages"), &ada).await.expect(200);
    assert_eq!(listed[0]["content"], "psst");
    s.get(&format!("/api/dm/channels/{id}/messages"), &eve).await.expect_error(404, "unknown_channel");
    let mine = s.get("/api/dm/channels", &ada).await.expect(200);
    assert_eq!(mine[0]["last_message_id"], sent["id"]);
    let message = sent["id"].as_str().unwrap();
    s.patch(&format!("/api/messages/{message}"), &bob, json!({ "content": "edited" })).await.expect(200);
    s.put(&format!("/api/messages/{message}/reactions/%E2%9D%A4"), &ada, None).await.expect(204);
    s.delete(&format!("/api/messages/{message}"), &ada).await.expect_error(403, "missing_permissions");
    s.delete(&format!("/api/messages/{message}"), &bob).await.expect(204);
}

/// Every route that answers with a message marks the caller's own reactions `me` (the edit once
/// answered `me: false` for them while `GET` said `true`).
pub(crate) async fn every_message_answer_marks_the_callers_reactions(s: TestServer) {
    let owner = s.register("owner").await;
    let member = s.register("member").await;
    let (server, general) = s.server(&owner, "Lab").await;
    s.join(&owner, &server, &member).await;
    let path = format!("/api/channels/{general}/messages");
    let sent =
        s.post(&path, &owner, json!({ "content": "zebra crossing", "nonce": "n-1" })).await.expect(201);
    let id = sent["id"].as_str().unwrap().to_owned();
    s.put(&format!("/api/messages/{id}/reactions/%F0%9F%91%8D"), &owner, None).await.expect(204);
    s.put(&format!("/api/messages/{id}/reactions/party:123"), &member, None).await.expect(204);
    let owners =
        json!([{ "emoji": "👍", "count": 1, "me": true }, { "emoji": "party:123", "count": 1, "me": false }]);
    let members =
        json!([{ "emoji": "👍", "count": 1, "me": false }, { "emoji": "party:123", "count": 1, "me": true }]);

    let repeated =
        s.post(&path, &owner, json!({ "content": "zebra crossing", "nonce": "n-1" })).await.expect(200);
    assert_eq!(repeated["reactions"], owners, "create (repeated nonce)");
    let edited = s
        .patch(&format!("/api/messages/{id}"), &owner, json!({ "content": "zebra crossing, edited" }))
        .await
        .expect(200);
    assert_eq!(edited["reactions"], owners, "edit");
    for (who, expected) in [(&owner, &owners), (&member, &members)] {
        let got = s.get(&format!("/api/messages/{id}"), who).await.expect(200);
        assert_eq!(&got["reactions"], expected, "get");
        let page = s.get(&path, who).await.expect(200);
        assert_eq!(&page[0]["reactions"], expected, "list");
        let found = s.get("/api/search?q=zebra", who).await.expect(200);
        assert_eq!(&found[0]["reactions"], expected, "search");
    }
}
