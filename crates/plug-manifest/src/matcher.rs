//! Claude Code matchers: which step actions a hook applies to. Compiled by
//! `validate` and by the hook host alike, so a matcher that fails (or would
//! compile to a huge automaton) is a finding before any run.

use regex::{Regex, RegexBuilder};

/// The most memory a matcher's compiled regex may take: real matchers take
/// a few KiB; `(a{1000}){1000}`-style patterns are refused instead of
/// being built at every run.
pub const MAX_MATCHER_BYTES: usize = 1 << 20;

/// A compiled matcher, following Claude Code's rules.
///
/// Empty or `*` matches everything. A matcher made only of `[A-Za-z0-9_ ,|-]`
/// is an exact name or a list of names (separated by `|`, or by `,` which
/// Claude Code also accepts); anything else is an unanchored regex, so
/// `aws_.*` also matches `xaws_api`, exactly as in Claude Code.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// Matches every action.
    All,
    /// Matches these exact names.
    Names(Vec<String>),
    /// Matches when the regex finds a match anywhere in the name.
    Pattern(Regex),
}

impl Matcher {
    /// Compiles a matcher as written in a manifest (`None`: match all).
    pub fn parse(text: Option<&str>) -> Result<Self, regex::Error> {
        let text = text.map(str::trim).unwrap_or_default();
        if text.is_empty() || text == "*" {
            return Ok(Matcher::All);
        }
        let plain = text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_ ,|-".contains(c));
        if plain {
            let names = text
                .split(['|', ','])
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect();
            return Ok(Matcher::Names(names));
        }
        RegexBuilder::new(text)
            .size_limit(MAX_MATCHER_BYTES)
            .dfa_size_limit(MAX_MATCHER_BYTES)
            .build()
            .map(Matcher::Pattern)
    }

    /// Whether the hook applies to `action`.
    ///
    /// An event that concerns no action (a skill-level event) has nothing to
    /// match, and Claude Code ignores matchers on such events: the hook runs.
    pub fn matches(&self, action: Option<&str>) -> bool {
        let Some(action) = action else {
            return true;
        };
        match self {
            Matcher::All => true,
            Matcher::Names(names) => names.iter().any(|n| n == action),
            Matcher::Pattern(re) => re.is_match(action),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(text: &str) -> Matcher {
        Matcher::parse(Some(text)).expect("valid matcher")
    }

    #[test]
    fn empty_and_star_match_everything() {
        for text in ["", "*", "  "] {
            assert!(m(text).matches(Some("aws_api")), "{text:?}");
        }
        assert!(Matcher::parse(None).expect("none").matches(Some("x")));
    }

    #[test]
    fn plain_text_is_exact_names() {
        let names = m("aws_api|run_command");
        assert!(names.matches(Some("aws_api")));
        assert!(names.matches(Some("run_command")));
        assert!(!names.matches(Some("aws_api_x")));
        assert!(!names.matches(Some("aws")));
        assert!(m("aws_api, mcp_call").matches(Some("mcp_call")));
    }

    #[test]
    fn anything_else_is_an_unanchored_regex() {
        let re = m("aws_.*");
        assert!(re.matches(Some("aws_api")));
        assert!(re.matches(Some("my_aws_thing")));
        assert!(!re.matches(Some("run_command")));
        assert!(m("^mcp__pricing__").matches(Some("mcp__pricing__get")));
        assert!(Matcher::parse(Some("(")).is_err());
    }

    /// Hardening issue, item 14: a pattern whose automaton would be huge is
    /// refused, not built.
    #[test]
    fn a_huge_automaton_is_refused() {
        assert!(Matcher::parse(Some("(\\w{100}){100}")).is_err());
    }

    #[test]
    fn skill_level_events_ignore_the_matcher() {
        assert!(m("aws_api").matches(None));
    }
}
