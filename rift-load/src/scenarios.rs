//! The scenarios, each callable against any loopback [`Target`]: set-up through the public API
//! (accounts, a server, invites), then the load, then a report. Every scenario is bounded: counts
//! are capped by the `MAX_*` constants and every wait has a deadline.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;

use crate::client::{Account, Api, Gateway, message_create_nonce};
use crate::stats::{Samples, Summary};
use crate::target::Target;
use crate::{LoadError, Result};

/// Most messages one scenario sends or seeds.
pub const MAX_MESSAGES: usize = 10_000_000;
/// Most gateway connections one scenario opens.
pub const MAX_CONNECTIONS: usize = 100_000;
/// Most accounts one scenario registers.
pub const MAX_ACCOUNTS: usize = 50_000;
/// Longest soak (access tokens live 15 minutes).
pub const MAX_SOAK: Duration = Duration::from_secs(14 * 60);
/// How long to wait for deliveries still in flight once sending stopped.
const DRAIN: Duration = Duration::from_secs(10);

fn check_bound(what: &str, value: usize, max: usize) -> Result<()> {
    if value == 0 || value > max {
        return Err(LoadError::Config(format!("{what} must be between 1 and {max}")));
    }
    Ok(())
}

/// How messages are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// `POST /api/channels/:id/messages`; acknowledged by the answer.
    Rest,
    /// The gateway's `SendMessage`; acknowledged by the sender's own `MessageCreate` (with its nonce).
    Gateway,
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Rest => "rest",
            Self::Gateway => "gateway",
        })
    }
}

/// A run's accounts and server: an owner, a server with its first channel, and an invite.
pub struct Fixture {
    /// The REST client.
    pub api: Api,
    /// The server's owner.
    pub owner: Account,
    /// The server.
    pub server_id: String,
    /// Its first channel.
    pub channel_id: String,
    invite: String,
    run: String,
}

impl Fixture {
    /// Registers an owner and creates a server with an unlimited invite.
    ///
    /// # Errors
    /// Any failed call.
    pub async fn new(target: &Target) -> Result<Self> {
        let api = Api::new(&target.base)?;
        let run = format!("{:08x}", rand::thread_rng().r#gen::<u32>());
        let owner = api.register(&format!("ld{run}_owner")).await?;
        let (server_id, channel_id) = api.create_server(&owner.token, "rift-load").await?;
        let invite = api.invite(&owner.token, &server_id).await?;
        Ok(Self { api, owner, server_id, channel_id, invite, run })
    }

    /// A username unique to this run.
    pub fn username(&self, role: &str, n: usize) -> String {
        format!("ld{}_{role}{n}", self.run)
    }

    /// Registers `count` accounts named `role0…`, `concurrency` at a time, and joins them to the
    /// server.
    ///
    /// # Errors
    /// Any failed registration or join.
    pub async fn members(&self, role: &str, count: usize, concurrency: usize) -> Result<Vec<Account>> {
        check_bound("accounts", count.max(1), MAX_ACCOUNTS)?;
        let joined = futures_util::stream::iter(0..count)
            .map(|n| async move {
                let account = self.api.register(&self.username(role, n)).await?;
                self.api.join(&account.token, &self.server_id, &self.invite).await?;
                Ok::<_, LoadError>(account)
            })
            .buffered(concurrency.max(1))
            .collect::<Vec<_>>()
            .await;
        joined.into_iter().collect()
    }
}

/// Reads a gateway connection on its own task, heartbeating every 20 s, handing each frame to
/// `on_frame`; ends when the connection closes or the task is aborted.
pub fn spawn_reader(gateway: Gateway, mut on_frame: impl FnMut(Value) + Send + 'static) -> JoinHandle<()> {
    let (mut sink, mut stream) = gateway.split();
    tokio::spawn(async move {
        let mut beat = tokio::time::interval(Duration::from_secs(20));
        beat.tick().await;
        loop {
            tokio::select! {
                frame = stream.next_frame() => match frame {
                    Ok(Some(frame)) => on_frame(frame),
                    _ => break,
                },
                _ = beat.tick() => if sink.heartbeat().await.is_err() { break },
            }
        }
    })
}

/// Counts failures by kind, for the report.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Errors(BTreeMap<String, usize>);

impl Errors {
    /// Counts one failure of `what`.
    pub fn add(&mut self, what: &str, error: &LoadError) {
        let kind = match error {
            LoadError::Http { status, .. } => format!("{what}: HTTP {status}"),
            LoadError::Io(_) => format!("{what}: transport"),
            LoadError::Timeout(_) => format!("{what}: timeout"),
            LoadError::Config(_) => format!("{what}: config"),
        };
        *self.0.entry(kind).or_default() += 1;
    }

    /// Counts one failure by its description.
    pub fn add_kind(&mut self, kind: String) {
        *self.0.entry(kind).or_default() += 1;
    }

    /// All failures.
    pub fn total(&self) -> usize {
        self.0.values().sum()
    }

    fn merge(&mut self, other: Errors) {
        for (kind, n) in other.0 {
            *self.0.entry(kind).or_default() += n;
        }
    }
}

impl fmt::Display for Errors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        let parts: Vec<String> = self.0.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
        f.write_str(&parts.join(", "))
    }
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "n/a (pid unknown)".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

// ---------------------------------------------------------------------------------------------
// latency

/// `latency`: A sends at a fixed offered rate, B receives on the gateway.
#[derive(Debug, Clone)]
pub struct LatencyOptions {
    /// Offered messages per second (open loop: sends are scheduled, not paced by answers).
    pub rate: f64,
    /// Messages to send.
    pub messages: usize,
    /// The first messages, left out of the percentiles (connections warming up).
    pub warmup: usize,
    /// How A sends.
    pub via: Via,
}

/// What `latency` measured. Delivery is from the message's scheduled send time until B read it
/// from its socket, so a backlog in the sender counts against the server, not hidden.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyReport {
    /// Offered rate.
    pub offered_per_s: f64,
    /// How A sent.
    pub via: Via,
    /// Messages sent.
    pub sent: usize,
    /// Acknowledged to A.
    pub acked: usize,
    /// Acknowledged and received by B.
    pub received: usize,
    /// Acknowledged but never received by B.
    pub lost: usize,
    /// Sent but neither acknowledged nor refused before the deadline.
    pub unanswered: usize,
    /// Failed sends.
    pub errors: Errors,
    /// Send → B has it (after warm-up).
    pub delivery: Summary,
    /// Send → A's acknowledgement (after warm-up).
    pub ack: Summary,
}

