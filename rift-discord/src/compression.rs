//! zlib-stream transport compression.
//!
//! With `compress=zlib-stream` the gateway compresses the whole connection as one zlib stream and
//! sync-flushes after each payload, so a payload is complete when the bytes received so far end with
//! `00 00 ff ff`. A payload may span several WebSocket frames, and every payload must be inflated
//! with the same context, in order: the context is per connection and is reset on reconnect.

use flate2::{Decompress, FlushDecompress, Status};

use crate::Error;

/// The suffix of a sync flush, marking the end of one payload.
const SYNC_FLUSH: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Default bound on one inflated payload (and on the compressed bytes buffered for it).
pub(crate) const DEFAULT_MAX_PAYLOAD: usize = 64 * 1024 * 1024;

/// Inflates a zlib-stream connection: feed each binary WebSocket frame to [`Inflater::push`].
///
/// # Examples
///
/// ```
/// use flate2::{Compress, Compression, FlushCompress};
/// use rift_discord::Inflater;
///
/// // What the gateway does: one compressor per connection, a sync flush after each payload.
/// let mut compress = Compress::new(Compression::default(), true);
/// let mut frame = Vec::with_capacity(256);
/// compress.compress_vec(br#"{"op":11}"#, &mut frame, FlushCompress::Sync).unwrap();
///
/// let mut inflater = Inflater::new();
/// let payload = inflater.push(&frame)?.expect("a whole payload");
/// assert_eq!(payload, br#"{"op":11}"#);
/// # Ok::<(), rift_discord::Error>(())
/// ```
#[derive(Debug)]
pub struct Inflater {
    decompress: Decompress,
    /// Compressed bytes of the payload being received.
    compressed: Vec<u8>,
    /// The last inflated payload.
    inflated: Vec<u8>,
    max_payload: usize,
}

impl Default for Inflater {
    fn default() -> Self {
        Self::new()
    }
}

impl Inflater {
    /// A fresh inflate context with the default payload limit (64 MiB).
    pub fn new() -> Self {
        Self::with_limit(DEFAULT_MAX_PAYLOAD)
    }

    /// A fresh inflate context that refuses payloads (compressed or inflated) above `max_payload`
    /// bytes.
    pub fn with_limit(max_payload: usize) -> Self {
        Self { decompress: Decompress::new(true), compressed: Vec::new(), inflated: Vec::new(), max_payload }
    }

    /// Adds one frame; returns the inflated payload once the buffered bytes end with `00 00 ff ff`,
    /// and `None` while the payload is still incomplete.
    ///
    /// # Errors
    ///
    /// [`Error::Inflate`] when the bytes are not a valid continuation of the stream,
    /// [`Error::PayloadTooLarge`] when the payload passes the limit. After an error the context is
    /// broken: [`reset`](Self::reset) it along with a new connection.
    pub fn push(&mut self, frame: &[u8]) -> Result<Option<&[u8]>, Error> {
        let size = self.compressed.len() + frame.len();
        if size > self.max_payload {
            self.compressed.clear();
            return Err(Error::PayloadTooLarge { size, limit: self.max_payload });
        }
        self.compressed.extend_from_slice(frame);
        if !self.compressed.ends_with(&SYNC_FLUSH) {
            return Ok(None);
        }
        let result = self.inflate();
        self.compressed.clear();
        result.map(|()| Some(self.inflated.as_slice()))
    }

    /// Whether part of a payload is buffered, waiting for more frames.
    pub fn has_partial(&self) -> bool {
        !self.compressed.is_empty()
    }

    /// Starts over with a new stream, as a new connection must.
    pub fn reset(&mut self) {
        self.decompress.reset(true);
        self.compressed.clear();
        self.inflated.clear();
    }

