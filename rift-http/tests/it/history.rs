//! Pins, search operators, and the history visibility settings over REST.

use serde_json::{Value, json};

use crate::common::TestServer;

fn contents(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap().to_owned()).collect()
}

pub(crate) async fn pins_over_rest(s: TestServer) {
    let owner = s.register("owner").await;
    let member = s.register("member").await;
    let (server, general) = s.server(&owner, "Lab").await;
    s.join(&owner, &server, &member).await;
    let first = s.send(&member, &general, "first").await;
    let second = s.send(&member, &general, "second").await;
    let (first, second) = (first["id"].as_str().unwrap(), second["id"].as_str().unwrap());
    assert_eq!(s.get(&format!("/api/channels/{general}/pins"), &member).await.expect(200), json!([]));
    s.put(&format!("/api/channels/{general}/pins/{first}"), &member, None)
        .await
        .expect_error(403, "missing_permissions");
    s.put(&format!("/api/channels/{general}/pins/{first}"), &owner, None).await.expect(204);
    s.put(&format!("/api/channels/{general}/pins/{second}"), &owner, None).await.expect(204);
    s.put(&format!("/api/channels/{general}/pins/{second}"), &owner, None).await.expect(204);
    let pins = s.get(&format!("/api/channels/{general}/pins"), &member).await.expect(200);
    assert_eq!(contents(&pins), ["second", "first"], "newest pin first");
    assert_eq!(pins[0]["pinned"], true);
    assert!(pins[0]["pinned_at"].is_string());
    let listed = s.get(&format!("/api/channels/{general}/messages"), &member).await.expect(200);
    assert_eq!((listed[0]["pinned"].as_bool(), listed[1]["pinned"].as_bool()), (Some(true), Some(true)));
    s.delete(&format!("/api/channels/{general}/pins/{first}"), &owner).await.expect(204);
    assert_eq!(
        contents(&s.get(&format!("/api/channels/{general}/pins"), &member).await.expect(200)),
        ["second"]
    );
    // Wrong channel, unknown message, malformed id.
    let (_, elsewhere) = s.server(&owner, "Other").await;
    s.put(&format!("/api/channels/{elsewhere}/pins/{second}"), &owner, None)
        .await
        .expect_error(404, "unknown_message");
    s.put(&format!("/api/channels/{general}/pins/{}", uuid_like()), &owner, None)
        .await
        .expect_error(404, "unknown_message");
    let bad = s.put(&format!("/api/channels/{general}/pins/not-an-id"), &owner, None).await;
    assert_eq!(bad.status, 400);
    let log = s.get(&format!("/api/servers/{server}/audit-log"), &owner).await.expect(200);
    let actions: Vec<&str> = log.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "message_pin").count(), 2);
    assert_eq!(actions.iter().filter(|a| **a == "message_unpin").count(), 1);
}

fn uuid_like() -> String {
    "0190a0a0-0000-7000-8000-000000000000".to_owned()
}

pub(crate) async fn search_operators_over_rest(s: TestServer) {
    let ada = s.register("ada").await;
    let bob = s.register("bob").await;
    let (server, general) = s.server(&ada, "Lab").await;
    s.join(&ada, &server, &bob).await;
    let random = s.post(&format!("/api/servers/{server}/channels"), &ada, json!({ "name": "random" })).await;
    let random = random.expect(201)["id"].as_str().unwrap().to_owned();
    s.send(&ada, &general, "Crab season opens").await;
    let edited = s.send(&bob, &general, "crabby mood, see http://crabs.example").await;
    s.send(&bob, &random, "crab cakes recipe").await;
    let pinned = s.send(&ada, &random, "the big crab list").await;
    let gone = s.send(&bob, &general, "secret crab cave").await;
    let edited = edited["id"].as_str().unwrap();
    s.patch(
        &format!("/api/messages/{edited}"),
        &bob,
        json!({ "content": "crabby mood, see http://crabs.example!" }),
    )
    .await
    .expect(200);
    s.put(&format!("/api/channels/{random}/pins/{}", pinned["id"].as_str().unwrap()), &ada, None)
        .await
        .expect(204);
    s.delete(&format!("/api/messages/{}", gone["id"].as_str().unwrap()), &bob).await.expect(204);

    let search = |q: &str| {
        let url = format!("/api/search?q={}", urlencode(q));
        let s = &s;
        let ada = &ada;
        async move { s.get(&url, ada).await.expect(200) }
    };
    assert_eq!(
        contents(&search("crab").await),
        ["the big crab list", "crab cakes recipe", "Crab season opens"]
    );
    assert_eq!(
        contents(&search("crab*").await),
        [
            "the big crab list",
            "crab cakes recipe",
            "crabby mood, see http://crabs.example!",
            "Crab season opens"
        ]
    );
    assert_eq!(
        contents(&search("from:bob crab*").await),
        ["crab cakes recipe", "crabby mood, see http://crabs.example!"]
    );
    assert_eq!(contents(&search("from:@nobody crab").await), Vec::<String>::new());
    assert_eq!(contents(&search("in:#random crab").await), ["the big crab list", "crab cakes recipe"]);
    assert_eq!(contents(&search("crab -cakes -\"big crab\"").await), ["Crab season opens"]);
    assert_eq!(contents(&search("\"crab cakes\"").await), ["crab cakes recipe"]);
    assert_eq!(contents(&search("has:link").await), ["crabby mood, see http://crabs.example!"]);
    assert_eq!(contents(&search("is:edited").await), ["crabby mood, see http://crabs.example!"]);
    assert_eq!(contents(&search("is:pinned crab").await), ["the big crab list"]);
    assert_eq!(contents(&search("has:image crab").await), Vec::<String>::new());
    assert_eq!(contents(&search("has:attachment").await), Vec::<String>::new());
    let today = chrono::Utc::now().date_naive();
    let (yesterday, tomorrow) = (today.pred_opt().unwrap(), today.succ_opt().unwrap());
    assert_eq!(contents(&search(&format!("during:{today} crab")).await).len(), 3);
    assert_eq!(contents(&search(&format!("after:{yesterday} crab")).await).len(), 3);
    assert_eq!(contents(&search(&format!("before:{today} crab")).await).len(), 0);
    assert_eq!(contents(&search(&format!("after:{today} crab")).await).len(), 0);
    assert_eq!(contents(&search(&format!("before:{tomorrow} crab")).await).len(), 3);
    // Deleted content: moderators by default (ada owns the server); never bob.
    assert_eq!(contents(&search("is:deleted crab").await), ["secret crab cave"]);
    let bobs = s.get(&format!("/api/search?q={}", urlencode("is:deleted crab")), &bob).await.expect(200);
    assert_eq!(bobs, json!([]));
    // Matched ranges, in characters.
    let hits = search("crab*").await;
    assert_eq!(hits[2]["matches"], json!([{ "start": 0, "end": 6 }, { "start": 24, "end": 29 }]));
    assert_eq!(hits[3]["matches"], json!([{ "start": 0, "end": 4 }]));
    // Malformed operators are literal text, never an error.
    for q in [
        "from:",
        "in:#",
        "has:everything",
        "is:cool",
        "before:2024-13-45",
        "during:tomorrow",
        "after:",
        "-",
        "*",
        "\"",
        "-\"",
        "crab\"",
        "x:y:z",
        "from:ada:bob",
        "' OR 1=1 --",
        "\\",
        "%_",
    ] {
        search(q).await;
    }
    assert_eq!(contents(&search("has:everything").await), Vec::<String>::new());
}

