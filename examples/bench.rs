//! End-to-end benchmark (issue 8): a real Prometheus scraping N synthetic cAdvisor-like and
//! application series, the release adapter in Kubernetes mode against the fake API server, and
//! `wrk` as the load tool. Prints one Markdown table.
//!
//! Run: `scripts/bench.sh` (builds in release, installs Prometheus and wrk if needed).
//! Options (environment): `BENCH_SIZES=10000,100000,1000000` series, `BENCH_RUNS=3` (W1 runs
//! per size, medians reported), `BENCH_W2_SECONDS=10`, `BENCH_IDLE_SECONDS=60`.
//!
//! Workloads: W1 discovery (start → discovery document lists every expected metric; peak RSS;
//! CPU per relist, relists forced by SIGHUP; the same `/api/v1/series` calls made straight to
//! Prometheus as the limit), W2 serving (`pods/*` with a label selector over 50 and 1500 pods at
//! c=16 and c=64; the same PromQL straight to Prometheus as the limit), W3 idle (RSS and CPU
//! over 60 s).

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

/// Series per pod: 11 cAdvisor-like series (two containers) and 9 application series.
const SERIES_PER_POD: usize = 20;
/// What the default rules make of them, for pods (and namespaces).
const EXPECTED: [&str; 11] = [
    "cpu_usage",
    "network_receive_bytes",
    "network_transmit_bytes",
    "fs_reads",
    "memory_working_set_bytes",
    "memory_rss",
    "fs_usage_bytes",
    "spec_cpu_shares",
    "process_open_fds",
    "app_queue_depth",
    "http_requests",
];

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn main() {
    let sizes: Vec<usize> = env_or("BENCH_SIZES", "10000,100000,1000000")
        .split(',')
        .map(|s| s.trim().parse().expect("BENCH_SIZES: numbers"))
        .collect();
    let runs: usize = env_or("BENCH_RUNS", "3").parse().unwrap();
    let w2_seconds: u64 = env_or("BENCH_W2_SECONDS", "10").parse().unwrap();
    let idle_seconds: u64 = env_or("BENCH_IDLE_SECONDS", "60").parse().unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if let Ok(minutes) = std::env::var("BENCH_SOAK_MINUTES") {
        let minutes: u64 = minutes.parse().expect("BENCH_SOAK_MINUTES: a number");
        let rate: u64 = env_or("BENCH_SOAK_RATE", "500").parse().unwrap();
        let data = Dataset::start(sizes[0].max(1550 * SERIES_PER_POD));
        let report = runtime.block_on(soak(&data, minutes, rate));
        println!("{report}");
        let out = Path::new("target/bench");
        let _ = std::fs::create_dir_all(out);
        let _ = std::fs::write(out.join("soak.md"), &report);
        return;
    }
    let mut w1 = Vec::new();
    let mut w2 = Vec::new();
    let mut w3 = None;
    for &n in &sizes {
        eprintln!("==> {n} series");
        let data = Dataset::start(n);
        let mut results = Vec::new();
        for run in 0..runs {
            eprintln!("    W1 run {}", run + 1);
            results.push(runtime.block_on(discovery(&data)));
        }
        let limit: Vec<(f64, u64)> = (0..runs)
            .map(|_| runtime.block_on(series_calls_direct(&data)))
            .collect();
        w1.push(W1 {
            series: n,
            ready: median(results.iter().map(|r| r.ready).collect()),
            peak_rss: median(results.iter().map(|r| r.peak_rss as f64).collect()) as u64,
            relist_cpu: median(results.iter().map(|r| r.relist_cpu).collect()),
            relist_wall: median(results.iter().map(|r| r.relist_wall).collect()),
            direct: median(limit.iter().map(|l| l.0).collect()),
            direct_bytes: limit[0].1,
        });
        if w3.is_none() {
            eprintln!("    W3 idle {idle_seconds}s");
            w3 = Some(runtime.block_on(idle(&data, idle_seconds)));
        }
        if w2.is_empty() && data.pods >= 1550 {
            eprintln!("    W2 serving");
            w2 = runtime.block_on(serving(&data, w2_seconds));
        }
    }
    let table = render(&w1, &w2, w3.as_ref());
    println!("{table}");
    let out = Path::new("target/bench");
    let _ = std::fs::create_dir_all(out);
    let _ = std::fs::write(out.join("results.md"), &table);
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

// === The dataset ===

struct Dataset {
    prometheus: Prometheus,
    pods: usize,
    kubeconfig: PathBuf,
    rules: PathBuf,
    _dir: tempfile::TempDir,
}

fn pod_namespace(i: usize) -> String {
    match i {
        0..50 => "bench-50".into(),
        50..1550 => "bench-1500".into(),
        _ => format!("ns-{}", (i - 1550) / 100),
    }
}

fn pod_series(i: usize, out: &mut String) {
    let ns = pod_namespace(i);
    let pod = format!("pod-{i}");
    for container in ["app", "sidecar"] {
        let l = format!(
            r#"namespace="{ns}",pod="{pod}",container="{container}",image="registry/{container}:1""#
        );
        let _ = writeln!(out, "container_cpu_usage_seconds_total{{{l}}} {}", 1000 + i);
        let _ = writeln!(out, "container_memory_working_set_bytes{{{l}}} 104857600");
        let _ = writeln!(out, "container_memory_rss{{{l}}} 83886080");
        let _ = writeln!(out, "container_fs_usage_bytes{{{l}}} 4096");
        let _ = writeln!(out, "container_fs_reads_total{{{l}}} {}", 10 * i);
        let _ = writeln!(out, "container_spec_cpu_shares{{{l}}} 1024");
    }
    let l = format!(r#"namespace="{ns}",pod="{pod}",container="app",interface="eth0""#);
    let _ = writeln!(
        out,
        "container_network_receive_bytes_total{{{l}}} {}",
        5000 + i
    );
    let _ = writeln!(
        out,
        "container_network_transmit_bytes_total{{{l}}} {}",
        7000 + i
    );
    for method in ["GET", "POST"] {
        for code in ["200", "500"] {
            let _ = writeln!(
                out,
                r#"http_requests_total{{namespace="{ns}",pod="{pod}",method="{method}",code="{code}"}} {}"#,
                100 + i
            );
        }
    }
    for handler in ["/", "/api", "/health"] {
        let _ = writeln!(
            out,
            r#"http_request_duration_seconds_count{{namespace="{ns}",pod="{pod}",handler="{handler}"}} 1"#
        );
    }
    let _ = writeln!(
        out,
        r#"process_open_fds{{namespace="{ns}",pod="{pod}"}} 42"#
    );
    let _ = writeln!(out, r#"app_queue_depth{{namespace="{ns}",pod="{pod}"}} 3"#);
}

/// Serves a fixed exposition body.
fn serve_body(body: bytes::Bytes) -> SocketAddr {
    serve_in_background(axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let body = body.clone();
            async move { ([("content-type", "text/plain; version=0.0.4")], body) }
        }),
    ))
}

