//! The backfill runner: reads every readable channel's history, newest to oldest, 100 messages a
//! request, storing its cursor after each page so a killed process resumes where it stopped. On a
//! restart it first reads each channel forward from the newest message it stored (catch-up), so
//! what was said while Rift was down arrives too. A channel whose history reached its first
//! message is not read backwards again; live events keep it current (the bridge never polls).
//! After a channel's reading, its pinned list is read once and mirrored.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use rift::bridge::BridgeContext;
use rift::{BackfillProgress, ChannelId};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::mapper::{HistoryTarget, Mirror};
use crate::Error;
use crate::model::{Message, Snowflake};
use crate::rest::{Client, MessagePage};

/// Messages per history request (Discord's maximum).
const PAGE: u8 = 100;
/// The history cursor value of a channel read back to its first message.
const DONE: &str = "done";

/// What the runner is told.
#[derive(Debug)]
pub(crate) enum Command {
    /// The channels the account may read now (after READY, GUILD_CREATE, a channel change).
    Targets(Vec<HistoryTarget>),
    /// Read these channels' (or every channel's) history again from the newest message; `done`
    /// is answered once every channel's reading is over.
    Refetch(Option<Vec<ChannelId>>, oneshot::Sender<()>),
}

/// What the runner knows between commands.
#[derive(Default)]
struct Plan {
    targets: Vec<HistoryTarget>,
    /// Channels read up to date (and back to their first message) during this run.
    finished: HashSet<Snowflake>,
    /// Channels whose history is complete (this run or an earlier one), for the progress count.
    done: HashSet<Snowflake>,
    /// Whether the channel list has come at least once (READY): until then a refetch cannot know
    /// its channels, so it waits.
    planned: bool,
    /// Refetches asked for in this run: channels that appear later are read again too (a bot's
    /// guilds arrive after READY).
    refetch_all: bool,
    refetch_some: HashSet<ChannelId>,
    /// Refetches waiting for the reading to be over.
    waiting: Vec<oneshot::Sender<()>>,
}

impl Plan {
    fn idle(&self) -> bool {
        self.targets.iter().all(|t| self.finished.contains(&t.remote))
    }
}

fn history_key(channel: Snowflake) -> String {
    format!("history:{channel}")
}

/// The cursor of the newest message a channel's reading has stored.
pub(crate) fn top_key(channel: Snowflake) -> String {
    format!("top:{channel}")
}

/// Runs until `commands` closes.
pub(crate) async fn run(
    mirror: Arc<Mutex<Mirror>>,
    rest: Client,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let ctx = mirror.lock().await.ctx.clone();
    let mut plan = Plan::default();
    let mut progress = ctx.progress().await.unwrap_or_default();
    loop {
        if plan.idle() {
            match commands.recv().await {
                Some(command) => apply(&ctx, command, &mut plan).await,
                None => return,
            }
        }
        // Take every waiting command before reading, so a burst of GUILD_CREATEs plans once.
        while let Ok(command) = commands.try_recv() {
            apply(&ctx, command, &mut plan).await;
        }
        progress.channels_total = u32::try_from(plan.targets.len()).unwrap_or(u32::MAX);
        for target in plan.targets.clone() {
            if plan.finished.contains(&target.remote) {
                continue;
            }
            // New commands (more channels, a refetch) are planned before the next channel.
            if !commands.is_empty() {
                break;
            }
            progress.current_channel_id = Some(target.channel_id);
            progress.channels_done = count_done(&plan.targets, &plan.done);
            let _ = ctx.set_progress(&progress).await;
            match read_channel(&mirror, &rest, target, &mut progress).await {
                Ok(()) => {
                    plan.finished.insert(target.remote);
                    plan.done.insert(target.remote);
                    // Pins change without a message event while the bridge is away: one read per channel.
                    let _mapper = mirror.lock().await;
                    if let Err(error) = super::pins::sync(&ctx, &rest, target.remote).await {
                        tracing::warn!(channel = %target.remote, %error, "cannot mirror this channel's pins");
                    }
                }
                Err(error) if is_permanent(&error) => {
                    tracing::warn!(channel = %target.remote, %error, "cannot read this channel's history; skipping it");
                    let _ = ctx.set_cursor(&history_key(target.remote), DONE).await;
                    plan.finished.insert(target.remote);
                    plan.done.insert(target.remote);
                }
                Err(error) => {
                    tracing::warn!(channel = %target.remote, %error, "reading history failed; retrying shortly");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    break;
                }
            }
        }
        progress.channels_done = count_done(&plan.targets, &plan.done);
        let idle = plan.idle();
        if idle {
            progress.current_channel_id = None;
            tracing::info!(
                channels = progress.channels_done,
                messages = progress.messages,
                "discord backfill complete"
            );
        }
        let _ = ctx.set_progress(&progress).await;
        // Answered after the progress says so, so whoever waits reads the finished figures.
        if idle && plan.planned && commands.is_empty() {
            for waiting in plan.waiting.drain(..) {
                let _ = waiting.send(());
            }
        }
    }
}

