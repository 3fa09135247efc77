//! Integration tests against LocalStack, one per protocol and service the seed
//! skills use. They read the endpoint from `LOCALSTACK_ENDPOINT`; without it
//! they skip, unless `PLUGCTL_REQUIRE_LOCALSTACK=1` (CI) makes that a failure.

use std::sync::Arc;
use std::time::Duration;

use aws_credential_types::Credentials;
use plug_aws::AwsClient;
use plug_aws::client::Timeouts;
use plug_aws::endpoint::EndpointOverrides;
use plug_aws::identity::{IdentityConfig, RoleConfig, Session};
use plug_aws::retry::RetryPolicy;
use plug_core::ports::{AwsCall, AwsError, AwsInvoker};
use plug_core::{Actor, RunId, Value};
use serde_json::{Value as Json, json};

fn localstack() -> Option<String> {
    match std::env::var("LOCALSTACK_ENDPOINT") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("PLUGCTL_REQUIRE_LOCALSTACK").as_deref() != Ok("1"),
                "PLUGCTL_REQUIRE_LOCALSTACK=1 but LOCALSTACK_ENDPOINT is not set"
            );
            println!("skipped: LOCALSTACK_ENDPOINT not set");
            None
        }
    }
}

fn test_credentials() -> Credentials {
    Credentials::new("test", "test", None, None, "localstack")
}

fn client(endpoint: &str) -> AwsClient {
    let overrides = EndpointOverrides {
        all: Some(endpoint.to_owned()),
        ..EndpointOverrides::default()
    };
    let session = Session::with_static_credentials(test_credentials(), "us-east-1", overrides);
    let retry = RetryPolicy {
        max_attempts: 2,
        base: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
    };
    AwsClient::with_settings(Arc::new(session), retry, Timeouts::default()).expect("client builds")
}

async fn call(
    client: &AwsClient,
    service: &str,
    operation: &str,
    params: Value,
) -> Result<Json, AwsError> {
    let call = AwsCall {
        service: service.into(),
        operation: operation.into(),
        params,
        region: None,
    };
    client.call(&call).await.map(|r| r.output.to_json())
}

async fn ok(client: &AwsClient, service: &str, operation: &str, params: Json) -> Json {
    call(client, service, operation, Value::from(params))
        .await
        .unwrap_or_else(|e| panic!("{service}:{operation} failed: {e}"))
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

fn with(params: Json, key: &str, value: Value) -> Value {
    let mut params = Value::from(params);
    if let Value::Map(map) = &mut params {
        map.insert(key.to_owned(), value);
    }
    params
}

const TRUST_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}]}"#;

async fn create_role(client: &AwsClient, name: &str) -> String {
    let role = ok(
        client,
        "iam",
        "create_role",
        json!({"RoleName": name, "AssumeRolePolicyDocument": TRUST_POLICY}),
    )
    .await;
    role["Role"]["Arn"].as_str().expect("role ARN").to_owned()
}

/// A zip archive with one stored (uncompressed) file: enough for Lambda's create and update.
fn zip_with(name: &str, contents: &[u8]) -> Vec<u8> {
    let crc = crc32fast::hash(contents);
    let size = u32::try_from(contents.len()).expect("small file");
    let name_len = u16::try_from(name.len()).expect("short name");
    let mut local = Vec::new();
    local.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    local.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // version, flags, stored, time, date
    for field in [crc, size, size] {
        local.extend_from_slice(&field.to_le_bytes());
    }
    local.extend_from_slice(&name_len.to_le_bytes());
    local.extend_from_slice(&0u16.to_le_bytes());
    local.extend_from_slice(name.as_bytes());
    local.extend_from_slice(contents);
    let central_offset = u32::try_from(local.len()).expect("small archive");
    let mut central = Vec::new();
    central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    central.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    for field in [crc, size, size] {
        central.extend_from_slice(&field.to_le_bytes());
    }
    central.extend_from_slice(&name_len.to_le_bytes());
    central.extend_from_slice(&[0; 12]); // extra, comment, disk, internal and external attributes
    central.extend_from_slice(&0u32.to_le_bytes()); // offset of the local header
    central.extend_from_slice(name.as_bytes());
    let central_size = u32::try_from(central.len()).expect("small directory");
    let mut end = Vec::new();
    end.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    end.extend_from_slice(&[0, 0, 0, 0, 1, 0, 1, 0]);
    end.extend_from_slice(&central_size.to_le_bytes());
    end.extend_from_slice(&central_offset.to_le_bytes());
    end.extend_from_slice(&0u16.to_le_bytes());
    [local, central, end].concat()
}

