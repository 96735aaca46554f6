//! `*` requests over 1500 pods (reference #668: a 25 KB `pod=~` regex, 414 at about 150 pods
//! with GET): the adapter queries the namespace and filters by the name set, with the same
//! answer, and never sends a long query.

mod support;

use support::*;

#[test]
fn fifteen_hundred_pods() {
    // Gauges with exact values: pod-N has value N; even pods are app=a, odd app=b.
    let labels: Vec<&'static str> = (0..1500)
        .map(|i| {
            &*Box::leak(
                format!(
                    r#"namespace="big",pod="pod-{i:04}",app="{}""#,
                    if i % 2 == 0 { "a" } else { "b" }
                )
                .into_boxed_str(),
            )
        })
        .collect();
    let mut series: Vec<Exposed> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| gauge("queue_length", l, i as f64))
        .collect();
    series.push(gauge(
        "queue_length",
        r#"namespace="other",pod="pod-0001",app="a""#,
        99999.0,
    ));
    let exporter = start_exporter(series);
    let prometheus = Prometheus::start(&[exporter]);
    prometheus.wait_for_query("count(queue_length) >= 1501");
    let rules = "rules:\n- seriesQuery: '{__name__=\"queue_length\"}'\n  resources: {template: <<.Resource>>}\n  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)\n";
    let adapter = Adapter::start(rules, &[format!("--prometheus-url={}", prometheus.url())]);
    adapter.wait_ready();

    let started = std::time::Instant::now();
    let all =
        adapter.get_json("/apis/custom.metrics.k8s.io/v1beta1/namespaces/big/pods/*/queue_length");
    eprintln!("1500 pods through kubectl in {:?}", started.elapsed());
    let started = std::time::Instant::now();
    assert_eq!(adapter.get("/healthz").0, 0);
    eprintln!("kubectl alone (healthz) in {:?}", started.elapsed());
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 1500);
    for item in items {
        let name = item["describedObject"]["name"].as_str().unwrap();
        let n: usize = name.trim_start_matches("pod-").parse().unwrap();
        assert_eq!(
            item["value"],
            (if n >= 1000 && n.is_multiple_of(1000) {
                format!("{}k", n / 1000)
            } else {
                n.to_string()
            }),
            "{name}"
        );
    }
    // A selector picks 750 of them; the namespace-wide answer is filtered by that name set.
    let half = adapter.get_json("/apis/custom.metrics.k8s.io/v1beta1/namespaces/big/pods/*/queue_length?labelSelector=app%3Da");
    let names: Vec<&str> = half["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["describedObject"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 750);
    assert!(
        names
            .iter()
            .all(|n| n.trim_start_matches("pod-").parse::<usize>().unwrap() % 2 == 0)
    );
    // The same pod name in another namespace never leaks in.
    assert!(
        half["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["value"] != "99999")
    );

    // Every query the adapter sent was short (the log records each request's parameter bytes).
    let longest = adapter
        .log()
        .lines()
        .filter(|l| l.contains("prometheus request") && l.contains("/api/v1/query"))
        .filter_map(|l| {
            l.split("param_bytes=")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse::<usize>()
                .ok()
        })
        .max()
        .expect("queries were logged");
    eprintln!("longest query sent: {longest} bytes");
    assert!(longest < 16 * 1024, "a {longest}-byte query was sent");
    assert!(
        longest < 512,
        "the namespace-wide query is short: {longest} bytes"
    );
}
