//! Running one step: `when`, hooks, attempts with backoff, the action, its
//! fallback and its named outputs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use plug_core::event::EventKind;
use plug_core::ports::{
    AwsCall, AwsError, AwsInvoker, CommandSpec, HookDecision, HookInput, ToolCall,
};
use plug_core::{TraceContext, Value};
use plug_manifest::native::model::{Action, CommandLine, OnFailure, Step};

use super::{
    Interpreter, Redaction, RunOutcome, RunRequest, RunState, StepError, StepOutcome, StepReport,
    millis, redacted_params,
};
use crate::condition;
use crate::journal::{Entry, RunLog, to_tagged};
use crate::template::StepResult;

impl Interpreter {
    /// Runs step `index`; `Err` ends the run with that outcome.
    pub(super) async fn step(
        &self,
        req: &RunRequest,
        journal: &mut dyn RunLog,
        state: &mut RunState,
        index: usize,
        step: &Step,
        deadline: Instant,
    ) -> Result<(), RunOutcome> {
        if self.interrupted() {
            return Err(RunOutcome::Interrupted {
                reason: "interrupted (Ctrl-C, SIGTERM or a cancelled call) before this step".into(),
            });
        }
        if let Some(when) = &step.when {
            let run =
                condition::holds(when, &state.scope, None).map_err(|e| RunOutcome::StepFailed {
                    step: step.name.clone(),
                    error: e.to_string(),
                })?;
            if !run {
                self.journal_finish(
                    journal,
                    (index, step),
                    StepOutcome::Skipped,
                    &Value::Null,
                    &state.redaction,
                )
                .await?;
                state.steps.push(StepReport {
                    name: step.name.clone(),
                    action: step.action.name(),
                    outcome: StepOutcome::Skipped,
                    attempts: 0,
                    error: None,
                    duration_ms: 0,
                });
                state.scope.steps.push(StepResult {
                    name: step.name.clone(),
                    result: Value::Null,
                    outputs: Default::default(),
                });
                return Ok(());
            }
        }
        self.hook(req, state, "pre_step", Some(step)).await?;
        let started = Instant::now();
        let at_ms = self.record(
            req,
            EventKind::StepStarted {
                step: step.name.clone(),
                action: step.action.name().to_owned(),
            },
        );
        let run_span = state.trace;
        state.trace = run_span.sibling(&req.run_id, &step.name, at_ms);
        let attempted = self
            .attempts(req, journal, state, index, step, deadline)
            .await;
        state.trace = run_span;
        let (result, attempts) = attempted?;
        let duration_ms = millis(started.elapsed());
        let (outcome, value, error) = match result {
            Ok((outcome, value)) => (outcome, value, None),
            Err(StepError::Refused(reason)) => {
                return Err(RunOutcome::ApprovalRefused {
                    step: Some(step.name.clone()),
                    reason,
                });
            }
            Err(StepError::Failed(message)) => (
                StepOutcome::Failed,
                Value::Null,
                Some(state.redaction.text(message)),
            ),
        };
        let mut outputs = match outcome {
            StepOutcome::Failed => Default::default(),
            _ => select_outputs(step, &value).map_err(|e| RunOutcome::StepFailed {
                step: step.name.clone(),
                error: e,
            })?,
        };
        if let (Action::Prompt { param, .. }, false) =
            (&step.action, outcome == StepOutcome::Failed)
        {
            // The answer fills the param the step names: later steps use it as `<param>`.
            outputs
                .entry(param.clone())
                .or_insert_with(|| value.clone());
            if let (true, Value::String(answer)) = (req.sensitive.contains(param), &value) {
                // Asked for at run time, so not among the known secrets yet.
                state.redaction.add(answer.clone());
            }
        }
        let result = StepResult {
            name: step.name.clone(),
            result: value,
            outputs,
        };
        let redaction = &state.redaction;
        self.journal_finish_result(
            journal,
            (index, step),
            outcome,
            &result,
            error.clone(),
            redaction,
        )
        .await?;
        let outcome_text = format!("{outcome:?}").to_lowercase();
        self.record(
            req,
            EventKind::StepFinished {
                step: step.name.clone(),
                outcome: outcome_text,
                duration_ms,
            },
        );
        state.steps.push(StepReport {
            name: step.name.clone(),
            action: step.action.name(),
            outcome,
            attempts,
            error: error.clone(),
            duration_ms,
        });
        state.scope.steps.push(result);
        match (error, step.on_failure) {
            (Some(error), OnFailure::Abort) => Err(RunOutcome::StepFailed {
                step: step.name.clone(),
                error,
            }),
            _ => self.hook(req, state, "post_step", Some(step)).await,
        }
    }

