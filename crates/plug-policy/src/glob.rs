//! IAM wildcard matching: `*` matches any run of characters (including none),
//! `?` matches exactly one character. Matching is precompiled: a pattern is
//! split at its `*`s into fixed-length parts, and because every part has a
//! fixed length, taking the leftmost match of each middle part is exact (no
//! backtracking needed).

/// One fixed-length piece of a pattern between two `*`s.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Plain text.
    Lit(Box<str>),
    /// Text with `?`s: `None` is a `?`.
    Mixed(Box<[Option<char>]>),
}

impl Part {
    fn char_len(&self) -> usize {
        match self {
            Part::Lit(s) => s.chars().count(),
            Part::Mixed(c) => c.len(),
        }
    }

    /// Byte length of the match if the part matches at the start of `text`.
    fn match_at(&self, text: &str) -> Option<usize> {
        match self {
            Part::Lit(s) => text.starts_with(&**s).then_some(s.len()),
            Part::Mixed(chars) => {
                let mut it = text.char_indices();
                for want in chars.iter() {
                    let (_, got) = it.next()?;
                    if want.is_some_and(|w| w != got) {
                        return None;
                    }
                }
                Some(it.next().map_or(text.len(), |(i, _)| i))
            }
        }
    }

    /// Leftmost match in `text`: (start, end) byte offsets.
    fn find(&self, text: &str) -> Option<(usize, usize)> {
        match self {
            Part::Lit(s) => find_lit(text, s).map(|i| (i, i + s.len())),
            Part::Mixed(_) => text
                .char_indices()
                .map(|(i, _)| i)
                .chain(std::iter::once(text.len()))
                .find_map(|i| self.match_at(&text[i..]).map(|n| (i, i + n))),
        }
    }

    /// Match at the very end of `text`: the start offset.
    fn match_end(&self, text: &str) -> Option<usize> {
        match self {
            Part::Lit(s) => text.ends_with(&**s).then(|| text.len() - s.len()),
            Part::Mixed(_) => {
                let n = self.char_len();
                let start = text
                    .char_indices()
                    .rev()
                    .nth(n.checked_sub(1)?)
                    .map(|(i, _)| i);
                let start = if n == 0 { Some(text.len()) } else { start };
                start.filter(|&s| self.match_at(&text[s..]) == Some(text.len() - s))
            }
        }
    }
}

/// Leftmost occurrence of `needle`: a first-byte scan then a compare, which
/// beats `str::find`'s searcher setup for the short needles of ARNs.
fn find_lit(text: &str, needle: &str) -> Option<usize> {
    let (t, n) = (text.as_bytes(), needle.as_bytes());
    let (&first, rest) = n.split_first()?;
    if t.len() < n.len() {
        return None;
    }
    (0..=t.len() - n.len()).find(|&i| t[i] == first && t[i + 1..i + n.len()] == *rest)
}

/// A compiled wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// `*`: everything.
    Any,
    /// No wildcard at all.
    Exact(Box<str>),
    /// `prefix*`, the commonest shape (`s3:Get*`, `arn:aws:s3:::bucket/*`).
    Prefix(Box<str>),
    /// Anything else: parts separated by `*`.
    General {
        parts: Box<[Part]>,
        leading_star: bool,
        trailing_star: bool,
    },
}

/// Builds a pattern from pieces that are either pattern text (wildcards
/// active) or literal text (from `${*}`-style escapes and variable values).
#[derive(Debug, Default)]
pub struct GlobBuilder {
    parts: Vec<Vec<Option<char>>>,
    current: Vec<Option<char>>,
    leading_star: bool,
}

impl GlobBuilder {
    /// Appends text in which `*` and `?` are wildcards.
    pub fn pattern(&mut self, text: &str) {
        for c in text.chars() {
            match c {
                '*' => self.star(),
                '?' => self.current.push(None),
                c => self.current.push(Some(c)),
            }
        }
    }

    /// Appends text matched literally.
    pub fn literal(&mut self, text: &str) {
        self.current.extend(text.chars().map(Some));
    }

    fn star(&mut self) {
        if self.parts.is_empty() && self.current.is_empty() {
            self.leading_star = true;
        }
        if !self.current.is_empty() {
            self.parts.push(std::mem::take(&mut self.current));
        }
        // Marks that a star was seen after the last part.
        self.parts.push(Vec::new());
    }

