//! Throughput of the gateway's wire formats: ETF decode (against JSON parse of the same payload)
//! and zlib-stream inflate.
//!
//! `cargo bench -p rift-discord --bench codec`

use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use flate2::{Compress, Compression, FlushCompress};
use rift_discord::{Inflater, etf};
use serde_json::{Value, json};

/// A GUILD_CREATE of a mid-sized guild: 60 channels, 40 roles, 1000 members.
fn guild_create() -> Value {
    let channels: Vec<Value> = (0..60u64)
        .map(|i| {
            json!({"id": 1_100_000_000_000_000_000u64 + i, "type": 0, "name": format!("channel-{i}"),
                         "position": i, "topic": "a topic that is not very long", "nsfw": false,
                         "permission_overwrites": [{"id": 1_100_000_000_000_000_900u64, "type": 0,
                                                    "allow": "0", "deny": "1024"}]})
        })
        .collect();
    let roles: Vec<Value> = (0..40u64)
        .map(|i| {
            json!({"id": 1_100_000_000_000_001_000u64 + i, "name": format!("role-{i}"),
                         "permissions": "1071698660929", "position": i, "color": 3_447_003})
        })
        .collect();
    let members: Vec<Value> = (0..1000u64)
        .map(|i| {
            json!({"user": {"id": 1_100_000_000_000_100_000u64 + i, "username": format!("user{i}"),
                                 "global_name": null, "avatar": "8342729096ea3675442027381ff50dfe"},
                         "roles": [1_100_000_000_000_001_001u64, 1_100_000_000_000_001_002u64],
                         "joined_at": "2023-01-01T00:00:00.000000+00:00", "nick": null})
        })
        .collect();
    json!({"op": 0, "s": 2, "t": "GUILD_CREATE",
           "d": {"id": 1_100_000_000_000_000_003u64, "name": "Rift", "channels": channels, "roles": roles,
                 "members": members, "member_count": 1000}})
}

fn decode(c: &mut Criterion) {
    let value = guild_create();
    let etf_bytes = etf::encode(&value).unwrap();
    let json_bytes = serde_json::to_vec(&value).unwrap();
    let mut group = c.benchmark_group("decode_guild_create");
    group.throughput(Throughput::Bytes(etf_bytes.len() as u64));
    group.bench_function(BenchmarkId::new("etf", etf_bytes.len()), |b| {
        b.iter(|| etf::decode(&etf_bytes).unwrap())
    });
    group.throughput(Throughput::Bytes(json_bytes.len() as u64));
    group.bench_function(BenchmarkId::new("json", json_bytes.len()), |b| {
        b.iter(|| serde_json::from_slice::<Value>(&json_bytes).unwrap())
    });
    group.finish();

    let mut group = c.benchmark_group("encode_guild_create");
    group.throughput(Throughput::Bytes(etf_bytes.len() as u64));
    group.bench_function("etf", |b| b.iter(|| etf::encode(&value).unwrap()));
    group.finish();
}

/// One connection's worth of frames: 200 MESSAGE_CREATE payloads, sync-flushed like the gateway.
fn stream() -> (Vec<Vec<u8>>, u64) {
    let mut compress = Compress::new(Compression::default(), true);
    let mut inflated = 0;
    let frames = (0..200u64)
        .map(|i| {
            let payload = serde_json::to_vec(&json!({"op": 0, "s": i + 1, "t": "MESSAGE_CREATE", "d": {
                "id": (1_100_000_000_000_000_000u64 + i).to_string(), "channel_id": "1100000000000000002",
                "content": format!("message number {i} with some ordinary chat text in it"),
                "author": {"id": "1100000000000000004", "username": "alice"}, "attachments": [], "embeds": []}}))
            .unwrap();
            inflated += payload.len() as u64;
            let mut out = Vec::with_capacity(payload.len() + 64);
            let mut input = payload.as_slice();
            loop {
                if out.len() == out.capacity() {
                    out.reserve(1024);
                }
                let before = compress.total_in();
                compress.compress_vec(input, &mut out, FlushCompress::Sync).unwrap();
                input = &input[(compress.total_in() - before) as usize..];
                if input.is_empty() && out.len() < out.capacity() && out.ends_with(&[0, 0, 0xff, 0xff]) {
                    break out;
                }
            }
        })
        .collect();
    (frames, inflated)
}

fn inflate(c: &mut Criterion) {
    let (frames, inflated) = stream();
    let mut group = c.benchmark_group("inflate_zlib_stream");
    group.throughput(Throughput::Bytes(inflated));
    group.bench_function("200_messages", |b| {
        b.iter(|| {
            let mut inflater = Inflater::new();
            let mut total = 0;
            for frame in &frames {
                total += inflater.push(frame).unwrap().map_or(0, <[u8]>::len);
            }
            assert_eq!(total as u64, inflated);
        })
    });
    group.finish();
}

#[allow(missing_docs)] // criterion_group! makes an undocumented pub fn
mod group {
    criterion::criterion_group!(benches, super::decode, super::inflate);
}
criterion_main!(group::benches);
