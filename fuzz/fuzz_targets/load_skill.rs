//! Any bytes as a skill file: the parser and decoder must not panic, and every
//! finding must point inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plug_manifest::load::load_skill_text;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (_, findings) = load_skill_text(None, None, "fuzz.yaml".into(), text.to_owned());
    for finding in findings {
        assert!(finding.span.offset() + finding.span.len() <= text.len());
    }
});
