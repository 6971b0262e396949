//! A small ZIP reader: the central directory (ZIP64 included), stored and deflated entries, CRC
//! checked. Enough for Discord's data packages and zipped exports; every size is bounded before
//! anything is allocated, and a damaged archive is an error, never a panic.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};

/// Entries an archive may list.
const MAX_ENTRIES: u64 = 1_000_000;
/// Bytes the central directory may take.
const MAX_DIRECTORY: u64 = 256 * 1024 * 1024;

/// Why an archive or an entry could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ZipError {
    /// Not a ZIP, or a damaged one.
    #[error("{0}")]
    Corrupt(String),
    /// An entry is larger than the caller accepts.
    #[error("{name} is larger than {limit} bytes")]
    TooLarge { name: String, limit: u64 },
    /// Reading the file failed.
    #[error("cannot read the archive: {0}")]
    Io(#[from] std::io::Error),
}

fn corrupt(message: impl Into<String>) -> ZipError {
    ZipError::Corrupt(message.into())
}

#[derive(Debug, Clone)]
struct Entry {
    name: String,
    method: u16,
    encrypted: bool,
    crc: u32,
    compressed: u64,
    size: u64,
    local_offset: u64,
}

/// An open archive.
pub(crate) struct Zip<R> {
    reader: R,
    len: u64,
    entries: Vec<Entry>,
    /// Lower-cased name to entry, so `Messages/` and `messages/` both match.
    by_name: HashMap<String, usize>,
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

fn read_at<R: Read + Seek>(reader: &mut R, offset: u64, len: usize) -> Result<Vec<u8>, ZipError> {
    reader.seek(SeekFrom::Start(offset))?;
    let mut buf = vec![0; len];
    reader.read_exact(&mut buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => corrupt("the archive is truncated"),
        _ => ZipError::Io(e),
    })?;
    Ok(buf)
}

impl<R: Read + Seek> Zip<R> {
    /// Reads the central directory.
    pub(crate) fn open(mut reader: R) -> Result<Self, ZipError> {
        let len = reader.seek(SeekFrom::End(0))?;
        if len < 22 {
            return Err(corrupt("not a ZIP archive (too short)"));
        }
        // The end record is within the last 22 + 65,535 bytes (its comment is at most that long).
        let tail_len = len.min(22 + 65_535);
        let tail = read_at(&mut reader, len - tail_len, usize::try_from(tail_len).unwrap_or(0))?;
        let end = (0..=tail.len() - 22)
            .rev()
            .find(|&i| tail[i..i + 4] == *b"PK\x05\x06")
            .ok_or_else(|| corrupt("not a ZIP archive (no end of central directory)"))?;
        let end_offset = len - tail_len + end as u64;
        let field = |at| u16_at(&tail, end + at).unwrap_or(0);
        let mut count = u64::from(field(10));
        let mut dir_size = u64::from(u32_at(&tail, end + 12).unwrap_or(0));
        let mut dir_offset = u64::from(u32_at(&tail, end + 16).unwrap_or(0));
        if count == 0xFFFF || dir_size == 0xFFFF_FFFF || dir_offset == 0xFFFF_FFFF {
            // ZIP64: a locator just before the end record points at the ZIP64 end record.
            let locator = end_offset.checked_sub(20).ok_or_else(|| corrupt("a damaged ZIP64 archive"))?;
            let loc = read_at(&mut reader, locator, 20)?;
            if loc[..4] != *b"PK\x06\x07" {
                return Err(corrupt("a damaged ZIP64 archive (no locator)"));
            }
            let record_offset = u64_at(&loc, 8).unwrap_or(u64::MAX);
            if record_offset.checked_add(56).is_none_or(|end| end > len) {
                return Err(corrupt("a damaged ZIP64 archive (end record out of range)"));
            }
            let record = read_at(&mut reader, record_offset, 56)?;
            if record[..4] != *b"PK\x06\x06" {
                return Err(corrupt("a damaged ZIP64 archive (no end record)"));
            }
            count = u64_at(&record, 32).unwrap_or(0);
            dir_size = u64_at(&record, 40).unwrap_or(0);
            dir_offset = u64_at(&record, 48).unwrap_or(0);
        }
        if count > MAX_ENTRIES {
            return Err(corrupt(format!("the archive lists {count} files; at most {MAX_ENTRIES} are read")));
        }
        if dir_size > MAX_DIRECTORY || dir_offset.checked_add(dir_size).is_none_or(|end| end > len) {
            return Err(corrupt("a damaged ZIP archive (central directory out of range)"));
        }
        let dir = read_at(&mut reader, dir_offset, usize::try_from(dir_size).unwrap_or(0))?;
        let mut entries = Vec::new();
        let mut at = 0usize;
        for _ in 0..count {
            let entry =
                parse_entry(&dir, &mut at).ok_or_else(|| corrupt("a damaged ZIP central directory"))?;
            entries.push(entry);
        }
        let by_name = entries.iter().enumerate().map(|(i, e)| (e.name.to_lowercase(), i)).collect();
        Ok(Self { reader, len, entries, by_name })
    }

