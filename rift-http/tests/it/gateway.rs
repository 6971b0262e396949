//! The gateway over real WebSockets: live chat, visibility, resume, bad frames, slow readers,
//! typing and presence.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::common::{Account, TestServer};

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A gateway client.
struct Client {
    socket: Socket,
    last_seq: Option<u64>,
}

/// What the server sent, or how it closed.
#[derive(Debug)]
enum Got {
    Frame(Value),
    Closed(Option<u16>),
}

impl Client {
    async fn connect(s: &TestServer) -> Self {
        let url = s.base.replacen("http://", "ws://", 1) + "/ws";
        let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("ws connect");
        Self { socket, last_seq: None }
    }

    /// Connects and identifies; returns the client and the Ready data.
    async fn identify(s: &TestServer, who: &Account) -> (Self, Value) {
        let mut client = Self::connect(s).await;
        client.send(json!({ "type": "Identify", "token": who.token })).await;
        let ready = client.expect("Ready").await;
        (client, ready)
    }

    async fn send(&mut self, frame: Value) {
        self.socket.send(Message::text(frame.to_string())).await.expect("send");
    }

    async fn send_raw(&mut self, message: Message) {
        let _ = self.socket.send(message).await;
    }

    /// The next frame or close, within 5 s.
    async fn next(&mut self) -> Got {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(5), self.socket.next())
                .await
                .expect("a frame within 5 s");
            match message {
                Some(Ok(Message::Text(text))) => return Got::Frame(self.take_frame(text.as_str())),
                Some(Ok(Message::Close(frame))) => return Got::Closed(frame.map(|f| u16::from(f.code))),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Got::Closed(None),
            }
        }
    }

    /// Parses a server frame and checks its sequence number follows the last one seen. Every
    /// read goes through here, so a frame skipped while waiting still advances the count.
    fn take_frame(&mut self, text: &str) -> Value {
        let value: Value = serde_json::from_str(text).expect("server frames are JSON");
        if let Some(seq) = value["seq"].as_u64() {
            assert_eq!(seq, self.last_seq.map_or(1, |s| s + 1), "seq must be contiguous: {value}");
            self.last_seq = Some(seq);
        }
        value
    }

    /// Skips frames until one of `kind` arrives.
    async fn expect(&mut self, kind: &str) -> Value {
        loop {
            match self.next().await {
                Got::Frame(frame) if frame["type"] == kind => return frame["data"].clone(),
                Got::Frame(_) => continue,
                Got::Closed(code) => panic!("closed ({code:?}) while waiting for {kind}"),
            }
        }
    }

    async fn expect_close(&mut self, code: u16) {
        loop {
            match self.next().await {
                Got::Closed(got) => {
                    assert_eq!(got, Some(code));
                    return;
                }
                Got::Frame(_) => continue,
            }
        }
    }

    /// Asserts no frame of `kind` arrives within `wait`.
    async fn quiet(&mut self, kind: &str, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.socket.next()).await {
                Err(_) => return,
                Ok(Some(Ok(Message::Text(text)))) => {
                    // Other frames (say the user's own PresenceUpdate, published after Ready)
                    // may arrive meanwhile; they count towards the sequence like any other.
                    let value = self.take_frame(text.as_str());
                    assert_ne!(value["type"], kind, "unexpected {value}");
                }
                Ok(_) => return,
            }
        }
    }
}

async fn pair(s: &TestServer) -> (Account, Account, String, String) {
    let owner = s.register("owner").await;
    let member = s.register("member").await;
    let (server, general) = s.server(&owner, "Lab").await;
    s.join(&owner, &server, &member).await;
    (owner, member, server, general)
}