impl fmt::Display for LatencyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "latency: A sends over {} at {} msg/s, B receives on the gateway",
            self.via, self.offered_per_s
        )?;
        writeln!(
            f,
            "  sent {}  acked {}  received {}  lost {}  errors {}",
            self.sent, self.acked, self.received, self.lost, self.errors
        )?;
        writeln!(f, "  delivery  {}", self.delivery)?;
        write!(f, "  ack       {}", self.ack)
    }
}

/// Runs `latency`.
///
/// # Errors
/// Set-up failed, or the options are out of range.
pub async fn latency(target: &Target, options: &LatencyOptions) -> Result<LatencyReport> {
    check_bound("messages", options.messages, MAX_MESSAGES)?;
    if !(options.rate > 0.0 && options.rate <= 1_000_000.0) {
        return Err(LoadError::Config("rate must be between 0 and 1000000 messages/s".into()));
    }
    let fx = Fixture::new(target).await?;
    let b = fx.members("b", 1, 1).await?.remove(0);
    let (delivered_tx, mut delivered_rx) = mpsc::unbounded_channel::<(usize, Instant)>();
    let receiver = spawn_reader(Gateway::connect(&target.base, &b.token).await?, move |frame| {
        if let Some(i) =
            message_create_nonce(&frame).and_then(|n| n.strip_prefix("lat-")).and_then(|n| n.parse().ok())
        {
            let _ = delivered_tx.send((i, Instant::now()));
        }
    });
    let (acked_tx, mut acked_rx) =
        mpsc::unbounded_channel::<(usize, std::result::Result<Instant, LoadError>)>();
    let period = Duration::from_secs_f64(1.0 / options.rate);
    let start = tokio::time::Instant::now() + Duration::from_millis(200);
    let scheduled = |i: usize| start + period.mul_f64(i as f64);
    let mut sender_reader = None;
    match options.via {
        Via::Rest => {
            for i in 0..options.messages {
                tokio::time::sleep_until(scheduled(i)).await;
                let (api, token, channel, acked_tx) =
                    (fx.api.clone(), fx.owner.token.clone(), fx.channel_id.clone(), acked_tx.clone());
                tokio::spawn(async move {
                    let result =
                        api.send(&token, &channel, &format!("latency probe {i}"), &format!("lat-{i}")).await;
                    let _ = acked_tx.send((i, result.map(|_| Instant::now())));
                });
            }
        }
        Via::Gateway => {
            let (mut sink, mut stream) = Gateway::connect(&target.base, &fx.owner.token).await?.split();
            let echo_tx = acked_tx.clone();
            sender_reader = Some(tokio::spawn(async move {
                while let Ok(Some(frame)) = stream.next_frame().await {
                    let nonce = match frame["type"].as_str() {
                        Some("MessageCreate" | "Error") => frame["data"]["nonce"].as_str(),
                        _ => None,
                    };
                    let Some(i) = nonce.and_then(|n| n.strip_prefix("lat-")).and_then(|n| n.parse().ok())
                    else {
                        continue;
                    };
                    let outcome = if frame["type"] == "Error" {
                        Err(LoadError::Io(format!("gateway error {}", frame["data"]["code"])))
                    } else {
                        Ok(Instant::now())
                    };
                    let _ = echo_tx.send((i, outcome));
                }
                if let Some(code) = stream.close_code() {
                    let _ = echo_tx.send((
                        usize::MAX,
                        Err(LoadError::Io(format!("the server closed the sender's connection ({code})"))),
                    ));
                }
            }));
            for i in 0..options.messages {
                tokio::time::sleep_until(scheduled(i)).await;
                let frame = json!({ "type": "SendMessage", "channel_id": fx.channel_id, "content": format!("latency probe {i}"), "nonce": format!("lat-{i}") });
                if let Err(error) = sink.send(&frame).await {
                    let _ = acked_tx.send((i, Err(error)));
                }
            }
            // Keep the sink alive until the echoes are in.
            tokio::spawn(async move {
                tokio::time::sleep(DRAIN + Duration::from_secs(5)).await;
                sink.close().await;
            });
        }
    }
    drop(acked_tx);
    let mut acked = HashSet::new();
    let mut ack = Samples::with_capacity(options.messages);
    let mut delivered: HashMap<usize, Instant> = HashMap::new();
    let mut errors = Errors::default();
    let mut answered = 0;
    let deadline = tokio::time::Instant::now() + DRAIN;
    let std_start = Instant::now() - (tokio::time::Instant::now() - start);
    let std_scheduled = |i: usize| std_start + period.mul_f64(i as f64);
    loop {
        if answered == options.messages && delivered.len() >= acked.len() {
            break;
        }
        tokio::select! {
            Some((i, outcome)) = acked_rx.recv() => {
                if i == usize::MAX {
                    if let Err(error) = outcome {
                        errors.add_kind(error.to_string());
                    }
                    continue;
                }
                answered += 1;
                match outcome {
                    Ok(at) => {
                        acked.insert(i);
                        if i >= options.warmup {
                            ack.record(at.saturating_duration_since(std_scheduled(i)));
                        }
                    }
                    Err(error) => errors.add("send", &error),
                }
            }
            Some((i, at)) = delivered_rx.recv() => { delivered.insert(i, at); }
            () = tokio::time::sleep_until(deadline) => break,
        }
    }
    receiver.abort();
    if let Some(reader) = sender_reader {
        reader.abort();
    }
    let mut delivery = Samples::with_capacity(delivered.len());
    let received = acked.iter().filter(|i| delivered.contains_key(i)).count();
    for (i, at) in &delivered {
        if *i >= options.warmup && acked.contains(i) {
            delivery.record(at.saturating_duration_since(std_scheduled(*i)));
        }
    }
    Ok(LatencyReport {
        offered_per_s: options.rate,
        via: options.via,
        sent: options.messages,
        acked: acked.len(),
        received,
        lost: acked.len() - received,
        unanswered: options.messages - answered,
        errors,
        delivery: delivery.summary(),
        ack: ack.summary(),
    })
}

// ---------------------------------------------------------------------------------------------
// throughput

/// `throughput`: N senders, each with M messages in flight, each in a server of its own.
#[derive(Debug, Clone)]
pub struct ThroughputOptions {
    /// Senders (one account, one server each).
    pub senders: usize,
    /// Messages each sender keeps in flight.
    pub in_flight: usize,
    /// Messages in all.
    pub messages: usize,
    /// Stop sending after this long even if `messages` are not all sent.
    pub duration: Duration,
    /// How they send.
    pub via: Via,
    /// Afterwards, page through every channel and check each acknowledged message is there.
    pub verify: bool,
}