#[tokio::test]
async fn sts_get_caller_identity_is_the_localstack_root() {
    let Some(endpoint) = localstack() else { return };
    let out = ok(&client(&endpoint), "sts", "get_caller_identity", json!({})).await;
    assert_eq!(out["Account"], "000000000000");
    assert!(
        out["Arn"]
            .as_str()
            .is_some_and(|a| a.starts_with("arn:aws:")),
        "{out}"
    );
}

#[tokio::test]
async fn sts_assume_role_tags_the_session_and_names_it_after_the_run() {
    let Some(endpoint) = localstack() else { return };
    let admin = client(&endpoint);
    let role_name = unique("plugctl-deployer");
    let role_arn = create_role(&admin, &role_name).await;
    let run_id = RunId::new(unique("run")).expect("valid run id");
    let config = IdentityConfig {
        region: Some("us-east-1".into()),
        endpoint_url: Some(endpoint.clone()),
        base_credentials: Some(test_credentials()),
        role: Some(RoleConfig {
            role_arn,
            actor: Actor::Agent,
            run_id: run_id.clone(),
            source_identity: Some("alice@example.com".into()),
            tags: vec![("Team".into(), "platform".into())],
            transitive: true,
            duration: Some(Duration::from_secs(900)),
            external_id: None,
            session_policy: None,
        }),
        ..IdentityConfig::default()
    };
    let session = Arc::new(Session::establish(config).await.expect("role assumed"));
    let expected = format!("assumed-role/{role_name}/{}", run_id.role_session_name());
    let caller = session.caller_identity().expect("recorded");
    assert!(
        caller.arn.ends_with(&expected),
        "{} does not end with {expected}",
        caller.arn
    );
    // Calls through the invoker use the session too.
    let invoker = AwsClient::new(Arc::clone(&session)).expect("client builds");
    let out = ok(&invoker, "sts", "GetCallerIdentity", json!({})).await;
    assert!(
        out["Arn"].as_str().is_some_and(|a| a.ends_with(&expected)),
        "{out}"
    );
    assert!(!format!("{session:?}").contains("SecretAccessKey"));
}

