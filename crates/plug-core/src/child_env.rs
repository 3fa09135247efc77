//! What decides which AWS identity a child process (a step's command, a
//! hook) acts as. A run acts only as its own tagged session, so these names
//! are set by the runtime alone: a plugin's `env:` may not set them, and the
//! operator's values never reach a child.

/// Variables through which a process picks its AWS credentials or where it
/// sends them: the standard credential chain's inputs (environment, shared
/// files, profiles, web identity, container and instance metadata) and
/// `HOME`, which locates `~/.aws`.
pub const CREDENTIAL_VARIABLES: &[&str] = &[
    "HOME",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_SSO_SESSION",
];

/// Whether `name` chooses a child's AWS identity or endpoint, so only the
/// runtime may set it. Endpoints count: a redirected endpoint receives the
/// session's signed requests.
pub fn chooses_identity(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    CREDENTIAL_VARIABLES.contains(&upper.as_str()) || upper.starts_with("AWS_ENDPOINT_URL")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_and_endpoint_names_are_reserved_in_any_case() {
        for name in [
            "HOME",
            "aws_profile",
            "AWS_ENDPOINT_URL_S3",
            "AWS_ACCESS_KEY_ID",
        ] {
            assert!(chooses_identity(name), "{name}");
        }
        for name in ["PATH", "AWS_PAGER", "AWS_REGION", "MY_HOME"] {
            assert!(!chooses_identity(name), "{name}");
        }
    }
}
