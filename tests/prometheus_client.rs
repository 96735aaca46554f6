//! The Prometheus client's resilience, against a fault-injecting fake (the real Prometheus
//! cannot rotate tokens, fail on demand or answer oversized bodies): bearer-token rotation,
//! the response-size limit, POST for long queries, and retries of discovery calls.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::extract::Request;
use axum::routing::any;
use prometheus_adapter::config::Config;
use prometheus_adapter::discovery;
use prometheus_adapter::naming::{RuleSet, StaticMapper};
use prometheus_adapter::prometheus::{Backends, Client, ClientOptions, Error, SeriesDetail, Verb};

#[derive(Default)]
struct Seen {
    /// (method, Authorization header, body + query length)
    requests: Mutex<Vec<(String, String, usize)>>,
    /// Answer 500 to this many series calls first.
    failures: AtomicUsize,
    /// Pad answers to this many bytes.
    pad: AtomicUsize,
}

async fn fake(seen: Arc<Seen>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handler = move |request: Request| {
        let seen = seen.clone();
        async move {
            let method = request.method().to_string();
            let auth = request
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let query_len = request.uri().query().map_or(0, str::len);
            let body = axum::body::to_bytes(request.into_body(), usize::MAX)
                .await
                .unwrap();
            seen.requests
                .lock()
                .unwrap()
                .push((method, auth, query_len + body.len()));
            if seen.failures.load(Ordering::SeqCst) > 0 {
                seen.failures.fetch_sub(1, Ordering::SeqCst);
                return (
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    String::from("boom"),
                );
            }
            let pad = " ".repeat(seen.pad.load(Ordering::SeqCst));
            (
                axum::http::StatusCode::OK,
                format!(r#"{{"status":"success","data":[{{"__name__":"q","pod":"p"}}]{pad}}}"#),
            )
        }
    };
    let app = axum::Router::new()
        .route("/api/v1/series", any(handler.clone()))
        .route("/api/v1/query", any(handler));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn client(url: &str, token_file: Option<&Path>, max_response_bytes: usize) -> Client {
    Client::new(&ClientOptions {
        url: url.parse().unwrap(),
        verb: Verb::Get,
        headers: vec![],
        token_file: token_file.map(Path::to_path_buf),
        basic_auth: None,
        kube_auth: None,
        ca_file: None,
        client_cert_file: None,
        client_key_file: None,
        timeout: Duration::from_secs(5),
        max_response_bytes,
        query_params: vec![],
    })
    .unwrap()
}

#[tokio::test]
async fn bearer_tokens_are_re_read_when_the_file_changes() {
    let seen = Arc::new(Seen::default());
    let url = fake(seen.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "first\n").unwrap();
    let client = client(&url, Some(&token), 1 << 20);
    client
        .series("{__name__=\"q\"}", SystemTime::now(), SeriesDetail::Full)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    std::fs::write(&token, "second\n").unwrap();
    client
        .series("{__name__=\"q\"}", SystemTime::now(), SeriesDetail::Full)
        .await
        .unwrap();
    std::fs::remove_file(&token).unwrap();
    client
        .series("{__name__=\"q\"}", SystemTime::now(), SeriesDetail::Full)
        .await
        .unwrap();
    let auths: Vec<String> = seen
        .requests
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.1.clone())
        .collect();
    // Trimmed; rotated without a restart; a vanished file keeps the last good token.
    assert_eq!(auths, ["Bearer first", "Bearer second", "Bearer second"]);
}

#[tokio::test]
async fn oversized_answers_fail_clearly() {
    let seen = Arc::new(Seen::default());
    seen.pad.store(2 << 20, Ordering::SeqCst);
    let url = fake(seen).await;
    let err = client(&url, None, 1 << 20)
        .series("{__name__=\"q\"}", SystemTime::now(), SeriesDetail::Full)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::ResponseTooLarge { limit: 1048576, .. }),
        "{err}"
    );
    assert!(err.to_string().ends_with("exceeds 1048576 bytes"), "{err}");
}

#[tokio::test]
async fn long_get_queries_are_sent_as_post() {
    let seen = Arc::new(Seen::default());
    let url = fake(seen.clone()).await;
    let client = client(&url, None, 1 << 20);
    client
        .series("{__name__=\"q\"}", SystemTime::now(), SeriesDetail::Full)
        .await
        .unwrap();
    let long = format!(
        "{{__name__=\"q\",pod=~\"{}\"}}",
        vec!["pod-name-0000"; 1000].join("|")
    );
    client
        .series(&long, SystemTime::now(), SeriesDetail::Full)
        .await
        .unwrap();
    let methods: Vec<(String, bool)> = seen
        .requests
        .lock()
        .unwrap()
        .iter()
        .map(|r| (r.0.clone(), r.2 > 8 * 1024))
        .collect();
    assert_eq!(
        methods,
        [("GET".to_string(), false), ("POST".to_string(), true)]
    );
}

#[tokio::test]
async fn discovery_retries_transient_failures() {
    let seen = Arc::new(Seen::default());
    seen.failures.store(2, Ordering::SeqCst);
    let url = fake(seen.clone()).await;
    let config = Config::parse(
        Path::new("r.yaml"),
        "rules:\n- seriesQuery: '{__name__=\"q\"}'\n  metricsQuery: x\n",
    )
    .unwrap();
    let rules = RuleSet::compile(&config, Path::new("r.yaml"), &StaticMapper::builtin()).unwrap();
    let client = Backends::new(client(&url, None, 1 << 20), Default::default());
    let series = discovery::fetch_series(
        &client,
        &rules.custom,
        SystemTime::now(),
        SeriesDetail::Full,
    )
    .await
    .unwrap();
    assert_eq!(
        series["{__name__=\"q\"}"].len(),
        1,
        "two 500s, then an answer"
    );
    assert_eq!(seen.requests.lock().unwrap().len(), 3);
    // A third consecutive failure is reported (and the relist keeps the previous registry).
    seen.failures.store(3, Ordering::SeqCst);
    assert!(
        discovery::fetch_series(
            &client,
            &rules.custom,
            SystemTime::now(),
            SeriesDetail::Full
        )
        .await
        .is_err()
    );
}
