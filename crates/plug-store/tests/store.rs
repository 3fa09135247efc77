//! Install, update, tamper and remove, from a folder, a git URL at a ref and
//! a git marketplace, all in repositories the tests create.
#![allow(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

use plug_store::{Source, Store, StoreError};

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=plugctl-test",
            "-c",
            "user.email=test@example.test",
        ])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// A Claude Code plugin at `dir` with one skill, at `version`.
fn plugin(dir: &Path, version: &str) {
    write(
        &dir.join(".claude-plugin/plugin.json"),
        &format!(
            r#"{{"name": "changelog", "version": "{version}",
                "userConfig": {{
                    "api_url": {{"type": "string", "description": "Where tickets live"}},
                    "api_token": {{"type": "string", "sensitive": true}}
                }}}}"#
        ),
    );
    write(
        &dir.join("skills/changelog/SKILL.md"),
        &format!(
            "---\nname: changelog\ndescription: Writes the changelog of {version}.\n---\n\nList the changes.\n"
        ),
    );
}

/// A git repository holding a marketplace whose plugin is at `version`.
fn marketplace_repo(dir: &Path, version: &str) {
    write(
        &dir.join(".claude-plugin/marketplace.json"),
        &format!(
            r#"{{"name": "team-market", "owner": {{"name": "Team"}},
                "plugins": [{{"name": "changelog", "source": "./plugins/changelog", "version": "{version}"}}]}}"#
        ),
    );
    plugin(&dir.join("plugins/changelog"), version);
}

fn url(dir: &Path) -> String {
    format!("file://{}", dir.display())
}

fn store() -> (tempfile::TempDir, Store) {
    let home = tempfile::tempdir().expect("tempdir");
    let store = Store::open(home.path().join("plugctl"));
    (home, store)
}

#[test]
fn a_folder_installs_with_its_config_and_a_tampered_tree_is_refused() {
    let src = tempfile::tempdir().expect("tempdir");
    plugin(src.path(), "1.0.0");
    let (_home, store) = store();
    let config = [
        (
            "api_url".to_owned(),
            "https://tickets.example.test".to_owned(),
        ),
        ("api_token".to_owned(), "s3cret-token".to_owned()),
    ];
    let installed = store
        .install(&src.path().display().to_string(), &config)
        .expect("installs");
    assert_eq!(installed.version.as_deref(), Some("1.0.0"));
    assert_eq!(installed.sensitive, ["api_token"]);
    let lock_text = std::fs::read_to_string(store.root().join("plugctl.lock")).expect("lock");
    assert!(lock_text.contains(&installed.sha256) && lock_text.contains("tickets.example.test"));
    assert!(!lock_text.contains("s3cret-token"), "{lock_text}");
    assert!(!format!("{installed:?}").contains("s3cret-token"));
    assert_eq!(
        store
            .config("changelog")
            .expect("config")
            .get("api_token")
            .map(String::as_str),
        Some("s3cret-token")
    );
    secrets_are_owner_only(store.root());
    let dir = store.resolve("changelog").expect("untouched");
    std::fs::write(dir.join("skills/changelog/SKILL.md"), "---\nname: x\n---\n").expect("tamper");
    assert!(matches!(
        store.resolve("changelog"),
        Err(StoreError::Tampered { .. })
    ));
    let update = store.update("changelog").expect("reinstalls");
    assert!(!update.changed, "the source did not change");
    store.resolve("changelog").expect("repaired");
    store.remove("changelog").expect("removes");
    assert!(matches!(
        store.resolve("changelog"),
        Err(StoreError::NotInstalled(_))
    ));
    assert!(!store.root().join("secrets/changelog.json").exists());
    assert!(store.list().expect("list").is_empty());
}

#[cfg(unix)]
fn secrets_are_owner_only(root: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(root.join("secrets/changelog.json")).expect("secrets file");
    assert_eq!(meta.permissions().mode() & 0o077, 0);
}

#[cfg(not(unix))]
fn secrets_are_owner_only(_root: &Path) {}

#[test]
fn a_git_marketplace_installs_updates_and_removes() {
    let repo = tempfile::tempdir().expect("tempdir");
    marketplace_repo(repo.path(), "1.0.0");
    git(repo.path(), &["init", "--quiet"]);
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "--quiet", "-m", "v1"]);
    let (_home, store) = store();
    let market = store.add_marketplace(&url(repo.path())).expect("added");
    assert_eq!(market.name, "team-market");
    let installed = store
        .install("changelog@team-market", &[])
        .expect("installs");
    assert_eq!(installed.version.as_deref(), Some("1.0.0"));
    assert_eq!(installed.commit, market.commit);
    assert!(installed.commit.as_deref().is_some_and(|c| c.len() == 40));

    marketplace_repo(repo.path(), "1.1.0");
    git(repo.path(), &["commit", "--quiet", "-am", "v1.1"]);
    let update = store.update("changelog").expect("updates");
    assert!(update.changed);
    assert_eq!(
        (update.from.as_deref(), update.to.as_deref()),
        (Some("1.0.0"), Some("1.1.0"))
    );
    let dir = store.resolve("changelog").expect("verified");
    let skill = std::fs::read_to_string(dir.join("skills/changelog/SKILL.md")).expect("skill");
    assert!(skill.contains("1.1.0"));
    assert!(!dir.join(".git").exists());
    store.remove("changelog").expect("removes");
    assert!(!dir.exists());
}

