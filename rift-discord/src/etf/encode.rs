//! [`serde_json::Value`] to ETF bytes, written the way Discord's gateway expects them.

use serde_json::{Number, Value};

use super::*;

/// Encodes a JSON value as one ETF term, with the leading version byte 131.
///
/// See the [module docs](super) for the mapping.
///
/// # Errors
///
/// [`Error::EtfEncode`] when the value nests deeper than [`MAX_DEPTH`] or a string is longer than
/// `u32::MAX` bytes.
pub fn encode(value: &Value) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(64);
    out.push(VERSION);
    write(&mut out, value, 0)?;
    Ok(out)
}

fn write(out: &mut Vec<u8>, value: &Value, depth: usize) -> Result<(), Error> {
    match value {
        Value::Null => atom(out, "nil"),
        Value::Bool(true) => atom(out, "true"),
        Value::Bool(false) => atom(out, "false"),
        Value::Number(number) => write_number(out, number),
        Value::String(text) => binary(out, text)?,
        Value::Array(items) if items.is_empty() => out.push(NIL_EXT),
        Value::Array(items) => {
            nested(depth)?;
            out.push(LIST_EXT);
            out.extend_from_slice(&length(items.len())?.to_be_bytes());
            for item in items {
                write(out, item, depth + 1)?;
            }
            out.push(NIL_EXT);
        }
        Value::Object(map) => {
            nested(depth)?;
            out.push(MAP_EXT);
            out.extend_from_slice(&length(map.len())?.to_be_bytes());
            for (key, item) in map {
                binary(out, key)?;
                write(out, item, depth + 1)?;
            }
        }
    }
    Ok(())
}

fn nested(depth: usize) -> Result<(), Error> {
    if depth >= MAX_DEPTH {
        return Err(Error::EtfEncode(format!("nesting deeper than {MAX_DEPTH}")));
    }
    Ok(())
}

fn length(len: usize) -> Result<u32, Error> {
    u32::try_from(len).map_err(|_| Error::EtfEncode(format!("length {len} does not fit 32 bits")))
}

fn atom(out: &mut Vec<u8>, name: &str) {
    out.push(SMALL_ATOM_UTF8_EXT);
    // Only the three fixed atoms are written, all shorter than 256 bytes.
    out.push(name.len() as u8);
    out.extend_from_slice(name.as_bytes());
}

fn binary(out: &mut Vec<u8>, text: &str) -> Result<(), Error> {
    out.push(BINARY_EXT);
    out.extend_from_slice(&length(text.len())?.to_be_bytes());
    out.extend_from_slice(text.as_bytes());
    Ok(())
}

fn write_number(out: &mut Vec<u8>, number: &Number) {
    if let Some(n) = number.as_u64() {
        if let Ok(small) = u8::try_from(n) {
            out.extend_from_slice(&[SMALL_INTEGER_EXT, small]);
        } else if let Ok(int) = i32::try_from(n) {
            out.push(INTEGER_EXT);
            out.extend_from_slice(&int.to_be_bytes());
        } else {
            big(out, 0, n);
        }
    } else if let Some(n) = number.as_i64() {
        if let Ok(int) = i32::try_from(n) {
            out.push(INTEGER_EXT);
            out.extend_from_slice(&int.to_be_bytes());
        } else {
            big(out, 1, n.unsigned_abs());
        }
    } else {
        // Without serde_json's `arbitrary_precision`, a number that is not an integer is a finite f64.
        let f = number.as_f64().unwrap_or(0.0);
        out.push(NEW_FLOAT_EXT);
        out.extend_from_slice(&f.to_be_bytes());
    }
}

fn big(out: &mut Vec<u8>, sign: u8, magnitude: u64) {
    let bytes = magnitude.to_le_bytes();
    let len = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    out.extend_from_slice(&[SMALL_BIG_EXT, len as u8, sign]);
    out.extend_from_slice(&bytes[..len]);
}
