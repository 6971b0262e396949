//! The password-hashing pool: Argon2id needs 19 MiB per hash, so hashes run on a few dedicated
//! threads (one per core) and the rest wait in line.
//! The password rule and Argon2id hashing and verifying live here too, below both `auth` (sign-in,
//! password changes) and `users` (registration), which use them.
//!
//! Before this pool every hash ran on tokio's blocking pool, which grows to hundreds of threads: 200
//! sign-ups 8 at a time took a server from 12 MiB to 1.8 GiB, kept by the threads' malloc arenas.
//! With a fixed, small set of threads at most `workers` hashes are in memory at once, and each
//! hash's memory is freed before the next starts on that thread, so the allocator can reuse it.
//!
//! The pool is per process (a `static`): memory is a process-wide resource, so two [`Rift`]
//! instances in one process share the bound.
//!
//! [`Rift`]: super::Rift

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, LazyLock, Mutex};

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::Serialize;

use crate::error::{Error, ErrorCode, Result};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// A snapshot of the hashing pool, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct HashingStats {
    /// Threads that hash (one per core): at most this many hashes run at once.
    pub workers: usize,
    /// Hashes waiting for a thread (the queue length).
    pub queued: usize,
    /// Hashes running now.
    pub running: usize,
    /// The most hashes ever seen running at once (never above `workers`).
    pub max_running: usize,
    /// Hashes finished since the process started.
    pub completed: u64,
}

struct Counters {
    queued: AtomicUsize,
    running: AtomicUsize,
    max_running: AtomicUsize,
    completed: AtomicU64,
}

struct Pool {
    /// `None` only if no worker thread could be started (then hashing fails with an internal error).
    jobs: Option<mpsc::Sender<Job>>,
    workers: usize,
    counters: Arc<Counters>,
}

static POOL: LazyLock<Pool> = LazyLock::new(|| {
    let wanted = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    Pool::start(wanted)
});

impl Pool {
    fn start(wanted: usize) -> Self {
        let counters = Arc::new(Counters {
            queued: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            max_running: AtomicUsize::new(0),
            completed: AtomicU64::new(0),
        });
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let mut workers = 0;
        for n in 0..wanted {
            let rx = Arc::clone(&rx);
            let counters = Arc::clone(&counters);
            let spawned = std::thread::Builder::new()
                .name(format!("rift-hash-{n}"))
                .spawn(move || worker(&rx, &counters));
            match spawned {
                Ok(_) => workers += 1,
                Err(e) => tracing::error!("cannot start password-hashing thread: {e}"),
            }
        }
        Self { jobs: (workers > 0).then_some(tx), workers, counters }
    }

    fn stats(&self) -> HashingStats {
        let c = &self.counters;
        HashingStats {
            workers: self.workers,
            queued: c.queued.load(Ordering::Relaxed),
            running: c.running.load(Ordering::Relaxed),
            max_running: c.max_running.load(Ordering::Relaxed),
            completed: c.completed.load(Ordering::Relaxed),
        }
    }
}

fn worker(jobs: &Mutex<mpsc::Receiver<Job>>, counters: &Counters) {
    loop {
        // The lock is held only while waiting for the next job, never while hashing.
        let job = match jobs.lock().unwrap_or_else(|p| p.into_inner()).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        counters.queued.fetch_sub(1, Ordering::Relaxed);
        let running = counters.running.fetch_add(1, Ordering::AcqRel) + 1;
        counters.max_running.fetch_max(running, Ordering::AcqRel);
        job();
        counters.running.fetch_sub(1, Ordering::AcqRel);
        counters.completed.fetch_add(1, Ordering::Relaxed);
    }
}

/// Runs `f` on the hashing pool and waits (asynchronously) for its result.
pub(super) async fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let pool = &*POOL;
    let Some(jobs) = &pool.jobs else {
        return Err(Error::Internal("no password-hashing thread could be started".into()));
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    pool.counters.queued.fetch_add(1, Ordering::Relaxed);
    let job: Job = Box::new(move || {
        // A caller that gave up (its request was dropped) no longer wants the result.
        let _ = tx.send(f());
    });
    if jobs.send(job).is_err() {
        pool.counters.queued.fetch_sub(1, Ordering::Relaxed);
        return Err(Error::Internal("password-hashing pool is gone".into()));
    }
    rx.await.map_err(|_| Error::Internal("password-hashing task failed".into()))
}

/// The process's hashing pool now.
pub(super) fn stats() -> HashingStats {
    POOL.stats()
}

// ---- passwords: the rule, and Argon2id on the pool ----

/// A hash to verify against when the user is unknown, so that a login takes as long either way.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password_blocking("not the password of anyone").unwrap_or_default());

fn hash_password_blocking(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
}

fn verify_password_blocking(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

pub(super) async fn hash_password(password: &str) -> Result<String> {
    let password = password.to_owned();
    run(move || hash_password_blocking(&password)).await?
}

pub(super) async fn verify_password(password: &str, hash: Option<String>) -> Result<bool> {
    let password = password.to_owned();
    run(move || match hash {
        Some(hash) => verify_password_blocking(&password, &hash),
        None => {
            verify_password_blocking(&password, &DUMMY_HASH);
            false
        }
    })
    .await
}

/// Password rule: 8 to 256 characters.
pub(super) fn check_password(password: &str) -> Result<()> {
    let len = password.chars().count();
    if (8..=256).contains(&len) {
        Ok(())
    } else {
        Err(Error::invalid(ErrorCode::InvalidPassword, "password must be 8 to 256 characters"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn at_most_one_hash_per_worker_runs_at_once() {
        let workers = stats().workers;
        assert!(workers >= 1);
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..(4 * workers + 4) {
            tasks.spawn(async move { hash_password(&format!("password {n}")).await });
        }
        while let Some(done) = tasks.join_next().await {
            assert!(done.unwrap().is_ok());
        }
        // (`running` and `completed` are updated just after a result is handed over, so only the
        // bound is exact here.)
        let after = stats();
        assert!(after.max_running <= workers, "{after:?}");
    }

    #[test]
    fn a_pool_runs_every_job_with_bounded_concurrency() {
        let pool = Pool::start(2);
        assert_eq!(pool.workers, 2);
        let jobs = pool.jobs.clone().unwrap();
        let (done_tx, done_rx) = mpsc::channel();
        for n in 0..20 {
            let done_tx = done_tx.clone();
            pool.counters.queued.fetch_add(1, Ordering::Relaxed);
            jobs.send(Box::new(move || done_tx.send(n).unwrap())).unwrap();
        }
        let mut seen: Vec<i32> = (0..20).map(|_| done_rx.recv().unwrap()).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..20).collect::<Vec<_>>());
        assert!(pool.stats().max_running <= 2);
    }

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let hash = hash_password_blocking("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password_blocking("correct horse", &hash));
        assert!(!verify_password_blocking("wrong horse", &hash));
        assert!(!verify_password_blocking("correct horse", "not a phc string"));
    }

    #[test]
    fn password_length_rule() {
        assert!(check_password("1234567").is_err());
        assert!(check_password("12345678").is_ok());
        assert!(check_password(&"x".repeat(256)).is_ok());
        assert!(check_password(&"x".repeat(257)).is_err());
    }
}