/// LocalStack refuses code updates while a new function is `Pending` (it then
/// goes to `Failed` here, because running functions needs Docker).
async fn wait_until_settled(client: &AwsClient, name: &str) {
    for _ in 0..60 {
        let config = ok(
            client,
            "lambda",
            "get_function_configuration",
            json!({"FunctionName": name}),
        )
        .await;
        if config["State"] != "Pending" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("function {name} stayed Pending");
}

#[tokio::test]
async fn lambda_create_update_tag_list_delete_and_missing_function() {
    let Some(endpoint) = localstack() else { return };
    let client = client(&endpoint);
    let role_arn = create_role(&client, &unique("lambda-exec")).await;
    let name = unique("fn");
    let zip = zip_with("app.py", b"def handler(event, context):\n    return 1\n");
    let zip_len = zip.len();
    let code = Value::Map([("ZipFile".to_owned(), Value::Bytes(zip))].into());
    let create = with(
        json!({"FunctionName": name, "Runtime": "python3.12", "Role": role_arn, "Handler": "app.handler"}),
        "Code",
        code,
    );
    let created = call(&client, "lambda", "create_function", create)
        .await
        .expect("created");
    assert_eq!(created["FunctionName"], name.as_str());
    let arn = created["FunctionArn"].as_str().expect("arn").to_owned();
    wait_until_settled(&client, &name).await;

    // LocalStack decoded the base64 ZipFile: it reports the archive's size.
    assert_eq!(created["CodeSize"], zip_len);

    ok(
        &client,
        "lambda",
        "tag_resource",
        json!({"Resource": arn, "Tags": {"ActorType": "agent"}}),
    )
    .await;
    let tags = ok(&client, "lambda", "list_tags", json!({"Resource": arn})).await;
    assert_eq!(tags["Tags"]["ActorType"], "agent");
    let new_zip = zip_with("app.py", b"def handler(event, context):\n    return 2\n");
    let update = with(
        json!({"FunctionName": name}),
        "ZipFile",
        Value::Bytes(new_zip),
    );
    let refused = match call(&client, "lambda", "update_function_code", update).await {
        Ok(updated) => {
            assert_eq!(updated["FunctionName"], name.as_str());
            false
        }
        // Without Docker, LocalStack's functions never become Active, and it then refuses
        // code updates of existing functions with this error. The request was still
        // accepted as well-formed and routed to the function (a bad one is a 4xx).
        Err(AwsError::Service { code, message, .. })
            if code == "InternalError"
                && message.contains("cannot be updated if an old one is not running") =>
        {
            println!("note: LocalStack without Docker cannot update function code: {message}");
            true
        }
        Err(other) => panic!("update_function_code failed: {other}"),
    };

    // LocalStack drops the function when it refuses the update; AWS keeps it.
    match call(
        &client,
        "lambda",
        "delete_function",
        Value::from(json!({"FunctionName": name})),
    )
    .await
    {
        Ok(_) => {}
        Err(AwsError::Service { code, .. }) if refused && code == "ResourceNotFoundException" => {}
        Err(other) => panic!("delete_function failed: {other}"),
    }

    let missing = with(
        json!({"FunctionName": unique("missing")}),
        "ZipFile",
        Value::Bytes(b"PK".to_vec()),
    );
    match call(&client, "lambda", "UpdateFunctionCode", missing).await {
        Err(AwsError::Service { code, status, .. }) => {
            assert_eq!((code.as_str(), status), ("ResourceNotFoundException", 404));
        }
        other => panic!("expected ResourceNotFoundException, got {other:?}"),
    }
}

#[tokio::test]
async fn s3_create_bucket_put_and_get_object_bytes() {
    let Some(endpoint) = localstack() else { return };
    let client = client(&endpoint);
    let bucket = unique("plugctl-bucket");
    ok(&client, "s3", "create_bucket", json!({"Bucket": bucket})).await;
    let body: Vec<u8> = (0u8..=255).cycle().take(3000).collect();
    let put = with(
        json!({"Bucket": bucket, "Key": "dir/a file.bin", "Metadata": {"actor": "agent"}}),
        "Body",
        Value::Bytes(body.clone()),
    );
    call(&client, "s3", "put_object", put).await.expect("put");
    let got = call(
        &client,
        "s3",
        "GetObject",
        Value::from(json!({"Bucket": bucket, "Key": "dir/a file.bin"})),
    )
    .await
    .expect("get");
    let expected_b64 = plug_core::value::base64_encode(&body);
    assert_eq!(got["Body"], expected_b64.as_str());
    assert_eq!(got["ContentLength"], 3000);
    assert_eq!(got["Metadata"]["actor"], "agent");
    let listed = ok(
        &client,
        "s3",
        "list_objects_v2",
        json!({"Bucket": bucket, "Prefix": "dir/"}),
    )
    .await;
    assert_eq!(listed["Contents"][0]["Key"], "dir/a file.bin");
    match call(
        &client,
        "s3",
        "get_object",
        Value::from(json!({"Bucket": bucket, "Key": "nope"})),
    )
    .await
    {
        Err(AwsError::Service { code, status, .. }) => {
            assert_eq!((code.as_str(), status), ("NoSuchKey", 404))
        }
        other => panic!("expected NoSuchKey, got {other:?}"),
    }
}

#[tokio::test]
async fn ssm_put_and_get_parameter() {
    let Some(endpoint) = localstack() else { return };
    let client = client(&endpoint);
    let name = format!("/plugctl/{}", unique("param"));
    ok(
        &client,
        "ssm",
        "put_parameter",
        json!({"Name": name, "Value": "v1", "Type": "String", "Overwrite": true}),
    )
    .await;
    let got = ok(&client, "ssm", "get_parameter", json!({"Name": name})).await;
    assert_eq!(got["Parameter"]["Value"], "v1");
    let modified = got["Parameter"]["LastModifiedDate"]
        .as_str()
        .expect("timestamp as text");
    assert!(
        plug_aws::timestamp::parse_any(modified).is_some() && modified.ends_with('Z'),
        "{modified}"
    );
}

#[tokio::test]
async fn cloudwatch_put_metric_data_and_get_statistics() {
    let Some(endpoint) = localstack() else { return };
    let client = client(&endpoint);
    let namespace = unique("Plugctl");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after epoch")
        .as_secs();
    ok(
        &client,
        "cloudwatch",
        "put_metric_data",
        json!({"Namespace": namespace, "MetricData": [{"MetricName": "Deploys", "Value": 2.0, "Unit": "Count", "Timestamp": now}]}),
    )
    .await;
    let stats = ok(
        &client,
        "cloudwatch",
        "get_metric_statistics",
        json!({"Namespace": namespace, "MetricName": "Deploys", "StartTime": now - 600, "EndTime": now + 600, "Period": 60, "Statistics": ["Sum"]}),
    )
    .await;
    let points = stats["Datapoints"].as_array().expect("datapoints");
    assert_eq!(points.len(), 1, "{stats}");
    assert_eq!(points[0]["Sum"], 2.0);
}

#[tokio::test]
async fn logs_group_stream_and_events() {
    let Some(endpoint) = localstack() else { return };
    let client = client(&endpoint);
    let group = unique("/plugctl/run");
    ok(
        &client,
        "logs",
        "create_log_group",
        json!({"logGroupName": group}),
    )
    .await;
    ok(
        &client,
        "logs",
        "create_log_stream",
        json!({"logGroupName": group, "logStreamName": "s"}),
    )
    .await;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after epoch")
        .as_millis();
    let now_ms = u64::try_from(now_ms).expect("fits");
    ok(
        &client,
        "logs",
        "put_log_events",
        json!({"logGroupName": group, "logStreamName": "s", "logEvents": [{"timestamp": now_ms, "message": "deployed"}]}),
    )
    .await;
    let events = ok(
        &client,
        "logs",
        "get_log_events",
        json!({"logGroupName": group, "logStreamName": "s"}),
    )
    .await;
    assert_eq!(events["events"][0]["message"], "deployed");
}

#[tokio::test]
async fn sqs_queue_roundtrip_and_query_compatible_errors() {
    let Some(endpoint) = localstack() else { return };
    let client = client(&endpoint);
    let queue = ok(
        &client,
        "sqs",
        "create_queue",
        json!({"QueueName": unique("q")}),
    )
    .await;
    let url = queue["QueueUrl"].as_str().expect("queue url").to_owned();
    ok(
        &client,
        "sqs",
        "send_message",
        json!({"QueueUrl": url, "MessageBody": "hello"}),
    )
    .await;
    let received = ok(
        &client,
        "sqs",
        "receive_message",
        json!({"QueueUrl": url, "WaitTimeSeconds": 1}),
    )
    .await;
    assert_eq!(received["Messages"][0]["Body"], "hello");
    ok(&client, "sqs", "delete_queue", json!({"QueueUrl": url})).await;
    match call(
        &client,
        "sqs",
        "get_queue_url",
        Value::from(json!({"QueueName": unique("absent")})),
    )
    .await
    {
        Err(AwsError::Service { code, .. }) => {
            assert!(
                code.contains("NonExistentQueue") || code == "QueueDoesNotExist",
                "{code}"
            );
        }
        other => panic!("expected a missing-queue error, got {other:?}"),
    }
}

#[tokio::test]
async fn sns_topic_publish_with_attributes() {
    let Some(endpoint) = localstack() else { return };
    let client = client(&endpoint);
    let topic = ok(
        &client,
        "sns",
        "create_topic",
        json!({"Name": unique("t"), "Tags": [{"Key": "ActorType", "Value": "agent"}]}),
    )
    .await;
    let arn = topic["TopicArn"].as_str().expect("topic arn").to_owned();
    let published = ok(
        &client,
        "sns",
        "publish",
        json!({"TopicArn": arn, "Message": "hi", "MessageAttributes": {"actor": {"DataType": "String", "StringValue": "agent"}}}),
    )
    .await;
    assert!(
        published["MessageId"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    let topics = ok(&client, "sns", "list_topics", json!({})).await;
    let listed = topics["Topics"].as_array().expect("topics");
    assert!(listed.iter().any(|t| t["TopicArn"] == arn.as_str()));
    let tags = ok(
        &client,
        "sns",
        "list_tags_for_resource",
        json!({"ResourceArn": arn}),
    )
    .await;
    assert_eq!(tags["Tags"][0]["Value"], "agent");
}

#[tokio::test]
async fn iam_create_role_and_put_role_policy() {
    let Some(endpoint) = localstack() else { return };
    let client = client(&endpoint);
    let name = unique("role");
    let arn = create_role(&client, &name).await;
    assert!(arn.ends_with(&format!(":role/{name}")));
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:UpdateFunctionCode","Resource":"*"}]}"#;
    ok(
        &client,
        "iam",
        "put_role_policy",
        json!({"RoleName": name, "PolicyName": "deploy", "PolicyDocument": policy}),
    )
    .await;
    let got = ok(
        &client,
        "iam",
        "get_role_policy",
        json!({"RoleName": name, "PolicyName": "deploy"}),
    )
    .await;
    assert_eq!(got["PolicyName"], "deploy");
    let listed = ok(
        &client,
        "iam",
        "list_role_policies",
        json!({"RoleName": name}),
    )
    .await;
    assert_eq!(listed["PolicyNames"], json!(["deploy"]));
    match call(
        &client,
        "iam",
        "get_role",
        Value::from(json!({"RoleName": unique("absent")})),
    )
    .await
    {
        Err(AwsError::Service { code, status, .. }) => {
            assert_eq!((code.as_str(), status), ("NoSuchEntity", 404))
        }
        other => panic!("expected NoSuchEntity, got {other:?}"),
    }
}

#[tokio::test]
async fn ec2_describe_vpcs_with_filters() {
    let Some(endpoint) = localstack() else { return };
    let client = client(&endpoint);
    let all = ok(&client, "ec2", "describe_vpcs", json!({})).await;
    let vpcs = all["Vpcs"].as_array().expect("vpcs");
    assert!(!vpcs.is_empty(), "LocalStack has a default VPC: {all}");
    let filtered = ok(
        &client,
        "ec2",
        "DescribeVpcs",
        json!({"Filters": [{"Name": "is-default", "Values": ["true"]}]}),
    )
    .await;
    let defaults = filtered["Vpcs"].as_array().expect("vpcs");
    assert!(
        defaults.iter().all(|v| v["IsDefault"] == true),
        "{filtered}"
    );
}

#[tokio::test]
async fn run_sessions_hand_out_one_session_per_actor() {
    use plug_aws::RunSessions;
    use plug_core::ports::AwsSessions;
    let Some(endpoint) = localstack() else { return };
    let admin = client(&endpoint);
    let role_name = unique("plugctl-run");
    let role_arn = create_role(&admin, &role_name).await;
    let run_id = RunId::new(unique("run")).expect("valid run id");
    let sessions = RunSessions::new(IdentityConfig {
        region: Some("us-east-1".into()),
        endpoint_url: Some(endpoint.clone()),
        base_credentials: Some(test_credentials()),
        role: Some(RoleConfig {
            role_arn,
            actor: Actor::Agent,
            run_id: run_id.clone(),
            source_identity: Some("operator".into()),
            tags: vec![],
            transitive: false,
            duration: None,
            external_id: None,
            session_policy: None,
        }),
        ..IdentityConfig::default()
    });
    let agent = sessions
        .client(Actor::Agent, "")
        .await
        .expect("agent session");
    let human = sessions
        .client(Actor::Human, "bob")
        .await
        .expect("human session");
    assert!(
        !Arc::ptr_eq(&agent, &human),
        "actors must not share a session"
    );
    let again = sessions.client(Actor::Human, "bob").await.expect("cached");
    assert!(Arc::ptr_eq(&human, &again), "a session is established once");
    assert_eq!(human.session().actor(), Some(Actor::Human));
    let invoker = sessions
        .invoker(Actor::Human, "bob")
        .await
        .expect("invoker");
    let call = AwsCall {
        service: "sts".into(),
        operation: "get_caller_identity".into(),
        params: Value::Map(Default::default()),
        region: None,
    };
    let out = invoker
        .call(&call)
        .await
        .expect("caller identity")
        .output
        .to_json();
    let expected = format!("assumed-role/{role_name}/{}", run_id.role_session_name());
    assert!(
        out["Arn"].as_str().is_some_and(|a| a.ends_with(&expected)),
        "{out}"
    );
}
