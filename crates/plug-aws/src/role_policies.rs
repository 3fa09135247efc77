//! A role's policies as IAM holds them, for `plugctl check --role`: its
//! inline policies, the default version of each attached managed policy, and
//! its permissions boundary. Fetched through the model-driven client, so the
//! same endpoint, credential and retry settings apply as for runs.

use std::sync::Arc;

use crate::AwsClient;
use crate::identity::{IdentityConfig, Session};
use plug_core::Value;
use plug_core::ports::{AwsCall, AwsError, AwsInvoker};
use serde_json::json;

/// Why a role's policies could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// `--role` is neither a role name nor a role ARN.
    #[error("`{0}` is not a role name or an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)")]
    BadRole(String),
    /// No credentials, no region, or STS refused them.
    #[error("cannot establish an AWS session: {0}")]
    Session(String),
    /// An IAM call failed.
    #[error("iam {operation}: {source}")]
    Aws {
        /// The operation, e.g. `GetRolePolicy`.
        operation: &'static str,
        /// What AWS (or the transport) said.
        source: AwsError,
    },
    /// An answer lacked a member the fetch needs.
    #[error("iam {operation}: the answer has no `{member}`")]
    Missing {
        /// The operation.
        operation: &'static str,
        /// The member that was expected.
        member: &'static str,
    },
}

/// One fetched policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedPolicy {
    /// How rows and diagnostics name it: `inline:NAME` or the managed policy's ARN.
    pub name: String,
    /// The JSON text, URL-decoded.
    pub document: String,
}

/// A role's policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolePolicies {
    /// The role's ARN, as IAM reports it.
    pub arn: String,
    /// Inline, then attached managed policies.
    pub identity: Vec<FetchedPolicy>,
    /// The permissions boundary, if the role has one.
    pub boundary: Option<FetchedPolicy>,
}

/// Fetches `role`'s policies (a name or an ARN) as the operator described by
/// `identity` (its base credentials: a role to assume would be pointless here).
pub async fn fetch_role_policies(
    identity: IdentityConfig,
    role: &str,
) -> Result<RolePolicies, FetchError> {
    let name = role_name(role)?;
    let session = Session::establish(identity)
        .await
        .map_err(|e| FetchError::Session(e.to_string()))?;
    let client =
        AwsClient::new(Arc::new(session)).map_err(|e| FetchError::Session(e.to_string()))?;
    let iam = Iam { client: &client };
    let role = iam.call("GetRole", json!({"RoleName": name})).await?;
    let arn = text(&role, "/Role/Arn").ok_or(FetchError::Missing {
        operation: "GetRole",
        member: "Role.Arn",
    })?;
    let mut identity = iam.inline_policies(&name).await?;
    for policy_arn in iam.attached_policies(&name).await? {
        identity.push(iam.managed_policy(&policy_arn).await?);
    }
    let boundary = match text(&role, "/Role/PermissionsBoundary/PermissionsBoundaryArn") {
        Some(boundary_arn) => Some(iam.managed_policy(&boundary_arn).await?),
        None => None,
    };
    Ok(RolePolicies {
        arn,
        identity,
        boundary,
    })
}

/// The name IAM's role APIs take: the ARN's last path segment, or the name as given.
pub fn role_name(role: &str) -> Result<String, FetchError> {
    let bad = || FetchError::BadRole(role.to_owned());
    let name = match role.strip_prefix("arn:") {
        Some(rest) => {
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            let [_, "iam", "", _, resource] = parts.as_slice() else {
                return Err(bad());
            };
            let path = resource.strip_prefix("role/").ok_or_else(bad)?;
            path.rsplit('/').next().unwrap_or(path)
        }
        None => role,
    };
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    valid.then(|| name.to_owned()).ok_or_else(bad)
}

/// IAM returns documents URL-encoded (RFC 3986); some emulators return them
/// plain. A JSON document starts with `{` either way, once decoded.
pub fn decode_document(text: &str) -> String {
    if text.trim_start().starts_with('{') {
        return text.to_owned();
    }
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

fn text(value: &serde_json::Value, pointer: &str) -> Option<String> {
    value.pointer(pointer)?.as_str().map(str::to_owned)
}

/// The IAM calls the fetch makes.
struct Iam<'c> {
    client: &'c AwsClient,
}

