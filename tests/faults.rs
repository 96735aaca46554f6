//! Fault injection between the adapter and a real Prometheus: a proxy that passes answers
//! through or breaks them (status codes, garbage, truncation, oversize, wrong result types,
//! NaN/±Inf samples, slowness), on queries or on discovery. For each fault: what the client
//! sees (a 5xx `Status`, never a number), what the self-metrics count, and recovery once the
//! proxy passes again. Discovery faults keep the last registry.

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::*;

#[derive(Clone, Debug, PartialEq)]
enum Fault {
    Pass,
    Status(u16, &'static str),
    Body(&'static str),
    Truncated,
    Huge,
    Slow(Duration),
}

#[derive(Clone, Default)]
struct Faults {
    query: Arc<Mutex<Option<Fault>>>,
    series: Arc<Mutex<Option<Fault>>>,
}

fn start_fault_proxy(upstream: SocketAddr, faults: Faults) -> SocketAddr {
    let http = reqwest::Client::new();
    serve_in_background(
        axum::Router::new().fallback(move |request: axum::extract::Request| {
            let (faults, http) = (faults.clone(), http.clone());
            async move {
                let fault = if request.uri().path().ends_with("/query") {
                    faults.query.lock().unwrap().clone()
                } else {
                    faults.series.lock().unwrap().clone()
                }
                .unwrap_or(Fault::Pass);
                let (_, real) = forward(&http, &format!("http://{upstream}"), request).await;
                let ok = axum::http::StatusCode::OK;
                match fault {
                    Fault::Pass => (ok, real.to_vec()),
                    Fault::Status(code, body) => (
                        axum::http::StatusCode::from_u16(code).unwrap(),
                        body.as_bytes().to_vec(),
                    ),
                    Fault::Body(body) => (ok, body.as_bytes().to_vec()),
                    Fault::Truncated => (ok, real[..real.len() / 2].to_vec()),
                    Fault::Huge => (ok, vec![b' '; 300_000]),
                    Fault::Slow(delay) => {
                        tokio::time::sleep(delay).await;
                        (ok, real.to_vec())
                    }
                }
            }
        }),
    )
}

const RULES: &str = "rules:\n- seriesQuery: 'http_requests_total'\n  resources: {template: <<.Resource>>}\n  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[5s])) by (<<.GroupBy>>)\n";
const ONE: &str =
    "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/web-1/http_requests_total";
const ALL: &str = "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/*/http_requests_total";

fn counter_value(adapter: &Adapter, series: &str) -> f64 {
    sample_value(&adapter.self_metrics(), series).unwrap_or(0.0)
}

#[test]
fn prometheus_faults_give_errors_never_numbers_and_recover() {
    let exporter = start_exporter(vec![
        counter(
            "http_requests_total",
            r#"namespace="shop",pod="web-1""#,
            2.0,
        ),
        counter(
            "http_requests_total",
            r#"namespace="shop",pod="web-2""#,
            4.0,
        ),
    ]);
    let prometheus = Prometheus::start(&[exporter]);
    prometheus.wait_for_query("count_over_time(http_requests_total[5s]) >= 4");
    let faults = Faults::default();
    let proxy = start_fault_proxy(prometheus.addr, faults.clone());
    let adapter = Adapter::start(
        RULES,
        &[
            format!("--prometheus-url=http://{proxy}"),
            "--prometheus-timeout=1s".into(),
            "--prometheus-max-response-bytes=100000".into(),
        ],
    );
    adapter.wait_ready();
    assert_eq!(adapter.get(ONE).0, 0, "{}", adapter.log());

    // (fault on instant queries, the self-metrics result it is counted under)
    let cases: [(Fault, &str); 9] = [
        (Fault::Status(500, "boom"), "status_5xx"),
        (
            Fault::Status(
                503,
                r#"{"status":"error","errorType":"unavailable","error":"shutting down"}"#,
            ),
            "api_error",
        ),
        (
            Fault::Status(
                422,
                r#"{"status":"error","errorType":"execution","error":"query timed out"}"#,
            ),
            "api_error",
        ),
        (Fault::Body("<html>proxy error</html>"), "decode"),
        (Fault::Truncated, "decode"),
        (Fault::Huge, "too_large"),
        (
            Fault::Body(r#"{"status":"success","data":{"resultType":"string","result":[1,"x"]}}"#),
            "result_type",
        ),
        (
            Fault::Body(r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#),
            "ok",
        ),
        (Fault::Slow(Duration::from_secs(3)), "timeout"),
    ];
    for (fault, counted) in cases {
        let label = format!(
            "prometheus_adapter_prometheus_requests_total{{endpoint=\"query\",result=\"{counted}\"}}"
        );
        let before = counter_value(&adapter, &label);
        *faults.query.lock().unwrap() = Some(fault.clone());
        for path in [ONE, ALL] {
            let (code, stdout, stderr) = adapter.get(path);
            assert_ne!(code, 0, "{fault:?} {path}: answered {stdout}");
            assert!(stdout.is_empty(), "{fault:?}: no partial answer: {stdout}");
            assert!(
                stderr.contains("unable to fetch metrics")
                    || stderr.contains("encountered an unexpected query result type")
                    || stderr.contains("InternalError"),
                "{fault:?} {path}: {stderr}"
            );
        }
        assert!(
            counter_value(&adapter, &label) > before,
            "{fault:?} not counted as {counted}"
        );
        *faults.query.lock().unwrap() = None;
        let answer = adapter.get_json(ONE);
        let value = quantity_value(answer["items"][0]["value"].as_str().unwrap());
        assert!(
            (value - 2.0).abs() < 0.5,
            "recovered after {fault:?}: {answer}"
        );
    }
    assert!(
        adapter
            .log()
            .contains("unable to fetch metrics from prometheus")
    );

    // NaN and ±Inf are never answered as numbers: the object simply has no value.
    for value in ["NaN", "+Inf", "-Inf"] {
        let body: &'static str = Box::leak(
            format!(
                r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{"pod":"web-1"}},"value":[1700000000,"{value}"]}},{{"metric":{{"pod":"web-2"}},"value":[1700000000,"4"]}}]}}}}"#
            )
            .into_boxed_str(),
        );
        *faults.query.lock().unwrap() = Some(Fault::Body(body));
        let (code, stdout, stderr) = adapter.get(ONE);
        assert_ne!(code, 0, "{value}: {stdout}");
        assert!(
            stderr.contains("NotFound") || stderr.contains("not find"),
            "{value}: {stderr}"
        );
        let all = adapter.get_json(ALL);
        let names: Vec<&str> = all["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["describedObject"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["web-2"], "{value}: {all}");
    }
    *faults.query.lock().unwrap() = None;

    // Discovery faults: every relist fails, the registry is kept, requests keep working.
    let failures = "prometheus_adapter_discovery_failures_total{kind=\"custom\"}";
    let before = counter_value(&adapter, failures);
    for fault in [
        Fault::Status(500, "boom"),
        Fault::Body("garbage"),
        Fault::Truncated,
        Fault::Huge,
    ] {
        *faults.series.lock().unwrap() = Some(fault.clone());
        let seen = counter_value(&adapter, failures);
        wait_for(
            &format!("a failed relist under {fault:?}"),
            Duration::from_secs(30),
            || counter_value(&adapter, failures) > seen,
        );
        let answer = adapter.get_json(ALL);
        assert_eq!(
            answer["items"].as_array().unwrap().len(),
            2,
            "{fault:?}: {answer}"
        );
    }
    assert!(counter_value(&adapter, failures) >= before + 4.0);
    assert!(
        adapter
            .log()
            .contains("unable to update list of all metrics")
    );
    *faults.series.lock().unwrap() = None;
    let last = "prometheus_adapter_discovery_last_success_timestamp_seconds{kind=\"custom\"}";
    let stale = counter_value(&adapter, last);
    wait_for(
        "a successful relist after the faults",
        Duration::from_secs(30),
        || counter_value(&adapter, last) > stale,
    );
}
