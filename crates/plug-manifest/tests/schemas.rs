//! The published JSON Schemas agree with the decoder on every fixture: a file
//! fails its schema exactly when the decoder reports a structural finding (one
//! a schema can express). Findings a schema cannot express (paths, placeholders,
//! duplicate names, cross-file checks) must not make the schema fail.
#![allow(missing_docs)]

use std::path::{Path, PathBuf};

use plug_manifest::{Code, load_plugin, yaml};

/// Codes a schema expresses; any of them in a file means the schema must reject it.
const STRUCTURAL: &[Code] = &[
    Code::UnknownField,
    Code::WrongType,
    Code::MissingField,
    Code::InvalidName,
    Code::UnknownAction,
    Code::UnknownValue,
    Code::ConflictingFields,
    Code::EmptyList,
    Code::OutOfRange,
    Code::InvalidPermission,
    Code::InvalidVersion,
    Code::UnknownEvent,
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn validator(name: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo().join("schemas").join(name)).expect("schema file");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::draft202012::new(&schema).expect("schema compiles")
}

fn plugin_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![repo().join("plugins/aws-deployment-assistant")];
    for kind in ["valid", "invalid"] {
        let base = repo().join("fixtures/native").join(kind);
        let mut found: Vec<PathBuf> = std::fs::read_dir(base)
            .expect("fixtures")
            .map(|e| e.expect("entry").path())
            .collect();
        found.sort();
        dirs.extend(found);
    }
    dirs
}

#[test]
fn schemas_agree_with_the_decoder_on_every_fixture() {
    let plugin_schema = validator("plugin.schema.json");
    let skill_schema = validator("skill.schema.json");
    let mut disagreements = Vec::new();
    let mut checked = 0;
    for dir in plugin_dirs() {
        let plugin = load_plugin(&dir).expect("loads");
        let mut files: Vec<(PathBuf, &jsonschema::Validator)> =
            vec![(dir.join("plugin.yaml"), &plugin_schema)];
        if let Ok(entries) = std::fs::read_dir(dir.join("skills")) {
            files.extend(entries.map(|e| (e.expect("entry").path(), &skill_schema)));
        }
        for (file, schema) in files {
            let text = std::fs::read_to_string(&file).expect("read");
            let Ok(doc) = yaml::parse(&text) else {
                continue;
            };
            let name = file
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            let structural: Vec<Code> = plugin
                .findings
                .iter()
                .filter(|f| {
                    f.file
                        .path
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy() == name)
                })
                .filter(|f| {
                    f.file.path.parent().and_then(Path::file_name)
                        == file.parent().and_then(Path::file_name)
                })
                .map(|f| f.code)
                .filter(|c| STRUCTURAL.contains(c))
                .collect();
            let schema_ok = schema.is_valid(&doc.to_json());
            checked += 1;
            if schema_ok != structural.is_empty() {
                let errors: Vec<String> = schema
                    .iter_errors(&doc.to_json())
                    .map(|e| format!("{} at {}", e, e.instance_path()))
                    .collect();
                disagreements.push(format!("{}: schema ok = {schema_ok}, decoder structural findings = {structural:?}, schema errors = {errors:?}", file.display()));
            }
        }
    }
    assert!(checked > 90, "only {checked} files checked");
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

#[test]
fn every_property_is_described_for_editors() {
    fn walk(value: &serde_json::Value, path: &str, missing: &mut Vec<String>) {
        let Some(obj) = value.as_object() else { return };
        if let Some(props) = obj.get("properties").and_then(|p| p.as_object()) {
            for (name, prop) in props {
                let described = prop.get("description").is_some()
                    || prop.get("$ref").is_some()
                    || !prop.is_object();
                // Inside if/then/not the properties only narrow ones described elsewhere.
                if !described
                    && !path.contains("/if")
                    && !path.contains("/not")
                    && !path.contains("/else")
                {
                    missing.push(format!("{path}/properties/{name}"));
                }
            }
        }
        for (key, child) in obj {
            match child {
                serde_json::Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .for_each(|(i, item)| walk(item, &format!("{path}/{key}/{i}"), missing)),
                _ => walk(child, &format!("{path}/{key}"), missing),
            }
        }
    }
    for name in ["plugin.schema.json", "skill.schema.json"] {
        let text = std::fs::read_to_string(repo().join("schemas").join(name)).expect("schema file");
        let schema: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let mut missing = Vec::new();
        walk(&schema, "", &mut missing);
        assert!(
            missing.is_empty(),
            "{name}: undescribed properties: {missing:?}"
        );
    }
}
