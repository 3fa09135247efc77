//! The opt-in answer cache: what a tool last said for given arguments, served
//! (marked with its age) when the server cannot be reached.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use plug_core::ports::ToolResult;
use serde_json::Value;

/// Which answers are kept, for how long, and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachePolicy {
    /// An answer older than this is never served.
    pub ttl: Duration,
    /// At most this many answers are kept (the oldest goes first).
    pub max_entries: usize,
    /// Only these tools are cached; empty means every tool of the server.
    pub tools: BTreeSet<String>,
}

impl CachePolicy {
    /// Whether answers of `tool` are kept.
    pub fn covers(&self, tool: &str) -> bool {
        self.tools.is_empty() || self.tools.contains(tool)
    }
}

/// One server's cache. Thread-safe; every operation is O(1) except eviction (O(n)).
#[derive(Debug)]
pub struct ResultCache {
    policy: CachePolicy,
    entries: Mutex<HashMap<String, (Instant, ToolResult)>>,
}

/// Answers bigger than this are not cached, so the cache's memory stays bounded.
const MAX_CACHED_BYTES: usize = 1024 * 1024;

impl ResultCache {
    /// An empty cache with `policy`.
    pub fn new(policy: CachePolicy) -> ResultCache {
        ResultCache {
            policy,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Remembers a successful answer (not `isError` ones, nor oversized ones).
    pub fn store(&self, tool: &str, arguments: &Value, result: &ToolResult) {
        if !self.policy.covers(tool) || result.is_error || self.policy.max_entries == 0 {
            return;
        }
        let size: usize = result.content.iter().map(approximate_size).sum::<usize>()
            + result.structured.as_ref().map_or(0, approximate_size);
        if size > MAX_CACHED_BYTES {
            return;
        }
        let mut entries = self.lock();
        let key = cache_key(tool, arguments);
        if !entries.contains_key(&key) && entries.len() >= self.policy.max_entries {
            let oldest = entries
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                entries.remove(&oldest);
            }
        }
        let mut stored = result.clone();
        stored.cached_age = None;
        entries.insert(key, (Instant::now(), stored));
    }

    /// A fresh-enough answer for the call, marked with its age.
    pub fn lookup(&self, tool: &str, arguments: &Value) -> Option<ToolResult> {
        if !self.policy.covers(tool) {
            return None;
        }
        let entries = self.lock();
        let (at, result) = entries.get(&cache_key(tool, arguments))?;
        let age = at.elapsed();
        if age > self.policy.ttl {
            return None;
        }
        let mut answer = result.clone();
        answer.cached_age = Some(age);
        Some(answer)
    }

    /// How many answers are held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no answer is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, ToolResult)>> {
        // A panic while holding the lock cannot leave the map inconsistent: keep using it.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The key: the tool name and the arguments in canonical JSON (object keys sorted, recursively).
pub fn cache_key(tool: &str, arguments: &Value) -> String {
    let mut out = String::with_capacity(tool.len() + 64);
    out.push_str(tool);
    out.push('\0');
    write_canonical(arguments, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn approximate_size(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => 8,
        Value::String(s) => s.len(),
        Value::Array(items) => items.iter().map(approximate_size).sum::<usize>() + 2,
        Value::Object(map) => {
            map.iter()
                .map(|(k, v)| k.len() + approximate_size(v))
                .sum::<usize>()
                + 2
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(text: &str) -> ToolResult {
        ToolResult {
            content: vec![json!({"type": "text", "text": text})],
            structured: None,
            is_error: false,
            cached_age: None,
        }
    }

    fn policy(max: usize) -> CachePolicy {
        CachePolicy {
            ttl: Duration::from_secs(60),
            max_entries: max,
            tools: BTreeSet::new(),
        }
    }

    #[test]
    fn key_ignores_object_key_order() {
        let a = json!({"b": 1, "a": {"y": [1, {"q": 1, "p": 2}], "x": null}});
        let b = json!({"a": {"x": null, "y": [1, {"p": 2, "q": 1}]}, "b": 1});
        assert_eq!(cache_key("t", &a), cache_key("t", &b));
        assert_ne!(cache_key("t", &a), cache_key("u", &a));
        assert_ne!(
            cache_key("t", &json!([1, 2])),
            cache_key("t", &json!([2, 1]))
        );
    }

    #[test]
    fn serves_with_age_and_evicts_oldest_when_full() {
        let cache = ResultCache::new(policy(2));
        cache.store("t", &json!({"n": 1}), &answer("one"));
        cache.store("t", &json!({"n": 2}), &answer("two"));
        cache.store("t", &json!({"n": 3}), &answer("three"));
        assert_eq!(cache.len(), 2);
        assert!(cache.lookup("t", &json!({"n": 1})).is_none());
        let hit = cache.lookup("t", &json!({"n": 3})).expect("cached");
        assert_eq!(hit.content, answer("three").content);
        assert!(hit.cached_age.is_some());
    }

    #[test]
    fn skips_error_answers_other_tools_and_stale_entries() {
        let mut p = policy(8);
        p.tools.insert("only".to_owned());
        let cache = ResultCache::new(p);
        cache.store("other", &json!({}), &answer("x"));
        let mut failed = answer("bad");
        failed.is_error = true;
        cache.store("only", &json!({}), &failed);
        assert!(cache.is_empty());

        let mut p = policy(8);
        p.ttl = Duration::ZERO;
        let cache = ResultCache::new(p);
        cache.store("t", &json!({}), &answer("x"));
        std::thread::sleep(Duration::from_millis(2));
        assert!(cache.lookup("t", &json!({})).is_none());
    }
}
