//! The `plugctl policy eval` input format: one request with the policies of
//! every layer, as one JSON object, or many as JSON Lines.
//!
//! Batch speed comes from compiling each distinct policy text once: the
//! policies of a line are read as raw JSON slices and looked up in a cache
//! keyed by their exact text, so a file of a million requests against the
//! same few policies parses each policy once.

use std::collections::HashMap;
use std::sync::Arc;

use plug_core::ports::{PermissionRequest, PermissionVerdict};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::diagnostic::{Diagnostic, Severity};
use crate::eval::{NamedPolicy, PolicySet};
use crate::model::Policy;
use crate::parse::parse_policy;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawInput<'a> {
    #[serde(borrow)]
    request: &'a RawValue,
    #[serde(borrow, default)]
    identity_policies: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default)]
    resource_policy: Option<&'a RawValue>,
    #[serde(borrow, default)]
    permissions_boundaries: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default)]
    session_policy: Option<&'a RawValue>,
    #[serde(borrow, default)]
    service_control_policies: Option<Vec<Vec<&'a RawValue>>>,
    #[serde(borrow, default)]
    resource_control_policies: Option<Vec<Vec<&'a RawValue>>>,
}

/// Why one input could not be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    /// The line is not the expected JSON shape.
    #[error("malformed input: {0}")]
    Malformed(String),
    /// A policy in it has errors.
    #[error("{policy}: {}", first_error(.diagnostics))]
    Policy {
        /// Which policy, e.g. `identityPolicies[1]`.
        policy: String,
        /// Its diagnostics.
        diagnostics: Vec<Diagnostic>,
    },
    /// The request cannot be evaluated.
    #[error("{0}")]
    Request(String),
}

fn first_error(d: &[Diagnostic]) -> String {
    let errors: Vec<String> = d
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(ToString::to_string)
        .collect();
    errors.join("; ")
}

type Compiled = Result<Arc<Policy>, Arc<Vec<Diagnostic>>>;

/// Compiles policies, remembering each distinct text.
#[derive(Debug, Default)]
pub struct PolicyCache {
    map: HashMap<Box<str>, Compiled>,
}

/// Beyond this many distinct policies the cache starts over, so memory
/// stays bounded on inputs where every line has its own policy.
const CACHE_LIMIT: usize = 4096;

impl PolicyCache {
    /// An empty cache.
    pub fn new() -> PolicyCache {
        PolicyCache::default()
    }

    /// The compiled policy for `raw` (a JSON object, or a JSON string holding one).
    fn get(&mut self, raw: &RawValue, name: String) -> Result<NamedPolicy, InputError> {
        let text = raw.get();
        let compiled = match self.map.get(text) {
            Some(c) => c.clone(),
            None => {
                let c = compile(text);
                if self.map.len() >= CACHE_LIMIT {
                    self.map.clear();
                }
                self.map.insert(text.into(), c.clone());
                c
            }
        };
        match compiled {
            Ok(policy) => Ok(NamedPolicy { name, policy }),
            Err(diagnostics) => Err(InputError::Policy {
                policy: name,
                diagnostics: diagnostics.to_vec(),
            }),
        }
    }
}

fn compile(text: &str) -> Compiled {
    // IAM APIs carry policies as JSON strings; accept that form too.
    let owned;
    let text = if text.starts_with('"') {
        match serde_json::from_str::<String>(text) {
            Ok(s) => {
                owned = s;
                owned.as_str()
            }
            Err(_) => text,
        }
    } else {
        text
    };
    parse_policy(text).map(Arc::new).map_err(Arc::new)
}

/// A parsed input: the request and the policy set to decide it with.
#[derive(Debug)]
pub struct EvalInput {
    /// The request.
    pub request: PermissionRequest,
    /// Its policies.
    pub policies: PolicySet,
}

