//! Prometheus behind a TLS reverse proxy that checks credentials, as auth proxies
//! (kube-rbac-proxy, oauth2-proxy, managed services) do: bearer tokens (rotated without a
//! restart), basic auth from URL user-info and from the new flags, client certificates
//! (reloaded when the files change), a kubeconfig's credentials and CA
//! (`--prometheus-auth-config`), the precedence between sources, and the adapter end to end.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use prometheus_adapter::prometheus::{Client, ClientOptions, KubeAuth, SeriesDetail, Verb};
use support::*;

#[derive(Clone)]
enum Check {
    Bearer(Arc<Mutex<String>>),
    Basic(&'static str, &'static str),
    /// Only the TLS handshake checks: a client certificate from the client CA is required.
    ClientCert,
}

struct AuthProxy {
    url: String,
    /// The proxy's serving CA (PEM).
    server_ca: String,
    rejected: Arc<AtomicUsize>,
}

/// A CA and a serving certificate for 127.0.0.1 signed by it: (CA PEM, chain PEM, key PEM).
fn server_pki() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, SanType};
    let mut ca_params = CertificateParams::new(vec![]).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".into()]).unwrap();
    params
        .subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    let cert = params.signed_by(&key, &ca).unwrap();
    (ca.pem(), cert.pem(), key.serialize_pem())
}

async fn start_proxy(upstream: String, check: Check, client_ca: Option<&str>) -> AuthProxy {
    use rustls_pki_types::pem::PemObject as _;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (server_ca, chain, key) = server_pki();
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain.as_bytes())
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
    let builder = rustls::ServerConfig::builder();
    let config = match client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
                roots.add(cert.unwrap()).unwrap();
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
                .build()
                .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    }
    .with_single_cert(chain, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let rejected = Arc::new(AtomicUsize::new(0));
    let http = reqwest::Client::new();
    let app = {
        let rejected = rejected.clone();
        axum::Router::new().fallback(move |request: axum::extract::Request| {
            let (check, rejected, http, upstream) = (
                check.clone(),
                rejected.clone(),
                http.clone(),
                upstream.clone(),
            );
            async move {
                let auth = request
                    .headers()
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let ok = match &check {
                    Check::Bearer(token) => auth == format!("Bearer {}", token.lock().unwrap()),
                    Check::Basic(user, password) => {
                        use base64::Engine as _;
                        let encoded = base64::engine::general_purpose::STANDARD
                            .encode(format!("{user}:{password}"));
                        auth == format!("Basic {encoded}")
                    }
                    Check::ClientCert => true,
                };
                if !ok {
                    rejected.fetch_add(1, Ordering::SeqCst);
                    return (axum::http::StatusCode::UNAUTHORIZED, "no").into_response();
                }
                forward(&http, &upstream, request).await.into_response()
            }
        })
    };
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                // A refused handshake (no or wrong client certificate) is the test's point.
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper_util::service::TowerToHyperService::new(app);
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await;
            });
        }
    });
    AuthProxy {
        url: format!("https://{addr}"),
        server_ca,
        rejected,
    }
}

use axum::response::IntoResponse as _;

fn options(url: &str, ca_file: Option<&Path>) -> ClientOptions {
    ClientOptions {
        url: url.parse().unwrap(),
        verb: Verb::Get,
        headers: vec![],
        token_file: None,
        basic_auth: None,
        kube_auth: None,
        ca_file: ca_file.map(Path::to_path_buf),
        client_cert_file: None,
        client_key_file: None,
        timeout: Duration::from_secs(5),
        max_response_bytes: 1 << 30,
        query_params: vec![],
    }
}

async fn series_count(client: &Client) -> Result<usize, String> {
    client
        .series(
            "{__name__=\"up\"}",
            SystemTime::now() - Duration::from_secs(600),
            SeriesDetail::Full,
        )
        .await
        .map(|s| s.len())
        .map_err(|e| e.to_string())
}

struct Upstream {
    prometheus: Prometheus,
    dir: tempfile::TempDir,
}

