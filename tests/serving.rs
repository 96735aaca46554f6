//! Generic serving behaviour: TLS options, the in-flight limit (429), the request timeout
//! (504), and serving-certificate reload. A slow fake Prometheus injects the latency.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use support::*;

const RULES: &str = "rules:\n- seriesQuery: '{__name__=\"q\"}'\n  resources: {template: <<.Resource>>}\n  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)\n";

/// Answers series at once and instant queries after `delay` (fault injection only).
fn slow_prometheus(delay: Duration) -> SocketAddr {
    serve_in_background(
        axum::Router::new()
            .route("/api/v1/series", axum::routing::get(|| async { r#"{"status":"success","data":[{"__name__":"q","namespace":"ns","pod":"p"}]}"# }))
            .route(
                "/api/v1/query",
                axum::routing::get(move || async move {
                    tokio::time::sleep(delay).await;
                    r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod":"p"},"value":[1700000000,"5"]}]}}"#
                }),
            ),
    )
}

const METRIC: &str = "/apis/custom.metrics.k8s.io/v1beta1/namespaces/ns/pods/p/q";

#[test]
fn in_flight_limit_and_request_timeout() {
    let prometheus = slow_prometheus(Duration::from_secs(6));
    let adapter = Arc::new(Adapter::start(
        RULES,
        &[
            format!("--prometheus-url=http://{prometheus}"),
            "--max-requests-inflight=1".into(),
            "--request-timeout=4s".into(),
        ],
    ));
    adapter.wait_ready();
    // One slow request holds the only slot...
    let slow = {
        let adapter = adapter.clone();
        std::thread::spawn(move || adapter.get(METRIC))
    };
    std::thread::sleep(Duration::from_millis(1500));
    // ...so another is refused at once, while health checks still answer.
    let (code, _, stderr) = adapter.get("/apis/custom.metrics.k8s.io/v1beta1");
    assert_ne!(code, 0);
    assert!(
        stderr.contains("Too many requests") || stderr.contains("TooManyRequests"),
        "{stderr}"
    );
    assert_eq!(adapter.get("/healthz").0, 0);
    // The slow one hits the 4s timeout: 504.
    let (code, _, stderr) = slow.join().unwrap();
    assert_ne!(code, 0);
    assert!(
        stderr.contains("Timeout: request did not complete within the allotted timeout"),
        "{stderr}"
    );
    // With the slot free again, fast requests pass.
    assert_eq!(adapter.get("/apis/custom.metrics.k8s.io/v1beta1").0, 0);
}

#[test]
fn tls_options() {
    let prometheus = slow_prometheus(Duration::ZERO);
    // The reference manifests' list, CBC and 3DES suites included (skipped with a warning).
    let suites = "--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,TLS_RSA_WITH_AES_256_CBC_SHA,TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA";
    let adapter = Adapter::start(
        RULES,
        &[
            format!("--prometheus-url=http://{prometheus}"),
            suites.into(),
        ],
    );
    adapter.wait_ready();
    assert_eq!(adapter.get_json(METRIC)["items"][0]["value"], "5");
    assert!(
        adapter.log().contains("ignoring cipher suites"),
        "{}",
        adapter.log()
    );
    let adapter = Adapter::start(
        RULES,
        &[
            format!("--prometheus-url=http://{prometheus}"),
            "--tls-min-version=VersionTLS13".into(),
        ],
    );
    adapter.wait_ready();
    assert_eq!(adapter.get_json(METRIC)["items"][0]["value"], "5");

    for (flag, message) in [
        (
            "--tls-min-version=VersionTLS99",
            "invalid --tls-min-version \"VersionTLS99\"",
        ),
        (
            "--tls-cipher-suites=TLS_RSA_WITH_RC4_128_SHA",
            "none of --tls-cipher-suites is supported",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("c.yaml");
        std::fs::write(&config, RULES).unwrap();
        let out = std::process::Command::new(adapter_binary())
            .args([
                format!("--config={}", config.display()),
                format!("--prometheus-url=http://{prometheus}"),
                format!("--cert-dir={}", dir.path().display()),
                format!("--secure-port={}", free_port()),
                flag.to_string(),
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(255));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(message),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The CN of the certificate the server presents.
fn served_cn(port: u16) -> String {
    served_cn_for(port, "localhost")
}

/// The CN of the certificate the server presents for an SNI server name.
fn served_cn_for(port: u16, server_name: &str) -> String {
    let (config, capture) = insecure_client_config(&[]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let _ = connector
            .connect(
                rustls::pki_types::ServerName::try_from(server_name.to_string()).unwrap(),
                stream,
            )
            .await
            .unwrap();
    });
    let der = capture.seen.lock().unwrap().clone().unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    cert.subject()
        .iter_common_name()
        .next()
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

fn write_serving_cert(dir: &std::path::Path, cn: &str) {
    write_serving_cert_for(dir, cn, "localhost", "tls");
}

fn write_serving_cert_for(dir: &std::path::Path, cn: &str, dns: &str, stem: &str) {
    let mut params = rcgen::CertificateParams::new(vec![dns.to_string()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    // Write the key first so the pair is consistent when the certificate changes.
    std::fs::write(dir.join(format!("{stem}.key.tmp")), key.serialize_pem()).unwrap();
    std::fs::write(dir.join(format!("{stem}.crt.tmp")), cert.pem()).unwrap();
    std::fs::rename(
        dir.join(format!("{stem}.key.tmp")),
        dir.join(format!("{stem}.key")),
    )
    .unwrap();
    std::fs::rename(
        dir.join(format!("{stem}.crt.tmp")),
        dir.join(format!("{stem}.crt")),
    )
    .unwrap();
}

#[test]
fn serving_certificate_reloads_when_its_files_change() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let prometheus = slow_prometheus(Duration::ZERO);
    let certs = tempfile::tempdir().unwrap();
    write_serving_cert(certs.path(), "serving-v1");
    let adapter = Adapter::start(
        RULES,
        &[
            format!("--prometheus-url=http://{prometheus}"),
            format!("--tls-cert-file={}", certs.path().join("tls.crt").display()),
            format!(
                "--tls-private-key-file={}",
                certs.path().join("tls.key").display()
            ),
        ],
    );
    assert_eq!(served_cn(adapter.port), "serving-v1");
    std::thread::sleep(Duration::from_millis(1100));
    write_serving_cert(certs.path(), "serving-v2");
    wait_for("the new certificate", Duration::from_secs(10), || {
        served_cn(adapter.port) == "serving-v2"
    });
    // A broken pair keeps the last good one.
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::write(certs.path().join("tls.crt"), "not a certificate").unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(served_cn(adapter.port), "serving-v2");
    assert!(
        adapter
            .log()
            .contains("keeping the previous serving certificate")
    );
}

#[test]
fn sni_certificates_are_chosen_by_server_name() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let prometheus = slow_prometheus(Duration::ZERO);
    let certs = tempfile::tempdir().unwrap();
    write_serving_cert_for(certs.path(), "internal", "adapter.internal", "internal");
    write_serving_cert_for(certs.path(), "wildcard", "*.svc.example", "wildcard");
    let pair = |stem: &str| {
        format!(
            "{},{}",
            certs.path().join(format!("{stem}.crt")).display(),
            certs.path().join(format!("{stem}.key")).display()
        )
    };
    let adapter = Adapter::start(
        RULES,
        &[
            format!("--prometheus-url=http://{prometheus}"),
            format!("--tls-sni-cert-key={}:adapter.internal", pair("internal")),
            format!("--tls-sni-cert-key={}", pair("wildcard")),
        ],
    );
    assert_eq!(served_cn_for(adapter.port, "adapter.internal"), "internal");
    assert_eq!(
        served_cn_for(adapter.port, "metrics.svc.example"),
        "wildcard"
    );
    assert_ne!(
        served_cn_for(adapter.port, "localhost"),
        "internal",
        "other names get the default certificate"
    );
}

/// SIGTERM: the listener closes, requests in flight finish with their answer, and the process
/// exits promptly (idle keep-alive connections are told to close instead of holding it).
#[test]
fn graceful_shutdown_completes_requests_in_flight() {
    let prometheus = slow_prometheus(Duration::from_secs(3));
    let mut adapter = Adapter::start(RULES, &[format!("--prometheus-url=http://{prometheus}")]);
    adapter.wait_ready();
    let pid = adapter.pid().to_string();
    let kubeconfig = adapter.kubeconfig.clone();
    let in_flight = std::thread::spawn(move || {
        std::process::Command::new("kubectl")
            .arg(format!("--kubeconfig={}", kubeconfig.display()))
            .args(["get", "--raw", METRIC])
            .output()
            .unwrap()
    });
    std::thread::sleep(Duration::from_millis(1000));
    let signalled = std::time::Instant::now();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let out = in_flight.join().unwrap();
    assert!(
        out.status.success(),
        "the request in flight failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        adapter.log()
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"value\":\"5\""));
    wait_for("the adapter to exit", Duration::from_secs(15), || {
        adapter.exit_status().is_some()
    });
    assert_eq!(adapter.exit_status().and_then(|s| s.code()), Some(0));
    assert!(
        signalled.elapsed() < Duration::from_secs(10),
        "{:?}",
        signalled.elapsed()
    );
    // New connections are refused once it is gone.
    assert_ne!(adapter.get("/healthz").0, 0);
}
