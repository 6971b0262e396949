//! Pins, search operators, and the history visibility settings over REST.

use serde_json::{Value, json};

use crate::common::{Account, TestServer};

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
    // Deleted content: moderators by default (ada owns the server), and the author their own,
    // as the message's history route shows it (SPEC: "its author, MANAGE_MESSAGES holders").
    assert_eq!(contents(&search("is:deleted crab").await), ["secret crab cave"]);
    let carl = s.register("carl").await;
    s.join(&ada, &server, &carl).await;
    let carls_gone = s.send(&carl, &general, "carl crab regret").await;
    s.delete(&format!("/api/messages/{}", carls_gone["id"].as_str().unwrap()), &carl).await.expect(204);
    let deleted_for = |who: &Account| {
        let url = format!("/api/search?q={}", urlencode("is:deleted crab"));
        let (s, who) = (&s, who.clone());
        async move { contents(&s.get(&url, &who).await.expect(200)) }
    };
    assert_eq!(deleted_for(&bob).await, ["secret crab cave"], "bob finds his own, not carl's");
    assert_eq!(deleted_for(&carl).await, ["carl crab regret"]);
    assert_eq!(deleted_for(&ada).await, ["carl crab regret", "secret crab cave"]);
    let gone_id = gone["id"].as_str().unwrap();
    s.get(&format!("/api/messages/{gone_id}/history"), &bob).await.expect(200);
    s.get(&format!("/api/messages/{gone_id}/history"), &carl).await.expect_error(404, "unknown_message");
    let bob_filtered = format!("/api/search?q={}&author_id={}", urlencode("is:deleted crab"), bob.id);
    assert_eq!(contents(&s.get(&bob_filtered, &carl).await.expect(200)), Vec::<String>::new());
    assert_eq!(contents(&s.get(&bob_filtered, &bob).await.expect(200)), ["secret crab cave"]);
    assert_eq!(contents(&search("is:deleted crab from:carl").await), ["carl crab regret"]);
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

pub(crate) async fn in_names_dms_and_group_dms(s: TestServer) {
    let ada = s.register("ada").await;
    let bob = s.register("bob").await;
    let cy = s.register("cy").await;
    let (server, general) = s.server(&ada, "Lab").await;
    s.join(&ada, &server, &bob).await;
    s.join(&ada, &server, &cy).await;
    s.send(&ada, &general, "crab in general").await;
    let dm = s.post("/api/dm/channels", &ada, json!({ "recipient_id": bob.id })).await.expect(201);
    let dm = dm["id"].as_str().unwrap().to_owned();
    let dm_send = |who: &Account, channel: &str, content: &str| {
        let (s, who) = (&s, who.clone());
        let (path, body) = (format!("/api/dm/channels/{channel}/messages"), json!({ "content": content }));
        async move { s.post(&path, &who, body).await.expect(201) }
    };
    dm_send(&bob, &dm, "crab between ada and bob").await;
    let cy_dm = s.post("/api/dm/channels", &ada, json!({ "recipient_id": cy.id })).await.expect(201);
    let cy_dm = cy_dm["id"].as_str().unwrap().to_owned();
    dm_send(&cy, &cy_dm, "crab between ada and cy").await;
    // A group DM (made by a bridge; there is no route to make one) named "Crabbers".
    let (ada_id, bob_id, cy_id) = (ada.id.parse().unwrap(), bob.id.parse().unwrap(), cy.id.parse().unwrap());
    let group = s
        .rift
        .mirror_dm(
            ada_id,
            &rift::model::BridgeRef::new("discord", "g1"),
            rift::model::ChannelKind::GroupDm,
            Some("Crabbers"),
            &[bob_id, cy_id],
        )
        .await
        .unwrap()
        .id
        .to_string();
    dm_send(&bob, &group, "crab for the group").await;

    let search = |who: &Account, q: &str| {
        let url = format!("/api/search?q={}", urlencode(q));
        let (s, who) = (&s, who.clone());
        async move { contents(&s.get(&url, &who).await.expect(200)) }
    };
    // `in:@user`: the two-person DM with that user, never a group they are in.
    assert_eq!(search(&ada, "in:@bob crab").await, ["crab between ada and bob"]);
    assert_eq!(search(&ada, "in:@BOB crab").await, ["crab between ada and bob"]);
    assert_eq!(search(&bob, "in:@ada crab").await, ["crab between ada and bob"]);
    assert_eq!(
        search(&ada, "in:@cy in:@bob crab").await,
        ["crab between ada and cy", "crab between ada and bob"]
    );
    assert_eq!(search(&bob, "in:@cy crab").await, Vec::<String>::new(), "bob has no DM with cy");
    assert_eq!(search(&ada, "in:@nobody crab").await, Vec::<String>::new());
    // A group DM by its name; any channel or DM by its id.
    assert_eq!(search(&cy, "in:crabbers crab").await, ["crab for the group"]);
    assert_eq!(search(&ada, &format!("in:{group} crab")).await, ["crab for the group"]);
    assert_eq!(search(&ada, &format!("in:{dm} crab")).await, ["crab between ada and bob"]);
    assert_eq!(search(&ada, &format!("in:#{general} crab")).await, ["crab in general"]);
    assert_eq!(search(&ada, "in:general crab").await, ["crab in general"]);
    // Only the caller's own: cy holds the id of ada and bob's DM, and finds nothing there.
    assert_eq!(search(&cy, &format!("in:{dm} crab")).await, Vec::<String>::new());
    // Within one DM (channel_id), `in:` still narrows.
    let in_dm = format!("/api/search?channel_id={dm}&q={}", urlencode("in:@bob crab"));
    assert_eq!(contents(&s.get(&in_dm, &ada).await.expect(200)), ["crab between ada and bob"]);
    let in_dm = format!("/api/search?channel_id={dm}&q={}", urlencode("in:@cy crab"));
    assert_eq!(contents(&s.get(&in_dm, &ada).await.expect(200)), Vec::<String>::new());

    // Deleted DM messages: the default hides others' deleted content, so only their author
    // finds them, as only the author reads their history.
    let gone = dm_send(&bob, &dm, "crab to forget").await;
    let gone = gone["id"].as_str().unwrap();
    s.delete(&format!("/api/messages/{gone}"), &bob).await.expect(204);
    assert_eq!(search(&bob, "in:@ada is:deleted crab").await, ["crab to forget"]);
    assert_eq!(search(&ada, "in:@bob is:deleted crab").await, Vec::<String>::new());
    s.get(&format!("/api/messages/{gone}/history"), &bob).await.expect(200);
    s.get(&format!("/api/messages/{gone}/history"), &ada).await.expect_error(404, "unknown_message");
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
    let own = s.get("/api/search?q=is%3Adeleted%20words", &member).await.expect(200);
    assert_eq!(contents(&own), ["second words"], "the author finds their own, as they read its trail");
    let log = s.get(&format!("/api/servers/{server}/audit-log"), &owner).await.expect(200);
    let updates = log.as_array().unwrap().iter().filter(|e| e["action"] == "history_settings_update").count();
    assert_eq!(updates, 3);
}