fn upstream() -> Upstream {
    let exporter = start_exporter(vec![gauge(
        "queue_length",
        r#"namespace="shop",service="orders""#,
        12.0,
    )]);
    let prometheus = Prometheus::start(&[exporter]);
    prometheus.wait_for_query("up");
    Upstream {
        prometheus,
        dir: tempfile::tempdir().unwrap(),
    }
}

impl Upstream {
    fn write(&self, name: &str, content: &str) -> std::path::PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path
    }
}

/// Moves a file's modification time forward, as a rewrite by the kubelet would.
fn touch_later(path: &Path, seconds: u64) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(SystemTime::now() + Duration::from_secs(seconds))
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_token_rotation_without_restart() {
    let up = tokio::task::spawn_blocking(upstream).await.unwrap();
    let token = Arc::new(Mutex::new("one".to_string()));
    let proxy = start_proxy(up.prometheus.url(), Check::Bearer(token.clone()), None).await;
    let ca = up.write("ca.pem", &proxy.server_ca);
    let token_file = up.write("token", "one\n");
    let client = Client::new(&ClientOptions {
        token_file: Some(token_file.clone()),
        ..options(&proxy.url, Some(&ca))
    })
    .unwrap();
    assert_eq!(series_count(&client).await, Ok(1));
    // The server rotates first: refused, and the error says what happened.
    *token.lock().unwrap() = "two".into();
    let err = series_count(&client).await.unwrap_err();
    assert!(err.contains("401"), "{err}");
    // Then the projected token file is rewritten: picked up on the next call.
    std::fs::write(&token_file, "two\n").unwrap();
    touch_later(&token_file, 5);
    assert_eq!(series_count(&client).await, Ok(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_from_url_and_from_flags() {
    let up = tokio::task::spawn_blocking(upstream).await.unwrap();
    let proxy = start_proxy(
        up.prometheus.url(),
        Check::Basic("adapter", "p@ss:word"),
        None,
    )
    .await;
    let ca = up.write("ca.pem", &proxy.server_ca);
    let with_userinfo = proxy
        .url
        .replace("https://", "https://adapter:p%40ss%3Aword@");
    let client = Client::new(&options(&with_userinfo, Some(&ca))).unwrap();
    assert_eq!(series_count(&client).await, Ok(1));
    assert!(
        !client.url().contains("p%40ss"),
        "no credentials in {}",
        client.url()
    );
    let password = up.write("password", "p@ss:word\n");
    let client = Client::new(&ClientOptions {
        basic_auth: Some(("adapter".into(), password)),
        ..options(&proxy.url, Some(&ca))
    })
    .unwrap();
    assert_eq!(series_count(&client).await, Ok(1));
    let wrong = up.write("wrong", "nope");
    let client = Client::new(&ClientOptions {
        basic_auth: Some(("adapter".into(), wrong)),
        ..options(&proxy.url, Some(&ca))
    })
    .unwrap();
    assert!(series_count(&client).await.unwrap_err().contains("401"));
    assert_eq!(proxy.rejected.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_and_their_reload() {
    let up = tokio::task::spawn_blocking(upstream).await.unwrap();
    let trusted = client_pki("trusted-ca", "adapter", &[]);
    let foreign = client_pki("foreign-ca", "adapter", &[]);
    let proxy = start_proxy(up.prometheus.url(), Check::ClientCert, Some(&trusted.ca)).await;
    let ca = up.write("ca.pem", &proxy.server_ca);
    // No certificate: the handshake fails, reported as a transport error.
    let client = Client::new(&options(&proxy.url, Some(&ca))).unwrap();
    let err = series_count(&client).await.unwrap_err();
    assert!(
        err.contains("request to") && err.contains("failed"),
        "{err}"
    );
    // A certificate from a CA the server does not trust: refused too.
    let cert = up.write("client.crt", &foreign.cert);
    let key = up.write("client.key", &foreign.key);
    let client = Client::new(&ClientOptions {
        client_cert_file: Some(cert.clone()),
        client_key_file: Some(key.clone()),
        ..options(&proxy.url, Some(&ca))
    })
    .unwrap();
    assert!(series_count(&client).await.is_err());
    // The files are replaced by a trusted pair (cert-manager renewing): used without a restart.
    std::fs::write(&cert, &trusted.cert).unwrap();
    std::fs::write(&key, &trusted.key).unwrap();
    touch_later(&cert, 5);
    touch_later(&key, 5);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(series_count(&client).await, Ok(1));
    // The wrong CA for the server: a clear transport error, not a hang.
    let other_ca = up.write("other-ca.pem", &server_pki().0);
    let client = Client::new(&options(&proxy.url, Some(&other_ca))).unwrap();
    assert!(series_count(&client).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubeconfig_credentials_and_ca() {
    use base64::Engine as _;
    let up = tokio::task::spawn_blocking(upstream).await.unwrap();
    let token = Arc::new(Mutex::new("kube-token".to_string()));
    let proxy = start_proxy(up.prometheus.url(), Check::Bearer(token), None).await;
    let ca_data = base64::engine::general_purpose::STANDARD.encode(&proxy.server_ca);
    let kubeconfig = up.write(
        "kubeconfig",
        &format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts:\n- name: c\n  context: {{cluster: k, user: u}}\nclusters:\n- name: k\n  cluster: {{server: 'https://ignored.example', certificate-authority-data: {ca_data}}}\nusers:\n- name: u\n  user: {{token: kube-token}}\n"
        ),
    );
    let kube_auth = KubeAuth::from_kubeconfig(&kubeconfig).unwrap();
    let client = Client::new(&ClientOptions {
        kube_auth: Some(kube_auth.clone()),
        ..options(&proxy.url, None)
    })
    .unwrap();
    assert_eq!(series_count(&client).await, Ok(1));
    // Precedence: a token file beats the kubeconfig's token (here a wrong one: refused).
    let token_file = up.write("token", "not-it");
    let client = Client::new(&ClientOptions {
        kube_auth: Some(kube_auth.clone()),
        token_file: Some(token_file),
        ..options(&proxy.url, None)
    })
    .unwrap();
    assert!(series_count(&client).await.unwrap_err().contains("401"));
    // …and an explicit Authorization header beats both.
    let client = Client::new(&ClientOptions {
        kube_auth: Some(kube_auth),
        token_file: Some(up.write("token2", "not-it")),
        headers: vec![("Authorization".into(), "Bearer kube-token".into())],
        ..options(&proxy.url, None)
    })
    .unwrap();
    assert_eq!(series_count(&client).await, Ok(1));
}

/// The adapter itself, with `--prometheus-auth-config`, serving through the proxy.
#[test]
fn the_adapter_serves_through_an_authenticating_proxy() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let up = upstream();
    let token = Arc::new(Mutex::new("kube-token".to_string()));
    let proxy = runtime.block_on(start_proxy(up.prometheus.url(), Check::Bearer(token), None));
    let ca = up.write("ca.pem", &proxy.server_ca);
    let kubeconfig = up.write(
        "kubeconfig",
        &format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts:\n- name: c\n  context: {{cluster: k, user: u}}\nclusters:\n- name: k\n  cluster: {{server: 'https://ignored.example', certificate-authority: {}}}\nusers:\n- name: u\n  user: {{token: kube-token}}\n",
            ca.display()
        ),
    );
    let rules = "externalRules:\n- seriesQuery: 'queue_length'\n  resources: {namespaced: false}\n  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (service)\n";
    let adapter = Adapter::start(
        rules,
        &[
            format!("--prometheus-url={}", proxy.url),
            format!("--prometheus-auth-config={}", kubeconfig.display()),
        ],
    );
    adapter.wait_ready();
    let answer =
        adapter.get_json("/apis/external.metrics.k8s.io/v1beta1/namespaces/any/queue_length");
    assert_eq!(answer["items"][0]["value"], "12", "{answer}");
    assert_eq!(proxy.rejected.load(Ordering::SeqCst), 0);
    drop(runtime);
}