    /// The names of the files in the archive (directories left out).
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.name.as_str()).filter(|n| !n.ends_with('/'))
    }

    /// The contents of `name` (matched without regard to case), `None` when absent.
    ///
    /// # Errors
    /// `TooLarge` when it would exceed `limit` bytes; `Corrupt` when it is damaged or uses what
    /// this reader does not support (encryption, methods other than stored and deflate).
    pub(crate) fn read(&mut self, name: &str, limit: u64) -> Result<Option<Vec<u8>>, ZipError> {
        let Some(&index) = self.by_name.get(&name.to_lowercase()) else { return Ok(None) };
        let entry = self.entries[index].clone();
        if entry.size > limit {
            return Err(ZipError::TooLarge { name: entry.name, limit });
        }
        if entry.encrypted {
            return Err(corrupt(format!("{} is encrypted", entry.name)));
        }
        let header = read_at(&mut self.reader, entry.local_offset, 30)?;
        if header[..4] != *b"PK\x03\x04" {
            return Err(corrupt(format!("{}: damaged local header", entry.name)));
        }
        let skip =
            30 + u64::from(u16_at(&header, 26).unwrap_or(0)) + u64::from(u16_at(&header, 28).unwrap_or(0));
        let start = entry.local_offset + skip;
        if start.checked_add(entry.compressed).is_none_or(|end| end > self.len) {
            return Err(corrupt(format!("{}: the archive is truncated", entry.name)));
        }
        self.reader.seek(SeekFrom::Start(start))?;
        let raw = (&mut self.reader).take(entry.compressed);
        // Read at most one byte more than declared, so a lying size is caught, not obeyed.
        let cap = entry.size.saturating_add(1);
        let mut out = Vec::with_capacity(usize::try_from(entry.size.min(64 * 1024 * 1024)).unwrap_or(0));
        let read = match entry.method {
            0 => raw.take(cap).read_to_end(&mut out),
            8 => flate2::read::DeflateDecoder::new(raw).take(cap).read_to_end(&mut out),
            other => {
                return Err(corrupt(format!("{}: compression method {other} is not supported", entry.name)));
            }
        };
        read.map_err(|e| corrupt(format!("{}: {e}", entry.name)))?;
        if out.len() as u64 != entry.size {
            return Err(corrupt(format!("{}: size differs from the directory's", entry.name)));
        }
        if crc32fast::hash(&out) != entry.crc {
            return Err(corrupt(format!("{}: checksum mismatch", entry.name)));
        }
        Ok(Some(out))
    }
}

/// One central directory record at `at`, moving `at` past it.
fn parse_entry(dir: &[u8], at: &mut usize) -> Option<Entry> {
    let base = *at;
    if dir.get(base..base + 4)? != b"PK\x01\x02" {
        return None;
    }
    let flags = u16_at(dir, base + 8)?;
    let method = u16_at(dir, base + 10)?;
    let crc = u32_at(dir, base + 16)?;
    let mut compressed = u64::from(u32_at(dir, base + 20)?);
    let mut size = u64::from(u32_at(dir, base + 24)?);
    let name_len = usize::from(u16_at(dir, base + 28)?);
    let extra_len = usize::from(u16_at(dir, base + 30)?);
    let comment_len = usize::from(u16_at(dir, base + 32)?);
    let mut local_offset = u64::from(u32_at(dir, base + 42)?);
    let name_start = base + 46;
    let name = dir.get(name_start..name_start + name_len)?;
    let name = String::from_utf8_lossy(name).replace('\\', "/");
    let extra = dir.get(name_start + name_len..name_start + name_len + extra_len)?;
    // The ZIP64 extra field holds, in order, the values whose 32-bit fields are all ones.
    let mut i = 0;
    while i + 4 <= extra.len() {
        let id = u16_at(extra, i)?;
        let len = usize::from(u16_at(extra, i + 2)?);
        let data = extra.get(i + 4..i + 4 + len)?;
        if id == 1 {
            let mut j = 0;
            for value in [&mut size, &mut compressed, &mut local_offset] {
                if *value == 0xFFFF_FFFF {
                    *value = u64_at(data, j)?;
                    j += 8;
                }
            }
        }
        i += 4 + len;
    }
    *at = name_start + name_len + extra_len + comment_len;
    Some(Entry { name, method, encrypted: flags & 1 != 0, crc, compressed, size, local_offset })
}
