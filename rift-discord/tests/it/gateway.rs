//! The shard against the fake gateway, over real loopback sockets, on a paused clock.

use std::time::Duration;

use rift_discord::Error;
use rift_discord::gateway::{
    Config, Dispatch, Encoding, Event, GatewayPayload, Opcode, Shard, ShardEvent, ShardState,
};
use rift_discord::model::Snowflake;
use serde_json::json;
use tokio::time::Instant;

use rift_testing::discord::{FakeGateway, Seen};

fn config(fake: &FakeGateway, encoding: Encoding, compress: bool) -> Config {
    Config::builder("Bot test-token")
        .gateway_url(fake.url())
        .encoding(encoding)
        .compress(compress)
        .seed(42)
        .build()
}

const ALL: [(Encoding, bool); 4] =
    [(Encoding::Json, true), (Encoding::Etf, true), (Encoding::Json, false), (Encoding::Etf, false)];

async fn next_dispatch(shard: &mut Shard) -> Dispatch {
    loop {
        match shard.next_event().await.expect("the shard runs") {
            ShardEvent::Dispatch(dispatch) => return dispatch,
            _ => continue,
        }
    }
}

/// Runs the shard until `count` dispatches arrived; returns them and the other events.
async fn dispatches(shard: &mut Shard, count: usize) -> (Vec<Dispatch>, Vec<ShardEvent>) {
    let (mut dispatches, mut others) = (Vec::new(), Vec::new());
    while dispatches.len() < count {
        match shard.next_event().await.expect("the shard runs") {
            ShardEvent::Dispatch(dispatch) => dispatches.push(dispatch),
            other => others.push(other),
        }
    }
    (dispatches, others)
}

/// What the fake saw so far, and on until the old connection's close arrived (its task may run
/// after the new connection's).
async fn seen_until_close(fake: &mut FakeGateway) -> Vec<Seen> {
    let mut seen = fake.drain();
    while !seen.iter().any(|s| matches!(s, Seen::ClosedByClient(_) | Seen::Gone)) {
        seen.push(fake.seen().await);
    }
    seen
}

fn message(id: u64, content: &str) -> serde_json::Value {
    json!({
        "id": id.to_string(), "channel_id": "1100000000000000002", "guild_id": "1100000000000000003",
        "author": {"id": "1100000000000000004", "username": "alice", "global_name": "Alice"},
        "content": content, "timestamp": "2024-01-01T00:00:00.000000+00:00", "edited_timestamp": null,
        "tts": false, "mentions": [], "attachments": [], "embeds": [], "nonce": "n1", "type": 0,
    })
}

/// Connects a shard and runs it to READY.
async fn ready(encoding: Encoding, compress: bool) -> (FakeGateway, Shard) {
    let mut fake = FakeGateway::start().await;
    let mut shard = Shard::new(config(&fake, encoding, compress));
    let ready = next_dispatch(&mut shard).await;
    assert_eq!(ready.name, "READY");
    let Event::Ready(ready) = ready.event().unwrap() else { panic!("not ready") };
    assert_eq!(shard.session_id(), Some(ready.session_id.as_str()));
    assert_eq!(ready.resume_gateway_url, fake.resume_url());
    assert_eq!(shard.state(), ShardState::Active);
    let Seen::Connected { path, query } = fake.seen().await else { panic!("no connection") };
    assert_eq!(path, "/");
    let expected = format!("v=10&encoding={}", encoding.as_str());
    assert!(query.starts_with(&expected), "{query}");
    assert_eq!(query.contains("compress=zlib-stream"), compress);
    let identify = fake.frame(Opcode::Identify).await;
    assert_eq!(identify.d["token"], "test-token");
    (fake, shard)
}

#[tokio::test(start_paused = true)]
async fn identifies_and_receives_typed_dispatches_in_every_encoding() {
    for (encoding, compress) in ALL {
        let (fake, mut shard) = ready(encoding, compress).await;
        fake.dispatch("MESSAGE_CREATE", message(1_100_000_000_000_000_010, "hello 😀"));
        let dispatch = next_dispatch(&mut shard).await;
        assert_eq!(dispatch.seq, Some(2));
        let Event::MessageCreate(msg) = dispatch.event().unwrap() else { panic!("{dispatch:?}") };
        assert_eq!(msg.id.get(), 1_100_000_000_000_000_010, "{encoding:?}");
        assert_eq!(msg.guild_id.map(|g| g.get()), Some(1_100_000_000_000_000_003));
        assert_eq!(msg.content, "hello 😀");
        assert_eq!(msg.author.global_name.as_deref(), Some("Alice"));
        assert_eq!(msg.nonce.as_deref(), Some("n1"));
    }
}

