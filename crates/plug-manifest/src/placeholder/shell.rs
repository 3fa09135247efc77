//! Placeholders in a `shell: true` command line, with the shell quoting
//! each one sits in, so that a value always reaches the shell as one word
//! of data: unquoted, the placeholder becomes `"${VAR}"`; inside double
//! quotes, `${VAR}` (already one word there); inside single quotes, or
//! right after a backslash, no expansion can carry it, and the line is
//! refused. Command substitutions (`$(...)`, backticks) open a fresh,
//! unquoted context even inside double quotes, as the shell parses them.

use std::ops::Range;

/// The quoting in force where a placeholder starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShellContext {
    /// Outside quotes (also inside `$(...)` or backticks): quote the value.
    Unquoted,
    /// Inside `"..."`: the value is one word as it stands.
    DoubleQuoted,
    /// Inside `'...'`: nothing expands; unusable.
    SingleQuoted,
    /// Right after a backslash: the quote around the value would be escaped; unusable.
    Escaped,
}

impl ShellContext {
    /// Whether a value can be passed here as data.
    pub fn is_usable(self) -> bool {
        matches!(self, ShellContext::Unquoted | ShellContext::DoubleQuoted)
    }

    /// How `var` is written in its place.
    pub fn expansion(self, var: &str) -> String {
        match self {
            ShellContext::DoubleQuoted => format!("${{{var}}}"),
            _ => format!("\"${{{var}}}\""),
        }
    }
}

/// One frame of the shell's nesting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    Top,
    Double,
    Single,
    /// `$(`, with the count of `(` opened inside it.
    Substitution(u32),
    Backtick,
}

/// Each placeholder of `line`: its byte range, its inside, its quoting.
pub fn placeholders(line: &str) -> Vec<(Range<usize>, &str, ShellContext)> {
    let found: Vec<(Range<usize>, &str)> = super::scan(line).collect();
    let mut out = Vec::with_capacity(found.len());
    let mut next = found.into_iter().peekable();
    let mut stack = vec![Frame::Top];
    let mut escaped = false;
    let mut chars = line.char_indices().peekable();
    let mut previous = None;
    while let Some((i, c)) = chars.next() {
        if let Some((range, inner)) = next.next_if(|(range, _)| range.start == i) {
            let top = *stack.last().unwrap_or(&Frame::Top);
            out.push((range.clone(), inner, context(top, escaped)));
            escaped = false;
            while chars.next_if(|(j, _)| *j < range.end).is_some() {}
            previous = Some('>');
            continue;
        }
        if escaped {
            escaped = false;
        } else {
            step(&mut stack, &mut escaped, c, previous, &mut chars);
        }
        previous = Some(c);
    }
    out
}

fn context(top: Frame, escaped: bool) -> ShellContext {
    match (escaped, top) {
        (true, _) => ShellContext::Escaped,
        (_, Frame::Single) => ShellContext::SingleQuoted,
        (_, Frame::Double) => ShellContext::DoubleQuoted,
        _ => ShellContext::Unquoted,
    }
}

/// Moves the nesting on by one character.
fn step(
    stack: &mut Vec<Frame>,
    escaped: &mut bool,
    c: char,
    previous: Option<char>,
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
) {
    let top = *stack.last().unwrap_or(&Frame::Top);
    let dollar_paren = c == '$' && chars.next_if(|(_, n)| *n == '(').is_some();
    match top {
        Frame::Single if c == '\'' => {
            stack.pop();
        }
        Frame::Single => {}
        _ if dollar_paren => stack.push(Frame::Substitution(0)),
        _ if c == '\\' => *escaped = true,
        Frame::Double if c == '"' => {
            stack.pop();
        }
        Frame::Double if c == '`' => stack.push(Frame::Backtick),
        Frame::Double => {}
        Frame::Backtick if c == '`' => {
            stack.pop();
        }
        _ if c == '`' => stack.push(Frame::Backtick),
        _ if c == '\'' => stack.push(Frame::Single),
        _ if c == '"' => stack.push(Frame::Double),
        _ if c == '#' && previous.is_none_or(|p| p.is_whitespace() || ";&|(".contains(p)) => {
            // A comment: nothing in it changes the nesting.
            while chars.next_if(|(_, n)| *n != '\n').is_some() {}
        }
        Frame::Substitution(depth) if c == '(' => {
            stack.pop();
            stack.push(Frame::Substitution(depth + 1));
        }
        Frame::Substitution(0) if c == ')' => {
            stack.pop();
        }
        Frame::Substitution(depth) if c == ')' => {
            stack.pop();
            stack.push(Frame::Substitution(depth - 1));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contexts(line: &str) -> Vec<(&str, ShellContext)> {
        placeholders(line)
            .into_iter()
            .map(|(_, inner, ctx)| (inner, ctx))
            .collect()
    }

    #[test]
    fn each_quoting_is_told_apart() {
        use ShellContext::*;
        let line = r#"rm -rf "sub/<a>" <b> 'x<c>' \<d> "$(echo <e>)" `cat <f>` "`cat <g>`""#;
        assert_eq!(
            contexts(line),
            [
                ("a", DoubleQuoted),
                ("b", Unquoted),
                ("c", SingleQuoted),
                ("d", Escaped),
                ("e", Unquoted),
                ("f", Unquoted),
                ("g", Unquoted),
            ]
        );
    }

    #[test]
    fn quotes_in_comments_and_escapes_do_not_shift_the_nesting() {
        use ShellContext::*;
        let line = "# don't\necho \\' <a> \"x\\\"<b>\" $( (echo) <c>) <d>";
        assert_eq!(
            contexts(line),
            [
                ("a", Unquoted),
                ("b", DoubleQuoted),
                ("c", Unquoted),
                ("d", Unquoted)
            ]
        );
    }
}
