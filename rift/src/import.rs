//! Imports of history from files (exports of another network), run as jobs.
//!
//! An [`Importer`] reads one kind of file and writes what it finds through the service's
//! idempotent `mirror_*` operations, so importing the same file twice, or importing what a bridge
//! mirrored already, changes nothing. [`ImportJobs`] runs imports in the background for their
//! owner: each job has an id, a live [`ImportReport`] (how far it got, what was skipped and why),
//! and is visible to its owner only. Jobs live in the process's memory: a restart forgets them
//! (what they imported stays, and importing the file again finishes the rest).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::Serialize;

use crate::error::{Error, ErrorCode, Resource, Result};
use crate::id::{ImportJobId, Timestamp, UserId};
use crate::service::Rift;

/// Problems kept per report; later ones are only counted (`problems_dropped`).
pub const MAX_PROBLEMS: usize = 1000;
/// Jobs kept per user (the oldest finished ones are forgotten first).
const JOBS_KEPT_PER_USER: usize = 20;
/// Imports one user may run at once.
const RUNNING_PER_USER: usize = 2;

/// Whether a problem cost a record or only a detail of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The record was not imported.
    Skipped,
    /// The record was imported without something (a file kept as a link, a reaction without
    /// its users).
    Note,
}

/// Something an import could not take as it was, and where it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportProblem {
    /// Where: a file and a line (`messages/c12/messages.csv:7`) or a JSON path
    /// (`general.json: messages[3].timestamp`).
    pub location: String,
    /// Why, for a person.
    pub reason: String,
    /// Whether the record was skipped or imported without a detail.
    pub kind: ProblemKind,
}

/// How far an import got.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Messages found so far (grows as files are read).
    pub total: u64,
    /// Messages handled (imported, already there, or skipped).
    pub done: u64,
    /// Messages stored by this import.
    pub imported: u64,
    /// Messages that were already stored (an earlier import or a bridge).
    pub unchanged: u64,
    /// Stored messages brought up to a later edit.
    pub updated: u64,
    /// Records skipped (each has a problem below while there is room).
    pub skipped: u64,
    /// Files stored from beside the export.
    pub files: u64,
    /// The problems, in the order met, at most [`MAX_PROBLEMS`].
    pub problems: Vec<ImportProblem>,
    /// Problems beyond [`MAX_PROBLEMS`], counted only.
    pub problems_dropped: u64,
}

impl ImportReport {
    /// Records a problem (counted only once the list is full). A skipped record counts as done.
    pub fn problem(&mut self, kind: ProblemKind, location: impl Into<String>, reason: impl Into<String>) {
        if kind == ProblemKind::Skipped {
            self.skipped += 1;
        }
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(ImportProblem { location: location.into(), reason: reason.into(), kind });
        } else {
            self.problems_dropped += 1;
        }
    }
}

/// Called with the report as it grows (after each message or file).
pub type Progress<'a> = &'a mut (dyn FnMut(&ImportReport) + Send);

/// Reads one kind of file into Rift for its owner.
#[async_trait]
pub trait Importer: Send + Sync + 'static {
    /// Imports `file` (uploaded as `filename`, the name problems are reported under) for
    /// `owner`, reporting through `progress`. Bad records are reported and skipped; an error
    /// means the file as a whole could not be read.
    async fn import(
        &self,
        rift: &Rift,
        owner: UserId,
        file: &Path,
        filename: &str,
        progress: Progress<'_>,
    ) -> Result<ImportReport>;
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// Reading and writing.
    Running,
    /// Finished (some records may have been skipped: see the report).
    Done,
    /// The file could not be read at all (see `error`).
    Failed,
}

/// An import job as its owner sees it.
#[derive(Debug, Clone, Serialize)]
pub struct ImportJob {
    /// The job.
    pub id: ImportJobId,
    /// The importer that runs it (e.g. `discord`).
    pub kind: String,
    /// The name of the imported file.
    pub filename: String,
    /// Where it is.
    pub status: ImportStatus,
    /// Why it failed.
    pub error: Option<String>,
    /// How far it got.
    pub report: ImportReport,
    /// When it started.
    pub created_at: Timestamp,
    /// When it ended.
    pub finished_at: Option<Timestamp>,
    #[serde(skip)]
    owner: UserId,
}

type JobTable = Arc<Mutex<HashMap<ImportJobId, ImportJob>>>;

/// Runs imports in the background, one task per job, and answers their progress to their owner.
#[derive(Clone)]
pub struct ImportJobs {
    rift: Rift,
    importers: Arc<HashMap<String, Arc<dyn Importer>>>,
    jobs: JobTable,
}

