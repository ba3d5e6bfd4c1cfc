//! The evidence store: content named by its SHA-256, shared by every submission that uploads
//! it, kept on disk or in the database (see [`EvidenceStore`]); and the checks on file types.

use std::io::Write;
use std::path::{Path, PathBuf};

use actix_web::web;

use crate::config::{EvidenceStoreKind, Settings};
use crate::db::evidence::blobs;
use crate::db::{Backend, Db};
use crate::error::AppError;

/// Evidence file types accepted, with their extensions and leading bytes.
pub const TYPES: [(&str, &[&str], &[u8]); 3] = [
    ("application/pdf", &["pdf"], b"%PDF-"),
    ("image/png", &["png"], b"\x89PNG\r\n\x1a\n"),
    ("image/jpeg", &["jpg", "jpeg"], b"\xFF\xD8\xFF"),
];

/// Checks that the declared type is accepted, the extension belongs to it and the content
/// starts like it. The error says which check failed.
pub fn check_type(declared: &str, filename: &str, content: &[u8]) -> Result<(), String> {
    let (_, exts, magic) = TYPES
        .iter()
        .find(|(t, ..)| *t == declared)
        .ok_or_else(|| format!("{declared} is not accepted; send PDF, PNG or JPEG"))?;
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if !exts.contains(&ext.as_str()) {
        return Err(format!(
            "a {declared} file must be named .{}",
            exts.join(" or .")
        ));
    }
    if !content.starts_with(magic) {
        return Err(format!("the content is not {declared}"));
    }
    Ok(())
}

/// Why the store could not keep a file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The disk (or the database's disk) has no room: the client may retry later.
    #[error("no space left for evidence: {0}")]
    Full(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Db(#[from] AppError),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Full(msg) => AppError::InsufficientStorage(msg),
            StoreError::Io(e) => AppError::internal(format!("evidence store: {e}")),
            StoreError::Db(e) => e,
        }
    }
}

/// Where evidence content lives: files on this instance's disk, or rows in the database that
/// every instance shares. Both are content-addressed by SHA-256, so a file uploaded twice is
/// kept once, and both write a file completely or not at all.
#[derive(Clone)]
pub enum EvidenceStore {
    /// `<dir>/<first two hex digits>/<sha256>`, written to `<dir>/tmp` first and renamed.
    Disk(PathBuf),
    /// The `evidence_blobs` table.
    Database(Db),
}

/// Whether an I/O error means the disk is full (ENOSPC) or a quota is exhausted (EDQUOT).
fn is_full(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

impl EvidenceStore {
    /// The store `settings` name: `disk` (under the evidence directory), `database`, or by
    /// default the database on PostgreSQL (shared by every instance) and the disk on SQLite.
    pub fn open(settings: &Settings, db: &Db) -> Result<Self, String> {
        let kind = settings.evidence_store.unwrap_or(match db.backend() {
            Backend::Postgres => EvidenceStoreKind::Database,
            Backend::Sqlite => EvidenceStoreKind::Disk,
        });
        match kind {
            EvidenceStoreKind::Disk => {
                let dir = settings.evidence_dir();
                crate::files::private_dir(&dir)
                    .and_then(|()| crate::files::private_dir(&dir.join("tmp")))
                    .map_err(|e| format!("{}: {e}", dir.display()))?;
                Ok(Self::Disk(dir))
            }
            EvidenceStoreKind::Database => Ok(Self::Database(db.clone())),
        }
    }

    /// Stores `content` under its hash; identical content already stored is kept.
    pub async fn put(&self, sha: &str, content: Vec<u8>) -> Result<(), StoreError> {
        match self {
            Self::Disk(dir) => {
                let (dir, sha) = (dir.clone(), sha.to_owned());
                web::block(move || put_file(&dir, &sha, &content))
                    .await
                    .map_err(|e| StoreError::Io(std::io::Error::other(e.to_string())))?
                    .map_err(|e| {
                        if is_full(&e) {
                            StoreError::Full(e.to_string())
                        } else {
                            StoreError::Io(e)
                        }
                    })
            }
            Self::Database(db) => {
                let sha = sha.to_owned();
                Ok(db
                    .write(move |conn| blobs::put(conn, &sha, &content))
                    .await?)
            }
        }
    }

    /// The content stored under `sha`.
    pub async fn read(&self, sha: &str) -> Result<Vec<u8>, StoreError> {
        match self {
            Self::Disk(dir) => {
                let path = path_of(dir, sha);
                web::block(move || std::fs::read(path))
                    .await
                    .map_err(|e| StoreError::Io(std::io::Error::other(e.to_string())))?
                    .map_err(StoreError::Io)
            }
            Self::Database(db) => {
                let sha = sha.to_owned();
                let found = db.read(move |conn| blobs::get(conn, &sha)).await?;
                found.ok_or_else(|| {
                    StoreError::Io(std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "no such evidence content",
                    ))
                })
            }
        }
    }

    /// Removes the content under `sha` (once no evidence row refers to it).
    pub async fn remove(&self, sha: &str) {
        match self {
            Self::Disk(dir) => {
                let _ = std::fs::remove_file(path_of(dir, sha));
            }
            Self::Database(db) => {
                let sha = sha.to_owned();
                let removed = db.write(move |conn| blobs::remove(conn, &sha)).await;
                if let Err(e) = removed {
                    tracing::warn!(error = %e, "unreferenced evidence content left in the database");
                }
            }
        }
    }

    /// Pieces of content in the store (for tests and maintenance).
    pub async fn count(&self) -> Result<usize, StoreError> {
        match self {
            Self::Disk(dir) => Ok(std::fs::read_dir(dir)?
                .flatten()
                .filter(|e| e.file_name() != "tmp")
                .map(|e| std::fs::read_dir(e.path()).map(|d| d.count()).unwrap_or(0))
                .sum()),
            Self::Database(db) => Ok(db.read(blobs::count).await?),
        }
    }

    /// Temporary files left in a disk store (none unless a write is under way).
    pub fn partial_files(&self) -> usize {
        match self {
            Self::Disk(dir) => std::fs::read_dir(dir.join("tmp"))
                .map(|d| d.count())
                .unwrap_or(0),
            Self::Database(_) => 0,
        }
    }
}

fn path_of(dir: &Path, sha: &str) -> PathBuf {
    dir.join(&sha[..2.min(sha.len())]).join(sha)
}

/// Writes a file atomically: a temporary file, synced, renamed into place. On any error the
/// temporary file is removed, so a full disk leaves nothing behind.
fn put_file(dir: &Path, sha: &str, content: &[u8]) -> std::io::Result<()> {
    let target = path_of(dir, sha);
    if target.exists() {
        return Ok(());
    }
    if let Some(parent) = target.parent() {
        crate::files::private_dir(parent)?;
    }
    let tmp = dir.join("tmp").join(uuid::Uuid::new_v4().to_string());
    let result = (|| {
        let mut file = crate::files::create_private(&tmp)?;
        file.write_all(content)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_checked_three_ways() {
        assert!(check_type("application/pdf", "a.pdf", b"%PDF-1.7 ...").is_ok());
        assert!(check_type("image/jpeg", "photo.JPEG", b"\xFF\xD8\xFF\xE0").is_ok());
        assert!(check_type("image/gif", "a.gif", b"GIF89a").is_err());
        assert!(check_type("application/pdf", "a.png", b"%PDF-1.7").is_err());
        assert!(check_type("application/pdf", "a.pdf", b"\x89PNG\r\n\x1a\n").is_err());
    }
}
