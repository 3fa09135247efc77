//! Run requests on an SQS queue: what `submit` sends and a worker takes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use plug_aws::AwsClient;
use plug_core::Value;
use plug_core::ports::AwsError;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// One run asked of the fleet. The run id is the idempotency key: a
/// message delivered twice starts one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRequestMessage {
    /// The run's id, chosen by the submitter.
    pub run_id: String,
    /// The plugin: a folder every worker can read.
    pub plugin: PathBuf,
    /// The skill.
    pub skill: String,
    /// Params by name, typed as JSON.
    #[serde(default)]
    pub params: BTreeMap<String, serde_json::Value>,
    /// Who asked (recorded with the run).
    pub requester: String,
}

/// A message taken from the queue.
#[derive(Debug, Clone)]
pub struct Received {
    /// The request it carries.
    pub request: RunRequestMessage,
    /// What deletes it once the run is done.
    pub receipt: String,
}

/// An SQS queue, reached as the operator.
pub struct Queue {
    client: AwsClient,
    url: String,
}

impl Queue {
    /// The queue at `url`.
    pub fn new(client: AwsClient, url: impl Into<String>) -> Queue {
        Queue {
            client,
            url: url.into(),
        }
    }

    async fn call(&self, operation: &str, params: serde_json::Value) -> Result<Value, AwsError> {
        (self.client)
            .operation("sqs", operation, Value::from(params))
            .await
    }

    /// Enqueues a run request.
    pub async fn send(&self, request: &RunRequestMessage) -> Result<(), AwsError> {
        let body = serde_json::to_string(request).unwrap_or_default();
        self.call(
            "send_message",
            json!({"QueueUrl": self.url, "MessageBody": body}),
        )
        .await
        .map(|_| ())
    }

    /// Waits up to `wait_s` seconds for one request, hidden from others for
    /// `visibility_s`. A message that is not a request is deleted (it would
    /// come back for ever) and skipped.
    pub async fn receive(
        &self,
        wait_s: u32,
        visibility_s: u32,
    ) -> Result<Option<Received>, AwsError> {
        let output = self
            .call(
                "receive_message",
                json!({"QueueUrl": self.url, "MaxNumberOfMessages": 1, "WaitTimeSeconds": wait_s, "VisibilityTimeout": visibility_s}),
            )
            .await?;
        let Some(Value::List(messages)) = output.get("Messages") else {
            return Ok(None);
        };
        let Some(message) = messages.first() else {
            return Ok(None);
        };
        let text = |name: &str| {
            message
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let receipt = text("ReceiptHandle");
        match serde_json::from_str::<RunRequestMessage>(&text("Body")) {
            Ok(request) => Ok(Some(Received { request, receipt })),
            Err(_) => {
                self.delete(&receipt).await?;
                Ok(None)
            }
        }
    }

    /// Keeps a message hidden for `visibility_s` more seconds (a long run).
    pub async fn extend(&self, receipt: &str, visibility_s: u32) -> Result<(), AwsError> {
        self.call(
            "change_message_visibility",
            json!({"QueueUrl": self.url, "ReceiptHandle": receipt, "VisibilityTimeout": visibility_s}),
        )
        .await
        .map(|_| ())
    }

    /// Deletes a handled message.
    pub async fn delete(&self, receipt: &str) -> Result<(), AwsError> {
        self.call(
            "delete_message",
            json!({"QueueUrl": self.url, "ReceiptHandle": receipt}),
        )
        .await
        .map(|_| ())
    }
}
