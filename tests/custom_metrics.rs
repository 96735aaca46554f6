//! custom.metrics.k8s.io end to end: a real Prometheus, the adapter binary, kubectl as client.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::*;

/// The demo workload (counters at known rates, gauges at known values), plus series with an
/// extra label per pod and a second container.
fn workload() -> Vec<Exposed> {
    let mut series = demo_workload();
    series.extend([
        gauge(
            "disk_usage",
            r#"namespace="shop",pod="web-1",device="sda""#,
            5.0,
        ),
        gauge(
            "disk_usage",
            r#"namespace="shop",pod="web-1",device="sdb""#,
            7.0,
        ),
        gauge(
            "disk_usage",
            r#"namespace="shop",pod="web-2",device="sda""#,
            1.5,
        ),
        gauge(
            "container_memory_working_set_bytes",
            r#"namespace="shop",pod="web-1",container="sidecar""#,
            1048576.0,
        ),
    ]);
    series
}

fn items(list: &Value) -> Vec<(String, String)> {
    list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {list}"))
        .iter()
        .map(|i| {
            (
                i["describedObject"]["name"].as_str().unwrap().to_string(),
                i["value"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[track_caller]
fn assert_close(quantity: &str, expect: f64) {
    let value = quantity_value(quantity);
    assert!(
        (value - expect).abs() <= expect * 0.05,
        "{quantity} is not within 5% of {expect}"
    );
}

fn resource_names(doc: &Value) -> Vec<(String, bool)> {
    doc["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["namespaced"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[test]
fn custom_metrics_against_a_real_prometheus() {
    let exporter = start_exporter(workload());
    let prometheus = Prometheus::start(&[exporter]);
    // rate() over a window the series fully covers is exact for a linear counter, so the rules
    // are the default config with a 5s rate interval, and we wait until 6 samples exist.
    prometheus.wait_for_query("count_over_time(http_requests_total[6s]) >= 6");
    let rules = prometheus_adapter::config::generate_default("", "5s".parse().unwrap());
    let adapter = Adapter::start(&rules, &[format!("--prometheus-url={}", prometheus.url())]);
    adapter.wait_ready();

    // Discovery documents.
    let groups = adapter.get_json("/apis");
    assert_eq!(groups["kind"], "APIGroupList");
    assert_eq!(groups["groups"][0]["name"], "custom.metrics.k8s.io");
    assert_eq!(
        groups["groups"][0]["preferredVersion"]["version"],
        "v1beta2"
    );
    let group = adapter.get_json("/apis/custom.metrics.k8s.io");
    assert_eq!(group["kind"], "APIGroup");
    for version in ["v1beta1", "v1beta2"] {
        let doc = adapter.get_json(&format!("/apis/custom.metrics.k8s.io/{version}"));
        assert_eq!(
            doc["groupVersion"],
            format!("custom.metrics.k8s.io/{version}")
        );
        let names = resource_names(&doc);
        for expected in [
            ("pods/http_requests", true),
            ("namespaces/http_requests", false),
            ("services/queue_length", true),
            ("namespaces/queue_length", false),
            ("pods/disk_usage", true),
            ("pods/memory_working_set_bytes", true),
            ("pods/cpu_usage", true),
            ("namespaces/cpu_usage", false),
            // Prometheus' own `job` label names jobs.batch under `<<.Resource>>`, as upstream.
            ("jobs.batch/http_requests", true),
        ] {
            assert!(
                names.contains(&(expected.0.to_string(), expected.1)),
                "{version}: {expected:?} missing from {names:?}"
            );
        }
        assert!(
            doc["resources"][0]["verbs"] == serde_json::json!(["get"])
                && doc["resources"][0]["kind"] == "MetricValueList"
        );
    }

    // A single pod, v1beta1 shape.
    let one = adapter
        .get_json("/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/web-1/http_requests");
    assert_eq!(one["kind"], "MetricValueList");
    assert_eq!(one["apiVersion"], "custom.metrics.k8s.io/v1beta1");
    assert_eq!(one["metadata"], serde_json::json!({}));
    let item = &one["items"][0];
    assert_eq!(
        item["describedObject"],
        serde_json::json!({"kind": "Pod", "namespace": "shop", "name": "web-1", "apiVersion": "/v1"})
    );
    assert_eq!(item["metricName"], "http_requests");
    assert_eq!(item["selector"], Value::Null);
    assert!(item["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_close(item["value"].as_str().unwrap(), 2.0);

    // The same in v1beta2 shape.
    let one = adapter
        .get_json("/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/web-1/http_requests");
    assert_eq!(
        one["items"][0]["metric"],
        serde_json::json!({"name": "http_requests", "selector": null})
    );
    assert!(one["items"][0].get("metricName").is_none());

    // pods/* with a label selector (standalone: object labels come from the series).
    let web = adapter.get_json("/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/*/http_requests?labelSelector=app%3Dweb");
    let web = items(&web);
    assert_eq!(
        web.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["web-1", "web-2"]
    );
    assert_close(&web[1].1, 4.0);
    let all = items(
        &adapter
            .get_json("/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/*/http_requests"),
    );
    assert_eq!(all.len(), 3, "{all:?}");

    // Gauges are exact.
    let disk = items(
        &adapter.get_json("/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/*/disk_usage"),
    );
    assert_eq!(
        disk,
        [
            ("web-1".to_string(), "12".to_string()),
            ("web-2".to_string(), "1500m".to_string())
        ]
    );
    let memory = items(&adapter.get_json(
        "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/web-1/memory_working_set_bytes",
    ));
    assert_eq!(memory, [("web-1".to_string(), "105906176".to_string())]);
    let cpu = items(
        &adapter
            .get_json("/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/web-1/cpu_usage"),
    );
    assert_close(&cpu[0].1, 0.25);

    // metricLabelSelector filters series and is echoed.
    let sda = adapter.get_json("/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/*/disk_usage?metricLabelSelector=device%3Dsda");
    assert_eq!(
        items(&sda),
        [
            ("web-1".to_string(), "5".to_string()),
            ("web-2".to_string(), "1500m".to_string())
        ]
    );
    assert_eq!(
        sda["items"][0]["selector"],
        serde_json::json!({"matchLabels": {"device": "sda"}})
    );
    let sdb = adapter.get_json("/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/*/disk_usage?metricLabelSelector=device+in+(sdb)");
    assert_eq!(items(&sdb), [("web-1".to_string(), "7".to_string())]);
    assert_eq!(
        sdb["items"][0]["metric"]["selector"],
        serde_json::json!({"matchExpressions": [{"key": "device", "operator": "In", "values": ["sdb"]}]})
    );

    // Namespace metrics: R3.
    let ns = adapter
        .get_json("/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/metrics/queue_length");
    assert_eq!(
        ns["items"][0]["describedObject"],
        serde_json::json!({"kind": "Namespace", "name": "shop", "apiVersion": "/v1"})
    );
    assert_eq!(ns["items"][0]["value"], "12");
    let every = items(
        &adapter.get_json("/apis/custom.metrics.k8s.io/v1beta1/namespaces/*/metrics/http_requests"),
    );
    assert_eq!(
        every.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["other", "shop"]
    );
    assert_close(&every[1].1, 7.0);

    // A service metric.
    let svc = items(&adapter.get_json(
        "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/services/orders/queue_length",
    ));
    assert_eq!(svc, [("orders".to_string(), "12".to_string())]);

    // Errors are Status JSON with the reference's messages (kubectl prints the body on stderr).
    let cases: &[(&str, &str)] = &[
        (
            "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/web-1/nope",
            "the server could not find the metric nope for pods",
        ),
        (
            "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/ghost/http_requests",
            "the server could not find the metric http_requests for pods ghost",
        ),
        (
            "/apis/custom.metrics.k8s.io/v1beta1/pods/*/http_requests",
            "the server could not find the metric http_requests for pods",
        ),
        (
            "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/*/http_requests?labelSelector=app%3Dnone",
            "the server could not find the metric http_requests for pods",
        ),
        (
            "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/foo",
            "invalid request path",
        ),
        (
            "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/*/http_requests?labelSelector=a%3D%22b",
            "unable to parse requirement",
        ),
        (
            "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/web-1/x/y",
            "the server could not find the requested resource",
        ),
        (
            "/apis/custom.metrics.k8s.io/v9/namespaces/shop/pods/web-1/x",
            "the server could not find the requested resource",
        ),
    ];
    for (path, message) in cases {
        let (code, _, stderr) = adapter.get(path);
        assert_ne!(code, 0, "{path} should fail");
        assert!(
            stderr.contains(message),
            "{path}: expected {message:?} in {stderr:?}"
        );
    }
    // The exact Status body and code, through the same TLS listener.
    let (_, _, stderr) =
        adapter.get("/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/web-1/nope");
    assert!(stderr.contains("NotFound"), "{stderr}");

    // A hostile object name stays inside its PromQL string: no match, a 404, no error.
    let (code, _, stderr) = adapter.get("/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/a%22%7Dor%20vector(1)%23/http_requests");
    assert_ne!(code, 0);
    assert!(
        stderr.contains("could not find the metric http_requests for pods"),
        "{stderr}"
    );
}

#[test]
fn the_helm_chart_default_rules_serve() {
    // The chart's `rules.default: true` block is the config-gen output without resourceRules (§9).
    let exporter = start_exporter(workload());
    let prometheus = Prometheus::start(&[exporter]);
    prometheus.wait_for_query("rate(http_requests_total[1m])");
    let default = include_str!("../config/default.yaml");
    let chart_rules = &default[..default.find("resourceRules:").unwrap()];
    let adapter = Adapter::start(
        chart_rules,
        &[format!("--prometheus-url={}", prometheus.url())],
    );
    adapter.wait_ready();
    let names = resource_names(&adapter.get_json("/apis/custom.metrics.k8s.io/v1beta1"));
    assert!(
        names.contains(&("pods/http_requests".into(), true)),
        "{names:?}"
    );
    let (code, body, _) = adapter.get("/apis/metrics.k8s.io/v1beta1");
    assert_ne!(
        code, 0,
        "metrics.k8s.io is not served without resourceRules: {body}"
    );
}

#[test]
fn prometheus_down_at_start_then_up() {
    // Point the adapter at a port where nothing listens yet.
    let port = free_port();
    let adapter = Adapter::start(
        "rules:\n- seriesQuery: '{__name__=\"queue_length\"}'\n  resources: {template: <<.Resource>>}\n  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)\n",
        &[
            format!("--prometheus-url=http://127.0.0.1:{port}"),
            "--metrics-relist-interval=10m".into(),
        ],
    );
    // Discovery never waits on Prometheus: an empty list, and metric requests are 404s.
    let doc = adapter.get_json("/apis/custom.metrics.k8s.io/v1beta1");
    assert_eq!(doc["resources"], serde_json::json!([]));
    assert_ne!(
        adapter.get("/readyz").0,
        0,
        "not ready before a first discovery"
    );
    let (code, _, stderr) = adapter.get("/readyz?verbose");
    assert_ne!(code, 0);
    assert!(
        stderr.contains("[-]discovery failed: reason withheld")
            && stderr.contains("readyz check failed"),
        "{stderr}"
    );
    let (code, excluded, _) = adapter.get("/readyz?verbose&exclude=discovery");
    assert_eq!(code, 0, "every other check passes");
    assert!(
        excluded.contains("[+]ping ok")
            && excluded.contains("[+]discovery excluded: ok")
            && excluded.contains("readyz check passed"),
        "{excluded}"
    );
    assert_ne!(adapter.get("/readyz/discovery").0, 0);
    assert_eq!(adapter.get("/readyz/ping").1, "ok");
    assert_eq!(adapter.get("/livez").1, "ok", "alive while not ready");
    assert_ne!(adapter.get("/healthz/nope").0, 0);
    let (code, _, stderr) = adapter
        .get("/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/services/orders/queue_length");
    assert_ne!(code, 0);
    assert!(
        stderr.contains("could not find the metric queue_length"),
        "{stderr}"
    );

    // Prometheus comes up on that port: metrics appear within seconds (backoff), not at the
    // next 10-minute relist as in the reference.
    let exporter = start_exporter(workload());
    let prometheus = start_prometheus_on(port, exporter);
    prometheus.wait_for_query("queue_length");
    wait_for(
        "metrics after Prometheus came up",
        Duration::from_secs(45),
        || {
            adapter
                .get("/apis/custom.metrics.k8s.io/v1beta1")
                .1
                .contains("services/queue_length")
        },
    );
    let svc = items(&adapter.get_json(
        "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/services/orders/queue_length",
    ));
    assert_eq!(svc, [("orders".to_string(), "12".to_string())]);
    let (code, verbose, _) = adapter.get("/readyz?verbose");
    assert_eq!(code, 0);
    assert!(
        verbose.contains("[+]discovery ok") && verbose.ends_with("readyz check passed\n"),
        "{verbose}"
    );

    // Prometheus dies: the registry is kept, queries fail with 500, never a number.
    drop(prometheus);
    let (code, _, stderr) = adapter
        .get("/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/services/orders/queue_length");
    assert_ne!(code, 0);
    assert!(stderr.contains("unable to fetch metrics"), "{stderr}");
    assert!(
        adapter
            .get("/apis/custom.metrics.k8s.io/v1beta1")
            .1
            .contains("services/queue_length")
    );
}

fn start_prometheus_on(port: u16, exporter: std::net::SocketAddr) -> Prometheus {
    // Retry until the port can be bound (it was only reserved, never held).
    Prometheus::start_on(port, &[exporter])
}

#[test]
fn bad_config_files_exit_with_a_position() {
    let cases: &[(&str, &str)] = &[
        (
            "rules:\n- seriesQuery: x\n  metricQuery: y\n",
            ":3:3: rules[0].metricQuery: unknown field `metricQuery`",
        ),
        (
            "rules:\n- seriesQuery: x\n  name:\n    matches: (a)(b)\n",
            "rules[0].name.as: must specify an 'as' value",
        ),
        (
            "rules:\n- seriesQuery: x\n  metricsQuery: <<join .GroupBySlice \",\">>\n",
            ":3:17: rules[0].metricsQuery: unable to parse metrics query template: template: metrics-query:1: function \"join\" not defined",
        ),
        (
            "rules:\n- seriesQuery: x\n  seriesQuery: y\n",
            ":3:3: rules[0].seriesQuery: field seriesQuery already set",
        ),
        ("rules: [\n", "config.yaml:"),
        (
            "backends:\n  a: {url: 'http://127.0.0.1:1'}\nexternalRules:\n- seriesQuery: x\n  backend: b\n  metricsQuery: x\n",
            ":5:12: externalRules[0].backend: unknown backend \"b\"; the backends section names: [\"a\"]",
        ),
        (
            "backends:\n  a: {url: 'ftp://x'}\n",
            ":2:12: backends.a.url: unsupported scheme \"ftp\": want http or https",
        ),
    ];
    for (text, expect) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        std::fs::write(&path, text).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_prometheus-adapter"))
            .args([
                format!("--config={}", path.display()),
                "--prometheus-url=http://127.0.0.1:1".into(),
                "--secure-port=0".into(),
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(255), "{text}: {stderr}");
        assert!(
            stderr.contains(expect),
            "{text}: expected {expect:?} in {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_prometheus-adapter"))
        .arg("--no-such-flag")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_prometheus-adapter"))
        .arg("--prometheus-url=http://x")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(
            "no metrics discovery configuration file specified (make sure to use --config)"
        )
    );
}
