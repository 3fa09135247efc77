//! `plugctl run`, `plan`, `resume`, `runs`, `approve` and `reject` as a user
//! runs them: real processes, a state directory per test, no AWS needed.
#![allow(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod support;
use support::text;

struct Env {
    state: tempfile::TempDir,
    work: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Env {
            state: tempfile::tempdir().expect("tempdir"),
            work: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_plugctl"));
        command
            .args(args)
            .current_dir(self.work.path())
            .env("PLUGCTL_STATE_DIR", self.state.path())
            .env("NO_COLOR", "1")
            // No role here: runs act with the base credentials (`identity: base`).
            .env("PLUGCTL_IDENTITY", "base")
            .stdin(Stdio::null());
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("plugctl runs")
    }

    /// `plugctl approve|reject ...` as the IAM user `person` (LocalStack
    /// verifies who answers); `None` without LocalStack.
    fn answer_as(&self, person: &str, args: &[&str]) -> Option<Output> {
        let vars = support::aws::person(person)?;
        Some(
            self.command(args)
                .envs(vars)
                .output()
                .expect("plugctl runs"),
        )
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("plugctl starts")
    }
}

fn fixture() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/run-basics")
        .display()
        .to_string()
}

/// The seed's policy, kept byte-identical beside the bundled plugin.
fn seed_policy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../plugins/aws-deployment-assistant/policies/policy-delete-human-only.json")
}

/// `plugctl <verb>` of the fixture's delete-lambda skill with the seed's policy.
fn delete_under_seed_policy(env: &Env, verb: &str, extra: &[&str]) -> Output {
    let (fixture, policy) = (fixture(), seed_policy().display().to_string());
    let mut args = vec![
        verb,
        fixture.as_str(),
        "delete-lambda",
        "--param",
        "function_name=f",
        "--policy",
        policy.as_str(),
    ];
    args.extend(extra);
    env.run(&args)
}

/// Starts the release-gated skill and waits until it asks for approval.
fn start_gated_release(env: &Env, version: &str) -> (Child, String) {
    let param = format!("version={version}");
    start_waiting(
        env,
        &["run", &fixture(), "release-gated", "--param", &param],
    )
}

/// Starts a run that waits for an approval; returns it and its run id.
fn start_waiting(env: &Env, args: &[&str]) -> (Child, String) {
    let child = env.spawn(args);
    let approvals = env.state.path().join("approvals");
    wait_for("the approval request", || {
        std::fs::read_dir(&approvals).is_ok_and(|mut d| d.next().is_some())
    });
    (child, only_run_id(env.state.path()))
}

fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts `deploy-once`, SIGKILLs plugctl once its second step has begun,
/// and returns the run's id.
fn kill_mid_second_step(env: &Env) -> String {
    let mut child = env.spawn(&["run", &fixture(), "deploy-once"]);
    wait_for("the second step to start", || {
        env.work.path().join("attempted").exists()
    });
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    only_run_id(env.state.path())
}

/// Sends SIGTERM, as `kill`, systemd and container runtimes do.
fn sigterm(child: &Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
}

