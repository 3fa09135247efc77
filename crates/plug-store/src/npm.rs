//! Plugins a marketplace publishes as npm packages (`{"source": "npm",
//! "package": ..., "version": ...}`): `npm pack` fetches the package's
//! tarball (run without a shell and with `--ignore-scripts`, so no package
//! code runs), and the tarball is unpacked here, entry by entry, refusing
//! anything that could land outside the target: absolute paths, `..`, and
//! links of any kind (npm never packs symlinks, so a tarball with one was
//! not made by npm). The plugin is the tarball's top folder (`package/`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::StoreError;

/// Fetches `package` (at `version`, a version or range, when given) with the
/// `npm` on PATH into `staging` and returns the unpacked plugin folder.
pub(crate) fn fetch(
    package: &str,
    version: Option<&str>,
    staging: &Path,
) -> Result<PathBuf, StoreError> {
    fetch_with(Path::new("npm"), package, version, staging)
}

/// [`fetch`] with the npm program given (tests use one that does not exist).
pub(crate) fn fetch_with(
    npm: &Path,
    package: &str,
    version: Option<&str>,
    staging: &Path,
) -> Result<PathBuf, StoreError> {
    let spec = match version {
        Some(version) => format!("{package}@{version}"),
        None => package.to_owned(),
    };
    if package.is_empty() || spec.starts_with('-') {
        return Err(StoreError::BadSource(spec));
    }
    let packed = staging.join("npm-pack");
    std::fs::create_dir_all(&packed).map_err(StoreError::io(&packed))?;
    let tarball = pack(npm, &spec, &packed)?;
    let unpacked = staging.join("npm-package");
    unpack(&tarball, &unpacked)?;
    top_folder(&unpacked)
}

/// Runs `npm pack` and returns the tarball it wrote.
fn pack(npm: &Path, spec: &str, into: &Path) -> Result<PathBuf, StoreError> {
    let failed = |detail: String| StoreError::Npm {
        package: spec.to_owned(),
        detail,
    };
    let out = Command::new(npm)
        .args(["pack", "--ignore-scripts", "--json", "--pack-destination"])
        .arg(into)
        .arg("--")
        .arg(spec)
        .current_dir(into)
        .env("npm_config_update_notifier", "false")
        .env("npm_config_fund", "false")
        .env("npm_config_audit", "false")
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => failed(
                "`npm` was not found on PATH; install Node.js (npm) to install plugins published on npm"
                    .into(),
            ),
            _ => failed(format!("cannot run npm: {e}")),
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
        return Err(failed(last.unwrap_or("npm pack failed").trim().to_owned()));
    }
    tarball_in(into).ok_or_else(|| failed("npm pack wrote no tarball".into()))
}

/// The one `.tgz` npm pack left in `dir`.
fn tarball_in(dir: &Path) -> Option<PathBuf> {
    let mut found = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "tgz"));
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// Unpacks the gzipped tarball at `tarball` into `dest` (see [`crate::archive`]).
pub(crate) fn unpack(tarball: &Path, dest: &Path) -> Result<(), StoreError> {
    let file = std::fs::File::open(tarball).map_err(StoreError::io(tarball))?;
    crate::archive::unpack(file, tarball, dest)
}

/// The tarball's single top folder (`package/` for npm).
fn top_folder(dir: &Path) -> Result<PathBuf, StoreError> {
    let folders: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(StoreError::io(dir))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    match &folders[..] {
        [one] => Ok(one.clone()),
        _ => Err(StoreError::Npm {
            package: "tarball".into(),
            detail: "the package has no single top folder (npm packs into `package/`)".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gzipped tarball of `(path, kind, content)` entries, paths written
    /// raw into the header (so tests can make what `tar::Builder` refuses).
    fn tarball(dir: &Path, entries: &[(&str, tar::EntryType, &str)]) -> PathBuf {
        let path = dir.join("p.tgz");
        let file = std::fs::File::create(&path).expect("create");
        let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        let mut builder = tar::Builder::new(gz);
        for (name, kind, content) in entries {
            let mut header = tar::Header::new_old();
            header.as_mut_bytes()[..name.len()].copy_from_slice(name.as_bytes());
            header.set_entry_type(*kind);
            header.set_mode(0o644);
            header.set_size(content.len() as u64);
            if *kind == tar::EntryType::Symlink {
                header.set_link_name(content).expect("link name");
                header.set_size(0);
            }
            header.set_cksum();
            let data: &[u8] = if *kind == tar::EntryType::Symlink {
                &[]
            } else {
                content.as_bytes()
            };
            builder.append(&header, data).expect("append");
        }
        builder.into_inner().expect("tar").finish().expect("gzip");
        path
    }

    #[test]
    fn a_plain_package_unpacks_into_its_top_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = tar::EntryType::Regular;
        let tgz = tarball(
            dir.path(),
            &[
                ("package/package.json", file, "{}"),
                ("package/skills/a/SKILL.md", file, "---\n---\n"),
            ],
        );
        let dest = dir.path().join("out");
        unpack(&tgz, &dest).expect("unpacks");
        let top = top_folder(&dest).expect("top folder");
        assert_eq!(top, dest.join("package"));
        let skill = std::fs::read_to_string(top.join("skills/a/SKILL.md")).expect("read");
        assert_eq!(skill, "---\n---\n");
    }

    #[test]
    fn escaping_paths_and_links_are_refused_before_anything_is_written() {
        let file = tar::EntryType::Regular;
        for (name, kind, content) in [
            ("package/../../evil", file, "x"),
            ("/tmp/plugctl-npm-test-evil", file, "x"),
            ("package/link", tar::EntryType::Symlink, "/etc"),
            ("package/inner", tar::EntryType::Symlink, "skills"),
            ("package/hard", tar::EntryType::Link, "package/a"),
        ] {
            let dir = tempfile::tempdir().expect("tempdir");
            let tgz = tarball(dir.path(), &[(name, kind, content)]);
            let dest = dir.path().join("out");
            let err = unpack(&tgz, &dest).expect_err(name);
            assert!(err.to_string().contains("refused"), "{name}: {err}");
            assert!(!dir.path().join("evil").exists());
            assert_eq!(std::fs::read_dir(&dest).expect("dest").count(), 0, "{name}");
        }
        assert!(!Path::new("/tmp/plugctl-npm-test-evil").exists());
    }

    #[test]
    fn a_missing_npm_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let npm = dir.path().join("no-npm-here");
        let err = fetch_with(&npm, "some-plugin", Some("1.0.0"), dir.path()).expect_err("no npm");
        assert!(err.to_string().contains("install Node.js"), "{err}");
        let err = fetch_with(&npm, "--registry=x", None, dir.path()).expect_err("an option");
        assert!(matches!(err, StoreError::BadSource(_)), "{err}");
    }
}
