//! metrics.k8s.io end to end: `kubectl top pods/nodes` against a real Prometheus with
//! cAdvisor-like series, in standalone mode and behind a fake kube-apiserver that proxies the
//! API to the adapter as the aggregation layer does.

mod support;

use std::process::Command;

use serde_json::json;
use support::*;

fn workload() -> Vec<Exposed> {
    vec![
        counter(
            "container_cpu_usage_seconds_total",
            r#"namespace="shop",pod="web-1",container="app",instance="node-a",id="/kubepods/a""#,
            0.25,
        ),
        counter(
            "container_cpu_usage_seconds_total",
            r#"namespace="shop",pod="web-1",container="sidecar",instance="node-a",id="/kubepods/b""#,
            0.05,
        ),
        counter(
            "container_cpu_usage_seconds_total",
            r#"namespace="shop",pod="web-2",container="app",instance="node-b",id="/kubepods/c""#,
            0.5,
        ),
        counter(
            "container_cpu_usage_seconds_total",
            r#"namespace="other",pod="x-1",container="app",instance="node-b",id="/kubepods/d""#,
            0.1,
        ),
        counter(
            "container_cpu_usage_seconds_total",
            r#"namespace="shop",pod="pending-1",container="app",instance="node-b",id="/kubepods/e""#,
            0.1,
        ),
        gauge(
            "container_memory_working_set_bytes",
            r#"namespace="shop",pod="web-1",container="app",instance="node-a",id="/kubepods/a""#,
            104857600.0,
        ),
        gauge(
            "container_memory_working_set_bytes",
            r#"namespace="shop",pod="web-1",container="sidecar",instance="node-a",id="/kubepods/b""#,
            10485760.0,
        ),
        gauge(
            "container_memory_working_set_bytes",
            r#"namespace="shop",pod="web-2",container="app",instance="node-b",id="/kubepods/c""#,
            209715200.0,
        ),
        gauge(
            "container_memory_working_set_bytes",
            r#"namespace="other",pod="x-1",container="app",instance="node-b",id="/kubepods/d""#,
            52428800.0,
        ),
        gauge(
            "container_memory_working_set_bytes",
            r#"namespace="shop",pod="pending-1",container="app",instance="node-b",id="/kubepods/e""#,
            1048576.0,
        ),
        counter(
            "container_cpu_usage_seconds_total",
            r#"instance="node-a",id="/""#,
            1.5,
        ),
        counter(
            "container_cpu_usage_seconds_total",
            r#"instance="node-b",id="/""#,
            0.5,
        ),
        gauge(
            "container_memory_working_set_bytes",
            r#"instance="node-a",id="/""#,
            2147483648.0,
        ),
        gauge(
            "container_memory_working_set_bytes",
            r#"instance="node-b",id="/""#,
            1073741824.0,
        ),
    ]
}

/// The default rules with a 5s rate interval (rates are exact once 5s of samples exist).
fn start() -> (Prometheus, String) {
    let exporter = start_exporter(workload());
    let prometheus = Prometheus::start(&[exporter]);
    prometheus.wait_for_query("count_over_time(container_cpu_usage_seconds_total[6s]) >= 6");
    let rules = prometheus_adapter::config::generate_default("", "5s".parse().unwrap());
    (prometheus, rules)
}