#[tokio::test(start_paused = true)]
async fn payloads_split_across_websocket_frames_are_reassembled() {
    for encoding in [Encoding::Json, Encoding::Etf] {
        let (fake, mut shard) = ready(encoding, true).await;
        fake.set_split_frames(true);
        for i in 0..5u64 {
            fake.dispatch("MESSAGE_CREATE", message(1_100_000_000_000_000_100 + i, &"x".repeat(300)));
        }
        let (got, _) = dispatches(&mut shard, 5).await;
        let seqs: Vec<_> = got.iter().map(|d| d.seq.unwrap()).collect();
        assert_eq!(seqs, [2, 3, 4, 5, 6]);
    }
}

#[tokio::test(start_paused = true)]
async fn heartbeats_follow_the_interval_and_are_acked() {
    let start = Instant::now();
    let mut fake = FakeGateway::start().await;
    fake.set_heartbeat_interval(5_000);
    let mut shard = Shard::new(config(&fake, Encoding::Json, true));
    assert_eq!(next_dispatch(&mut shard).await.name, "READY");
    // Nothing else to deliver: the shard keeps beating; run it until three beats went out.
    let runner = async {
        let event = shard.next_event().await;
        panic!("unexpected event {event:?}");
    };
    let beats = async {
        let mut at = Vec::new();
        for _ in 0..3 {
            let beat = fake.frame(Opcode::Heartbeat).await;
            assert_eq!(beat.d, json!(1), "the beat carries the last sequence");
            at.push(Instant::now() - start);
        }
        at
    };
    let at = tokio::select! {
        at = beats => at,
        () = runner => unreachable!(),
    };
    assert!(at[0] < Duration::from_millis(5_000), "the first beat is jittered into the interval: {at:?}");
    for gap in [at[1] - at[0], at[2] - at[1]] {
        assert!(gap >= Duration::from_millis(5_000) && gap < Duration::from_millis(5_050), "{gap:?}");
    }
    assert_eq!(shard.state(), ShardState::Active);
}

#[tokio::test(start_paused = true)]
async fn server_heartbeat_request_is_answered() {
    let (mut fake, mut shard) = ready(Encoding::Etf, true).await;
    fake.send(Opcode::Heartbeat, json!(null));
    let answer = tokio::select! {
        beat = fake.frame(Opcode::Heartbeat) => beat,
        event = shard.next_event() => panic!("unexpected {event:?}"),
    };
    assert_eq!(answer.d, json!(1));
}

#[tokio::test(start_paused = true)]
async fn missed_ack_resumes_and_loses_or_repeats_no_event() {
    for encoding in [Encoding::Json, Encoding::Etf] {
        let (mut fake, mut shard) = ready(encoding, true).await;
        fake.dispatch("MESSAGE_CREATE", message(10, "before"));
        assert_eq!(next_dispatch(&mut shard).await.seq, Some(2));
        fake.set_acking(false);
        // Run the shard until it gives up on the connection.
        let event = shard.next_event().await.unwrap();
        let ShardEvent::Reconnecting { resume: true, reason, .. } = event else { panic!("{event:?}") };
        assert!(reason.contains("ack"), "{reason}");
        let seen = seen_until_close(&mut fake).await;
        assert!(seen.contains(&Seen::ClosedByClient(Some(4000))), "{seen:?}");
        // Events that happen while the client is away are replayed on resume.
        fake.set_acking(true);
        fake.dispatch("MESSAGE_CREATE", message(11, "while away 1"));
        fake.dispatch("MESSAGE_CREATE", message(12, "while away 2"));
        let (got, _) = dispatches(&mut shard, 3).await;
        let names: Vec<_> = got.iter().map(|d| (d.name.as_str(), d.seq.unwrap())).collect();
        assert_eq!(names, [("MESSAGE_CREATE", 3), ("MESSAGE_CREATE", 4), ("RESUMED", 5)]);
        fake.dispatch("MESSAGE_CREATE", message(13, "after"));
        assert_eq!(next_dispatch(&mut shard).await.seq, Some(6));

        let seen = fake.drain();
        let resume_path = seen.iter().find_map(|s| match s {
            Seen::Connected { path, .. } => Some(path.clone()),
            _ => None,
        });
        assert_eq!(resume_path.as_deref(), Some("/resume"));
        let resume = seen
            .iter()
            .find_map(|s| match s {
                Seen::Frame(f) if f.op == 6 => Some(f.clone()),
                _ => None,
            })
            .expect("a resume was sent");
        assert_eq!(resume.d["seq"], json!(2));
        assert_eq!(resume.d["session_id"].as_str(), shard.session_id());
    }
}

