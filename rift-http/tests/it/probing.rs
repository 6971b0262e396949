//! Authorization probing: an outsider who holds the real ids of other people's servers, channels,
//! messages, roles, DMs and bridge connections gets 404 from every route, with nothing of the
//! resource in the answer, and changes nothing.

use rift::BridgeConnectionId;
use rift::service::BridgeInput;
use serde_json::{Value, json};

use crate::common::{TestServer, assert_error_shape};

/// Text that must never reach the outsider.
const PRIVATE: [&str; 4] = ["Fortress", "the fortress plans", "a private word", "discord-token-never-shown"];

pub(crate) async fn others_resources_are_404_with_no_data(s: TestServer) {
    let owner = s.register("owner").await;
    let friend = s.register("friend").await;
    let outsider = s.register("outsider").await;
    let (server, channel) = s.server(&owner, "Fortress").await;
    s.join(&owner, &server, &friend).await;
    let message = s.send(&owner, &channel, "the fortress plans").await["id"].as_str().unwrap().to_owned();
    let role =
        s.post(&format!("/api/servers/{server}/roles"), &owner, json!({ "name": "guard" })).await.expect(201)
            ["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let dm = s.post("/api/dm/channels", &owner, json!({ "recipient_id": friend.id })).await.expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let dm_message = s
        .post(&format!("/api/dm/channels/{dm}/messages"), &owner, json!({ "content": "a private word" }))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let owner_id: rift::UserId = owner.id.parse().unwrap();
    let bridge: BridgeConnectionId = s
        .rift
        .create_bridge_connection(
            owner_id,
            BridgeInput::new("discord", "discord-token-never-shown", "user", "archive"),
        )
        .await
        .unwrap()
        .id;

    let name = json!({ "name": "taken over" });
    let overwrite = json!({ "kind": "role", "allow": 0, "deny": 1 });
    let text = json!({ "content": "hello" });
    let f = &friend.id;
    let cases: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", format!("/api/servers/{server}"), None),
        ("PATCH", format!("/api/servers/{server}"), Some(name.clone())),
        ("DELETE", format!("/api/servers/{server}"), None),
        ("GET", format!("/api/servers/{server}/members"), None),
        ("DELETE", format!("/api/servers/{server}/members/{f}"), None),
        ("GET", format!("/api/servers/{server}/bans"), None),
        ("PUT", format!("/api/servers/{server}/bans/{f}"), Some(json!({}))),
        ("DELETE", format!("/api/servers/{server}/bans/{f}"), None),
        ("GET", format!("/api/servers/{server}/audit-log"), None),
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
        ("GET", format!("/api/channels/{channel}"), None),
        ("PATCH", format!("/api/channels/{channel}"), Some(name.clone())),
        ("DELETE", format!("/api/channels/{channel}"), None),
        ("PUT", format!("/api/channels/{channel}/permissions/{role}"), Some(overwrite)),
        ("DELETE", format!("/api/channels/{channel}/permissions/{role}"), None),
        ("GET", format!("/api/channels/{channel}/messages"), None),
        ("POST", format!("/api/channels/{channel}/messages"), Some(text.clone())),
        ("PUT", format!("/api/channels/{channel}/ack"), Some(json!({ "message_id": message }))),
        ("POST", format!("/api/channels/{channel}/typing"), None),
        ("GET", format!("/api/channels/{dm}"), None),
        ("GET", format!("/api/dm/channels/{dm}/messages"), None),
        ("POST", format!("/api/dm/channels/{dm}/messages"), Some(text.clone())),
        ("GET", format!("/api/channels/{dm}/messages"), None),
        ("PUT", format!("/api/channels/{dm}/ack"), Some(json!({ "message_id": dm_message }))),
        ("GET", format!("/api/search?q=fortress&channel_id={channel}"), None),
        ("GET", format!("/api/search?q=fortress&server_id={server}"), None),
        ("GET", format!("/api/search?q=private&channel_id={dm}"), None),
        ("GET", format!("/api/bridges/discord/{bridge}"), None),
        ("DELETE", format!("/api/bridges/discord/{bridge}"), None),
        ("POST", format!("/api/bridges/discord/{bridge}/pause"), None),
        ("POST", format!("/api/bridges/discord/{bridge}/resume"), None),
        ("POST", format!("/api/bridges/discord/{bridge}/backfill"), Some(json!({}))),
    ];
    let mut cases = cases;
    for id in [&message, &dm_message] {
        cases.extend([
            ("GET", format!("/api/messages/{id}"), None),
            ("PATCH", format!("/api/messages/{id}"), Some(text.clone())),
            ("DELETE", format!("/api/messages/{id}"), None),
            ("GET", format!("/api/messages/{id}/history"), None),
            ("PUT", format!("/api/messages/{id}/reactions/%F0%9F%91%8D"), None),
            ("DELETE", format!("/api/messages/{id}/reactions/%F0%9F%91%8D"), None),
            ("DELETE", format!("/api/messages/{id}/reactions/%F0%9F%91%8D/{}", owner.id), None),
        ]);
    }

    for (method, path, body) in &cases {
        let mut request = s.http.request(method.parse().unwrap(), s.url(path)).bearer_auth(&outsider.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let reply = TestServer::reply(request.send().await.unwrap()).await;
        assert_eq!(reply.status.as_u16(), 404, "{method} {path}: {}", reply.body);
        assert_error_shape(&reply.body);
        let text = reply.body.to_string();
        for private in PRIVATE {
            assert!(!text.contains(private), "{method} {path} leaked {private:?}: {text}");
        }
    }

    // The outsider's own lists hold nothing of it either.
    for path in ["/api/servers", "/api/dm/channels", "/api/bridges/discord", "/api/search?q=fortress"] {
        let text = s.get(path, &outsider).await.expect(200).to_string();
        for private in PRIVATE {
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
        s.get(&format!("/api/servers/{server}/members"), &owner).await.expect(200).as_array().unwrap().len(),
        2
    );
    s.get(&format!("/api/bridges/discord/{bridge}"), &owner).await.expect(200);
}
