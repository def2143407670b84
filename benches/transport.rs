//! Transport benchmark: streamable HTTP throughput and latency, stdio cold start, and memory.
//!
//! Run with `cargo bench --bench transport`; `BENCHMARKS.md` explains the figures. Cargo
//! builds the `consilium` binary with the bench profile (release settings) and hands its
//! path over in `CARGO_BIN_EXE_consilium`, so the server measured is the real binary,
//! started as a separate process exactly as a user would start it.
//!
//! The client runs on the same machine as the server and competes with it for the CPU:
//! the HTTP figures are what this machine does with both ends, not the server alone. To
//! show where the time goes, the same load is also driven by lighter clients and the CPU
//! time of each process is reported per call.
//!
//! `CONSILIUM_BENCH_QUICK=1` shortens every phase (for checking that the bench works);
//! `CONSILIUM_BENCH_BIN=PATH` measures another build of the binary.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt};
use tokio::sync::Barrier;

/// The binary under test: the one cargo built, unless `CONSILIUM_BENCH_BIN` names another
/// (to compare two builds with the same bench).
fn binary() -> std::ffi::OsString {
    std::env::var_os("CONSILIUM_BENCH_BIN")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_consilium").into())
}

/// The trivial, deterministic tool every HTTP call runs.
const TOOL: &str = "server_status";
/// The protocol version the hand-written clients (stdio, raw HTTP) ask for.
const PROTOCOL: &str = "2025-11-25";

/// No measured load runs longer than this: a session stops early once it has passed, so a
/// client stuck on 40 ms stalls cannot make the bench take minutes.
const TIME_CAP: Duration = Duration::from_secs(10);

/// Targets from the issue.
const TARGET_COLD_START_MS: f64 = 30.0;
const TARGET_P99_MS_AT_32: f64 = 2.0;
const TARGET_IDLE_RSS_MIB: f64 = 30.0;

/// One measured HTTP load: how many sessions, and how many calls each makes.
#[derive(Clone, Copy)]
struct Load {
    sessions: usize,
    warmup_per_session: usize,
    calls_per_session: usize,
    /// Time between the starts of a session's calls; `None` is a closed loop (each session
    /// calls again as soon as its previous call returns).
    pace: Option<Duration>,
}

impl Load {
    fn closed(sessions: usize, warmup: usize, calls: usize) -> Self {
        Self {
            sessions,
            warmup_per_session: warmup,
            calls_per_session: calls,
            pace: None,
        }
    }

    fn scaled(mut self, quick: bool) -> Self {
        if quick {
            self.warmup_per_session = (self.warmup_per_session / 10).max(1);
            self.calls_per_session = (self.calls_per_session / 10).max(1);
        }
        self
    }
}

/// Which client drives the load.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientKind {
    /// rmcp's streamable HTTP client as shipped: its default reqwest client keeps no idle
    /// connections, so every POST opens a new TCP connection.
    Rmcp,
    /// rmcp's client over a reqwest client that keeps connections alive.
    RmcpPooled,
    /// A hand-written JSON-RPC-over-POST loop on one keep-alive connection per session: the
    /// least a client can do, to show the server's own cost.
    Raw,
}

impl ClientKind {
    fn label(self) -> &'static str {
        match self {
            Self::Rmcp => "rmcp client (default)",
            Self::RmcpPooled => "rmcp client, keep-alive",
            Self::Raw => "raw reqwest POST loop",
        }
    }
}

fn main() -> anyhow::Result<()> {
    let quick = std::env::var_os("CONSILIUM_BENCH_QUICK").is_some();
    let work = tempfile::tempdir().context("creating a scratch folder")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;

    println!("consilium transport benchmark");
    println!(
        "machine: {} cores, {}; client and server share it",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model()
    );
    if quick {
        println!("QUICK MODE: shortened runs, figures are indicative only");
    }

    // 1 and 3: streamable HTTP load and memory.
    let http = runtime.block_on(http_phase(work.path(), quick))?;

    // 2: cold start over stdio.
    let cold = cold_start_phase(work.path(), if quick { 5 } else { 30 })?;

    print_report(&http, &cold);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The server process
// ---------------------------------------------------------------------------------------

/// A command for the binary with every `CONSILIUM_*` variable of the caller removed, so the
/// server runs its defaults whatever the environment of the person running the bench.
fn consilium(db: &Path) -> Command {
    let mut command = Command::new(binary());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("CONSILIUM_") {
            command.env_remove(name);
        }
    }
    command.arg("--db").arg(db);
    command
}