#[tokio::test(start_paused = true)]
async fn reconnect_request_resumes_at_the_resume_url() {
    let (mut fake, mut shard) = ready(Encoding::Etf, true).await;
    fake.send(Opcode::Reconnect, json!(null));
    let event = shard.next_event().await.unwrap();
    assert!(
        matches!(event, ShardEvent::Reconnecting { resume: true, delay: Duration::ZERO, .. }),
        "{event:?}"
    );
    let seen = seen_until_close(&mut fake).await;
    assert!(seen.contains(&Seen::ClosedByClient(Some(4000))), "{seen:?}");
    fake.dispatch("MESSAGE_DELETE", json!({"id": "5", "channel_id": "6"}));
    let (got, others) = dispatches(&mut shard, 2).await;
    assert!(others.is_empty(), "{others:?}");
    assert_eq!(got[0].name, "MESSAGE_DELETE");
    assert_eq!(got[1].name, "RESUMED");
    let Seen::Connected { path, .. } = fake.seen().await else { panic!("no new connection") };
    assert_eq!(path, "/resume");
}

#[tokio::test(start_paused = true)]
async fn resumable_invalid_session_resumes() {
    let (mut fake, mut shard) = ready(Encoding::Json, true).await;
    let session = shard.session_id().unwrap().to_owned();
    fake.send(Opcode::InvalidSession, json!(true));
    let (got, others) = dispatches(&mut shard, 1).await;
    assert_eq!(got[0].name, "RESUMED");
    assert_eq!(others[0], ShardEvent::InvalidSession { resumable: true });
    assert_eq!(shard.session_id(), Some(session.as_str()));
    let resume = fake.frame(Opcode::Resume).await;
    assert_eq!(resume.d["session_id"], json!(session));
}

#[tokio::test(start_paused = true)]
async fn invalid_session_identifies_again_after_one_to_five_seconds() {
    let mut fake = FakeGateway::start().await;
    let config = Config::builder("t")
        .gateway_url(fake.url())
        .encoding(Encoding::Etf)
        .identify_interval(Duration::ZERO)
        .seed(9)
        .build();
    let mut shard = Shard::new(config);
    assert_eq!(next_dispatch(&mut shard).await.name, "READY");
    let first_session = shard.session_id().unwrap().to_owned();
    fake.frame(Opcode::Identify).await;
    fake.send(Opcode::InvalidSession, json!(false));
    let sent_at = Instant::now();
    let (got, others) = dispatches(&mut shard, 1).await;
    assert_eq!(others[0], ShardEvent::InvalidSession { resumable: false });
    assert!(matches!(others[1], ShardEvent::Reconnecting { resume: false, .. }), "{others:?}");
    assert_eq!(got[0].name, "READY");
    assert_eq!(got[0].seq, Some(1), "a new session counts from 1");
    // The paused clock also jumps to heartbeat deadlines while frames are on loopback, so only the
    // lower bound is observable here; the 1-5 s window itself is pinned by the machine's tests.
    let waited = Instant::now() - sent_at;
    assert!(waited >= Duration::from_secs(1), "{waited:?}");
    assert_ne!(shard.session_id(), Some(first_session.as_str()));
    // The new session was identified on a new connection to the gateway URL, not the resume URL.
    let seen = fake.drain();
    let connected: Vec<&str> = seen
        .iter()
        .filter_map(|s| if let Seen::Connected { path, .. } = s { Some(path.as_str()) } else { None })
        .collect();
    assert_eq!(connected, ["/"], "{seen:?}");
    assert!(seen.iter().any(|s| matches!(s, Seen::Frame(f) if f.opcode() == Some(Opcode::Identify))));
}

#[tokio::test(start_paused = true)]
async fn dropped_socket_resumes() {
    let (mut fake, mut shard) = ready(Encoding::Json, true).await;
    fake.drop_connection();
    fake.dispatch(
        "MESSAGE_REACTION_ADD",
        json!({
            "user_id": "1", "channel_id": "2", "message_id": "3", "emoji": {"id": null, "name": "👍"}
        }),
    );
    let (got, others) = dispatches(&mut shard, 2).await;
    let ShardEvent::Reconnecting { resume: true, attempt: 1, reason, .. } = &others[0] else {
        panic!("{others:?}")
    };
    assert!(reason.contains("connection lost"), "{reason}");
    let Event::ReactionAdd(reaction) = got[0].event().unwrap() else { panic!("{got:?}") };
    assert_eq!(reaction.emoji.name.as_deref(), Some("👍"));
    assert_eq!(got[1].name, "RESUMED");
    fake.frame(Opcode::Resume).await;
}