/// What `throughput` measured.
#[derive(Debug, Clone, Serialize)]
pub struct ThroughputReport {
    /// How they sent.
    pub via: Via,
    /// Senders.
    pub senders: usize,
    /// In flight per sender.
    pub in_flight: usize,
    /// Acknowledged (stored) messages.
    pub acked: usize,
    /// Failed sends.
    pub errors: Errors,
    /// Seconds from the first send to the last acknowledgement.
    pub elapsed_s: f64,
    /// Acknowledged messages per second.
    pub per_s: f64,
    /// Send → acknowledgement.
    pub ack: Summary,
    /// Acknowledged messages found when reading the channels back (when verified).
    pub verified: Option<usize>,
    /// Acknowledged messages not found when reading back.
    pub missing: usize,
}

impl fmt::Display for ThroughputReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "throughput: {} senders × {} in flight over {}", self.senders, self.in_flight, self.via)?;
        writeln!(
            f,
            "  acked {} in {:.2} s = {:.0} msg/s  errors {}",
            self.acked, self.elapsed_s, self.per_s, self.errors
        )?;
        writeln!(f, "  ack       {}", self.ack)?;
        match self.verified {
            Some(found) => {
                write!(f, "  read back {found} of {} acknowledged, missing {}", self.acked, self.missing)
            }
            None => write!(f, "  not read back (--no-verify)"),
        }
    }
}

/// What one sender achieved.
#[derive(Default)]
struct SenderResult {
    ids: Vec<String>,
    ack: Samples,
    errors: Errors,
}

/// Runs `throughput`.
///
/// # Errors
/// Set-up failed, or the options are out of range.
pub async fn throughput(target: &Target, options: &ThroughputOptions) -> Result<ThroughputReport> {
    check_bound("messages", options.messages, MAX_MESSAGES)?;
    check_bound("senders", options.senders, 1024)?;
    check_bound("in-flight", options.in_flight, 1024)?;
    let api = Api::new(&target.base)?;
    let run = format!("{:08x}", rand::thread_rng().r#gen::<u32>());
    let senders: Vec<(Account, String)> = futures_util::stream::iter(0..options.senders)
        .map(|n| {
            let (api, run) = (api.clone(), run.clone());
            async move {
                let account = api.register(&format!("ld{run}_s{n}")).await?;
                let (_, channel) = api.create_server(&account.token, "rift-load throughput").await?;
                Ok::<_, LoadError>((account, channel))
            }
        })
        .buffered(8)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_>>()?;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + options.duration;
    let mut tasks = Vec::new();
    for (s, (account, channel)) in senders.iter().enumerate() {
        match options.via {
            Via::Rest => {
                for _ in 0..options.in_flight {
                    let (api, token, channel, next) =
                        (api.clone(), account.token.clone(), channel.clone(), Arc::clone(&next));
                    let total = options.messages;
                    tasks.push(tokio::spawn(async move {
                        let mut result = SenderResult::default();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            if i >= total || Instant::now() >= deadline {
                                break;
                            }
                            let sent = Instant::now();
                            match api
                                .send(&token, &channel, &format!("throughput {i}"), &format!("t{s}-{i}"))
                                .await
                            {
                                Ok(id) => {
                                    result.ack.record(sent.elapsed());
                                    result.ids.push(id);
                                }
                                Err(error) => result.errors.add("send", &error),
                            }
                        }
                        result
                    }));
                }
            }
            Via::Gateway => {
                let gateway = Gateway::connect(&target.base, &account.token).await?;
                tasks.push(tokio::spawn(gateway_sender(
                    gateway,
                    channel.clone(),
                    s,
                    options.in_flight,
                    Arc::clone(&next),
                    options.messages,
                    deadline,
                )));
            }
        }
    }
    let mut result = SenderResult::default();
    for task in tasks {
        let one = task.await.map_err(|e| LoadError::Io(format!("sender task: {e}")))?;
        result.ids.extend(one.ids);
        result.ack.extend(one.ack);
        result.errors.merge(one.errors);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (verified, missing) = if options.verify {
        let acked: HashSet<&String> = result.ids.iter().collect();
        let mut found = 0;
        for (account, channel) in &senders {
            let stored = api.message_ids(&account.token, channel).await?;
            found += stored.iter().filter(|id| acked.contains(id)).count();
        }
        (Some(found), result.ids.len() - found)
    } else {
        (None, 0)
    };
    Ok(ThroughputReport {
        via: options.via,
        senders: options.senders,
        in_flight: options.in_flight,
        acked: result.ids.len(),
        errors: result.errors,
        elapsed_s: elapsed,
        per_s: result.ids.len() as f64 / elapsed.max(1e-9),
        ack: result.ack.summary(),
        verified,
        missing,
    })
}

/// One gateway sender: keeps `in_flight` `SendMessage` frames outstanding; an echo (its own
/// `MessageCreate` with the nonce) or an `Error` with the nonce frees a slot.
async fn gateway_sender(
    gateway: Gateway,
    channel: String,
    sender: usize,
    in_flight: usize,
    next: Arc<AtomicUsize>,
    total: usize,
    deadline: Instant,
) -> SenderResult {
    let (mut sink, mut stream) = gateway.split();
    let slots = Arc::new(Semaphore::new(in_flight));
    let pending: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let result = Arc::new(Mutex::new(SenderResult::default()));
    let reader = {
        let (slots, pending, result) = (Arc::clone(&slots), Arc::clone(&pending), Arc::clone(&result));
        tokio::spawn(async move {
            while let Ok(Some(frame)) = stream.next_frame().await {
                let kind = frame["type"].as_str().unwrap_or_default();
                if kind != "MessageCreate" && kind != "Error" {
                    continue;
                }
                let Some(nonce) = frame["data"]["nonce"].as_str() else { continue };
                let Some(sent) = pending.lock().unwrap_or_else(|p| p.into_inner()).remove(nonce) else {
                    continue;
                };
                let mut result = result.lock().unwrap_or_else(|p| p.into_inner());
                if kind == "Error" {
                    result.errors.add_kind(format!("send: gateway {}", frame["data"]["code"]));
                } else {
                    result.ack.record(sent.elapsed());
                    result.ids.push(frame["data"]["id"].as_str().unwrap_or_default().to_owned());
                }
                slots.add_permits(1);
            }
            // No more echoes will come: let the writer stop waiting for slots.
            slots.close();
            stream.close_code()
        })
    };
    let mut failed = false;
    loop {
        let Ok(permit) = slots.acquire().await else { break };
        permit.forget();
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= total || Instant::now() >= deadline {
            break;
        }
        let nonce = format!("t{sender}-{i}");
        pending.lock().unwrap_or_else(|p| p.into_inner()).insert(nonce.clone(), Instant::now());
        let frame = json!({ "type": "SendMessage", "channel_id": channel, "content": format!("throughput {i}"), "nonce": nonce });
        if let Err(error) = sink.send(&frame).await {
            result.lock().unwrap_or_else(|p| p.into_inner()).errors.add("send", &error);
            failed = true;
            break;
        }
    }
    // Wait for the outstanding echoes (bounded).
    let drain_until = Instant::now() + DRAIN;
    while !failed
        && !pending.lock().unwrap_or_else(|p| p.into_inner()).is_empty()
        && Instant::now() < drain_until
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    reader.abort();
    let closed_by_server = reader.await.ok().flatten();
    sink.close().await;
    let mut result = std::mem::take(&mut *result.lock().unwrap_or_else(|p| p.into_inner()));
    if let Some(code) = closed_by_server {
        result.errors.add_kind(format!("the server closed a sender's connection ({code})"));
    }
    let unanswered = pending.lock().unwrap_or_else(|p| p.into_inner()).len();
    for _ in 0..unanswered {
        result.errors.add_kind("send: no acknowledgement".into());
    }
    result
}

// ---------------------------------------------------------------------------------------------
// fanout

/// `fanout`: one message to N connected members, one message at a time.
#[derive(Debug, Clone)]
pub struct FanoutOptions {
    /// Gateway connections (members online).
    pub members: usize,
    /// Distinct accounts behind them (connections share accounts round-robin when fewer).
    pub accounts: usize,
    /// Messages, sent one after another once the previous one reached everybody.
    pub messages: usize,
}

/// What `fanout` measured.
#[derive(Debug, Clone, Serialize)]
pub struct FanoutReport {
    /// Connections.
    pub members: usize,
    /// Accounts behind them.
    pub accounts: usize,
    /// Messages sent.
    pub messages: usize,
    /// Deliveries expected (members × messages).
    pub expected: usize,
    /// Deliveries seen.
    pub delivered: usize,
    /// Expected but not seen within the deadline.
    pub lost: usize,
    /// Per message: send → the last member has it.
    pub all_received: Summary,
    /// Per delivery: send → that member has it.
    pub per_delivery: Summary,
    /// Members divided by the median all-received time.
    pub deliveries_per_s: f64,
}

impl fmt::Display for FanoutReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "fanout: {} messages to {} connections ({} accounts)",
            self.messages, self.members, self.accounts
        )?;
        writeln!(
            f,
            "  delivered {} of {}  lost {}  ≈ {:.0} deliveries/s",
            self.delivered, self.expected, self.lost, self.deliveries_per_s
        )?;
        writeln!(f, "  all received  {}", self.all_received)?;
        write!(f, "  per delivery  {}", self.per_delivery)
    }
}

