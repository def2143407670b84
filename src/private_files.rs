//! Owner-only files and folders on disk: the database and its backups, the master key file
//! and the audit checkpoint file all hold what only the server's user may read. One place
//! decides the modes, so no caller can drift from them.
//!
//! It creates and syncs; it must not read or interpret what the files contain.

use std::fs::{DirBuilder, OpenOptions};
use std::io;
use std::path::Path;

/// Owner-only folder mode: the folders may hold health data and keys.
#[cfg(unix)]
pub const PRIVATE_DIR_MODE: u32 = 0o700;
/// Owner-only file mode.
#[cfg(unix)]
pub const PRIVATE_FILE_MODE: u32 = 0o600;

/// Creates every missing folder above `path`, owner-only. Folders that already exist keep
/// their permissions: the operator may share them on purpose.
pub fn create_parent_folders(path: &Path) -> io::Result<()> {
    let Some(parent) = parent_of(path) else {
        return Ok(());
    };
    let mut builder = DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(PRIVATE_DIR_MODE);
    }
    builder.create(parent)
}

/// Open options that create a file owner-only (mode 0600 on unix); the caller adds how it
/// opens (`create_new`, `append`, …).
pub fn owner_only() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(PRIVATE_FILE_MODE);
    }
    options
}

/// Makes a new file's name durable: a file is only there after a crash once its folder's
/// entry is synced. A no-op where folders cannot be synced.
pub fn sync_parent_folder(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let parent = parent_of(path).unwrap_or_else(|| Path::new("."));
        std::fs::File::open(parent)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn parent_of(path: &Path) -> Option<&Path> {
    path.parent().filter(|p| !p.as_os_str().is_empty())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode_of(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn missing_folders_are_created_owner_only_and_existing_ones_are_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let file = dir.path().join("a").join("b").join("f");
        create_parent_folders(&file).unwrap();
        assert_eq!(mode_of(&dir.path().join("a")), 0o700);
        assert_eq!(mode_of(&dir.path().join("a").join("b")), 0o700);
        assert_eq!(mode_of(dir.path()), 0o755);
        sync_parent_folder(&file).unwrap();
    }

    #[test]
    fn files_opened_with_owner_only_are_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        owner_only()
            .write(true)
            .create_new(true)
            .open(&path)
            .unwrap();
        assert_eq!(mode_of(&path), 0o600);
    }
}
