//! Test harness: a real Prometheus (Debian's package) scraping an exposition server whose
//! counters grow at known rates, the adapter binary, kubectl as the client, and a fake
//! kube-apiserver speaking real wire JSON.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::extract::{Path as AxPath, Query};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use prometheus_adapter::model::LabelSelector;

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plain HTTP/1.0 GET; enough for readiness checks without another client.
pub fn http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let code = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((code, body))
}

pub fn wait_for(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}

// === Exposition server ===

/// One exposed series: a gauge, or a counter growing at `rate` per second.
#[derive(Clone)]
pub struct Exposed {
    pub name: &'static str,
    pub labels: &'static str,
    pub value: f64,
    pub counter: bool,
}

pub const fn gauge(name: &'static str, labels: &'static str, value: f64) -> Exposed {
    Exposed {
        name,
        labels,
        value,
        counter: false,
    }
}

pub const fn counter(name: &'static str, labels: &'static str, rate: f64) -> Exposed {
    Exposed {
        name,
        labels,
        value: rate,
        counter: true,
    }
}

/// Serves `/metrics` on a background runtime; returns its address.
pub fn start_exporter(series: Vec<Exposed>) -> SocketAddr {
    let started = Instant::now();
    serve_in_background(Router::new().route(
        "/metrics",
        get(move || {
            let series = series.clone();
            async move {
                let elapsed = started.elapsed().as_secs_f64();
                let mut out = String::new();
                for s in &series {
                    let value = if s.counter {
                        s.value * elapsed
                    } else {
                        s.value
                    };
                    out.push_str(&format!("{}{{{}}} {}\n", s.name, s.labels, value));
                }
                out
            }
        }),
    ))
}

/// Serves a router over plain HTTP on a free port, on its own thread and runtime (so it
/// keeps answering whatever the test's own runtime does); returns the address.
pub fn serve_in_background(app: Router) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    addr
}

/// Forwards a request to `upstream` (method, path and query, content type, body) and answers
/// with the upstream's status and body: the core of the tests' proxies.
pub async fn forward(
    http: &reqwest::Client,
    upstream: &str,
    request: axum::extract::Request,
) -> (axum::http::StatusCode, bytes::Bytes) {
    let url = format!(
        "{upstream}{}",
        request.uri().path_and_query().map_or("", |p| p.as_str())
    );
    let method = request.method().clone();
    let content_type = request.headers().get("content-type").cloned();
    let body = axum::body::to_bytes(request.into_body(), usize::MAX)
        .await
        .unwrap();
    let mut outgoing = http.request(method, url).body(body);
    if let Some(ct) = content_type {
        outgoing = outgoing.header("content-type", ct);
    }
    let response = outgoing.send().await.unwrap();
    let status = axum::http::StatusCode::from_u16(response.status().as_u16()).unwrap();
    (status, response.bytes().await.unwrap())
}

