//! A `multipart/form-data` form with one file: its text fields and the file, read within a size
//! limit, with the CSRF check every form has. What is read is kept in memory, so the limit must
//! be one a request may hold.

use actix_multipart::{Field, Multipart};
use actix_session::SessionExt;
use actix_web::HttpRequest;
use futures_util::StreamExt;

use crate::error::AppError;
use crate::web::session::{body_error, csrf_matches};

/// One part of a multipart form, whole, refused with `AppError::TooLarge` past `limit` bytes.
pub async fn read_part(field: &mut Field, limit: usize) -> Result<Vec<u8>, AppError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(|e| body_error(e.into()))?;
        if bytes.len() + chunk.len() > limit {
            return Err(AppError::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// A file as uploaded.
pub struct UploadedFile {
    /// The name the browser gave, without any folder part.
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// A multipart form read whole: text fields (control characters removed) and the file of the
/// field `file_field`, if one was chosen.
pub struct Upload {
    fields: Vec<(String, String)>,
    pub file: Option<UploadedFile>,
}

impl Upload {
    pub fn field(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Reads the form. Text fields may hold 64 KiB together; a file larger than `max_file`
    /// bytes stops the reading at once with `AppError::TooLarge`. The CSRF token is checked
    /// before anything is used.
    pub async fn read(
        req: &HttpRequest,
        mut multipart: Multipart,
        file_field: &str,
        max_file: usize,
    ) -> Result<Upload, AppError> {
        const MAX_TEXT: usize = 64 * 1024;
        let mut fields = Vec::new();
        let mut file = None;
        let mut text_bytes = 0;
        while let Some(field) = multipart.next().await {
            let mut field = field.map_err(|e| body_error(e.into()))?;
            let name = field.name().unwrap_or_default().to_string();
            let file_name = field
                .content_disposition()
                .and_then(|d| d.get_filename())
                .map(|f| f.rsplit(['/', '\\']).next().unwrap_or_default().to_string());
            let is_file = name == file_field;
            let limit = if is_file {
                max_file
            } else {
                MAX_TEXT - text_bytes
            };
            let bytes = read_part(&mut field, limit).await?;
            if is_file {
                // A file input left empty still sends a part, without a name or bytes.
                let file_name = file_name.unwrap_or_default();
                if !file_name.is_empty() || !bytes.is_empty() {
                    file = Some(UploadedFile { file_name, bytes });
                }
            } else {
                text_bytes += bytes.len();
                let text = String::from_utf8_lossy(&bytes);
                fields.push((name, crate::validation::clean(&text)));
            }
        }
        let upload = Upload { fields, file };
        if !csrf_matches(&req.get_session(), upload.field("csrf_token")) {
            return Err(AppError::Csrf);
        }
        Ok(upload)
    }
}