impl std::fmt::Debug for ImportJobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kinds: Vec<&String> = self.importers.keys().collect();
        f.debug_struct("ImportJobs").field("kinds", &kinds).finish_non_exhaustive()
    }
}

/// Removes an imported file once its job no longer needs it.
struct TempFile(Option<PathBuf>);

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl ImportJobs {
    /// No importer: starting a job answers 400 `unknown_import_kind`.
    pub fn new(rift: Rift) -> Self {
        Self { rift, importers: Arc::new(HashMap::new()), jobs: Arc::default() }
    }

    /// Adds an importer for files of `kind`.
    #[must_use]
    pub fn with_importer(mut self, kind: impl Into<String>, importer: Arc<dyn Importer>) -> Self {
        Arc::make_mut(&mut self.importers).insert(kind.into(), importer);
        self
    }

    /// Starts importing `file` (a temporary file, removed when the job ends) for `owner`.
    ///
    /// # Errors
    /// 400 `unknown_import_kind` when no importer reads `kind`; 409 `too_many_imports` when the
    /// owner already runs as many imports as allowed. The file is removed on error too.
    pub fn start(&self, owner: UserId, kind: &str, filename: &str, file: PathBuf) -> Result<ImportJob> {
        let file = TempFile(Some(file));
        let Some(importer) = self.importers.get(kind).cloned() else {
            return Err(Error::invalid(
                ErrorCode::UnknownImportKind,
                format!("no importer reads `{kind}` files"),
            ));
        };
        let job = {
            let mut jobs = self.jobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let running =
                jobs.values().filter(|j| j.owner == owner && j.status == ImportStatus::Running).count();
            if running >= RUNNING_PER_USER {
                return Err(Error::conflict(
                    ErrorCode::TooManyImports,
                    format!("{running} imports are running; wait for one to finish"),
                ));
            }
            forget_old_jobs(&mut jobs, owner);
            let filename: String = filename.chars().filter(|c| !c.is_control()).take(200).collect();
            let job = ImportJob {
                id: ImportJobId::new(),
                kind: kind.to_owned(),
                filename,
                status: ImportStatus::Running,
                error: None,
                report: ImportReport::default(),
                created_at: chrono::Utc::now(),
                finished_at: None,
                owner,
            };
            jobs.insert(job.id, job.clone());
            job
        };
        let (rift, jobs, id, filename) =
            (self.rift.clone(), Arc::clone(&self.jobs), job.id, job.filename.clone());
        tokio::spawn(async move {
            let path = file.0.clone().unwrap_or_default();
            let table = Arc::clone(&jobs);
            let mut progress = move |report: &ImportReport| {
                let mut jobs = table.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if let Some(job) = jobs.get_mut(&id) {
                    job.report.clone_from(report);
                }
            };
            let outcome = importer.import(&rift, owner, &path, &filename, &mut progress).await;
            drop(file);
            let mut jobs = jobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(job) = jobs.get_mut(&id) {
                job.finished_at = Some(chrono::Utc::now());
                match outcome {
                    Ok(report) => {
                        job.report = report;
                        job.status = ImportStatus::Done;
                    }
                    Err(error) => {
                        tracing::info!(job = %id, %error, "import failed");
                        job.error = Some(error.public_message());
                        job.status = ImportStatus::Failed;
                    }
                }
            }
        });
        Ok(job)
    }

    /// A job of `owner`.
    ///
    /// # Errors
    /// 404 `unknown_import` for an unknown job or another user's.
    pub fn job(&self, owner: UserId, id: ImportJobId) -> Result<ImportJob> {
        let jobs = self.jobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        jobs.get(&id).filter(|j| j.owner == owner).cloned().ok_or(Error::NotFound(Resource::Import))
    }

    /// The jobs of `owner`, newest first.
    pub fn jobs(&self, owner: UserId) -> Vec<ImportJob> {
        let jobs = self.jobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut mine: Vec<ImportJob> = jobs.values().filter(|j| j.owner == owner).cloned().collect();
        mine.sort_by_key(|job| std::cmp::Reverse(job.id));
        mine
    }
}

/// Keeps at most `JOBS_KEPT_PER_USER - 1` finished jobs of `owner`, so a new one fits.
fn forget_old_jobs(jobs: &mut HashMap<ImportJobId, ImportJob>, owner: UserId) {
    let mut finished: Vec<ImportJobId> = jobs
        .values()
        .filter(|j| j.owner == owner && j.status != ImportStatus::Running)
        .map(|j| j.id)
        .collect();
    finished.sort();
    let excess = finished.len().saturating_sub(JOBS_KEPT_PER_USER - 1);
    for id in finished.into_iter().take(excess) {
        jobs.remove(&id);
    }
}
