//! `cargo xtask update-aws-models [--botocore VERSION]`: imports AWS's published
//! service models from the `botocore` wheel on PyPI into `crates/plug-aws/models/`.
//!
//! botocore ships each model gzipped; the files are copied as they are (no
//! re-compression, so the bytes are botocore's), together with its licence and
//! notice. `crates/plug-aws/src/model/bundled.rs` is regenerated so the crate
//! embeds exactly the services listed here.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::run::{status, step};
use crate::workspace_root;

/// The botocore release the committed models come from; `--botocore` overrides it.
const DEFAULT_BOTOCORE: &str = "1.44.8";

/// The services plug-aws bundles (botocore's folder names).
const SERVICES: &[&str] = &[
    "cloudformation",
    "cloudwatch",
    "dynamodb",
    "ec2",
    "events",
    "iam",
    "kms",
    "lambda",
    "logs",
    "s3",
    "secretsmanager",
    "sns",
    "sqs",
    "ssm",
    "sts",
];

const MODELS_DIR: &str = "crates/plug-aws/models";
const BUNDLED_RS: &str = "crates/plug-aws/src/model/bundled.rs";

/// Runs the subcommand with the arguments after its name.
pub fn update(args: &[String]) -> Result<(), String> {
    let version = match args {
        [] => DEFAULT_BOTOCORE.to_owned(),
        [flag, v] if flag == "--botocore" => v.clone(),
        _ => return Err("usage: cargo xtask update-aws-models [--botocore VERSION]".into()),
    };
    let root = workspace_root();
    let work = root.join("target/aws-models");
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;

    let wheel = download_wheel(&version, &work)?;
    let unpacked = work.join("wheel");
    step("unpacking the wheel");
    status(
        Command::new("python3")
            .args(["-m", "zipfile", "-e"])
            .arg(&wheel)
            .arg(&unpacked),
    )?;

    let models = root.join(MODELS_DIR);
    fs::create_dir_all(&models).map_err(|e| format!("{}: {e}", models.display()))?;
    let data = unpacked.join("botocore/data");
    let mut entries = Vec::new();
    for service in SERVICES {
        let api_version = latest_api_version(&data.join(service))?;
        let from = data
            .join(service)
            .join(&api_version)
            .join("service-2.json.gz");
        copy(&from, &models.join(format!("{service}.json.gz")))?;
        entries.push((*service, api_version));
    }
    gzip_partitions(
        &data.join("partitions.json"),
        &models.join("partitions.json.gz"),
    )?;
    write_notice(&unpacked, &version, &models.join("NOTICE"))?;
    write_bundled_rs(&root.join(BUNDLED_RS), &version, &entries)?;
    let _ = fs::remove_dir_all(&work);
    println!(
        "imported {} service models from botocore {version}",
        entries.len()
    );
    Ok(())
}

fn download_wheel(version: &str, into: &Path) -> Result<PathBuf, String> {
    step(&format!("pip download botocore=={version}"));
    status(
        Command::new("python3")
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary",
                ":all:",
            ])
            .args(["--disable-pip-version-check", "-q", "-d"])
            .arg(into)
            .arg(format!("botocore=={version}")),
    )?;
    let wheel = into.join(format!("botocore-{version}-py3-none-any.whl"));
    if wheel.is_file() {
        Ok(wheel)
    } else {
        Err(format!("pip did not produce {}", wheel.display()))
    }
}

/// The greatest `YYYY-MM-DD` folder: botocore keeps older API versions beside the current one.
fn latest_api_version(service_dir: &Path) -> Result<String, String> {
    let listing =
        fs::read_dir(service_dir).map_err(|e| format!("{}: {e}", service_dir.display()))?;
    listing
        .filter_map(Result::ok)
        .filter(|e| e.path().join("service-2.json.gz").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .max()
        .ok_or_else(|| format!("{}: no service-2.json.gz", service_dir.display()))
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    fs::copy(from, to)
        .map(drop)
        .map_err(|e| format!("copy {} -> {}: {e}", from.display(), to.display()))
}

/// partitions.json is plain JSON in the wheel; gzip it with Python's gzip module
/// (xtask stays std-only). `mtime=0` keeps the output reproducible.
fn gzip_partitions(from: &Path, to: &Path) -> Result<(), String> {
    let script = "import gzip,sys\n\
        data=open(sys.argv[1],'rb').read()\n\
        open(sys.argv[2],'wb').write(gzip.compress(data,9,mtime=0))";
    status(
        Command::new("python3")
            .args(["-c", script])
            .arg(from)
            .arg(to),
    )
}

fn write_notice(unpacked: &Path, version: &str, to: &Path) -> Result<(), String> {
    let dist_info = unpacked.join(format!("botocore-{version}.dist-info"));
    let read = |name: &str| {
        let path = dist_info.join(name);
        fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))
    };
    let text = format!(
        "The files in this folder (*.json.gz) are AWS service models and the partitions\n\
         file from botocore {version} (https://pypi.org/project/botocore/{version}/), copied\n\
         unchanged except that partitions.json was gzipped. botocore is licensed under the\n\
         Apache License, Version 2.0; its NOTICE and LICENSE follow.\n\n\
         ==== NOTICE ====\n\n{}\n\n==== LICENSE ====\n\n{}",
        read("NOTICE")?.trim_end(),
        read("LICENSE.txt")?.trim_end(),
    );
    fs::write(to, text + "\n").map_err(|e| format!("{}: {e}", to.display()))
}

fn write_bundled_rs(to: &Path, version: &str, entries: &[(&str, String)]) -> Result<(), String> {
    let mut out = format!(
        "//! Generated by `cargo xtask update-aws-models`; do not edit.\n\
         //!\n\
         //! The service models embedded in the crate, from botocore {version}.\n\n\
         /// The botocore release the models come from.\n\
         pub const BOTOCORE_VERSION: &str = \"{version}\";\n\n\
         /// One embedded model: botocore's service name, API version and gzipped `service-2.json`.\n\
         pub struct BundledModel {{\n    \
             /// botocore's name for the service, e.g. `lambda`.\n    \
             pub service: &'static str,\n    \
             /// The API version folder the model came from.\n    \
             pub api_version: &'static str,\n    \
             /// The gzipped model.\n    \
             pub gzipped: &'static [u8],\n\
         }}\n\n\
         /// Every embedded model, sorted by service name.\n\
         pub const MODELS: &[BundledModel] = &[\n"
    );
    for (service, api_version) in entries {
        out.push_str(&format!(
            "    BundledModel {{\n        service: \"{service}\",\n        api_version: \"{api_version}\",\n        \
             gzipped: include_bytes!(\"../../models/{service}.json.gz\"),\n    }},\n"
        ));
    }
    out.push_str(
        "];\n\n/// botocore's `partitions.json`, gzipped.\n\
         pub const PARTITIONS: &[u8] = include_bytes!(\"../../models/partitions.json.gz\");\n",
    );
    if let Some(dir) = to.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    fs::write(to, out).map_err(|e| format!("{}: {e}", to.display()))
}
