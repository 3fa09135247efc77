//! The part of a file a diagnostic shows. Small files are shown whole, as
//! miette would; from a large file, or one with a line too long to print,
//! only the lines around the finding, each clipped to a readable width: a
//! one-line file of megabytes must not be printed whole for every finding.

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

/// Files up to this size with no line longer than [`MAX_LINE`] are shown whole.
const WHOLE_FILE: usize = 64 * 1024;
/// Lines past this many bytes are clipped.
const MAX_LINE: usize = 400;
/// Bytes kept before the finding on its own line, when that line is clipped.
const AROUND: usize = 160;
/// Lines shown before and after the finding's line.
const CONTEXT: usize = 3;
/// The mark of clipped text.
const CLIP: &str = "…";

/// A window of a file, with the span moved into it.
#[derive(Debug)]
pub(crate) struct Excerpt {
    name: String,
    text: String,
    /// The span, in the excerpt's own offsets.
    pub(crate) span: SourceSpan,
    /// The file's line (0-based) the excerpt starts at.
    first_line: usize,
    /// The excerpt's line (0-based) clipped at its start, and how many
    /// bytes its columns moved left.
    shifted: Option<(usize, usize)>,
}

/// Whether `text` can be shown whole.
pub(crate) fn fits(text: &str) -> bool {
    text.len() <= WHOLE_FILE && text.split('\n').all(|line| line.len() <= MAX_LINE)
}

/// The lines around `span` in `text`, long lines clipped.
pub(crate) fn excerpt(name: String, text: &str, span: SourceSpan) -> Excerpt {
    let offset = floor_boundary(text, span.offset());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let start = nth_line_start_before(text, line_start, CONTEXT);
    let end = nth_line_end_after(text, offset, CONTEXT);
    let mut out = Excerpt {
        name,
        text: String::with_capacity(8 * MAX_LINE),
        span: SourceSpan::new(0.into(), 0),
        first_line: text[..start].matches('\n').count(),
        shifted: None,
    };
    let mut at = start;
    for (index, line) in text[start..end].split_inclusive('\n').enumerate() {
        if at == line_start {
            out.push_span_line(index, line, offset - at, span.len());
        } else {
            out.text.push_str(&clip(line, 0, MAX_LINE));
        }
        at += line.len();
    }
    out
}

impl Excerpt {
    /// Adds the finding's line, clipped around the span at byte `within`.
    fn push_span_line(&mut self, index: usize, line: &str, within: usize, len: usize) {
        let from = match line.len() > MAX_LINE {
            true => floor_boundary(line, within.saturating_sub(AROUND)),
            false => 0,
        };
        let to = (within + len.min(MAX_LINE) + AROUND).max(from + MAX_LINE);
        let shown = clip(line, from, to);
        let head = if from > 0 { CLIP.len() } else { 0 };
        if from > 0 {
            // miette counts columns in bytes: the mark stands for `from` of them.
            self.shifted = Some((index, from - CLIP.len()));
        }
        let offset = self.text.len() + head + (within - from);
        let room = self.text.len() + shown.len() - offset;
        self.text.push_str(&shown);
        self.span = SourceSpan::new(offset.into(), len.min(room));
    }
}

/// `line[from..to]` (on char boundaries), marked where it was cut, its
/// newline kept.
fn clip(line: &str, from: usize, to: usize) -> String {
    let body = line.strip_suffix('\n').unwrap_or(line);
    let to = floor_boundary(body, to);
    let mut out = String::with_capacity(to.saturating_sub(from) + 8);
    if from > 0 {
        out.push_str(CLIP);
    }
    out.push_str(&body[from.min(to)..to]);
    if to < body.len() {
        out.push_str(CLIP);
    }
    if body.len() < line.len() {
        out.push('\n');
    }
    out
}

/// The largest char boundary of `text` at or before `at`.
fn floor_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Where the line `n` lines before the one starting at `line_start` starts.
fn nth_line_start_before(text: &str, line_start: usize, n: usize) -> usize {
    let mut start = line_start;
    for _ in 0..n {
        if start == 0 {
            break;
        }
        start = text[..start - 1].rfind('\n').map_or(0, |i| i + 1);
    }
    start
}

/// Where the line `n` lines after the one holding `offset` ends (its newline included).
fn nth_line_end_after(text: &str, offset: usize, n: usize) -> usize {
    let mut end = offset;
    for _ in 0..=n {
        match text[end..].find('\n') {
            Some(i) => end += i + 1,
            None => return text.len(),
        }
    }
    end
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self.text.as_str().read_span(span, before, after)?;
        let column = match self.shifted {
            Some((line, by)) if inner.line() == line && inner.column() > 0 => inner.column() + by,
            _ => inner.column(),
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line() + self.first_line,
            column,
            inner.line_count(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_line_is_clipped_around_the_span() {
        let text = format!(
            "a: 1\nb: {}XX{}\nc: 3\n",
            "y".repeat(5000),
            "z".repeat(5000)
        );
        let at = text.find("XX").expect("span");
        let cut = excerpt("f.yaml".into(), &text, SourceSpan::new(at.into(), 2));
        assert!(cut.text.len() < 1000, "{}", cut.text.len());
        let offset = cut.span.offset();
        assert_eq!(&cut.text[offset..offset + cut.span.len()], "XX");
        assert!(cut.text.starts_with("a: 1\n…yyy"), "{}", &cut.text[..20]);
        assert!(cut.text.ends_with("z…\nc: 3\n"));
    }

    #[test]
    fn small_files_fit_whole() {
        assert!(fits("a: 1\nb: 2\n"));
        assert!(!fits(&"x".repeat(MAX_LINE + 1)));
    }
}
