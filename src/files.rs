//! Files and directories only the service's own user can read: the database, signing keys and
//! evidence hold password hashes, private keys and confidential documents.

use std::io;
use std::path::Path;

/// Creates `dir` (and missing parents) with `dir` itself `0700`. A directory that exists is left
/// as it is: it may be shared (`/var/lib`, a temporary directory), and what matters is the mode
/// of the files the service puts in it.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    restrict(dir, 0o700)
}

/// Opens `path` for writing, creating it `0600` if it does not exist.
pub fn create_private(path: &Path) -> io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Makes an existing file `0600`, creating it empty when missing (SQLite takes an empty file
/// as a new database, and gives its journal files the same mode).
pub fn private_file(path: &Path) -> io::Result<()> {
    if !path.exists() {
        let mut options = std::fs::OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(path)?;
    }
    restrict(path, 0o600)
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn restrict(_: &Path, _: u32) -> io::Result<()> {
    Ok(())
}
