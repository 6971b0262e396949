//! Authorization probing: an outsider who holds the real ids of other people's servers, channels,
//! messages, roles, DMs, group DMs, files and bridge connections gets 404 from every route, with
//! nothing of the resource in the answer, and changes nothing; a member gets the same from a
//! channel hidden from them, attachments included.

use reqwest::multipart::{Form, Part};
use rift::model::{BridgeRef, ChannelKind};
use rift::{BridgeConnectionId, BridgeInput};
use serde_json::{Value, json};

use crate::common::{Account, TestServer, assert_error_shape};

/// Text that must never reach the outsider.
const PRIVATE: [&str; 7] = [
    "Fortress",
    "the fortress plans",
    "a private word",
    "discord-token-never-shown",
    "the council's word",
    "fortress-map",
    "the vault's word",
];

async fn upload(s: &TestServer, who: &Account, name: &str, bytes: &[u8]) -> Value {
    let part = Part::bytes(bytes.to_vec()).file_name(name.to_owned()).mime_str("text/plain").unwrap();
    let response =
        s.http.post(s.url("/api/upload")).bearer_auth(&who.token).multipart(Form::new().part("file", part));
    TestServer::reply(response.send().await.unwrap()).await.expect(201)
}

/// Each case answers 404 in the error shape, holding none of `private` (nor the upload secrets).
async fn probe(s: &TestServer, who: &Account, cases: &[(&str, String, Option<Value>)], private: &[&str]) {
    for (method, path, body) in cases {
        let mut request = s.http.request(method.parse().unwrap(), s.url(path)).bearer_auth(&who.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let reply = TestServer::reply(request.send().await.unwrap()).await;
        assert_eq!(reply.status.as_u16(), 404, "{method} {path}: {}", reply.body);
        assert_error_shape(&reply.body);
        let text = reply.body.to_string();
        for private in private {
            assert!(!text.contains(private), "{method} {path} leaked {private:?}: {text}");
        }
    }
}

/// The routes of a message the caller may not see.
fn message_cases(id: &str, owner: &Account) -> Vec<(&'static str, String, Option<Value>)> {
    let text = json!({ "content": "hello" });
    vec![
        ("GET", format!("/api/messages/{id}"), None),
        ("PATCH", format!("/api/messages/{id}"), Some(text)),
        ("DELETE", format!("/api/messages/{id}"), None),
        ("GET", format!("/api/messages/{id}/history"), None),
        ("PUT", format!("/api/messages/{id}/reactions/%F0%9F%91%8D"), None),
        ("DELETE", format!("/api/messages/{id}/reactions/%F0%9F%91%8D"), None),
        ("DELETE", format!("/api/messages/{id}/reactions/%F0%9F%91%8D/{}", owner.id), None),
    ]
}

/// The routes of a channel (or DM) the caller may not see, with one of its messages.
fn channel_cases(channel: &str, message: &str) -> Vec<(&'static str, String, Option<Value>)> {
    vec![
        ("GET", format!("/api/channels/{channel}"), None),
        ("GET", format!("/api/channels/{channel}/messages"), None),
        ("POST", format!("/api/channels/{channel}/messages"), Some(json!({ "content": "hello" }))),
        ("PUT", format!("/api/channels/{channel}/ack"), Some(json!({ "message_id": message }))),
        ("POST", format!("/api/channels/{channel}/typing"), None),
        ("GET", format!("/api/channels/{channel}/pins"), None),
        ("PUT", format!("/api/channels/{channel}/pins/{message}"), None),
        ("DELETE", format!("/api/channels/{channel}/pins/{message}"), None),
        ("GET", format!("/api/search?q=&channel_id={channel}"), None),
        ("GET", format!("/api/search?q=has%3Aattachment&channel_id={channel}"), None),
    ]
}

pub(crate) async fn others_resources_are_404_with_no_data(s: TestServer) {
    let owner = s.register("owner").await;
    let friend = s.register("friend").await;
    let third = s.register("third").await;
    let outsider = s.register("outsider").await;
    let (server, channel) = s.server(&owner, "Fortress").await;
    s.join(&owner, &server, &friend).await;
    let id_of = |v: Value| v["id"].as_str().unwrap().to_owned();
    let message = id_of(s.send(&owner, &channel, "the fortress plans").await);
    let role = id_of(
        s.post(&format!("/api/servers/{server}/roles"), &owner, json!({ "name": "guard" })).await.expect(201),
    );
    let dm =
        id_of(s.post("/api/dm/channels", &owner, json!({ "recipient_id": friend.id })).await.expect(201));
    let dm_send = |channel: &str, content: &str| {
        let (path, body) = (format!("/api/dm/channels/{channel}/messages"), json!({ "content": content }));
        let (s, owner) = (&s, &owner);
        async move { s.post(&path, owner, body).await.expect(201)["id"].as_str().unwrap().to_owned() }
    };
    let dm_message = dm_send(&dm, "a private word").await;
    // A group DM (made by a bridge; no route makes one).
    let ids = |a: &Account| a.id.parse::<rift::UserId>().unwrap();
    let group = s
        .rift
        .mirror_dm(
            ids(&owner),
            &BridgeRef::new("discord", "g1"),
            ChannelKind::GroupDm,
            Some("council"),
            &[ids(&friend), ids(&third)],
        )
        .await
        .unwrap()
        .id
        .to_string();
    let group_message = dm_send(&group, "the council's word").await;
    // Files: one attached to a message of the server's, one not attached yet.
    let map = upload(&s, &owner, "fortress-map.txt", b"the fortress plans, drawn").await;
    let spare = upload(&s, &owner, "fortress-map-2.txt", b"the fortress plans, again").await;
    let attached = s
        .post(
            &format!("/api/channels/{channel}/messages"),
            &owner,
            json!({ "content": "", "attachment_ids": [map["id"]] }),
        )
        .await
        .expect(201);
    let attached = id_of(attached);
    let bridge: BridgeConnectionId = s
        .rift
        .create_bridge_connection(
            ids(&owner),
            BridgeInput::new("discord", "discord-token-never-shown", "user", "archive"),
        )
        .await
        .unwrap()
        .id;
    // The secrets in the files' urls are private too.
    let secret = |upload: &Value| upload["url"].as_str().unwrap().split('/').nth(3).unwrap().to_owned();
    let secrets = [secret(&map), secret(&spare)];
    let mut private: Vec<&str> = PRIVATE.to_vec();
    private.extend(secrets.iter().map(String::as_str));

    let name = json!({ "name": "taken over" });
    let overwrite = json!({ "kind": "role", "allow": 0, "deny": 1 });
    let text = json!({ "content": "hello" });
    let f = &friend.id;
    let mut cases: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", format!("/api/servers/{server}"), None),
        ("PATCH", format!("/api/servers/{server}"), Some(name.clone())),
        ("DELETE", format!("/api/servers/{server}"), None),
        ("GET", format!("/api/servers/{server}/members"), None),
        ("DELETE", format!("/api/servers/{server}/members/{f}"), None),
        ("GET", format!("/api/servers/{server}/bans"), None),
        ("PUT", format!("/api/servers/{server}/bans/{f}"), Some(json!({}))),
        ("DELETE", format!("/api/servers/{server}/bans/{f}"), None),
        ("GET", format!("/api/servers/{server}/audit-log"), None),
        ("GET", format!("/api/servers/{server}/history-settings"), None),
        ("PATCH", format!("/api/servers/{server}/history-settings"), Some(json!({ "deletes": "everyone" }))),
        ("GET", format!("/api/servers/{server}/channels"), None),
        ("POST", format!("/api/servers/{server}/channels"), Some(name.clone())),
        ("GET", format!("/api/servers/{server}/roles"), None),
        ("POST", format!("/api/servers/{server}/roles"), Some(name.clone())),
        ("GET", format!("/api/servers/{server}/invites"), None),
        ("POST", format!("/api/servers/{server}/invites"), Some(json!({}))),
        ("DELETE", format!("/api/users/me/servers/{server}"), None),
        ("PATCH", format!("/api/roles/{role}"), Some(name.clone())),
        ("DELETE", format!("/api/roles/{role}"), None),
        ("POST", format!("/api/roles/{role}/members/{f}"), None),
        ("DELETE", format!("/api/roles/{role}/members/{f}"), None),
        ("PATCH", format!("/api/channels/{channel}"), Some(name.clone())),
        ("DELETE", format!("/api/channels/{channel}"), None),
        ("PUT", format!("/api/channels/{channel}/permissions/{role}"), Some(overwrite)),
        ("DELETE", format!("/api/channels/{channel}/permissions/{role}"), None),
        ("GET", format!("/api/dm/channels/{dm}/messages"), None),
        ("POST", format!("/api/dm/channels/{dm}/messages"), Some(text.clone())),
        ("GET", format!("/api/dm/channels/{group}/messages"), None),
        ("POST", format!("/api/dm/channels/{group}/messages"), Some(text.clone())),
        ("GET", format!("/api/search?q=fortress&server_id={server}"), None),
        ("GET", format!("/api/bridges/discord/{bridge}"), None),
        ("DELETE", format!("/api/bridges/discord/{bridge}"), None),
        ("POST", format!("/api/bridges/discord/{bridge}/pause"), None),
        ("POST", format!("/api/bridges/discord/{bridge}/resume"), None),
        ("POST", format!("/api/bridges/discord/{bridge}/backfill"), Some(json!({}))),
    ];
    cases.extend(channel_cases(&channel, &message));
    cases.extend(channel_cases(&dm, &dm_message));
    cases.extend(channel_cases(&group, &group_message));
    for id in [&message, &dm_message, &group_message, &attached] {
        cases.extend(message_cases(id, &owner));
    }
    // Files by id without their secret (a wrong one, or the outsider's own upload's), and the
    // API's paths under /api/files, which no route serves.
    let own = upload(&s, &outsider, "mine.txt", b"mine").await;
    for file in [&map, &spare] {
        let (id, filename) = (file["id"].as_str().unwrap(), file["filename"].as_str().unwrap());
        cases.extend([
            ("GET", format!("/files/{id}/00000000000000000000000000000000/{filename}"), None),
            ("GET", format!("/files/{id}/{}/{filename}", secret(&own)), None),
            ("GET", format!("/api/files/{id}"), None),
            ("GET", format!("/api/files/{id}/{filename}"), None),
        ]);
    }
    probe(&s, &outsider, &cases, &private).await;

    // Someone else's uploads cannot be taken by id: not attached, not as an avatar.
    let (_, own_channel) = s.server(&outsider, "Mine").await;
    for file in [&map, &spare] {
        s.post(
            &format!("/api/channels/{own_channel}/messages"),
            &outsider,
            json!({ "content": "x", "attachment_ids": [file["id"]] }),
        )
        .await
        .expect_error(400, "unknown_attachment");
        s.patch("/api/users/me", &outsider, json!({ "avatar_id": file["id"] }))
            .await
            .expect_error(400, "invalid_avatar");
    }

    // The outsider's own lists hold nothing of it either.
    for path in [
        "/api/servers",
        "/api/dm/channels",
        "/api/bridges/discord",
        "/api/search?q=fortress",
        "/api/search?q=council",
        "/api/search?q=has%3Aattachment",
        "/api/users/me",
    ] {
        let text = s.get(path, &outsider).await.expect(200).to_string();
        for private in &private {
            assert!(!text.contains(private), "{path} leaked {private:?}: {text}");
        }
    }

    // A member of the server, in a channel hidden from them: its messages and their attachments
    // are 404 like the outsider's, and its files' secrets never reach them.
    let vault = id_of(
        s.post(&format!("/api/servers/{server}/channels"), &owner, json!({ "name": "vault" }))
            .await
            .expect(201),
    );
    s.put(
        &format!("/api/channels/{vault}/permissions/{server}"),
        &owner,
        Some(json!({ "kind": "role", "allow": 0, "deny": 1 })),
    )
    .await
    .expect(204);
    let hidden_file = upload(&s, &owner, "vault.txt", b"the vault's word").await;
    let vault_message = s
        .post(
            &format!("/api/channels/{vault}/messages"),
            &owner,
            json!({ "content": "the vault's word", "attachment_ids": [hidden_file["id"]] }),
        )
        .await
        .expect(201);
    let vault_message = id_of(vault_message);
    let hidden_secret = secret(&hidden_file);
    let mut cases = channel_cases(&vault, &vault_message);
    cases.extend(message_cases(&vault_message, &owner));
    let id = hidden_file["id"].as_str().unwrap();
    cases.push(("GET", format!("/files/{id}/00000000000000000000000000000000/vault.txt"), None));
    let hidden: [&str; 2] = ["the vault's word", &hidden_secret];
    probe(&s, &friend, &cases, &hidden).await;
    for path in
        ["/api/search?q=vault", "/api/search?q=has%3Aattachment", &format!("/api/servers/{server}/channels")]
    {
        let text = s.get(path, &friend).await.expect(200).to_string();
        for private in hidden {
            assert!(!text.contains(private), "{path} leaked {private:?}: {text}");
        }
    }

    // And nothing changed.
    s.get(&format!("/api/servers/{server}"), &owner).await.expect(200);
    assert_eq!(
        s.get(&format!("/api/messages/{message}"), &owner).await.expect(200)["content"],
        "the fortress plans"
    );
    assert_eq!(
        s.get(&format!("/api/messages/{dm_message}"), &friend).await.expect(200)["content"],
        "a private word"
    );
    assert_eq!(
        s.get(&format!("/api/messages/{group_message}"), &third).await.expect(200)["content"],
        "the council's word"
    );
    let still = s.get(&format!("/api/messages/{attached}"), &friend).await.expect(200);
    assert_eq!(still["attachments"][0]["id"], map["id"]);
    let file = s.http.get(s.url(map["url"].as_str().unwrap())).send().await.unwrap();
    assert_eq!(file.bytes().await.unwrap().as_ref(), b"the fortress plans, drawn");
    assert_eq!(
        s.get(&format!("/api/servers/{server}/members"), &owner).await.expect(200).as_array().unwrap().len(),
        2
    );
    assert_eq!(
        s.get(&format!("/api/servers/{server}/history-settings"), &owner).await.expect(200)["deletes"],
        "moderators"
    );
    s.get(&format!("/api/bridges/discord/{bridge}"), &owner).await.expect(200);
    let me = s.get("/api/users/me", &outsider).await.expect(200);
    assert!(me["avatar_url"].is_null(), "{me}");
}
