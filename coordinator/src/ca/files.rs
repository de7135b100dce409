//! Files of the CA: private keys readable by their owner only (0600), and writes that leave
//! either the old file or the new one, never half of one.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::CaError;

/// Who may read a file written here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// A certificate: anyone may read it (0644).
    Public,
    /// A private key: the owner only (0600).
    Secret,
}

impl Mode {
    #[cfg(unix)]
    fn bits(self) -> u32 {
        match self {
            Mode::Public => 0o644,
            Mode::Secret => 0o600,
        }
    }
}

/// Reads a text file, naming it in the error.
pub(super) fn read(path: &Path) -> Result<String, CaError> {
    fs::read_to_string(path).map_err(|source| CaError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Creates the directory `dir` (and its parents) if missing; a directory made here is
/// private to its owner (0700) since it will hold keys.
pub(super) fn create_dir(dir: &Path) -> Result<(), CaError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| CaError::Write {
        path: dir.to_owned(),
        source,
    })
}

/// Writes `path`, failing if it already exists.
pub(super) fn create_new(path: &Path, contents: &str, mode: Mode) -> Result<(), CaError> {
    let error = |source| CaError::Write {
        path: path.to_owned(),
        source,
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode.bits());
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(error)?;
    file.write_all(contents.as_bytes()).map_err(error)?;
    file.sync_all().map_err(error)
}

/// Writes `path`, replacing any file there at once (a temporary file renamed over it), so
/// that a replaced key never passes through a moment of wider permissions.
pub(super) fn replace(path: &Path, contents: &str, mode: Mode) -> Result<(), CaError> {
    let temporary = temporary_path(path);
    remove_if_present(&temporary)?;
    create_new(&temporary, contents, mode)?;
    fs::rename(&temporary, path).map_err(|source| {
        // Best effort: the error that matters is the rename's.
        let _ = fs::remove_file(&temporary);
        CaError::Write {
            path: path.to_owned(),
            source,
        }
    })
}

/// Removes `path` if it exists.
pub(super) fn remove_if_present(path: &Path) -> Result<(), CaError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(CaError::Write {
            path: path.to_owned(),
            source,
        }),
    }
}

/// `dir/.name.tmp` for `dir/name`.
fn temporary_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp"))
}
