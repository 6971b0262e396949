//! The ETF codec against vectors from real Erlang `term_to_binary`, round trips, and hostile input.

use rift_discord::{Error, etf};
use serde_json::{Value, json};

/// Made by `tests/vectors/make_vectors.escript` (see its header for the columns).
const VECTORS: &str = include_str!("../vectors/etf_vectors.tsv");

struct Vector {
    name: &'static str,
    canonical: bool,
    bytes: Vec<u8>,
    expected: Value,
}

fn hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex length");
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

fn vectors() -> Vec<Vector> {
    VECTORS
        .lines()
        .map(|line| {
            let mut cols = line.splitn(4, '\t');
            let (name, canonical, bytes, json) =
                (cols.next().unwrap(), cols.next().unwrap(), cols.next().unwrap(), cols.next().unwrap());
            Vector {
                name,
                canonical: canonical == "yes",
                bytes: hex(bytes),
                expected: serde_json::from_str(json).unwrap_or_else(|e| panic!("{name}: bad json: {e}")),
            }
        })
        .collect()
}

#[test]
fn vector_file_covers_every_supported_tag() {
    let all = vectors();
    assert!(all.len() >= 50, "{} vectors", all.len());
    let tags: std::collections::BTreeSet<u8> = all.iter().map(|v| v.bytes[1]).collect();
    // SMALL_INTEGER, INTEGER, SMALL_BIG, NEW_FLOAT, FLOAT, ATOM, SMALL_ATOM_UTF8, ATOM_UTF8? (no: OTP
    // writes short atoms small), BINARY, STRING, LIST, NIL, MAP, SMALL_TUPLE.
    for tag in [97, 98, 110, 70, 99, 100, 119, 109, 107, 108, 106, 116, 104] {
        assert!(tags.contains(&tag), "no vector starts with tag {tag}");
    }
}

#[test]
fn erlang_vectors_decode_to_expected_json() {
    for v in vectors() {
        let decoded = etf::decode(&v.bytes).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(decoded, v.expected, "{}", v.name);
    }
}

#[test]
fn canonical_vectors_encode_byte_for_byte() {
    let mut checked = 0;
    for v in vectors().into_iter().filter(|v| v.canonical) {
        // From the decoded value, so map key order is the one Erlang wrote.
        let decoded = etf::decode(&v.bytes).unwrap();
        assert_eq!(etf::encode(&decoded).unwrap(), v.bytes, "{}", v.name);
        checked += 1;
    }
    assert!(checked >= 30, "{checked} canonical vectors");
}

#[test]
fn every_vector_round_trips_through_the_encoder() {
    for v in vectors() {
        let encoded = etf::encode(&v.expected).unwrap();
        assert_eq!(etf::decode(&encoded).unwrap(), v.expected, "{}", v.name);
    }
}

#[test]
fn typed_values_round_trip_through_serde() {
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Frame {
        op: u8,
        s: Option<u64>,
        d: Vec<(String, i64)>,
    }
    let frame = Frame { op: 0, s: Some(u64::MAX), d: vec![("a".into(), i64::MIN), ("b".into(), 1)] };
    let bytes = etf::to_vec(&frame).unwrap();
    assert_eq!(etf::from_slice::<Frame>(&bytes).unwrap(), frame);
}