#[test]
fn a_git_url_installs_at_its_ref_and_stays_there() {
    let repo = tempfile::tempdir().expect("tempdir");
    plugin(repo.path(), "1.0.0");
    git(repo.path(), &["init", "--quiet"]);
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "--quiet", "-m", "v1"]);
    git(repo.path(), &["tag", "v1.0.0"]);
    plugin(repo.path(), "2.0.0");
    git(repo.path(), &["commit", "--quiet", "-am", "v2"]);
    let (_home, store) = store();
    let source = format!("{}#v1.0.0", url(repo.path()));
    let installed = store.install(&source, &[]).expect("installs");
    assert_eq!(installed.version.as_deref(), Some("1.0.0"));
    assert!(matches!(&installed.source, Source::Git { reference: Some(r), .. } if r == "v1.0.0"));
    let update = store.update("changelog").expect("updates");
    assert!(!update.changed, "a tag does not move");
    let bad = store.install(&format!("{}#no-such-ref", url(repo.path())), &[]);
    assert!(matches!(bad, Err(StoreError::Git { .. })), "{bad:?}");
}

#[test]
fn broken_plugins_and_unknown_config_keys_are_refused() {
    let src = tempfile::tempdir().expect("tempdir");
    plugin(src.path(), "1.0.0");
    let (_home, store) = store();
    let typo = [("api_ulr".to_owned(), "x".to_owned())];
    let err = store
        .install(&src.path().display().to_string(), &typo)
        .expect_err("unknown key");
    assert!(err.to_string().contains("api_ulr"), "{err}");
    write(
        &src.path().join("skills/changelog/SKILL.md"),
        "---\nname: changelog\ndescription: [Use it, always\n---\n",
    );
    let err = store
        .install(&src.path().display().to_string(), &[])
        .expect_err("front matter error");
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
    assert!(err.to_string().contains("front-matter-syntax"), "{err}");
    let missing = store
        .install("nothing@no-market", &[])
        .expect_err("no market");
    assert!(
        missing.to_string().contains("plugctl marketplace add"),
        "{missing}"
    );
    let nowhere: PathBuf = src.path().join("missing");
    assert!(store.install(&nowhere.display().to_string(), &[]).is_err());
}

#[test]
fn a_plugin_with_only_warnings_installs() {
    // Claude Code loads a description with an unquoted `: `; so does the store.
    let src = tempfile::tempdir().expect("tempdir");
    plugin(src.path(), "1.0.0");
    write(
        &src.path().join("skills/changelog/SKILL.md"),
        "---\nname: changelog\ndescription: Use it: always\n---\n",
    );
    let (_home, store) = store();
    store
        .install(&src.path().display().to_string(), &[])
        .expect("a warning does not block an install");
}

