//! HTTPS serving: the listener, TLS (certificate files or a self-signed pair in `--cert-dir`),
//! HTTP/2 and HTTP/1.1, and graceful shutdown.
//!
//! Invariants:
//! - HTTPS only, as the reference; ALPN offers `h2` unless `--disable-http2`.
//! - A connection's failure never affects another connection or the accept loop.
//! - Nothing here knows rules or metric names.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

pub mod auth;

#[derive(Clone, Debug)]
pub struct Options {
    pub bind_address: IpAddr,
    pub secure_port: u16,
    pub tls_cert_file: Option<PathBuf>,
    pub tls_private_key_file: Option<PathBuf>,
    pub cert_dir: PathBuf,
    pub disable_http2: bool,
    /// Ask clients for a certificate (without requiring one) for delegated authentication.
    pub request_client_certificates: bool,
    /// `VersionTLS12` or `VersionTLS13` (Go's names); TLS 1.0 and 1.1 are not offered.
    pub tls_min_version: String,
    /// IANA names of TLS 1.2 suites; empty = the defaults. TLS 1.3 suites are always on, as in Go.
    pub tls_cipher_suites: Vec<String>,
    /// `--tls-sni-cert-key`: `cert,key[:name1,name2]`; without names, the certificate's DNS SANs.
    pub tls_sni_cert_keys: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("unable to read serving certificate {path}: {message}")]
    Certificate { path: String, message: String },
    #[error("unable to generate a self-signed certificate in {dir}: {message}")]
    SelfSigned { dir: String, message: String },
    #[error("invalid --tls-min-version {0:?}: use VersionTLS12 or VersionTLS13")]
    TlsVersion(String),
    #[error("none of --tls-cipher-suites is supported: {0}")]
    CipherSuites(String),
    #[error("invalid --tls-sni-cert-key {0:?}: expected cert,key[:name1,name2]")]
    SniFlag(String),
    #[error("invalid serving certificate: {0}")]
    Tls(#[from] rustls::Error),
    #[error("unable to listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// The serving certificate chain and key: from files, or generated once into `cert_dir`.
pub fn load_or_generate_cert(
    options: &Options,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), ServeError> {
    let (cert_path, key_path) = match (&options.tls_cert_file, &options.tls_private_key_file) {
        (Some(cert), Some(key)) => (cert.clone(), key.clone()),
        _ => {
            let cert = options.cert_dir.join("apiserver.crt");
            let key = options.cert_dir.join("apiserver.key");
            if !(cert.exists() && key.exists()) {
                generate_self_signed(&options.cert_dir, &cert, &key, options.bind_address)?;
            }
            (cert, key)
        }
    };
    read_pair(&cert_path, &key_path)
}

/// A PEM certificate chain and private key from files.
fn read_pair(
    cert_path: &Path,
    key_path: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), ServeError> {
    let read_err = |path: &Path, message: String| ServeError::Certificate {
        path: path.display().to_string(),
        message,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_path)
        .map_err(|e| read_err(cert_path, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| read_err(cert_path, e.to_string()))?;
    if chain.is_empty() {
        return Err(read_err(cert_path, "no certificate found".into()));
    }
    let key =
        PrivateKeyDer::from_pem_file(key_path).map_err(|e| read_err(key_path, e.to_string()))?;
    Ok((chain, key))
}

fn generate_self_signed(
    dir: &Path,
    cert: &Path,
    key: &Path,
    bind: IpAddr,
) -> Result<(), ServeError> {
    let fail = |message: String| ServeError::SelfSigned {
        dir: dir.display().to_string(),
        message,
    };
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    if !bind.is_unspecified() && !bind.is_loopback() {
        names.push(bind.to_string());
    }
    let generated = rcgen::generate_simple_self_signed(names).map_err(|e| fail(e.to_string()))?;
    std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
    std::fs::write(cert, generated.cert.pem()).map_err(|e| fail(e.to_string()))?;
    std::fs::write(key, generated.signing_key.serialize_pem()).map_err(|e| fail(e.to_string()))?;
    tracing::info!(dir = %dir.display(), "generated a self-signed serving certificate");
    Ok(())
}

/// Binds the listener; split from `serve` so start-up errors surface before anything runs.
pub async fn bind(options: &Options) -> Result<(TcpListener, TlsAcceptor), ServeError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let resolver = Arc::new(ReloadingCert::new(options)?);
    resolver.clone().spawn_reload();
    let provider = crypto_provider(&options.tls_cipher_suites)?;
    let versions: &[&rustls::SupportedProtocolVersion] = match options.tls_min_version.as_str() {
        "" | "VersionTLS10" | "VersionTLS11" | "VersionTLS12" => {
            &[&rustls::version::TLS13, &rustls::version::TLS12]
        }
        "VersionTLS13" => &[&rustls::version::TLS13],
        other => return Err(ServeError::TlsVersion(other.to_string())),
    };
    if matches!(
        options.tls_min_version.as_str(),
        "VersionTLS10" | "VersionTLS11"
    ) {
        tracing::warn!(requested = %options.tls_min_version, "TLS 1.0 and 1.1 are not offered; the minimum is TLS 1.2");
    }
    let builder = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)?;
    let builder = if options.request_client_certificates {
        builder.with_client_cert_verifier(Arc::new(auth::RequestClientCert::new()))
    } else {
        builder.with_no_client_auth()
    };
    let mut config = builder.with_cert_resolver(resolver);
    config.alpn_protocols = if options.disable_http2 {
        vec![b"http/1.1".to_vec()]
    } else {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    };
    let address = SocketAddr::new(options.bind_address, options.secure_port);
    let listener = TcpListener::bind(address)
        .await
        .map_err(|source| ServeError::Bind { address, source })?;
    Ok((listener, TlsAcceptor::from(Arc::new(config))))
}

