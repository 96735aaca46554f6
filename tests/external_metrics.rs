//! external.metrics.k8s.io end to end against a real Prometheus, with kubectl as the client.

mod support;

use serde_json::{Value, json};
use support::*;

const RULES: &str = r#"
externalRules:
- seriesQuery: '{__name__="queue_depth"}'
  resources:
    overrides:
      namespace: {resource: namespace}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
- seriesQuery: '{__name__="cluster_backlog"}'
  resources:
    namespaced: no
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>})
- seriesQuery: '{__name__="queue_depth"}'
  name: {matches: ^queue_depth$, as: queue_depth_raw}
  resources: {overrides: {namespace: {resource: namespace}}}
  metricsQuery: <<.Series>>{<<.LabelMatchers>>}
- seriesQuery: '{__name__="queue_depth"}'
  name: {matches: ^queue_depth$, as: queue_depth_window}
  resources: {overrides: {namespace: {resource: namespace}}}
  metricsQuery: <<.Series>>{<<.LabelMatchers>>}[1m]
- seriesQuery: '{__name__="cluster_backlog"}'
  name: {matches: ^cluster_(.*)$, as: "${1}_scalar"}
  resources: {namespaced: false}
  metricsQuery: scalar(sum(<<.Series>>))
# Namespaced (the default) but no label maps to namespaces: every request fails (§5.4).
- seriesQuery: '{__name__="cluster_backlog"}'
  name: {matches: ^cluster_(.*)$, as: "${1}_unmapped"}
  metricsQuery: sum(<<.Series>>)
- seriesQuery: '{__name__="broken_gauge"}'
  resources: {overrides: {namespace: {resource: namespace}}}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>})
"#;

fn values(list: &Value) -> Vec<(Value, String)> {
    list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{list}"))
        .iter()
        .map(|i| {
            (
                i["metricLabels"].clone(),
                i["value"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn external_metrics_against_a_real_prometheus() {
    let exporter = start_exporter(vec![
        gauge(
            "queue_depth",
            r#"namespace="shop",queue="orders",topic="t1""#,
            42.0,
        ),
        gauge(
            "queue_depth",
            r#"namespace="shop",queue="payments",topic="t2""#,
            7.5,
        ),
        gauge(
            "queue_depth",
            r#"namespace="other",queue="orders",topic="t1""#,
            100.0,
        ),
        gauge("cluster_backlog", r#"region="eu""#, 5.0),
        gauge("broken_gauge", r#"namespace="shop""#, f64::NAN),
    ]);
    let prometheus = Prometheus::start(&[exporter]);
    prometheus.wait_for_query("cluster_backlog");
    let adapter = Adapter::start(RULES, &[format!("--prometheus-url={}", prometheus.url())]);
    adapter.wait_ready();

    let groups = adapter.get_json("/apis");
    let names: Vec<&str> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["external.metrics.k8s.io"],
        "no custom rules: no custom group"
    );
    let doc = adapter.get_json("/apis/external.metrics.k8s.io/v1beta1");
    let metrics: Vec<&str> = doc["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        metrics,
        [
            "backlog_scalar",
            "backlog_unmapped",
            "broken_gauge",
            "cluster_backlog",
            "queue_depth",
            "queue_depth_raw",
            "queue_depth_window"
        ]
    );
    assert_eq!(
        doc["resources"][0],
        json!({"name": "backlog_scalar", "singularName": "", "namespaced": true, "kind": "ExternalMetricValueList", "verbs": ["get"]})
    );

    let base = "/apis/external.metrics.k8s.io/v1beta1/namespaces";
    let list = adapter.get_json(&format!("{base}/shop/queue_depth"));
    assert_eq!(list["kind"], "ExternalMetricValueList");
    assert_eq!(list["metadata"], json!({}));
    let mut got = values(&list);
    got.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(
        got,
        [
            (json!({"queue": "orders"}), "42".to_string()),
            (json!({"queue": "payments"}), "7500m".to_string())
        ]
    );
    assert_eq!(list["items"][0]["metricName"], "queue_depth");
    assert!(
        list["items"][0]["timestamp"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );

    // The labelSelector is the metric selector (HPA External metric source).
    let cases: &[(&str, &[&str])] = &[
        ("queue%3Dorders", &["42"]),
        ("queue+in+(orders,payments)", &["42", "7500m"]),
        ("queue+notin+(orders)", &["7500m"]),
        ("topic", &["42", "7500m"]),
        ("!topic", &[]),
        ("queue!%3Dorders", &["7500m"]),
    ];
    for (selector, expect) in cases {
        let mut got: Vec<String> =
            values(&adapter.get_json(&format!("{base}/shop/queue_depth?labelSelector={selector}")))
                .into_iter()
                .map(|(_, v)| v)
                .collect();
        got.sort();
        assert_eq!(got, *expect, "labelSelector={selector}");
    }

    // The namespace is a matcher for namespaced rules, and ignored with `namespaced: false`.
    assert_eq!(
        values(&adapter.get_json(&format!("{base}/other/queue_depth"))),
        [(json!({"queue": "orders"}), "100".to_string())]
    );
    for ns in ["shop", "anything"] {
        assert_eq!(
            values(&adapter.get_json(&format!("{base}/{ns}/cluster_backlog"))),
            [(json!({}), "5".to_string())]
        );
    }

    // All labels of the sample, including __name__, when the query keeps them.
    let raw = adapter.get_json(&format!(
        "{base}/shop/queue_depth_raw?labelSelector=queue%3Dorders"
    ));
    let labels = &raw["items"][0]["metricLabels"];
    assert_eq!(
        (
            labels["__name__"].as_str(),
            labels["queue"].as_str(),
            labels["topic"].as_str(),
            labels["job"].as_str()
        ),
        (
            Some("queue_depth"),
            Some("orders"),
            Some("t1"),
            Some("demo")
        )
    );

    // Scalars have null labels.
    let scalar = adapter.get_json(&format!("{base}/shop/backlog_scalar"));
    assert_eq!(values(&scalar), [(Value::Null, "5".to_string())]);

    // NaN is never answered as a number.
    assert_eq!(
        adapter.get_json(&format!("{base}/shop/broken_gauge"))["items"],
        json!([])
    );

    // Errors.
    let errors: &[(&str, &str)] = &[
        (
            "/shop/queue_depth_window",
            "encountered an unexpected query result type",
        ),
        (
            "/shop/nope",
            "the server could not find the metric nope for namespaces",
        ),
        (
            "/default/nope",
            "the server could not find the metric nope for namespaces",
        ),
        (
            "/shop/queue_depth?labelSelector=a%3D%22b",
            "unable to parse requirement",
        ),
        (
            "/shop/queue_depth?labelSelector=x%3E1",
            "unable to fetch metrics",
        ),
        ("/shop", "the server could not find the requested resource"),
        (
            "/shop/backlog_unmapped",
            "Internal error occurred: unable to fetch metrics",
        ),
    ];
    for (path, message) in errors {
        let (code, _, stderr) = adapter.get(&format!("{base}{path}"));
        assert_ne!(code, 0, "{path}");
        assert!(
            stderr.contains(message),
            "{path}: expected {message:?} in {stderr}"
        );
    }
}
