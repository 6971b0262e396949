//! `/api/imports/*`: history imports from files, run as jobs that only their owner sees. The
//! upload is streamed to a temporary file; the import itself runs in the service's
//! `ImportJobs` (for Discord files, `rift_discord::import`).
//!
//! No file of its own in `rift/src/service/`: the jobs are `rift::import::ImportJobs`, and what they
//! write goes through `service/mirror.rs`.

use axum::extract::State;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::http::StatusCode;
use rift::id::ImportJobId;
use rift::import::ImportJob;

use super::uploads::{bad_upload, multipart_error, write_field};
use crate::extract::{AuthUser, Path};
use crate::{ApiResult, AppState};

/// POST /api/imports/discord — a multipart `file` (a data package ZIP, a DiscordChatExporter
/// JSON export, or a ZIP of exports with their media). Answers 202 with the job.
pub(super) async fn create_discord(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, axum::Json<ImportJob>)> {
    let mut multipart =
        multipart.map_err(|e| bad_upload(format!("expected multipart/form-data: {}", e.body_text())))?;
    let max = state.config.max_import_bytes;
    loop {
        let field = multipart.next_field().await.map_err(|e| multipart_error(&e, max))?;
        let Some(mut field) = field else {
            return Err(bad_upload("no `file` field in the form"));
        };
        if field.name() != Some("file") {
            continue;
        }
        let filename = field.file_name().unwrap_or("import").to_owned();
        let path = state.config.upload_dir.join("imports").join(ImportJobId::new().to_string());
        let (mut guard, _, _) = write_field(&mut field, path.clone(), max).await?;
        // From here the job owns the file (and removes it when done or refused).
        guard.0 = None;
        let job = state.imports.start(user, "discord", &filename, path)?;
        return Ok((StatusCode::ACCEPTED, axum::Json(job)));
    }
}

/// GET /api/imports — the caller's import jobs, newest first.
pub(super) async fn list(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<axum::Json<Vec<ImportJob>>> {
    Ok(axum::Json(state.imports.jobs(user)))
}

/// GET /api/imports/{id} — progress, and what was skipped and why.
pub(super) async fn get(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<ImportJobId>,
) -> ApiResult<axum::Json<ImportJob>> {
    Ok(axum::Json(state.imports.job(user, id)?))
}
