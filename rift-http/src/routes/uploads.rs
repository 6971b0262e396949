//! Uploads: `POST /api/upload` streams one multipart `file` field to disk under a generated id
//! (never a name the client chose), and `GET /files/{id}/{secret}/{filename}` serves it back
//! (`rift/src/service/uploads.rs`). The streaming helpers also serve `imports.rs`.

use axum::body::Body;
use axum::extract::State;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rift::files::served_inline;
use rift::{NewUpload, UploadId};
use tokio::io::AsyncWriteExt;
use tokio_util::io::ReaderStream;

use crate::extract::{AuthUser, Path};
use crate::{ApiError, ApiResult, AppState};

/// Bytes kept from the start of a file for sniffing its type.
const HEAD_BYTES: usize = 512;

fn too_large(max: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        rift::ErrorCode::FileTooLarge,
        format!("files are limited to {max} bytes"),
    )
}

pub(crate) fn bad_upload(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, rift::ErrorCode::InvalidUpload, message)
}

/// Removes a partly written file when the upload fails half way.
pub(crate) struct PartialFile(pub(crate) Option<std::path::PathBuf>);

impl Drop for PartialFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// POST /api/upload
pub(crate) async fn upload(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<impl IntoResponse> {
    let mut multipart =
        multipart.map_err(|e| bad_upload(format!("expected multipart/form-data: {}", e.body_text())))?;
    let max = state.config.max_upload_bytes;
    loop {
        let field = multipart.next_field().await.map_err(|e| multipart_error(&e, max))?;
        let Some(mut field) = field else {
            return Err(bad_upload("no `file` field in the form"));
        };
        if field.name() != Some("file") {
            continue;
        }
        let filename = field.file_name().unwrap_or("file").to_owned();
        let claimed_type = field.content_type().map(str::to_owned);
        let id = UploadId::new();
        let path = state.config.upload_dir.join(id.to_string());
        let (mut guard, size, head) = write_field(&mut field, path, max).await?;
        let upload =
            state.rift.record_upload(user, NewUpload::new(id, filename, claimed_type, head, size)).await?;
        guard.0 = None;
        return Ok((StatusCode::CREATED, axum::Json(upload)));
    }
}

/// Streams a multipart field into a new file at `path` (at most `max` bytes), returning the
/// file's guard (it removes the file unless disarmed), its size and its first bytes.
pub(crate) async fn write_field(
    field: &mut axum::extract::multipart::Field<'_>,
    path: std::path::PathBuf,
    max: u64,
) -> ApiResult<(PartialFile, u64, Vec<u8>)> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await.map_err(|e| ApiError::internal(format!("upload dir: {e}")))?;
    }
    let guard = PartialFile(Some(path.clone()));
    let mut file =
        tokio::fs::File::create(&path).await.map_err(|e| ApiError::internal(format!("create: {e}")))?;
    let mut size: u64 = 0;
    let mut head = Vec::with_capacity(HEAD_BYTES);
    while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(&e, max))? {
        size += chunk.len() as u64;
        if size > max {
            return Err(too_large(max));
        }
        if head.len() < HEAD_BYTES {
            let take = (HEAD_BYTES - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
        }
        file.write_all(&chunk).await.map_err(|e| ApiError::internal(format!("write: {e}")))?;
    }
    file.sync_all().await.map_err(|e| ApiError::internal(format!("sync: {e}")))?;
    Ok((guard, size, head))
}

pub(crate) fn multipart_error(error: &axum::extract::multipart::MultipartError, max: u64) -> ApiError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(max)
    } else {
        bad_upload(error.body_text())
    }
}

/// `filename*=UTF-8''…` with everything but unreserved characters percent-encoded.
fn content_disposition(inline: bool, filename: &str) -> String {
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("{}; filename*=UTF-8''{encoded}", if inline { "inline" } else { "attachment" })
}

/// GET /files/{upload_id}/{secret}/{filename}
pub(crate) async fn download(
    State(state): State<AppState>,
    Path((upload_id, secret, _filename)): Path<(UploadId, String, String)>,
) -> ApiResult<Response> {
    let upload = state.rift.upload_by_secret(upload_id, &secret).await?;
    let path = state.config.upload_dir.join(upload.id.to_string());
    let file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(rift::Error::NotFound(rift::Resource::Upload).into());
        }
        Err(e) => return Err(ApiError::internal(format!("open upload: {e}"))),
    };
    let inline = served_inline(&upload.content_type);
    let mut response = Body::from_stream(ReaderStream::new(file)).into_response();
    let headers = response.headers_mut();
    let content_type = HeaderValue::from_str(&upload.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(upload.size.max(0) as u64));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=31536000, immutable"));
    if let Ok(value) = HeaderValue::from_str(&content_disposition(inline, &upload.filename)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_encode_names() {
        assert_eq!(content_disposition(true, "cat.png"), "inline; filename*=UTF-8''cat.png");
        assert_eq!(content_disposition(false, "a b\"c.html"), "attachment; filename*=UTF-8''a%20b%22c.html");
        assert_eq!(content_disposition(false, "猫"), "attachment; filename*=UTF-8''%E7%8C%AB");
    }
}