/// ring with the TLS 1.2 suites named (Go/IANA names); names rustls does not implement (the CBC
/// and 3DES suites of the reference's manifests) are skipped with a warning.
fn crypto_provider(names: &[String]) -> Result<rustls::crypto::CryptoProvider, ServeError> {
    let mut provider = rustls::crypto::ring::default_provider();
    let names: Vec<&str> = names
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .collect();
    if names.is_empty() {
        return Ok(provider);
    }
    let name_of = |suite: &rustls::SupportedCipherSuite| format!("{:?}", suite.suite());
    let unsupported: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !provider.cipher_suites.iter().any(|s| name_of(s) == *n))
        .collect();
    if !unsupported.is_empty() {
        tracing::warn!(
            ?unsupported,
            "ignoring cipher suites this TLS implementation does not offer"
        );
    }
    provider
        .cipher_suites
        .retain(|s| s.version() == &rustls::version::TLS13 || names.contains(&name_of(s).as_str()));
    if !provider
        .cipher_suites
        .iter()
        .any(|s| s.version() == &rustls::version::TLS12)
    {
        return Err(ServeError::CipherSuites(names.join(",")));
    }
    Ok(provider)
}

/// The serving certificate, re-read when its files change (cert-manager and kubelet rotate
/// them in place); a bad new pair keeps the old one.
#[derive(Debug)]
struct ReloadingCert {
    current: arc_swap::ArcSwap<rustls::sign::CertifiedKey>,
    files: Option<(PathBuf, PathBuf)>,
    /// Server name (lower case; `*.example.com` wildcards allowed) → certificate.
    sni: Vec<(String, Arc<rustls::sign::CertifiedKey>)>,
}

impl ReloadingCert {
    fn new(options: &Options) -> Result<Self, ServeError> {
        let (chain, key) = load_or_generate_cert(options)?;
        let files = match (&options.tls_cert_file, &options.tls_private_key_file) {
            (Some(c), Some(k)) => Some((c.clone(), k.clone())),
            _ => None,
        };
        let mut sni = Vec::new();
        for flag in &options.tls_sni_cert_keys {
            let (files, names) = flag.split_once(':').unwrap_or((flag.as_str(), ""));
            let (cert, key) = files
                .split_once(',')
                .ok_or_else(|| ServeError::SniFlag(flag.clone()))?;
            let (sni_chain, sni_key) = read_pair(Path::new(cert.trim()), Path::new(key.trim()))?;
            let mut names: Vec<String> = names
                .split(',')
                .map(|n| n.trim().to_ascii_lowercase())
                .filter(|n| !n.is_empty())
                .collect();
            if names.is_empty() {
                names = dns_names(&sni_chain[0]);
            }
            let certified = Arc::new(certified_key(sni_chain, sni_key)?);
            sni.extend(names.into_iter().map(|n| (n, certified.clone())));
        }
        Ok(ReloadingCert {
            current: arc_swap::ArcSwap::from_pointee(certified_key(chain, key)?),
            files,
            sni,
        })
    }

    fn spawn_reload(self: Arc<Self>) {
        let Some((cert, key)) = self.files.clone() else {
            return;
        };
        let stamp = move || {
            let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
            (modified(&cert), modified(&key))
        };
        tokio::spawn(async move {
            let mut last = stamp();
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                let now = stamp();
                if now == last {
                    continue;
                }
                last = now;
                let Some((cert_path, key_path)) = &self.files else {
                    return;
                };
                let loaded = read_pair(cert_path, key_path)
                    .and_then(|(chain, key)| certified_key(chain, key));
                match loaded {
                    Ok(certified) => {
                        self.current.store(Arc::new(certified));
                        tracing::info!(cert = %cert_path.display(), "reloaded the serving certificate");
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "keeping the previous serving certificate")
                    }
                }
            }
        });
    }
}

