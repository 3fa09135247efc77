//! The run table against a real DynamoDB API: moto's server (`cargo xtask
//! test` starts it and sets `MOTO_ENDPOINT`). Without it the tests say so
//! and pass, unless `PLUGCTL_REQUIRE_LOCALSTACK=1` (CI) makes that a failure.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use aws_credential_types::Credentials;
use plug_aws::AwsClient;
use plug_aws::identity::{IdentityConfig, Session};
use plug_fleet::{Appended, RunRecord, RunTable};

fn moto() -> Option<String> {
    match std::env::var("MOTO_ENDPOINT") {
        Ok(endpoint) => Some(endpoint),
        Err(_) if std::env::var_os("PLUGCTL_REQUIRE_LOCALSTACK").is_some() => {
            panic!("MOTO_ENDPOINT is not set: run the suite with `cargo xtask test`")
        }
        Err(_) => {
            eprintln!("skipped: no MOTO_ENDPOINT (cargo xtask test starts moto)");
            None
        }
    }
}

/// A fresh table on moto.
async fn table(endpoint: &str) -> RunTable {
    let config = IdentityConfig {
        region: Some("us-east-1".into()),
        endpoint_url: Some(endpoint.to_owned()),
        base_credentials: Some(Credentials::new("test", "test", None, None, "moto")),
        ..IdentityConfig::default()
    };
    let session = Session::establish(config).await.expect("session");
    let client = AwsClient::new(Arc::new(session)).expect("client");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let table = RunTable::new(client, format!("runs-{}-{nanos}", std::process::id()));
    table.create().await.expect("table");
    table
}

#[tokio::test]
async fn entries_are_appended_once_and_read_back_in_order() {
    let Some(endpoint) = moto() else { return };
    let table = table(&endpoint).await;
    let written: Vec<String> = (0..25)
        .map(|i| format!(r#"{{"entry":"step","n":{i}}}"#))
        .collect();
    for (seq, entry) in written.iter().enumerate() {
        let appended = table.append("r1", seq as u64, entry).await.expect("append");
        assert_eq!(appended, Appended::Written);
    }
    // A second writer of the same place (a duplicate delivery, a stale
    // worker) changes nothing.
    let again = table
        .append("r1", 3, "{\"entry\":\"other\"}")
        .await
        .expect("append");
    assert_eq!(again, Appended::AlreadyThere);
    assert_eq!(table.entries("r1").await.expect("entries"), written);
    assert!(table.entries("r2").await.expect("entries").is_empty());
}

#[tokio::test]
async fn one_worker_drives_a_run_until_its_lease_lapses() {
    let Some(endpoint) = moto() else { return };
    let table = table(&endpoint).await;
    let ttl = Duration::from_millis(600);
    let mut first = table
        .acquire("r1", "worker-a", ttl)
        .await
        .expect("acquire")
        .expect("free");
    assert!(
        table
            .acquire("r1", "worker-b", ttl)
            .await
            .expect("acquire")
            .is_none()
    );
    assert!(table.renew(&mut first, ttl).await.expect("renew"));
    tokio::time::sleep(ttl + Duration::from_millis(200)).await;
    // Lapsed: another worker takes the run over, and the first can no
    // longer renew or release what is now the other's.
    let second = table
        .acquire("r1", "worker-b", ttl)
        .await
        .expect("acquire")
        .expect("lapsed");
    assert!(!table.renew(&mut first, ttl).await.expect("renew"));
    assert!(!table.release(&first).await.expect("release"));
    assert!(table.release(&second).await.expect("release"));
    assert!(
        table
            .acquire("r1", "worker-a", ttl)
            .await
            .expect("acquire")
            .is_some()
    );
}

#[tokio::test]
async fn of_workers_racing_for_a_run_exactly_one_gets_it() {
    let Some(endpoint) = moto() else { return };
    let table = Arc::new(table(&endpoint).await);
    let racers: Vec<_> = (0..8)
        .map(|i| {
            let table = table.clone();
            tokio::spawn(async move {
                let owner = format!("worker-{i}");
                table
                    .acquire("contested", &owner, Duration::from_secs(30))
                    .await
            })
        })
        .collect();
    let mut winners = 0;
    for racer in racers {
        if racer.await.expect("task").expect("acquire").is_some() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}

#[tokio::test]
async fn a_run_is_recorded_once() {
    let Some(endpoint) = moto() else { return };
    let table = table(&endpoint).await;
    let record = RunRecord {
        run_id: "r9".into(),
        plugin: "p".into(),
        skill: "s".into(),
        state: "queued".into(),
    };
    assert!(table.put_run(&record).await.expect("put"));
    assert!(
        !table.put_run(&record).await.expect("put"),
        "a duplicate starts nothing"
    );
    table.set_state("r9", "succeeded").await.expect("state");
    let runs = table.runs().await.expect("runs");
    assert_eq!(
        runs,
        [RunRecord {
            state: "succeeded".into(),
            ..record
        }]
    );
}

fn step_entries(index: usize) -> [plug_skill::journal::Entry; 2] {
    use plug_skill::journal::Entry;
    [
        Entry::StepStarted {
            index,
            name: format!("s{index}"),
            attempt: 1,
        },
        Entry::StepFinished {
            index,
            name: format!("s{index}"),
            outcome: plug_skill::StepOutcome::Succeeded,
            result: serde_json::json!({"n": index}),
            outputs: Default::default(),
            error: None,
        },
    ]
}

/// The interpreter's journal in the table: what one driver wrote, the next
/// reads back and continues after (the completed steps a resume skips); a
/// driver that lost the run finds its next place taken and stops.
#[tokio::test]
async fn a_runs_journal_in_the_table_resumes_and_refuses_a_second_driver() {
    use plug_skill::journal::{JournalError, Resume, RunLog};
    let Some(endpoint) = moto() else { return };
    let table = Arc::new(table(&endpoint).await);
    let (mut first, entries) = plug_fleet::TableLog::open(table.clone(), "r1")
        .await
        .expect("open");
    assert!(entries.is_empty());
    for entry in step_entries(0) {
        first.append(&entry).await.expect("append");
    }
    let (mut second, entries) = plug_fleet::TableLog::open(table.clone(), "r1")
        .await
        .expect("open");
    assert_eq!(entries.len(), 2);
    assert_eq!(
        Resume::from_entries(&entries).completed.len(),
        1,
        "step 0 is done"
    );
    for entry in step_entries(1) {
        second.append(&entry).await.expect("append");
    }
    let stale = first.append(&step_entries(1)[0]).await;
    assert!(matches!(stale, Err(JournalError::Busy { .. })), "{stale:?}");
    let (_, entries) = plug_fleet::TableLog::open(table, "r1").await.expect("open");
    assert_eq!(Resume::from_entries(&entries).completed.len(), 2);
}