struct HttpServer {
    child: Child,
    url: String,
    /// Lines the server wrote to stderr after its "listening" line.
    log_lines: Arc<AtomicU64>,
}

impl HttpServer {
    fn start(db: &Path) -> anyhow::Result<Self> {
        // Transport alone: what authentication and metering add is `benches/access.rs`'s.
        let mut child = consilium(db)
            .args(["serve", "--http", "127.0.0.1:0", "--insecure-no-auth"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting consilium serve --http")?;
        let stderr = child.stderr.take().context("no stderr pipe")?;
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let log_lines = Arc::new(AtomicU64::new(0));
        let counter = log_lines.clone();
        // Reads stderr for the whole life of the server so that it never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let url = line
                    .strip_prefix("consilium listening on ")
                    .and_then(|rest| rest.split_whitespace().next());
                match (url, tx.take()) {
                    (Some(url), Some(sender)) => {
                        let _ = sender.send(url.to_string());
                    }
                    (_, sender) => {
                        tx = sender;
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(url) => url,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("the server never said where it listens ({e})");
            }
        };
        ensure!(
            url.starts_with("http://127.0.0.1:") && url.ends_with("/mcp"),
            "unexpected listening line: {url}"
        );
        Ok(Self {
            child,
            url,
            log_lines,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------
// /proc readings (Linux)
// ---------------------------------------------------------------------------------------

/// A `kB` field of `/proc/PID/status`, e.g. `VmRSS` or `VmHWM`, in MiB.
fn status_mib(pid: u32, field: &str) -> anyhow::Result<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .context("reading /proc/PID/status (Linux only)")?;
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .with_context(|| format!("no {field} in /proc/{pid}/status"))?;
    let kib: f64 = line
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .with_context(|| format!("{field} is not a number: {line}"))?;
    Ok(kib / 1024.0)
}

/// User plus system CPU time of a process so far.
fn cpu_time(pid: &str) -> anyhow::Result<Duration> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = text
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("malformed /proc/PID/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let ticks: u64 = fields
        .get(11..13)
        .context("short /proc/PID/stat")?
        .iter()
        .map(|f| f.parse::<u64>().unwrap_or(0))
        .sum();
    Ok(Duration::from_secs_f64(
        ticks as f64 / clock_ticks_per_second(),
    ))
}

fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

// ---------------------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------------------

enum Session {
    Rmcp(RunningService<RoleClient, ()>),
    Raw(RawSession),
}

impl Session {
    async fn connect(kind: ClientKind, url: &str) -> anyhow::Result<Self> {
        Ok(match kind {
            ClientKind::Rmcp => {
                let transport = StreamableHttpClientTransport::from_uri(url);
                Self::Rmcp(().serve(transport).await?)
            }
            ClientKind::RmcpPooled => {
                let transport = StreamableHttpClientTransport::with_client(
                    reqwest::Client::new(),
                    StreamableHttpClientTransportConfig::with_uri(url),
                );
                Self::Rmcp(().serve(transport).await?)
            }
            ClientKind::Raw => Self::Raw(RawSession::connect(url).await?),
        })
    }

    async fn call(&self) -> anyhow::Result<()> {
        match self {
            Self::Rmcp(client) => {
                let result = client.call_tool(CallToolRequestParams::new(TOOL)).await?;
                ensure!(result.is_error != Some(true), "{TOOL} failed: {result:?}");
                Ok(())
            }
            Self::Raw(session) => session.call().await,
        }
    }

    async fn close(self) {
        match self {
            Self::Rmcp(client) => {
                let _ = client.cancel().await;
            }
            Self::Raw(session) => session.close().await,
        }
    }
}

/// JSON-RPC over HTTP POST by hand, on one keep-alive connection.
struct RawSession {
    http: reqwest::Client,
    url: String,
    session_id: String,
    next_id: AtomicU64,
}

impl RawSession {
    async fn connect(url: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::new();
        let initialize = serde_json::json!({
            "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {
                "protocolVersion": PROTOCOL,
                "capabilities": {},
                "clientInfo": { "name": "consilium-bench", "version": "0" }
            }
        });
        let response = http
            .post(url)
            .header("accept", "application/json, text/event-stream")
            .json(&initialize)
            .send()
            .await?;
        ensure!(
            response.status().is_success(),
            "initialize: HTTP {}",
            response.status()
        );
        let session_id = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .context("initialize: no mcp-session-id header")?
            .to_string();
        let body = response.text().await?;
        find_response(&body, 0).context("initialize: no result")?;
        let session = Self {
            http,
            url: url.to_string(),
            session_id,
            next_id: AtomicU64::new(1),
        };
        let initialized =
            serde_json::json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
        let status = session.post(&initialized).await?.status();
        ensure!(
            status.is_success(),
            "notifications/initialized: HTTP {status}"
        );
        Ok(session)
    }

    async fn post(&self, body: &serde_json::Value) -> anyhow::Result<reqwest::Response> {
        Ok(self
            .http
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-session-id", &self.session_id)
            .header("mcp-protocol-version", PROTOCOL)
            .json(body)
            .send()
            .await?)
    }

    async fn call(&self) -> anyhow::Result<()> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let request = serde_json::json!({
            "jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": { "name": TOOL, "arguments": {} }
        });
        let response = self.post(&request).await?;
        ensure!(
            response.status().is_success(),
            "tools/call: HTTP {}",
            response.status()
        );
        let body = response.text().await?;
        let result = find_response(&body, id).context("tools/call: no response")?;
        ensure!(
            result.get("isError") != Some(&serde_json::Value::Bool(true)),
            "{TOOL} failed: {result}"
        );
        Ok(())
    }

    async fn close(self) {
        let _ = self
            .http
            .delete(&self.url)
            .header("mcp-session-id", &self.session_id)
            .header("mcp-protocol-version", PROTOCOL)
            .send()
            .await;
    }
}

/// The `result` of the JSON-RPC response with this id, in a JSON or SSE body.
fn find_response(body: &str, id: u64) -> Option<serde_json::Value> {
    let candidates = std::iter::once(body).chain(
        body.lines()
            .filter_map(|line| line.strip_prefix("data:"))
            .map(str::trim),
    );
    candidates
        .filter_map(|text| serde_json::from_str::<serde_json::Value>(text).ok())
        .find(|message| message.get("id").and_then(serde_json::Value::as_u64) == Some(id))
        .and_then(|mut message| message.get_mut("result").map(serde_json::Value::take))
}

// ---------------------------------------------------------------------------------------
// Phase 1 and 3: HTTP load and memory
// ---------------------------------------------------------------------------------------

struct LoadResult {
    kind: ClientKind,
    load: Load,
    wall: Duration,
    /// Every measured call's latency, sorted.
    latencies: Vec<Duration>,
    server_cpu: Duration,
    client_cpu: Duration,
    log_lines: u64,
}

impl LoadResult {
    fn calls(&self) -> usize {
        self.latencies.len()
    }

    fn capped(&self) -> bool {
        self.calls() < self.load.sessions * self.load.calls_per_session
    }

    fn calls_per_second(&self) -> f64 {
        self.calls() as f64 / self.wall.as_secs_f64()
    }

    fn percentile_ms(&self, p: f64) -> f64 {
        percentile(&self.latencies, p)
    }

    fn per_call_us(&self, cpu: Duration) -> f64 {
        cpu.as_secs_f64() * 1e6 / self.calls() as f64
    }
}

struct HttpFigures {
    idle_rss_mib: f64,
    idle_hwm_mib: f64,
    peak_after_32_mib: f64,
    rss_after_32_mib: f64,
    main: Vec<LoadResult>,
    paced: Vec<LoadResult>,
    comparison: Vec<LoadResult>,
}

async fn http_phase(work: &Path, quick: bool) -> anyhow::Result<HttpFigures> {
    let server = HttpServer::start(&work.join("http.db"))?;
    // Let start-up settle before reading the idle footprint.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss_mib = status_mib(server.pid(), "VmRSS")?;
    let idle_hwm_mib = status_mib(server.pid(), "VmHWM")?;
    eprintln!(
        "server up at {} (idle RSS {idle_rss_mib:.1} MiB)",
        server.url
    );

    // The measurement: rmcp's own client at 1, 8 and 32 sessions, closed loop.
    let mut main = Vec::new();
    for load in [
        Load::closed(1, 200, 2_000),
        Load::closed(8, 50, 1_000),
        Load::closed(32, 20, 500),
    ] {
        main.push(run_load(&server, ClientKind::Rmcp, load.scaled(quick)).await?);
    }
    let peak_after_32_mib = status_mib(server.pid(), "VmHWM")?;
    let rss_after_32_mib = status_mib(server.pid(), "VmRSS")?;

    // 32 sessions that each call every 20 ms (1,600 calls/s in all): latency when the
    // machine is not saturated, as opposed to the closed loop's latency under saturation.
    let mut paced = Vec::new();
    for kind in [ClientKind::Rmcp, ClientKind::RmcpPooled, ClientKind::Raw] {
        let load = Load {
            pace: Some(Duration::from_millis(20)),
            ..Load::closed(32, 5, 150)
        };
        paced.push(run_load(&server, kind, load.scaled(quick)).await?);
    }

    // Where the time goes: the same closed loops with lighter clients.
    let mut comparison = Vec::new();
    for kind in [ClientKind::RmcpPooled, ClientKind::Raw] {
        for load in [
            Load::closed(1, 200, 2_000),
            Load::closed(8, 50, 1_000),
            Load::closed(32, 20, 500),
        ] {
            comparison.push(run_load(&server, kind, load.scaled(quick)).await?);
        }
    }

    Ok(HttpFigures {
        idle_rss_mib,
        idle_hwm_mib,
        peak_after_32_mib,
        rss_after_32_mib,
        main,
        paced,
        comparison,
    })
}

async fn run_load(server: &HttpServer, kind: ClientKind, load: Load) -> anyhow::Result<LoadResult> {
    let barrier = Arc::new(Barrier::new(load.sessions + 1));
    let mut tasks = Vec::with_capacity(load.sessions);
    for index in 0..load.sessions {
        let url = server.url.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            let session = Session::connect(kind, &url).await;
            // Everyone reaches the barrier, even a failed session, or the others wait forever.
            let session = match session {
                Ok(session) => {
                    let mut warmed = Ok(());
                    for _ in 0..load.warmup_per_session {
                        warmed = session.call().await;
                        if warmed.is_err() {
                            break;
                        }
                    }
                    warmed.map(|()| session)
                }
                Err(e) => Err(e),
            };
            barrier.wait().await;
            let began = Instant::now();
            let session = session?;
            let mut latencies = Vec::with_capacity(load.calls_per_session);
            // Paced sessions are spread evenly over the period instead of calling in bursts.
            let mut ticker = load.pace.map(|pace| {
                let offset = pace.mul_f64(index as f64 / load.sessions as f64);
                let mut ticker =
                    tokio::time::interval_at(tokio::time::Instant::now() + offset, pace);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                ticker
            });
            for _ in 0..load.calls_per_session {
                if began.elapsed() > TIME_CAP {
                    break;
                }
                if let Some(ticker) = ticker.as_mut() {
                    ticker.tick().await;
                }
                let start = Instant::now();
                session.call().await?;
                latencies.push(start.elapsed());
            }
            anyhow::Ok((session, latencies))
        }));
    }
    barrier.wait().await;
    let server_pid = server.pid().to_string();
    let server_cpu_0 = cpu_time(&server_pid)?;
    let client_cpu_0 = cpu_time("self")?;
    let logs_0 = server.log_lines.load(Ordering::Relaxed);
    let start = Instant::now();
    let mut finished = Vec::with_capacity(tasks.len());
    for task in tasks {
        finished.push(task.await?);
    }
    let wall = start.elapsed();
    let server_cpu = cpu_time(&server_pid)?.saturating_sub(server_cpu_0);
    let client_cpu = cpu_time("self")?.saturating_sub(client_cpu_0);
    let log_lines = server.log_lines.load(Ordering::Relaxed) - logs_0;
    let mut latencies = Vec::with_capacity(load.sessions * load.calls_per_session);
    let mut sessions = Vec::with_capacity(load.sessions);
    let mut first_error = None;
    for outcome in finished {
        match outcome {
            Ok((session, mut measured)) => {
                latencies.append(&mut measured);
                sessions.push(session);
            }
            Err(e) => first_error = first_error.or(Some(e)),
        }
    }
    for session in sessions {
        session.close().await;
    }
    if let Some(e) = first_error {
        return Err(e.context(format!("{} at {} sessions", kind.label(), load.sessions)));
    }
    latencies.sort_unstable();
    let result = LoadResult {
        kind,
        load,
        wall,
        latencies,
        server_cpu,
        client_cpu,
        log_lines,
    };
    eprintln!(
        "{:<26} {:>2} sessions{}: {:>7.0} calls/s, p50 {:.3} ms, p99 {:.3} ms",
        kind.label(),
        load.sessions,
        if load.pace.is_some() { " (paced)" } else { "" },
        result.calls_per_second(),
        result.percentile_ms(50.0),
        result.percentile_ms(99.0),
    );
    Ok(result)
}