fn urlencode(q: &str) -> String {
    q.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

pub(crate) async fn history_settings_govern_history_and_search(s: TestServer) {
    let owner = s.register("owner").await;
    let member = s.register("member").await;
    let third = s.register("third").await;
    let (server, general) = s.server(&owner, "Lab").await;
    s.join(&owner, &server, &member).await;
    s.join(&owner, &server, &third).await;
    let settings = format!("/api/servers/{server}/history-settings");
    assert_eq!(
        s.get(&settings, &member).await.expect(200),
        json!({ "edits": "everyone", "deletes": "moderators", "retention_days": null })
    );
    let said = s.send(&member, &general, "first words").await;
    let said = said["id"].as_str().unwrap();
    s.patch(&format!("/api/messages/{said}"), &member, json!({ "content": "second words" }))
        .await
        .expect(200);
    let history = format!("/api/messages/{said}/history");
    // Default: every reader sees edits.
    assert_eq!(s.get(&history, &third).await.expect(200).as_array().unwrap().len(), 1);
    s.patch(&settings, &member, json!({ "edits": "moderators" }))
        .await
        .expect_error(403, "missing_permissions");
    s.patch(&settings, &owner, json!({ "edits": "all" })).await.expect_error(400, "invalid_body");
    s.patch(&settings, &owner, json!({ "retention_days": 0 })).await.expect_error(400, "invalid_retention");
    let changed = s.patch(&settings, &owner, json!({ "edits": "moderators" })).await.expect(200);
    assert_eq!(changed, json!({ "edits": "moderators", "deletes": "moderators", "retention_days": null }));
    s.get(&history, &third).await.expect_error(403, "history_hidden");
    s.get(&history, &member).await.expect(200);
    s.get(&history, &owner).await.expect(200);
    // Deleted content for everyone: any reader sees the trail and finds it.
    s.patch(&settings, &owner, json!({ "deletes": "everyone", "retention_days": 90 })).await.expect(200);
    s.delete(&format!("/api/messages/{said}"), &member).await.expect(204);
    assert_eq!(s.get(&history, &third).await.expect(200).as_array().unwrap().len(), 2);
    let found = s.get("/api/search?q=is%3Adeleted%20words", &third).await.expect(200);
    assert_eq!(contents(&found), ["second words"]);
    // Nobody: not even the owner; the author still does.
    s.patch(&settings, &owner, json!({ "deletes": "nobody" })).await.expect(200);
    s.get(&history, &owner).await.expect_error(404, "unknown_message");
    s.get(&history, &third).await.expect_error(404, "unknown_message");
    s.get(&history, &member).await.expect(200);
    assert_eq!(s.get("/api/search?q=is%3Adeleted%20words", &owner).await.expect(200), json!([]));
    let log = s.get(&format!("/api/servers/{server}/audit-log"), &owner).await.expect(200);
    let updates = log.as_array().unwrap().iter().filter(|e| e["action"] == "history_settings_update").count();
    assert_eq!(updates, 3);
}
