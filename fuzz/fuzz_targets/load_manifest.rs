//! Any bytes as a plugin manifest (in an empty plugin root): no panic, and
//! every finding points inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plug_manifest::load::load_from_text;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let root = std::env::temp_dir();
    let plugin = load_from_text(&root, "plugin.yaml".into(), text.to_owned());
    for finding in plugin.findings.iter().filter(|f| f.file.path.as_os_str() == "plugin.yaml") {
        assert!(finding.span.offset() + finding.span.len() <= text.len());
    }
});