#[track_caller]
fn decode_err(bytes: &[u8]) -> String {
    match etf::decode(bytes) {
        Err(Error::EtfDecode { reason, .. }) => reason,
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[test]
fn malformed_terms_are_errors() {
    assert!(decode_err(&[]).contains("exceeds"));
    assert!(decode_err(&[130, 97, 1]).contains("version"));
    assert!(decode_err(&[131]).contains("exceeds"));
    assert!(decode_err(&[131, 97, 1, 0]).contains("trailing"));
    assert!(decode_err(&[131, 80, 0, 0, 0, 1]).contains("unsupported tag 80"));
    assert!(decode_err(&[131, 109, 0, 0, 0, 2, 0xc3, 0x28]).contains("utf-8"));
    assert!(decode_err(&[131, 108, 0, 0, 0, 1, 97, 1, 97, 2]).contains("improper"));
    assert!(decode_err(&[131, 116, 0, 0, 0, 1, 106, 97, 1]).contains("map key"));
    // 2^64 does not fit.
    assert!(decode_err(&[131, 110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]).contains("64 bits"));
    // -(2^63 + 1) does not fit i64.
    assert!(decode_err(&[131, 110, 8, 1, 1, 0, 0, 0, 0, 0, 0, 0x80]).contains("i64"));
    assert!(decode_err(&[131, 110, 1, 2, 1]).contains("sign"));
    // NaN as a NEW_FLOAT_EXT.
    assert!(decode_err(&[131, 70, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0]).contains("finite"));
}

#[test]
fn wide_big_integers_with_zero_high_digits_decode() {
    // LARGE_BIG_EXT, 12 digits, value 5: leading zero digits do not count against 64 bits.
    let mut bytes = vec![131, 111, 0, 0, 0, 12, 0, 5];
    bytes.extend_from_slice(&[0; 11]);
    assert_eq!(etf::decode(&bytes).unwrap(), json!(5));
    assert_eq!(etf::decode(&[131, 110, 0, 1]).unwrap(), json!(0));
    assert_eq!(etf::decode(&[131, 110, 8, 1, 0, 0, 0, 0, 0, 0, 0, 0x80]).unwrap(), json!(i64::MIN));
}

#[test]
fn huge_claimed_lengths_fail_without_allocating() {
    // Each claims u32::MAX elements or bytes with almost no input behind it; a decoder that
    // allocated first would ask for tens of gigabytes.
    for tag in [108, 109, 116, 111, 105] {
        let bytes = [131, tag, 0xff, 0xff, 0xff, 0xff, 97, 1];
        assert!(decode_err(&bytes).contains("remain"), "tag {tag}");
    }
    assert!(decode_err(&[131, 107, 0xff, 0xff, 1]).contains("exceeds"));
    assert!(decode_err(&[131, 100, 0xff, 0xff, 1]).contains("exceeds"));
}

fn nested_lists(depth: usize) -> Vec<u8> {
    let mut bytes = vec![131];
    for _ in 0..depth {
        bytes.extend_from_slice(&[108, 0, 0, 0, 1]);
    }
    bytes.push(106);
    bytes.extend(std::iter::repeat_n(106, depth));
    bytes
}

#[test]
fn nesting_is_bounded() {
    assert!(etf::decode(&nested_lists(etf::MAX_DEPTH)).is_ok());
    assert!(decode_err(&nested_lists(etf::MAX_DEPTH + 1)).contains("nesting"));
    // Far deeper than any stack would take if the decoder recursed without a bound.
    assert!(decode_err(&nested_lists(1_000_000)).contains("nesting"));

    let mut value = json!(1);
    for _ in 0..etf::MAX_DEPTH {
        value = json!({ "a": value });
    }
    assert!(etf::encode(&value).is_ok());
    assert!(matches!(etf::encode(&json!([value])), Err(Error::EtfEncode(_))));
}

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Decoding must return, not panic or exhaust memory; whatever decodes must re-encode and decode to
/// the same value.
fn check_hostile(bytes: &[u8]) {
    if let Ok(value) = etf::decode(bytes) {
        let again = etf::encode(&value).expect("a decoded value encodes");
        assert_eq!(etf::decode(&again).unwrap(), value);
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // Tags the decoder knows, so random input gets past the first byte often.
    let tags = [70, 97, 98, 99, 100, 104, 105, 106, 107, 108, 109, 110, 111, 115, 116, 118, 119];
    let mut decoded = 0;
    for _ in 0..200_000 {
        let len = rng.below(48);
        let mut bytes = vec![131];
        for _ in 0..len {
            let byte = if rng.below(3) == 0 { tags[rng.below(tags.len())] } else { rng.next() as u8 };
            bytes.push(byte);
        }
        if etf::decode(&bytes).is_ok() {
            decoded += 1;
        }
        check_hostile(&bytes);
    }
    // The generator reaches valid terms too, not only the first error.
    assert!(decoded > 200, "{decoded} random inputs decoded");
}

#[test]
fn mutated_vectors_never_panic() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let vectors = vectors();
    for round in 0..100_000 {
        let mut bytes = vectors[round % vectors.len()].bytes.clone();
        match rng.below(4) {
            0 => {
                let at = rng.below(bytes.len());
                bytes[at] = rng.next() as u8;
            }
            1 => bytes.truncate(rng.below(bytes.len())),
            2 => {
                let at = rng.below(bytes.len() + 1);
                bytes.insert(at, rng.next() as u8);
            }
            _ => {
                // A length field overwritten with a huge claim.
                let at = rng.below(bytes.len());
                for b in bytes.iter_mut().skip(at).take(4) {
                    *b = 0xff;
                }
            }
        }
        check_hostile(&bytes);
    }
}

#[test]
fn every_truncation_of_a_vector_is_an_error() {
    for v in vectors() {
        for cut in 0..v.bytes.len() {
            assert!(etf::decode(&v.bytes[..cut]).is_err(), "{} cut at {cut}", v.name);
        }
    }
}
