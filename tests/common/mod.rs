//! Shared helpers for the end-to-end tests: starting the real `consilium` binary (over stdio
//! or HTTP) with a fresh database, learning the HTTP port from its stderr, connecting rmcp's
//! client with a handler that records notifications, and bounding every wait.
//!
//! Every test file uses a different subset of these helpers.
#![allow(dead_code, deprecated)]

pub mod scenarios;
pub mod sse;

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::model::{
    CallToolRequestParams, CallToolResult, LoggingMessageNotificationParam,
    ProgressNotificationParam, ProgressToken, ResourceUpdatedNotificationParam,
};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::Value;
use tempfile::TempDir;

/// The longest any single step may take before the test fails instead of hanging.
pub const STEP: Duration = Duration::from_secs(10);

/// The path of the binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_consilium")
}

/// Runs `future`, failing the test if it takes longer than [`STEP`].
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    within_for(STEP, what, future).await
}

/// Runs `future`, failing the test if it takes longer than `limit`.
pub async fn within_for<F: Future>(limit: Duration, what: &str, future: F) -> F::Output {
    match tokio::time::timeout(limit, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what} did not finish within {limit:?}"),
    }
}

/// A `consilium` command on a database in `dir`, with no `CONSILIUM_*` variable inherited
/// from the environment running the tests.
pub fn consilium_command(db: &Path) -> Command {
    let mut command = Command::new(binary());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("CONSILIUM_") {
            command.env_remove(name);
        }
    }
    command.arg("--db").arg(db);
    command
}

/// Runs a one-shot CLI command to completion, failing the test if it hangs. Output is read
/// while the command runs, so a long listing cannot fill the pipe and stall it.
pub fn run_cli(db: &Path, args: &[&str]) -> Output {
    run_cli_within(db, args, STEP)
}

/// [`run_cli`] for a command allowed longer than one step, such as a data import.
pub fn run_cli_within(db: &Path, args: &[&str], limit: Duration) -> Output {
    let child = consilium_command(db)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the consilium binary starts");
    let pid = child.id();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match finished.recv_timeout(limit) {
        Ok(output) => output.expect("the output of the exited child"),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!(
                "`consilium {}` did not exit within {limit:?}",
                args.join(" ")
            );
        }
    }
}

/// A fresh temporary folder and the database path inside it.
pub fn fresh_db() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let db = dir.path().join("c.db");
    (dir, db)
}

// ---------------------------------------------------------------------------------------
// HTTP mode

