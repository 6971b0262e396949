//! Import jobs (`rift::import::ImportJobs`) and the rule of what an import may write into
//! (`Rift::may_import_into`), with a scripted importer.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rift::import::{ImportJobs, ImportReport, ImportStatus, Importer, ProblemKind, Progress};
use rift::model::BridgeRef;
use rift::store::BridgedKind;
use rift::{Config, Error, ImportJobId, RegisterInput, Rift, Store, UserId};
use tokio::sync::Semaphore;

/// Reports one problem and some progress, then waits for a permit; a file named `bad` fails.
struct Scripted {
    gate: Arc<Semaphore>,
}

#[async_trait]
impl Importer for Scripted {
    async fn import(
        &self,
        _rift: &Rift,
        _owner: UserId,
        file: &Path,
        filename: &str,
        progress: Progress<'_>,
    ) -> rift::Result<ImportReport> {
        assert!(file.exists(), "the file is there while the job runs");
        let mut report = ImportReport { total: 2, done: 1, imported: 1, ..ImportReport::default() };
        report.problem(ProblemKind::Skipped, format!("{filename}: [1]"), "malformed");
        progress(&report);
        let _permit = self.gate.acquire().await.expect("the gate");
        if filename == "bad" {
            return Err(Error::invalid(rift::ErrorCode::InvalidImport, "not an export"));
        }
        report.done = 2;
        Ok(report)
    }
}

async fn until_done(jobs: &ImportJobs, owner: UserId, id: ImportJobId) -> rift::import::ImportJob {
    for _ in 0..400 {
        let job = jobs.job(owner, id).expect("the job");
        if job.status != ImportStatus::Running {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the job did not end");
}

fn temp_file(dir: &Path, name: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, b"contents").expect("write");
    path
}

pub(crate) async fn import_jobs_report_progress_to_their_owner_only(store: Arc<dyn Store>) {
    let mut config = Config::new(b"test secret, long enough to be a secret".to_vec());
    config.rate_limits = false;
    let rift = Rift::new(store, config);
    let alice = rift.register(RegisterInput::new("alice", "password123")).await.expect("alice").user.id;
    let bob = rift.register(RegisterInput::new("bob", "password123")).await.expect("bob").user.id;
    let gate = Arc::new(Semaphore::new(0));
    let jobs = ImportJobs::new(rift.clone())
        .with_importer("scripted", Arc::new(Scripted { gate: Arc::clone(&gate) }));
    let dir = tempfile::tempdir().expect("temp dir");

    let unknown = jobs.start(alice, "other", "x", temp_file(dir.path(), "x"));
    assert_eq!(unknown.map(|j| j.id).map_err(|e| e.code().as_str()), Err("unknown_import_kind"));
    assert!(!dir.path().join("x").exists(), "a refused file is removed");

    let first = jobs.start(alice, "scripted", "good", temp_file(dir.path(), "one")).expect("start");
    let second = jobs.start(alice, "scripted", "bad", temp_file(dir.path(), "two")).expect("start");
    let third = jobs.start(alice, "scripted", "more", temp_file(dir.path(), "three"));
    assert_eq!(third.map(|j| j.id).map_err(|e| e.code().as_str()), Err("too_many_imports"));
    // Someone else's limit is their own.
    let bobs = jobs.start(bob, "scripted", "bob's", temp_file(dir.path(), "four")).expect("bob starts");

    // Progress shows while the job runs, to its owner only.
    let mut running = jobs.job(alice, first.id).expect("alice sees her job");
    for _ in 0..400 {
        if running.report.done == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        running = jobs.job(alice, first.id).expect("alice sees her job");
    }
    assert_eq!((running.status, running.report.done, running.report.total), (ImportStatus::Running, 1, 2));
    assert_eq!(jobs.job(bob, first.id).map(|j| j.id).map_err(|e| e.code().as_str()), Err("unknown_import"));
    assert_eq!(jobs.jobs(bob).iter().map(|j| j.id).collect::<Vec<_>>(), [bobs.id]);

    gate.add_permits(3);
    let done = until_done(&jobs, alice, first.id).await;
    assert_eq!((done.status, done.report.done, done.report.skipped), (ImportStatus::Done, 2, 1));
    assert_eq!(done.report.problems[0].location, "good: [1]");
    assert!(done.finished_at.is_some());
    let failed = until_done(&jobs, alice, second.id).await;
    assert_eq!((failed.status, failed.error.as_deref()), (ImportStatus::Failed, Some("not an export")));
    until_done(&jobs, bob, bobs.id).await;
    for name in ["one", "two", "four"] {
        assert!(!dir.path().join(name).exists(), "{name} is removed once its job ends");
    }
    assert_eq!(jobs.jobs(alice).iter().map(|j| j.id).collect::<Vec<_>>(), [second.id, first.id]);

    // An import writes into what is new or the importer's, never into another user's mirror.
    let guild = BridgeRef::new("discord", "42");
    assert!(rift.may_import_into(alice, BridgedKind::Server, &guild).await.expect("new"));
    let server = rift.mirror_server(bob, &guild, "Bob's guild").await.expect("mirror");
    assert!(rift.may_import_into(bob, BridgedKind::Server, &guild).await.expect("bob's"));
    assert!(!rift.may_import_into(alice, BridgedKind::Server, &guild).await.expect("not alice's"));
    let channel = BridgeRef::new("discord", "43");
    let remote = rift::RemoteChannel::new(channel.clone(), "general", rift::model::ChannelKind::Text);
    rift.mirror_channel(server.id, &remote).await.expect("channel");
    assert!(!rift.may_import_into(alice, BridgedKind::Channel, &channel).await.expect("not alice's"));
    assert!(rift.may_import_into(bob, BridgedKind::Channel, &channel).await.expect("bob's"));
    let dm = BridgeRef::new("discord", "44");
    rift.mirror_dm(bob, &dm, rift::model::ChannelKind::Dm, None, &[]).await.expect("dm");
    assert!(!rift.may_import_into(alice, BridgedKind::Channel, &dm).await.expect("not alice's DM"));
    assert!(rift.may_import_into(bob, BridgedKind::Channel, &dm).await.expect("bob's DM"));
}