/// Runs `fanout`.
///
/// # Errors
/// Set-up failed, or the options are out of range.
pub async fn fanout(target: &Target, options: &FanoutOptions) -> Result<FanoutReport> {
    check_bound("members", options.members, MAX_CONNECTIONS)?;
    check_bound("accounts", options.accounts, options.members.min(MAX_ACCOUNTS))?;
    check_bound("messages", options.messages, 10_000)?;
    let fx = Fixture::new(target).await?;
    let accounts = fx.members("m", options.accounts, 8).await?;
    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, Instant)>();
    let readers: Vec<JoinHandle<()>> = futures_util::stream::iter(0..options.members)
        .map(|n| {
            let (base, token, tx) =
                (target.base.clone(), accounts[n % accounts.len()].token.clone(), tx.clone());
            async move {
                let gateway = Gateway::connect(&base, &token).await?;
                Ok::<_, LoadError>(spawn_reader(gateway, move |frame| {
                    if let Some(k) = message_create_nonce(&frame)
                        .and_then(|n| n.strip_prefix("fan-"))
                        .and_then(|n| n.parse().ok())
                    {
                        let _ = tx.send((k, Instant::now()));
                    }
                }))
            }
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_>>()?;
    drop(tx);
    let mut all_received = Samples::default();
    let mut per_delivery = Samples::with_capacity(options.members * options.messages);
    let mut delivered = 0;
    for k in 0..options.messages {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let sent = Instant::now();
        fx.api.send(&fx.owner.token, &fx.channel_id, &format!("fanout {k}"), &format!("fan-{k}")).await?;
        let mut got = 0;
        let mut last = sent;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while got < options.members {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some((m, at))) if m == k => {
                    got += 1;
                    last = at;
                    per_delivery.record(at - sent);
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        delivered += got;
        if got == options.members {
            all_received.record(last - sent);
        }
    }
    for reader in readers {
        reader.abort();
    }
    let all = all_received.summary();
    let expected = options.members * options.messages;
    Ok(FanoutReport {
        members: options.members,
        accounts: options.accounts,
        messages: options.messages,
        expected,
        delivered,
        lost: expected - delivered,
        deliveries_per_s: if all.p50_ms > 0.0 { options.members as f64 / (all.p50_ms / 1000.0) } else { 0.0 },
        all_received: all,
        per_delivery: per_delivery.summary(),
    })
}

// ---------------------------------------------------------------------------------------------
// idle

/// `idle`: M identified gateway connections that do nothing but heartbeat.
#[derive(Debug, Clone)]
pub struct IdleOptions {
    /// Connections to open.
    pub connections: usize,
    /// Distinct accounts behind them.
    pub accounts: usize,
    /// Connections opened at a time.
    pub concurrency: usize,
    /// Wait after the last connection before reading memory.
    pub settle: Duration,
}

/// What `idle` measured.
#[derive(Debug, Clone, Serialize)]
pub struct IdleReport {
    /// Asked for.
    pub connections: usize,
    /// Opened and identified.
    pub opened: usize,
    /// Connections that failed, and the first reason.
    pub failed: usize,
    /// The first failure.
    pub first_error: Option<String>,
    /// Server RSS before opening them (KiB).
    pub rss_before_kib: Option<u64>,
    /// Server RSS with all of them open (KiB).
    pub rss_after_kib: Option<u64>,
    /// (after − before) / opened, in bytes.
    pub bytes_per_connection: Option<f64>,
    /// Connections that received one message sent afterwards (all should: none is dead).
    pub delivered: usize,
}

impl fmt::Display for IdleReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "idle: {} gateway connections", self.connections)?;
        writeln!(
            f,
            "  opened {}  failed {}{}",
            self.opened,
            self.failed,
            self.first_error.as_ref().map(|e| format!(" (first: {e})")).unwrap_or_default()
        )?;
        writeln!(f, "  server RSS {} → {}", mib(self.rss_before_kib), mib(self.rss_after_kib))?;
        if let Some(bytes) = self.bytes_per_connection {
            writeln!(f, "  per connection {:.1} KiB", bytes / 1024.0)?;
        }
        write!(f, "  a message sent afterwards reached {} of {}", self.delivered, self.opened)
    }
}