/// A minimal Claude Code plugin called `name` at `dir`.
fn named_plugin(dir: &Path, name: &str) {
    write(
        &dir.join(".claude-plugin/plugin.json"),
        &format!(r#"{{"name": "{name}", "version": "1.0.0"}}"#),
    );
    write(
        &dir.join(format!("skills/{name}/SKILL.md")),
        &format!("---\nname: {name}\ndescription: The {name} skill.\n---\n\nDo it.\n"),
    );
}

#[test]
fn parallel_installs_and_updates_leave_a_valid_lock_listing_every_plugin() {
    const PLUGINS: usize = 8;
    let sources = tempfile::tempdir().expect("tempdir");
    let (_home, store) = store();
    let dirs: Vec<PathBuf> = (0..PLUGINS)
        .map(|i| {
            let dir = sources.path().join(format!("p{i}"));
            named_plugin(&dir, &format!("plugin-{i}"));
            dir
        })
        .collect();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(PLUGINS));
    let workers: Vec<_> = dirs
        .iter()
        .enumerate()
        .map(|(i, dir)| {
            // Each thread has its own `Store`, as separate processes would.
            let store = Store::open(store.root());
            let (dir, barrier) = (dir.display().to_string(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                store.install(&dir, &[]).expect("installs");
                store.update(&format!("plugin-{i}")).expect("updates");
                store.install(&dir, &[]).expect("reinstalls");
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("worker");
    }
    let text = std::fs::read_to_string(store.root().join("plugctl.lock")).expect("lock");
    let lock: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let names: Vec<&String> = lock["plugins"]
        .as_object()
        .expect("plugins")
        .keys()
        .collect();
    let expected: Vec<String> = (0..PLUGINS).map(|i| format!("plugin-{i}")).collect();
    assert_eq!(names, expected.iter().collect::<Vec<_>>());
    for name in &expected {
        store.resolve(name).expect("each tree matches its digest");
    }
    let staging = std::fs::read_dir(store.root().join("staging")).expect("staging");
    assert_eq!(staging.count(), 0, "no staging folder is left behind");
}

#[test]
fn the_data_folder_survives_update_and_goes_with_remove_unless_kept() {
    let src = tempfile::tempdir().expect("tempdir");
    plugin(src.path(), "1.0.0");
    let (_home, store) = store();
    let source = src.path().display().to_string();
    assert!(matches!(
        store.data_dir("changelog"),
        Err(StoreError::NotInstalled(_))
    ));
    store.install(&source, &[]).expect("installs");
    let data = store.data_dir("changelog").expect("data folder");
    assert!(data.is_dir() && !data.starts_with(store.resolve("changelog").expect("dir")));
    std::fs::write(data.join("state.json"), "{}").expect("plugin writes its data");
    store
        .resolve("changelog")
        .expect("data is not part of the digest");

    plugin(src.path(), "1.1.0");
    assert!(store.update("changelog").expect("updates").changed);
    assert!(data.join("state.json").is_file(), "update keeps the data");

    store.remove_with("changelog", true).expect("removes");
    assert!(data.join("state.json").is_file(), "--keep-data keeps it");
    store.install(&source, &[]).expect("reinstalls");
    assert_eq!(store.data_dir("changelog").expect("data folder"), data);
    store.remove("changelog").expect("removes");
    assert!(!data.exists(), "remove deletes the data folder");
}

#[test]
fn config_can_be_set_after_install_and_a_plugin_is_recognised_by_its_folder() {
    let src = tempfile::tempdir().expect("tempdir");
    plugin(src.path(), "1.0.0");
    let (_home, store) = store();
    store
        .install(&src.path().display().to_string(), &[])
        .expect("installs");
    let values = [
        ("api_token".to_owned(), "later-s3cret".to_owned()),
        ("api_url".to_owned(), "https://t.example.test".to_owned()),
    ];
    let installed = store.set_config("changelog", &values).expect("set");
    assert_eq!(installed.sensitive, ["api_token"]);
    let config = store.config("changelog").expect("config");
    assert_eq!(
        config.get("api_token").map(String::as_str),
        Some("later-s3cret")
    );
    let lock = std::fs::read_to_string(store.root().join("plugctl.lock")).expect("lock");
    assert!(lock.contains("t.example.test") && !lock.contains("later-s3cret"));
    let typo = [("api_tokn".to_owned(), "x".to_owned())];
    let err = store
        .set_config("changelog", &typo)
        .expect_err("unknown key");
    assert!(matches!(err, StoreError::UnknownConfig { .. }), "{err}");

    let dir = store.resolve("changelog").expect("dir");
    assert_eq!(store.installed_at(&dir).as_deref(), Some("changelog"));
    assert_eq!(store.installed_at(src.path()), None);
    assert_eq!(store.installed_at(&dir.join("skills")), None);
}

fn npm_available() -> bool {
    Command::new("npm")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A marketplace whose plugin is published on npm: `npm pack` fetches it
/// (here a package folder the test made, through the same code path as a
/// registry name) and the tarball is unpacked and installed like any plugin.
#[test]
fn an_npm_marketplace_entry_installs_from_its_tarball() {
    if !npm_available() {
        eprintln!("skipped: npm is not on PATH");
        return;
    }
    let package = tempfile::tempdir().expect("tempdir");
    plugin(package.path(), "1.4.0");
    write(
        &package.path().join("package.json"),
        r#"{"name": "changelog-plugin", "version": "1.4.0",
            "scripts": {"prepack": "touch prepack-ran"}}"#,
    );
    let market = tempfile::tempdir().expect("tempdir");
    write(
        &market.path().join(".claude-plugin/marketplace.json"),
        &format!(
            r#"{{"name": "npm-market", "owner": {{"name": "Team"}},
                "plugins": [{{"name": "changelog", "source": {{"source": "npm", "package": "{}"}}}}]}}"#,
            package.path().display()
        ),
    );
    let (_home, store) = store();
    store
        .add_marketplace(&market.path().display().to_string())
        .expect("added");
    let installed = store
        .install("changelog@npm-market", &[])
        .expect("installs");
    assert_eq!(installed.version.as_deref(), Some("1.4.0"));
    let dir = store.resolve("changelog").expect("verified");
    assert!(dir.join("skills/changelog/SKILL.md").is_file());
    assert!(dir.join("package.json").is_file(), "the tarball's files");
    assert!(
        !package.path().join("prepack-ran").exists() && !dir.join("prepack-ran").exists(),
        "npm ran a package script"
    );
    assert!(!store.update("changelog").expect("updates").changed);
}