pub(crate) async fn two_clients_chat_live(s: TestServer) {
    let (owner, member, server, general) = pair(&s).await;
    let (mut a, ready) = Client::identify(&s, &owner).await;
    assert_eq!(ready["user_id"], owner.id.as_str());
    assert_eq!(ready["username"], "owner");
    assert!(ready["session_id"].is_string() && ready["heartbeat_interval_ms"].is_u64());
    assert_eq!(ready["servers"][0]["id"], server.as_str());
    assert_eq!(ready["servers"][0]["channels"][0]["id"], general.as_str());
    assert_eq!(ready["servers"][0]["roles"][0]["id"], server.as_str());
    assert!(ready["dm_channels"].is_array() && ready["read_state"].is_array());
    assert_eq!(ready["servers"][0]["channels"][0]["last_message_id"], Value::Null, "no message yet");
    let (mut b, _) = Client::identify(&s, &member).await;

    a.send(json!({ "type": "SendMessage", "channel_id": general, "content": "hello over the gateway", "nonce": "n-1" })).await;
    for client in [&mut a, &mut b] {
        let created = client.expect("MessageCreate").await;
        assert_eq!(
            (created["content"].as_str(), created["nonce"].as_str()),
            (Some("hello over the gateway"), Some("n-1"))
        );
    }
    // The same nonce again creates and broadcasts nothing.
    a.send(json!({ "type": "SendMessage", "channel_id": general, "content": "hello over the gateway", "nonce": "n-1" })).await;
    let back = s.send(&member, &general, "and back over REST").await;
    assert_eq!(a.expect("MessageCreate").await["content"], "and back over REST");
    assert_eq!(b.expect("MessageCreate").await["content"], "and back over REST");
    // A new session's Ready names each channel's newest message, so unread needs no fetch.
    let (_, ready) = Client::identify(&s, &member).await;
    assert_eq!(ready["servers"][0]["channels"][0]["last_message_id"], back["id"]);
    // A failing send answers an Error with the nonce.
    a.send(json!({ "type": "SendMessage", "channel_id": general, "content": "  ", "nonce": 7 })).await;
    let error = a.expect("Error").await;
    assert_eq!((error["code"].as_str(), error["nonce"].as_str()), (Some("empty_message"), Some("7")));
    a.send(json!({ "type": "Heartbeat", "seq": a.last_seq })).await;
    a.expect("HeartbeatAck").await;
}

pub(crate) async fn reading_on_one_session_marks_read_on_the_others(s: TestServer) {
    let (owner, member, _, general) = pair(&s).await;
    let (mut phone, _) = Client::identify(&s, &member).await;
    let (mut desk, _) = Client::identify(&s, &member).await;
    let (mut other, _) = Client::identify(&s, &owner).await;
    let sent = s.send(&owner, &general, "read me anywhere").await;
    for client in [&mut phone, &mut desk, &mut other] {
        assert_eq!(client.expect("MessageCreate").await["id"], sent["id"]);
    }
    s.put(&format!("/api/channels/{general}/ack"), &member, Some(json!({ "message_id": sent["id"] })))
        .await
        .expect(204);
    for client in [&mut phone, &mut desk] {
        let read = client.expect("ReadStateUpdate").await;
        assert_eq!((&read["channel_id"], &read["last_read_message_id"]), (&json!(general), &sent["id"]));
    }
    other.quiet("ReadStateUpdate", Duration::from_millis(300)).await;
    // A new session starts from it, with the unread mentions since counted.
    s.send(&owner, &general, &format!("over to you <@{}>", member.id)).await;
    s.send(&owner, &general, "no mention here").await;
    s.send(&owner, &general, "@everyone standup").await;
    s.send(&owner, &general, "mail@everyone.example is not a mention").await;
    let (_, ready) = Client::identify(&s, &member).await;
    assert_eq!(ready["read_state"][0]["last_read_message_id"], sent["id"]);
    assert_eq!(ready["mention_counts"], json!({ general.clone(): 2 }));
    let (_, ready) = Client::identify(&s, &owner).await;
    assert_eq!(ready["mention_counts"], json!({}), "never read, and one's own messages never count");
}