/// The one run id in the state directory.
fn only_run_id(state: &Path) -> String {
    let runs: Vec<PathBuf> = std::fs::read_dir(state.join("runs"))
        .expect("runs dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs[0]
        .file_stem()
        .expect("stem")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn a_run_succeeds_and_leaves_a_journal_and_audit_log() {
    let env = Env::new();
    let out = env.run(&[
        "run",
        &fixture(),
        "build-report",
        "--param",
        "target=prod; rm -rf /",
        "--workdir",
        ".",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(env.work.path().join("report.txt")).expect("report"),
        "prod; rm -rf /"
    );
    let id = only_run_id(env.state.path());
    assert!(text(&out.stdout).contains(&format!("run {id}: succeeded")));
    let audit = std::fs::read_to_string(env.state.path().join("audit.jsonl")).expect("audit log");
    assert_eq!(
        audit
            .lines()
            .filter(|l| l.contains("\"step_finished\""))
            .count(),
        3
    );
    let runs = env.run(&["runs", "--output", "json"]);
    let runs: serde_json::Value = serde_json::from_slice(&runs.stdout).expect("json");
    assert_eq!(runs[0]["state"], "succeeded");
    // Journals and the audit log hold params and results: owner-only
    // (hardening issue, item 9).
    use std::os::unix::fs::PermissionsExt;
    for file in [
        env.state.path().join("audit.jsonl"),
        env.state.path().join(format!("runs/{id}.jsonl")),
    ] {
        let mode = std::fs::metadata(&file).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", file.display());
    }
}

/// A crash mid-write left the audit log's last line torn: the next run's
/// records start on a line of their own, and `plugctl audit` lists every
/// run, warning about the fragment (durability issue, item 2).
#[test]
fn a_torn_audit_log_loses_no_later_run() {
    let env = Env::new();
    let earlier = serde_json::json!({"schema": 1, "run_id": "20260101T000000-000001", "at_ms": 1, "event": "run_started", "plugin": "p", "version": "1.0.0", "skill": "s", "actor": "agent"}).to_string();
    let torn = format!("{earlier}\n{}", &earlier[..25]);
    std::fs::write(env.state.path().join("audit.jsonl"), torn).expect("torn log");
    let out = env.run(&["run", &fixture(), "build-report", "--param", "target=x"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let id = only_run_id(env.state.path());
    let out = env.run(&["audit", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let runs: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let ids: Vec<&str> = runs.iter().filter_map(|r| r["run_id"].as_str()).collect();
    assert_eq!(ids, ["20260101T000000-000001", id.as_str()]);
    assert_eq!(runs[1]["outcome"], "succeeded", "{runs:?}");
    assert!(
        text(&out.stderr).contains("skipped 1 torn line"),
        "{}",
        text(&out.stderr)
    );
}

/// Hardening issue, item 9: a sensitive param's value that comes back in
/// a step's output, or in a hook's reason for blocking, is redacted from
/// the journal and the terminal (the step still gets the value itself).
#[test]
fn a_secret_echoed_by_a_step_or_a_hook_is_never_written() {
    let env = Env::new();
    let secret = "s3cr3t-TOKEN-4711-zz";
    let plugin = env.work.path().join("plugin");
    std::fs::create_dir_all(plugin.join("skills")).expect("mkdir");
    std::fs::create_dir_all(plugin.join("hooks")).expect("mkdir");
    // Inside the plugin: hooks may read their plugin, not the work folder.
    let seen = plugin.join("seen.txt");
    std::fs::write(
        plugin.join("hooks/leak.sh"),
        format!(
            "#!/bin/sh\necho \"refused: $(cat '{}')\" >&2\nexit 2\n",
            seen.display()
        ),
    )
    .expect("hook");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        plugin.join("hooks/leak.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .expect("chmod");
    std::fs::write(
        plugin.join("plugin.yaml"),
        "plugin:\n  name: leaky\n  version: 0.1.0\n  skills:\n    - name: echo\n      path: ./skills/echo.yaml\n  hooks:\n    - event: pre_step\n      command: [./hooks/leak.sh]\n      matcher: assert\n",
    )
    .expect("manifest");
    std::fs::write(
        plugin.join("skills/echo.yaml"),
        format!("skill:\n  name: echo\n  description: d\n  params:\n    token:\n      type: string\n      sensitive: true\n  steps:\n    - name: show\n      action: run_command\n      command: [sh, -c, 'echo \"token=$1\"; printf %s \"$1\" > {}', sh, <token>]\n      outputs:\n        line: $.stdout\n    - name: check\n      action: assert\n      that: \"steps.show.line != ''\"\n", seen.display()),
    )
    .expect("skill");
    let param = format!("token={secret}");
    let out = env.run(&[
        "run",
        &plugin.display().to_string(),
        "echo",
        "--param",
        &param,
    ]);
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&seen).expect("the step got it"),
        secret
    );
    let journal = std::fs::read_to_string(
        env.state
            .path()
            .join(format!("runs/{}.jsonl", only_run_id(env.state.path()))),
    )
    .expect("journal");
    for (what, written) in [
        ("journal", journal.as_str()),
        ("stdout", &text(&out.stdout)),
        ("stderr", &text(&out.stderr)),
    ] {
        assert!(
            !written.contains(secret),
            "{what} shows the secret:\n{written}"
        );
    }
    assert!(journal.contains("token=[redacted]"), "{journal}");
    assert!(
        text(&out.stdout).contains("refused: [redacted]")
            || text(&out.stderr).contains("refused: [redacted]"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Hardening issue, item 6: a journal edited to claim a human actor (or
/// edited at all) is refused on resume, instead of letting the resumed run
/// act as a human.
#[test]
fn an_edited_journal_is_refused_on_resume() {
    let env = Env::new();
    let id = kill_mid_second_step(&env);
    let path = env.state.path().join(format!("runs/{id}.jsonl"));
    let journal = std::fs::read_to_string(&path).expect("journal");
    assert!(journal.contains(r#""actor":"agent""#), "{journal}");
    std::fs::write(
        &path,
        journal.replace(r#""actor":"agent""#, r#""actor":"human""#),
    )
    .expect("edit");
    let out = env.run(&["resume", &id]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("seal does not verify"),
        "{}",
        text(&out.stderr)
    );
    // The journal as written resumes.
    std::fs::write(&path, journal).expect("restore");
    let out = env.run(&["resume", &id]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// `plugctl runs` tells a run waiting for an approval (and for whom) from
/// one that runs, and an interrupted run names the step it was in, which
/// `resume` says it runs again (visible-runs issue, rough edges).
#[test]
fn runs_say_what_a_run_waits_for_and_where_it_stopped() {
    let env = Env::new();
    let (mut child, id) = start_gated_release(&env, "4.0.0");
    let listed = text(&env.run(&["runs"]).stdout);
    assert!(
        listed.contains(&id) && listed.contains("waiting for approval"),
        "{listed}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&env.run(&["runs", "--output", "json"]).stdout).expect("json");
    assert_eq!(json[0]["state"], "waiting for approval");
    assert_eq!(json[0]["waiting_for"], serde_json::json!([]));
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let listed = text(&env.run(&["runs"]).stdout);
    assert!(
        listed.contains("interrupted") && listed.contains("(in step confirm)"),
        "{listed}"
    );

    let env = Env::new();
    let id = kill_mid_second_step(&env);
    let listed = text(&env.run(&["runs"]).stdout);
    assert!(listed.contains("(in step deploy)"), "{listed}");
    let resumed = env.run(&["resume", &id]);
    assert_eq!(resumed.status.code(), Some(0), "{}", text(&resumed.stderr));
    assert!(
        text(&resumed.stderr)
            .contains("interrupted in step `deploy`, which runs again after 1 completed step(s)"),
        "{}",
        text(&resumed.stderr)
    );
}

/// A skill's own `timeout:` bounds the whole run (the seed's "timeout
/// thresholds in skill YAML"); zero is refused by validate.
#[test]
fn a_skill_timeout_bounds_the_whole_run() {
    let env = Env::new();
    let plugin = env.work.path().join("plugin");
    std::fs::create_dir_all(plugin.join("skills")).expect("mkdir");
    std::fs::write(
        plugin.join("plugin.yaml"),
        "plugin:\n  name: slow\n  version: 0.1.0\n  skills:\n    - name: wait\n      path: ./skills/wait.yaml\n",
    )
    .expect("manifest");
    let skill = |timeout: &str| {
        format!(
            "skill:\n  name: wait\n  description: d\n  timeout: {timeout}\n  steps:\n    - name: first\n      action: run_command\n      command: [sleep, '1']\n    - name: second\n      action: run_command\n      command: [sleep, '30']\n      timeout: 5m\n"
        )
    };
    std::fs::write(plugin.join("skills/wait.yaml"), skill("2s")).expect("skill");
    let started = Instant::now();
    let out = env.run(&["run", &plugin.display().to_string(), "wait"]);
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the skill's timeout did not stop it"
    );
    std::fs::write(plugin.join("skills/wait.yaml"), skill("0s")).expect("skill");
    let out = env.run(&["validate", &plugin.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("more than zero"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_missing_param_is_a_usage_error_before_anything_runs() {
    let env = Env::new();
    let out = env.run(&["run", &fixture(), "build-report"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--param target="),
        "{}",
        text(&out.stderr)
    );
    assert!(!env.state.path().join("runs").exists());
    let out = env.run(&["run", &fixture(), "no-such-skill"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("skills: build-report"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_seed_policy_denies_an_agent_before_any_step_and_names_the_statement() {
    let env = Env::new();
    let out = delete_under_seed_policy(&env, "run", &["--approve-from", "/dev/null"]);
    // /dev/null is not an answer file: the run must refuse to guess.
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));

    let answers = env.work.path().join("no.json");
    std::fs::write(
        &answers,
        r#"{"approver": "bob", "approve": false, "reason": "not on a Friday"}"#,
    )
    .expect("write");
    let out = delete_under_seed_policy(
        &env,
        "run",
        &["--approve-from", &answers.display().to_string()],
    );
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("refused by bob: not on a Friday"),
        "{}",
        text(&out.stdout)
    );
    assert!(!text(&out.stderr).contains("-> delete"), "no step ran");
}

#[test]
fn plan_shows_steps_decisions_and_approvals_without_side_effects() {
    let env = Env::new();
    let out = delete_under_seed_policy(&env, "plan", &["--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(plan["steps"][0]["inputs"]["FunctionName"], "f");
    assert_eq!(plan["actions"][0]["action"], "lambda:DeleteFunction");
    assert_eq!(plan["actions"][0]["needs_approval"], true);
    assert!(
        !env.state.path().join("runs").exists(),
        "plan journals nothing"
    );
}

#[test]
fn an_approval_from_another_terminal_lets_the_run_continue() {
    let env = Env::new();
    let alice = support::unique("alice");
    if support::localstack_endpoint().is_none() {
        return;
    }
    let (child, id) = start_gated_release(&env, "1.2.3");
    let approvals = env.state.path().join("approvals");
    let request =
        std::fs::read_to_string(approvals.join(format!("{id}.request.json"))).expect("request");
    assert!(
        request.contains("Release 1.2.3 to production?"),
        "{request}"
    );
    let answer = env
        .answer_as(&alice, &["approve", &id, "--as", &alice])
        .expect("LocalStack");
    assert_eq!(answer.status.code(), Some(0), "{}", text(&answer.stderr));
    let out = child.wait_with_output().expect("run ends");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(env.work.path().join("released").exists());
}

#[test]
fn a_rejection_stops_the_run_with_nothing_changed() {
    let env = Env::new();
    let bob = support::unique("bob");
    if support::localstack_endpoint().is_none() {
        return;
    }
    let (child, id) = start_gated_release(&env, "2.0.0");
    let rejected = env
        .answer_as(&bob, &["reject", &id, "--reason", "freeze"])
        .expect("LocalStack");
    assert_eq!(
        rejected.status.code(),
        Some(0),
        "{}",
        text(&rejected.stderr)
    );
    let out = child.wait_with_output().expect("run ends");
    assert_eq!(out.status.code(), Some(4));
    assert!(!env.work.path().join("released").exists());
    assert_eq!(
        env.answer_as(&bob, &["approve", &id])
            .expect("LocalStack")
            .status
            .code(),
        Some(2),
        "nothing is waiting any more"
    );
}

/// An answer belongs to the request it answers (hardening issue, item 7):
/// approving a run whose waiting process died is refused, and nothing left
/// behind approves the run's resume, which asks again.
#[test]
fn an_approval_for_a_dead_request_never_approves_a_resume() {
    let env = Env::new();
    let alice = support::unique("alice");
    if support::localstack_endpoint().is_none() {
        return;
    }
    let (mut child, id) = start_gated_release(&env, "3.0.0");
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let late = env
        .answer_as(&alice, &["approve", &id, "--as", &alice])
        .expect("LocalStack");
    assert_eq!(late.status.code(), Some(2), "{}", text(&late.stdout));
    assert!(
        text(&late.stderr).contains("nothing waits for the answer"),
        "{}",
        text(&late.stderr)
    );
    // A stale answer planted by hand (as an older plugctl left them) is no answer either.
    let approvals = env.state.path().join("approvals");
    std::fs::write(
        approvals.join(format!("{id}.answer.json")),
        r#"{"approver":"mallory","approve":true}"#,
    )
    .expect("planted answer");
    let resumed = env.spawn(&["resume", &id]);
    wait_for("the resume to ask again", || {
        approvals.join(format!("{id}.request.json")).exists()
    });
    std::thread::sleep(std::time::Duration::from_millis(600));
    assert!(
        !env.work.path().join("released").exists(),
        "the left-over answer approved the resume"
    );
    let answer = env
        .answer_as(&alice, &["approve", &id, "--as", &alice])
        .expect("LocalStack");
    assert_eq!(answer.status.code(), Some(0), "{}", text(&answer.stderr));
    let out = resumed.wait_with_output().expect("resume ends");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(env.work.path().join("released").exists());
}

/// The first answer wins: an approval after a rejection is refused with a
/// clear message, and the run ends refused (hardening issue, item 2).
#[test]
fn an_approval_cannot_overwrite_a_rejection() {
    let env = Env::new();
    let (bob, mallory) = (support::unique("bob"), support::unique("mallory"));
    if support::localstack_endpoint().is_none() {
        return;
    }
    let (child, id) = start_gated_release(&env, "3.0.0");
    let rejected = env
        .answer_as(&bob, &["reject", &id, "--reason", "freeze"])
        .expect("LocalStack");
    let approved = env
        .answer_as(&mallory, &["approve", &id])
        .expect("LocalStack");
    assert_eq!(
        rejected.status.code(),
        Some(0),
        "{}",
        text(&rejected.stderr)
    );
    let out = child.wait_with_output().expect("run ends");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(!env.work.path().join("released").exists());
    assert_eq!(
        approved.status.code(),
        Some(2),
        "{}",
        text(&approved.stdout)
    );
    let said = text(&approved.stderr);
    assert!(
        said.contains(&format!("already refused by {bob}")) || said.contains("not waiting"),
        "{said}"
    );
}

/// Only the step's `approvers` may answer: anyone else's `approve` is
/// refused and leaves the request open (hardening issue, item 3).
#[test]
fn only_a_named_approver_may_approve() {
    let env = Env::new();
    if support::localstack_endpoint().is_none() {
        return;
    }
    let plugin = support::fixture("approvers");
    let (child, id) = start_waiting(&env, &["run", &plugin, "release-by-alice"]);
    let mallory = env
        .answer_as(&support::unique("mallory"), &["approve", &id])
        .expect("LocalStack");
    assert_eq!(mallory.status.code(), Some(2), "{}", text(&mallory.stdout));
    assert!(
        text(&mallory.stderr).contains("its approvers are alice"),
        "{}",
        text(&mallory.stderr)
    );
    // The step names `alice`: the IAM user alice, as AWS verifies her.
    let alice = env
        .answer_as("alice", &["approve", &id])
        .expect("LocalStack");
    assert_eq!(alice.status.code(), Some(0), "{}", text(&alice.stderr));
    let out = child.wait_with_output().expect("run ends");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(env.work.path().join("released").exists());
}

/// One process drives a run: resuming a run whose process still runs it is
/// refused, naming that process (hardening issue, item 4).
#[test]
fn a_run_in_progress_cannot_be_resumed_by_another_process() {
    let env = Env::new();
    let (mut child, id) = start_gated_release(&env, "4.0.0");
    let answers = env.state.path().join("refuse.json");
    std::fs::write(&answers, r#"{"approver": "bob", "approve": false}"#).expect("write");
    let resumed = env.run(&[
        "resume",
        &id,
        "--approve-from",
        &answers.display().to_string(),
    ]);
    assert_eq!(resumed.status.code(), Some(2), "{}", text(&resumed.stderr));
    let said = text(&resumed.stderr);
    assert!(
        said.contains("in progress") && said.contains(&format!("pid {}", child.id())),
        "{said}"
    );
    let Some(rejected) = env.answer_as(&support::unique("bob"), &["reject", &id]) else {
        // Without LocalStack nobody can be verified to answer: stop the run.
        let _ = child.kill();
        let _ = child.wait();
        return;
    };
    assert_eq!(
        rejected.status.code(),
        Some(0),
        "{}",
        text(&rejected.stderr)
    );
    assert_eq!(child.wait().expect("run ends").code(), Some(4));
}

#[test]
fn a_run_killed_mid_step_resumes_after_its_last_completed_step() {
    let env = Env::new();
    let id = kill_mid_second_step(&env);
    let runs = text(&env.run(&["runs"]).stdout);
    // Its process is gone: nobody drives it any more.
    assert!(
        runs.contains("interrupted") && runs.contains("1 step(s) done"),
        "{runs}"
    );

    let out = env.run(&["resume", &id]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(env.work.path().join("prepare.log")).expect("log"),
        "prepared\n",
        "step 1 ran once"
    );
    assert_eq!(
        std::fs::read_to_string(env.work.path().join("deployed")).expect("deployed"),
        "done\n"
    );
    assert_eq!(
        env.run(&["resume", &id]).status.code(),
        Some(0),
        "resuming a finished run is a no-op"
    );
}

#[test]
fn a_step_uses_the_answer_of_a_real_mcp_server() {
    let env = Env::new();
    let plugin = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mcp-echo")
        .display()
        .to_string();
    let out = env.run(&[
        "run",
        &plugin,
        "relay",
        "--param",
        "word=hello",
        "--set",
        "echo-prefix=>> ",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(env.work.path().join("echoed.txt")).expect("file"),
        ">> hello"
    );
    let audit = std::fs::read_to_string(env.state.path().join("audit.jsonl")).expect("audit");
    assert!(
        audit.contains("\"mcp_tool_called\"") && audit.contains("\"outcome\":\"ok\""),
        "{audit}"
    );
}

#[test]
fn the_config_file_supplies_what_flags_do_not() {
    let env = Env::new();
    let config = env.work.path().join("config.yaml");
    std::fs::write(
        &config,
        format!("policies: [{}]\noperator: carol\n", seed_policy().display()),
    )
    .expect("write");
    let answers = env.work.path().join("no.json");
    std::fs::write(&answers, r#"{"approver": "bob", "approve": false}"#).expect("write");
    let args = [
        "run",
        &fixture(),
        "delete-lambda",
        "--param",
        "function_name=f",
        "--approve-from",
        answers.to_str().expect("utf-8"),
    ];
    let out = env
        .command(&args)
        .env("PLUGCTL_CONFIG", &config)
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(4),
        "the policy from the file gated the run: {}",
        text(&out.stderr)
    );

    std::fs::write(
        &config,
        "region: eu-west-1\nrole_rn: arn:aws:iam::1:role/x\n",
    )
    .expect("write");
    let out = env
        .command(&args)
        .env("PLUGCTL_CONFIG", &config)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr)
            .contains("config.yaml:2:1: unknown setting `role_rn` (did you mean `role_arn`?)"),
        "{}",
        text(&out.stderr)
    );
}

/// A journal cut mid-line (a crash mid-write) neither hides other runs from
/// `runs` nor glues the next entry onto the torn line; a corrupt journal is
/// skipped with a warning (hardening issue, item 8; durability issue, item 2).
#[test]
fn a_torn_journal_is_repaired_on_resume_and_never_hides_other_runs() {
    let env = Env::new();
    let id = kill_mid_second_step(&env);
    let journal = env.state.path().join(format!("runs/{id}.jsonl"));
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .expect("open");
    std::io::Write::write_all(&mut file, b"{\"entry\":\"step_fin").expect("tear");
    drop(file);
    let corrupt = env.state.path().join("runs/20000101T000000-aaaaaa.jsonl");
    std::fs::write(&corrupt, "not json\n{}\n").expect("corrupt journal");

    let runs = env.run(&["runs"]);
    assert_eq!(runs.status.code(), Some(0), "{}", text(&runs.stderr));
    assert!(text(&runs.stdout).contains(&id), "{}", text(&runs.stdout));
    assert!(
        text(&runs.stderr).contains("skipped"),
        "{}",
        text(&runs.stderr)
    );

    let out = env.run(&["resume", &id]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines = std::fs::read_to_string(&journal).expect("journal");
    for line in lines.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("every line is an entry ({e}): {line}"));
    }
}

/// SIGTERM (what `kill`, systemd and container runtimes send) is handled
/// like Ctrl-C: no further step starts, the run is journaled as interrupted
/// (resume runs the step in flight again), and plugctl exits 6 (durability
/// issue, item 4).
#[test]
fn sigterm_interrupts_the_run_like_ctrl_c() {
    let env = Env::new();
    let plugin = support::fixture("serve-basics");
    let child = env.spawn(&["run", &plugin, "two-steps", "--param", "pause=2"]);
    wait_for("the first step to start", || {
        env.work.path().join("first.started").exists()
    });
    sigterm(&child);
    let out = child.wait_with_output().expect("run ends");
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
    assert!(
        !env.work.path().join("second.done").exists(),
        "no step started after"
    );
    let id = only_run_id(env.state.path());
    let runs = text(&env.run(&["runs"]).stdout);
    assert!(runs.contains(&id) && runs.contains("interrupted"), "{runs}");
}

/// Unmounts a test's tmpfs when the test ends, whatever happens.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A run that cannot write its journal (a full disk) never starts its steps
/// and exits 2 saying why, instead of "succeeded" with an empty journal
/// (durability issue, item 1). Needs root to mount a small tmpfs.
#[test]
fn a_run_that_cannot_journal_does_not_start() {
    let env = Env::new();
    let disk = tempfile::tempdir().expect("tempdir");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(disk.path())
        .stderr(Stdio::null())
        .status();
    if !mounted.is_ok_and(|s| s.success()) {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    }
    let _unmount = Mounted(disk.path().to_path_buf());
    std::fs::create_dir_all(disk.path().join("runs")).expect("runs dir");
    let mut filler = std::fs::File::create(disk.path().join("filler")).expect("filler");
    while std::io::Write::write_all(&mut filler, &[0u8; 4096]).is_ok() {}
    drop(filler);
    let out = env
        .command(&["run", &fixture(), "build-report", "--param", "target=x"])
        .env("PLUGCTL_STATE_DIR", disk.path())
        .output()
        .expect("plugctl runs");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("journal could not be written")
            || text(&out.stderr).contains("journal"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        !env.work.path().join("report.txt").exists(),
        "no step ran without its journal"
    );
}

/// What a step leaves running in the background serves the steps after it
/// and ends with the run, and it does not hold its step open by keeping the
/// output pipe (durability issue, item 5).
#[test]
fn a_background_process_serves_later_steps_and_ends_with_the_run() {
    let env = Env::new();
    let plugin = env.work.path().join("plugin");
    std::fs::create_dir_all(plugin.join("skills")).expect("mkdir");
    std::fs::write(
        plugin.join("plugin.yaml"),
        "plugin:\n  name: lingering\n  version: 0.1.0\n  skills:\n    - name: server\n      path: ./skills/server.yaml\n",
    )
    .expect("manifest");
    std::fs::write(
        plugin.join("skills/server.yaml"),
        "skill:\n  name: server\n  description: d\n  steps:\n    - name: start\n      action: run_command\n      command: [sh, -c, 'sleep 300 & echo $! > bg.pid']\n      timeout: 60s\n    - name: use\n      action: run_command\n      command: [sh, -c, 'kill -0 $(cat bg.pid)']\n",
    )
    .expect("skill");
    let out = env.run(&["run", &plugin.display().to_string(), "server"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let journal = std::fs::read_to_string(
        env.state
            .path()
            .join(format!("runs/{}.jsonl", only_run_id(env.state.path()))),
    )
    .expect("journal");
    assert!(!journal.contains("timed out"), "{journal}");
    let sleep_pid = std::fs::read_to_string(env.work.path().join("bg.pid"))
        .expect("pid")
        .trim()
        .to_owned();
    wait_for("the background sleep to be gone", || {
        !Path::new(&format!("/proc/{sleep_pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{sleep_pid}/stat"))
                .is_ok_and(|s| s.contains(") Z "))
    });
}

/// An interrupted step's whole process group goes with it: a `sleep` inside
/// `sh -c` does not outlive the run to race a resume (durability issue,
/// item 5).
#[test]
fn an_interrupted_step_leaves_no_process_behind() {
    let env = Env::new();
    let plugin = env.work.path().join("plugin");
    std::fs::create_dir_all(plugin.join("skills")).expect("mkdir");
    std::fs::write(
        plugin.join("plugin.yaml"),
        "plugin:\n  name: lingering\n  version: 0.1.0\n  skills:\n    - name: background\n      path: ./skills/background.yaml\n",
    )
    .expect("manifest");
    std::fs::write(
        plugin.join("skills/background.yaml"),
        "skill:\n  name: background\n  description: d\n  steps:\n    - name: wait\n      action: run_command\n      command: [sh, -c, 'sleep 300 & echo $! > bg.pid; wait']\n",
    )
    .expect("skill");
    let child = env.spawn(&["run", &plugin.display().to_string(), "background"]);
    let pid_file = env.work.path().join("bg.pid");
    wait_for("the background sleep", || {
        std::fs::read_to_string(&pid_file).is_ok_and(|t| t.ends_with('\n'))
    });
    let sleep_pid = std::fs::read_to_string(&pid_file)
        .expect("pid")
        .trim()
        .to_owned();
    sigterm(&child);
    let out = child.wait_with_output().expect("run ends");
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
    wait_for("the background sleep to be gone", || {
        !Path::new(&format!("/proc/{sleep_pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{sleep_pid}/stat"))
                .is_ok_and(|s| s.contains(") Z "))
    });
}
