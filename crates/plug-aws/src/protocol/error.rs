//! Error responses of every protocol, reduced to code, message and request id.

use super::{HttpResponse, xml};
use crate::model::{Protocol, ServiceModel};

/// An error AWS answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    /// The wire error code a skill's `fallback` matches (`ResourceNotFoundException`).
    pub code: String,
    /// AWS's message (may be empty).
    pub message: String,
    /// The HTTP status.
    pub status: u16,
    /// AWS's request id.
    pub request_id: Option<String>,
}

pub fn parse_error(
    model: &ServiceModel,
    protocol: Protocol,
    response: &HttpResponse,
) -> ServiceError {
    let (code, message, body_request_id) = match protocol {
        Protocol::Json | Protocol::RestJson => json_error(model, response),
        Protocol::Query | Protocol::Ec2 | Protocol::RestXml => xml_error(response),
    };
    ServiceError {
        code: code.unwrap_or_else(|| status_code_name(response.status)),
        message: message.unwrap_or_default(),
        status: response.status,
        request_id: response.request_id_header().or(body_request_id),
    }
}

type Parts = (Option<String>, Option<String>, Option<String>);

fn json_error(model: &ServiceModel, response: &HttpResponse) -> Parts {
    let body: Option<serde_json::Value> = serde_json::from_slice(&response.body).ok();
    let field = |names: &[&str]| {
        body.as_ref().and_then(|b| {
            names
                .iter()
                .find_map(|n| b.get(*n).and_then(serde_json::Value::as_str))
                .map(str::to_owned)
        })
    };
    // awsQueryCompatible services report the query protocol's code here ("Code;Sender").
    let query_code = model
        .metadata
        .aws_query_compatible
        .as_ref()
        .and_then(|_| response.header("x-amzn-query-error"))
        .and_then(|h| h.split(';').next())
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    let code = query_code
        .or_else(|| response.header("x-amzn-errortype").map(str::to_owned))
        .or_else(|| field(&["__type", "code", "Code"]))
        .map(|raw| clean_code(&raw));
    (code, field(&["message", "Message", "errorMessage"]), None)
}

/// `aws.protocoltests#FooError:http://internal...` is `FooError`.
fn clean_code(raw: &str) -> String {
    let after_hash = raw.rsplit_once('#').map_or(raw, |(_, code)| code);
    after_hash
        .split(':')
        .next()
        .unwrap_or(after_hash)
        .trim()
        .to_owned()
}

fn xml_error(response: &HttpResponse) -> Parts {
    let Ok(root) = xml::parse_document(&response.body) else {
        return (None, None, None);
    };
    // query: ErrorResponse/Error/Code; ec2: Response/Errors/Error/Code; s3: Error/Code.
    let error = if root.name == "Error" {
        Some(&root)
    } else {
        root.child("Error")
            .or_else(|| root.child("Errors").and_then(|e| e.child("Error")))
    };
    let text = |name: &str| {
        error
            .and_then(|e| e.child(name))
            .map(|c| c.text.trim().to_owned())
            .filter(|t| !t.is_empty())
    };
    let request_id = ["RequestId", "RequestID", "requestId"]
        .iter()
        .find_map(|n| root.find_text(n))
        .map(str::to_owned);
    (text("Code"), text("Message"), request_id)
}

/// A code for errors with no body (S3 HEAD): the status's reason phrase, as the SDKs name them.
fn status_code_name(status: u16) -> String {
    match status {
        301 => "MovedPermanently".into(),
        304 => "NotModified".into(),
        400 => "BadRequest".into(),
        403 => "Forbidden".into(),
        404 => "NotFound".into(),
        412 => "PreconditionFailed".into(),
        500 => "InternalError".into(),
        503 => "ServiceUnavailable".into(),
        other => format!("Http{other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_type_names_are_cut_to_the_code() {
        assert_eq!(
            clean_code("com.amazonaws.lambda#ResourceNotFoundException"),
            "ResourceNotFoundException"
        );
        assert_eq!(
            clean_code("ResourceNotFoundException:http://internal.amazon.com/"),
            "ResourceNotFoundException"
        );
        assert_eq!(clean_code("ThrottlingException"), "ThrottlingException");
    }
}