    /// Attempts the action up to `1 + retries` times with exponential backoff.
    async fn attempts(
        &self,
        req: &RunRequest,
        journal: &mut dyn RunLog,
        state: &mut RunState,
        index: usize,
        step: &Step,
        deadline: Instant,
    ) -> Result<(Result<(StepOutcome, Value), StepError>, u32), RunOutcome> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            journal
                .append(&Entry::StepStarted {
                    index,
                    name: step.name.clone(),
                    attempt,
                })
                .await
                .map_err(RunOutcome::journal_failed)?;
            let own = step.timeout.unwrap_or(self.options.default_step_timeout);
            let left = deadline.saturating_duration_since(Instant::now());
            let result = self
                .bounded(own.min(left), self.execute(req, state, step))
                .await?;
            if left < own && Instant::now() >= deadline && result.is_err() {
                // The run's time is up, not the step's: stop as an interrupt
                // does, so that a resume (with more time) runs the step again.
                let limit = req.skill.timeout.unwrap_or(self.options.skill_timeout);
                return Err(RunOutcome::Interrupted {
                    reason: format!(
                        "the skill's timeout ({}) passed during step `{}`",
                        humantime::format_duration(limit),
                        step.name
                    ),
                });
            }
            match result {
                Err(StepError::Failed(_)) if attempt <= step.retries => {
                    let delay = self
                        .options
                        .retry_base_delay
                        .saturating_mul(1 << (attempt - 1).min(16));
                    tokio::time::sleep(delay).await;
                }
                other => return Ok((other, attempt)),
            }
        }
    }

    /// Runs `work` within `timeout`, stopping early on Ctrl-C.
    async fn bounded<T>(
        &self,
        timeout: Duration,
        work: impl std::future::Future<Output = Result<T, StepError>>,
    ) -> Result<Result<T, StepError>, RunOutcome> {
        let interrupted = async {
            match self.options.interrupt.clone() {
                Some(mut rx) => {
                    while !*rx.borrow_and_update() {
                        if rx.changed().await.is_err() {
                            std::future::pending::<()>().await;
                        }
                    }
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            result = tokio::time::timeout(timeout, work) => Ok(result.unwrap_or_else(|_| Err(StepError::Failed(format!("timed out after {}", humantime::format_duration(timeout)))))),
            () = interrupted => Err(RunOutcome::Interrupted { reason: "interrupted (Ctrl-C, SIGTERM or a cancelled call) during a step".into() }),
        }
    }

    /// Performs the step's action once, with its fallback on failure.
    async fn execute(
        &self,
        req: &RunRequest,
        state: &RunState,
        step: &Step,
    ) -> Result<(StepOutcome, Value), StepError> {
        match self.action(req, state, step, &step.action).await {
            Ok(value) => Ok((StepOutcome::Succeeded, value)),
            Err(failure) => {
                let Some(fallback) = &step.fallback else {
                    return Err(failure.error);
                };
                let code_matches = fallback.on_errors.is_empty()
                    || failure
                        .code
                        .as_ref()
                        .is_some_and(|c| fallback.on_errors.contains(c));
                if !code_matches || matches!(failure.error, StepError::Refused(_)) {
                    return Err(failure.error);
                }
                self.action(req, state, step, &fallback.action)
                    .await
                    .map(|v| (StepOutcome::FellBack, v))
                    .map_err(|f| f.error)
            }
        }
    }

    async fn action(
        &self,
        req: &RunRequest,
        state: &RunState,
        step: &Step,
        action: &Action,
    ) -> Result<Value, ActionFailure> {
        let scope = &state.scope;
        let resolve = |t: &serde_json::Value| {
            scope
                .resolve(t)
                .map_err(|e| ActionFailure::plain(e.to_string()))
        };
        match action {
            Action::RunCommand {
                command,
                shell,
                env,
                cwd,
                aws,
            } => {
                let how = CommandHow {
                    shell: *shell,
                    aws: *aws,
                    env,
                    cwd: cwd.as_deref(),
                };
                self.run_command(req, state, command, how).await
            }
            Action::AwsApi {
                service,
                method,
                params,
                region,
            } => {
                let call = AwsCall {
                    service: service.clone(),
                    operation: method.clone(),
                    params: resolve(params)?,
                    region: region.clone(),
                };
                self.aws(req, state, &call).await
            }
            Action::WaitFor {
                service,
                method,
                params,
                until,
                interval,
            } => {
                let call = AwsCall {
                    service: service.clone(),
                    operation: method.clone(),
                    params: resolve(params)?,
                    region: None,
                };
                loop {
                    let result = self.aws(req, state, &call).await?;
                    if condition::holds(until, scope, Some(&result))
                        .map_err(|e| ActionFailure::plain(e.to_string()))?
                    {
                        return Ok(result);
                    }
                    tokio::time::sleep(interval.unwrap_or(self.options.wait_interval)).await;
                }
            }
            Action::McpCall {
                server,
                tool,
                arguments,
            } => {
                let arguments = resolve(arguments)?;
                self.mcp(req, state.trace, server, tool, arguments).await
            }
            Action::Approval { message, approvers } => {
                let message = resolve(&serde_json::Value::String(message.clone()))?
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                match self
                    .approve(req, Some(&step.name), message, Vec::new(), approvers)
                    .await
                {
                    Ok(approver) => Ok(Value::Map(
                        [("approver".to_owned(), Value::String(approver))]
                            .into_iter()
                            .collect(),
                    )),
                    Err(outcome) => Err(ActionFailure {
                        error: StepError::Refused(format!(
                            "{:?}",
                            outcome.reason().unwrap_or_default()
                        )),
                        code: None,
                    }),
                }
            }
            Action::Prompt { message, param } => match scope.params.get(param) {
                Some(value) => Ok(value.clone()),
                None => match self
                    .ports
                    .prompter
                    .prompt(message, req.sensitive.contains(param))
                    .await
                {
                    Some(answer) => Ok(Value::String(answer)),
                    None => Err(ActionFailure::plain(format!(
                        "`{param}` is needed and nobody can be asked: pass --param {param}=VALUE"
                    ))),
                },
            },
            Action::Assert { that, message } => match condition::holds(that, scope, None) {
                Ok(true) => Ok(Value::Bool(true)),
                Ok(false) => Err(ActionFailure::plain(
                    message
                        .clone()
                        .unwrap_or_else(|| format!("assertion failed: {that}")),
                )),
                Err(e) => Err(ActionFailure::plain(e.to_string())),
            },
        }
    }

    async fn run_command(
        &self,
        req: &RunRequest,
        state: &RunState,
        command: &CommandLine,
        how: CommandHow<'_>,
    ) -> Result<Value, ActionFailure> {
        let scope = &state.scope;
        let mut child_env = self.options.command_env.clone();
        let argv = if how.shell {
            shell_argv(command, scope, &mut child_env)?
        } else {
            exec_argv(command, scope)?
        };
        for (k, v) in how.env {
            // The manifest refuses these too; this holds for any source of steps.
            if plug_core::child_env::chooses_identity(k) {
                return Err(ActionFailure::plain(format!(
                    "`{k}` chooses the command's AWS identity; only plugctl sets it"
                )));
            }
            let value = scope
                .resolve_str(v)
                .map_err(|e| ActionFailure::plain(e.to_string()))?;
            child_env.insert(k.clone(), text_of(&value));
        }
        // What the command could print of its credentials is cut from its output.
        let mut session_secrets = Vec::new();
        if how.aws {
            let invoker = self.invoker(state).await.map_err(ActionFailure::aws)?;
            let session = invoker.child_env().await.map_err(ActionFailure::aws)?;
            session_secrets.extend(
                ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]
                    .iter()
                    .filter_map(|k| session.get(*k).cloned()),
            );
            child_env.extend(session);
        }
        let cwd = match how.cwd {
            Some(dir) => crate::template::inside(&req.workdir, dir)
                .map_err(|e| ActionFailure::plain(e.to_string()))?,
            None => req.workdir.clone(),
        };
        let spec = CommandSpec {
            argv,
            env: child_env,
            cwd,
            timeout: Duration::from_secs(24 * 3600),
            max_output: self.options.max_output,
        };
        let mut output = self
            .ports
            .commands
            .run(&spec)
            .await
            .map_err(|e| ActionFailure::plain(e.to_string()))?;
        if !session_secrets.is_empty() {
            // Read as text below anyway, so lossy decoding changes nothing.
            let scrub = |bytes: &[u8]| {
                let text = String::from_utf8_lossy(bytes);
                let scrubbed = (session_secrets.iter().filter(|s| !s.is_empty()))
                    .fold(text.into_owned(), |t, secret| {
                        t.replace(secret.as_str(), "***")
                    });
                scrubbed.into_bytes()
            };
            output.stdout = scrub(&output.stdout);
            output.stderr = scrub(&output.stderr);
        }
        let value = Value::Map(
            [
                (
                    "exit_code".to_owned(),
                    output
                        .exit_code
                        .map_or(Value::Null, |c| Value::from(serde_json::json!(c))),
                ),
                (
                    "stdout".to_owned(),
                    Value::String(String::from_utf8_lossy(&output.stdout).into_owned()),
                ),
                (
                    "stderr".to_owned(),
                    Value::String(String::from_utf8_lossy(&output.stderr).into_owned()),
                ),
            ]
            .into_iter()
            .collect(),
        );
        match output.exit_code {
            Some(0) => Ok(value),
            Some(code) => Err(ActionFailure::plain(format!(
                "`{}` exited with {code}: {}",
                spec.argv.join(" "),
                tail(&output.stderr, &output.stdout)
            ))),
            None => Err(ActionFailure::plain(format!(
                "`{}` was killed (timeout or signal)",
                spec.argv.join(" ")
            ))),
        }
    }

    async fn aws(
        &self,
        req: &RunRequest,
        state: &RunState,
        call: &AwsCall,
    ) -> Result<Value, ActionFailure> {
        let invoker = self.invoker(state).await.map_err(ActionFailure::aws)?;
        let started = Instant::now();
        let result = invoker.call(call).await;
        let (request_id, status, error_code) = match &result {
            Ok(r) => (r.request_id.clone(), Some(r.status), None),
            Err(AwsError::Service {
                request_id,
                status,
                code,
                ..
            }) => (request_id.clone(), Some(*status), Some(code.clone())),
            Err(_) => (None, None, None),
        };
        let undeclared =
            (req.undeclared_calls).contains(&(call.service.clone(), call.operation.clone()));
        self.record(
            req,
            EventKind::AwsApiCalled {
                service: call.service.clone(),
                operation: call.operation.clone(),
                request_id,
                status,
                duration_ms: millis(started.elapsed()),
                caller_arn: invoker.caller_arn(),
                error_code,
                undeclared,
            },
        );
        result.map(|r| r.output).map_err(ActionFailure::aws)
    }

    async fn invoker(&self, state: &RunState) -> Result<Arc<dyn AwsInvoker>, AwsError> {
        let mut cached = state.invoker.lock().await;
        if let Some(invoker) = cached.as_ref() {
            return Ok(invoker.clone());
        }
        let invoker = self
            .ports
            .aws
            .invoker(state.actor, &state.source_identity)
            .await?;
        *cached = Some(invoker.clone());
        Ok(invoker)
    }

    async fn mcp(
        &self,
        req: &RunRequest,
        trace: TraceContext,
        server: &str,
        tool: &str,
        arguments: Value,
    ) -> Result<Value, ActionFailure> {
        let call = ToolCall {
            server: server.to_owned(),
            tool: tool.to_owned(),
            arguments: arguments.to_json(),
            trace: Some(trace),
        };
        let started = Instant::now();
        let result = self.ports.tools.call_tool(&call).await;
        let outcome = match &result {
            Ok(r) if r.is_error => "error",
            Ok(_) => "ok",
            Err(_) => "unreachable",
        };
        let cached = result.as_ref().is_ok_and(|r| r.cached_age.is_some());
        self.record(
            req,
            EventKind::McpToolCalled {
                server: server.to_owned(),
                tool: tool.to_owned(),
                outcome: outcome.to_owned(),
                cached,
                duration_ms: millis(started.elapsed()),
            },
        );
        let result = result.map_err(|e| ActionFailure::plain(e.to_string()))?;
        let value = match &result.structured {
            Some(structured) => Value::from(structured.clone()),
            None => Value::Map(
                [(
                    "content".to_owned(),
                    Value::from(serde_json::Value::Array(result.content.clone())),
                )]
                .into_iter()
                .collect(),
            ),
        };
        if result.is_error {
            return Err(ActionFailure::plain(format!(
                "tool {server}/{tool} reported an error: {}",
                value.to_json()
            )));
        }
        Ok(value)
    }

    /// Dispatches a lifecycle event; a block or a critical failure ends the run.
    pub(super) async fn hook(
        &self,
        req: &RunRequest,
        state: &mut RunState,
        event: &str,
        step: Option<&Step>,
    ) -> Result<(), RunOutcome> {
        let input = HookInput {
            event: event.to_owned(),
            run_id: req.run_id.clone(),
            plugin: req.plugin.clone(),
            skill: req.skill.name.value.clone(),
            step: step.map(|s| s.name.clone()),
            action: step.map(|s| s.action.name().to_owned()),
            params: redacted_params(req),
            actor: state.actor,
            trace: Some(state.trace),
        };
        // A hook may echo what it was given or found: its words are redacted.
        let redaction = &state.redaction;
        match self.ports.hooks.dispatch(&input).await {
            Ok(HookDecision::Continue { messages, .. }) => {
                let messages = messages.into_iter().map(|m| redaction.text(m));
                state.messages.extend(messages.collect::<Vec<_>>());
                Ok(())
            }
            Ok(HookDecision::Block { reasons }) => Err(RunOutcome::Blocked {
                reasons: reasons.into_iter().map(|r| redaction.text(r)).collect(),
            }),
            Err(e) => Err(RunOutcome::Blocked {
                reasons: vec![redaction.text(e.to_string())],
            }),
        }
    }

    async fn journal_finish(
        &self,
        journal: &mut dyn RunLog,
        (index, step): (usize, &Step),
        outcome: StepOutcome,
        value: &Value,
        redaction: &Redaction,
    ) -> Result<(), RunOutcome> {
        let result = StepResult {
            name: step.name.clone(),
            result: value.clone(),
            outputs: Default::default(),
        };
        self.journal_finish_result(journal, (index, step), outcome, &result, None, redaction)
            .await
    }

    /// Journals a step's end, secrets redacted from what it returned: a
    /// command's output or an MCP result may quote a sensitive param. (A
    /// resumed run reads the redacted values back.)
    async fn journal_finish_result(
        &self,
        journal: &mut dyn RunLog,
        (index, step): (usize, &Step),
        outcome: StepOutcome,
        result: &StepResult,
        error: Option<String>,
        redaction: &Redaction,
    ) -> Result<(), RunOutcome> {
        let outputs = result
            .outputs
            .iter()
            .map(|(k, v)| (k.clone(), redaction.json(to_tagged(v))))
            .collect();
        // A step whose end is not journaled would run again on resume: the
        // run stops rather than go on without its record.
        journal
            .append(&Entry::StepFinished {
                index,
                name: step.name.clone(),
                outcome,
                result: redaction.json(to_tagged(&result.result)),
                outputs,
                error,
            })
            .await
            .map_err(RunOutcome::journal_failed)
    }
}

