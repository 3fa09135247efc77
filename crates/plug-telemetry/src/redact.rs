//! Redaction: secrets never leave the process through telemetry.
//!
//! Two nets, because neither alone is enough. Values the run *knows* are
//! secret (params declared `sensitive`, the operator's AWS secret key and
//! session token, MCP API keys) are replaced wherever they appear; and text
//! that *looks* like a credential (access key ids, long base64 tokens, bearer
//! headers, secret-named JSON keys) is replaced even when nobody declared it.

use std::borrow::Cow;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, MatchKind};
use regex::Regex;
use serde_json::Value;

/// What replaces a secret.
pub const REDACTED: &str = "[redacted]";

/// Shorter values are not treated as secrets: replacing `"1"` everywhere
/// would shred the log without protecting anything.
const MIN_SECRET_LEN: usize = 6;

/// The shortest text a credential shape can match (`Bearer ` plus 8).
const MIN_SHAPE_LEN: usize = 15;

static CREDENTIAL_SHAPES: LazyLock<Regex> = LazyLock::new(|| {
    // Access key ids (long-term AKIA, temporary ASIA); bearer tokens; base64
    // runs of 100+ characters (session tokens, JWT-like blobs). ASCII word
    // boundaries keep the pattern on the regex crate's fast DFA path.
    Regex::new(
        r"(?-u:\b)(?:AKIA|ASIA)[A-Z0-9]{16}(?-u:\b)|(?i:bearer)[ \t]+[A-Za-z0-9._~+/=-]{8,}|[A-Za-z0-9+/=_-]{100,}",
    )
    .unwrap_or_else(|_| unreachable!("the pattern is a constant"))
});

static BASE64_RUNS: LazyLock<Regex> = LazyLock::new(|| {
    // Candidate secret access keys: maximal runs of the base64 alphabet; a
    // run of exactly 40 with mixed case and a digit is treated as one.
    // Lower-case hex (sha1 digests) fails the mixed-case test.
    Regex::new(r"[A-Za-z0-9/+]{40,}").unwrap_or_else(|_| unreachable!("the pattern is a constant"))
});

/// Replaces known secret values and credential-shaped text.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
    /// One automaton over every secret: a line is searched once, whatever
    /// their number. `None` while no secret is known.
    finder: Option<AhoCorasick>,
}

impl Redactor {
    /// A redactor that knows no values yet; shapes are always caught.
    pub fn new() -> Self {
        Redactor::default()
    }

    /// A redactor that also knows the AWS secrets of this process's environment.
    pub fn from_env() -> Self {
        let mut redactor = Redactor::new();
        for name in [
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_ACCESS_KEY_ID",
        ] {
            if let Ok(value) = std::env::var(name) {
                redactor.add_secret(&value);
            }
        }
        redactor
    }