    fn inflate(&mut self) -> Result<(), Error> {
        self.inflated.clear();
        let mut consumed = 0;
        loop {
            if self.inflated.len() == self.inflated.capacity() {
                let grow = (self.compressed.len() * 4).clamp(1024, 1024 * 1024);
                self.inflated.reserve(grow);
            }
            let before_in = self.decompress.total_in();
            let before_out = self.decompress.total_out();
            let status = self
                .decompress
                .decompress_vec(&self.compressed[consumed..], &mut self.inflated, FlushDecompress::Sync)
                .map_err(|e| Error::Inflate(e.to_string()))?;
            let used = usize::try_from(self.decompress.total_in() - before_in).unwrap_or(usize::MAX);
            consumed = consumed.saturating_add(used).min(self.compressed.len());
            let produced = self.decompress.total_out() - before_out;
            if self.inflated.len() > self.max_payload {
                return Err(Error::PayloadTooLarge { size: self.inflated.len(), limit: self.max_payload });
            }
            let out_full = self.inflated.len() == self.inflated.capacity();
            match status {
                Status::StreamEnd => {
                    return Err(Error::Inflate("zlib stream ended; a connection's stream never ends".into()));
                }
                _ if consumed >= self.compressed.len() && !out_full => return Ok(()),
                _ if consumed >= self.compressed.len() && produced == 0 => return Ok(()),
                _ if used == 0 && produced == 0 && !out_full => {
                    return Err(Error::Inflate("stream stalled before the payload ended".into()));
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use flate2::{Compress, Compression, FlushCompress};

    use super::*;

    /// A server side: one compressor per connection, sync flush after every payload.
    struct Deflater(Compress);

    impl Deflater {
        fn new() -> Self {
            Self(Compress::new(Compression::default(), true))
        }

        fn payload(&mut self, data: &[u8]) -> Vec<u8> {
            let mut out = Vec::with_capacity(data.len() + 64);
            let mut input = data;
            loop {
                if out.len() == out.capacity() {
                    out.reserve(1024);
                }
                let before = self.0.total_in();
                self.0.compress_vec(input, &mut out, FlushCompress::Sync).unwrap();
                input = &input[usize::try_from(self.0.total_in() - before).unwrap()..];
                // Done when all input is in and the flush had room to finish.
                if input.is_empty() && out.len() < out.capacity() && out.ends_with(&SYNC_FLUSH) {
                    return out;
                }
            }
        }
    }

    fn payloads() -> Vec<Vec<u8>> {
        vec![
            br#"{"op":10,"d":{"heartbeat_interval":41250}}"#.to_vec(),
            br#"{"op":11}"#.to_vec(),
            br#"{"op":0,"s":1,"t":"READY","d":{"session_id":"abc"}}"#.to_vec(),
            (0..5000).map(|i| (i % 251) as u8).collect(),
        ]
    }

    #[test]
    fn whole_frames_inflate_in_order() {
        let mut server = Deflater::new();
        let mut inflater = Inflater::new();
        for payload in payloads() {
            let frame = server.payload(&payload);
            assert_eq!(inflater.push(&frame).unwrap(), Some(payload.as_slice()));
            assert!(!inflater.has_partial());
        }
    }

    #[test]
    fn payload_split_across_frames_waits_for_suffix() {
        for chunk in [1, 2, 3, 7, 64] {
            let mut server = Deflater::new();
            let mut inflater = Inflater::new();
            for payload in payloads() {
                let frame = server.payload(&payload);
                let (head, last) = frame.split_at(frame.len() - 1);
                for piece in head.chunks(chunk) {
                    assert_eq!(inflater.push(piece).unwrap(), None);
                }
                assert!(inflater.has_partial());
                assert_eq!(inflater.push(last).unwrap(), Some(payload.as_slice()), "chunk {chunk}");
            }
        }
    }

    #[test]
    fn suffix_inside_a_frame_does_not_end_the_payload() {
        let mut server = Deflater::new();
        let mut inflater = Inflater::new();
        let frame = server.payload(b"abc");
        let mut joined = frame.clone();
        // Two payloads in one frame: the suffix is tested at the end of the buffer only.
        joined.extend_from_slice(&server.payload(b"def"));
        assert_eq!(inflater.push(&joined).unwrap(), Some(&b"abcdef"[..]));
    }

    #[test]
    fn corrupt_stream_is_an_error() {
        let mut server = Deflater::new();
        let mut inflater = Inflater::new();
        let mut frame = server.payload(&payloads()[3]);
        // Keep the zlib header and the sync suffix, break what lies between.
        for byte in &mut frame[2..12] {
            *byte = 0xff;
        }
        assert!(matches!(inflater.push(&frame), Err(Error::Inflate(_))));
    }

    #[test]
    fn truncated_payload_never_yields_the_original() {
        let original = payloads().concat();
        let frame = Deflater::new().payload(&original);
        let body = &frame[..frame.len() - SYNC_FLUSH.len()];
        for cut in 0..body.len() {
            let mut truncated = body[..cut].to_vec();
            truncated.extend_from_slice(&SYNC_FLUSH);
            let mut inflater = Inflater::new();
            match inflater.push(&truncated) {
                Ok(Some(out)) => assert_ne!(out, original.as_slice(), "cut at {cut}"),
                Ok(None) => unreachable!("the buffer ends with the suffix"),
                Err(_) => {}
            }
        }
    }

    #[test]
    fn random_bytes_never_panic_or_hang() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let valid = Deflater::new().payload(&payloads().concat());
        for round in 0..3000 {
            let mut inflater = Inflater::with_limit(1 << 20);
            let mut frame = match round % 2 {
                // Pure noise, or a valid stream with a few bytes flipped.
                0 => (0..(next() % 200)).map(|_| next() as u8).collect::<Vec<u8>>(),
                _ => {
                    let mut frame = valid.clone();
                    for _ in 0..3 {
                        let at = (next() as usize) % frame.len();
                        frame[at] = next() as u8;
                    }
                    frame
                }
            };
            frame.extend_from_slice(&SYNC_FLUSH);
            let _ = inflater.push(&frame);
            // The context may be broken now, but it still answers.
            let _ = inflater.push(&SYNC_FLUSH);
        }
    }

    #[test]
    fn frame_from_another_stream_is_an_error() {
        let mut first = Deflater::new();
        let mut inflater = Inflater::new();
        inflater.push(&first.payload(b"hello")).unwrap();
        // A second zlib header in the middle of the stream is not a valid continuation.
        let mut second = Deflater::new();
        assert!(inflater.push(&second.payload(b"world")).is_err());
    }

    #[test]
    fn reset_starts_a_new_stream() {
        let mut inflater = Inflater::new();
        let mut first = Deflater::new();
        assert_eq!(inflater.push(&first.payload(b"one")).unwrap(), Some(&b"one"[..]));
        // The connection drops halfway through a payload.
        let partial = first.payload(b"two");
        assert_eq!(inflater.push(&partial[..partial.len() / 2]).unwrap(), None);
        inflater.reset();
        assert!(!inflater.has_partial());
        let mut second = Deflater::new();
        assert_eq!(inflater.push(&second.payload(b"three")).unwrap(), Some(&b"three"[..]));
        assert_eq!(inflater.push(&second.payload(b"four")).unwrap(), Some(&b"four"[..]));
    }

    #[test]
    fn oversized_payload_is_refused() {
        let mut server = Deflater::new();
        let mut inflater = Inflater::with_limit(1000);
        let frame = server.payload(&[7u8; 5000]);
        assert!(frame.len() < 1000, "compresses well");
        assert!(matches!(inflater.push(&frame), Err(Error::PayloadTooLarge { limit: 1000, .. })));
        let mut inflater = Inflater::with_limit(10);
        assert!(matches!(inflater.push(&[0u8; 11]), Err(Error::PayloadTooLarge { size: 11, limit: 10 })));
    }
}