/// `kubectl top …` rows as (name, cpu, memory) or with percentages for nodes.
fn kubectl_top(kubeconfig: &std::path::Path, args: &[&str]) -> Vec<Vec<String>> {
    let out = Command::new("kubectl")
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .arg("top")
        .args(args)
        .output()
        .expect("kubectl");
    assert!(
        out.status.success(),
        "kubectl top {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

#[track_caller]
fn assert_milli(actual: &str, expect: i64) {
    let value: i64 = actual
        .trim_end_matches('m')
        .parse()
        .unwrap_or_else(|_| panic!("{actual}"));
    assert!(
        (value - expect).abs() <= expect / 50 + 2,
        "{actual} is not about {expect}m"
    );
}

#[test]
fn standalone_resource_metrics() {
    let (prometheus, rules) = start();
    let adapter = Adapter::start(&rules, &[format!("--prometheus-url={}", prometheus.url())]);
    adapter.wait_ready();

    let doc = adapter.get_json("/apis/metrics.k8s.io/v1beta1");
    assert_eq!(
        doc["resources"],
        json!([
            {"name": "nodes", "singularName": "", "namespaced": false, "kind": "NodeMetrics", "verbs": ["get", "list"]},
            {"name": "pods", "singularName": "", "namespaced": true, "kind": "PodMetrics", "verbs": ["get", "list"]}
        ])
    );

    // kubectl top pods, pointed straight at the adapter.
    let rows = kubectl_top(&adapter.kubeconfig, &["pods", "-n", "shop"]);
    let names: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        names,
        ["pending-1", "web-1", "web-2"],
        "standalone: every pod with samples"
    );
    assert_milli(&rows[1][1], 300);
    assert_eq!(rows[1][2], "110Mi");
    assert_eq!(rows[2][2], "200Mi");

    // The JSON shape.
    let pod = adapter.get_json("/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/web-1");
    assert_eq!(
        (pod["kind"].as_str(), pod["apiVersion"].as_str()),
        (Some("PodMetrics"), Some("metrics.k8s.io/v1beta1"))
    );
    // config-gen sets the window to the rate interval (upstream: `Window: rateInterval`).
    assert_eq!(pod["window"], "5s");
    assert_eq!(pod["metadata"]["namespace"], "shop");
    let containers: Vec<&str> = pod["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(containers, ["app", "sidecar"]);
    assert_eq!(pod["containers"][0]["usage"]["memory"], "100Mi");
    assert_milli(pod["containers"][0]["usage"]["cpu"].as_str().unwrap(), 250);

    // All namespaces, nodes.
    let all = adapter.get_json("/apis/metrics.k8s.io/v1beta1/pods");
    assert_eq!(all["kind"], "PodMetricsList");
    let names: Vec<String> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{}/{}",
                i["metadata"]["namespace"].as_str().unwrap(),
                i["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        names,
        ["other/x-1", "shop/pending-1", "shop/web-1", "shop/web-2"]
    );
    let nodes = adapter.get_json("/apis/metrics.k8s.io/v1beta1/nodes");
    let nodes: Vec<(&str, &str)> = nodes["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["metadata"]["name"].as_str().unwrap(),
                n["usage"]["memory"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(nodes, [("node-a", "2Gi"), ("node-b", "1Gi")]);

    // Not found and bad input.
    let cases: &[(&str, &str)] = &[
        (
            "/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/ghost",
            r#"podmetrics.metrics.k8s.io "shop/ghost" not found"#,
        ),
        (
            "/apis/metrics.k8s.io/v1beta1/nodes/ghost",
            r#"nodemetrics.metrics.k8s.io "ghost" not found"#,
        ),
        (
            "/apis/metrics.k8s.io/v1beta1/pods?fieldSelector=spec.nodeName%3Dx",
            "field label not supported: spec.nodeName",
        ),
        (
            "/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/a/b",
            "the server could not find the requested resource",
        ),
    ];
    for (path, message) in cases {
        let (code, _, stderr) = adapter.get(path);
        assert_ne!(code, 0, "{path}");
        assert!(
            stderr.contains(message),
            "{path}: expected {message:?} in {stderr}"
        );
    }
}

#[test]
fn kubectl_top_through_the_aggregation_layer() {
    let (prometheus, rules) = start();
    let dir = tempfile::tempdir().unwrap();
    let backend = AggregatedBackend::default();
    let pod = |namespace, name, labels, phase| FakeObject {
        resource: "pods",
        namespace: Some(namespace),
        name,
        labels,
        phase,
    };
    // The fake API server proxies metrics.k8s.io as the aggregator does: with a front-proxy
    // client certificate and the caller's identity in X-Remote-User/X-Remote-Group.
    let pki = client_pki("front-proxy-ca", "front-proxy-client", &[]);
    let kubeconfig = start_fake_apiserver_full(
        vec![
            pod("shop", "web-1", &[("app", "web")], "Running"),
            pod("shop", "web-2", &[("app", "web")], "Running"),
            pod("shop", "pending-1", &[("app", "web")], "Pending"),
            pod("other", "x-1", &[("app", "x")], "Running"),
            FakeObject {
                resource: "nodes",
                name: "node-a",
                labels: &[("kubernetes.io/os", "linux")],
                ..Default::default()
            },
            FakeObject {
                resource: "nodes",
                name: "node-b",
                ..Default::default()
            },
            FakeObject {
                resource: "namespaces",
                name: "shop",
                ..Default::default()
            },
        ],
        dir.path(),
        backend.clone(),
        FakeCluster::with_front_proxy(&pki),
    );
    let adapter = Adapter::start(
        &rules,
        &[
            format!("--prometheus-url={}", prometheus.url()),
            format!("--lister-kubeconfig={}", kubeconfig.display()),
        ],
    );
    adapter.wait_ready();
    *backend.lock().unwrap() = Some(format!("https://127.0.0.1:{}", adapter.port));

    // Only Running pods exist for metrics.k8s.io; labels come from the watch cache.
    let rows = kubectl_top(&kubeconfig, &["pods", "-n", "shop"]);
    let names: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(names, ["web-1", "web-2"]);
    assert_milli(&rows[1][1], 500);
    assert_eq!(rows[0][2], "110Mi");
    let rows = kubectl_top(&kubeconfig, &["pods", "-A"]);
    let names: Vec<String> = rows.iter().map(|r| format!("{}/{}", r[0], r[1])).collect();
    assert_eq!(names, ["other/x-1", "shop/web-1", "shop/web-2"]);
    let rows = kubectl_top(
        &kubeconfig,
        &["pods", "-n", "shop", "-l", "app=web", "--containers"],
    );
    assert_eq!(
        rows.len(),
        3,
        "web-1 has two containers, web-2 one: {rows:?}"
    );

    // Nodes (kubectl adds percentage columns only when it can read node capacity).
    let rows = kubectl_top(&kubeconfig, &["nodes"]);
    assert_eq!(rows[0][0], "node-a");
    assert_milli(&rows[0][1], 1500);
    assert!(rows[0].contains(&"2048Mi".to_string()), "{rows:?}");
    assert!(rows[1].contains(&"1024Mi".to_string()), "{rows:?}");
    let node = adapter.get_json("/apis/metrics.k8s.io/v1beta1/nodes/node-a");
    assert_eq!(
        node["metadata"]["labels"],
        json!({"kubernetes.io/os": "linux"})
    );

    // A pod the cluster does not run, a node it does not have.
    for (path, message) in [
        (
            "/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/pending-1",
            r#"pods "pending-1" not found"#,
        ),
        (
            "/apis/metrics.k8s.io/v1beta1/nodes/node-z",
            r#"node "node-z" not found"#,
        ),
    ] {
        let (code, _, stderr) = adapter.get(path);
        assert_ne!(code, 0);
        assert!(stderr.contains(message), "{path}: {stderr}");
    }

    // Prometheus down: an error, never a silently shorter list.
    drop(prometheus);
    let (code, _, stderr) = adapter.get("/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods");
    assert_ne!(code, 0);
    assert!(stderr.contains("unable to fetch metrics"), "{stderr}");
}

#[test]
fn empty_resource_rules_serve_no_metrics() {
    // §10.10: `resourceRules: {}` installs metrics.k8s.io with empty queries.
    let port = free_port();
    let adapter = Adapter::start(
        "resourceRules: {}\n",
        &[format!("--prometheus-url=http://127.0.0.1:{port}")],
    );
    adapter.wait_ready();
    assert_eq!(
        adapter.get_json("/apis/metrics.k8s.io/v1beta1/pods")["items"],
        json!([])
    );
    assert_eq!(
        adapter.get_json("/apis/metrics.k8s.io/v1beta1/nodes")["items"],
        json!([])
    );
    let (code, _, stderr) = adapter.get("/apis/metrics.k8s.io/v1beta1/namespaces/a/pods/b");
    assert_ne!(code, 0);
    assert!(
        stderr.contains(r#"podmetrics.metrics.k8s.io "a/b" not found"#),
        "{stderr}"
    );
    let groups = adapter.get_json("/apis");
    assert_eq!(
        groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["metrics.k8s.io"]
    );
}