async fn apply(ctx: &BridgeContext, command: Command, plan: &mut Plan) {
    match command {
        Command::Targets(new) => {
            plan.planned = true;
            for target in new {
                if plan.targets.contains(&target) {
                    continue;
                }
                if plan.refetch_all || plan.refetch_some.remove(&target.channel_id) {
                    reset(ctx, target, plan).await;
                } else {
                    // A channel completed by an earlier run counts as done from the start.
                    let cursor = ctx.cursor(&history_key(target.remote)).await.ok().flatten();
                    if cursor.as_deref() == Some(DONE) {
                        plan.done.insert(target.remote);
                    }
                }
                plan.targets.push(target);
            }
        }
        Command::Refetch(only, done) => {
            plan.waiting.push(done);
            match &only {
                None => plan.refetch_all = true,
                Some(ids) => plan.refetch_some.extend(ids.iter().copied()),
            }
            let chosen: Vec<HistoryTarget> = plan
                .targets
                .iter()
                .filter(|t| only.as_ref().is_none_or(|ids| ids.contains(&t.channel_id)))
                .copied()
                .collect();
            for target in chosen {
                plan.refetch_some.remove(&target.channel_id);
                reset(ctx, target, plan).await;
            }
        }
    }
}

/// Makes a channel's history read again from its newest message.
async fn reset(ctx: &BridgeContext, target: HistoryTarget, plan: &mut Plan) {
    if let Err(error) = ctx.set_cursor(&history_key(target.remote), "").await {
        tracing::warn!(%error, "cannot reset a backfill cursor");
    }
    plan.finished.remove(&target.remote);
    plan.done.remove(&target.remote);
}

fn count_done(targets: &[HistoryTarget], done: &HashSet<Snowflake>) -> u32 {
    let count = targets.iter().filter(|t| done.contains(&t.remote)).count();
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// Errors that retrying will not mend: the channel is gone or closed to the account.
fn is_permanent(error: &ReadError) -> bool {
    matches!(error, ReadError::Discord(Error::Forbidden { .. } | Error::NotFound { .. }))
}

#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error(transparent)]
    Discord(#[from] Error),
    #[error(transparent)]
    Rift(#[from] rift::Error),
}

/// Catch-up forward from the newest stored message, then backwards to the first message.
async fn read_channel(
    mirror: &Arc<Mutex<Mirror>>,
    rest: &Client,
    target: HistoryTarget,
    progress: &mut BackfillProgress,
) -> Result<(), ReadError> {
    let ctx = mirror.lock().await.ctx.clone();
    let top_key = top_key(target.remote);
    let history_key = history_key(target.remote);
    if let Some(mut top) = ctx.cursor(&top_key).await?.and_then(|t| t.parse::<u64>().ok()) {
        loop {
            let page = rest.messages(target.remote, MessagePage::After(Snowflake::new(top)), PAGE).await?;
            let full = page.len() == usize::from(PAGE);
            let Some(newest) = page.iter().map(|m| m.id.get()).max() else { break };
            progress.messages += store_page(mirror, &page).await?;
            top = newest;
            ctx.set_cursor(&top_key, &top.to_string()).await?;
            if !full {
                break;
            }
        }
    }
    mirror.lock().await.caught_up.insert(target.remote);
    let history = ctx.cursor(&history_key).await?.unwrap_or_default();
    if history == DONE {
        return Ok(());
    }
    let mut before = history.parse::<u64>().ok().map(Snowflake::new);
    loop {
        let page = rest
            .messages(target.remote, before.map_or(MessagePage::Latest, MessagePage::Before), PAGE)
            .await?;
        if before.is_none()
            && let Some(newest) = page.iter().map(|m| m.id.get()).max()
        {
            let known = ctx.cursor(&top_key).await?.and_then(|t| t.parse::<u64>().ok()).unwrap_or(0);
            if newest > known {
                ctx.set_cursor(&top_key, &newest.to_string()).await?;
            }
        }
        progress.messages += store_page(mirror, &page).await?;
        let oldest = page.iter().map(|m| m.id).min();
        match oldest {
            Some(oldest) if page.len() == usize::from(PAGE) => {
                ctx.set_cursor(&history_key, &oldest.to_string()).await?;
                before = Some(oldest);
                let _ = ctx.set_progress(progress).await;
                tracing::info!(channel = %target.remote, messages = progress.messages, "discord backfill progress");
            }
            _ => {
                ctx.set_cursor(&history_key, DONE).await?;
                return Ok(());
            }
        }
    }
}

/// Stores one page, oldest first; returns how many messages were new.
async fn store_page(mirror: &Arc<Mutex<Mirror>>, page: &[Message]) -> Result<u64, ReadError> {
    let mut created = 0;
    let mut mirror = mirror.lock().await;
    for message in page.iter().rev() {
        // Parts relayed from Rift, met again in history: they are the Rift message already.
        if super::relay::is_own_part(&mirror.ctx, message.id).await {
            continue;
        }
        match mirror.message(message, true).await {
            Ok(true) => created += 1,
            Ok(false) => {}
            // A message Rift refuses (too long, say) is logged and passed over: retrying cannot
            // change it, and it must not hold up the rest of the channel.
            Err(error) if !matches!(error.kind(), rift::ErrorKind::Internal) => {
                tracing::warn!(message = %message.id, %error, "a Discord message cannot be stored; skipping it");
            }
            Err(error) => return Err(error.into()),
        }
    }
    Ok(created)
}
