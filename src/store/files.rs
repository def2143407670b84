//! Creates the database's folders and files with owner-only permissions
//! before SQLite touches them.
//!
//! SQLite creates its -wal and -shm files with the permissions of the main
//! database file, so getting the main file right here is what keeps every
//! file of the store private. This file must not open SQLite connections.

use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use super::StoreError;
use crate::private_files;

/// Creates every missing folder above `path`, owner-only (the folders may hold health data).
pub(crate) fn create_parent_folders(path: &Path) -> Result<(), StoreError> {
    private_files::create_parent_folders(path).map_err(|source| StoreError::Io {
        path: path.parent().unwrap_or(path).to_path_buf(),
        source,
    })
}

/// Creates `path` as an empty owner-only file; fails if anything already
/// exists there, so callers can rely on owning what they write.
pub(crate) fn create_private_file(path: &Path) -> Result<(), StoreError> {
    private_files::owner_only()
        .write(true)
        .create_new(true)
        .open(path)
        .map(drop)
        .map_err(|source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        })
}

/// Makes sure the database file exists, creating it owner-only when missing.
/// An existing file is left exactly as it is (not even reopened for writing).
pub(crate) fn ensure_database_file(path: &Path) -> Result<(), StoreError> {
    create_parent_folders(path)?;
    match create_private_file(path) {
        Err(StoreError::Io { source, .. }) if source.kind() == ErrorKind::AlreadyExists => Ok(()),
        other => other,
    }
}

/// Best-effort removal of a half-written file we created ourselves.
pub(crate) fn remove_quietly(path: &Path) {
    if let Err(error) = fs::remove_file(path) {
        tracing::warn!(path = %path.display(), %error, "could not remove a partial file");
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0)
    }

    #[test]
    fn creates_missing_folders_owner_only_and_the_file_0600() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("a").join("b").join("db.sqlite");
        ensure_database_file(&path).unwrap();
        assert_eq!(mode_of(&path), 0o600);
        assert_eq!(mode_of(&dir.path().join("a")), 0o700);
        assert_eq!(mode_of(&dir.path().join("a").join("b")), 0o700);
    }

    #[test]
    fn leaves_an_existing_file_and_its_contents_alone() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("db.sqlite");
        fs::write(&path, b"keep me").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        ensure_database_file(&path).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"keep me");
        assert_eq!(mode_of(&path), 0o640);
    }

    #[test]
    fn a_private_file_is_never_created_over_an_existing_one() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("taken");
        fs::write(&path, b"x").unwrap();
        let error = create_private_file(&path).unwrap_err();
        assert!(
            matches!(error, StoreError::Io { source, .. } if source.kind() == ErrorKind::AlreadyExists)
        );
    }
}
