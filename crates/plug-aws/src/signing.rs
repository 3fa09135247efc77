//! SigV4 with `aws-sigv4`'s standalone signer.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

/// A request ready to send: absolute URL, all headers, body.
#[derive(Clone, PartialEq)]
pub struct PreparedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The absolute URL with its encoded query.
    pub url: String,
    /// Headers, including the signature once signed.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl std::fmt::Debug for PreparedRequest {
    // The Authorization and security-token headers are credentials-derived: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| {
                let secret = n.eq_ignore_ascii_case("authorization")
                    || n.eq_ignore_ascii_case("x-amz-security-token");
                (n.as_str(), if secret { "<redacted>" } else { v.as_str() })
            })
            .collect();
        f.debug_struct("PreparedRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Why a request could not be signed.
#[derive(Debug, thiserror::Error)]
#[error("cannot sign the request: {0}")]
pub struct SignError(String);

/// What to sign for.
#[derive(Debug, Clone, Copy)]
pub struct SigningScope<'a> {
    /// The signing region.
    pub region: &'a str,
    /// The signing name (`lambda`, `monitoring`, `s3`).
    pub service: &'a str,
    /// When the signature is made.
    pub time: SystemTime,
}

/// Signs `request` in place (adds `Authorization`, `X-Amz-Date`, the session
/// token and, for S3, `x-amz-content-sha256`).
pub fn sign_request(
    request: &mut PreparedRequest,
    credentials: &Credentials,
    scope: SigningScope<'_>,
) -> Result<(), SignError> {
    let mut settings = SigningSettings::default();
    if scope.service == "s3" {
        // S3 signs the path as sent (no double encoding, no dot-segment removal)
        // and requires the payload hash as a header.
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let identity: Identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(scope.region)
        .name(scope.service)
        .time(scope.time)
        .settings(settings)
        .build()
        .map_err(|e| SignError(e.to_string()))?
        .into();
    let signable = SignableRequest::new(
        &request.method,
        request.url.as_str(),
        request
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str())),
        SignableBody::Bytes(&request.body),
    )
    .map_err(|e| SignError(e.to_string()))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| SignError(e.to_string()))?
        .into_parts();
    let (headers, _params) = instructions.into_parts();
    for header in headers {
        request
            .headers
            .push((header.name().to_owned(), header.value().to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn credentials(token: Option<&str>) -> Credentials {
        Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            token.map(str::to_owned),
            None,
            "test",
        )
    }

    fn request() -> PreparedRequest {
        PreparedRequest {
            method: "POST".into(),
            url: "https://sts.us-east-1.amazonaws.com/".into(),
            headers: vec![(
                "Content-Type".into(),
                "application/x-www-form-urlencoded; charset=utf-8".into(),
            )],
            body: b"Action=GetCallerIdentity&Version=2011-06-15".to_vec(),
        }
    }

    fn scope(service: &str) -> SigningScope<'_> {
        SigningScope {
            region: "us-east-1",
            service,
            time: UNIX_EPOCH + Duration::from_secs(1_440_938_160),
        }
    }

    #[test]
    fn signature_is_deterministic_and_scoped() {
        let mut a = request();
        let mut b = request();
        sign_request(&mut a, &credentials(None), scope("sts")).expect("signs");
        sign_request(&mut b, &credentials(None), scope("sts")).expect("signs");
        assert_eq!(a.headers, b.headers);
        let auth = a
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
            .map(|(_, v)| v.clone())
            .expect("authorization header");
        assert!(
            auth.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/sts/aws4_request"
            ),
            "{auth}"
        );
    }

    #[test]
    fn session_token_is_sent_but_never_debug_printed() {
        let mut r = request();
        sign_request(&mut r, &credentials(Some("SECRET-TOKEN")), scope("sts")).expect("signs");
        assert!(r.headers.iter().any(|(n, v)| n.eq_ignore_ascii_case("x-amz-security-token") && v == "SECRET-TOKEN"));
        let shown = format!("{r:?}");
        assert!(
            !shown.contains("SECRET-TOKEN") && !shown.contains("Signature="),
            "{shown}"
        );
    }

    #[test]
    fn s3_requests_carry_the_payload_hash() {
        let mut r = request();
        sign_request(&mut r, &credentials(None), scope("s3")).expect("signs");
        assert!(
            r.headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("x-amz-content-sha256"))
        );
    }
}