    /// Adds a value that must never appear (too-short values are ignored).
    pub fn add_secret(&mut self, value: &str) {
        let value = value.trim();
        if value.len() < MIN_SECRET_LEN {
            return;
        }
        // Also as it appears inside JSON text, where `"` and `\` are escaped.
        let escaped = serde_json::to_string(value).unwrap_or_default();
        let escaped = escaped.trim_matches('"');
        for form in [value, escaped] {
            if !form.is_empty() && !self.secrets.iter().any(|s| s == form) {
                self.secrets.push(form.to_owned());
            }
        }
        // Leftmost-longest, so a secret that contains another is replaced whole.
        self.finder = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&self.secrets)
            .ok();
    }

    /// The text with every known secret value replaced: enough for text
    /// made only of the manifest's names, numbers and enums, which cannot
    /// carry a credential unless someone declared it a value.
    pub fn known<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match &self.finder {
            Some(finder) if finder.is_match(text) => {
                let replacements = vec![REDACTED; self.secrets.len()];
                Cow::Owned(finder.replace_all(text, &replacements))
            }
            _ => Cow::Borrowed(text),
        }
    }

    /// The text with every known secret and every credential shape replaced.
    pub fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = self.known(text);
        if out.len() < MIN_SHAPE_LEN || !may_hold_credential(out.as_bytes()) {
            return out;
        }
        if let Cow::Owned(s) = CREDENTIAL_SHAPES.replace_all(&out, REDACTED) {
            out = Cow::Owned(s);
        }
        if has_secret_key_shape(&out) {
            out = Cow::Owned(replace_secret_keys(&out));
        }
        out
    }

    /// Redacts every string of a JSON value in place, and the whole value of
    /// keys whose name says they hold a secret.
    pub fn json(&self, value: &mut Value) {
        match value {
            Value::String(s) => {
                if let Cow::Owned(clean) = self.text(s) {
                    *s = clean;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.json(v)),
            Value::Object(map) => {
                for (key, v) in map.iter_mut() {
                    if is_secret_key(key) && !v.is_null() {
                        *v = Value::String(REDACTED.to_owned());
                    } else {
                        self.json(v);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Whether a JSON key names a secret (`password`, `apiKey`, `session_token`, ...).
pub fn is_secret_key(key: &str) -> bool {
    let key: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    [
        "password",
        "passwd",
        "secret",
        "token",
        "apikey",
        "authorization",
        "credential",
        "privatekey",
    ]
    .iter()
    .any(|word| key.contains(word))
}

/// Whether `text` could match a credential shape: an `AKIA`/`ASIA` prefix,
/// the word `bearer`, a run of 40 characters of the standard base64
/// alphabet, or of 100 of the wider token alphabet. One pass over the bytes
/// and no false negatives (a property test holds it to the regexes), so the
/// regexes, which cost most of the worker's time, run only on the rare line
/// that needs them.
fn may_hold_credential(text: &[u8]) -> bool {
    let mut base64_run = 0usize;
    let mut token_run = 0usize;
    for (i, &byte) in text.iter().enumerate() {
        let alnum = byte.is_ascii_alphanumeric();
        base64_run = if alnum || matches!(byte, b'+' | b'/') {
            base64_run + 1
        } else {
            0
        };
        token_run = if alnum || matches!(byte, b'+' | b'/' | b'=' | b'_' | b'-') {
            token_run + 1
        } else {
            0
        };
        if base64_run >= 40 || token_run >= 100 {
            return true;
        }
        let rest = &text[i..];
        let starts =
            |word: &[u8]| rest.len() >= word.len() && rest[..word.len()].eq_ignore_ascii_case(word);
        match byte {
            b'A' if rest.starts_with(b"AKIA") || rest.starts_with(b"ASIA") => return true,
            b'b' | b'B' if starts(b"bearer") => return true,
            _ => {}
        }
    }
    false
}

fn looks_like_secret_key(candidate: &str) -> bool {
    candidate.chars().any(|c| c.is_ascii_uppercase())
        && candidate.chars().any(|c| c.is_ascii_lowercase())
        && candidate.chars().any(|c| c.is_ascii_digit())
}

fn secret_keys(text: &str) -> impl Iterator<Item = regex::Match<'_>> {
    BASE64_RUNS
        .find_iter(text)
        .filter(|m| m.len() == 40 && looks_like_secret_key(m.as_str()))
}

fn has_secret_key_shape(text: &str) -> bool {
    secret_keys(text).next().is_some()
}

fn replace_secret_keys(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in secret_keys(text) {
        out.push_str(&text[last..m.start()]);
        out.push_str(REDACTED);
        last = m.end();
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    #[test]
    fn declared_values_are_replaced_everywhere() {
        let mut r = Redactor::new();
        r.add_secret("hunter2-password");
        assert_eq!(
            r.text("login with hunter2-password now"),
            "login with [redacted] now"
        );
    }

    #[test]
    fn secrets_are_found_inside_json_text_too() {
        let mut r = Redactor::new();
        r.add_secret("pa\"ss\\word");
        let json = serde_json::json!({"reason": "bad pa\"ss\\word"}).to_string();
        let clean = r.text(&json);
        assert_eq!(clean, r#"{"reason":"bad [redacted]"}"#);
    }

    #[test]
    fn a_secret_containing_another_is_replaced_whole() {
        let mut r = Redactor::new();
        r.add_secret("abcdefgh");
        r.add_secret("abcdefgh-and-more");
        assert_eq!(
            r.known("x abcdefgh-and-more y abcdefgh"),
            "x [redacted] y [redacted]"
        );
        assert_eq!(r.known("nothing here"), "nothing here");
    }

    #[test]
    fn short_values_are_not_secrets() {
        let mut r = Redactor::new();
        r.add_secret("abc");
        assert_eq!(r.text("abc abc"), "abc abc");
    }

    #[test]
    fn credential_shapes_are_caught_undeclared() {
        let r = Redactor::new();
        let text = format!("key AKIAIOSFODNN7EXAMPLE secret {SECRET} header Bearer abc.def-ghi");
        let clean = r.text(&text);
        assert!(!clean.contains("AKIAIOSFODNN7EXAMPLE"), "{clean}");
        assert!(!clean.contains(SECRET), "{clean}");
        assert!(!clean.contains("abc.def-ghi"), "{clean}");
    }

    #[test]
    fn digests_and_arns_survive() {
        let r = Redactor::new();
        let text = "sha1 3f786850e387550fdab836ed7e6dc881de23001b role arn:aws:iam::123456789012:role/Deployer";
        assert_eq!(r.text(text), text);
    }

    proptest::proptest! {
        /// The prefilter never hides a line the regexes would redact.
        #[test]
        fn the_prefilter_has_no_false_negatives(
            text in "([A-Za-z0-9+/=_ -]{0,12}|AKIA[A-Z0-9]{16}|[bB][eE]arer [a-z]{8}|[A-Za-z0-9+/]{38,42}|[A-Za-z0-9=_-]{98,102}){0,4}"
        ) {
            let shaped = CREDENTIAL_SHAPES.is_match(&text) || BASE64_RUNS.is_match(&text);
            proptest::prop_assert!(!shaped || may_hold_credential(text.as_bytes()), "{text}");
        }
    }

    #[test]
    fn ordinary_event_lines_skip_the_regexes() {
        let line = r#"{"schema":1,"run_id":"20261126T164704-a1b2c3","at_ms":1764175624000,"type":"step_finished","step":"deploy-function","outcome":"succeeded","duration_ms":12}"#;
        assert!(!may_hold_credential(line.as_bytes()));
        assert!(may_hold_credential(b"x AKIAIOSFODNN7EXAMPLE"));
        assert!(may_hold_credential(b"Authorization: BEARER abcdefgh"));
    }

    #[test]
    fn secret_named_keys_are_blanked_in_json() {
        let r = Redactor::new();
        let mut v = serde_json::json!({"apiKey": "x", "nested": [{"Password": "y", "name": "ok"}]});
        r.json(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"apiKey": REDACTED, "nested": [{"Password": REDACTED, "name": "ok"}]})
        );
    }
}
