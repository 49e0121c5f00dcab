//! The file store of attachments, content-addressed: an object's key is the SHA-256 of its
//! bytes, so the same file uploaded twice is stored once and a key never changes meaning.
//! `LIMS_STORAGE_URL` picks the store through the `object_store` crate: `file:///folder`
//! (the default, under `LIMS_DATA_DIR`) or `s3://bucket/prefix` for an S3-compatible bucket
//! that several instances share (credentials and endpoint from the standard `AWS_*` variables).

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as Key;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};

/// Chunks read from the staged file and sent to the store (S3 wants parts of 5 MiB or more).
const PART: usize = 8 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("LIMS_STORAGE_URL {0:?} is not file:///folder or s3://bucket[/prefix]")]
    Url(String),
    #[error("cannot use the attachment folder {path}: {source}")]
    Folder {
        path: String,
        source: std::io::Error,
    },
    #[error("file store: {0}")]
    Store(#[from] object_store::Error),
    #[error("reading the staged upload: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Clone, Debug)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
}

impl BlobStore {
    /// The store named by `url`. A local folder is created if missing; a bucket must exist.
    pub fn open(url: &str) -> Result<BlobStore, BlobError> {
        // The folder is taken as written after `file://`, so the default under a relative
        // LIMS_DATA_DIR (`file://./data/attachments`) works as well as `file:///srv/lims`.
        if let Some(folder) = url.strip_prefix("file://") {
            if folder.is_empty() {
                return Err(BlobError::Url(url.to_string()));
            }
            std::fs::create_dir_all(folder).map_err(|source| BlobError::Folder {
                path: folder.to_string(),
                source,
            })?;
            // Evidence: a file is on disk, with its folder entry, before its record is written.
            let store = LocalFileSystem::new_with_prefix(folder)?.with_fsync(true);
            return Ok(BlobStore {
                store: Arc::new(store),
            });
        }
        let parsed = url::Url::parse(url).map_err(|_| BlobError::Url(url.to_string()))?;
        let store: Arc<dyn ObjectStore> = match parsed.scheme() {
            "s3" => {
                let bucket = parsed
                    .host_str()
                    .filter(|b| !b.is_empty())
                    .ok_or_else(|| BlobError::Url(url.to_string()))?;
                let s3 = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .build()?;
                let prefix = parsed.path().trim_matches('/');
                if prefix.is_empty() {
                    Arc::new(s3)
                } else {
                    Arc::new(PrefixStore::new(s3, prefix))
                }
            }
            _ => return Err(BlobError::Url(url.to_string())),
        };
        Ok(BlobStore { store })
    }

    /// The key of the bytes whose SHA-256 is `sha256` (64 lower-case hex digits), spread over
    /// 256 folders so no folder grows huge.
    pub fn key_for(sha256: &str) -> String {
        format!("sha256/{}/{sha256}", &sha256[..2])
    }

    /// Stores the file at `path` under `key` unless an object is already there (the same
    /// bytes, the key being their hash). A local store writes a temporary file and renames
    /// it; S3 completes a multipart upload only at the end; a failure aborts, so a key never
    /// holds part of a file.
    pub async fn put_file(&self, key: &str, path: &Path) -> Result<(), BlobError> {
        let key = Key::from(key);
        match self.store.head(&key).await {
            Ok(_) => return Ok(()),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let mut file = std::fs::File::open(path)?;
        let mut upload =
            WriteMultipart::new_with_chunk_size(self.store.put_multipart(&key).await?, PART);
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    let _ = upload.abort().await;
                    return Err(e.into());
                }
            };
            if let Err(e) = upload.wait_for_capacity(4).await {
                let _ = upload.abort().await;
                return Err(e.into());
            }
            upload.write(&buf[..n]);
        }
        upload.finish().await?;
        Ok(())
    }

    /// Stores `bytes` under `key` unless an object is already there (the same bytes, the key
    /// being their hash).
    pub async fn put_bytes(&self, key: &str, bytes: Vec<u8>) -> Result<(), BlobError> {
        let key = Key::from(key);
        match self.store.head(&key).await {
            Ok(_) => Ok(()),
            Err(object_store::Error::NotFound { .. }) => {
                self.store.put(&key, bytes.into()).await?;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces the object under `key` (tests use it to tamper with a stored file).
    pub async fn overwrite(&self, key: &str, bytes: Vec<u8>) -> Result<(), BlobError> {
        self.store.put(&Key::from(key), bytes.into()).await?;
        Ok(())
    }

    /// The bytes under `key`, whole (uploads are bounded by `LIMS_MAX_UPLOAD_MB`), so the
    /// caller can check them before handing any out.
    pub async fn get(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        let got = self.store.get(&Key::from(key)).await?;
        Ok(got.bytes().await?.to_vec())
    }

    /// Whether an object is stored under `key`.
    pub async fn exists(&self, key: &str) -> Result<bool, BlobError> {
        match self.store.head(&Key::from(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_folder_and_bad_urls() {
        let folder = format!("target/blob-test-{}", uuid::Uuid::new_v4().simple());
        BlobStore::open(&format!("file://./{folder}")).expect("relative folder");
        assert!(std::path::Path::new(&folder).is_dir());
        std::fs::remove_dir_all(&folder).unwrap();
        for bad in ["file://", "ftp://host/x", "s3://", "attachments"] {
            assert!(BlobStore::open(bad).is_err(), "{bad}");
        }
    }
}

/// The store used from blocking code (a database transaction on a blocking thread, the
/// command line): each call waits for the async store on `runtime`. Never call it from async
/// code, which would block its executor.
#[derive(Clone)]
pub struct Blocking {
    pub store: BlobStore,
    pub runtime: tokio::runtime::Handle,
}

impl Blocking {
    pub fn get(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        self.runtime.block_on(self.store.get(key))
    }

    pub fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), BlobError> {
        self.runtime.block_on(self.store.put_bytes(key, bytes))
    }
}