/// `@everyone`/`@here` notify only when the author holds MENTION_EVERYONE in the channel
/// (Discord's rule), decided when the message is sent and kept with it.
pub(crate) async fn everyone_mentions_need_the_permission(s: TestServer) {
    let (owner, member, server, general) = pair(&s).await;
    let reader = s.register("reader").await;
    s.join(&owner, &server, &reader).await;
    let start = s.send(&owner, &general, "start").await;
    for who in [&owner, &member, &reader] {
        s.put(&format!("/api/channels/{general}/ack"), who, Some(json!({ "message_id": start["id"] })))
            .await
            .expect(204);
    }
    let (mut live, _) = Client::identify(&s, &reader).await;

    // The default @everyone role lacks MENTION_EVERYONE: the text is just text.
    let denied = s.send(&member, &general, "@everyone look at this").await;
    assert_eq!(denied["mention_everyone"], false);
    assert_eq!(live.expect("MessageCreate").await["mention_everyone"], false);
    let (_, ready) = Client::identify(&s, &reader).await;
    assert_eq!(ready["mention_counts"], json!({}), "a member without the permission mentions no one");

    // Granted in this channel, the same words notify everyone who can see it.
    let grant = json!({ "kind": "member", "allow": 1 << 12, "deny": 0 });
    s.put(&format!("/api/channels/{general}/permissions/{}", member.id), &owner, Some(grant))
        .await
        .expect(204);
    let allowed = s.send(&member, &general, "@here now").await;
    assert_eq!(allowed["mention_everyone"], true);
    assert_eq!(live.expect("MessageCreate").await["mention_everyone"], true);
    let inside_a_word = s.send(&member, &general, "write to mail@here.example").await;
    assert_eq!(inside_a_word["mention_everyone"], false, "only @everyone/@here as words");
    let owner_says = s.send(&owner, &general, "@everyone from the owner").await;
    assert_eq!(owner_says["mention_everyone"], true, "the owner holds every permission");
    let (_, ready) = Client::identify(&s, &reader).await;
    assert_eq!(ready["mention_counts"], json!({ general.clone(): 2 }));
    let (_, ready) = Client::identify(&s, &owner).await;
    assert_eq!(ready["mention_counts"], json!({ general.clone(): 1 }), "one's own messages never count");

    // Decided at send time: taking the permission away later does not rewrite the past.
    s.delete(&format!("/api/channels/{general}/permissions/{}", member.id), &owner).await.expect(204);
    let page = s.get(&format!("/api/channels/{general}/messages"), &reader).await.expect(200);
    let flags: Vec<(&str, bool)> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["content"].as_str().unwrap(), m["mention_everyone"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        flags,
        vec![
            ("@everyone from the owner", true),
            ("write to mail@here.example", false),
            ("@here now", true),
            ("@everyone look at this", false),
            ("start", false),
        ]
    );
    let (_, ready) = Client::identify(&s, &reader).await;
    assert_eq!(ready["mention_counts"], json!({ general.clone(): 2 }));

    // Decided again at each edit (as Discord does), by the same rule and the author's
    // permissions at the edit; the answer, the event and the counts follow.
    let edit = |id: &Value, who: &Account, content: &str| {
        let path = format!("/api/messages/{}", id.as_str().unwrap());
        let (s, who, body) = (&s, who.clone(), json!({ "content": content }));
        async move { s.patch(&path, &who, body).await.expect(200)["mention_everyone"].clone() }
    };
    let mut expect_update = async |id: &Value, flag: bool| {
        let update = live.expect("MessageUpdate").await;
        assert_eq!((&update["id"], &update["mention_everyone"]), (id, &json!(flag)));
    };
    assert_eq!(edit(&owner_says["id"], &owner, "from the owner, quietly").await, false);
    expect_update(&owner_says["id"], false).await;
    let (_, ready) = Client::identify(&s, &reader).await;
    assert_eq!(
        ready["mention_counts"],
        json!({ general.clone(): 1 }),
        "the removed @everyone no longer counts"
    );
    assert_eq!(edit(&owner_says["id"], &owner, "@everyone from the owner, again").await, true);
    expect_update(&owner_says["id"], true).await;
    // The member lost the permission: their edits notify no one, whatever they say.
    assert_eq!(edit(&allowed["id"], &member, "@here now, edited").await, false);
    expect_update(&allowed["id"], false).await;
    assert_eq!(edit(&inside_a_word["id"], &member, "@everyone please").await, false);
    expect_update(&inside_a_word["id"], false).await;
    let (_, ready) = Client::identify(&s, &reader).await;
    assert_eq!(ready["mention_counts"], json!({ general.clone(): 1 }));
}

pub(crate) async fn a_kicked_member_stops_receiving_at_once(s: TestServer) {
    let (owner, member, server, general) = pair(&s).await;
    let (mut a, _) = Client::identify(&s, &owner).await;
    let (mut b, _) = Client::identify(&s, &member).await;
    s.send(&owner, &general, "before").await;
    assert_eq!(a.expect("MessageCreate").await["content"], "before");
    assert_eq!(b.expect("MessageCreate").await["content"], "before");
    s.delete(&format!("/api/servers/{server}/members/{}", member.id), &owner).await.expect(204);
    assert_eq!(b.expect("MemberRemove").await["user_id"], member.id.as_str());
    s.send(&owner, &general, "after").await;
    assert_eq!(a.expect("MessageCreate").await["content"], "after");
    b.quiet("MessageCreate", Duration::from_millis(300)).await;

    // Joining again brings the channel back.
    s.join(&owner, &server, &member).await;
    assert_eq!(b.expect("MemberAdd").await["server_id"], server.as_str());
    s.send(&owner, &general, "welcome back").await;
    assert_eq!(b.expect("MessageCreate").await["content"], "welcome back");
}

