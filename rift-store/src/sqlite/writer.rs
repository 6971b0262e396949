//! Group commit for message sends on SQLite.
//!
//! One task owns message inserts. It takes every send that is waiting (up to [`MAX_BATCH`]) and
//! stores them in one transaction, each under its own savepoint, so one commit (one WAL sync)
//! serves the whole batch. A message that fails rolls back to its savepoint and fails alone; if
//! the batch itself cannot begin or commit, each of its messages is retried in a transaction of
//! its own. Every caller is answered only after the transaction holding its message committed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rift::store::NewMessage;
use rift::{StoreError, Timestamp};
use sqlx::{Acquire, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use crate::db::{Fail, Res};
use crate::store::messages::{Stored, store_sqlite_message};

/// Most messages one transaction takes.
const MAX_BATCH: usize = 256;
/// Sends waiting for the writer before senders wait to queue.
const QUEUE: usize = 4 * MAX_BATCH;

struct Job {
    message: NewMessage,
    nonce_since: Timestamp,
    done: oneshot::Sender<Res<Stored>>,
}

/// How many transactions the writer committed, and how many messages they held.
#[derive(Debug, Default)]
pub(crate) struct WriterCounters {
    batches: AtomicU64,
    messages: AtomicU64,
}

/// The handle senders use; cheap to clone. The writer task ends when the last handle is dropped.
#[derive(Clone)]
pub(crate) struct MessageWriter {
    queue: mpsc::Sender<Job>,
    counters: Arc<WriterCounters>,
}

impl MessageWriter {
    /// Starts the writer task on the current tokio runtime, writing through `pool`.
    pub(crate) fn start(pool: SqlitePool) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE);
        let counters = Arc::new(WriterCounters::default());
        tokio::spawn(run(pool, jobs, Arc::clone(&counters)));
        Self { queue, counters }
    }

    /// Stores `message`; returns once the transaction holding it committed (or it failed).
    pub(crate) async fn write(&self, message: NewMessage, nonce_since: Timestamp) -> Res<Stored> {
        let (done, answer) = oneshot::channel();
        self.queue.send(Job { message, nonce_since, done }).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// `(transactions committed, messages they stored)` so far.
    pub(crate) fn stats(&self) -> (u64, u64) {
        (self.counters.batches.load(Ordering::Relaxed), self.counters.messages.load(Ordering::Relaxed))
    }
}

fn stopped() -> Fail {
    StoreError::Backend("the SQLite message writer has stopped".into()).into()
}

async fn run(pool: SqlitePool, mut jobs: mpsc::Receiver<Job>, counters: Arc<WriterCounters>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let taken = std::mem::replace(&mut batch, Vec::with_capacity(MAX_BATCH));
        write_batch(&pool, taken, &counters).await;
    }
}

async fn write_batch(pool: &SqlitePool, jobs: Vec<Job>, counters: &WriterCounters) {
    match store_together(pool, &jobs).await {
        Ok(results) => {
            counters.batches.fetch_add(1, Ordering::Relaxed);
            let stored = results.iter().filter(|r| matches!(r, Ok(Stored::Created))).count();
            counters.messages.fetch_add(stored as u64, Ordering::Relaxed);
            for (job, result) in jobs.into_iter().zip(results) {
                // A caller that stopped waiting still has its message stored.
                let _ = job.done.send(result);
            }
        }
        Err(error) => {
            if jobs.len() > 1 {
                tracing::warn!(error = ?error, messages = jobs.len(), "group commit failed; storing each message alone");
            }
            for job in jobs {
                let result = store_alone(pool, &job).await;
                if result.is_ok() {
                    counters.batches.fetch_add(1, Ordering::Relaxed);
                    counters
                        .messages
                        .fetch_add(u64::from(matches!(result, Ok(Stored::Created))), Ordering::Relaxed);
                }
                let _ = job.done.send(result);
            }
        }
    }
}

/// Every job in one transaction, each under a savepoint. `Err` only when the transaction itself
/// failed (nothing of it is stored); a message's own failure is its entry in the list.
async fn store_together(pool: &SqlitePool, jobs: &[Job]) -> Res<Vec<Res<Stored>>> {
    let mut tx = pool.begin().await?;
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        let mut savepoint = tx.begin().await?;
        match store_sqlite_message(&mut savepoint, &job.message, job.nonce_since).await {
            Ok(stored) => {
                savepoint.commit().await?;
                results.push(Ok(stored));
            }
            Err(error) => {
                savepoint.rollback().await?;
                results.push(Err(error));
            }
        }
    }
    tx.commit().await?;
    Ok(results)
}

async fn store_alone(pool: &SqlitePool, job: &Job) -> Res<Stored> {
    let mut tx = pool.begin().await?;
    let stored = store_sqlite_message(&mut tx, &job.message, job.nonce_since).await?;
    tx.commit().await?;
    Ok(stored)
}
