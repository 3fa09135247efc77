//! Unpacking a plugin archive (an npm package's tarball, a registry's
//! `tar.gz`), entry by entry, refusing anything that could land outside the
//! target: absolute paths, `..`, and links or special files of any kind
//! (neither npm nor plugctl's registry packs them, so an archive with one
//! was not made by them). Size and entry count are bounded.

use std::io::Read;
use std::path::{Component, Path};

use crate::error::StoreError;

/// The most an unpacked archive may hold, and the most entries: a bound on
/// what a hostile archive (a "zip bomb") can make plugctl write.
const MAX_UNPACKED_BYTES: u64 = 512 * 1024 * 1024;
const MAX_ENTRIES: usize = 100_000;

/// Unpacks the gzipped tarball read from `source` (named `shown` in
/// errors) into `dest`, checking every entry before anything is written
/// for it.
pub(crate) fn unpack(source: impl Read, shown: &Path, dest: &Path) -> Result<(), StoreError> {
    std::fs::create_dir_all(dest).map_err(StoreError::io(dest))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(source));
    let entries = archive.entries().map_err(StoreError::io(shown))?;
    let mut total = 0u64;
    for (count, entry) in entries.enumerate() {
        let mut entry = entry.map_err(StoreError::io(shown))?;
        let path = entry.path().map_err(StoreError::io(shown))?.into_owned();
        check_entry(&path, entry.header().entry_type())?;
        total = total.saturating_add(entry.size());
        if total > MAX_UNPACKED_BYTES || count >= MAX_ENTRIES {
            return Err(refused(&path, "the archive is too large to unpack"));
        }
        if !is_content(entry.header().entry_type()) {
            continue;
        }
        let written = entry.unpack_in(dest).map_err(StoreError::io(dest))?;
        if !written {
            return Err(refused(
                &path,
                "it would be written outside the archive's folder",
            ));
        }
    }
    Ok(())
}

/// Refuses an entry whose path leaves the archive or whose kind is a link
/// or a device; metadata entries (pax, long names) pass and are not written.
fn check_entry(path: &Path, kind: tar::EntryType) -> Result<(), StoreError> {
    let plain = path
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !plain || path.as_os_str().is_empty() {
        return Err(refused(path, "its path is absolute or leaves the archive"));
    }
    if is_content(kind) || is_metadata(kind) {
        return Ok(());
    }
    Err(refused(
        path,
        "it is a link or a special file, which plugin archives never hold",
    ))
}

fn is_content(kind: tar::EntryType) -> bool {
    matches!(
        kind,
        tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::Directory
    )
}

fn is_metadata(kind: tar::EntryType) -> bool {
    matches!(
        kind,
        tar::EntryType::XGlobalHeader
            | tar::EntryType::XHeader
            | tar::EntryType::GNULongName
            | tar::EntryType::GNULongLink
    )
}

fn refused(path: &Path, why: &str) -> StoreError {
    StoreError::Archive(format!("entry `{}` is refused: {why}", path.display()))
}