/// Runs `idle`.
///
/// # Errors
/// Set-up failed, or the options are out of range.
pub async fn idle(target: &Target, options: &IdleOptions) -> Result<IdleReport> {
    check_bound("connections", options.connections, MAX_CONNECTIONS)?;
    check_bound("accounts", options.accounts, options.connections.min(MAX_ACCOUNTS))?;
    let fx = Fixture::new(target).await?;
    let mut accounts = vec![fx.owner.clone()];
    accounts.extend(fx.members("i", options.accounts - 1, 8).await?);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = target.rss_kib();
    let delivered = Arc::new(AtomicUsize::new(0));
    let outcomes: Vec<Result<JoinHandle<()>>> = futures_util::stream::iter(0..options.connections)
        .map(|n| {
            let (base, token, delivered) =
                (target.base.clone(), accounts[n % accounts.len()].token.clone(), Arc::clone(&delivered));
            async move {
                let gateway = Gateway::connect(&base, &token).await?;
                Ok(spawn_reader(gateway, move |frame| {
                    if message_create_nonce(&frame) == Some("idle-check") {
                        delivered.fetch_add(1, Ordering::Relaxed);
                    }
                }))
            }
        })
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    let mut readers = Vec::new();
    let mut first_error = None;
    let mut failed = 0;
    for outcome in outcomes {
        match outcome {
            Ok(reader) => readers.push(reader),
            Err(error) => {
                failed += 1;
                first_error.get_or_insert_with(|| error.to_string());
            }
        }
    }
    tokio::time::sleep(options.settle).await;
    let rss_after = target.rss_kib();
    let opened = readers.len();
    fx.api.send(&fx.owner.token, &fx.channel_id, "are you there", "idle-check").await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while delivered.load(Ordering::Relaxed) < opened && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for reader in readers {
        reader.abort();
    }
    let bytes_per_connection = match (rss_before, rss_after) {
        (Some(before), Some(after)) if opened > 0 => {
            Some((after.saturating_sub(before) * 1024) as f64 / opened as f64)
        }
        _ => None,
    };
    Ok(IdleReport {
        connections: options.connections,
        opened,
        failed,
        first_error,
        rss_before_kib: rss_before,
        rss_after_kib: rss_after,
        bytes_per_connection,
        delivered: delivered.load(Ordering::Relaxed),
    })
}

// ---------------------------------------------------------------------------------------------
// search

/// How the search corpus is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Seed {
    /// Through `POST /api/channels/:id/messages`, 16 in flight.
    Api,
    /// Straight into the server's database through `rift-store` (needs the database URL).
    Store,
}

/// `search`: seed a corpus into one channel, then time queries.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    /// Messages to seed.
    pub messages: usize,
    /// How.
    pub seed: Seed,
    /// Runs per query.
    pub runs: usize,
}

/// One query's figures.
#[derive(Debug, Clone, Serialize)]
pub struct QueryReport {
    /// What it is.
    pub label: String,
    /// The search text.
    pub q: String,
    /// Results of the last run (at most a page).
    pub hits: usize,
    /// Its latency over loopback, HTTP included.
    pub latency: Summary,
}

/// What `search` measured.
#[derive(Debug, Clone, Serialize)]
pub struct SearchReport {
    /// Messages seeded.
    pub messages: usize,
    /// How.
    pub seed: Seed,
    /// Seconds seeding took.
    pub seeded_s: f64,
    /// The queries.
    pub queries: Vec<QueryReport>,
    /// Failed queries.
    pub errors: Errors,
}

impl fmt::Display for SearchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "search: {} messages in one channel (seeded via {:?} in {:.1} s); errors {}",
            self.messages, self.seed, self.seeded_s, self.errors
        )?;
        writeln!(
            f,
            "  {:<32} {:<18} {:>5} {:>10} {:>10} {:>10}",
            "query", "q", "hits", "p50 ms", "p99 ms", "max ms"
        )?;
        for q in &self.queries {
            writeln!(
                f,
                "  {:<32} {:<18} {:>5} {:>10.3} {:>10.3} {:>10.3}",
                q.label, q.q, q.hits, q.latency.p50_ms, q.latency.p99_ms, q.latency.max_ms
            )?;
        }
        Ok(())
    }
}

/// The word that occurs in exactly one seeded message.
pub const RARE_WORD: &str = "zyzzyva";
/// A word that occurs in no seeded message.
pub const ABSENT_WORD: &str = "quixotry";

/// The corpus: message `i` of `n` has 8 words from 2,000 `wNNNN` words plus four common ones
/// ("hello", "world", "rift", "chat", each about 2.3 % of words); message `n / 3` has
/// [`RARE_WORD`]. Deterministic (seeded), so runs compare.
pub fn corpus(n: usize) -> impl Iterator<Item = String> {
    let mut vocabulary: Vec<String> = (0..2000).map(|i| format!("w{i:04}")).collect();
    for _ in 0..50 {
        vocabulary.extend(["hello", "world", "rift", "chat"].map(String::from));
    }
    let mut rng = StdRng::seed_from_u64(7);
    (0..n).map(move |i| {
        let mut words: Vec<&str> =
            (0..8).map(|_| vocabulary.choose(&mut rng).map_or("w", String::as_str)).collect();
        if i == n / 3 {
            words[3] = RARE_WORD;
        }
        words.join(" ")
    })
}

