//! The same scenarios against a real Prometheus and a real VictoriaMetrics (Debian's package):
//! discovery, `pods/*` with a label selector, one object, a namespace metric, a
//! `metricLabelSelector`, external metrics, and `--prometheus-query-param`. Both engines must
//! give the same metric names and the same values (rates within 10%: the engines extrapolate
//! differently at window edges).

mod support;

use std::collections::BTreeMap;

use support::*;

const EXTERNAL: &str = "externalRules:\n- seriesQuery: 'queue_length'\n  resources: {overrides: {namespace: {resource: namespace}}}\n  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (service)\n";

/// (case, API path) → the answer reduced to comparable values.
const CASES: [(&str, &str); 6] = [
    (
        "pods with a selector",
        "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/*/http_requests?labelSelector=app%3Dweb",
    ),
    (
        "one pod",
        "/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/db-1/http_requests",
    ),
    (
        "namespace metric",
        "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/metrics/http_requests",
    ),
    (
        "metric label selector",
        "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/*/http_requests?metricLabelSelector=method%3DGET",
    ),
    (
        "service metric",
        "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/services/*/queue_length",
    ),
    (
        "external",
        "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_length",
    ),
];

struct Answers {
    custom_names: Vec<String>,
    external_names: Vec<String>,
    values: BTreeMap<&'static str, BTreeMap<String, f64>>,
}

fn names(doc: &serde_json::Value) -> Vec<String> {
    let mut names: Vec<String> = doc["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

fn scenario(engine: &Prometheus, extra: &[String]) -> Answers {
    let mut rules = prometheus_adapter::config::generate_default("", "5s".parse().unwrap());
    rules.push_str(EXTERNAL);
    let mut args = vec![format!("--prometheus-url={}", engine.url())];
    args.extend_from_slice(extra);
    let adapter = Adapter::start(&rules, &args);
    adapter.wait_ready();
    let mut values = BTreeMap::new();
    for (case, path) in CASES {
        let answer = adapter.get_json(path);
        let items: BTreeMap<String, f64> = answer["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| {
                let key = match item.get("describedObject") {
                    Some(object) => object["name"].as_str().unwrap().to_string(),
                    None => item["metricLabels"].to_string(),
                };
                (key, quantity_value(item["value"].as_str().unwrap()))
            })
            .collect();
        assert!(!items.is_empty(), "{case}: {answer}");
        values.insert(case, items);
    }
    Answers {
        custom_names: names(&adapter.get_json("/apis/custom.metrics.k8s.io/v1beta1")),
        external_names: names(&adapter.get_json("/apis/external.metrics.k8s.io/v1beta1")),
        values,
    }
}

#[test]
fn prometheus_and_victoria_metrics_give_the_same_answers() {
    let exporter = start_exporter(vec![
        counter(
            "http_requests_total",
            r#"namespace="shop",pod="web-1",app="web",method="GET""#,
            2.0,
        ),
        counter(
            "http_requests_total",
            r#"namespace="shop",pod="web-2",app="web",method="POST""#,
            4.0,
        ),
        counter(
            "http_requests_total",
            r#"namespace="shop",pod="db-1",app="db",method="GET""#,
            1.0,
        ),
        gauge("queue_length", r#"namespace="shop",service="orders""#, 12.0),
    ]);
    let prometheus = Prometheus::start(&[exporter]);
    let vm = Prometheus::start_victoria_metrics(&[exporter]);
    for engine in [&prometheus, &vm] {
        engine.wait_for_query("count_over_time(http_requests_total[10s]) >= 8");
    }
    let expected = scenario(&prometheus, &[]);
    // VictoriaMetrics ignores unknown parameters; Thanos-style ones must not break anything.
    let got = scenario(
        &vm,
        &[
            "--prometheus-query-param=dedup=true".into(),
            "--prometheus-query-param=partial_response=false".into(),
        ],
    );
    assert_eq!(got.custom_names, expected.custom_names);
    assert_eq!(got.external_names, expected.external_names);
    assert_eq!(
        expected.values["pods with a selector"]
            .keys()
            .collect::<Vec<_>>(),
        ["web-1", "web-2"]
    );
    for (case, _) in CASES {
        let (want, have) = (&expected.values[case], &got.values[case]);
        assert_eq!(
            have.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "{case}"
        );
        for (object, value) in want {
            let other = have[object];
            assert!(
                (other - value).abs() <= 0.1 * value.abs().max(0.1),
                "{case} {object}: Prometheus {value}, VictoriaMetrics {other}"
            );
        }
    }
}

/// `backends:` and per-rule `backend:`: one adapter serves rules from two servers (here a
/// Prometheus and a VictoriaMetrics holding different data); a rule without `backend:` uses
/// `--prometheus-url` (bad backend names fail at start: tests/custom_metrics.rs).
#[test]
fn named_backends_serve_rules_from_several_servers() {
    let app = start_exporter(vec![counter(
        "http_requests_total",
        r#"namespace="shop",pod="web-1",app="web""#,
        2.0,
    )]);
    let queues = start_exporter(vec![gauge(
        "queue_length",
        r#"namespace="shop",service="orders""#,
        12.0,
    )]);
    let prometheus = Prometheus::start(&[app]);
    let vm = Prometheus::start_victoria_metrics(&[queues]);
    prometheus.wait_for_query("count_over_time(http_requests_total[10s]) >= 8");
    vm.wait_for_query("queue_length");
    let rules = format!(
        "backends:\n  queues:\n    url: {}\n    queryParams: {{extra: 'yes'}}\nrules:\n- seriesQuery: 'http_requests_total'\n  resources: {{template: <<.Resource>>}}\n  metricsQuery: sum(rate(<<.Series>>{{<<.LabelMatchers>>}}[5s])) by (<<.GroupBy>>)\nexternalRules:\n- seriesQuery: 'queue_length'\n  backend: queues\n  resources: {{namespaced: false}}\n  metricsQuery: sum(<<.Series>>{{<<.LabelMatchers>>}}) by (service)\n",
        vm.url()
    );
    let adapter = Adapter::start(&rules, &[format!("--prometheus-url={}", prometheus.url())]);
    adapter.wait_ready();
    let pods = adapter.get_json(
        "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/web-1/http_requests_total",
    );
    let rate = quantity_value(pods["items"][0]["value"].as_str().unwrap());
    assert!((rate - 2.0).abs() < 0.3, "{pods}");
    let queue =
        adapter.get_json("/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/queue_length");
    assert_eq!(queue["items"][0]["value"], "12", "{queue}");
    // Each server holds only one of the two metrics, so the values above prove the routing;
    // the log shows both were asked.
    let log = adapter.log();
    let asked = |url: &str| {
        log.lines()
            .filter(|l| {
                l.contains("prometheus request") && l.contains(&format!("{url}/api/v1/series"))
            })
            .count()
    };
    assert!(
        asked(&vm.url()) >= 1 && asked(&prometheus.url()) >= 1,
        "{log}"
    );
}
