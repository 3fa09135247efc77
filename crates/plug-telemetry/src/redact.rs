//! Redaction: secrets never leave the process through telemetry.
//!
//! Two nets, because neither alone is enough. Values the run *knows* are
//! secret (params declared `sensitive`, the operator's AWS secret key and
//! session token, MCP API keys) are replaced wherever they appear; and text
//! that *looks* like a credential (access key ids, long base64 tokens, bearer
//! headers, secret-named JSON keys) is replaced even when nobody declared it.

use std::borrow::Cow;
use std::sync::LazyLock;

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
        // Longest first, so a secret that contains another is replaced whole.
        self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// The text with every secret replaced.
    pub fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), REDACTED));
            }
        }
        if out.len() < MIN_SHAPE_LEN {
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
