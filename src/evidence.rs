//! The evidence store: files named by their SHA-256 under the evidence directory, written
//! atomically (temporary file, then rename), shared by every submission that uploads them.

use std::io::Write;
use std::path::PathBuf;

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

#[derive(Debug, Clone)]
pub struct EvidenceStore {
    dir: PathBuf,
}

impl EvidenceStore {
    pub fn open(dir: PathBuf) -> Result<Self, String> {
        std::fs::create_dir_all(dir.join("tmp")).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Self { dir })
    }

    pub fn path_of(&self, sha: &str) -> PathBuf {
        self.dir.join(&sha[..2.min(sha.len())]).join(sha)
    }

    /// Stores `content` under its hash; an existing identical file is kept.
    pub fn put(&self, sha: &str, content: &[u8]) -> std::io::Result<()> {
        let target = self.path_of(sha);
        if target.exists() {
            return Ok(());
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let tmp = self.dir.join("tmp").join(uuid::Uuid::new_v4().to_string());
        let result = (|| {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(content)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &target)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    pub fn read(&self, sha: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.path_of(sha))
    }

    pub fn remove(&self, sha: &str) {
        let _ = std::fs::remove_file(self.path_of(sha));
    }

    /// Files in the store (for tests and maintenance).
    pub fn count(&self) -> usize {
        std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name() != "tmp")
            .map(|e| std::fs::read_dir(e.path()).map(|d| d.count()).unwrap_or(0))
            .sum()
    }
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