#[tokio::test(start_paused = true)]
async fn fatal_close_codes_stop_with_a_clear_error() {
    for code in [4004, 4010, 4011, 4012, 4013, 4014] {
        let (mut fake, mut shard) = ready(Encoding::Json, true).await;
        fake.close(code);
        let error = match shard.next_event().await {
            Ok(event) => panic!("no event and no reconnect after a fatal close: {event:?}"),
            Err(error) => error,
        };
        let Error::FatalClose { code: got, reason } = &error else { panic!("{error:?}") };
        assert_eq!(*got, code);
        assert!(!reason.is_empty());
        assert!(error.to_string().contains(&code.to_string()));
        assert_eq!(shard.state(), ShardState::FatallyClosed { code });
        assert!(matches!(shard.next_event().await, Err(Error::Closed)));
        tokio::time::sleep(Duration::from_secs(600)).await;
        assert!(!fake.drain().iter().any(|s| matches!(s, Seen::Connected { .. })), "never reconnects");
    }
}

#[tokio::test(start_paused = true)]
async fn refused_connections_back_off() {
    // A port with nothing listening.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let config = Config::builder("t").gateway_url(format!("ws://127.0.0.1:{port}")).seed(1).build();
    let mut shard = Shard::new(config);
    let mut delays = Vec::new();
    for attempt in 1..=4 {
        match shard.next_event().await.unwrap() {
            ShardEvent::Reconnecting { resume: false, attempt: got, delay, reason } => {
                assert_eq!(got, attempt);
                assert!(reason.contains("connecting failed"), "{reason}");
                delays.push(delay.as_secs());
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(delays, [0, 1, 2, 4]);
    assert_eq!(shard.state(), ShardState::Disconnected { attempts: 4 });
}

#[tokio::test(start_paused = true)]
async fn unknown_events_and_partial_updates_pass_through() {
    let (fake, mut shard) = ready(Encoding::Etf, true).await;
    fake.dispatch("SOMETHING_NEW", json!({"x": [1, 2]}));
    fake.dispatch("MESSAGE_UPDATE", json!({"id": "7", "channel_id": "8", "embeds": []}));
    let (got, _) = dispatches(&mut shard, 2).await;
    assert_eq!(
        got[0].event().unwrap(),
        Event::Unknown { name: "SOMETHING_NEW".into(), data: json!({"x": [1, 2]}) }
    );
    let Event::MessageUpdate(update) = got[1].event().unwrap() else { panic!("{got:?}") };
    assert!(!update.is_complete());
    assert_eq!(update.content, None);
    assert_eq!(update.embeds, Some(vec![]));
}

#[tokio::test(start_paused = true)]
async fn closed_shard_stops() {
    let (mut fake, mut shard) = ready(Encoding::Json, false).await;
    shard.close().await;
    assert!(matches!(shard.next_event().await, Err(Error::Closed)));
    assert!(matches!(shard.send(&GatewayPayload::heartbeat(None)).await, Err(Error::NotConnected)));
    loop {
        if let Seen::ClosedByClient(code) = fake.seen().await {
            assert_eq!(code, Some(1000));
            break;
        }
    }
}

/// The "done means": a long session through every scripted fault delivers each dispatch
/// exactly once, in order.
#[tokio::test(start_paused = true)]
async fn long_session_through_every_fault_delivers_each_dispatch_once_in_order() {
    for encoding in [Encoding::Json, Encoding::Etf] {
        let (fake, mut shard) = ready(encoding, true).await;
        fake.set_split_frames(true);
        let mut expected = Vec::new();
        let mut delivered = Vec::new();
        let mut next_id = 1_000u64;
        let mut send_batch = |fake: &FakeGateway, expected: &mut Vec<u64>, n: usize| {
            for _ in 0..n {
                next_id += 1;
                fake.dispatch("MESSAGE_CREATE", message(next_id, "m"));
                expected.push(next_id);
            }
        };
        let faults: [&dyn Fn(&FakeGateway); 5] = [
            &|f| f.send(Opcode::Reconnect, json!(null)),
            &|f| f.drop_connection(),
            &|f| f.send(Opcode::InvalidSession, json!(true)),
            &|f| f.set_acking(false),
            &|f| f.drop_connection(),
        ];
        for (round, fault) in faults.iter().enumerate() {
            send_batch(&fake, &mut expected, 3);
            fault(&fake);
            send_batch(&fake, &mut expected, 3);
            // Run until everything sent so far arrived and the session is back.
            while delivered.len() < expected.len() || shard.state() != ShardState::Active {
                match shard.next_event().await.unwrap() {
                    ShardEvent::Dispatch(d) if d.name == "MESSAGE_CREATE" => {
                        let Event::MessageCreate(m) = d.event().unwrap() else { unreachable!() };
                        delivered.push(m.id.get());
                    }
                    ShardEvent::Reconnecting { .. } => fake.set_acking(true),
                    _ => {}
                }
            }
            assert_eq!(delivered, expected, "{encoding:?} round {round}");
        }
        assert_eq!(expected.len(), 30);
    }
}

#[tokio::test(start_paused = true)]
async fn wss_urls_go_through_tls() {
    // A server that accepts and hangs up: the TLS handshake fails, which proves the client took
    // the TLS path with a working crypto provider instead of panicking.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            drop(stream);
        }
    });
    let config = Config::builder("t").gateway_url(format!("wss://127.0.0.1:{port}")).seed(3).build();
    let mut shard = Shard::new(config);
    let event = shard.next_event().await.unwrap();
    let ShardEvent::Reconnecting { resume: false, attempt: 1, reason, .. } = event else {
        panic!("{event:?}")
    };
    assert!(reason.contains("connecting failed"), "{reason}");
    assert!(!reason.contains("not compiled"), "{reason}");
    server.abort();
}

