//! `custom_bridge`: a socket line reaches Rift's channel as a puppet's message, a line typed into
//! the example reaches the socket as ada's, nothing echoes back, and bad input is answered.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::{HANG, Running};

#[tokio::test]
async fn custom_bridge_relays_a_channel_to_a_socket_and_back() {
    let mut bridge = Running::start("custom_bridge", &["0"]);
    let listening = bridge.line().await;
    let addr = listening.strip_prefix("listening on ").unwrap_or_else(|| panic!("{listening}"));
    assert!(addr.starts_with("127.0.0.1:") && !addr.ends_with(":0"), "{addr}");

    let (read, mut write) = TcpStream::connect(addr).await.unwrap().into_split();
    let mut socket = BufReader::new(read).lines();
    let mut next = async || tokio::time::timeout(HANG, socket.next_line()).await.unwrap().unwrap().unwrap();
    assert_eq!(next().await, "connected to #general");

    // Socket → Rift: a message of the puppet named before the colon.
    write.write_all(b"alice: hello from the socket\n").await.unwrap();
    let line = bridge.line_starting("#general").await;
    assert!(line.starts_with("#general (socket) ") && line.ends_with(": hello from the socket"), "{line}");
    assert!(line.contains("alice"), "the puppet is named after the socket's name: {line}");

    // Bad input: a line longer than a message may be gets an error line, and is not stored.
    let long = format!("alice: {}\n", "x".repeat(10_001));
    write.write_all(long.as_bytes()).await.unwrap();
    let error = next().await;
    assert!(error.starts_with("error: "), "{error}");

    // Rift → socket: ada's message arrives; alice's own line was not echoed before it.
    let stdin = bridge.child.stdin.as_mut().unwrap();
    stdin.write_all(b"hello from rift\n").await.unwrap();
    stdin.flush().await.unwrap();
    assert_eq!(next().await, "ada: hello from rift");
    assert_eq!(bridge.line_starting("#general").await, "#general (rift) ada: hello from rift");

    // A line that is not UTF-8 is answered with an error before the bridge hangs up on it.
    let (read, mut write) = TcpStream::connect(addr).await.unwrap().into_split();
    let mut other = BufReader::new(read).lines();
    let mut next_other = async || tokio::time::timeout(HANG, other.next_line()).await.unwrap().unwrap();
    assert_eq!(next_other().await.as_deref(), Some("connected to #general"));
    write.write_all(b"alice: \xff\xfe\n").await.unwrap();
    let error = next_other().await.unwrap();
    assert!(error.starts_with("error: "), "{error}");
    assert_eq!(next_other().await, None);

    // Closing stdin stops the bridge and ends the example; the socket is closed.
    let rest = bridge.finish().await;
    assert_eq!(rest.last().map(String::as_str), Some("bridge stopped"), "{rest:#?}");
    let closed = tokio::time::timeout(Duration::from_secs(60), socket.next_line()).await.unwrap();
    assert!(matches!(closed, Ok(None) | Err(_)), "{closed:?}");
}