    /// The compiled pattern.
    pub fn build(mut self) -> Glob {
        let trailing_star = self.current.is_empty() && !self.parts.is_empty();
        if !self.current.is_empty() {
            self.parts.push(std::mem::take(&mut self.current));
        }
        let has_star = self.leading_star || self.parts.iter().any(Vec::is_empty);
        let parts: Vec<Part> = self
            .parts
            .into_iter()
            .filter(|p| !p.is_empty())
            .map(|p| {
                if p.iter().all(Option::is_some) {
                    Part::Lit(p.into_iter().flatten().collect::<String>().into())
                } else {
                    Part::Mixed(p.into())
                }
            })
            .collect();
        let kind = match (has_star, parts.as_slice()) {
            (true, []) => Kind::Any,
            (false, []) => Kind::Exact("".into()),
            (false, [Part::Lit(s)]) => Kind::Exact(s.clone()),
            (true, [Part::Lit(s)]) if !self.leading_star && trailing_star => {
                Kind::Prefix(s.clone())
            }
            _ => Kind::General {
                parts: parts.into(),
                leading_star: self.leading_star,
                trailing_star: trailing_star && has_star,
            },
        };
        Glob { kind }
    }
}

impl Glob {
    /// Compiles pattern text.
    pub fn new(pattern: &str) -> Glob {
        let mut b = GlobBuilder::default();
        b.pattern(pattern);
        b.build()
    }

    /// Whether the pattern is `*` (matches everything).
    pub fn is_any(&self) -> bool {
        matches!(self.kind, Kind::Any)
    }

    /// Whether `text` matches, case-sensitively.
    pub fn matches(&self, text: &str) -> bool {
        match &self.kind {
            Kind::Any => true,
            Kind::Exact(s) => **s == *text,
            Kind::Prefix(p) => text.starts_with(&**p),
            Kind::General {
                parts,
                leading_star,
                trailing_star,
            } => general_match(parts, *leading_star, *trailing_star, text),
        }
    }
}

fn general_match(parts: &[Part], leading_star: bool, trailing_star: bool, text: &str) -> bool {
    let mut rest = text;
    let mut parts = parts;
    if !leading_star {
        let Some((first, tail)) = parts.split_first() else {
            return rest.is_empty() || trailing_star;
        };
        let Some(n) = first.match_at(rest) else {
            return false;
        };
        rest = &rest[n..];
        parts = tail;
        if parts.is_empty() {
            return trailing_star || rest.is_empty();
        }
    }
    let (middle, last) = if trailing_star {
        (parts, None)
    } else {
        match parts.split_last() {
            Some((last, middle)) => (middle, Some(last)),
            None => (parts, None),
        }
    };
    for part in middle {
        let Some((_, end)) = part.find(rest) else {
            return false;
        };
        rest = &rest[end..];
    }
    match last {
        None => true,
        Some(last) => last.match_end(rest).is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Glob::new(p).matches(t)
    }

    #[test]
    fn wildcards() {
        assert!(m("*", ""));
        assert!(m("s3:Get*", "s3:GetObject"));
        assert!(!m("s3:Get*", "s3:PutObject"));
        assert!(m("*Object", "s3:GetObject"));
        assert!(m("s3:*Object*", "s3:GetObjectAcl"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("a*b*c", "aXbYbZc"));
        assert!(!m("a*b*c", "aXbYbZ"));
        assert!(m("a*?", "ab"));
        assert!(!m("a*?", "a"));
        assert!(m("?*", "é"));
        assert!(m("ab", "ab"));
        assert!(!m("ab", "abc"));
        assert!(m("a**", "a"));
        assert!(m("*a*", "bab"));
        assert!(!m("*a*", "bbb"));
        assert!(m("*ab", "abab"));
        assert!(m("x?z*", "xyz"));
    }

    #[test]
    fn literal_stars_stay_literal() {
        let mut b = GlobBuilder::default();
        b.pattern("a");
        b.literal("*");
        let g = b.build();
        assert!(g.matches("a*"));
        assert!(!g.matches("ab"));
    }
}
