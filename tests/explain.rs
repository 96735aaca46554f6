//! `prometheus-adapter explain` on the demo workload against a real Prometheus: the per-rule
//! report and per-metric reports (served, wrong resource, filtered, unknown), as golden text
//! with the live numbers redacted, plus JSON checks of the live values.

mod support;

use std::process::Command;

use support::*;

struct Demo {
    prometheus: Prometheus,
    config: tempfile::NamedTempFile,
}

fn demo() -> Demo {
    // The demo's workload, plus a series no rule can map to a resource.
    let mut workload = demo_workload();
    workload.push(gauge("build_info", r#"version="1""#, 1.0));
    let exporter = start_exporter(workload);
    let prometheus = Prometheus::start(&[exporter]);
    prometheus.wait_for_query("count_over_time(http_requests_total[5s]) >= 4");
    let mut rules = prometheus_adapter::config::generate_default("", "5s".parse().unwrap());
    rules.push_str("externalRules:\n- seriesQuery: 'queue_length'\n  resources: {overrides: {namespace: {resource: namespace}}}\n  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (service)\n");
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(config.path(), rules).unwrap();
    Demo { prometheus, config }
}

fn explain(demo: &Demo, args: &[&str]) -> (i32, String) {
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_prometheus-adapter"))
        .arg("explain")
        .arg(format!("--config={}", demo.config.path().display()))
        .arg(format!("--prometheus-url={}", demo.prometheus.url()))
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.is_empty(), "{args:?} logged: {stderr}");
    eprintln!("explain {args:?}: {} ms", started.elapsed().as_millis());
    (out.status.code().unwrap(), stdout)
}

/// Live numbers and paths change between runs; the shape and the reasons must not.
fn redact(text: &str, demo: &Demo) -> String {
    let numbers = regex::Regex::new(r"= [0-9.]+m?\b|in [0-9]+ ms").unwrap();
    numbers
        .replace_all(
            &text.replace(&demo.prometheus.url(), "PROMETHEUS"),
            |c: &regex::Captures| {
                if c[0].starts_with('=') {
                    "= N".to_string()
                } else {
                    "in N ms".to_string()
                }
            },
        )
        .into_owned()
}

fn golden(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/explain")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 creates it)", path.display()));
    assert_eq!(actual, expected, "{} differs", path.display());
}

#[test]
fn explains_rules_and_metrics_on_the_demo() {
    let demo = demo();
    let cases: [(&str, &[&str], i32); 8] = [
        ("rules.txt", &[], 0),
        (
            "served.txt",
            &["pods/http_requests", "-n", "shop", "-l", "app=web"],
            0,
        ),
        ("one-pod.txt", &["pods/db-1/http_requests", "-n", "shop"], 0),
        (
            "wrong-resource.txt",
            &["services/http_requests", "-n", "shop"],
            1,
        ),
        ("no-namespace.txt", &["pods/http_requests"], 1),
        // The default rules name http_requests_total `http_requests`; users often guess.
        (
            "not-this-name.txt",
            &["pods/http_requests_per_second", "-n", "shop"],
            1,
        ),
        (
            "filtered.txt",
            &["pods/http_requests_total", "-n", "shop"],
            1,
        ),
        ("external.txt", &["external/queue_length", "-n", "shop"], 0),
    ];
    for (name, args, exit) in cases {
        let (code, stdout) = explain(&demo, args);
        assert_eq!(code, exit, "{args:?}:\n{stdout}");
        golden(name, &redact(&stdout, &demo));
    }
}

#[test]
fn json_carries_the_live_values() {
    let demo = demo();
    // A full rate window of samples since the counters started, so rates are steady.
    demo.prometheus
        .wait_for_query("count_over_time(http_requests_total[10s]) >= 9");
    let (code, stdout) = explain(
        &demo,
        &[
            "pods/http_requests",
            "-n",
            "shop",
            "-l",
            "app=web",
            "-o",
            "json",
        ],
    );
    assert_eq!(code, 0, "{stdout}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["served"], true);
    assert_eq!(report["rule"], "rules[4]");
    assert_eq!(report["objects"], serde_json::json!(["web-1", "web-2"]));
    let promql = report["promql"].as_str().unwrap();
    assert!(promql.contains(r#"pod=~"web\\-1|web\\-2""#), "{promql}");
    let values: Vec<(String, f64)> = report["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v[0].as_str().unwrap().to_string(),
                quantity_value(v[1].as_str().unwrap()),
            )
        })
        .collect();
    assert_eq!(values.len(), 2, "{values:?}");
    for ((pod, value), expected) in values.iter().zip([2.0, 4.0]) {
        assert!(
            (value - expected).abs() < 0.3,
            "{pod}: {value} (want {expected})"
        );
    }
}