/// Reads one input object.
pub fn read_input(text: &str, cache: &mut PolicyCache) -> Result<EvalInput, InputError> {
    let raw: RawInput<'_> =
        serde_json::from_str(text).map_err(|e| InputError::Malformed(e.to_string()))?;
    build_input(raw, cache)
}

fn parse_request(raw: &RawValue) -> Result<PermissionRequest, InputError> {
    serde_json::from_str(raw.get()).map_err(|e| InputError::Malformed(format!("request: {e}")))
}

fn build_input(raw: RawInput<'_>, cache: &mut PolicyCache) -> Result<EvalInput, InputError> {
    let request = parse_request(raw.request)?;
    let list = |cache: &mut PolicyCache, items: &[&RawValue], prefix: &str| {
        items
            .iter()
            .enumerate()
            .map(|(i, r)| cache.get(r, format!("{prefix}[{i}]")))
            .collect::<Result<Vec<_>, _>>()
    };
    let identity = list(
        cache,
        raw.identity_policies.as_deref().unwrap_or_default(),
        "identityPolicies",
    )?;
    let resource = raw
        .resource_policy
        .map(|r| cache.get(r, "resourcePolicy".into()))
        .transpose()?;
    let boundaries = raw
        .permissions_boundaries
        .map(|b| list(cache, &b, "permissionsBoundaries"))
        .transpose()?;
    let session = raw
        .session_policy
        .map(|r| cache.get(r, "sessionPolicy".into()))
        .transpose()?;
    let levels = |cache: &mut PolicyCache, levels: Option<Vec<Vec<&RawValue>>>, prefix: &str| {
        levels
            .map(|ls| {
                ls.iter()
                    .enumerate()
                    .map(|(l, level)| list(cache, level, &format!("{prefix}[{l}]")))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()
    };
    let scps = levels(
        cache,
        raw.service_control_policies,
        "serviceControlPolicies",
    )?;
    let rcps = levels(
        cache,
        raw.resource_control_policies,
        "resourceControlPolicies",
    )?;
    Ok(EvalInput {
        request,
        policies: PolicySet {
            identity,
            resource,
            boundaries,
            session,
            scps,
            rcps,
        },
    })
}

/// Reads and decides one input.
pub fn evaluate_input(
    text: &str,
    cache: &mut PolicyCache,
) -> Result<PermissionVerdict, InputError> {
    let input = read_input(text, cache)?;
    input
        .policies
        .evaluate(&input.request)
        .map_err(|e| InputError::Request(e.to_string()))
}

/// The output line for one input: the verdict, or `{"error": ...}`.
pub fn output_line(result: &Result<PermissionVerdict, InputError>) -> String {
    match result {
        Ok(v) => serde_json::to_string(v).unwrap_or_else(|e| error_json(&e.to_string(), None)),
        Err(e) => {
            let diags = match e {
                InputError::Policy { diagnostics, .. } => Some(diagnostics.as_slice()),
                _ => None,
            };
            error_json(&e.to_string(), diags)
        }
    }
}

fn error_json(message: &str, diagnostics: Option<&[Diagnostic]>) -> String {
    let mut obj = serde_json::Map::new();
    obj.insert("error".into(), message.into());
    if let Some(d) = diagnostics {
        obj.insert(
            "diagnostics".into(),
            serde_json::to_value(d).unwrap_or_default(),
        );
    }
    serde_json::Value::Object(obj).to_string()
}

/// Decides JSON Lines, one at a time, reusing the previous line's policies
/// when only its request differs.
///
/// Batch files usually repeat the same policies on every line, after the
/// request. When a line ends with exactly the bytes that held the previous
/// line's policies (from the first policy key to the end), only the request
/// before them is parsed; any other line takes the full path. The reuse is
/// exact: byte-identical policy text compiles to the same policies.
#[derive(Debug, Default)]
pub struct Batch {
    cache: PolicyCache,
    last: Option<LastLine>,
}

#[derive(Debug)]
struct LastLine {
    /// The policy part of the previous line: from its first policy key to the end.
    tail: String,
    policies: PolicySet,
}

impl Batch {
    /// A batch with empty caches.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Reads and decides one line.
    pub fn evaluate_line(&mut self, line: &str) -> Result<PermissionVerdict, InputError> {
        if let Some(request) = self.reuse(line) {
            let last = self.last.as_ref().map(|l| &l.policies);
            if let (Ok(request), Some(policies)) = (request, last) {
                return policies
                    .evaluate(&request)
                    .map_err(|e| InputError::Request(e.to_string()));
            }
        }
        self.last = None;
        let raw: RawInput<'_> =
            serde_json::from_str(line).map_err(|e| InputError::Malformed(e.to_string()))?;
        let tail_start = tail_start(line, &raw);
        let input = build_input(raw, &mut self.cache)?;
        let verdict = input
            .policies
            .evaluate(&input.request)
            .map_err(|e| InputError::Request(e.to_string()));
        if let Some(start) = tail_start {
            self.last = Some(LastLine {
                tail: line[start..].to_owned(),
                policies: input.policies,
            });
        }
        verdict
    }

    /// The request of `line` when its policy part equals the previous line's.
    fn reuse(&self, line: &str) -> Option<Result<PermissionRequest, InputError>> {
        let last = self.last.as_ref()?;
        let head = line.strip_suffix(last.tail.as_str())?;
        let head = head.trim_end().strip_suffix(',')?;
        let object = format!("{head}}}");
        let raw: RawInput<'_> = serde_json::from_str(&object).ok()?;
        let only_request = raw.identity_policies.is_none()
            && raw.resource_policy.is_none()
            && raw.permissions_boundaries.is_none()
            && raw.session_policy.is_none()
            && raw.service_control_policies.is_none()
            && raw.resource_control_policies.is_none();
        only_request.then(|| parse_request(raw.request))
    }
}

/// Where the policy part of a line starts (the opening quote of the first
/// policy key), when every policy comes after the request.
fn tail_start(line: &str, raw: &RawInput<'_>) -> Option<usize> {
    let base = line.as_ptr() as usize;
    let offset = |r: &RawValue| (r.get().as_ptr() as usize).checked_sub(base);
    let mut firsts: Vec<&RawValue> = Vec::new();
    firsts.extend(
        raw.identity_policies
            .as_ref()
            .and_then(|v| v.first().copied()),
    );
    firsts.extend(raw.resource_policy);
    firsts.extend(
        raw.permissions_boundaries
            .as_ref()
            .and_then(|v| v.first().copied()),
    );
    firsts.extend(raw.session_policy);
    for levels in [
        &raw.service_control_policies,
        &raw.resource_control_policies,
    ] {
        firsts.extend(
            levels
                .as_ref()
                .and_then(|l| l.iter().flatten().next().copied()),
        );
    }
    let first_value = firsts.into_iter().filter_map(offset).min()?;
    // Walk back over `"key" :` to the key's opening quote.
    let before = line.get(..first_value)?;
    let colon = before.rfind(':')?;
    let close = before[..colon].rfind('"')?;
    let open = before[..close].rfind('"')?;
    let request_end = offset(raw.request)? + raw.request.get().len();
    (request_end <= open && before[..open].trim_end().ends_with(',')).then_some(open)
}

/// Evaluates JSON Lines of requests: one output line per non-blank input
/// line, in order. Returns whether every line was evaluated.
pub fn evaluate_lines(
    mut reader: impl std::io::BufRead,
    out: &mut impl std::io::Write,
) -> std::io::Result<bool> {
    let mut batch = Batch::new();
    let mut line = String::new();
    let mut all_ok = true;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        let result = batch.evaluate_line(&line);
        all_ok &= result.is_ok();
        out.write_all(output_line(&result).as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(all_ok)
}