/// The built-in demo's workload (scripts/demo.sh, and the `explain` tests read the same).
pub fn demo_workload() -> Vec<Exposed> {
    vec![
        counter(
            "http_requests_total",
            r#"namespace="shop",pod="web-1",app="web""#,
            2.0,
        ),
        counter(
            "http_requests_total",
            r#"namespace="shop",pod="web-2",app="web""#,
            4.0,
        ),
        counter(
            "http_requests_total",
            r#"namespace="shop",pod="db-1",app="db""#,
            1.0,
        ),
        counter(
            "http_requests_total",
            r#"namespace="other",pod="x-1",app="web""#,
            3.0,
        ),
        gauge("queue_length", r#"namespace="shop",service="orders""#, 12.0),
        gauge(
            "container_memory_working_set_bytes",
            r#"namespace="shop",pod="web-1",container="app""#,
            104857600.0,
        ),
        counter(
            "container_cpu_usage_seconds_total",
            r#"namespace="shop",pod="web-1",container="app""#,
            0.25,
        ),
    ]
}

// === Prometheus ===

pub struct Prometheus {
    child: Child,
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Starts Debian's Prometheus on a free port scraping `targets` every second.
    pub fn start(targets: &[SocketAddr]) -> Prometheus {
        Prometheus::start_on(free_port(), targets)
    }

    pub fn start_on(port: u16, targets: &[SocketAddr]) -> Prometheus {
        Prometheus::start_with(port, targets, "1s")
    }

    /// Any scrape interval (the benchmark scrapes large targets every 15s).
    pub fn start_with(port: u16, targets: &[SocketAddr], interval: &str) -> Prometheus {
        let binary = which_prometheus();
        let dir = tempfile::tempdir().unwrap();
        let targets: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
        let config = format!(
            "global:\n  scrape_interval: {interval}\n  scrape_timeout: {interval}\n  evaluation_interval: {interval}\nscrape_configs:\n- job_name: demo\n  honor_labels: true\n  static_configs:\n  - targets: [{}]\n",
            targets.join(", ")
        );
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus");
        let prometheus = Prometheus {
            child,
            addr,
            _dir: dir,
        };
        wait_for("prometheus to be ready", Duration::from_secs(60), || {
            http_get(addr, "/-/ready").is_some_and(|(c, _)| c == 200)
        });
        prometheus
    }

    /// Starts Debian's VictoriaMetrics (single node) scraping `targets` every second, with the
    /// 30 s default search latency offset cut to 1 s so fresh samples are visible at once.
    pub fn start_victoria_metrics(targets: &[SocketAddr]) -> Prometheus {
        let binary = Path::new("/usr/bin/victoria-metrics");
        assert!(
            binary.exists(),
            "victoria-metrics is not installed: run the README's test command (scripts/test.sh), which installs Debian's package"
        );
        let dir = tempfile::tempdir().unwrap();
        let targets: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
        let config = format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n- job_name: demo\n  honor_labels: true\n  static_configs:\n  - targets: [{}]\n",
            targets.join(", ")
        );
        let config_path = dir.path().join("scrape.yml");
        std::fs::write(&config_path, config).unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let child = Command::new(binary)
            .arg(format!("-promscrape.config={}", config_path.display()))
            .arg(format!(
                "-storageDataPath={}",
                dir.path().join("data").display()
            ))
            .arg(format!("-httpListenAddr={addr}"))
            .arg("-search.latencyOffset=1s")
            .arg("-search.disableCache")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start victoria-metrics");
        let vm = Prometheus {
            child,
            addr,
            _dir: dir,
        };
        wait_for(
            "victoria-metrics to be ready",
            Duration::from_secs(60),
            || http_get(addr, "/health").is_some_and(|(c, _)| c == 200),
        );
        vm
    }

    /// Waits until an instant query returns a non-empty vector.
    pub fn wait_for_query(&self, query: &str) {
        let path = format!(
            "/api/v1/query?query={}",
            url::form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>()
        );
        wait_for(
            &format!("prometheus to answer {query}"),
            Duration::from_secs(60),
            || {
                http_get(self.addr, &path)
                    .is_some_and(|(c, body)| c == 200 && body.contains("\"value\""))
            },
        );
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn which_prometheus() -> PathBuf {
    for candidate in ["/usr/bin/prometheus", "/usr/local/bin/prometheus"] {
        if Path::new(candidate).exists() {
            return candidate.into();
        }
    }
    panic!(
        "prometheus is not installed: run the README's test command (scripts/test.sh), which installs Debian's package"
    );
}

// === The adapter ===

/// The binary under test: Cargo's path in tests, `ADAPTER_BIN` for the demo example.
pub fn adapter_binary() -> PathBuf {
    match option_env!("CARGO_BIN_EXE_prometheus-adapter") {
        Some(path) => path.into(),
        None => std::env::var_os("ADAPTER_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| "target/debug/prometheus-adapter".into()),
    }
}

pub struct Adapter {
    child: Child,
    pub port: u16,
    pub kubeconfig: PathBuf,
    dir: tempfile::TempDir,
}

impl Adapter {
    /// Starts the adapter binary with a rules file; waits until it serves (not until ready).
    pub fn start(rules: &str, args: &[String]) -> Adapter {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.yaml");
        std::fs::write(&config, rules).unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("adapter.log")).unwrap();
        let child = Command::new(adapter_binary())
            .arg("/adapter")
            .arg(format!("--config={}", config.display()))
            .arg(format!("--secure-port={port}"))
            .arg(format!("--cert-dir={}", dir.path().join("certs").display()))
            .arg("--bind-address=127.0.0.1")
            .arg("--metrics-relist-interval=2s")
            .arg("--v=6")
            .args(args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start adapter");
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: adapter\n  cluster:\n    server: https://127.0.0.1:{port}\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user: {{token: test}}\ncontexts:\n- name: c\n  context: {{cluster: adapter, user: u}}\ncurrent-context: c\n"
            ),
        )
        .unwrap();
        let adapter = Adapter {
            child,
            port,
            kubeconfig,
            dir,
        };
        let start = Instant::now();
        while adapter.get("/healthz").0 != 0 {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the adapter did not serve within 30s; its log:\n{}",
                adapter.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        adapter
    }

    /// `kubectl get --raw PATH`: (exit code, stdout, stderr).
    pub fn get(&self, path: &str) -> (i32, String, String) {
        let out = Command::new("kubectl")
            .arg(format!("--kubeconfig={}", self.kubeconfig.display()))
            .args(["get", "--raw", path])
            .output()
            .expect("kubectl is installed");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// GET through kubectl and parse the JSON body; panics with the adapter's log on failure.
    pub fn get_json(&self, path: &str) -> serde_json::Value {
        let (code, stdout, stderr) = self.get(path);
        assert_eq!(
            code,
            0,
            "kubectl get --raw {path} failed: {stderr}\nadapter log:\n{}",
            self.log()
        );
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{path}: {e}: {stdout}"))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("adapter.log")).unwrap_or_default()
    }

    pub fn wait_ready(&self) {
        wait_for(
            "discovery to complete (/readyz)",
            Duration::from_secs(60),
            || self.get("/readyz").0 == 0,
        );
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `/metrics` through kubectl, as text.
    pub fn self_metrics(&self) -> String {
        let (code, body, stderr) = self.get("/metrics");
        assert_eq!(code, 0, "GET /metrics failed: {stderr}");
        body
    }

    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Adapter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of the first sample in a text exposition whose line starts with `series`.
pub fn sample_value(exposition: &str, series: &str) -> Option<f64> {
    exposition
        .lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Parses a Kubernetes quantity string back into a number (test-side only).
pub fn quantity_value(q: &str) -> f64 {
    let (number, scale) = match q.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&q[..i], &q[i..]),
        None => (q, ""),
    };
    let factor = match scale {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        other => panic!("unknown suffix {other}"),
    };
    number.parse::<f64>().unwrap() * factor
}

// === Fake kube-apiserver ===

/// Forwards a request to the aggregated backend over TLS, as the kube-aggregator does.
async fn proxy(
    backend: AggregatedBackend,
    auth: FakeCluster,
    request: axum::extract::Request,
) -> axum::response::Response {
    let Some(base) = backend.lock().unwrap().clone() else {
        return (axum::http::StatusCode::SERVICE_UNAVAILABLE, "no backend").into_response();
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder().danger_accept_invalid_certs(true);
    if let Some((cert, key)) = &auth.front_proxy {
        builder = builder
            .identity(reqwest::Identity::from_pem(format!("{cert}{key}").as_bytes()).unwrap());
    }
    let client = builder.build().unwrap();
    let url = format!(
        "{base}{}",
        request.uri().path_and_query().map_or("", |p| p.as_str())
    );
    let mut forward = client.get(url);
    if let Some(accept) = request.headers().get("accept") {
        forward = forward.header("accept", accept.clone());
    }
    // The aggregator authenticates the caller and tells the adapter who it is.
    let token = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // kubectl sends no bearer token over plain HTTP: such a caller is the first token's user.
    let caller = auth
        .tokens
        .iter()
        .find(|(t, _, _)| *t == token)
        .or(auth.tokens.first().filter(|_| token.is_empty()));
    if let Some((_, user, groups)) = caller {
        forward = forward.header("X-Remote-User", *user);
        for group in groups {
            forward = forward.header("X-Remote-Group", *group);
        }
    }
    match forward.send().await {
        Ok(response) => {
            let status = axum::http::StatusCode::from_u16(response.status().as_u16()).unwrap();
            let content_type = response.headers().get("content-type").cloned();
            let body = response.bytes().await.unwrap_or_default();
            let mut out = (status, body).into_response();
            if let Some(ct) = content_type {
                out.headers_mut().insert("content-type", ct);
            }
            out
        }
        Err(e) => (axum::http::StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

/// An object the fake API server lists.
#[derive(Clone, Default)]
pub struct FakeObject {
    pub resource: &'static str,
    pub namespace: Option<&'static str>,
    pub name: &'static str,
    pub labels: &'static [(&'static str, &'static str)],
    /// Pod phase; empty means Running.
    pub phase: &'static str,
}

/// Where the fake API server proxies `/apis/metrics.k8s.io` (set once the adapter runs), as
/// the kube-aggregator does for an APIService.
pub type AggregatedBackend = std::sync::Arc<std::sync::Mutex<Option<String>>>;

/// (group, plural, singular, kind) of a namespaced custom resource served at version v1.
pub type FakeCrd = (&'static str, &'static str, &'static str, &'static str);

/// What the fake API server says about authentication and authorization, and the custom
/// resource groups it serves (which tests may add while the adapter runs).
#[derive(Clone)]
pub struct FakeCluster {
    /// `kube-system/extension-apiserver-authentication` data.
    pub configmap: serde_json::Value,
    /// token → (user, groups)
    pub tokens: Vec<(&'static str, &'static str, Vec<&'static str>)>,
    /// Users every SubjectAccessReview allows; others are denied with a reason.
    pub allowed_users: Vec<&'static str>,
    pub token_reviews: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    pub access_reviews: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// The aggregator's client certificate and key (PEM) for proxied requests.
    pub front_proxy: Option<(String, String)>,
    /// (group, plural, singular, kind) of custom resources, all namespaced, version v1.
    pub crds: std::sync::Arc<std::sync::Mutex<Vec<FakeCrd>>>,
    /// The objects the server lists; change them with `add` and `delete` so watches see it.
    pub objects: std::sync::Arc<std::sync::Mutex<Vec<FakeObject>>>,
    events: tokio::sync::broadcast::Sender<Change>,
    /// Every change since start, so a watch from a resourceVersion replays what it missed.
    history: std::sync::Arc<std::sync::Mutex<Vec<Change>>>,
    /// LIST requests served (watches not counted).
    pub lists: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// When set, the next watch answers 410 Gone (an expired resourceVersion) and ends.
    pub expire_next_watch: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// A fault on every request whose path contains the text, while set.
    pub fault: ActiveFault,
}

/// (text in the path, fault) while set.
pub type ActiveFault = std::sync::Arc<std::sync::Mutex<Option<(&'static str, KubeFault)>>>;

/// How the fake API server misbehaves (see `FakeCluster::fault`; `Gate` takes it down).
#[derive(Clone, Copy, Debug)]
pub enum KubeFault {
    /// Answers this code with a `Status` body, as the API server words it.
    Status(u16),
    /// Waits this long, then answers normally.
    Slow(Duration),
}

/// The API server's `Status` for an error code on a path.
fn kube_status(code: u16, path: &str) -> serde_json::Value {
    let resource = path.rsplit('/').next().unwrap_or("");
    let (reason, message) = match code {
        403 => (
            "Forbidden",
            format!(
                "{resource} is forbidden: User \"system:serviceaccount:monitoring:prometheus-adapter\" cannot list resource \"{resource}\" in API group \"\" at the cluster scope"
            ),
        ),
        _ => ("", format!("the server answered {code}")),
    };
    serde_json::json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "details": {"kind": resource}, "code": code})
}

async fn inject_kube_fault(
    axum::extract::State(fault): axum::extract::State<ActiveFault>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let path = request.uri().path().to_string();
    let active = *fault.lock().unwrap();
    match active {
        Some((part, KubeFault::Status(code))) if path.contains(part) => (
            axum::http::StatusCode::from_u16(code).unwrap(),
            Json(kube_status(code, &path)),
        )
            .into_response(),
        Some((part, KubeFault::Slow(delay))) if path.contains(part) => {
            tokio::time::sleep(delay).await;
            next.run(request).await
        }
        _ => next.run(request).await,
    }
}

/// A TCP relay in front of a server that can be closed (new connections refused, open ones
/// cut) and opened again on the same port: a crashed or partitioned server, as clients see it.
pub struct Gate {
    pub addr: SocketAddr,
    upstream: SocketAddr,
    runtime: tokio::runtime::Runtime,
    accepting: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    connections: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Gate {
    /// A closed gate on a free port in front of `upstream`.
    pub fn closed(upstream: SocketAddr) -> Gate {
        Gate {
            addr: SocketAddr::from(([127, 0, 0, 1], free_port())),
            upstream,
            runtime: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap(),
            accepting: Default::default(),
            connections: Default::default(),
        }
    }

    pub fn open(&self) {
        let listener = std::net::TcpListener::bind(self.addr).unwrap();
        listener.set_nonblocking(true).unwrap();
        let (upstream, connections) = (self.upstream, self.connections.clone());
        let task = self.runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((mut client, _)) = listener.accept().await {
                let relay = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                connections.lock().unwrap().push(relay.abort_handle());
            }
        });
        *self.accepting.lock().unwrap() = Some(task);
    }

    pub fn close(&self) {
        if let Some(task) = self.accepting.lock().unwrap().take() {
            task.abort();
            // The listener is dropped with the task; wait for that so the port refuses.
            let _ = self.runtime.block_on(task);
        }
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }
}

const SERVER_PREFIX: &str = "server: http://";

/// The address of the API server a kubeconfig from `start_fake_apiserver*` points at.
pub fn api_server_addr(kubeconfig: &Path) -> SocketAddr {
    let text = std::fs::read_to_string(kubeconfig).unwrap();
    let start = text.find(SERVER_PREFIX).unwrap() + SERVER_PREFIX.len();
    text[start..].lines().next().unwrap().parse().unwrap()
}

/// A copy of a kubeconfig from `start_fake_apiserver*` that reaches the API server at `addr`.
pub fn kubeconfig_via(kubeconfig: &Path, addr: SocketAddr) -> PathBuf {
    let text = std::fs::read_to_string(kubeconfig).unwrap();
    let old = format!("{SERVER_PREFIX}{}", api_server_addr(kubeconfig));
    let path = kubeconfig.with_file_name(format!("kubeconfig-via-{}", addr.port()));
    std::fs::write(&path, text.replace(&old, &format!("{SERVER_PREFIX}{addr}"))).unwrap();
    path
}

/// (resourceVersion, object, ADDED or DELETED)
type Change = (u64, FakeObject, &'static str);

/// The resourceVersion of the cluster before any change.
const FIRST_RESOURCE_VERSION: u64 = 7;

impl FakeCluster {
    /// Adds an object and tells open watches (ADDED).
    pub fn add(&self, object: FakeObject) {
        self.objects.lock().unwrap().push(object.clone());
        self.record(object, "ADDED");
    }

    fn record(&self, object: FakeObject, kind: &'static str) {
        let mut history = self.history.lock().unwrap();
        let change = (
            FIRST_RESOURCE_VERSION + 1 + history.len() as u64,
            object,
            kind,
        );
        history.push(change.clone());
        let _ = self.events.send(change);
    }

    fn resource_version(&self) -> u64 {
        FIRST_RESOURCE_VERSION + self.history.lock().unwrap().len() as u64
    }

    /// Deletes an object by resource and name and tells open watches (DELETED).
    pub fn delete(&self, resource: &str, name: &str) {
        let mut objects = self.objects.lock().unwrap();
        if let Some(i) = objects
            .iter()
            .position(|o| o.resource == resource && o.name == name)
        {
            let object = objects.remove(i);
            drop(objects);
            self.record(object, "DELETED");
        }
    }
}

/// An object as the API server serialises it (metadata only, or with a node's status).
fn object_json(o: &FakeObject, metadata_only: bool, resource_version: u64) -> serde_json::Value {
    let labels: serde_json::Map<String, serde_json::Value> = o
        .labels
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
        .collect();
    let mut item = serde_json::json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": {"name": o.name, "namespace": o.namespace, "labels": labels, "resourceVersion": resource_version.to_string(), "uid": format!("uid-{}", o.name)}});
    if o.resource == "nodes" && !metadata_only {
        item["status"] = serde_json::json!({"allocatable": {"cpu": "4", "memory": "8Gi"}, "capacity": {"cpu": "4", "memory": "8Gi"}});
    }
    item
}

/// A CA and a client certificate it signed, PEM-encoded.
pub struct Pki {
    pub ca: String,
    pub cert: String,
    pub key: String,
}

/// A fresh CA named `ca_name` and a client certificate for `cn` (organizations `orgs`).
pub fn client_pki(ca_name: &str, cn: &str, orgs: &[&str]) -> Pki {
    client_pkis(ca_name, &[(cn, orgs)]).remove(0)
}

/// One fresh CA and a client certificate for each (CN, organizations), all signed by it.
pub fn client_pkis(ca_name: &str, subjects: &[(&str, &[&str])]) -> Vec<Pki> {
    let subjects: Vec<_> = subjects
        .iter()
        .map(|(cn, orgs)| (*cn, *orgs, None))
        .collect();
    client_pkis_valid(ca_name, &subjects)
}

/// A certificate's validity: from one (year, month, day) to another.
pub type Validity = ((i32, u8, u8), (i32, u8, u8));

/// Like `client_pkis`, each certificate valid for its `Validity` when given (else rcgen's
/// default, which includes now).
pub fn client_pkis_valid(
    ca_name: &str,
    subjects: &[(&str, &[&str], Option<Validity>)],
) -> Vec<Pki> {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair,
    };
    let mut ca_params = CertificateParams::new(vec![]).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, ca_name);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    subjects
        .iter()
        .map(|(cn, orgs, validity)| {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(vec![]).unwrap();
            params.distinguished_name.push(DnType::CommonName, *cn);
            for org in *orgs {
                params
                    .distinguished_name
                    .push(DnType::OrganizationName, *org);
            }
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            if let Some(((y0, m0, d0), (y1, m1, d1))) = *validity {
                params.not_before = rcgen::date_time_ymd(y0, m0, d0);
                params.not_after = rcgen::date_time_ymd(y1, m1, d1);
            }
            let cert = params.signed_by(&key, &ca).unwrap();
            Pki {
                ca: ca.pem(),
                cert: cert.pem(),
                key: key.serialize_pem(),
            }
        })
        .collect()
}

impl FakeCluster {
    /// An aggregator that authenticates to the adapter with a front-proxy certificate.
    pub fn with_front_proxy(pki: &Pki) -> FakeCluster {
        FakeCluster {
            configmap: serde_json::json!({
                "requestheader-client-ca-file": pki.ca,
                "requestheader-allowed-names": "[\"front-proxy-client\"]",
                "requestheader-username-headers": "[\"X-Remote-User\"]",
                "requestheader-group-headers": "[\"X-Remote-Group\"]",
                "requestheader-extra-headers-prefix": "[\"X-Remote-Extra-\"]",
            }),
            front_proxy: Some((pki.cert.clone(), pki.key.clone())),
            ..FakeCluster::default()
        }
    }
}

impl Default for FakeCluster {
    /// The token in the adapter's test kubeconfig is a cluster admin.
    fn default() -> Self {
        FakeCluster {
            configmap: serde_json::json!({}),
            tokens: vec![
                ("test", "tester", vec!["system:masters"]),
                ("t", "tester", vec!["system:masters"]),
            ],
            allowed_users: vec![],
            token_reviews: Default::default(),
            access_reviews: Default::default(),
            front_proxy: None,
            crds: Default::default(),
            objects: Default::default(),
            events: tokio::sync::broadcast::channel(1024).0,
            history: Default::default(),
            lists: Default::default(),
            expire_next_watch: Default::default(),
            fault: Default::default(),
        }
    }
}

/// Serves discovery and metadata LISTs over plain HTTP; returns a kubeconfig path.
pub fn start_fake_apiserver(objects: Vec<FakeObject>, dir: &Path) -> PathBuf {
    start_fake_apiserver_with_backend(objects, dir, AggregatedBackend::default())
}

/// Like `start_fake_apiserver`, and proxies metrics.k8s.io to `backend` when it is set.
pub fn start_fake_apiserver_with_backend(
    objects: Vec<FakeObject>,
    dir: &Path,
    backend: AggregatedBackend,
) -> PathBuf {
    start_fake_apiserver_full(objects, dir, backend, FakeCluster::default())
}

/// The fake API server with an authentication and authorization policy.
pub fn start_fake_apiserver_full(
    objects: Vec<FakeObject>,
    dir: &Path,
    backend: AggregatedBackend,
    auth: FakeCluster,
) -> PathBuf {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        auth.objects.lock().unwrap().extend(objects);
        rt.block_on(async move {
            let cluster = auth.clone();
            let list = move |resource: String, namespace: Option<String>, query: std::collections::HashMap<String, String>, headers: HeaderMap| {
                let cluster = cluster.clone();
                async move {
                    let selector = match LabelSelector::parse(query.get("labelSelector").map_or("", String::as_str)) {
                        Ok(s) => s,
                        Err(e) => return (axum::http::StatusCode::BAD_REQUEST, Json(serde_json::json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":e.to_string(),"reason":"BadRequest","code":400}))).into_response(),
                    };
                    let metadata_only = headers.get("accept").and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("PartialObjectMetadataList"));
                    if query.get("watch").is_some_and(|w| w == "true" || w == "1") {
                        if cluster.expire_next_watch.swap(false, std::sync::atomic::Ordering::SeqCst) {
                            let gone = serde_json::json!({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "too old resource version: 7 (8)", "reason": "Expired", "code": 410}});
                            return format!("{gone}\n").into_response();
                        }
                        // Replays the changes after the requested resourceVersion, then stays
                        // open and streams ADDED/DELETED events as tests change objects.
                        let receiver = cluster.events.subscribe();
                        let from: u64 = query.get("resourceVersion").and_then(|v| v.parse().ok()).unwrap_or(0);
                        let from = if from == 0 { cluster.resource_version() } else { from };
                        let missed: Vec<Change> = cluster.history.lock().unwrap().iter().filter(|c| c.0 > from).cloned().collect();
                        let replayed = missed.last().map_or(from, |c| c.0);
                        let wanted = move |(_, object, _): &Change| object.resource == resource && (namespace.is_none() || object.namespace == namespace.as_deref());
                        let line = |(version, object, kind): Change| Ok::<_, std::convert::Infallible>(bytes::Bytes::from(format!("{}\n", serde_json::json!({"type": kind, "object": object_json(&object, true, version)}))));
                        let replay = futures_util::stream::iter(missed.into_iter().filter(wanted.clone()).map(line));
                        let live = futures_util::stream::unfold(receiver, move |mut receiver| {
                            let wanted = wanted.clone();
                            async move {
                                loop {
                                    let change = receiver.recv().await.ok()?;
                                    if change.0 > replayed && wanted(&change) {
                                        return Some((line(change), receiver));
                                    }
                                }
                            }
                        });
                        let stream = futures_util::StreamExt::chain(replay, live);
                        return axum::body::Body::from_stream(stream).into_response();
                    }
                    let running_only = query.get("fieldSelector").is_some_and(|f| f == "status.phase=Running");
                    cluster.lists.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    // Read before the objects: a watch from it may replay a change the list
                    // already holds (harmless), never miss one.
                    let version = cluster.resource_version();
                    let objects = cluster.objects.lock().unwrap().clone();
                    let items: Vec<serde_json::Value> = objects
                        .iter()
                        .filter(|o| o.resource == resource && (namespace.is_none() || o.namespace == namespace.as_deref()))
                        .filter(|o| selector.matches(&|k| o.labels.iter().find(|(lk, _)| *lk == k).map(|(_, v)| v.to_string())))
                        .filter(|o| !running_only || o.phase.is_empty() || o.phase == "Running")
                        .map(|o| object_json(o, metadata_only, version))
                        .collect();
                    let (kind, api_version) = if metadata_only { ("PartialObjectMetadataList", "meta.k8s.io/v1") } else { ("List", "v1") };
                    Json(serde_json::json!({"kind": kind, "apiVersion": api_version, "metadata": {"resourceVersion": version.to_string()}, "items": items})).into_response()
                }
            };
            let l1 = list.clone();
            let l2 = list.clone();
            let app = Router::new()
                .route("/api/v1", get(|| async {
                    Json(serde_json::json!({"kind":"APIResourceList","groupVersion":"v1","resources":[
                        {"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["get","list","watch"]},
                        {"name":"pods/log","singularName":"","namespaced":true,"kind":"Pod","verbs":["get"]},
                        {"name":"services","singularName":"service","namespaced":true,"kind":"Service","verbs":["get","list"]},
                        {"name":"namespaces","singularName":"namespace","namespaced":false,"kind":"Namespace","verbs":["get","list"]},
                        {"name":"nodes","singularName":"node","namespaced":false,"kind":"Node","verbs":["get","list"]}]}))
                }))
                .route("/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication", get({
                    let data = auth.configmap.clone();
                    move || async move {
                        Json(serde_json::json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "extension-apiserver-authentication", "namespace": "kube-system"}, "data": data}))
                    }
                }))
                .route("/apis/authentication.k8s.io/v1/tokenreviews", axum::routing::post({
                    let auth = auth.clone();
                    move |Json(review): Json<serde_json::Value>| async move {
                        auth.token_reviews.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let token = review["spec"]["token"].as_str().unwrap_or("");
                        let status = match auth.tokens.iter().find(|(t, _, _)| *t == token) {
                            Some((_, user, groups)) => serde_json::json!({"authenticated": true, "user": {"username": user, "groups": groups}}),
                            None => serde_json::json!({"authenticated": false, "error": "invalid bearer token"}),
                        };
                        Json(serde_json::json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "status": status}))
                    }
                }))
                .route("/apis/authorization.k8s.io/v1/subjectaccessreviews", axum::routing::post({
                    let auth = auth.clone();
                    move |Json(review): Json<serde_json::Value>| async move {
                        auth.access_reviews.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let user = review["spec"]["user"].as_str().unwrap_or("");
                        let allowed = auth.allowed_users.contains(&user);
                        let reason = if allowed { "" } else { "no RBAC policy matched" };
                        Json(serde_json::json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "status": {"allowed": allowed, "reason": reason}}))
                    }
                }))
                .route("/api", get(|| async {
                    Json(serde_json::json!({"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1"}]}))
                }))
                .route("/apis", get({
                    let crds = auth.crds.clone();
                    move || async move {
                        let mut groups = vec![
                            serde_json::json!({"name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}],"preferredVersion":{"groupVersion":"apps/v1","version":"v1"}}),
                            serde_json::json!({"name":"metrics.k8s.io","versions":[{"groupVersion":"metrics.k8s.io/v1beta1","version":"v1beta1"}],"preferredVersion":{"groupVersion":"metrics.k8s.io/v1beta1","version":"v1beta1"}}),
                        ];
                        for (group, ..) in crds.lock().unwrap().iter() {
                            let gv = format!("{group}/v1");
                            groups.push(serde_json::json!({"name": group, "versions": [{"groupVersion": gv, "version": "v1"}], "preferredVersion": {"groupVersion": gv, "version": "v1"}}));
                        }
                        Json(serde_json::json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}))
                    }
                }))
                .route("/apis/{group}/{version}", get({
                    let crds = auth.crds.clone();
                    move |AxPath((group, version)): AxPath<(String, String)>| async move {
                        let resources: Vec<serde_json::Value> = crds
                            .lock()
                            .unwrap()
                            .iter()
                            .filter(|(g, ..)| *g == group)
                            .map(|(_, plural, singular, kind)| serde_json::json!({"name": plural, "singularName": singular, "namespaced": true, "kind": kind, "verbs": ["get", "list", "watch"]}))
                            .collect();
                        if resources.is_empty() {
                            return (axum::http::StatusCode::NOT_FOUND, Json(serde_json::json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server could not find the requested resource","reason":"NotFound","code":404}))).into_response();
                        }
                        Json(serde_json::json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": format!("{group}/{version}"), "resources": resources})).into_response()
                    }
                }))
                .route("/apis/metrics.k8s.io", get({ let b = backend.clone(); let a = auth.clone(); move |req: axum::extract::Request| proxy(b.clone(), a.clone(), req) }))
                .route("/apis/metrics.k8s.io/{*rest}", get({ let b = backend.clone(); let a = auth.clone(); move |req: axum::extract::Request| proxy(b.clone(), a.clone(), req) }))
                .route("/apis/apps/v1", get(|| async {
                    Json(serde_json::json!({"kind":"APIResourceList","groupVersion":"apps/v1","resources":[
                        {"name":"deployments","singularName":"deployment","namespaced":true,"kind":"Deployment","verbs":["get","list"]}]}))
                }))
                .route("/api/v1/namespaces/{ns}/{resource}", get(move |AxPath((ns, resource)): AxPath<(String, String)>, Query(q): Query<std::collections::HashMap<String, String>>, h: HeaderMap| l1(resource, Some(ns), q, h)))
                .route("/api/v1/{resource}", get(move |AxPath(resource): AxPath<String>, Query(q): Query<std::collections::HashMap<String, String>>, h: HeaderMap| l2(resource, None, q, h)))
                .layer(axum::middleware::from_fn_with_state(auth.fault.clone(), inject_kube_fault));
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    let path = dir.join("lister-kubeconfig");
    std::fs::write(
        &path,
        format!("apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: http://{addr}\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: c\n  context: {{cluster: fake, user: u}}\ncurrent-context: c\n"),
    )
    .unwrap();
    path
}

/// Accepts any server certificate and keeps the last one seen: the tests' servers present
/// self-signed certificates.
#[derive(Debug)]
pub struct AnyServerCert {
    pub seen: std::sync::Mutex<Option<Vec<u8>>>,
    provider: std::sync::Arc<rustls::crypto::CryptoProvider>,
}

impl rustls::client::danger::ServerCertVerifier for AnyServerCert {
    fn verify_server_cert(
        &self,
        end: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        *self.seen.lock().unwrap() = Some(end.to_vec());
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        signature: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, signature, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        signature: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, signature, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A TLS client configuration offering `alpn` that trusts any server certificate.
pub fn insecure_client_config(
    alpn: &[&[u8]],
) -> (rustls::ClientConfig, std::sync::Arc<AnyServerCert>) {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let verifier = std::sync::Arc::new(AnyServerCert {
        seen: Default::default(),
        provider: provider.clone(),
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    (config, verifier)
}
