//! The master key file: read it, refusing one that others may access, or create it once
//! with owner-only permissions. The only file this module touches.

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::{MasterKey, SecretsError};
use crate::private_files;

/// The key file's name beside the database when no other is configured.
pub const DEFAULT_KEY_FILE_NAME: &str = "master.key";

/// A key file's contents are a line of base64; more than this is not a key file and is not
/// read further (keeps the read buffer fixed, so no copy of it is left behind by growth).
const MAX_FILE_LEN: usize = 1024;

/// `master.key` in the database's folder: the file the caller passes to
/// [`MasterKey::load`] as its default.
pub fn default_key_file(database: &Path) -> PathBuf {
    database.with_file_name(DEFAULT_KEY_FILE_NAME)
}

pub(super) fn load_or_create(path: &Path) -> Result<MasterKey, SecretsError> {
    if let Some(text) = read_private(path)? {
        let key = parse(&text, path)?;
        tracing::info!(path = %path.display(), fingerprint = key.fingerprint(), "master key loaded");
        return Ok(key);
    }
    let key = MasterKey::generate()?;
    match create(path, &key) {
        Ok(()) => {
            tracing::warn!(
                path = %path.display(),
                fingerprint = key.fingerprint(),
                "created a new master key file; back it up with the database, sealed secrets cannot be opened without it"
            );
            Ok(key)
        }
        Err(SecretsError::KeyFile { source, .. }) if source.kind() == ErrorKind::AlreadyExists => {
            // Another process created it between our read and our create: use its key.
            read_after_losing_the_race(path)
        }
        Err(error) => Err(error),
    }
}

/// Creates `path` holding `key`, never over an existing file. The key is written and synced
/// to a private temporary file first and then hard-linked into place, which fails if `path`
/// exists: so `path` appears whole or not at all, and of two processes starting at once
/// one creates it and the other reads a complete key, however slow the disk.
pub(super) fn create(path: &Path, key: &MasterKey) -> Result<(), SecretsError> {
    create_parent_folders(path)?;
    let staging = staging_path(path)?;
    let mut file = private_files::owner_only()
        .write(true)
        .create_new(true)
        .open(&staging)
        .map_err(|source| io_error(path, "create", source))?;
    let written = file
        .write_all(&key.encoded_line())
        .and_then(|()| file.sync_all());
    drop(file);
    let placed = written
        .map_err(|source| io_error(path, "write", source))
        .and_then(|()| {
            std::fs::hard_link(&staging, path).map_err(|source| io_error(path, "create", source))
        });
    if let Err(error) = std::fs::remove_file(&staging) {
        tracing::warn!(path = %staging.display(), %error, "could not remove a staging key file");
    }
    placed?;
    sync_parent_folder(path);
    Ok(())
}

/// A unique name beside `path`, so the hard link stays within one file system.
fn staging_path(path: &Path) -> Result<PathBuf, SecretsError> {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .ok_or_else(|| io_error(path, "create", ErrorKind::InvalidInput.into()))?;
    let mut nonce = [0u8; 8];
    super::key::fill_random(&mut nonce)?;
    name.push(format!(".{}.tmp", u64::from_le_bytes(nonce)));
    Ok(path.with_file_name(name))
}

/// The file's contents, `None` if it does not exist; refused if it is not owner-only.
fn read_private(path: &Path) -> Result<Option<Zeroizing<Vec<u8>>>, SecretsError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(source) if source.kind() == ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(io_error(path, "read", source)),
    };
    // Checked on the open handle, so the file inspected is the file read.
    refuse_if_shared(path, &file)?;
    let mut text = Zeroizing::new(Vec::with_capacity(MAX_FILE_LEN + 1));
    file.take(MAX_FILE_LEN as u64 + 1)
        .read_to_end(&mut text)
        .map_err(|source| io_error(path, "read", source))?;
    Ok(Some(text))
}

fn read_after_losing_the_race(path: &Path) -> Result<MasterKey, SecretsError> {
    match read_private(path)? {
        Some(text) => parse(&text, path),
        None => Err(io_error(path, "read", ErrorKind::NotFound.into())),
    }
}

fn parse(text: &[u8], path: &Path) -> Result<MasterKey, SecretsError> {
    MasterKey::from_base64(text, &format!("the key file {}", path.display()))
}

