//! With a Kubernetes API (`--lister-kubeconfig`): resources come from API discovery and `*`
//! requests list object names (metadata only) with the request's label selector.

mod support;

use support::*;

#[test]
fn star_requests_list_objects_from_the_kubernetes_api() {
    let exporter = start_exporter(vec![
        gauge("queue_length", r#"namespace="shop",pod="web-1""#, 3.0),
        gauge("queue_length", r#"namespace="shop",pod="web-2""#, 5.0),
        gauge("queue_length", r#"namespace="shop",pod="api-1""#, 9.0),
        gauge(
            "replicas_wanted",
            r#"namespace="shop",deployment="web""#,
            4.0,
        ),
    ]);
    let prometheus = Prometheus::start(&[exporter]);
    prometheus.wait_for_query("queue_length");
    let dir = tempfile::tempdir().unwrap();
    // web-3 exists in the cluster but has no series; web-2 has a series but is not labelled app=web.
    let kubeconfig = start_fake_apiserver(
        vec![
            FakeObject {
                resource: "pods",
                namespace: Some("shop"),
                name: "web-3",
                labels: &[("app", "web")],
                ..Default::default()
            },
            FakeObject {
                resource: "pods",
                namespace: Some("shop"),
                name: "web-1",
                labels: &[("app", "web")],
                ..Default::default()
            },
            FakeObject {
                resource: "pods",
                namespace: Some("shop"),
                name: "web-2",
                labels: &[("app", "canary")],
                ..Default::default()
            },
            FakeObject {
                resource: "pods",
                namespace: Some("shop"),
                name: "api-1",
                labels: &[("app", "api")],
                ..Default::default()
            },
            FakeObject {
                resource: "namespaces",
                namespace: None,
                name: "shop",
                labels: &[("team", "a")],
                ..Default::default()
            },
        ],
        dir.path(),
    );
    let rules = "rules:\n- seriesQuery: '{namespace!=\"\"}'\n  resources:\n    template: <<.Resource>>\n  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)\n";
    let adapter = Adapter::start(
        rules,
        &[
            format!("--prometheus-url={}", prometheus.url()),
            format!("--lister-kubeconfig={}", kubeconfig.display()),
        ],
    );
    adapter.wait_ready();

    let doc = adapter.get_json("/apis/custom.metrics.k8s.io/v1beta1");
    let names: Vec<&str> = doc["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"deployments.apps/replicas_wanted"),
        "the apps group came from API discovery: {names:?}"
    );
    assert!(names.contains(&"pods/queue_length"));

    // Items follow the order of the Kubernetes list; listed objects without samples are skipped.
    let list = adapter.get_json("/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/*/queue_length?labelSelector=app%3Dweb");
    let got: Vec<(&str, &str)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["describedObject"]["name"].as_str().unwrap(),
                i["value"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [("web-1", "3")]);
    let list = adapter.get_json("/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/*/queue_length?labelSelector=app+in+(web,canary)");
    assert_eq!(list["items"].as_array().unwrap().len(), 2);

    // An Object metric on a deployment: kind and apiVersion from discovery.
    let dep = adapter.get_json(
        "/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/deployments.apps/web/replicas_wanted",
    );
    assert_eq!(
        dep["items"][0]["describedObject"],
        serde_json::json!({"kind": "Deployment", "namespace": "shop", "name": "web", "apiVersion": "apps/v1"})
    );
    assert_eq!(dep["items"][0]["value"], "4");
    // Singular and case-insensitive resources resolve as with a RESTMapper.
    let dep = adapter.get_json(
        "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/Deployment.apps/web/replicas_wanted",
    );
    assert_eq!(dep["items"][0]["value"], "4");

    // No object matches: 404, as the reference.
    let (code, _, stderr) = adapter.get("/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/*/queue_length?labelSelector=app%3Dnone");
    assert_ne!(code, 0);
    assert!(
        stderr.contains("the server could not find the metric queue_length for pods"),
        "{stderr}"
    );
}

#[test]
fn a_missing_lister_kubeconfig_is_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, "rules: []\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_prometheus-adapter"))
        .args([
            format!("--config={}", config.display()),
            "--lister-kubeconfig=/nonexistent/kubeconfig".into(),
            "--secure-port=0".into(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(255));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("unable to load kubeconfig /nonexistent/kubeconfig")
    );
}

#[test]
fn resources_installed_after_start_resolve_without_a_restart() {
    let exporter = start_exporter(vec![gauge(
        "widget_load",
        r#"namespace="shop",widget="w1""#,
        7.0,
    )]);
    let prometheus = Prometheus::start(&[exporter]);
    prometheus.wait_for_query("widget_load");
    let dir = tempfile::tempdir().unwrap();
    let cluster = FakeCluster::default();
    let kubeconfig = start_fake_apiserver_full(
        vec![],
        dir.path(),
        AggregatedBackend::default(),
        cluster.clone(),
    );
    let rules = "rules:\n- seriesQuery: '{__name__=\"widget_load\"}'\n  resources:\n    template: <<.Resource>>\n  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)\n";
    let adapter = Adapter::start(
        rules,
        &[
            format!("--prometheus-url={}", prometheus.url()),
            format!("--lister-kubeconfig={}", kubeconfig.display()),
        ],
    );
    adapter.wait_ready();
    let path =
        "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/widgets.example.com/w1/widget_load";
    let (code, _, stderr) = adapter.get(path);
    assert_ne!(code, 0, "no such resource yet");
    assert!(
        stderr.contains("could not find the metric widget_load for widgets.example.com"),
        "{stderr}"
    );

    // The CRD is installed; the next request for it refreshes the mapper, the next relist maps
    // the `widget` label, and the metric is served.
    cluster
        .crds
        .lock()
        .unwrap()
        .push(("example.com", "widgets", "widget", "Widget"));
    let _ = adapter.get(path);
    wait_for(
        "the new resource to be served (mapper refreshes at most every 10s)",
        std::time::Duration::from_secs(30),
        || adapter.get(path).0 == 0,
    );
    let item = &adapter.get_json(path)["items"][0];
    assert_eq!(
        item["describedObject"],
        serde_json::json!({"kind": "Widget", "namespace": "shop", "name": "w1", "apiVersion": "example.com/v1"})
    );
    assert_eq!(item["value"], "7");
}

#[test]
fn pods_added_or_deleted_show_up_within_a_second() {
    let exporter = start_exporter(vec![
        gauge("queue_length", r#"namespace="shop",pod="a""#, 1.0),
        gauge("queue_length", r#"namespace="shop",pod="b""#, 2.0),
    ]);
    let prometheus = Prometheus::start(&[exporter]);
    prometheus.wait_for_query("queue_length");
    let dir = tempfile::tempdir().unwrap();
    let cluster = FakeCluster::default();
    let pod = |name| FakeObject {
        resource: "pods",
        namespace: Some("shop"),
        name,
        labels: &[("app", "q")],
        ..Default::default()
    };
    let kubeconfig = start_fake_apiserver_full(
        vec![pod("a")],
        dir.path(),
        AggregatedBackend::default(),
        cluster.clone(),
    );
    let rules = "rules:\n- seriesQuery: '{__name__=\"queue_length\"}'\n  resources:\n    template: <<.Resource>>\n  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)\n";
    let adapter = Adapter::start(
        rules,
        &[
            format!("--prometheus-url={}", prometheus.url()),
            format!("--lister-kubeconfig={}", kubeconfig.display()),
        ],
    );
    adapter.wait_ready();
    let path = "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/*/queue_length?labelSelector=app%3Dq";
    let names = || -> Vec<String> {
        adapter.get_json(path)["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|i| i["describedObject"]["name"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    // The first request starts the watch cache (and is answered by a LIST meanwhile).
    assert_eq!(names(), ["a"]);
    std::thread::sleep(std::time::Duration::from_secs(1));
    let lists = cluster.lists.load(std::sync::atomic::Ordering::SeqCst);

    cluster.add(pod("b"));
    let added = std::time::Instant::now();
    wait_for("an added pod", std::time::Duration::from_secs(1), || {
        names() == ["a", "b"]
    });
    eprintln!("added pod visible after {:?}", added.elapsed());
    cluster.delete("pods", "a");
    let deleted = std::time::Instant::now();
    wait_for(
        "a deleted pod to go",
        std::time::Duration::from_secs(1),
        || names() == ["b"],
    );
    eprintln!("deleted pod gone after {:?}", deleted.elapsed());
    assert_eq!(
        cluster.lists.load(std::sync::atomic::Ordering::SeqCst),
        lists,
        "answered from the watch cache, without a LIST per request"
    );
}

#[test]
fn an_expired_watch_relists() {
    let exporter = start_exporter(vec![
        gauge("queue_length", r#"namespace="shop",pod="a""#, 1.0),
        gauge("queue_length", r#"namespace="shop",pod="b""#, 2.0),
    ]);
    let prometheus = Prometheus::start(&[exporter]);
    prometheus.wait_for_query("queue_length");
    let dir = tempfile::tempdir().unwrap();
    let cluster = FakeCluster::default();
    let pod = |name| FakeObject {
        resource: "pods",
        namespace: Some("shop"),
        name,
        ..Default::default()
    };
    let kubeconfig = start_fake_apiserver_full(
        vec![pod("a")],
        dir.path(),
        AggregatedBackend::default(),
        cluster.clone(),
    );
    let rules = "rules:\n- seriesQuery: '{__name__=\"queue_length\"}'\n  resources:\n    template: <<.Resource>>\n  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)\n";
    let adapter = Adapter::start(
        rules,
        &[
            format!("--prometheus-url={}", prometheus.url()),
            format!("--lister-kubeconfig={}", kubeconfig.display()),
        ],
    );
    adapter.wait_ready();
    cluster
        .expire_next_watch
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let before = cluster.lists.load(std::sync::atomic::Ordering::SeqCst);
    let path = "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/*/queue_length";
    let names = || -> Vec<String> {
        adapter.get_json(path)["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["describedObject"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(), ["a"]);
    // The cache lists, its watch gets 410 Gone, it lists again and watches from there.
    wait_for(
        "a relist after 410 Gone",
        std::time::Duration::from_secs(10),
        || cluster.lists.load(std::sync::atomic::Ordering::SeqCst) >= before + 3,
    );
    assert!(
        !cluster
            .expire_next_watch
            .load(std::sync::atomic::Ordering::SeqCst),
        "the watch was made and expired"
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    cluster.add(pod("b"));
    wait_for(
        "the pod added after the relist",
        std::time::Duration::from_secs(2),
        || names() == ["a", "b"],
    );
}

#[test]
fn starts_quickly_with_hundreds_of_api_groups() {
    let exporter = start_exporter(vec![gauge(
        "gadget_load",
        r#"namespace="shop",gadget="g1""#,
        3.0,
    )]);
    let prometheus = Prometheus::start(&[exporter]);
    prometheus.wait_for_query("gadget_load");
    let dir = tempfile::tempdir().unwrap();
    let cluster = FakeCluster::default();
    let groups: Vec<&'static str> = (0..300)
        .map(|i| &*Box::leak(format!("group{i}.example.com").into_boxed_str()))
        .collect();
    for group in &groups {
        cluster
            .crds
            .lock()
            .unwrap()
            .push((group, "things", "thing", "Thing"));
    }
    cluster
        .crds
        .lock()
        .unwrap()
        .push(("gadgets.example.com", "gadgets", "gadget", "Gadget"));
    let kubeconfig =
        start_fake_apiserver_full(vec![], dir.path(), AggregatedBackend::default(), cluster);
    let rules = "rules:\n- seriesQuery: '{__name__=\"gadget_load\"}'\n  resources:\n    template: <<.Resource>>\n  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)\n";
    let started = std::time::Instant::now();
    let adapter = Adapter::start(
        rules,
        &[
            format!("--prometheus-url={}", prometheus.url()),
            format!("--lister-kubeconfig={}", kubeconfig.display()),
        ],
    );
    adapter.wait_ready();
    eprintln!("ready with 302 API groups after {:?}", started.elapsed());
    let item = &adapter.get_json("/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/gadgets.gadgets.example.com/g1/gadget_load")["items"][0];
    assert_eq!(item["describedObject"]["kind"], "Gadget");
    assert_eq!(item["value"], "3");
}
