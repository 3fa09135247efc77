//! Journal entries are sealed: each line carries an HMAC-SHA256 of its
//! entry chained to the line before (the first to the run's id), under a
//! key kept in the state folder (`journal.key`, owner-only). A journal
//! whose entries were edited, reordered, dropped or copied from another run
//! no longer verifies, and `resume` refuses it: editing `"actor": "agent"`
//! into `"human"` no longer lets a resumed run pass a human-only gate.
//!
//! The key is readable by the user plugctl runs as, so this stops edits by
//! hand and by tools that only rewrite JSON, not a process that reads the
//! key on purpose; running agents as another user closes that too.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The key file, in the state folder.
const KEY_FILE: &str = "journal.key";
/// How a sealed line begins: the seal is the object's first member.
const PREFIX: &str = "{\"seal\":\"";
/// Hex digits of a seal.
const SEAL_HEX: usize = 64;

/// The running seal of one journal.
#[derive(Clone)]
pub(crate) struct Seal {
    key: Vec<u8>,
    last: [u8; 32],
}

impl std::fmt::Debug for Seal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seal([redacted])")
    }
}

impl Seal {
    /// The seal a journal of `run_id` starts from, with the state folder's
    /// key (made on first use).
    pub(crate) fn for_run(state_dir: &Path, run_id: &str) -> std::io::Result<Seal> {
        let key = key(state_dir)?;
        let mut mac = HmacSha256::new_from_slice(&key).map_err(std::io::Error::other)?;
        mac.update(run_id.as_bytes());
        let last = mac.finalize().into_bytes().into();
        Ok(Seal { key, last })
    }

    fn mac(&self, entry: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(&self.last);
        mac.update(entry);
        mac
    }

    /// The line (without its newline) that records `entry`, a JSON object.
    pub(crate) fn seal(&mut self, entry: &[u8]) -> Vec<u8> {
        let code: [u8; 32] = self.mac(entry).finalize().into_bytes().into();
        self.last = code;
        let mut line = Vec::with_capacity(entry.len() + PREFIX.len() + SEAL_HEX + 2);
        line.extend_from_slice(PREFIX.as_bytes());
        for byte in code {
            let _ = write!(line, "{byte:02x}");
        }
        line.extend_from_slice(b"\",");
        line.extend_from_slice(entry.get(1..).unwrap_or_default());
        line
    }

    /// Checks one line and moves on past it; `false` when it does not
    /// verify (the seal is then unchanged).
    pub(crate) fn verify(&mut self, line: &str) -> bool {
        let Some(rest) = line.strip_prefix(PREFIX) else {
            return false;
        };
        let (Some(hex), Some(tail)) = (rest.get(..SEAL_HEX), rest.get(SEAL_HEX..)) else {
            return false;
        };
        let (Some(code), Some(body)) = (decode_hex(hex), tail.strip_prefix("\",")) else {
            return false;
        };
        let entry = format!("{{{body}");
        if self.mac(entry.as_bytes()).verify_slice(&code).is_err() {
            return false;
        }
        self.last = code;
        true
    }
}

fn decode_hex(hex: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The state folder's key: read, or made whole (written aside, then linked
/// into place, so a concurrent first run never reads half a key).
fn key(state_dir: &Path) -> std::io::Result<Vec<u8>> {
    let path = state_dir.join(KEY_FILE);
    if let Ok(key) = std::fs::read(&path)
        && key.len() >= 32
    {
        return Ok(key);
    }
    std::fs::create_dir_all(state_dir)?;
    let fresh: Vec<u8> = (0..2)
        .flat_map(|_| *uuid::Uuid::new_v4().as_bytes())
        .collect();
    let draft = state_dir.join(format!(".{KEY_FILE}.{}", uuid::Uuid::new_v4().simple()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&draft)?;
    file.write_all(&fresh)?;
    file.sync_all()?;
    let linked = std::fs::hard_link(&draft, &path);
    let _ = std::fs::remove_file(&draft);
    match linked {
        Ok(()) => Ok(fresh),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read(&path),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_lines_verify_in_order_and_edits_do_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut writer = Seal::for_run(dir.path(), "r1").expect("seal");
        let a = String::from_utf8(writer.seal(br#"{"entry":"a","actor":"agent"}"#)).expect("utf8");
        let b = String::from_utf8(writer.seal(br#"{"entry":"b"}"#)).expect("utf8");
        assert!(
            a.starts_with(PREFIX) && a.ends_with(r#""entry":"a","actor":"agent"}"#),
            "{a}"
        );
        let fresh = || Seal::for_run(dir.path(), "r1").expect("seal");
        let mut reader = fresh();
        assert!(reader.verify(&a) && reader.verify(&b));
        assert!(!fresh().verify(&a.replace("agent", "human")), "an edit");
        assert!(!fresh().verify(&b), "a dropped line");
        let mut other = Seal::for_run(dir.path(), "r2").expect("seal");
        assert!(!other.verify(&a), "a line of another run");
        assert!(
            !fresh().verify(r#"{"entry":"a","actor":"agent"}"#),
            "an unsealed line"
        );
    }
}
