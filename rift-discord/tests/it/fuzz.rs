//! Property tests of the ETF decoder: hostile bytes never panic, every value round-trips, and a
//! damaged encoding is refused or decoded, never a crash. A long run:
//! `PROPTEST_CASES=100000 cargo test -p rift-discord --test it fuzz`.

use proptest::prelude::*;
use rift_discord::{Error, etf};
use serde_json::Value;

/// JSON values the encoder supports: everything but non-finite floats (JSON has none).
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..8)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

#[track_caller]
fn refused_cleanly(result: Result<Value, Error>) {
    if let Err(error) = result {
        assert!(matches!(error, Error::EtfDecode { .. }), "{error:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary bytes after the version byte: a value or an `EtfDecode` error, never a panic.
    #[test]
    fn arbitrary_bytes_never_panic(tail in prop::collection::vec(any::<u8>(), 0..256)) {
        let mut bytes = vec![131];
        bytes.extend(tail);
        refused_cleanly(etf::decode(&bytes));
    }

    /// Whatever the encoder writes decodes back to the same value.
    #[test]
    fn every_value_round_trips(value in any_json()) {
        let bytes = etf::encode(&value).expect("encodable");
        prop_assert_eq!(etf::decode(&bytes).expect("decodable"), value);
    }

    /// A truncated encoding is always an error; a byte changed anywhere is refused or decoded.
    #[test]
    fn damaged_encodings_are_refused_cleanly(
        value in any_json(),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let bytes = etf::encode(&value).expect("encodable");
        let truncated = &bytes[..cut.index(bytes.len())];
        let decoded = etf::decode(truncated);
        prop_assert!(matches!(decoded, Err(Error::EtfDecode { .. })), "{:?}", decoded);
        let mut changed = bytes.clone();
        let at = flip.index(changed.len());
        changed[at] = byte;
        refused_cleanly(etf::decode(&changed));
    }
}
