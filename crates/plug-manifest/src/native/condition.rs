//! Conditions (`when`, `assert`'s `that`, `wait_for`'s `until`) are
//! minijinja expressions; the interpreter evaluates them, and `validate`
//! compiles each one first, so a condition that cannot be read (or one
//! written with `<placeholder>` or `$.path` syntax, which conditions do not
//! use) is a finding with its place, not a failure half-way through a run.

use crate::decode::Spanned;
use crate::diagnostic::{Code, Findings};

/// `condition` as given, after reporting it if it does not compile.
pub(crate) fn checked(f: &mut Findings, condition: Spanned<String>, key: &str) -> Spanned<String> {
    if let Err(e) = minijinja::Environment::new().compile_expression(&condition.value) {
        let hint = if condition.value.contains('<') || condition.value.contains("$.") {
            "; conditions name data directly: `params.NAME`, `steps.STEP.FIELD`, `result.FIELD`"
        } else {
            ""
        };
        let message = format!(
            "`{key}` is not an expression plugctl can evaluate: {}{hint}",
            e.detail().unwrap_or("syntax error")
        );
        f.error(condition.span, Code::BadCondition, message);
    }
    condition
}