#[cfg(unix)]
fn refuse_if_shared(path: &Path, file: &File) -> Result<(), SecretsError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = file
        .metadata()
        .map_err(|source| io_error(path, "inspect", source))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(SecretsError::KeyFileNotPrivate {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

/// Windows has no mode bits; the file inherits its folder's ACL.
#[cfg(not(unix))]
fn refuse_if_shared(_path: &Path, _file: &File) -> Result<(), SecretsError> {
    Ok(())
}

fn create_parent_folders(path: &Path) -> Result<(), SecretsError> {
    private_files::create_parent_folders(path)
        .map_err(|source| io_error(path, "create the folders for", source))
}

/// Makes the new file's name durable: losing the key after a crash would lose every secret
/// sealed with it. Best effort; the file itself is already synced.
fn sync_parent_folder(path: &Path) {
    if let Err(error) = private_files::sync_parent_folder(path) {
        tracing::warn!(path = %path.display(), %error, "could not sync the master key's folder");
    }
}

fn io_error(path: &Path, action: &'static str, source: std::io::Error) -> SecretsError {
    SecretsError::KeyFile {
        path: path.to_path_buf(),
        action,
        source,
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::*;
    use crate::config::SecretsConfig;

    fn file_config(path: Option<&Path>) -> SecretsConfig {
        SecretsConfig {
            master_key_file: path.map(Path::to_path_buf),
            master_key: None,
        }
    }

    #[cfg(unix)]
    fn mode_of(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_key_file_is_created_once_with_mode_0600_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir
            .path()
            .join("data")
            .join("consilium")
            .join(DEFAULT_KEY_FILE_NAME);
        let first = MasterKey::load(&file_config(None), &path).unwrap();
        let contents = fs::read(&path).unwrap();
        assert_eq!(STANDARD.decode(contents.trim_ascii()).unwrap().len(), 32);
        #[cfg(unix)]
        {
            assert_eq!(mode_of(&path), 0o600);
            assert_eq!(mode_of(&dir.path().join("data")), 0o700);
            assert_eq!(mode_of(&dir.path().join("data").join("consilium")), 0o700);
        }
        let second = MasterKey::load(&file_config(None), &path).unwrap();
        assert_eq!(first.fingerprint(), second.fingerprint());
        assert_eq!(fs::read(&path).unwrap(), contents);
    }

    #[test]
    fn processes_starting_together_agree_on_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DEFAULT_KEY_FILE_NAME);
        let fingerprints: Vec<String> = std::thread::scope(|scope| {
            let loads: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| MasterKey::load(&file_config(None), &path)))
                .collect();
            loads
                .into_iter()
                .map(|load| load.join().unwrap().unwrap().fingerprint().to_string())
                .collect()
        });
        assert!(
            fingerprints.iter().all(|f| f == &fingerprints[0]),
            "{fingerprints:?}"
        );
    }

    #[test]
    fn the_configured_key_file_wins_over_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let configured = dir.path().join("elsewhere.key");
        let default = dir.path().join(DEFAULT_KEY_FILE_NAME);
        MasterKey::load(&file_config(Some(&configured)), &default).unwrap();
        assert!(configured.exists());
        assert!(!default.exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DEFAULT_KEY_FILE_NAME);
        let key = MasterKey::generate().unwrap();
        key.write_key_file(&path).unwrap();
        let text = String::from_utf8(fs::read(&path).unwrap()).unwrap();
        for mode in [0o644, 0o640, 0o604, 0o660] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            let error = MasterKey::load(&file_config(None), &path).unwrap_err();
            let message = error.to_string();
            assert!(
                matches!(error, SecretsError::KeyFileNotPrivate { .. }),
                "{message}"
            );
            assert!(message.contains(&path.display().to_string()), "{message}");
            assert!(message.contains("chmod 600"), "{message}");
            assert!(!message.contains(text.trim()), "{message}");
        }
        // Nothing was rewritten while refusing.
        assert_eq!(fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn the_environment_key_wins_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DEFAULT_KEY_FILE_NAME);
        let from_file = MasterKey::load(&file_config(None), &path).unwrap();
        let env_bytes = [0x42u8; 32];
        let config = SecretsConfig {
            master_key: Some(STANDARD.encode(env_bytes)),
            master_key_file: Some(path.clone()),
        };
        let from_env = MasterKey::load(&config, &path).unwrap();
        assert_ne!(from_env.fingerprint(), from_file.fingerprint());
        let expected = MasterKey::from_bytes(Zeroizing::new(env_bytes));
        assert_eq!(from_env.fingerprint(), expected.fingerprint());
        // With the key in the environment no key file is read or created.
        let absent = dir.path().join("absent").join(DEFAULT_KEY_FILE_NAME);
        MasterKey::load(&config, &absent).unwrap();
        assert!(!absent.exists() && !dir.path().join("absent").exists());
    }

    #[test]
    fn a_malformed_key_file_is_refused_without_echoing_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DEFAULT_KEY_FILE_NAME);
        for contents in [
            STANDARD.encode([0x33u8; 31]),
            "Zm9vYmFyYmF6cXV4~~~~".to_string(),
            "\n".to_string(),
        ] {
            let _ = fs::remove_file(&path);
            File::create_new(&path)
                .unwrap()
                .write_all(contents.as_bytes())
                .unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
            }
            let error = MasterKey::load(&file_config(None), &path).unwrap_err();
            let message = error.to_string();
            assert!(
                matches!(error, SecretsError::MalformedKey { .. }),
                "{message}"
            );
            assert!(message.contains(&path.display().to_string()), "{message}");
            let trimmed = contents.trim();
            assert!(
                trimmed.is_empty() || !message.contains(&trimmed[..8]),
                "{message}"
            );
        }
    }

    #[test]
    fn writing_a_key_file_never_replaces_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DEFAULT_KEY_FILE_NAME);
        let first = MasterKey::generate().unwrap();
        first.write_key_file(&path).unwrap();
        let error = MasterKey::generate()
            .unwrap()
            .write_key_file(&path)
            .unwrap_err();
        assert!(
            matches!(&error, SecretsError::KeyFile { source, .. } if source.kind() == ErrorKind::AlreadyExists)
        );
        let loaded = MasterKey::load(&file_config(None), &path).unwrap();
        assert_eq!(loaded.fingerprint(), first.fingerprint());
    }

    #[test]
    fn the_default_key_file_sits_beside_the_database() {
        assert_eq!(
            default_key_file(Path::new("data/consilium.db")),
            Path::new("data").join(DEFAULT_KEY_FILE_NAME)
        );
    }
}
