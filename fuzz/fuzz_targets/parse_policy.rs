//! Fuzzes the IAM policy parser: it must never panic, every diagnostic must
//! point inside the input, and a policy that parses must evaluate without
//! panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match plug_policy::parse_policy(text) {
        Ok(policy) => {
            let set = plug_policy::PolicySet {
                identity: vec![plug_policy::NamedPolicy::new("fuzz", std::sync::Arc::new(policy))],
                ..Default::default()
            };
            let request = plug_core::ports::PermissionRequest {
                principal: "arn:aws:sts::111122223333:assumed-role/agent/s1".into(),
                action: "s3:GetObject".into(),
                resource: "arn:aws:s3:::b/k".into(),
                resource_account: None,
                context: Default::default(),
            };
            let _ = set.evaluate(&request);
        }
        Err(diagnostics) => {
            assert!(!diagnostics.is_empty());
            for d in diagnostics {
                assert!(d.offset <= text.len(), "diagnostic outside the input");
                assert!(d.line >= 1 && d.column >= 1);
            }
        }
    }
});