impl Iam<'_> {
    async fn call(
        &self,
        operation: &'static str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value, FetchError> {
        let call = AwsCall {
            service: "iam".to_owned(),
            operation: operation.to_owned(),
            params: Value::from(params),
            region: None,
        };
        match self.client.call(&call).await {
            Ok(response) => Ok(response.output.to_json()),
            Err(source) => Err(FetchError::Aws { operation, source }),
        }
    }

    /// Every page of a list operation: `member` of each page, following `Marker`.
    async fn list(
        &self,
        operation: &'static str,
        role: &str,
        member: &'static str,
    ) -> Result<Vec<serde_json::Value>, FetchError> {
        let mut items = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut params = json!({"RoleName": role});
            if let Some(m) = &marker {
                params["Marker"] = json!(m);
            }
            let page = self.call(operation, params).await?;
            let listed = page.get(member).and_then(serde_json::Value::as_array);
            items.extend(listed.into_iter().flatten().cloned());
            marker = text(&page, "/Marker");
            let truncated = page.get("IsTruncated").and_then(serde_json::Value::as_bool);
            if truncated != Some(true) || marker.is_none() {
                return Ok(items);
            }
        }
    }

    async fn inline_policies(&self, role: &str) -> Result<Vec<FetchedPolicy>, FetchError> {
        let mut out = Vec::new();
        for name in self.list("ListRolePolicies", role, "PolicyNames").await? {
            let Some(name) = name.as_str() else { continue };
            let params = json!({"RoleName": role, "PolicyName": name});
            let answer = self.call("GetRolePolicy", params).await?;
            let document = text(&answer, "/PolicyDocument").ok_or(FetchError::Missing {
                operation: "GetRolePolicy",
                member: "PolicyDocument",
            })?;
            out.push(FetchedPolicy {
                name: format!("inline:{name}"),
                document: decode_document(&document),
            });
        }
        Ok(out)
    }

    async fn attached_policies(&self, role: &str) -> Result<Vec<String>, FetchError> {
        let attached = self
            .list("ListAttachedRolePolicies", role, "AttachedPolicies")
            .await?;
        Ok(attached
            .iter()
            .filter_map(|p| text(p, "/PolicyArn"))
            .collect())
    }

    /// The default version of a managed policy.
    async fn managed_policy(&self, arn: &str) -> Result<FetchedPolicy, FetchError> {
        let policy = self.call("GetPolicy", json!({"PolicyArn": arn})).await?;
        let version = text(&policy, "/Policy/DefaultVersionId").ok_or(FetchError::Missing {
            operation: "GetPolicy",
            member: "Policy.DefaultVersionId",
        })?;
        let params = json!({"PolicyArn": arn, "VersionId": version});
        let answer = self.call("GetPolicyVersion", params).await?;
        let document = text(&answer, "/PolicyVersion/Document").ok_or(FetchError::Missing {
            operation: "GetPolicyVersion",
            member: "PolicyVersion.Document",
        })?;
        Ok(FetchedPolicy {
            name: arn.to_owned(),
            document: decode_document(&document),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_come_from_names_or_arns() {
        let name = |r: &str| role_name(r).ok();
        assert_eq!(name("deployer").as_deref(), Some("deployer"));
        assert_eq!(
            name("arn:aws:iam::111122223333:role/deployer").as_deref(),
            Some("deployer")
        );
        assert_eq!(
            name("arn:aws-cn:iam::111122223333:role/team/ci/deployer").as_deref(),
            Some("deployer")
        );
        assert_eq!(name("arn:aws:iam::111122223333:user/bob"), None);
        assert_eq!(name("arn:aws:s3:::bucket"), None);
        assert_eq!(name("has space"), None);
        assert_eq!(name(""), None);
    }

    #[test]
    fn documents_are_url_decoded_unless_plain() {
        assert_eq!(
            decode_document("%7B%22Version%22%3A%20%222012-10-17%22%7D"),
            r#"{"Version": "2012-10-17"}"#
        );
        let plain = r#"{"Statement": [{"Condition": {"StringLike": {"s3:prefix": "100%"}}}]}"#;
        assert_eq!(decode_document(plain), plain);
    }
}