/// Runs `search`.
///
/// # Errors
/// Set-up or seeding failed, or the options are out of range.
pub async fn search(target: &Target, options: &SearchOptions) -> Result<SearchReport> {
    check_bound("messages", options.messages, MAX_MESSAGES)?;
    check_bound("runs", options.runs, 100_000)?;
    let fx = Fixture::new(target).await?;
    let b = fx.members("b", 1, 1).await?.remove(0);
    let authors = [fx.owner.clone(), b.clone()];
    let rare_author = &authors[(options.messages / 3) % 2];
    let started = Instant::now();
    match options.seed {
        Seed::Api => {
            let sent: Vec<Result<String>> = futures_util::stream::iter(corpus(options.messages).enumerate())
                .map(|(i, content)| {
                    let (api, token, channel) = (&fx.api, authors[i % 2].token.clone(), &fx.channel_id);
                    async move { api.send(&token, channel, &content, &format!("seed-{i}")).await }
                })
                .buffer_unordered(16)
                .collect()
                .await;
            sent.into_iter().collect::<Result<Vec<_>>>()?;
        }
        Seed::Store => seed_store(target, &fx.channel_id, &authors, options.messages).await?,
    }
    let seeded_s = started.elapsed().as_secs_f64();
    // Seeding a large corpus outlasts an access token (15 minutes): sign in afresh.
    let searcher = fx.api.login(&fx.owner.username).await?;
    let channel = fx.channel_id.as_str();
    type Query<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>);
    let queries: Vec<Query<'_>> = vec![
        ("common word, channel", "hello", vec![("channel_id", channel)]),
        ("common word, everywhere", "hello", vec![]),
        ("two common words, channel", "hello world", vec![("channel_id", channel)]),
        ("phrase, channel", "\"hello world\"", vec![("channel_id", channel)]),
        ("common word, one author", "hello", vec![("author_id", b.id.as_str())]),
        ("rare word, channel", RARE_WORD, vec![("channel_id", channel)]),
        ("rare word, everywhere", RARE_WORD, vec![]),
        ("rare word, its author", RARE_WORD, vec![("author_id", rare_author.id.as_str())]),
        ("absent word, channel", ABSENT_WORD, vec![("channel_id", channel)]),
        ("absent word, everywhere", ABSENT_WORD, vec![]),
    ];
    let mut reports = Vec::new();
    let mut errors = Errors::default();
    for (label, q, filters) in queries {
        let mut params = vec![("q", q)];
        params.extend(filters);
        let mut samples = Samples::with_capacity(options.runs);
        let mut hits = 0;
        let deadline = Instant::now() + Duration::from_secs(120);
        for _ in 0..options.runs {
            let t = Instant::now();
            match fx.api.search(&searcher.token, &params).await {
                Ok(found) => {
                    samples.record(t.elapsed());
                    hits = found;
                }
                Err(error) => errors.add(label, &error),
            }
            if Instant::now() > deadline {
                break;
            }
        }
        reports.push(QueryReport { label: label.into(), q: q.into(), hits, latency: samples.summary() });
    }
    Ok(SearchReport { messages: options.messages, seed: options.seed, seeded_s, queries: reports, errors })
}

/// Writes the corpus through `rift-store` into the server's database, 64 messages at a time (on
/// SQLite the store's group commit writes them in shared transactions).
async fn seed_store(target: &Target, channel: &str, authors: &[Account; 2], n: usize) -> Result<()> {
    use rift::store::{CreateMessageOutcome, NewMessage};
    let url = target.database_url.as_deref().ok_or_else(|| {
        LoadError::Config("--seed store needs the server's database (--database-url)".into())
    })?;
    let database = rift_store::connect(url).await.map_err(|e| LoadError::Io(format!("database: {e}")))?;
    let store: &dyn rift::Store = &database;
    let channel_id: rift::ChannelId = channel.parse().map_err(|_| LoadError::Io("bad channel id".into()))?;
    let author_ids: Vec<rift::UserId> = authors
        .iter()
        .map(|a| a.id.parse().map_err(|_| LoadError::Io("bad user id".into())))
        .collect::<Result<_>>()?;
    const WRITERS: usize = 64;
    let outcomes: Vec<Result<()>> = futures_util::stream::iter(corpus(n).enumerate())
        .map(|(i, content)| {
            let message = NewMessage::new(
                rift::MessageId::new(),
                channel_id,
                author_ids[i % 2],
                content,
                chrono::Utc::now(),
            );
            async move {
                match store.create_message(&message, message.created_at).await {
                    Ok(CreateMessageOutcome::Created(_)) => Ok(()),
                    Ok(_) => Err(LoadError::Io("seeded message not created".into())),
                    Err(e) => Err(LoadError::Io(format!("database: {e}"))),
                }
            }
        })
        .buffer_unordered(WRITERS)
        .collect()
        .await;
    database.close().await;
    outcomes.into_iter().collect()
}

// ---------------------------------------------------------------------------------------------
// signup

/// `signup`: a burst of registrations, then of logins, with the server's memory around it.
#[derive(Debug, Clone)]
pub struct SignupOptions {
    /// Registrations.
    pub signups: usize,
    /// Logins afterwards (spread over the new accounts).
    pub logins: usize,
    /// Requests at a time.
    pub concurrency: usize,
    /// How long to wait after the burst before the last memory reading.
    pub settle: Duration,
}

/// What `signup` measured (memory from `/proc/PID/status`, sampled every 50 ms).
#[derive(Debug, Clone, Serialize)]
pub struct SignupReport {
    /// Registrations that succeeded.
    pub signups: usize,
    /// Logins that succeeded.
    pub logins: usize,
    /// Failures.
    pub errors: Errors,
    /// Registrations per second.
    pub signups_per_s: f64,
    /// Logins per second.
    pub logins_per_s: f64,
    /// Before the burst (KiB).
    pub rss_idle_kib: Option<u64>,
    /// Highest sample during the burst (KiB).
    pub rss_peak_kib: Option<u64>,
    /// Right after the burst (KiB).
    pub rss_after_kib: Option<u64>,
    /// `settle` after the burst (KiB).
    pub rss_settled_kib: Option<u64>,
    /// The settle time, seconds.
    pub settle_s: f64,
}

impl fmt::Display for SignupReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "signup: {} registrations ({:.1}/s), then {} logins ({:.1}/s); errors {}",
            self.signups, self.signups_per_s, self.logins, self.logins_per_s, self.errors
        )?;
        write!(
            f,
            "  server RSS idle {}  peak {}  after {}  {:.0} s later {}",
            mib(self.rss_idle_kib),
            mib(self.rss_peak_kib),
            mib(self.rss_after_kib),
            self.settle_s,
            mib(self.rss_settled_kib)
        )
    }
}

/// Samples a target's RSS every `every` until aborted; keeps the peak.
fn spawn_peak_sampler(target: &Target, every: Duration) -> (Arc<Mutex<Option<u64>>>, JoinHandle<()>) {
    let peak: Arc<Mutex<Option<u64>>> = Arc::default();
    let (pid, sink) = (target.pid, Arc::clone(&peak));
    let task = tokio::spawn(async move {
        let Some(pid) = pid else { return };
        loop {
            if let Some(kib) = crate::target::rss_kib(pid) {
                let mut peak = sink.lock().unwrap_or_else(|p| p.into_inner());
                *peak = Some(peak.map_or(kib, |p| p.max(kib)));
            }
            tokio::time::sleep(every).await;
        }
    });
    (peak, task)
}