/// A failed action with the AWS error code, when there is one, for `fallback.on_errors`.
struct ActionFailure {
    error: StepError,
    code: Option<String>,
}

impl ActionFailure {
    fn plain(message: String) -> Self {
        ActionFailure {
            error: StepError::Failed(message),
            code: None,
        }
    }

    fn aws(error: AwsError) -> Self {
        let code = match &error {
            AwsError::Service { code, .. } => Some(code.clone()),
            _ => None,
        };
        ActionFailure {
            error: StepError::Failed(error.to_string()),
            code,
        }
    }
}

impl From<ActionFailure> for StepError {
    fn from(f: ActionFailure) -> Self {
        f.error
    }
}

/// Exec form: the line is split into words first, then each word is resolved,
/// so a param always lands as whole argv elements and never as shell syntax.
fn exec_argv(
    command: &CommandLine,
    scope: &crate::template::Scope,
) -> Result<Vec<String>, ActionFailure> {
    let words = match command {
        CommandLine::Line(line) => shell_words::split(line)
            .map_err(|e| ActionFailure::plain(format!("cannot split `{line}`: {e}")))?,
        CommandLine::Argv(argv) => argv.clone(),
    };
    words
        .iter()
        .map(|w| {
            scope
                .resolve_str(w)
                .map(|v| text_of(&v))
                .map_err(|e| ActionFailure::plain(e.to_string()))
        })
        .collect()
}

