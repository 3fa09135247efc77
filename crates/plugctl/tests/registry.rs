//! The S3 plugin registry as a platform team meets it, against LocalStack's
//! S3: `plugctl publish` and `plugctl install s3://...`, publishers racing
//! on the index, and an archive changed behind the index's back.
//!
//! Needs `LOCALSTACK_ENDPOINT` (`cargo xtask test` sets it); without it the
//! tests say so and pass, unless `PLUGCTL_REQUIRE_LOCALSTACK=1`.
#![allow(missing_docs)]

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

mod support;
use support::aws::Aws;
use support::{text, unique};

/// LocalStack with a store folder and a fresh bucket; the registry address.
fn registry() -> Option<(Aws, tempfile::TempDir, String)> {
    let mut aws = Aws::start()?;
    let home = tempfile::tempdir().expect("tempdir");
    aws.vars
        .push(("PLUGCTL_HOME".into(), home.path().display().to_string()));
    let bucket = unique("plugins").to_lowercase();
    aws.call("s3", "create_bucket", json!({"Bucket": bucket}))
        .expect("bucket");
    Some((aws, home, format!("s3://{bucket}/team")))
}

/// A plugin folder named `name` at `version` whose skill says `marker`.
fn plugin(parent: &Path, name: &str, version: &str, marker: &str) -> PathBuf {
    let dir = parent.join(format!("{name}-{version}-{marker}"));
    std::fs::create_dir_all(dir.join("skills")).expect("mkdir");
    std::fs::write(
        dir.join("plugin.yaml"),
        format!("plugin:\n  name: {name}\n  version: {version}\n  skills:\n    - name: hello\n      path: ./skills/hello.yaml\n"),
    )
    .expect("manifest");
    std::fs::write(
        dir.join("skills/hello.yaml"),
        format!("skill:\n  name: hello\n  description: says {marker}\n  steps:\n    - name: hi\n      action: run_command\n      command: [echo, {marker}]\n"),
    )
    .expect("skill");
    dir
}

fn publish(aws: &Aws, dir: &Path, registry: &str) -> std::process::Output {
    let dir = dir.display().to_string();
    aws.plugctl(
        Path::new("/"),
        &["publish", &dir, registry, "--output", "json"],
    )
}

fn published(aws: &Aws, dir: &Path, registry: &str) -> Value {
    let out = publish(aws, dir, registry);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json")
}

/// The store's record of `name`, from `plugctl list --output json`.
fn installed(aws: &Aws, name: &str) -> Value {
    let out = aws.plugctl(Path::new("/"), &["list", "--output", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed: Value = serde_json::from_slice(&out.stdout).expect("json");
    let all = listed.as_array().cloned().unwrap_or_default();
    all.into_iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not installed: {listed}"))
}

#[test]
fn a_published_plugin_installs_by_name_and_version_with_its_digest() {
    let Some((aws, work, registry)) = registry() else {
        return;
    };
    let name = unique("tools").to_lowercase();
    let first = published(&aws, &plugin(work.path(), &name, "1.0.0", "one"), &registry);
    let second = published(&aws, &plugin(work.path(), &name, "1.1.0", "two"), &registry);
    assert_eq!(first["unchanged"], false);
    assert_ne!(first["sha256"], second["sha256"]);
    // The same bytes again change nothing; other bytes under a published version are refused.
    let again = published(&aws, &plugin(work.path(), &name, "1.0.0", "one"), &registry);
    assert_eq!(
        (again["unchanged"].clone(), again["sha256"].clone()),
        (json!(true), first["sha256"].clone())
    );
    let clash = publish(
        &aws,
        &plugin(work.path(), &name, "1.0.0", "other"),
        &registry,
    );
    assert!(!clash.status.success());
    assert!(
        text(&clash.stderr).contains("already published"),
        "{}",
        text(&clash.stderr)
    );

    let source = format!("{registry}#{name}@1.0.0");
    let out = aws.plugctl(Path::new("/"), &["install", &source]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let record = installed(&aws, &name);
    assert_eq!(record["version"], "1.0.0");
    assert_eq!(record["archive"], first["sha256"]);
    assert_eq!(record["source"]["registry"], registry.as_str());
    // Without a version: the highest one.
    let out = aws.plugctl(Path::new("/"), &["install", &format!("{registry}#{name}")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(installed(&aws, &name)["version"], "1.1.0");
}

/// Publishers racing on the index each get their version in: the index is
/// written with `If-Match` on the ETag read and retried on a conflict.
#[test]
fn concurrent_publishers_lose_no_version() {
    let Some((aws, work, registry)) = registry() else {
        return;
    };
    let name = unique("race").to_lowercase();
    let versions: Vec<String> = (0..6).map(|i| format!("2.0.{i}")).collect();
    let children: Vec<_> = versions
        .iter()
        .map(|v| {
            let dir = plugin(work.path(), &name, v, v).display().to_string();
            aws.command(Path::new("/"), &["publish", &dir, &registry])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("publish starts")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("publish ends");
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    for version in &versions {
        let source = format!("{registry}#{name}@{version}");
        let out = aws.plugctl(Path::new("/"), &["install", &source]);
        assert!(
            out.status.success(),
            "{version} was lost: {}",
            text(&out.stderr)
        );
        assert_eq!(installed(&aws, &name)["version"], version.as_str());
    }
}

/// An archive whose bytes no longer have the digest the index records is
/// refused before anything is unpacked or installed.
#[test]
fn a_tampered_archive_is_refused() {
    let Some((aws, work, registry)) = registry() else {
        return;
    };
    let name = unique("tamper").to_lowercase();
    let record = published(
        &aws,
        &plugin(work.path(), &name, "1.0.0", "good"),
        &registry,
    );
    let url = record["url"].as_str().expect("url");
    let (bucket, key) = url
        .trim_start_matches("s3://")
        .split_once('/')
        .expect("key");
    aws.call(
        "s3",
        "put_object",
        json!({"Bucket": bucket, "Key": key, "Body": "not the archive"}),
    )
    .expect("overwrite");
    let out = aws.plugctl(
        Path::new("/"),
        &["install", &format!("{registry}#{name}@1.0.0")],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("does not match its digest"),
        "{}",
        text(&out.stderr)
    );
    let listed = aws.plugctl(Path::new("/"), &["list", "--output", "json"]);
    assert!(
        !text(&listed.stdout).contains(&name),
        "nothing was installed"
    );
}
