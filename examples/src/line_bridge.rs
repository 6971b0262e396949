//! A complete bridge: one Rift channel relayed to and from a line-based TCP socket.
//!
//! The "remote network" is a TCP listener on loopback. Each line a client writes
//! (`name: text`, or just `text`) becomes a message in the mirrored Rift channel, written by a
//! puppet user for `name`; each message written natively in Rift in that channel is sent to every
//! connected client as one line, `username: text`. Try it with `nc 127.0.0.1 PORT`.
//!
//! Everything a bridge writes goes through the service's `mirror_*` operations, which are
//! idempotent: the remote server, channel and users are keyed by their remote ids, so a restart
//! finds the same objects again.

use std::net::SocketAddr;
use std::sync::Mutex;

use async_trait::async_trait;
use rift::bridge::{Bridge, BridgeContext};
use rift::event::{Envelope, Event};
use rift::model::{BridgeStatus, ChannelKind};
use rift::{ChannelId, MessageId, RemoteChannel, RemoteMember, RemoteMessage, RemoteUser, ServerId};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

/// Lines waiting for a slow socket client; past this it misses lines (it is told so).
const LINE_QUEUE: usize = 256;

/// The bridge. Make one per connection, then start it with a
/// [`BridgeHost`](rift::bridge::BridgeHost) or a [`BridgeManager`](rift::bridge::BridgeManager).
#[derive(Debug)]
pub struct LineBridge {
    bind: SocketAddr,
    /// Rift → socket: every connected client subscribes.
    lines: broadcast::Sender<String>,
    running: Mutex<Option<Running>>,
}

#[derive(Debug)]
struct Running {
    addr: SocketAddr,
    channel: ChannelId,
    accept: JoinHandle<()>,
}

impl LineBridge {
    /// A bridge that will listen on `bind` (port 0: any free port, see [`LineBridge::local_addr`]).
    pub fn new(bind: SocketAddr) -> Self {
        Self { bind, lines: broadcast::channel(LINE_QUEUE).0, running: Mutex::new(None) }
    }

    /// Where the socket listens, once started.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|r| r.addr)
    }

    /// The mirrored Rift channel, once started.
    pub fn channel(&self) -> Option<ChannelId> {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|r| r.channel)
    }
}

#[async_trait]
impl Bridge for LineBridge {
    fn name(&self) -> &'static str {
        "lines"
    }

    async fn start(&self, ctx: BridgeContext) -> rift::Result<()> {
        let listener =
            TcpListener::bind(self.bind).await.map_err(|e| rift::Error::Internal(e.to_string()))?;
        let addr = listener.local_addr().map_err(|e| rift::Error::Internal(e.to_string()))?;
        // The remote side as Rift objects: a server owned by the connection's owner, one channel.
        let rift = ctx.rift();
        let server = rift.mirror_server(ctx.owner(), &ctx.remote("lines"), "Line relay").await?;
        let remote_channel = RemoteChannel::new(ctx.remote("lines/general"), "general", ChannelKind::Text);
        let channel = rift.mirror_channel(server.id, &remote_channel).await?;
        // From now on the host hands this channel's events to `on_event`.
        ctx.link_channel(channel.id);
        let accept =
            tokio::spawn(accept_clients(listener, ctx.clone(), server.id, channel.id, self.lines.clone()));
        *self.running.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(Running { addr, channel: channel.id, accept });
        ctx.set_status(BridgeStatus::Ready, None, None).await
    }

    async fn on_event(&self, _ctx: &BridgeContext, event: &Envelope) -> rift::Result<()> {
        // Mirrored messages carry a bridge reference: they came from a socket, so do not echo them.
        if let Event::MessageCreate(message) = &event.event
            && message.bridge.is_none()
        {
            // No client connected is not an error: the line is simply not heard.
            let _ = self.lines.send(format!("{}: {}", message.author.username, message.content));
        }
        Ok(())
    }

    async fn stop(&self) -> rift::Result<()> {
        if let Some(running) = self.running.lock().unwrap_or_else(|p| p.into_inner()).take() {
            running.accept.abort();
        }
        Ok(())
    }
}

/// Accepts socket clients until the bridge stops; each gets a task of its own.
async fn accept_clients(
    listener: TcpListener,
    ctx: BridgeContext,
    server: ServerId,
    channel: ChannelId,
    lines: broadcast::Sender<String>,
) {
    let mut clients = tokio::task::JoinSet::new();
    while let Ok((socket, _)) = listener.accept().await {
        // Subscribed before the greeting: a client that has read it hears every later line.
        let from_rift = lines.subscribe();
        clients.spawn(serve_client(socket, ctx.clone(), server, channel, from_rift));
    }
}

/// Relays one client both ways until it disconnects.
async fn serve_client(
    socket: TcpStream,
    ctx: BridgeContext,
    server: ServerId,
    channel: ChannelId,
    mut from_rift: broadcast::Receiver<String>,
) {
    let (read, mut write) = socket.into_split();
    let mut read = BufReader::new(read).lines();
    if write.write_all(b"connected to #general\n").await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            line = read.next_line() => match line {
                Ok(Some(line)) if line.trim().is_empty() => {}
                Ok(Some(line)) => {
                    if let Err(error) = mirror_line(&ctx, server, channel, &line).await {
                        // A refused line (too long, say) is reported to its writer, not dropped silently.
                        let notice = format!("error: {error}\n");
                        if write.write_all(notice.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                }
                Ok(None) => return,
                // Not UTF-8, or the socket failed: say why (if it can still hear) and hang up.
                Err(error) => {
                    let _ = write.write_all(format!("error: {error}\n").as_bytes()).await;
                    return;
                }
            },
            line = from_rift.recv() => {
                let line = match line {
                    Ok(line) => line,
                    Err(broadcast::error::RecvError::Lagged(missed)) => format!("({missed} lines missed)"),
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                if write.write_all(format!("{line}\n").as_bytes()).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Writes one socket line into Rift as a message of the puppet named before the colon.
async fn mirror_line(
    ctx: &BridgeContext,
    server: ServerId,
    channel: ChannelId,
    line: &str,
) -> rift::Result<()> {
    let (name, text) = match line.split_once(": ") {
        Some((name, text)) if !name.trim().is_empty() => (name.trim(), text),
        _ => ("guest", line),
    };
    let rift = ctx.rift();
    let now = chrono::Utc::now();
    let puppet = rift.mirror_user(&RemoteUser::new(ctx.remote(format!("user/{name}")), name)).await?;
    rift.mirror_member(server, &RemoteMember::new(puppet.id, now)).await?;
    // A socket line has no id of its own: give it a fresh one, so every line is a new message.
    let remote_id = format!("line/{}", MessageId::new());
    rift.mirror_message(RemoteMessage::new(ctx.remote(remote_id), channel, puppet.id, text, now)).await?;
    Ok(())
}