pub(crate) async fn losing_view_channels_hides_the_channel(s: TestServer) {
    let (owner, member, server, general) = pair(&s).await;
    let (mut b, _) = Client::identify(&s, &member).await;
    let hide = json!({ "kind": "member", "allow": 0, "deny": 1 });
    s.put(&format!("/api/channels/{general}/permissions/{}", member.id), &owner, Some(hide))
        .await
        .expect(204);
    assert_eq!(b.expect("ChannelDelete").await["id"], general.as_str());
    s.send(&owner, &general, "secret now").await;
    b.quiet("MessageCreate", Duration::from_millis(300)).await;
    s.delete(&format!("/api/channels/{general}/permissions/{}", member.id), &owner).await.expect(204);
    assert_eq!(b.expect("ChannelUpdate").await["id"], general.as_str());
    s.send(&owner, &general, "visible again").await;
    assert_eq!(b.expect("MessageCreate").await["content"], "visible again");
    let _ = server;
}

pub(crate) async fn resume_replays_exactly_what_was_missed(s: TestServer) {
    let (owner, member, _, general) = pair(&s).await;
    let (mut b, ready) = Client::identify(&s, &member).await;
    let session_id = ready["session_id"].as_str().unwrap().to_owned();
    s.send(&owner, &general, "one").await;
    b.expect("MessageCreate").await;
    let seen = b.last_seq.unwrap();
    drop(b); // dropped without a close frame: the session stays resumable
    for text in ["two", "three", "four"] {
        s.send(&owner, &general, text).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut again = Client::connect(&s).await;
    again.last_seq = Some(seen);
    again
        .send(json!({ "type": "Resume", "token": member.token, "session_id": session_id, "seq": seen }))
        .await;
    let mut replayed = Vec::new();
    loop {
        match again.next().await {
            Got::Frame(frame) if frame["type"] == "Resumed" => break,
            Got::Frame(frame) if frame["type"] == "MessageCreate" => {
                replayed.push(frame["data"]["content"].as_str().unwrap().to_owned())
            }
            Got::Frame(_) => {}
            Got::Closed(code) => panic!("closed {code:?}"),
        }
    }
    assert_eq!(replayed, ["two", "three", "four"]);
    s.send(&owner, &general, "five").await;
    assert_eq!(again.expect("MessageCreate").await["content"], "five");

    // A second resume of the same session closes the first connection (4000).
    let mut third = Client::connect(&s).await;
    third.send(json!({ "type": "Resume", "token": member.token, "session_id": session_id, "seq": again.last_seq })).await;
    third.expect("Resumed").await;
    again.expect_close(4000).await;

    // Unknown sessions, other users' sessions and a bad token.
    let mut stranger = Client::connect(&s).await;
    stranger
        .send(json!({ "type": "Resume", "token": owner.token, "session_id": session_id, "seq": 0 }))
        .await;
    assert_eq!(stranger.expect("InvalidSession").await["resumable"], false);
    let mut bad = Client::connect(&s).await;
    bad.send(json!({ "type": "Resume", "token": "forged", "session_id": session_id, "seq": 0 })).await;
    bad.expect_close(4004).await;
    // A client close with 1000 ends the session for good.
    third.socket.close(Some(CloseFrame { code: CloseCode::Normal, reason: "".into() })).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut late = Client::connect(&s).await;
    late.send(json!({ "type": "Resume", "token": member.token, "session_id": session_id, "seq": 0 })).await;
    late.expect("InvalidSession").await;
}

pub(crate) async fn bad_frames_get_their_answers_while_others_chat(s: TestServer) {
    let (owner, member, _, general) = pair(&s).await;
    let (mut watcher, _) = Client::identify(&s, &member).await;
    let cases: Vec<(Message, bool, u16)> = vec![
        (Message::binary(vec![1, 2, 3]), true, 4002),
        (Message::text("{not json"), true, 4002),
        (Message::text("[1,2]"), true, 4002),
        (Message::text(r#"{"type": 7}"#), true, 4002),
        (Message::text(r#"{"type": "Dance"}"#), true, 4001),
        (Message::text(r#"{"type": "Heartbeat"}"#), false, 4003),
        (Message::text(r#"{"type": "SendMessage", "channel_id": "x", "content": "hi"}"#), false, 4003),
        (Message::text(format!(r#"{{"type": "Identify", "token": "{}"}}"#, owner.token)), true, 4005),
        (Message::text("x".repeat(70 * 1024)), true, 1009),
        (Message::text(r#"{"type": "Identify", "token": "nope"}"#), false, 4004),
    ];
    for (message, identify_first, code) in cases {
        let mut client =
            if identify_first { Client::identify(&s, &owner).await.0 } else { Client::connect(&s).await };
        client.send_raw(message).await;
        client.expect_close(code).await;
        s.send(&owner, &general, &format!("still chatting after {code}")).await;
        assert_eq!(watcher.expect("MessageCreate").await["content"], format!("still chatting after {code}"));
    }
    // Known types with bad fields: an Error frame, and the connection stays.
    let (mut client, _) = Client::identify(&s, &owner).await;
    client.send(json!({ "type": "SendMessage", "content": "no channel", "nonce": "n9" })).await;
    let error = client.expect("Error").await;
    assert_eq!((error["code"].as_str(), error["nonce"].as_str()), (Some("invalid_frame"), Some("n9")));
    client.send(json!({ "type": "SubscribeChannel", "channel_id": uuid::Uuid::now_v7() })).await;
    assert_eq!(client.expect("Error").await["code"], "unknown_channel");
    client.send(json!({ "type": "SubscribeServer", "server_id": uuid::Uuid::now_v7() })).await;
    assert_eq!(client.expect("Error").await["code"], "unknown_server");
    // A NUL in the nonce is refused before the database (PostgreSQL would fail on it).
    client
        .send(json!({ "type": "SendMessage", "channel_id": general, "content": "hi", "nonce": "a\u{0}b" }))
        .await;
    assert_eq!(client.expect("Error").await["code"], "invalid_nonce");
    client.send(json!({ "type": "SubscribeChannel", "channel_id": general })).await;
    client.send(json!({ "type": "Heartbeat" })).await;
    client.expect("HeartbeatAck").await;
}

pub(crate) async fn frame_floods_close_4008(db: rift_testing::TestDb) {
    let s = TestServer::start_with(db, |_, http| http.rate_limits = true).await;
    let owner = s.register("owner").await;
    let (mut client, _) = Client::identify(&s, &owner).await;
    for _ in 0..150 {
        client.send_raw(Message::text(r#"{"type": "Heartbeat"}"#)).await;
    }
    client.expect_close(4008).await;
}

pub(crate) async fn silent_sessions_time_out(db: rift_testing::TestDb) {
    let s =
        TestServer::start_with(db, |_, http| http.gateway.heartbeat_interval = Duration::from_millis(200))
            .await;
    let owner = s.register("owner").await;
    let (mut client, ready) = Client::identify(&s, &owner).await;
    assert_eq!(ready["heartbeat_interval_ms"], 200);
    client.expect_close(4009).await;
    let mut never = Client::connect(&s).await;
    never.expect_close(4009).await;
}

pub(crate) async fn a_reader_that_never_reads_is_dropped_without_slowing_others(db: rift_testing::TestDb) {
    let s = TestServer::start_with(db, |_, http| {
        http.gateway.outbound_capacity = 8;
        http.gateway.write_timeout = Duration::from_millis(200);
    })
    .await;
    let (owner, member, _, general) = pair(&s).await;
    let (mut fast, _) = Client::identify(&s, &member).await;
    let (mut slow, _) = Client::identify(&s, &owner).await;
    let big = "x".repeat(9_000);
    let total = 600;
    let started = std::time::Instant::now();
    for i in 0..total {
        s.send(&owner, &general, &format!("{i} {big}")).await;
        fast.expect("MessageCreate").await;
    }
    let elapsed = started.elapsed();
    // The slow client now reads: it gets a prefix of the messages, then its connection's close.
    let mut received = 0;
    loop {
        match slow.next().await {
            Got::Frame(frame) if frame["type"] == "MessageCreate" => received += 1,
            Got::Frame(_) => {}
            Got::Closed(_) => break,
        }
    }
    assert!(received < total, "the slow reader was never dropped ({received} of {total})");
    assert!(elapsed < Duration::from_secs(120), "the fast reader was held up: {elapsed:?}");
}

/// A client that sends as fast as it can over the gateway, reading nothing meanwhile, gets every
/// echo and is not closed: its queued echoes are written before its next frame is handled, so
/// they never fill its (here small) outbound queue.
pub(crate) async fn a_sender_that_sends_flat_out_is_not_closed(db: rift_testing::TestDb) {
    let s = TestServer::start_with(db, |_, http| http.gateway.outbound_capacity = 16).await;
    let (_, member, _, general) = pair(&s).await;
    let (mut sender, _) = Client::identify(&s, &member).await;
    let total = 400;
    for i in 0..total {
        let nonce = format!("n-{i}");
        sender
            .send(json!({ "type": "SendMessage", "channel_id": general, "content": "go", "nonce": nonce }))
            .await;
    }
    for i in 0..total {
        let echo = sender.expect("MessageCreate").await;
        assert_eq!(echo["nonce"], format!("n-{i}"), "every echo, in order");
    }
}

pub(crate) async fn typing_and_presence_reach_only_those_who_share(s: TestServer) {
    let (owner, member, _, general) = pair(&s).await;
    let outsider = s.register("outsider").await;
    let (_, _) = s.server(&outsider, "Elsewhere").await;
    let (mut a, _) = Client::identify(&s, &owner).await;
    let (mut d, _) = Client::identify(&s, &outsider).await;
    // A user's own sessions hear of its own presence (other devices show it).
    assert_eq!(d.expect("PresenceUpdate").await["user_id"], outsider.id.as_str());
    let (mut b, _) = Client::identify(&s, &member).await;
    let presence = loop {
        let presence = a.expect("PresenceUpdate").await;
        if presence["user_id"] == member.id.as_str() {
            break presence;
        }
    };
    assert_eq!(presence["status"], "online");
    b.send(json!({ "type": "StartTyping", "channel_id": general })).await;
    let typing = a.expect("TypingStart").await;
    assert_eq!(typing["user_id"], member.id.as_str());
    b.send(json!({ "type": "UpdatePresence", "status": "dnd" })).await;
    assert_eq!(a.expect("PresenceUpdate").await["status"], "dnd");
    b.send(json!({ "type": "UpdatePresence", "status": "asleep" })).await;
    assert_eq!(b.expect("Error").await["code"], "invalid_frame");
    b.socket.close(Some(CloseFrame { code: CloseCode::Normal, reason: "".into() })).await.unwrap();
    assert_eq!(a.expect("PresenceUpdate").await["status"], "offline");
    d.quiet("PresenceUpdate", Duration::from_millis(200)).await;
    d.quiet("TypingStart", Duration::from_millis(10)).await;
}

pub(crate) async fn dms_and_new_servers_arrive_live(s: TestServer) {
    let (owner, member, _, _) = pair(&s).await;
    let (mut b, _) = Client::identify(&s, &member).await;
    let dm = s.post("/api/dm/channels", &owner, json!({ "recipient_id": member.id })).await.expect(201);
    assert_eq!(b.expect("DmChannelCreate").await["id"], dm["id"]);
    let dm_id = dm["id"].as_str().unwrap();
    s.post(&format!("/api/dm/channels/{dm_id}/messages"), &owner, json!({ "content": "psst" }))
        .await
        .expect(201);
    assert_eq!(b.expect("MessageCreate").await["channel_id"], dm_id);
    // A server the member creates is followed at once.
    let (_, channel) = s.server(&member, "Mine").await;
    b.expect("MemberAdd").await;
    s.send(&member, &channel, "in my own server").await;
    assert_eq!(b.expect("MessageCreate").await["content"], "in my own server");
}

pub(crate) async fn resuming_after_the_window_is_refused(db: rift_testing::TestDb) {
    let s =
        TestServer::start_with(db, |_, http| http.gateway.resume_window = Duration::from_millis(200)).await;
    let (owner, member, _, general) = pair(&s).await;
    let (b, ready) = Client::identify(&s, &member).await;
    let session_id = ready["session_id"].as_str().unwrap().to_owned();
    drop(b);
    s.send(&owner, &general, "while away").await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let mut late = Client::connect(&s).await;
    late.send(json!({ "type": "Resume", "token": member.token, "session_id": session_id, "seq": 0 })).await;
    assert_eq!(late.expect("InvalidSession").await["resumable"], false);
    // Identifying again works on the same connection.
    late.send(json!({ "type": "Identify", "token": member.token })).await;
    late.expect("Ready").await;
}

/// A database failure while re-checking what a session may see is not "not visible": the session
/// is not silently unsubscribed from the server; it ends (4000) so the client identifies again.
pub(crate) async fn a_failed_visibility_check_ends_the_session(db: rift_testing::TestDb) {
    let database = db.database.clone();
    let s = TestServer::start(db).await;
    let (_, member, server, _) = pair(&s).await;
    let roles = s.get(&format!("/api/servers/{server}/roles"), &member).await.expect(200);
    let role: rift::model::Role = serde_json::from_value(roles[0].clone()).unwrap();
    let (mut client, _) = Client::identify(&s, &member).await;
    database.close().await;
    // A role change another node made (its fan-out delivers it here) makes the session
    // re-compute the server's channels, which now fails.
    let server_id: rift::ServerId = server.parse().unwrap();
    let event = rift::event::Event::RoleUpdate(role);
    s.inbox.deliver(std::sync::Arc::new(rift::event::Envelope::new(
        rift::event::Topic::Server(server_id),
        event,
    )));
    client.expect_close(4000).await;
}

/// The Prometheus text as `name{labels}` → value; every sample line must parse.
async fn scrape(s: &TestServer) -> std::collections::HashMap<String, f64> {
    let response = s.http.get(s.url("/metrics")).send().await.expect("scrape");
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap_or_default().to_owned();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let text = response.text().await.expect("body");
    let mut samples = std::collections::HashMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(comment) = line.strip_prefix("# ") {
            assert!(comment.starts_with("HELP ") || comment.starts_with("TYPE "), "{line}");
            continue;
        }
        let (name, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample: {line}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("not a number: {line}"));
        assert!(samples.insert(name.to_owned(), value).is_none(), "repeated sample {name}");
    }
    samples
}

pub(crate) async fn metrics_are_a_json_404_when_off(s: TestServer) {
    let reply = s.call(reqwest::Method::GET, "/metrics", None, None).await;
    reply.expect_error(404, "unknown_route");
}

pub(crate) async fn metrics_count_sends_and_deliveries_when_on(db: rift_testing::TestDb) {
    let s = TestServer::start_with(db, |_, http| http.metrics = true).await;
    let before = scrape(&s).await;
    assert_eq!(before["rift_gateway_sessions"], 0.0);
    assert_eq!(before[r#"rift_messages_sent_total{via="rest"}"#], 0.0);
    assert_eq!(before["rift_gateway_delivery_seconds_count"], 0.0);
    assert!(before["rift_password_hashing_workers"] >= 1.0);
    let (owner, member, _, general) = pair(&s).await;
    let (mut a, _) = Client::identify(&s, &owner).await;
    let (mut b, _) = Client::identify(&s, &member).await;
    s.send(&member, &general, "counted over REST").await;
    a.send(json!({ "type": "SendMessage", "channel_id": general, "content": "counted over the gateway", "nonce": "m-1" })).await;
    for client in [&mut a, &mut b] {
        assert_eq!(client.expect("MessageCreate").await["content"], "counted over REST");
        assert_eq!(client.expect("MessageCreate").await["content"], "counted over the gateway");
    }
    let after = scrape(&s).await;
    assert_eq!(after["rift_gateway_sessions"], 2.0);
    assert_eq!(after[r#"rift_messages_sent_total{via="rest"}"#], 1.0);
    assert_eq!(after[r#"rift_messages_sent_total{via="gateway"}"#], 1.0);
    // Four MessageCreate frames written, and the histogram is cumulative up to +Inf.
    assert!(after["rift_gateway_delivery_seconds_count"] >= 4.0, "{after:?}");
    assert_eq!(
        after[r#"rift_gateway_delivery_seconds_bucket{le="+Inf"}"#],
        after["rift_gateway_delivery_seconds_count"]
    );
    assert!(after["rift_router_deliveries_total"] >= 4.0);
    assert_eq!(after["rift_router_dropped_total"], 0.0);
    assert!(after["rift_password_hashes_total"] >= before["rift_password_hashes_total"] + 2.0);
    assert_eq!(after["rift_fanout_dropped_total"], 0.0);
    // The sends' permission checks went through the permission view, which now holds the server.
    assert_eq!(after["rift_permission_view_servers"], 1.0);
    assert!(after["rift_permission_view_members"] >= 1.0, "{after:?}");
    assert!(after["rift_permission_view_bytes"] > 0.0);
    assert!(after["rift_permission_view_hits_total"] >= 1.0, "{after:?}");
    assert!(after["rift_permission_view_misses_total"] >= 1.0);
    assert!(after["rift_permission_view_invalidations_total"] >= 1.0, "joining forgets the view");
    // Pool use per backend, and SQLite's group commit counting what it stored.
    let pools: &[&str] = if s.backend() == "sqlite" { &["write", "read"] } else { &["main"] };
    for pool in pools {
        let (open, idle, max) = (
            after[&format!("rift_db_pool_connections_open{{pool=\"{pool}\"}}")],
            after[&format!("rift_db_pool_connections_idle{{pool=\"{pool}\"}}")],
            after[&format!("rift_db_pool_connections_max{{pool=\"{pool}\"}}")],
        );
        assert!(open >= 1.0 && idle <= open && open <= max, "{pool}: {open} {idle} {max}");
    }
    if s.backend() == "sqlite" {
        assert!(after["rift_db_group_commit_messages_total"] >= 2.0, "{after:?}");
        assert!(after["rift_db_group_commit_transactions_total"] >= 1.0);
    } else {
        assert!(!after.contains_key("rift_db_group_commit_messages_total"));
    }
}

pub(crate) async fn pins_and_deletes_reach_sessions_as_settings_allow(s: TestServer) {
    let (owner, member, server, general) = pair(&s).await;
    let (mut b, _) = Client::identify(&s, &member).await;
    let sent = s.send(&member, &general, "pin me").await;
    b.expect("MessageCreate").await;
    let id = sent["id"].as_str().unwrap();
    s.put(&format!("/api/channels/{general}/pins/{id}"), &owner, None).await.expect(204);
    let pin = b.expect("MessagePin").await;
    assert_eq!((pin["id"].as_str(), pin["pinned"].as_bool()), (Some(id), Some(true)));
    s.delete(&format!("/api/channels/{general}/pins/{id}"), &owner).await.expect(204);
    let unpin = b.expect("MessageUnpin").await;
    assert_eq!(
        (unpin["message_id"].as_str(), unpin["channel_id"].as_str()),
        (Some(id), Some(general.as_str()))
    );
    // By default a delete tells nobody what was said.
    s.delete(&format!("/api/messages/{id}"), &member).await.expect(204);
    let deleted = b.expect("MessageDelete").await;
    assert_eq!(deleted["id"], id);
    assert!(deleted.get("content").is_none(), "{deleted}");
    // With deleted content shown to every reader, the event carries it.
    s.patch(&format!("/api/servers/{server}/history-settings"), &owner, json!({ "deletes": "everyone" }))
        .await
        .expect(200);
    let sent = s.send(&owner, &general, "regrettable").await;
    b.expect("MessageCreate").await;
    s.delete(&format!("/api/messages/{}", sent["id"].as_str().unwrap()), &owner).await.expect(204);
    assert_eq!(b.expect("MessageDelete").await["content"], "regrettable");
}

/// A disabled account loses every door at once: its access token (REST and gateway), its
/// refresh token and its password; enabled again, it signs in.
pub(crate) async fn disabled_accounts_cannot_sign_in_or_use_their_tokens(s: TestServer) {
    let mallory = s.register("mallory").await;
    let id: rift::UserId = mallory.id.parse().unwrap();
    s.rift.disable_user(id).await.unwrap();

    s.get("/api/users/me", &mallory).await.expect_error(401, "account_disabled");
    let login = json!({ "username": "mallory", "password": "password123" });
    let refused = s.call(reqwest::Method::POST, "/api/auth/login", None, Some(login.clone())).await;
    refused.expect_error(401, "account_disabled");
    let refresh = json!({ "refresh_token": mallory.refresh });
    let refused = s.call(reqwest::Method::POST, "/api/auth/refresh", None, Some(refresh)).await;
    refused.expect_error(401, "invalid_refresh_token");
    let mut again = Client::connect(&s).await;
    again.send(json!({ "type": "Identify", "token": mallory.token })).await;
    again.expect_close(4004).await;
    let resume = json!({ "type": "Resume", "token": mallory.token, "session_id": "00000000-0000-0000-0000-000000000000", "seq": 0 });
    let mut resumer = Client::connect(&s).await;
    resumer.send(resume).await;
    resumer.expect_close(4004).await;

    s.rift.enable_user(id).await.unwrap();
    s.call(reqwest::Method::POST, "/api/auth/login", None, Some(login)).await.expect(200);
}
