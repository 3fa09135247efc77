//! Serializer and parser tests against the request/response pairs in
//! `fixtures/aws/<protocol>/`, one JSON file per case.
//!
//! A request case gives `service`, `operation`, `params` (members listed in
//! `bytes` become raw bytes, given as UTF-8 text), optional `region` and
//! `endpoint`, and the expected `request`: `method`, `url`, a subset of
//! `headers`, and the body as `body` (exact), `body_json` or `body_form`
//! (pairs, order-free). A response case gives the `response` and either the
//! expected `output` (with `output_bytes` for members that must be bytes) or
//! the expected `error`.

use std::path::{Path, PathBuf};

use percent_encoding::percent_decode_str;
use plug_aws::client::build_request;
use plug_aws::endpoint::{self, EndpointOverrides};
use plug_aws::model::Models;
use plug_aws::protocol::{self, HttpResponse};
use plug_core::Value;
use serde_json::Value as Json;

fn fixture_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/aws");
    let mut files = Vec::new();
    for protocol in ["json", "rest-json", "query", "ec2", "rest-xml"] {
        let dir = root.join(protocol);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let mut here: Vec<PathBuf> = entries
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        assert!(!here.is_empty(), "no fixtures for {protocol}");
        files.append(&mut here);
    }
    files.sort();
    files
}

fn load(path: &Path) -> Json {
    let text = std::fs::read_to_string(path).expect("fixture readable");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn text<'a>(case: &'a Json, key: &str) -> &'a str {
    case[key]
        .as_str()
        .unwrap_or_else(|| panic!("fixture lacks `{key}`"))
}

/// Replaces the members named in `bytes` (dotted paths) with raw bytes.
fn params_of(case: &Json) -> Value {
    let mut params = Value::from(case["params"].clone());
    if let Some(bytes) = case["bytes"].as_object() {
        for (path, utf8) in bytes {
            let slot = path
                .split('.')
                .try_fold(&mut params, |value, key| match value {
                    Value::Map(map) => map.get_mut(key),
                    _ => None,
                });
            let slot = slot.unwrap_or_else(|| panic!("bytes path {path} not in params"));
            *slot = Value::Bytes(utf8.as_str().expect("utf-8 text").as_bytes().to_vec());
        }
    }
    params
}

fn check_request(name: &str, case: &Json) {
    let model = Models::global()
        .get(text(case, "service"))
        .expect("bundled model");
    let operation = model
        .operation(text(case, "operation"))
        .expect("operation exists");
    let overrides = EndpointOverrides {
        all: case["endpoint"].as_str().map(str::to_owned),
        ..EndpointOverrides::default()
    };
    let region = case["region"].as_str().unwrap_or("us-east-1");
    let endpoint = endpoint::resolve(&model, region, &overrides).expect("endpoint");
    let request = build_request(&model, operation, &params_of(case), &endpoint)
        .unwrap_or_else(|e| panic!("{name}: serialize failed: {e}"));
    let expected = &case["request"];
    assert_eq!(request.method, text(expected, "method"), "{name}: method");
    assert_eq!(
        split_url(&request.url),
        split_url(text(expected, "url")),
        "{name}: url"
    );
    if let Some(headers) = expected["headers"].as_object() {
        for (header, value) in headers {
            let actual = request
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(header))
                .map(|(_, v)| v.as_str());
            assert_eq!(actual, value.as_str(), "{name}: header {header}");
        }
    }
    let body = String::from_utf8(request.body.clone()).expect("utf-8 body");
    if let Some(exact) = expected["body"].as_str() {
        assert_eq!(body, exact, "{name}: body");
    }
    if let Some(json) = expected.get("body_json") {
        let actual: Json =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{name}: body is not JSON: {e}"));
        assert_eq!(&actual, json, "{name}: JSON body");
    }
    if let Some(pairs) = expected["body_form"].as_array() {
        let mut want: Vec<(String, String)> = pairs
            .iter()
            .map(|p| {
                (
                    p[0].as_str().expect("key").to_owned(),
                    p[1].as_str().expect("value").to_owned(),
                )
            })
            .collect();
        want.sort();
        assert_eq!(form_pairs(&body), want, "{name}: form body");
    }
}

/// The URL before `?`, and the query as sorted decoded pairs.
fn split_url(url: &str) -> (String, Vec<(String, String)>) {
    match url.split_once('?') {
        Some((base, query)) => (base.to_owned(), form_pairs(query)),
        None => (url.to_owned(), Vec::new()),
    }
}

fn form_pairs(text: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        percent_decode_str(s)
            .decode_utf8()
            .expect("utf-8")
            .into_owned()
    };
    let mut pairs: Vec<(String, String)> = text
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    pairs.sort();
    pairs
}

fn check_response(name: &str, case: &Json) {
    let model = Models::global()
        .get(text(case, "service"))
        .expect("bundled model");
    let operation = model
        .operation(text(case, "operation"))
        .expect("operation exists");
    let raw = &case["response"];
    let response = HttpResponse {
        status: u16::try_from(raw["status"].as_u64().expect("status")).expect("status fits"),
        headers: raw["headers"]
            .as_object()
            .map(|h| {
                h.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().expect("header text").to_owned()))
                    .collect()
            })
            .unwrap_or_default(),
        body: text(raw, "body").as_bytes().to_vec(),
    };
    let parsed =
        protocol::parse(&model, operation, &response).unwrap_or_else(|e| panic!("{name}: {e}"));
    match (parsed, case.get("output"), case.get("error")) {
        (Ok(output), Some(expected), None) => {
            assert_eq!(&output.to_json(), expected, "{name}: output");
            if let Some(bytes) = case["output_bytes"].as_object() {
                for (member, utf8) in bytes {
                    let want = Value::Bytes(utf8.as_str().expect("text").as_bytes().to_vec());
                    assert_eq!(output.get(member), Some(&want), "{name}: {member} as bytes");
                }
            }
            if let Some(id) = case["request_id"].as_str() {
                assert_eq!(
                    response.request_id_header().as_deref(),
                    Some(id),
                    "{name}: request id"
                );
            }
        }
        (Err(error), None, Some(expected)) => {
            assert_eq!(error.code, text(expected, "code"), "{name}: code");
            assert_eq!(error.message, text(expected, "message"), "{name}: message");
            assert_eq!(
                u64::from(error.status),
                expected["status"].as_u64().expect("status"),
                "{name}: status"
            );
            assert_eq!(
                error.request_id.as_deref(),
                expected["request_id"].as_str(),
                "{name}: request id"
            );
        }
        (parsed, _, _) => panic!("{name}: unexpected outcome {parsed:?}"),
    }
}

#[test]
fn every_fixture_matches() {
    let files = fixture_files();
    let mut checked = 0;
    for path in &files {
        let case = load(path);
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        if case.get("request").is_some() {
            check_request(name, &case);
            checked += 1;
        }
        if case.get("response").is_some() {
            check_response(name, &case);
            checked += 1;
        }
    }
    assert_eq!(
        checked,
        files.len(),
        "every fixture is a request or a response case"
    );
}