/// Shell form (`shell: true`): each placeholder becomes a reference to an
/// environment variable holding its value, written for the quoting it sits
/// in (`"${PLUGCTL_ARG_n}"` outside quotes, `${PLUGCTL_ARG_n}` inside double
/// quotes), so the shell never parses a param and never splits one. A list
/// `command` is quoted word by word. Placeholders inside single quotes or
/// after a backslash are refused (`validate` reports them too).
fn shell_argv(
    command: &CommandLine,
    scope: &crate::template::Scope,
    env: &mut std::collections::BTreeMap<String, String>,
) -> Result<Vec<String>, ActionFailure> {
    let mut vars = ShellVars {
        scope,
        env,
        count: 0,
    };
    let script = match command {
        CommandLine::Line(line) => vars.line(line)?,
        CommandLine::Argv(argv) => (argv.iter().map(|word| vars.word(word)))
            .collect::<Result<Vec<_>, _>>()?
            .join(" "),
    };
    Ok(vec!["sh".into(), "-c".into(), script])
}

/// The values a shell script refers to, as they are given names.
struct ShellVars<'a> {
    scope: &'a crate::template::Scope,
    env: &'a mut std::collections::BTreeMap<String, String>,
    count: usize,
}

impl ShellVars<'_> {
    /// Puts the value of placeholder `inner` in a new variable; its name.
    fn bind(&mut self, inner: &str) -> Result<String, ActionFailure> {
        let value = (self.scope.lookup(inner)).map_err(|e| ActionFailure::plain(e.to_string()))?;
        let var = format!("PLUGCTL_ARG_{}", self.count);
        self.count += 1;
        self.env.insert(var.clone(), text_of(&value));
        Ok(var)
    }

    /// A script line, each placeholder written for its quoting.
    fn line(&mut self, line: &str) -> Result<String, ActionFailure> {
        let mut script = String::with_capacity(line.len());
        let mut last = 0;
        for (range, inner, context) in plug_manifest::placeholder::shell::placeholders(line) {
            if !context.is_usable() {
                return Err(ActionFailure::plain(format!(
                    "`<{inner}>` sits inside single quotes or after a backslash, where the shell cannot take its value as data"
                )));
            }
            let var = self.bind(inner)?;
            script.push_str(&line[last..range.start]);
            script.push_str(&context.expansion(&var));
            last = range.end;
        }
        script.push_str(&line[last..]);
        Ok(script)
    }

    /// One argument of a list `command`, as one shell word.
    fn word(&mut self, word: &str) -> Result<String, ActionFailure> {
        let mut quoted = String::new();
        let mut last = 0;
        for (range, inner) in plug_manifest::placeholder::scan(word) {
            if range.start > last {
                quoted.push_str(&shell_words::quote(&word[last..range.start]));
            }
            let var = self.bind(inner)?;
            quoted.push_str(&format!("\"${{{var}}}\""));
            last = range.end;
        }
        if last < word.len() || quoted.is_empty() {
            quoted.push_str(&shell_words::quote(&word[last..]));
        }
        Ok(quoted)
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_json().to_string(),
    }
}

