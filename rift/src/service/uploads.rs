//! Uploaded files: recording them and finding them by their capability URL.

use crate::error::{Error, ErrorCode, Resource, Result};
use crate::files;
use crate::id::{UploadId, UserId};
use crate::model::Upload;

use super::Rift;

/// What the HTTP layer knows of a file it has written to disk.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewUpload {
    /// The id the file was stored under.
    pub id: UploadId,
    /// The name the client gave.
    pub filename: String,
    /// The content type the client claimed.
    pub claimed_type: Option<String>,
    /// The file's first bytes (up to 512), for sniffing.
    pub head: Vec<u8>,
    /// Its size in bytes.
    pub size: u64,
}

impl NewUpload {
    /// A file stored under `id`.
    pub fn new(
        id: UploadId,
        filename: impl Into<String>,
        claimed_type: Option<String>,
        head: Vec<u8>,
        size: u64,
    ) -> Self {
        Self { id, filename: filename.into(), claimed_type, head, size }
    }
}

fn new_secret() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Rift {
    /// Records an uploaded file: sanitised name, sniffed content type, image size, an unguessable url.
    pub async fn record_upload(&self, user_id: UserId, new: NewUpload) -> Result<Upload> {
        let upload = self.upload_record(user_id, new)?;
        self.inner.store.create_upload(&upload).await?;
        Ok(upload)
    }

    /// The record of a file: sanitised name, sniffed content type, image size, an unguessable url.
    pub(super) fn upload_record(&self, user_id: UserId, new: NewUpload) -> Result<Upload> {
        let filename = files::sanitize_filename(&new.filename);
        let content_type = files::content_type(&new.head, new.claimed_type.as_deref());
        let size = (content_type.starts_with("image/")).then(|| files::image_size(&new.head)).flatten();
        let secret = new_secret();
        let upload = Upload {
            id: new.id,
            url: Upload::url_for(new.id, &secret, &filename),
            filename,
            content_type,
            size: i64::try_from(new.size)
                .map_err(|_| Error::too_large(ErrorCode::FileTooLarge, "file is too large"))?,
            width: size.map(|(w, _)| w),
            height: size.map(|(_, h)| h),
            uploader_id: Some(user_id),
            secret,
            message_id: None,
            bridge: None,
            content_hash: None,
            created_at: Some(self.now()),
        };
        Ok(upload)
    }

    /// The upload behind a file URL, if `secret` matches; 404 otherwise.
    pub async fn upload_by_secret(&self, id: UploadId, secret: &str) -> Result<Upload> {
        match self.inner.store.upload(id).await? {
            Some(upload) if same_secret(&upload.secret, secret) => Ok(upload),
            _ => Err(Error::NotFound(Resource::Upload)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_exactly() {
        let s = new_secret();
        assert_eq!(s.len(), 32);
        assert!(same_secret(&s, &s.clone()));
        assert!(!same_secret(&s, &new_secret()));
        assert!(!same_secret(&s, &s[..31]));
    }
}