impl Dataset {
    fn start(series: usize) -> Dataset {
        let pods = series.div_ceil(SERIES_PER_POD);
        let per_target = 2_500; // pods, i.e. 50k series (about 7 MB) per scrape target
        let mut targets = Vec::new();
        let mut first = 0;
        while first < pods {
            let last = (first + per_target).min(pods);
            let mut body = String::with_capacity((last - first) * SERIES_PER_POD * 120);
            for i in first..last {
                pod_series(i, &mut body);
            }
            targets.push(serve_body(bytes::Bytes::from(body)));
            first = last;
        }
        let prometheus = Prometheus::start_with(free_port(), &targets, "15s");
        let expected = pods * SERIES_PER_POD;
        let started = Instant::now();
        prometheus.wait_for_query(&format!(
            "sum(scrape_samples_scraped{{job=\"demo\"}}) >= {expected}"
        ));
        // A second scrape, so rates have two samples.
        prometheus.wait_for_query(&format!(
            "min(count_over_time(up{{job=\"demo\"}}[1m])) >= 2 and sum(scrape_samples_scraped) >= {expected}"
        ));
        eprintln!(
            "    Prometheus has {expected} series from {} targets ({:.0}s)",
            targets.len(),
            started.elapsed().as_secs_f64()
        );
        let dir = tempfile::tempdir().unwrap();
        // The API server knows the pods W2 selects (app=web); the rest exist only in series.
        let objects: Vec<FakeObject> = (0..pods.min(1550))
            .map(|i| FakeObject {
                resource: "pods",
                namespace: Some(Box::leak(pod_namespace(i).into_boxed_str())),
                name: Box::leak(format!("pod-{i}").into_boxed_str()),
                labels: &[("app", "web")],
                phase: "",
            })
            .collect();
        let kubeconfig = start_fake_apiserver(objects, dir.path());
        let rules = dir.path().join("rules.yaml");
        std::fs::write(
            &rules,
            prometheus_adapter::config::generate_default("", "5m".parse().unwrap()),
        )
        .unwrap();
        Dataset {
            prometheus,
            pods,
            kubeconfig,
            rules,
            _dir: dir,
        }
    }
}