/// Nearest-rank percentile of sorted durations, in milliseconds.
fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1e3
}

// ---------------------------------------------------------------------------------------
// Phase 2: cold start over stdio
// ---------------------------------------------------------------------------------------

struct ColdStart {
    runs: usize,
    /// Sorted spawn-to-`initialize`-response times, by case.
    cases: Vec<(&'static str, Vec<Duration>)>,
}

fn cold_start_phase(work: &Path, runs: usize) -> anyhow::Result<ColdStart> {
    let existing = work.join("existing.db");
    // Create and migrate it once, so that the "existing" runs open a ready database.
    initialize_over_stdio(&existing)?;
    let mut new_db = Vec::with_capacity(runs);
    let mut existing_db = Vec::with_capacity(runs);
    let mut version = Vec::with_capacity(runs);
    // Interleaved so that any drift in the machine's state affects every case alike.
    for run in 0..runs {
        let fresh = work.join(format!("fresh-{run}.db"));
        new_db.push(initialize_over_stdio(&fresh)?);
        existing_db.push(initialize_over_stdio(&existing)?);
        version.push(spawn_version()?);
    }
    let mut cases = vec![
        ("new database", new_db),
        ("existing database", existing_db),
        ("reference: `consilium --version`", version),
    ];
    for (_, times) in &mut cases {
        times.sort_unstable();
    }
    Ok(ColdStart { runs, cases })
}

/// Spawns `consilium --db DB serve`, writes `initialize`, and times the first stdout line.
fn initialize_over_stdio(db: &Path) -> anyhow::Result<Duration> {
    let request = format!(
        "{}\n",
        serde_json::json!({
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {
                "protocolVersion": PROTOCOL,
                "capabilities": {},
                "clientInfo": { "name": "consilium-bench", "version": "0" }
            }
        })
    );
    let start = Instant::now();
    let mut child = consilium(db)
        .arg("serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting consilium serve")?;
    let mut stdin = child.stdin.take().context("no stdin pipe")?;
    stdin.write_all(request.as_bytes())?;
    stdin.flush()?;
    let mut stdout = BufReader::new(child.stdout.take().context("no stdout pipe")?);
    let mut line = String::new();
    stdout.read_line(&mut line)?;
    let elapsed = start.elapsed();
    // Closing stdin ends the session; the server then flushes its store and exits.
    drop(stdin);
    let outcome = wait_or_kill(&mut child, Duration::from_secs(10));
    let response = find_response(&line, 1)
        .with_context(|| format!("no initialize response on stdout, got {line:?}"))?;
    ensure!(
        response.get("serverInfo").is_some(),
        "initialize answered without serverInfo: {response}"
    );
    outcome?;
    Ok(elapsed)
}

fn spawn_version() -> anyhow::Result<Duration> {
    let start = Instant::now();
    let output = consilium(Path::new("unused.db"))
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()?;
    let elapsed = start.elapsed();
    ensure!(output.status.success(), "consilium --version failed");
    Ok(elapsed)
}

fn wait_or_kill(child: &mut Child, limit: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            ensure!(status.success(), "the stdio server exited with {status}");
            return Ok(());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("the stdio server did not exit within {limit:?} of stdin closing");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

// ---------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------

fn verdict(pass: bool) -> &'static str {
    if pass { "PASS" } else { "MISS" }
}

fn print_load_table(title: &str, results: &[LoadResult]) {
    println!("\n{title}");
    println!(
        "| client | sessions | calls | calls/s | p50 ms | p90 ms | p99 ms | max ms | server CPU µs/call | client CPU µs/call |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in results {
        println!(
            "| {} | {}{} | {}{} | {:.0} | {:.3} | {:.3} | {:.3} | {:.3} | {:.0} | {:.0} |",
            r.kind.label(),
            r.load.sessions,
            r.load
                .pace
                .map(|p| format!(", one call / {} ms each", p.as_millis()))
                .unwrap_or_default(),
            r.calls(),
            if r.capped() { " (time cap)" } else { "" },
            r.calls_per_second(),
            r.percentile_ms(50.0),
            r.percentile_ms(90.0),
            r.percentile_ms(99.0),
            r.percentile_ms(100.0),
            r.per_call_us(r.server_cpu),
            r.per_call_us(r.client_cpu),
        );
    }
    let logged: u64 = results.iter().map(|r| r.log_lines).sum();
    println!("(server stderr lines written during these runs: {logged})");
    if results.iter().any(LoadResult::capped) {
        println!(
            "(time cap: sessions stop calling after {} s, so a row marked so made fewer calls)",
            TIME_CAP.as_secs()
        );
    }
}

fn print_report(http: &HttpFigures, cold: &ColdStart) {
    println!("\n## Streamable HTTP, tools/call {TOOL}, closed loop (the issue's measurement)");
    print_load_table(
        "Each session is an rmcp client that calls again as soon as its previous call returns.",
        &http.main,
    );
    print_load_table(
        "## 32 sessions, paced (not saturating the machine)",
        &http.paced,
    );
    print_load_table(
        "## Where the time goes: the same closed loops with lighter clients",
        &http.comparison,
    );

    println!(
        "\n## Cold start over stdio: spawn to initialize response ({} runs each)",
        cold.runs
    );
    println!("| case | median ms | p90 ms | min ms | max ms |");
    println!("|---|---:|---:|---:|---:|");
    for (case, times) in &cold.cases {
        println!(
            "| {case} | {:.1} | {:.1} | {:.1} | {:.1} |",
            percentile(times, 50.0),
            percentile(times, 90.0),
            percentile(times, 0.0),
            percentile(times, 100.0),
        );
    }

    println!("\n## Memory of the HTTP server");
    println!("| measure | MiB |");
    println!("|---|---:|");
    println!(
        "| idle RSS after start (VmRSS) | {:.1} |",
        http.idle_rss_mib
    );
    println!("| peak RSS at start (VmHWM) | {:.1} |", http.idle_hwm_mib);
    println!(
        "| peak RSS after the 32-session load (VmHWM) | {:.1} |",
        http.peak_after_32_mib
    );
    println!(
        "| RSS after the 32-session load (VmRSS) | {:.1} |",
        http.rss_after_32_mib
    );

    let cold_existing = cold
        .cases
        .iter()
        .find(|(case, _)| *case == "existing database")
        .map_or(f64::NAN, |(_, t)| percentile(t, 50.0));
    let cold_new = cold
        .cases
        .iter()
        .find(|(case, _)| *case == "new database")
        .map_or(f64::NAN, |(_, t)| percentile(t, 50.0));
    let p99_32 = http
        .main
        .iter()
        .find(|r| r.load.sessions == 32)
        .map_or(f64::NAN, |r| r.percentile_ms(99.0));
    let p99_32_paced = http
        .paced
        .iter()
        .find(|r| r.kind == ClientKind::Rmcp)
        .map_or(f64::NAN, |r| r.percentile_ms(99.0));

    println!("\n## Targets");
    println!("| target | figure | verdict |");
    println!("|---|---:|---|");
    let targets = [
        (
            "cold start < 30 ms (median, existing database)",
            format!("{cold_existing:.1} ms"),
            cold_existing < TARGET_COLD_START_MS,
        ),
        (
            "cold start < 30 ms (median, new database)",
            format!("{cold_new:.1} ms"),
            cold_new < TARGET_COLD_START_MS,
        ),
        (
            "p99 < 2 ms at 32 sessions (closed loop)",
            format!("{p99_32:.3} ms"),
            p99_32 < TARGET_P99_MS_AT_32,
        ),
        (
            "p99 < 2 ms at 32 sessions (paced, 1,600 calls/s)",
            format!("{p99_32_paced:.3} ms"),
            p99_32_paced < TARGET_P99_MS_AT_32,
        ),
        (
            "idle RSS < 30 MiB",
            format!("{:.1} MiB", http.idle_rss_mib),
            http.idle_rss_mib < TARGET_IDLE_RSS_MIB,
        ),
    ];
    for (target, figure, pass) in targets {
        println!("| {target} | {figure} | {} |", verdict(pass));
    }
}
