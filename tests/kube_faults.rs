//! Faults between the adapter and the Kubernetes API (a fake API server; a TCP gate in front of
//! it to take it down): down at start, down mid-run, 403 Forbidden, slow and hung. For each:
//! what the client sees, what is logged, what `prometheus_adapter_kube_requests_total` counts,
//! and recovery. (410 Gone on a watch is in `kube_mode.rs`.)
//!
//! Only `*` requests (object names by label selector) and authentication need the API while
//! serving; a request naming its object asks Prometheus alone and is unaffected.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use support::*;

const RULES: &str = "rules:\n- seriesQuery: '{__name__=\"queue_length\"}'\n  resources:\n    template: <<.Resource>>\n  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)\n";
const PODS: &str = "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/*/queue_length";
const SERVICES: &str =
    "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/services/*/queue_length";
const ONE_POD: &str = "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/a/queue_length";

fn object(resource: &'static str, name: &'static str) -> FakeObject {
    FakeObject {
        resource,
        namespace: Some("shop"),
        name,
        ..Default::default()
    }
}

/// Prometheus with `queue_length` for pods a and b and service s, and a fake API server that
/// knows pod a and service s; returns them with the API server's kubeconfig.
fn cluster(dir: &std::path::Path) -> (Prometheus, FakeCluster, std::path::PathBuf) {
    let exporter = start_exporter(vec![
        gauge("queue_length", r#"namespace="shop",pod="a""#, 1.0),
        gauge("queue_length", r#"namespace="shop",pod="b""#, 2.0),
        gauge("queue_length", r#"namespace="shop",service="s""#, 3.0),
    ]);
    let prometheus = Prometheus::start(&[exporter]);
    prometheus.wait_for_query("count(queue_length) == 3");
    let cluster = FakeCluster::default();
    let kubeconfig = start_fake_apiserver_full(
        vec![object("pods", "a"), object("services", "s")],
        dir,
        AggregatedBackend::default(),
        cluster.clone(),
    );
    (prometheus, cluster, kubeconfig)
}

/// The adapter against `prometheus` and the API server of `kubeconfig`.
fn start_adapter(prometheus: &Prometheus, kubeconfig: &std::path::Path, extra: &[&str]) -> Adapter {
    let mut args = vec![
        format!("--prometheus-url={}", prometheus.url()),
        format!("--lister-kubeconfig={}", kubeconfig.display()),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    Adapter::start(RULES, &args)
}

/// Names in a `*` answer, or the error kubectl printed.
fn names(adapter: &Adapter, path: &str) -> Result<Vec<String>, String> {
    let (code, stdout, stderr) = adapter.get(path);
    if code != 0 {
        return Err(stderr);
    }
    let answer: serde_json::Value = serde_json::from_str(&stdout).map_err(|e| e.to_string())?;
    Ok(answer["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["describedObject"]["name"].as_str().map(String::from))
        .collect())
}

fn kube_requests(adapter: &Adapter, operation: &str, result: &str) -> f64 {
    let series = format!(
        "prometheus_adapter_kube_requests_total{{operation=\"{operation}\",result=\"{result}\"}}"
    );
    sample_value(&adapter.self_metrics(), &series).unwrap_or(0.0)
}

#[test]
fn api_server_down_at_start_the_adapter_waits_and_serves_once_it_is_up() {
    let dir = tempfile::tempdir().unwrap();
    let (prometheus, _cluster, kubeconfig) = cluster(dir.path());
    let gate = Arc::new(Gate::closed(api_server_addr(&kubeconfig)));
    let opened = {
        let gate = gate.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(4));
            gate.open();
            Instant::now()
        })
    };
    // Serves (/healthz) only once discovery has succeeded, which the gate delays by 4s.
    let adapter = start_adapter(&prometheus, &kubeconfig_via(&kubeconfig, gate.addr), &[]);
    let opened = opened.join().unwrap();
    eprintln!(
        "serving {:?} after the API server came up",
        opened.elapsed()
    );
    let log = adapter.log();
    assert!(
        log.contains("unable to discover the cluster's API resources; retrying"),
        "{log}"
    );
    assert!(kube_requests(&adapter, "discovery", "transport") >= 1.0);
    adapter.wait_ready();
    assert_eq!(names(&adapter, PODS).unwrap(), ["a"]);
}

#[test]
fn api_server_down_mid_run_serves_the_watch_cache_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let (prometheus, cluster, kubeconfig) = cluster(dir.path());
    let gate = Gate::closed(api_server_addr(&kubeconfig));
    gate.open();
    let adapter = start_adapter(&prometheus, &kubeconfig_via(&kubeconfig, gate.addr), &[]);
    adapter.wait_ready();
    assert_eq!(names(&adapter, PODS).unwrap(), ["a"]);
    wait_for("the pods watch cache", Duration::from_secs(10), || {
        sample_value(
            &adapter.self_metrics(),
            "prometheus_adapter_object_cache_objects{resource=\"pods\"}",
        ) == Some(1.0)
    });

    gate.close();
    // A pod created during the outage is not seen until the API is back.
    cluster.add(object("pods", "b"));
    // (request, what the client sees)
    let cases: [(&str, Result<Vec<&str>, &str>); 3] = [
        // The watch cache answers with the objects it last saw.
        (PODS, Ok(vec!["a"])),
        // A request naming its object needs only Prometheus.
        (ONE_POD, Ok(vec!["a"])),
        // No cache yet for services, and its LIST fails: a 500, never an empty list.
        (SERVICES, Err("InternalError")),
    ];
    for (path, expected) in &cases {
        match (names(&adapter, path), expected) {
            (Ok(got), Ok(want)) => assert_eq!(&got, want, "{path}"),
            (Err(stderr), Err(want)) => assert!(stderr.contains(want), "{path}: {stderr}"),
            (got, _) => panic!("{path}: {got:?}, expected {expected:?}"),
        }
    }
    wait_for(
        "the failed watch to be logged",
        Duration::from_secs(10),
        || {
            adapter
                .log()
                .contains("watch failed; retrying with backoff")
        },
    );
    assert!(kube_requests(&adapter, "list", "transport") >= 1.0);
    assert!(kube_requests(&adapter, "watch", "transport") >= 1.0);
    assert!(
        adapter
            .log()
            .contains("unable to list matching resource names"),
        "{}",
        adapter.log()
    );

    gate.open();
    let reopened = Instant::now();
    wait_for(
        "the pod created during the outage",
        Duration::from_secs(40),
        || names(&adapter, PODS).is_ok_and(|n| n == ["a", "b"]),
    );
    eprintln!(
        "watch cache current {:?} after the API came back",
        reopened.elapsed()
    );
    assert_eq!(names(&adapter, SERVICES).unwrap(), ["s"]);
}

#[test]
fn forbidden_by_the_api_server_is_a_server_error_that_names_the_permission() {
    let dir = tempfile::tempdir().unwrap();
    let (prometheus, cluster, kubeconfig) = cluster(dir.path());
    // Every request asks TokenReview, so its fault shows at once.
    let adapter = start_adapter(
        &prometheus,
        &kubeconfig,
        &["--authentication-token-webhook-cache-ttl=0s"],
    );
    adapter.wait_ready();

    // The adapter's own RBAC lacks `list pods`: the caller is not at fault, so a 500, and the
    // log says which permission is missing.
    *cluster.fault.lock().unwrap() = Some(("/pods", KubeFault::Status(403)));
    let err = names(&adapter, PODS).unwrap_err();
    assert!(err.contains("InternalError"), "{err}");
    assert!(
        err.contains("unable to list matching resources"),
        "the client learns nothing of the cluster's RBAC: {err}"
    );
    let log = adapter.log();
    assert!(
        log.contains("cannot list resource \\\"pods\\\"")
            || log.contains("cannot list resource \"pods\""),
        "{log}"
    );
    assert!(kube_requests(&adapter, "list", "forbidden") >= 1.0);
    assert_eq!(names(&adapter, ONE_POD).unwrap(), ["a"]);

    // TokenReview forbidden (no system:auth-delegator): the caller cannot be authenticated.
    *cluster.fault.lock().unwrap() = Some(("tokenreviews", KubeFault::Status(403)));
    let err = names(&adapter, ONE_POD).unwrap_err();
    assert!(err.contains("Unauthorized"), "{err}");
    assert!(adapter.log().contains("TokenReview failed"));

    *cluster.fault.lock().unwrap() = None;
    assert!(kube_requests(&adapter, "token_review", "forbidden") >= 1.0);
    assert_eq!(names(&adapter, PODS).unwrap(), ["a"]);
    assert_eq!(names(&adapter, ONE_POD).unwrap(), ["a"]);
}

#[test]
fn a_slow_api_server_answers_late_and_a_hung_one_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let (prometheus, cluster, kubeconfig) = cluster(dir.path());
    let adapter = start_adapter(&prometheus, &kubeconfig, &[]);
    adapter.wait_ready();

    // Slow: the right answer, later.
    *cluster.fault.lock().unwrap() = Some(("/pods", KubeFault::Slow(Duration::from_secs(2))));
    let started = Instant::now();
    assert_eq!(names(&adapter, PODS).unwrap(), ["a"]);
    let took = started.elapsed();
    eprintln!("answered in {took:?} with a 2s API server");
    // The answer went through the slowed LIST (no cache had synced), not around it.
    assert!(took >= Duration::from_secs(2), "{took:?}");
    assert!(kube_requests(&adapter, "list", "ok") >= 1.0);

    // Hung: the LIST is abandoned after 10s and the client gets a 500, not a wait as long as
    // the API server's.
    *cluster.fault.lock().unwrap() = Some(("/services", KubeFault::Slow(Duration::from_secs(25))));
    let started = Instant::now();
    let err = names(&adapter, SERVICES).unwrap_err();
    eprintln!(
        "gave up after {:?} with a hung API server",
        started.elapsed()
    );
    assert!(err.contains("InternalError"), "{err}");
    assert!(kube_requests(&adapter, "list", "timeout") >= 1.0);
    assert!(adapter.log().contains("got no answer within 10s"));

    *cluster.fault.lock().unwrap() = None;
    assert_eq!(names(&adapter, SERVICES).unwrap(), ["s"]);
}