impl rustls::server::ResolvesServerCert for ReloadingCert {
    fn resolve(
        &self,
        hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        if let Some(name) = hello.server_name().map(str::to_ascii_lowercase) {
            let wildcard = name.split_once('.').map(|(_, rest)| format!("*.{rest}"));
            let exact = self.sni.iter().find(|(n, _)| *n == name);
            let found =
                exact.or_else(|| self.sni.iter().find(|(n, _)| Some(n) == wildcard.as_ref()));
            if let Some((_, certified)) = found {
                return Some(certified.clone());
            }
        }
        Some(self.current.load_full())
    }
}

/// The DNS subject alternative names of a certificate.
fn dns_names(cert: &CertificateDer<'_>) -> Vec<String> {
    let Ok((_, parsed)) = x509_parser::parse_x509_certificate(cert.as_ref()) else {
        return vec![];
    };
    let Ok(Some(san)) = parsed.subject_alternative_name() else {
        return vec![];
    };
    san.value
        .general_names
        .iter()
        .filter_map(|n| match n {
            x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

fn certified_key(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<rustls::sign::CertifiedKey, ServeError> {
    let provider = rustls::crypto::ring::default_provider();
    Ok(rustls::sign::CertifiedKey::from_der(chain, key, &provider)?)
}

/// Serves `router` until `shutdown` resolves; then stops accepting and lets open requests finish.
pub async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    router: Router,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut connections = tokio::task::JoinSet::new();
    // Tells every open connection to finish: HTTP/1.1 closes after the response in flight,
    // HTTP/2 sends GOAWAY. Without it, idle keep-alive connections (the aggregator keeps
    // some) would hold the shutdown for the whole grace period.
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    // [HTTP/1.1, HTTP/2], configured once and shared by every connection.
    let builders = Arc::new([connection_builder(false), connection_builder(true)]);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        let watcher = graceful.watcher();
        let builders = builders.clone();
        connections.spawn(async move {
            let tls = match tokio::time::timeout(
                std::time::Duration::from_secs(10),
                acceptor.accept(stream),
            )
            .await
            {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            let peer_certificates = tls
                .get_ref()
                .1
                .peer_certificates()
                .map(|chain| chain.iter().map(|c| c.clone().into_owned()).collect())
                .unwrap_or_default();
            let service = TowerToHyperService::new(router.layer(axum::Extension(
                auth::PeerCertificates(Arc::new(peer_certificates)),
            )));
            // ALPN decides the protocol, as in Go's server: no guessing from the first bytes.
            let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
            let builder = &builders[usize::from(h2)];
            let io = TokioIo::new(FirstByteDeadline::new(tls, FIRST_BYTE_TIMEOUT));
            let connection = builder.serve_connection(io, service);
            if let Err(e) = watcher.watch(connection).await {
                tracing::debug!(%peer, error = %e, "connection closed with an error");
            }
        });
        while connections.try_join_next().is_some() {}
    }
    tracing::info!("shutting down: no new connections, waiting up to 60s for open requests");
    let _ = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        graceful.shutdown().await;
        while connections.join_next().await.is_some() {}
    })
    .await;
}

// === Limits ===

/// How long a client may take to send a request's headers (slowloris), as the Kubernetes API
/// server's `ReadHeaderTimeout`. hyper starts it when it begins waiting for a request, so an
/// HTTP/1.1 keep-alive connection idle this long is closed too; clients reconnect.
const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(32);
/// How long a connection may stay silent after its TLS handshake (HTTP/2 has no header
/// timeout for a client that never sends its preface).
const FIRST_BYTE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// The most a request line and headers may take, as Go's `DefaultMaxHeaderBytes` (1 MiB); also
/// the HTTP/2 header list limit. Beyond it: 431.
const MAX_HEADER_BYTES: usize = 1 << 20;
/// Header fields per HTTP/1.1 request. Go has no count limit, and the aggregator sends one
/// `X-Remote-Group` per group, so this is well above hyper's 100; beyond it: 431.
const MAX_HEADERS: usize = 1024;
/// Request bodies above this are refused with 413, as the API server's
/// `--max-request-body-bytes` default. The API is read-only: no handler reads a body.
const MAX_REQUEST_BODY_BYTES: u64 = 3 << 20;

fn connection_builder(h2: bool) -> hyper_util::server::conn::auto::Builder<TokioExecutor> {
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_HEADER_BYTES)
        .max_headers(MAX_HEADERS);
    builder
        .http2()
        .timer(hyper_util::rt::TokioTimer::new())
        .max_header_list_size(MAX_HEADER_BYTES as u32);
    if h2 {
        builder.http2_only()
    } else {
        builder.http1_only()
    }
}