/// The last line or so of a failed command's output, for the error message.
fn tail(stderr: &[u8], stdout: &[u8]) -> String {
    let text = if stderr.iter().any(|b| !b.is_ascii_whitespace()) {
        stderr
    } else {
        stdout
    };
    let text = String::from_utf8_lossy(text);
    let lines: Vec<&str> = text.trim_end().lines().collect();
    lines[lines.len().saturating_sub(5)..].join("\n")
}

/// Applies the step's `outputs:` selectors (RFC 9535 JSONPath) to its result.
fn select_outputs(
    step: &Step,
    value: &Value,
) -> Result<std::collections::BTreeMap<String, Value>, String> {
    let json = value.to_json();
    let mut out = std::collections::BTreeMap::new();
    for (name, selector) in &step.outputs {
        let path = serde_json_path::JsonPath::parse(selector)
            .map_err(|e| format!("output `{name}`: bad selector `{selector}`: {e}"))?;
        let found = path.query(&json).all();
        let selected = match found.as_slice() {
            [] => Value::Null,
            [one] => Value::from((*one).clone()),
            many => Value::List(many.iter().map(|v| Value::from((*v).clone())).collect()),
        };
        out.insert(name.clone(), selected);
    }
    Ok(out)
}

/// How a `run_command` step runs its command.
struct CommandHow<'a> {
    /// Through `sh -c`.
    shell: bool,
    /// With the run's AWS session in its environment.
    aws: bool,
    /// The step's own variables (placeholders unresolved).
    env: &'a std::collections::BTreeMap<String, String>,
    /// Working directory, relative to the run's.
    cwd: Option<&'a str>,
}