/// Runs `signup`.
///
/// # Errors
/// The options are out of range.
pub async fn signup(target: &Target, options: &SignupOptions) -> Result<SignupReport> {
    check_bound("signups", options.signups, MAX_ACCOUNTS)?;
    check_bound("logins", options.logins.max(1), 1_000_000)?;
    check_bound("concurrency", options.concurrency, 1024)?;
    let api = Api::new(&target.base)?;
    let run = format!("{:08x}", rand::thread_rng().r#gen::<u32>());
    let rss_idle = target.rss_kib();
    let (peak, sampler) = spawn_peak_sampler(target, Duration::from_millis(50));
    let mut errors = Errors::default();
    let started = Instant::now();
    let registered: Vec<Result<Account>> = futures_util::stream::iter(0..options.signups)
        .map(|n| {
            let (api, name) = (&api, format!("ld{run}_u{n}"));
            async move { api.register(&name).await }
        })
        .buffer_unordered(options.concurrency)
        .collect()
        .await;
    let signup_s = started.elapsed().as_secs_f64();
    let names: Vec<String> = registered
        .into_iter()
        .filter_map(|r| r.map_err(|e| errors.add("register", &e)).ok())
        .map(|a| a.username)
        .collect();
    let started = Instant::now();
    let mut logins = 0;
    if !names.is_empty() {
        let logged_in: Vec<Result<Account>> = futures_util::stream::iter(0..options.logins)
            .map(|n| {
                let (api, name) = (&api, &names[n % names.len()]);
                async move { api.login(name).await }
            })
            .buffer_unordered(options.concurrency)
            .collect()
            .await;
        for outcome in logged_in {
            match outcome {
                Ok(_) => logins += 1,
                Err(error) => errors.add("login", &error),
            }
        }
    }
    let login_s = started.elapsed().as_secs_f64();
    let rss_after = target.rss_kib();
    sampler.abort();
    let rss_peak = *peak.lock().unwrap_or_else(|p| p.into_inner());
    tokio::time::sleep(options.settle).await;
    Ok(SignupReport {
        signups: names.len(),
        logins,
        errors,
        signups_per_s: names.len() as f64 / signup_s.max(1e-9),
        logins_per_s: logins as f64 / login_s.max(1e-9),
        rss_idle_kib: rss_idle,
        rss_peak_kib: rss_peak,
        rss_after_kib: rss_after,
        rss_settled_kib: target.rss_kib(),
        settle_s: options.settle.as_secs_f64(),
    })
}

// ---------------------------------------------------------------------------------------------
// soak

/// `soak`: a mixed workload for a while — REST and gateway senders, a watcher on the gateway,
/// history reads, searches and logins — sampling memory, counting errors, and at the end reading
/// back every acknowledged message.
#[derive(Debug, Clone)]
pub struct SoakOptions {
    /// How long.
    pub duration: Duration,
    /// REST messages per second (offered).
    pub rest_rate: f64,
    /// Gateway messages per second (offered).
    pub gateway_rate: f64,
    /// How often memory is sampled.
    pub sample_every: Duration,
}

/// One memory sample.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RssSample {
    /// Seconds into the run.
    pub at_s: f64,
    /// VmRSS, KiB.
    pub kib: u64,
}

/// What `soak` measured.
#[derive(Debug, Clone, Serialize)]
pub struct SoakReport {
    /// Seconds it ran.
    pub duration_s: f64,
    /// Messages acknowledged over REST.
    pub acked_rest: usize,
    /// Messages acknowledged over the gateway.
    pub acked_gateway: usize,
    /// Messages the watcher saw on the gateway.
    pub watched: usize,
    /// History pages read.
    pub history_reads: usize,
    /// Searches run.
    pub searches: usize,
    /// Logins.
    pub logins: usize,
    /// Failures by kind.
    pub errors: Errors,
    /// Acknowledged messages found when reading the channel back.
    pub verified: usize,
    /// Acknowledged messages not found.
    pub missing: usize,
    /// Memory over time.
    pub rss: Vec<RssSample>,
}

impl fmt::Display for SoakReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let acked = self.acked_rest + self.acked_gateway;
        writeln!(f, "soak: {:.0} s", self.duration_s)?;
        writeln!(
            f,
            "  acked {} (rest {}, gateway {})  watcher saw {}  history reads {}  searches {}  logins {}",
            acked,
            self.acked_rest,
            self.acked_gateway,
            self.watched,
            self.history_reads,
            self.searches,
            self.logins
        )?;
        writeln!(f, "  errors {}", self.errors)?;
        writeln!(f, "  read back {} of {} acknowledged, missing {}", self.verified, acked, self.missing)?;
        let kib: Vec<u64> = self.rss.iter().map(|s| s.kib).collect();
        match (kib.first(), kib.iter().max(), kib.last()) {
            (Some(first), Some(max), Some(last)) => write!(
                f,
                "  server RSS first {}  max {}  last {}  ({} samples)",
                mib(Some(*first)),
                mib(Some(*max)),
                mib(Some(*last)),
                kib.len()
            ),
            _ => write!(f, "  server RSS n/a (pid unknown)"),
        }
    }
}

#[derive(Default)]
struct SoakTally {
    acked_rest: Vec<String>,
    acked_gateway: Vec<String>,
    history_reads: usize,
    searches: usize,
    logins: usize,
    errors: Errors,
}

