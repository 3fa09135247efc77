//! The invoker against a scripted local HTTP server: standard-mode retries,
//! bounded attempts, read timeouts, signing on every attempt.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_credential_types::Credentials;
use plug_aws::AwsClient;
use plug_aws::client::Timeouts;
use plug_aws::endpoint::EndpointOverrides;
use plug_aws::identity::Session;
use plug_aws::retry::RetryPolicy;
use plug_core::Value;
use plug_core::ports::{AwsCall, AwsError, AwsInvoker};

/// One canned answer: status, extra headers, body; `None` means "never answer".
type Answer = Option<(u16, &'static [(&'static str, &'static str)], &'static str)>;

/// Serves `answers` in order, one connection each; records each request's head.
fn serve(answers: Vec<Answer>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for answer in answers {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(stream);
            let mut head = String::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            log.lock().expect("log").push(head);
            let mut stream = reader.into_inner();
            match answer {
                // Hold the connection open without answering, and go on accepting.
                None => drop(std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_secs(2));
                    drop(stream);
                })),
                Some((status, headers, body)) => {
                    let mut out = format!(
                        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                        body.len()
                    );
                    for (k, v) in headers {
                        out.push_str(&format!("{k}: {v}\r\n"));
                    }
                    out.push_str("\r\n");
                    out.push_str(body);
                    let _ = stream.write_all(out.as_bytes());
                }
            }
        }
    });
    (url, seen)
}

fn client(url: &str, max_attempts: u32, read: Duration) -> AwsClient {
    let overrides = EndpointOverrides {
        all: Some(url.to_owned()),
        ..EndpointOverrides::default()
    };
    let credentials = Credentials::new("AKIDTEST", "SECRETTEST", None, None, "test");
    let session = Session::with_static_credentials(credentials, "us-east-1", overrides);
    let retry = RetryPolicy {
        max_attempts,
        base: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
    };
    let timeouts = Timeouts {
        connect: Duration::from_secs(2),
        read,
    };
    AwsClient::with_settings(Arc::new(session), retry, timeouts).expect("client")
}

fn get_parameter() -> AwsCall {
    AwsCall {
        service: "ssm".into(),
        operation: "get_parameter".into(),
        params: Value::from(serde_json::json!({"Name": "/p"})),
        region: None,
    }
}

const THROTTLED: Answer = Some((
    400,
    &[("x-amzn-RequestId", "t")],
    r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
));

#[tokio::test]
async fn throttling_is_retried_until_it_succeeds() {
    let ok: Answer = Some((
        200,
        &[("x-amzn-RequestId", "ok-1")],
        r#"{"Parameter":{"Name":"/p","Value":"v"}}"#,
    ));
    let (url, seen) = serve(vec![THROTTLED, THROTTLED, ok]);
    let response = client(&url, 3, Duration::from_secs(2))
        .call(&get_parameter())
        .await
        .expect("third attempt succeeds");
    assert_eq!(
        response
            .output
            .get("Parameter")
            .and_then(|p| p.get("Value")),
        Some(&Value::String("v".into()))
    );
    assert_eq!(response.request_id.as_deref(), Some("ok-1"));
    let seen = seen.lock().expect("log");
    assert_eq!(seen.len(), 3);
    for head in seen.iter() {
        let lower = head.to_ascii_lowercase();
        assert!(
            lower.contains("authorization: aws4-hmac-sha256 credential=akidtest/"),
            "{head}"
        );
        assert!(
            lower.contains("x-amz-target: amazonssm.getparameter"),
            "{head}"
        );
        assert!(!head.contains("SECRETTEST"));
    }
}

#[tokio::test]
async fn attempts_are_bounded() {
    let (url, seen) = serve(vec![THROTTLED, THROTTLED, THROTTLED, THROTTLED]);
    match client(&url, 2, Duration::from_secs(2))
        .call(&get_parameter())
        .await
    {
        Err(AwsError::Service {
            code,
            status,
            request_id,
            ..
        }) => {
            assert_eq!(
                (code.as_str(), status, request_id.as_deref()),
                ("ThrottlingException", 400, Some("t"))
            );
        }
        other => panic!("expected the throttling error, got {other:?}"),
    }
    assert_eq!(seen.lock().expect("log").len(), 2);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let missing: Answer = Some((400, &[], r#"{"__type":"ParameterNotFound","message":""}"#));
    let (url, seen) = serve(vec![missing, THROTTLED]);
    let result = client(&url, 3, Duration::from_secs(2))
        .call(&get_parameter())
        .await;
    assert!(
        matches!(result, Err(AwsError::Service { ref code, .. }) if code == "ParameterNotFound"),
        "{result:?}"
    );
    assert_eq!(seen.lock().expect("log").len(), 1);
}

#[tokio::test]
async fn a_silent_server_times_out_as_a_transport_error() {
    let (url, seen) = serve(vec![None, None]);
    let result = client(&url, 2, Duration::from_millis(200))
        .call(&get_parameter())
        .await;
    assert!(matches!(result, Err(AwsError::Transport(_))), "{result:?}");
    assert_eq!(
        seen.lock().expect("log").len(),
        2,
        "timeouts are transient: retried"
    );
}

#[tokio::test]
async fn invalid_calls_never_reach_the_network() {
    let (url, seen) = serve(vec![]);
    let mut call = get_parameter();
    call.params = Value::from(serde_json::json!({"Nme": "/p"}));
    let result = client(&url, 3, Duration::from_secs(1)).call(&call).await;
    assert!(
        matches!(result, Err(AwsError::Invalid(ref m)) if m.contains("Nme")),
        "{result:?}"
    );
    assert!(seen.lock().expect("log").is_empty());
}