/// Fails reads with `TimedOut` if the peer sends nothing within a deadline; once a byte has
/// arrived it is a plain pass-through.
struct FirstByteDeadline<T> {
    inner: T,
    deadline: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl<T> FirstByteDeadline<T> {
    fn new(inner: T, timeout: std::time::Duration) -> Self {
        FirstByteDeadline {
            inner,
            deadline: Some(Box::pin(tokio::time::sleep(timeout))),
        }
    }
}

impl<T: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for FirstByteDeadline<T> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::task::Poll;
        let before = buf.filled().len();
        let this = &mut *self;
        match std::pin::Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    this.deadline = None;
                }
                Poll::Ready(result)
            }
            Poll::Pending => match this.deadline.as_mut().map(|d| d.as_mut().poll(cx)) {
                Some(Poll::Ready(())) => Poll::Ready(Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "no request within the first-byte timeout",
                ))),
                _ => Poll::Pending,
            },
        }
    }
}

impl<T: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for FirstByteDeadline<T> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Records every request in the self-metrics; the outermost layer, so rejections by the
/// limits and by authentication are counted too.
pub fn instrument(router: Router) -> Router {
    router.layer(axum::middleware::from_fn(record_request))
}

async fn record_request(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = std::time::Instant::now();
    let (group, version) = api_group_version(request.uri().path());
    let method = match *request.method() {
        http::Method::GET => "GET",
        http::Method::HEAD => "HEAD",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::PATCH => "PATCH",
        http::Method::DELETE => "DELETE",
        http::Method::OPTIONS => "OPTIONS",
        _ => "other",
    };
    let response = next.run(request).await;
    crate::telemetry::metrics().observe_request(
        crate::telemetry::RequestLabels {
            group,
            version,
            method,
            code: response.status().as_u16(),
        },
        started.elapsed(),
    );
    response
}

/// The API group and version a path addresses, limited to the groups this server serves so
/// that arbitrary paths cannot mint new label values.
fn api_group_version(path: &str) -> (&'static str, &'static str) {
    const GROUPS: [&str; 3] = [
        "custom.metrics.k8s.io",
        "external.metrics.k8s.io",
        "metrics.k8s.io",
    ];
    const VERSIONS: [&str; 3] = ["v1beta1", "v1beta2", "v1"];
    let mut parts = path.trim_start_matches('/').split('/');
    if parts.next() != Some("apis") {
        return ("", "");
    }
    let Some(group) = parts
        .next()
        .and_then(|g| GROUPS.into_iter().find(|k| *k == g))
    else {
        return ("", "");
    };
    let version = parts
        .next()
        .and_then(|v| VERSIONS.into_iter().find(|k| *k == v))
        .unwrap_or("");
    (group, version)
}

/// Serves `/metrics` alone over plain HTTP, without authentication, for scrapers that cannot
/// present credentials to the secure port (`--metrics-bind-address`).
pub async fn serve_plain_metrics(listener: tokio::net::TcpListener) {
    let router = Router::new().route("/metrics", axum::routing::get(crate::api::self_metrics));
    if let Err(e) = axum::serve(listener, router).await {
        tracing::error!(error = %e, "the plain metrics listener stopped");
    }
}

/// Max in-flight requests (429 beyond) and a per-request timeout (504), as the Kubernetes
/// generic API server applies them before authentication.
#[derive(Debug)]
pub struct Limits {
    in_flight: tokio::sync::Semaphore,
    timeout: std::time::Duration,
}

impl Limits {
    pub fn new(max_in_flight: usize, timeout: std::time::Duration) -> Self {
        Limits {
            in_flight: tokio::sync::Semaphore::new(max_in_flight.max(1)),
            timeout,
        }
    }

    /// Wraps a router; add it after the authentication layer so it runs first.
    pub fn layer(self, router: Router) -> Router {
        router.layer(axum::middleware::from_fn_with_state(Arc::new(self), limit))
    }
}

async fn limit(
    axum::extract::State(limits): axum::extract::State<Arc<Limits>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let declared_body = request
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_body.is_some_and(|length| length > MAX_REQUEST_BODY_BYTES) {
        return crate::api::ApiError::RequestEntityTooLarge(MAX_REQUEST_BODY_BYTES).into_response();
    }
    // Health checks must answer even when the server is saturated.
    let health = matches!(request.uri().path(), "/healthz" | "/livez" | "/readyz");
    let _permit = match limits.in_flight.try_acquire() {
        Ok(permit) => Some(permit),
        Err(_) if health => None,
        Err(_) => return crate::api::ApiError::TooManyRequests.into_response(),
    };
    match tokio::time::timeout(limits.timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => crate::api::ApiError::Timeout.into_response(),
    }
}
