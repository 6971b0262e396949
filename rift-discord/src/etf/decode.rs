//! ETF bytes to [`serde_json::Value`].

use serde_json::{Map, Number, Value};

use super::*;

/// Decodes one ETF term (with its leading version byte 131) into a JSON value.
///
/// See the [module docs](super) for the mapping. The whole input must be one term.
///
/// # Errors
///
/// [`Error::EtfDecode`] when the input is not a complete, supported term: a wrong version byte, an
/// unknown tag, a length past the end of the input, a binary that is not UTF-8, a big integer wider
/// than 64 bits, an improper list, a non-finite float, nesting deeper than [`MAX_DEPTH`], or bytes
/// left over after the term.
pub fn decode(bytes: &[u8]) -> Result<Value, Error> {
    let mut decoder = Decoder { input: bytes, pos: 0 };
    let version = decoder.u8()?;
    if version != VERSION {
        return Err(Error::EtfDecode {
            offset: 0,
            reason: format!("version byte is {version}, expected 131"),
        });
    }
    let value = decoder.term(0)?;
    if decoder.pos != bytes.len() {
        return Err(decoder.error(format!("{} trailing bytes after the term", bytes.len() - decoder.pos)));
    }
    Ok(value)
}

struct Decoder<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    fn error(&self, reason: impl Into<String>) -> Error {
        Error::EtfDecode { offset: self.pos, reason: reason.into() }
    }

    fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }

    /// Takes `len` bytes, checking the claim against the remaining input first.
    fn take(&mut self, len: usize) -> Result<&'a [u8], Error> {
        if len > self.remaining() {
            return Err(self.error(format!("length {len} exceeds the {} remaining bytes", self.remaining())));
        }
        let bytes = &self.input[self.pos..self.pos + len];
        self.pos += len;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<usize, Error> {
        Ok(usize::from(u16::from_be_bytes(self.array()?)))
    }

    fn u32(&mut self) -> Result<usize, Error> {
        usize::try_from(u32::from_be_bytes(self.array()?))
            .map_err(|_| self.error("length does not fit usize"))
    }

    /// Checks that `count` items of at least `min_size` bytes each can still follow.
    fn check_count(&self, count: usize, min_size: usize) -> Result<(), Error> {
        if count.saturating_mul(min_size) > self.remaining() {
            return Err(
                self.error(format!("{count} elements claimed but only {} bytes remain", self.remaining()))
            );
        }
        Ok(())
    }

    fn term(&mut self, depth: usize) -> Result<Value, Error> {
        let tag_pos = self.pos;
        let tag = self.u8()?;
        match tag {
            SMALL_INTEGER_EXT => Ok(Value::from(self.u8()?)),
            INTEGER_EXT => Ok(Value::from(i32::from_be_bytes(self.array()?))),
            SMALL_BIG_EXT => {
                let len = usize::from(self.u8()?);
                self.big(len)
            }
            LARGE_BIG_EXT => {
                let len = self.u32()?;
                self.big(len)
            }
            NEW_FLOAT_EXT => {
                let f = f64::from_be_bytes(self.array()?);
                self.float(f)
            }
            FLOAT_EXT => {
                let text = self.take(31)?;
                let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
                let parsed =
                    std::str::from_utf8(&text[..end]).ok().and_then(|t| t.trim().parse::<f64>().ok());
                match parsed {
                    Some(f) => self.float(f),
                    None => Err(self.error("FLOAT_EXT is not a number")),
                }
            }
            ATOM_EXT | SMALL_ATOM_EXT | ATOM_UTF8_EXT | SMALL_ATOM_UTF8_EXT => {
                let atom = self.atom(tag)?;
                Ok(match atom.as_str() {
                    "nil" => Value::Null,
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    _ => Value::String(atom),
                })
            }
            BINARY_EXT => {
                let len = self.u32()?;
                Ok(Value::String(self.utf8(len)?))
            }
            STRING_EXT => {
                let len = self.u16()?;
                Ok(Value::Array(self.take(len)?.iter().map(|&b| Value::from(b)).collect()))
            }
            NIL_EXT => Ok(Value::Array(Vec::new())),
            LIST_EXT => {
                let len = self.u32()?;
                // Each element takes at least one byte, and so does the tail.
                self.check_count(len, 1)?;
                let items = self.items(len, depth)?;
                match self.u8()? {
                    NIL_EXT => Ok(Value::Array(items)),
                    _ => Err(Error::EtfDecode { offset: self.pos - 1, reason: "improper list".into() }),
                }
            }
            SMALL_TUPLE_EXT => {
                let len = usize::from(self.u8()?);
                self.check_count(len, 1)?;
                Ok(Value::Array(self.items(len, depth)?))
            }
            LARGE_TUPLE_EXT => {
                let len = self.u32()?;
                self.check_count(len, 1)?;
                Ok(Value::Array(self.items(len, depth)?))
            }
            MAP_EXT => {
                let len = self.u32()?;
                // Each pair takes at least two bytes.
                self.check_count(len, 2)?;
                self.nested(depth)?;
                let mut map = Map::new();
                for _ in 0..len {
                    let key = self.key()?;
                    let value = self.term(depth + 1)?;
                    map.insert(key, value);
                }
                Ok(Value::Object(map))
            }
            other => Err(Error::EtfDecode { offset: tag_pos, reason: format!("unsupported tag {other}") }),
        }
    }

    fn nested(&self, depth: usize) -> Result<(), Error> {
        if depth >= MAX_DEPTH {
            return Err(self.error(format!("nesting deeper than {MAX_DEPTH}")));
        }
        Ok(())
    }

    fn items(&mut self, len: usize, depth: usize) -> Result<Vec<Value>, Error> {
        self.nested(depth)?;
        // `len` is already checked against the input; the cap keeps one allocation modest anyway.
        let mut items = Vec::with_capacity(len.min(4096));
        for _ in 0..len {
            items.push(self.term(depth + 1)?);
        }
        Ok(items)
    }

    fn utf8(&mut self, len: usize) -> Result<String, Error> {
        let start = self.pos;
        let bytes = self.take(len)?;
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(text.to_owned()),
            Err(_) => Err(Error::EtfDecode { offset: start, reason: "binary is not valid utf-8".into() }),
        }
    }

    fn atom(&mut self, tag: u8) -> Result<String, Error> {
        let len = match tag {
            SMALL_ATOM_EXT | SMALL_ATOM_UTF8_EXT => usize::from(self.u8()?),
            _ => self.u16()?,
        };
        match tag {
            // Latin-1: every byte is the code point of the same value.
            ATOM_EXT | SMALL_ATOM_EXT => Ok(self.take(len)?.iter().map(|&b| char::from(b)).collect()),
            _ => self.utf8(len),
        }
    }

    /// A map key: binaries and atoms become their text, integers their decimal form.
    fn key(&mut self) -> Result<String, Error> {
        let tag_pos = self.pos;
        let tag = self.u8()?;
        match tag {
            BINARY_EXT => {
                let len = self.u32()?;
                self.utf8(len)
            }
            ATOM_EXT | SMALL_ATOM_EXT | ATOM_UTF8_EXT | SMALL_ATOM_UTF8_EXT => self.atom(tag),
            SMALL_INTEGER_EXT => Ok(self.u8()?.to_string()),
            INTEGER_EXT => Ok(i32::from_be_bytes(self.array()?).to_string()),
            SMALL_BIG_EXT => {
                let len = usize::from(self.u8()?);
                Ok(self.big(len)?.to_string())
            }
            other => {
                Err(Error::EtfDecode { offset: tag_pos, reason: format!("unsupported map key tag {other}") })
            }
        }
    }

    /// A big integer of `len` little-endian digits after a sign byte; it must fit `i64` or `u64`.
    fn big(&mut self, len: usize) -> Result<Value, Error> {
        let sign = self.u8()?;
        let start = self.pos;
        let digits = self.take(len)?;
        let significant = digits.iter().rposition(|&d| d != 0).map_or(0, |i| i + 1);
        if significant > 8 {
            return Err(Error::EtfDecode {
                offset: start,
                reason: "big integer does not fit 64 bits".into(),
            });
        }
        let magnitude = digits[..significant].iter().rev().fold(0u64, |acc, &d| (acc << 8) | u64::from(d));
        match sign {
            0 => Ok(Value::from(magnitude)),
            1 => {
                let negative = 0i64.checked_sub_unsigned(magnitude).ok_or_else(|| Error::EtfDecode {
                    offset: start,
                    reason: "negative big integer does not fit i64".into(),
                })?;
                Ok(Value::from(negative))
            }
            other => Err(Error::EtfDecode {
                offset: start - 1,
                reason: format!("big integer sign byte is {other}"),
            }),
        }
    }

    fn float(&self, f: f64) -> Result<Value, Error> {
        Number::from_f64(f).map(Value::Number).ok_or_else(|| self.error("float is not finite"))
    }
}