/// Runs `soak`.
///
/// # Errors
/// Set-up failed, or the options are out of range.
pub async fn soak(target: &Target, options: &SoakOptions) -> Result<SoakReport> {
    if options.duration.is_zero() || options.duration > MAX_SOAK {
        return Err(LoadError::Config(format!("duration must be between 1 s and {} s", MAX_SOAK.as_secs())));
    }
    if !(options.rest_rate > 0.0
        && options.rest_rate <= 100_000.0
        && options.gateway_rate > 0.0
        && options.gateway_rate <= 100_000.0)
    {
        return Err(LoadError::Config("rates must be between 0 and 100000 messages/s".into()));
    }
    let fx = Arc::new(Fixture::new(target).await?);
    let members = fx.members("k", 3, 3).await?;
    let (rest_sender, gateway_sender_account, watcher) =
        (members[0].clone(), members[1].clone(), members[2].clone());
    let tally = Arc::new(Mutex::new(SoakTally::default()));
    let watched = Arc::new(AtomicUsize::new(0));
    let watcher_task = {
        let watched = Arc::clone(&watched);
        spawn_reader(Gateway::connect(&target.base, &watcher.token).await?, move |frame| {
            if message_create_nonce(&frame).is_some_and(|n| n.starts_with("soak-")) {
                watched.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let started = Instant::now();
    let end = tokio::time::Instant::now() + options.duration;
    let lock = |t: &Arc<Mutex<SoakTally>>| -> SoakTally {
        std::mem::take(&mut *t.lock().unwrap_or_else(|p| p.into_inner()))
    };
    let mut tasks: Vec<JoinHandle<()>> = Vec::new();

    // REST sender: open loop, at most 64 in flight (a backlog waits, it is not dropped).
    {
        let (fx, tally, token) = (Arc::clone(&fx), Arc::clone(&tally), rest_sender.token.clone());
        let period = Duration::from_secs_f64(1.0 / options.rest_rate);
        tasks.push(tokio::spawn(async move {
            let slots = Arc::new(Semaphore::new(64));
            let mut ticker = tokio::time::interval(period);
            let mut i = 0usize;
            while tokio::time::Instant::now() < end {
                ticker.tick().await;
                let Ok(permit) = Arc::clone(&slots).acquire_owned().await else { break };
                let (fx, tally, token) = (Arc::clone(&fx), Arc::clone(&tally), token.clone());
                tokio::spawn(async move {
                    let outcome = fx
                        .api
                        .send(&token, &fx.channel_id, &format!("soak rest {i}"), &format!("soak-r{i}"))
                        .await;
                    let mut tally = tally.lock().unwrap_or_else(|p| p.into_inner());
                    match outcome {
                        Ok(id) => tally.acked_rest.push(id),
                        Err(error) => tally.errors.add("rest send", &error),
                    }
                    drop(permit);
                });
                i += 1;
            }
            // Let the last sends finish.
            let _ = slots.acquire_many(64).await;
        }));
    }
    // Gateway sender: frames at a fixed rate, acknowledged by their echo.
    {
        let (mut sink, mut stream) =
            Gateway::connect(&target.base, &gateway_sender_account.token).await?.split();
        let tally_reader = Arc::clone(&tally);
        let echo = tokio::spawn(async move {
            while let Ok(Some(frame)) = stream.next_frame().await {
                let kind = frame["type"].as_str().unwrap_or_default();
                let ours = frame["data"]["nonce"].as_str().is_some_and(|n| n.starts_with("soak-g"));
                let mut tally = tally_reader.lock().unwrap_or_else(|p| p.into_inner());
                match kind {
                    "MessageCreate" if ours => {
                        tally.acked_gateway.push(frame["data"]["id"].as_str().unwrap_or_default().to_owned())
                    }
                    "Error" => tally.errors.add_kind(format!("gateway send: {}", frame["data"]["code"])),
                    _ => {}
                }
            }
        });
        let (channel, tally) = (fx.channel_id.clone(), Arc::clone(&tally));
        let period = Duration::from_secs_f64(1.0 / options.gateway_rate);
        tasks.push(tokio::spawn(async move {
            let mut ticker = tokio::time::interval(period);
            let mut i = 0usize;
            while tokio::time::Instant::now() < end {
                ticker.tick().await;
                let frame = json!({ "type": "SendMessage", "channel_id": channel, "content": format!("soak gateway {i}"), "nonce": format!("soak-g{i}") });
                if let Err(error) = sink.send(&frame).await {
                    tally.lock().unwrap_or_else(|p| p.into_inner()).errors.add("gateway send", &error);
                    break;
                }
                i += 1;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
            echo.abort();
            sink.close().await;
        }));
    }
    // Readers: a history page every 500 ms, a search every second, a login every 5 s.
    {
        let (fx, tally) = (Arc::clone(&fx), Arc::clone(&tally));
        tasks.push(tokio::spawn(async move {
            let mut ticker = tokio::time::interval(Duration::from_millis(500));
            let mut n = 0usize;
            while tokio::time::Instant::now() < end {
                ticker.tick().await;
                let path = format!("/api/channels/{}/messages?limit=50", fx.channel_id);
                let outcome = fx.api.call(reqwest::Method::GET, &path, Some(&fx.owner.token), None).await;
                {
                    let mut t = tally.lock().unwrap_or_else(|p| p.into_inner());
                    match outcome {
                        Ok(_) => t.history_reads += 1,
                        Err(error) => t.errors.add("history", &error),
                    }
                }
                if n.is_multiple_of(2) {
                    let outcome = fx
                        .api
                        .search(&fx.owner.token, &[("q", "soak"), ("channel_id", &fx.channel_id)])
                        .await;
                    let mut t = tally.lock().unwrap_or_else(|p| p.into_inner());
                    match outcome {
                        Ok(_) => t.searches += 1,
                        Err(error) => t.errors.add("search", &error),
                    }
                }
                if n.is_multiple_of(10) {
                    let outcome = fx.api.login(&fx.owner.username).await;
                    let mut t = tally.lock().unwrap_or_else(|p| p.into_inner());
                    match outcome {
                        Ok(_) => t.logins += 1,
                        Err(error) => t.errors.add("login", &error),
                    }
                }
                n += 1;
            }
        }));
    }
    // Memory.
    let rss: Arc<Mutex<Vec<RssSample>>> = Arc::default();
    let sampler = {
        let (rss, pid, every) = (Arc::clone(&rss), target.pid, options.sample_every);
        tokio::spawn(async move {
            let Some(pid) = pid else { return };
            let mut ticker = tokio::time::interval(every);
            loop {
                ticker.tick().await;
                if let Some(kib) = crate::target::rss_kib(pid) {
                    rss.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(RssSample { at_s: started.elapsed().as_secs_f64(), kib });
                }
            }
        })
    };
    for task in tasks {
        let bounded = tokio::time::timeout(options.duration + Duration::from_secs(120), task).await;
        if bounded.is_err() {
            return Err(LoadError::Timeout("a soak task did not finish".into()));
        }
    }
    let duration_s = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    sampler.abort();
    watcher_task.abort();
    let tally = lock(&tally);
    let stored = fx.api.message_ids(&fx.owner.token, &fx.channel_id).await?;
    let acked: Vec<&String> = tally.acked_rest.iter().chain(&tally.acked_gateway).collect();
    let verified = acked.iter().filter(|id| stored.contains(id.as_str())).count();
    let rss = std::mem::take(&mut *rss.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(SoakReport {
        duration_s,
        acked_rest: tally.acked_rest.len(),
        acked_gateway: tally.acked_gateway.len(),
        watched: watched.load(Ordering::Relaxed),
        history_reads: tally.history_reads,
        searches: tally.searches,
        logins: tally.logins,
        errors: tally.errors,
        verified,
        missing: acked.len() - verified,
        rss,
    })
}