/// A `consilium serve --http` child process, killed when dropped.
pub struct HttpServer {
    child: Child,
    pub addr: SocketAddr,
    pub dir: TempDir,
    pub db: PathBuf,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl HttpServer {
    /// Starts `consilium serve --http 127.0.0.1:0 --conformance-fixtures` on a fresh database
    /// (the binary must be built with the `conformance` feature).
    pub async fn start() -> Self {
        Self::start_with(&["--conformance-fixtures"]).await
    }

    /// Starts `consilium serve --http 127.0.0.1:0` without the fixtures.
    pub async fn start_plain() -> Self {
        Self::start_with(&[]).await
    }

    /// Starts `consilium serve --http 127.0.0.1:0` with extra `serve` arguments.
    pub async fn start_with(extra_args: &[&str]) -> Self {
        Self::start_with_env(extra_args, &[]).await
    }

    /// Starts `consilium serve --http 127.0.0.1:0 --insecure-no-auth` with extra `serve`
    /// arguments and `CONSILIUM_*` settings: transport tests act as the local owner without
    /// credentials, as a loopback-only development server allows.
    pub async fn start_with_env(extra_args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut args = vec!["--insecure-no-auth"];
        args.extend_from_slice(extra_args);
        Self::spawn(&args, env).await
    }

    /// Starts `consilium serve --http 127.0.0.1:0` with authentication required, as in
    /// production.
    pub async fn start_secured(extra_args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::spawn(extra_args, env).await
    }

    async fn spawn(extra_args: &[&str], env: &[(&str, &str)]) -> Self {
        let (dir, db) = fresh_db();
        Self::spawn_on(dir, db, extra_args, env).await
    }

    /// Starts the server on an existing database (prepared with the CLI beforehand).
    pub async fn spawn_on(
        dir: TempDir,
        db: PathBuf,
        extra_args: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        let mut command = consilium_command(&db);
        command
            .args(["serve", "--http", "127.0.0.1:0"])
            .args(extra_args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("the consilium binary starts");
        let stderr = child.stderr.take().expect("the child's stderr is piped");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (found_tx, found_rx) = tokio::sync::oneshot::channel::<SocketAddr>();
        let recorded = lines.clone();
        // Keeps draining stderr for the child's whole life so the server never blocks on a
        // full pipe; the lines are kept for failure messages.
        std::thread::spawn(move || {
            let mut found_tx = Some(found_tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = listening_address(&line)
                    && let Some(tx) = found_tx.take()
                {
                    let _ = tx.send(addr);
                }
                recorded
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(line);
            }
        });
        let addr = match tokio::time::timeout(STEP, found_rx).await {
            Ok(Ok(addr)) => addr,
            outcome => {
                let _ = child.kill();
                let status = child.wait();
                let text = lines.lock().unwrap_or_else(|p| p.into_inner()).join("\n");
                panic!(
                    "the server never said where it listens ({}); exit: {status:?}; stderr:\n{text}",
                    if outcome.is_err() {
                        "timed out"
                    } else {
                        "stderr closed"
                    }
                );
            }
        };
        Self {
            child,
            addr,
            dir,
            db,
            stderr: lines,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://127.0.0.1:PORT/mcp`
    pub fn mcp_url(&self) -> String {
        self.url("/mcp")
    }

    /// `http://127.0.0.1:PORT{path}`
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// What the server wrote to stderr so far.
    pub fn stderr_text(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .join("\n")
    }

    /// Sends SIGTERM (through `kill`, the tests have no libc).
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("`kill` runs");
        assert!(status.success(), "`kill -TERM` failed: {status}");
    }

    /// Waits for the child to exit, or returns `None` after `limit`.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("the child can be polled") {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// A connected rmcp client on a new streamable-HTTP session.
    pub async fn connect(&self) -> (Client, Recorder) {
        connect_http(&self.mcp_url()).await
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Parses `consilium listening on http://127.0.0.1:PORT/mcp (legacy SSE at /sse)`.
fn listening_address(line: &str) -> Option<SocketAddr> {
    let rest = line.split("consilium listening on http://").nth(1)?;
    let authority = rest.split("/mcp").next()?;
    authority.parse().ok()
}

// ---------------------------------------------------------------------------------------
// The MCP client

/// A running rmcp client whose handler records what the server sent it.
pub type Client = RunningService<RoleClient, Recorder>;

/// Notifications a client received, in arrival order.
#[derive(Default, Debug)]
pub struct Recorded {
    pub logs: Vec<LoggingMessageNotificationParam>,
    pub progress: Vec<ProgressNotificationParam>,
    pub updated: Vec<String>,
}

/// A [`ClientHandler`] that records log, progress and resource-updated notifications.
#[derive(Clone, Default)]
pub struct Recorder {
    inner: Arc<Mutex<Recorded>>,
}

impl Recorder {
    pub fn with<T>(&self, f: impl FnOnce(&mut Recorded) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn logs(&self) -> Vec<LoggingMessageNotificationParam> {
        self.with(|r| r.logs.clone())
    }

    /// Log notifications from the given logger.
    pub fn logs_from(&self, logger: &str) -> Vec<LoggingMessageNotificationParam> {
        self.with(|r| {
            r.logs
                .iter()
                .filter(|l| l.logger.as_deref() == Some(logger))
                .cloned()
                .collect()
        })
    }

    pub fn progress_for(&self, token: &ProgressToken) -> Vec<ProgressNotificationParam> {
        self.with(|r| {
            r.progress
                .iter()
                .filter(|p| &p.progress_token == token)
                .cloned()
                .collect()
        })
    }

    /// One value per progress notification received, in order.
    pub fn with_progress<T>(&self, f: impl Fn(&ProgressNotificationParam) -> T) -> Vec<T> {
        self.with(|r| r.progress.iter().map(f).collect())
    }

    pub fn updated(&self) -> Vec<String> {
        self.with(|r| r.updated.clone())
    }

    /// Waits until `condition` holds over what was recorded, failing the test after [`STEP`].
    pub async fn wait_until(&self, what: &str, condition: impl Fn(&Recorded) -> bool) {
        let deadline = Instant::now() + STEP;
        loop {
            if self.with(|r| condition(r)) {
                return;
            }
            if Instant::now() > deadline {
                let seen = self.with(|r| format!("{r:?}"));
                panic!("{what}: not seen within {STEP:?}; recorded: {seen}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl ClientHandler for Recorder {
    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.with(|r| r.progress.push(params));
    }

    async fn on_logging_message(
        &self,
        params: LoggingMessageNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.with(|r| r.logs.push(params));
    }

    async fn on_resource_updated(
        &self,
        params: ResourceUpdatedNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.with(|r| r.updated.push(params.uri));
    }
}

/// Starts `consilium serve --conformance-fixtures` over stdio on a fresh database and
/// connects rmcp's client to it. The child dies with the returned client.
pub async fn connect_stdio() -> (Client, Recorder, TempDir) {
    let (dir, db) = fresh_db();
    let mut command = tokio::process::Command::new(binary());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("CONSILIUM_") {
            command.env_remove(name);
        }
    }
    command
        .arg("--db")
        .arg(&db)
        .args(["serve", "--conformance-fixtures"])
        .kill_on_drop(true);
    let (transport, _) = TokioChildProcess::builder(command)
        .stderr(Stdio::null())
        .spawn()
        .expect("the consilium binary starts over stdio");
    let recorder = Recorder::default();
    let client = within("the stdio handshake", recorder.clone().serve(transport))
        .await
        .expect("the stdio handshake succeeds");
    (client, recorder, dir)
}

/// Connects rmcp's streamable-HTTP client to `url` as a new session.
pub async fn connect_http(url: &str) -> (Client, Recorder) {
    let transport = StreamableHttpClientTransport::from_uri(url.to_string());
    let recorder = Recorder::default();
    let client = within(
        "the streamable-HTTP handshake",
        recorder.clone().serve(transport),
    )
    .await
    .expect("the streamable-HTTP handshake succeeds");
    (client, recorder)
}

/// Connects rmcp's streamable-HTTP client to `url` with `Authorization: Bearer {token}`.
pub async fn connect_http_as(url: &str, token: &str) -> (Client, Recorder) {
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
    let config = StreamableHttpClientTransportConfig::with_uri(url.to_string()).auth_header(token);
    let transport = StreamableHttpClientTransport::from_config(config);
    let recorder = Recorder::default();
    let client = within(
        "the authenticated streamable-HTTP handshake",
        recorder.clone().serve(transport),
    )
    .await
    .expect("the authenticated streamable-HTTP handshake succeeds");
    (client, recorder)
}

/// Runs a one-shot CLI command with `input` on its standard input.
pub fn run_cli_with_input(db: &Path, args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = consilium_command(db)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the consilium binary starts");
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .expect("the child reads its input");
    }
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    finished
        .recv_timeout(STEP)
        .unwrap_or_else(|_| {
            panic!(
                "`consilium {}` did not exit within {STEP:?}",
                args.join(" ")
            )
        })
        .expect("the output of the exited child")
}

/// Calls a tool with JSON arguments, failing the test on a protocol error or a hang.
pub async fn call(client: &Client, tool: &str, arguments: Value) -> CallToolResult {
    let Value::Object(arguments) = arguments else {
        panic!("tool arguments must be a JSON object");
    };
    within(
        &format!("tools/call {tool}"),
        client.call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(arguments)),
    )
    .await
    .unwrap_or_else(|e| panic!("tools/call {tool} failed: {e}"))
}

/// Checks that a session still answers: `server_status` returns a non-error result.
pub async fn assert_still_serves(client: &Client, after: &str) {
    let result = within(
        &format!("server_status after {after}"),
        client.call_tool(CallToolRequestParams::new("server_status")),
    )
    .await
    .unwrap_or_else(|e| panic!("the live session stopped working after {after}: {e}"));
    assert_ne!(
        result.is_error,
        Some(true),
        "server_status failed on the live session after {after}: {result:?}"
    );
}

/// The result as JSON, for reading fields by their wire names.
pub fn json_of<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("an rmcp value serialises to JSON")
}

/// The JSON-RPC error code carried by a client error, if it is a protocol error.
pub fn mcp_error_code(error: &rmcp::ServiceError) -> Option<i32> {
    match error {
        rmcp::ServiceError::McpError(data) => Some(data.code.0),
        _ => None,
    }
}

/// Runs a one-shot CLI command that must succeed, and returns its standard output trimmed.
pub fn cli(db: &Path, args: &[&str]) -> String {
    let output = run_cli(db, args);
    assert!(
        output.status.success(),
        "`consilium {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Makes a user on `plan` with an API key holding `scopes` (comma-separated); returns the key.
pub fn user_with_key(db: &Path, email: &str, plan: &str, scopes: &str) -> String {
    cli(
        db,
        &["admin", "create-user", email, "--name", "T", "--plan", plan],
    );
    cli(
        db,
        &[
            "api-keys", "create", "--user", email, "--name", "t", "--scopes", scopes,
        ],
    )
}

/// Adds a shared provider key named `label` for `provider` at `base_url`, serving model
/// `{label}-model` for `features` (comma-separated), without testing it.
pub fn add_shared_key(db: &Path, label: &str, provider: &str, base_url: &str, features: &str) {
    let output = run_cli_with_input(
        db,
        &[
            "providers",
            "add",
            "--provider",
            provider,
            "--label",
            label,
            "--base-url",
            base_url,
            "--models",
            &format!("{label}-model"),
            "--features",
            features,
            "--skip-test",
        ],
        &format!("sk-{label}-0123456789abcdefSECRET\n"),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Calls a tool and returns whether it failed, its structured content and its first text.
pub async fn outcome(client: &Client, tool: &str, arguments: Value) -> (bool, Value, String) {
    let result = call(client, tool, arguments).await;
    let text = json_of(&result)["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    (
        result.is_error == Some(true),
        result.structured_content.unwrap_or(Value::Null),
        text,
    )
}

/// Calls a tool that must succeed and returns its structured content.
pub async fn succeeded(client: &Client, tool: &str, arguments: Value) -> Value {
    let (failed, value, _) = outcome(client, tool, arguments).await;
    assert!(!failed, "{tool}: {value}");
    value
}