// === The adapter process ===

struct Running {
    child: Child,
    port: u16,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Running {
    fn start(data: &Dataset) -> (Running, Instant) {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let started = Instant::now();
        let child = Command::new(adapter_binary())
            .arg(format!("--config={}", data.rules.display()))
            .arg(format!("--prometheus-url={}", data.prometheus.url()))
            .arg(format!("--lister-kubeconfig={}", data.kubeconfig.display()))
            .arg(format!("--secure-port={port}"))
            .arg(format!("--cert-dir={}", dir.path().display()))
            .arg("--bind-address=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the adapter");
        let client = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .build()
            .unwrap();
        (
            Running {
                child,
                port,
                client,
                _dir: dir,
            },
            started,
        )
    }

    fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    async fn get(&self, path: &str) -> Option<String> {
        let response = self
            .client
            .get(self.url(path))
            .bearer_auth("test")
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        response.text().await.ok()
    }

    async fn discovered(&self) -> BTreeSet<String> {
        let Some(body) = self.get("/apis/custom.metrics.k8s.io/v1beta1").await else {
            return BTreeSet::new();
        };
        let doc: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        doc["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["name"].as_str().map(str::to_string))
            .collect()
    }

    async fn relists(&self) -> f64 {
        let text = self.get("/metrics").await.unwrap_or_default();
        sample_value(
            &text,
            "prometheus_adapter_discovery_duration_seconds_count{kind=\"custom\"}",
        )
        .unwrap_or(0.0)
    }

    fn proc_status(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .map_or(0, |kib: u64| kib * 1024)
    }

    /// User + system CPU seconds so far.
    fn cpu(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
        let f: Vec<&str> = rest.split(' ').collect();
        let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        (ticks(11) + ticks(12)) / 100.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// === W1 ===

struct W1Run {
    ready: f64,
    peak_rss: u64,
    relist_cpu: f64,
    relist_wall: f64,
}

struct W1 {
    series: usize,
    ready: f64,
    peak_rss: u64,
    relist_cpu: f64,
    relist_wall: f64,
    direct: f64,
    direct_bytes: u64,
}

async fn discovery(data: &Dataset) -> W1Run {
    let (adapter, started) = Running::start(data);
    let want: BTreeSet<String> = EXPECTED.iter().map(|m| format!("pods/{m}")).collect();
    loop {
        let have = adapter.discovered().await;
        if want.is_subset(&have) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "not ready after 600s; missing {:?}",
            want.difference(&have).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ready = started.elapsed().as_secs_f64();
    // CPU of one relist: forced by SIGHUP (a reload relists at once), three times.
    let mut cpu = Vec::new();
    let mut wall = Vec::new();
    for _ in 0..3 {
        let before = adapter.relists().await;
        let cpu_before = adapter.cpu();
        let t = Instant::now();
        let _ = Command::new("kill")
            .args(["-HUP", &adapter.child.id().to_string()])
            .status();
        while adapter.relists().await <= before {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        wall.push(t.elapsed().as_secs_f64());
        cpu.push(adapter.cpu() - cpu_before);
    }
    W1Run {
        ready,
        peak_rss: adapter.proc_status("VmHWM:"),
        relist_cpu: median(cpu),
        relist_wall: median(wall),
    }
}

/// The default rules' distinct series queries, sent straight to Prometheus, concurrently:
/// (seconds, bytes).
async fn series_calls_direct(data: &Dataset) -> (f64, u64) {
    let config = prometheus_adapter::config::Config::load(&data.rules).unwrap();
    let queries: BTreeSet<String> = config
        .rules
        .iter()
        .map(|r| r.series_query.value.clone())
        .collect();
    let client = reqwest::Client::new();
    let start = (std::time::SystemTime::now() - Duration::from_secs(600))
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let t = Instant::now();
    let calls = queries.iter().map(|q| {
        let client = client.clone();
        let url = format!("{}/api/v1/series", data.prometheus.url());
        async move {
            let body = client
                .get(url)
                .query(&[("match[]", q.as_str()), ("start", &format!("{start:.3}"))])
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            body.len() as u64
        }
    });
    let bytes: u64 = futures_util::future::join_all(calls)
        .await
        .into_iter()
        .sum();
    (t.elapsed().as_secs_f64(), bytes)
}

// === W3 ===

struct W3 {
    rss: u64,
    anon: u64,
    file: u64,
    cpu_percent: f64,
}

async fn idle(data: &Dataset, seconds: u64) -> W3 {
    let (adapter, _) = Running::start(data);
    let want: BTreeSet<String> = EXPECTED.iter().map(|m| format!("pods/{m}")).collect();
    while !want.is_subset(&adapter.discovered().await) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cpu = adapter.cpu();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    W3 {
        rss: adapter.proc_status("VmRSS:"),
        anon: adapter.proc_status("RssAnon:"),
        file: adapter.proc_status("RssFile:"),
        cpu_percent: (adapter.cpu() - cpu) / seconds as f64 * 100.0,
    }
}

// === W2 ===

struct W2 {
    pods: usize,
    concurrency: usize,
    adapter: Wrk,
    direct: Wrk,
    cpu_ms_per_request: f64,
    rss: u64,
}

#[derive(Default)]
struct Wrk {
    rps: f64,
    p50: f64,
    p99: f64,
    errors: u64,
    requests: u64,
}

fn wrk(url: &str, concurrency: usize, seconds: u64, bearer: bool) -> Wrk {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t2",
        &format!("-c{concurrency}"),
        &format!("-d{seconds}s"),
        "--latency",
    ]);
    if bearer {
        cmd.args(["-H", "Authorization: Bearer test"]);
    }
    let out = cmd
        .arg(url)
        .output()
        .expect("wrk is installed (scripts/bench.sh installs it)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let duration = |s: &str| -> f64 {
        let s = s.trim();
        let (number, unit) =
            s.split_at(s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len()));
        let n: f64 = number.parse().unwrap_or(f64::NAN);
        match unit {
            "us" => n / 1e6,
            "ms" => n / 1e3,
            "s" => n,
            "m" => n * 60.0,
            _ => f64::NAN,
        }
    };
    let mut result = Wrk::default();
    for line in text.lines() {
        let line = line.trim();
        if let Some(v) = line.strip_prefix("50%") {
            result.p50 = duration(v);
        } else if let Some(v) = line.strip_prefix("99%") {
            result.p99 = duration(v);
        } else if let Some(v) = line.strip_prefix("Requests/sec:") {
            result.rps = v.trim().parse().unwrap_or(0.0);
        } else if let Some(v) = line.strip_prefix("Non-2xx or 3xx responses:") {
            result.errors += v.trim().parse::<u64>().unwrap_or(0);
        } else if let Some(v) = line.strip_prefix("Socket errors:") {
            result.errors += v
                .split(',')
                .filter_map(|p| p.split_whitespace().last()?.parse::<u64>().ok())
                .sum::<u64>();
        } else if line.contains(" requests in ") {
            result.requests = line
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
        }
    }
    result
}

async fn serving(data: &Dataset, seconds: u64) -> Vec<W2> {
    let (adapter, _) = Running::start(data);
    let want: BTreeSet<String> = EXPECTED.iter().map(|m| format!("pods/{m}")).collect();
    while !want.is_subset(&adapter.discovered().await) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut out = Vec::new();
    for (pods, namespace) in [(50, "bench-50"), (1500, "bench-1500")] {
        let path = format!(
            "/apis/custom.metrics.k8s.io/v1beta1/namespaces/{namespace}/pods/*/http_requests?labelSelector=app%3Dweb"
        );
        // Warm the object cache and check the answer once.
        let body = adapter.get(&path).await.expect("the W2 request is served");
        let items = serde_json::from_str::<serde_json::Value>(&body).unwrap()["items"]
            .as_array()
            .map_or(0, Vec::len);
        assert_eq!(items, pods, "{path}");
        // The PromQL the adapter runs, from `explain`, sent straight to Prometheus.
        let explain = Command::new(adapter_binary())
            .args([
                "explain",
                "pods/http_requests",
                "-n",
                namespace,
                "-l",
                "app=web",
                "-o",
                "json",
            ])
            .arg(format!("--config={}", data.rules.display()))
            .arg(format!("--prometheus-url={}", data.prometheus.url()))
            .arg(format!("--lister-kubeconfig={}", data.kubeconfig.display()))
            .output()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&explain.stdout).unwrap();
        let promql = report["promql"]
            .as_str()
            .expect("explain gives the PromQL")
            .to_string();
        let direct_url = format!(
            "{}/api/v1/query?query={}",
            data.prometheus.url(),
            url::form_urlencoded::byte_serialize(promql.as_bytes()).collect::<String>()
        );
        for concurrency in [16, 64] {
            eprintln!("      {pods} pods, c={concurrency}");
            let cpu = adapter.cpu();
            let through = wrk(&adapter.url(&path), concurrency, seconds, true);
            let cpu_ms_per_request =
                (adapter.cpu() - cpu) * 1000.0 / through.requests.max(1) as f64;
            let rss = adapter.proc_status("VmHWM:");
            let direct = wrk(&direct_url, concurrency, seconds, false);
            out.push(W2 {
                pods,
                concurrency,
                adapter: through,
                direct,
                cpu_ms_per_request,
                rss,
            });
        }
    }
    out
}

// === Soak ===

/// HPA-shaped requests at a fixed rate for `minutes`; per-minute throughput, errors, latency
/// and RSS, and a verdict on the issue's criteria (RSS flat within ±10%, 0 errors).
async fn soak(data: &Dataset, minutes: u64, rate: u64) -> String {
    let (adapter, _) = Running::start(data);
    let want: BTreeSet<String> = EXPECTED.iter().map(|m| format!("pods/{m}")).collect();
    while !want.is_subset(&adapter.discovered().await) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // What HPAs and `kubectl top` ask: Pods metrics with a selector (small and large
    // workloads), one object, a namespace (Object) metric, and metrics.k8s.io.
    let paths: Vec<String> = [
        "/apis/custom.metrics.k8s.io/v1beta1/namespaces/bench-50/pods/*/http_requests?labelSelector=app%3Dweb",
        "/apis/custom.metrics.k8s.io/v1beta2/namespaces/bench-50/pods/*/cpu_usage?labelSelector=app%3Dweb",
        "/apis/custom.metrics.k8s.io/v1beta1/namespaces/bench-50/pods/pod-7/memory_working_set_bytes",
        "/apis/custom.metrics.k8s.io/v1beta1/namespaces/bench-50/metrics/http_requests",
        "/apis/custom.metrics.k8s.io/v1beta1/namespaces/bench-1500/pods/*/http_requests?labelSelector=app%3Dweb",
        "/apis/metrics.k8s.io/v1beta1/namespaces/bench-50/pods",
    ]
    .iter()
    .map(|p| adapter.url(p))
    .collect();
    for path in &paths {
        let status = adapter
            .client
            .get(path)
            .bearer_auth("test")
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_success(), "{path}: {status}");
    }
    let results = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(f64, bool)>::new()));
    let mut rows = Vec::new();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut sent = 0usize;
    let started = Instant::now();
    for minute in 1..=minutes {
        let cpu = adapter.cpu();
        let until = started + Duration::from_secs(60 * minute);
        while Instant::now() < until {
            ticker.tick().await;
            let (client, url, results) = (
                adapter.client.clone(),
                paths[sent % paths.len()].clone(),
                results.clone(),
            );
            sent += 1;
            tokio::spawn(async move {
                let t = Instant::now();
                let ok = match client.get(&url).bearer_auth("test").send().await {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                results
                    .lock()
                    .unwrap()
                    .push((t.elapsed().as_secs_f64(), ok));
            });
        }
        let mut window: Vec<(f64, bool)> = std::mem::take(&mut *results.lock().unwrap());
        let errors = window.iter().filter(|(_, ok)| !ok).count();
        window.sort_by(|a, b| a.0.total_cmp(&b.0));
        let at = |q: f64| {
            window
                .get(((window.len() as f64 * q) as usize).min(window.len().saturating_sub(1)))
                .map_or(0.0, |w| w.0)
        };
        rows.push((
            minute,
            window.len(),
            errors,
            at(0.5),
            at(0.99),
            adapter.proc_status("VmRSS:"),
            adapter.cpu() - cpu,
        ));
        eprintln!(
            "      minute {minute}: {} requests, {errors} errors, p99 {:.1} ms",
            window.len(),
            at(0.99) * 1e3
        );
    }
    let mut t = String::new();
    let _ = writeln!(
        t,
        "Soak: {rate} req/s of mixed HPA-shaped requests for {minutes} min ({} series, 2 cores shared with Prometheus). Command: scripts/soak.sh\n",
        data.pods * SERIES_PER_POD
    );
    let _ = writeln!(t, "| minute | requests | errors | p50 | p99 | RSS | CPU |");
    let _ = writeln!(t, "|---|---|---|---|---|---|---|");
    for (minute, n, errors, p50, p99, rss, cpu) in &rows {
        let _ = writeln!(
            t,
            "| {minute} | {n} | {errors} | {:.1} ms | {:.1} ms | {} | {:.0}% of a core |",
            p50 * 1e3,
            p99 * 1e3,
            mib(*rss),
            cpu / 60.0 * 100.0
        );
    }
    let total_errors: usize = rows.iter().map(|r| r.2).sum();
    let first = rows.first().map_or(0, |r| r.5) as f64;
    let last = rows.last().map_or(0, |r| r.5) as f64;
    let drift = if first > 0.0 {
        (last - first) / first * 100.0
    } else {
        0.0
    };
    let _ = writeln!(
        t,
        "\nRSS from minute 1 to minute {minutes}: {drift:+.1}% (target ±10%: {}); errors: {total_errors} (target 0: {})",
        verdict(drift.abs() <= 10.0),
        verdict(total_errors == 0)
    );
    t
}

