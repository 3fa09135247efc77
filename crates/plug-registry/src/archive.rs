//! A plugin folder as a reproducible `tar.gz`: entries in name order, no
//! owners, no timestamps, modes reduced to 0644/0755, so the same folder
//! always packs to the same bytes (and the same digest). Only regular files
//! and folders go in: a symlink or special file is refused, since the
//! store unpacks no links, and `.git` is left out.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::RegistryError;

/// The most a packed plugin may weigh.
pub const MAX_ARCHIVE_BYTES: usize = 256 * 1024 * 1024;

/// Packs the plugin folder at `root`.
pub fn pack(root: &Path) -> Result<Vec<u8>, RegistryError> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    add_folder(&mut tar, root, Path::new(""))?;
    let gz = tar.into_inner().map_err(|e| io(root, e))?;
    let bytes = gz.finish().map_err(|e| io(root, e))?;
    if bytes.len() > MAX_ARCHIVE_BYTES {
        return Err(RegistryError::Plugin(format!(
            "{}: the packed plugin is {} bytes, more than the {MAX_ARCHIVE_BYTES} a registry takes",
            root.display(),
            bytes.len()
        )));
    }
    Ok(bytes)
}

fn add_folder(
    tar: &mut tar::Builder<flate2::write::GzEncoder<Vec<u8>>>,
    root: &Path,
    rel: &Path,
) -> Result<(), RegistryError> {
    let dir = root.join(rel);
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .map_err(|e| io(&dir, e))?
        .filter_map(Result::ok)
        .filter(|e| e.file_name() != ".git")
        .collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        let name = rel.join(entry.file_name());
        let meta = std::fs::symlink_metadata(&path).map_err(|e| io(&path, e))?;
        let mut header = tar::Header::new_gnu();
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        if meta.is_dir() {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(0o755);
            header.set_size(0);
            tar.append_data(&mut header, &name, std::io::empty())
                .map_err(|e| io(&path, e))?;
            add_folder(tar, root, &name)?;
        } else if meta.is_file() {
            let executable = meta.permissions().mode() & 0o111 != 0;
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(if executable { 0o755 } else { 0o644 });
            header.set_size(meta.len());
            let file = std::fs::File::open(&path).map_err(|e| io(&path, e))?;
            tar.append_data(&mut header, &name, file)
                .map_err(|e| io(&path, e))?;
        } else {
            return Err(RegistryError::Plugin(format!(
                "{}: a symlink or special file; a published plugin holds only files and folders",
                path.display()
            )));
        }
    }
    let _ = tar.get_mut().flush();
    Ok(())
}

fn io(path: &Path, source: std::io::Error) -> RegistryError {
    RegistryError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The hex sha256 of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_folder_packs_to_the_same_bytes() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("skills")).expect("mkdir");
        std::fs::write(dir.path().join("plugin.yaml"), "plugin: {}\n").expect("write");
        std::fs::write(dir.path().join("skills/a.yaml"), "skill: {}\n").expect("write");
        let first = pack(dir.path()).expect("pack");
        std::thread::sleep(std::time::Duration::from_millis(1100));
        std::fs::write(dir.path().join("skills/a.yaml"), "skill: {}\n").expect("touch");
        assert_eq!(sha256(&first), sha256(&pack(dir.path()).expect("pack")));
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("link")).expect("symlink");
        assert!(matches!(pack(dir.path()), Err(RegistryError::Plugin(_))));
    }
}