#[tokio::test]
async fn runs_on_the_real_clock_too() {
    let mut fake = FakeGateway::start().await;
    fake.set_heartbeat_interval(40);
    let mut shard = Shard::new(config(&fake, Encoding::Etf, true));
    assert_eq!(next_dispatch(&mut shard).await.name, "READY");
    let beats = async {
        for _ in 0..4 {
            fake.frame(Opcode::Heartbeat).await;
        }
        fake.dispatch("MESSAGE_CREATE", message(77, "real time"));
    };
    tokio::select! {
        () = beats => {}
        event = shard.next_event() => panic!("unexpected {event:?}"),
    }
    let dispatch = next_dispatch(&mut shard).await;
    assert_eq!(dispatch.seq, Some(2));
    assert_eq!(shard.state(), ShardState::Active, "every beat was acked");
}

#[tokio::test(start_paused = true)]
async fn cancelled_calls_lose_nothing() {
    let (fake, mut shard) = ready(Encoding::Etf, true).await;
    let (mut expected, mut delivered, mut cancelled) = (Vec::new(), Vec::new(), 0);
    for round in 0..20u64 {
        for i in 0..3 {
            let id = 1000 + round * 10 + i;
            fake.dispatch("MESSAGE_CREATE", message(id, "m"));
            expected.push(id);
        }
        // Each call is cut off after a few virtual seconds: across 20 rounds that spans several
        // heartbeat intervals, so heartbeats, acks and frames are all interrupted at some point.
        while delivered.len() < expected.len() {
            match tokio::time::timeout(Duration::from_secs(3), shard.next_event()).await {
                Err(_) => cancelled += 1,
                Ok(Ok(ShardEvent::Dispatch(d))) => {
                    let Event::MessageCreate(m) = d.event().unwrap() else { panic!("{d:?}") };
                    delivered.push(m.id.get());
                }
                Ok(other) => panic!("the session stays up: {other:?}"),
            }
        }
        for _ in 0..5 {
            if tokio::time::timeout(Duration::from_secs(3), shard.next_event()).await.is_err() {
                cancelled += 1;
            } else {
                panic!("nothing else was sent");
            }
        }
    }
    assert_eq!(delivered, expected);
    assert!(cancelled >= 100, "{cancelled}");
    assert_eq!(shard.state(), ShardState::Active);
}

#[tokio::test(start_paused = true)]
async fn commands_reach_the_gateway_in_either_encoding() {
    for encoding in [Encoding::Json, Encoding::Etf] {
        let (mut fake, mut shard) = ready(encoding, true).await;
        let request = GatewayPayload::request_guild_members(Snowflake::new(1_100_000_000_000_000_003), "", 0);
        shard.send(&request).await.unwrap();
        shard.send(&GatewayPayload::presence_update("dnd", false)).await.unwrap();
        let got = fake.frame(Opcode::RequestGuildMembers).await;
        assert_eq!(got.d["guild_id"], json!("1100000000000000003"));
        assert_eq!(fake.frame(Opcode::PresenceUpdate).await.d["status"], json!("dnd"));
    }
}