// === The table ===

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / 1048576.0)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

fn render(w1: &[W1], w2: &[W2], w3: Option<&W3>) -> String {
    let mut t = String::new();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let _ = writeln!(
        t,
        "Machine: {cores} cores; adapter, Prometheus and wrk share them. Command: scripts/bench.sh\n"
    );
    let _ = writeln!(
        t,
        "| workload | adapter | Prometheus alone (the limit) | target | |"
    );
    let _ = writeln!(t, "|---|---|---|---|---|");
    // (series, reference CPU-s per relist)
    let reference_cpu = |n: usize| match n {
        0..=20_000 => 0.21,
        20_001..=200_000 => 1.7,
        _ => 18.0,
    };
    for r in w1 {
        let budget = 1.2 * r.direct + 0.3;
        let rss_target: Option<u64> = match r.series {
            0..=99_999 => None,
            100_000..=999_999 => Some(40 << 20),
            _ => Some(250 << 20),
        };
        let rss_ok = rss_target.is_none_or(|t| r.peak_rss <= t);
        let cpu_ok = r.relist_cpu <= reference_cpu(r.series) / 3.0;
        let _ = writeln!(
            t,
            "| W1 {}k series | ready in {:.2} s, peak RSS {}, {:.2} CPU-s per relist ({:.2} s wall) | series calls {:.2} s, {:.1} MB | ready ≤ {:.2} s, RSS {}, CPU ≤ {:.2} s | {} / {} / {} |",
            r.series / 1000,
            r.ready,
            mib(r.peak_rss),
            r.relist_cpu,
            r.relist_wall,
            r.direct,
            r.direct_bytes as f64 / 1e6,
            budget,
            rss_target.map_or("–".to_string(), |t| format!("< {}", mib(t))),
            reference_cpu(r.series) / 3.0,
            verdict(r.ready <= budget),
            verdict(rss_ok),
            verdict(cpu_ok),
        );
    }
    for r in w2 {
        let (ok, target) = if r.pods == 50 {
            (
                r.adapter.rps >= 0.7 * r.direct.rps
                    && r.adapter.p99 <= r.direct.p99 + 0.005
                    && r.adapter.errors == 0,
                "≥ 70% of the limit's req/s, p99 ≤ limit + 5 ms, 0 errors",
            )
        } else if r.concurrency == 16 {
            (
                r.adapter.rps >= 50.0 && r.adapter.p99 < 1.0 && r.rss < (100 << 20),
                "≥ 50 req/s, p99 < 1 s, RSS < 100 MiB",
            )
        } else {
            (r.adapter.errors == 0, "0 errors")
        };
        let _ = writeln!(
            t,
            "| W2 {} pods, c={} | {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms, {} errors, {:.2} CPU-ms/req, RSS {} | {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms | {target} | {} |",
            r.pods,
            r.concurrency,
            r.adapter.rps,
            r.adapter.p50 * 1e3,
            r.adapter.p99 * 1e3,
            r.adapter.errors,
            r.cpu_ms_per_request,
            mib(r.rss),
            r.direct.rps,
            r.direct.p50 * 1e3,
            r.direct.p99 * 1e3,
            verdict(ok),
        );
    }
    if let Some(r) = w3 {
        let _ = writeln!(
            t,
            "| W3 idle | RSS {} ({} heap, {} mapped binary), {:.3}% of a core | – | RSS < 15 MiB, CPU < 0.1% | {} |",
            mib(r.rss),
            mib(r.anon),
            mib(r.file),
            r.cpu_percent,
            verdict(r.rss < 15 << 20 && r.cpu_percent < 0.1),
        );
    }
    t
}
