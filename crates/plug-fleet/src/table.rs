//! The run table's items, read and written through plug-aws's model-driven
//! client, every write that must happen once guarded by a condition.

use std::time::Duration;

use plug_aws::AwsClient;
use plug_core::Value;
use plug_core::ports::AwsError;
use serde_json::json;

use crate::FleetError;

/// The run table.
pub struct RunTable {
    client: AwsClient,
    table: String,
}

/// A run as the table records it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunRecord {
    /// The run.
    pub run_id: String,
    /// Its plugin.
    pub plugin: String,
    /// Its skill.
    pub skill: String,
    /// `queued`, `running`, `waiting for approval`, or how it ended.
    pub state: String,
}

/// What [`RunTable::append`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// The entry is now in the table.
    Written,
    /// An entry already held that place: nothing was written.
    AlreadyThere,
}

/// A held lease on a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The run.
    pub run_id: String,
    /// Who holds it.
    pub owner: String,
    /// This holding, so a worker can tell its lease from a later one of its own.
    pub token: String,
    /// When it lapses unless renewed, ms since the epoch.
    pub expires_ms: u64,
}

/// How a DynamoDB refusal of a condition is spelt.
const CONDITION_FAILED: &str = "ConditionalCheckFailedException";

impl RunTable {
    /// The table `table`, reached with `client`.
    pub fn new(client: AwsClient, table: impl Into<String>) -> RunTable {
        RunTable {
            client,
            table: table.into(),
        }
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.table
    }

    async fn call(&self, operation: &str, params: serde_json::Value) -> Result<Value, AwsError> {
        (self.client)
            .operation("dynamodb", operation, Value::from(params))
            .await
    }

