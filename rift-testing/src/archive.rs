//! ZIP archives built in memory, for tests of importers that read them (Discord's data
//! packages, zipped exports): deflated entries, a central directory, CRCs, nothing more.

use std::io::Write;

/// A ZIP of `files` (name, contents), each deflated, in the order given.
///
/// # Panics
/// If an entry or the whole archive exceeds the 4 GiB a plain (non-ZIP64) archive can describe.
pub fn zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    let size = |n: usize| u32::try_from(n).expect("under 4 GiB");
    let mut out = Vec::new();
    let mut dir = Vec::new();
    for (name, data) in files {
        let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).expect("deflate in memory");
        let body = encoder.finish().expect("deflate in memory");
        let crc = crc32fast::hash(data);
        let offset = size(out.len());
        let name_len = u16::try_from(name.len()).expect("a short name");
        // Local header: signature, version, flags, method 8, time/date, crc, sizes, name length.
        out.extend_from_slice(b"PK\x03\x04\x14\0\0\0\x08\0\0\0\0\0");
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&size(body.len()).to_le_bytes());
        out.extend_from_slice(&size(data.len()).to_le_bytes());
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&body);
        // Central record: signature, versions, flags, method 8, time/date, crc, sizes, lengths,
        // disk, attributes, local header offset, name.
        dir.extend_from_slice(b"PK\x01\x02\x14\0\x14\0\0\0\x08\0\0\0\0\0");
        dir.extend_from_slice(&crc.to_le_bytes());
        dir.extend_from_slice(&size(body.len()).to_le_bytes());
        dir.extend_from_slice(&size(data.len()).to_le_bytes());
        dir.extend_from_slice(&name_len.to_le_bytes());
        dir.extend_from_slice(&[0; 12]);
        dir.extend_from_slice(&offset.to_le_bytes());
        dir.extend_from_slice(name.as_bytes());
    }
    let count = u16::try_from(files.len()).expect("under 65,535 files");
    let dir_offset = size(out.len());
    out.extend_from_slice(&dir);
    out.extend_from_slice(b"PK\x05\x06\0\0\0\0");
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&size(dir.len()).to_le_bytes());
    out.extend_from_slice(&dir_offset.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out
}
