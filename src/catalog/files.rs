//! The raw files of a catalog folder: the built-in copy compiled into the binary, with an
//! operator's folder laid over it (same relative path replaces, a new path adds).

use std::path::Path;

use include_dir::{Dir, include_dir};

use super::CatalogError;

pub static BUILTIN_TOOLS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/tools");
pub static BUILTIN_PROMPTS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/prompts");

/// Override files larger than this are refused: catalog files are small text.
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct CatalogFile {
    /// Path relative to the catalog folder, with `/` separators.
    pub relative_path: String,
    /// Where it came from, for error messages: `built-in` or the override folder.
    pub origin: String,
    pub text: String,
}

pub fn merged(
    builtin: &Dir<'static>,
    overlay: Option<&Path>,
) -> Result<Vec<CatalogFile>, CatalogError> {
    let mut files = Vec::new();
    collect_builtin(builtin, &mut files)?;
    if let Some(root) = overlay {
        let mut overrides = Vec::new();
        collect_dir(root, root, &mut overrides)?;
        for file in overrides {
            match files
                .iter_mut()
                .find(|f| f.relative_path == file.relative_path)
            {
                Some(existing) => *existing = file,
                None => files.push(file),
            }
        }
    }
    files.sort_by(|a, b| a.relative_path.cmp(&b.relative_path));
    Ok(files)
}

fn collect_builtin(dir: &Dir<'static>, out: &mut Vec<CatalogFile>) -> Result<(), CatalogError> {
    for file in dir.files() {
        let relative_path = file.path().to_string_lossy().replace('\\', "/");
        let text = file.contents_utf8().ok_or_else(|| CatalogError::Invalid {
            origin: format!("built-in {relative_path}"),
            message: "not UTF-8 text".into(),
        })?;
        out.push(CatalogFile {
            relative_path,
            origin: "built-in".into(),
            text: text.to_string(),
        });
    }
    for sub in dir.dirs() {
        collect_builtin(sub, out)?;
    }
    Ok(())
}

fn collect_dir(root: &Path, dir: &Path, out: &mut Vec<CatalogFile>) -> Result<(), CatalogError> {
    let read_err = |source| CatalogError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(read_err)?
        .collect::<Result<_, _>>()
        .map_err(read_err)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type().map_err(|source| CatalogError::Read {
            path: path.clone(),
            source,
        })?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if kind.is_dir() {
            collect_dir(root, &path, out)?;
        } else if kind.is_file() {
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            if size > MAX_FILE_BYTES {
                return Err(CatalogError::Invalid {
                    origin: path.display().to_string(),
                    message: format!("larger than {MAX_FILE_BYTES} bytes"),
                });
            }
            let text = std::fs::read_to_string(&path).map_err(|source| CatalogError::Read {
                path: path.clone(),
                source,
            })?;
            let relative_path = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            out.push(CatalogFile {
                relative_path,
                origin: root.display().to_string(),
                text,
            });
        }
    }
    Ok(())
}