    /// Writes `item` unless an item with its key is there; `false` then.
    async fn put_once(&self, item: serde_json::Value) -> Result<bool, FleetError> {
        let put = json!({
            "TableName": self.table,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(#i)",
            "ExpressionAttributeNames": {"#i": "item"}
        });
        once(self.call("put_item", put).await)
    }

    /// The items of every page of a `scan` or `query`, following
    /// `LastEvaluatedKey`.
    async fn pages(
        &self,
        operation: &str,
        request: serde_json::Value,
    ) -> Result<Vec<Value>, FleetError> {
        let mut items = Vec::new();
        let mut request = request;
        loop {
            let page = self.call(operation, request.clone()).await?;
            if let Some(Value::List(found)) = page.get("Items") {
                items.extend(found.iter().cloned());
            }
            match page.get("LastEvaluatedKey") {
                Some(key) if *key != Value::Null => request["ExclusiveStartKey"] = key.to_json(),
                _ => return Ok(items),
            }
        }
    }

    /// Creates the table (on-demand capacity) and waits until it is active.
    /// A table that already exists is left as it is.
    pub async fn create(&self) -> Result<(), FleetError> {
        let created = self
            .call(
                "create_table",
                json!({
                    "TableName": self.table,
                    "BillingMode": "PAY_PER_REQUEST",
                    "AttributeDefinitions": [
                        {"AttributeName": "run", "AttributeType": "S"},
                        {"AttributeName": "item", "AttributeType": "S"}
                    ],
                    "KeySchema": [
                        {"AttributeName": "run", "KeyType": "HASH"},
                        {"AttributeName": "item", "KeyType": "RANGE"}
                    ]
                }),
            )
            .await;
        match created {
            Ok(_) => {}
            Err(AwsError::Service { code, .. }) if code == "ResourceInUseException" => {}
            Err(e) => return Err(e.into()),
        }
        for _ in 0..120 {
            let described = self
                .call("describe_table", json!({"TableName": self.table}))
                .await?;
            let status = described.get("Table").and_then(|t| t.get("TableStatus"));
            if status.and_then(Value::as_str) == Some("ACTIVE") {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Err(FleetError::NotActive(self.table.clone()))
    }

    /// Records a new run; `false` when the run id is already recorded (a
    /// duplicate request starts nothing).
    pub async fn put_run(&self, run: &RunRecord) -> Result<bool, FleetError> {
        self.put_once(json!({
            "run": {"S": run.run_id},
            "item": {"S": "run"},
            "plugin": {"S": run.plugin},
            "skill": {"S": run.skill},
            "state": {"S": run.state}
        }))
        .await
    }

    /// Sets a recorded run's state.
    pub async fn set_state(&self, run_id: &str, state: &str) -> Result<(), FleetError> {
        self.call(
            "update_item",
            json!({
                "TableName": self.table,
                "Key": {"run": {"S": run_id}, "item": {"S": "run"}},
                "UpdateExpression": "SET #s = :s",
                "ConditionExpression": "attribute_exists(#i)",
                "ExpressionAttributeNames": {"#s": "state", "#i": "item"},
                "ExpressionAttributeValues": {":s": {"S": state}}
            }),
        )
        .await?;
        Ok(())
    }

    /// Every recorded run.
    pub async fn runs(&self) -> Result<Vec<RunRecord>, FleetError> {
        let scan = json!({
            "TableName": self.table,
            "FilterExpression": "#i = :run",
            "ExpressionAttributeNames": {"#i": "item"},
            "ExpressionAttributeValues": {":run": {"S": "run"}}
        });
        let items = self.pages("scan", scan).await?;
        items.iter().map(|item| self.record(item)).collect()
    }

    fn record(&self, item: &Value) -> Result<RunRecord, FleetError> {
        let text = |name: &str| {
            string(item, name).ok_or_else(|| FleetError::BadItem {
                table: self.table.clone(),
                detail: format!("a run record without `{name}`"),
            })
        };
        Ok(RunRecord {
            run_id: text("run")?,
            plugin: text("plugin")?,
            skill: text("skill")?,
            state: text("state")?,
        })
    }

    /// Appends entry number `seq` (from 0) of a run's journal, unless an
    /// entry already holds that place.
    pub async fn append(
        &self,
        run_id: &str,
        seq: u64,
        entry: &str,
    ) -> Result<Appended, FleetError> {
        let item =
            json!({"run": {"S": run_id}, "item": {"S": entry_key(seq)}, "entry": {"S": entry}});
        Ok(match self.put_once(item).await? {
            true => Appended::Written,
            false => Appended::AlreadyThere,
        })
    }

    /// A run's journal entries, in order.
    pub async fn entries(&self, run_id: &str) -> Result<Vec<String>, FleetError> {
        let query = json!({
            "TableName": self.table,
            "KeyConditionExpression": "#r = :r AND begins_with(#i, :p)",
            "ExpressionAttributeNames": {"#r": "run", "#i": "item"},
            "ExpressionAttributeValues": {":r": {"S": run_id}, ":p": {"S": "entry#"}},
            "ConsistentRead": true
        });
        let items = self.pages("query", query).await?;
        Ok(items
            .iter()
            .filter_map(|item| string(item, "entry"))
            .collect())
    }

    /// Takes the run's lease for `owner` for `ttl`, when nobody holds it,
    /// it lapsed, or `owner` holds it already; `None` when another holds it.
    pub async fn acquire(
        &self,
        run_id: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, FleetError> {
        let now = plug_core::event::now_ms();
        let lease = Lease {
            run_id: run_id.to_owned(),
            owner: owner.to_owned(),
            token: uuid::Uuid::new_v4().simple().to_string(),
            expires_ms: now.saturating_add(millis(ttl)),
        };
        let taken = self
            .call(
                "update_item",
                json!({
                    "TableName": self.table,
                    "Key": {"run": {"S": run_id}, "item": {"S": "lease"}},
                    "UpdateExpression": "SET #o = :o, #t = :t, #e = :e",
                    "ConditionExpression": "attribute_not_exists(#i) OR #e < :now OR #o = :o",
                    "ExpressionAttributeNames": {"#o": "owner", "#t": "token", "#e": "expires", "#i": "item"},
                    "ExpressionAttributeValues": {
                        ":o": {"S": owner},
                        ":t": {"S": lease.token},
                        ":e": {"N": lease.expires_ms.to_string()},
                        ":now": {"N": now.to_string()}
                    }
                }),
            )
            .await;
        Ok(once(taken)?.then_some(lease))
    }

    /// Extends a held lease by `ttl` from now; `false` when it is no longer
    /// this holder's (it lapsed and another worker took the run over).
    pub async fn renew(&self, lease: &mut Lease, ttl: Duration) -> Result<bool, FleetError> {
        let expires = plug_core::event::now_ms().saturating_add(millis(ttl));
        let renewed = self
            .call(
                "update_item",
                json!({
                    "TableName": self.table,
                    "Key": {"run": {"S": lease.run_id}, "item": {"S": "lease"}},
                    "UpdateExpression": "SET #e = :e",
                    "ConditionExpression": "#o = :o AND #t = :t",
                    "ExpressionAttributeNames": {"#o": "owner", "#t": "token", "#e": "expires"},
                    "ExpressionAttributeValues": {
                        ":o": {"S": lease.owner},
                        ":t": {"S": lease.token},
                        ":e": {"N": expires.to_string()}
                    }
                }),
            )
            .await;
        let renewed = once(renewed)?;
        if renewed {
            lease.expires_ms = expires;
        }
        Ok(renewed)
    }

    /// Gives a held lease back; `false` when it was no longer this holder's.
    pub async fn release(&self, lease: &Lease) -> Result<bool, FleetError> {
        let released = self
            .call(
                "delete_item",
                json!({
                    "TableName": self.table,
                    "Key": {"run": {"S": lease.run_id}, "item": {"S": "lease"}},
                    "ConditionExpression": "#o = :o AND #t = :t",
                    "ExpressionAttributeNames": {"#o": "owner", "#t": "token"},
                    "ExpressionAttributeValues": {":o": {"S": lease.owner}, ":t": {"S": lease.token}}
                }),
            )
            .await;
        once(released)
    }
}

/// A conditional write's answer: done, or refused by its condition.
fn once(result: Result<Value, AwsError>) -> Result<bool, FleetError> {
    match result {
        Ok(_) => Ok(true),
        Err(AwsError::Service { code, .. }) if code == CONDITION_FAILED => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The item key of entry `seq`: zero-padded, so keys sort as numbers do.
fn entry_key(seq: u64) -> String {
    format!("entry#{seq:020}")
}

/// A string attribute (`{"S": ...}`) of an item.
fn string(item: &Value, name: &str) -> Option<String> {
    item.get(name)?.get("S")?.as_str().map(str::to_owned)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
