//! Operating the adapter: self-metrics scraped by a real Prometheus, and rules-file hot reload
//! (file change through a ConfigMap-style symlink swap, SIGHUP, bad files) under load.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use support::*;

fn rule(series: &str) -> String {
    format!(
        "- seriesQuery: '{{__name__=\"{series}\"}}'\n  resources: {{template: <<.Resource>>}}\n  metricsQuery: sum(<<.Series>>{{<<.LabelMatchers>>}}) by (<<.GroupBy>>)\n"
    )
}

const A: &str = "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/web-1/a_metric";
const B: &str = "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/web-1/b_metric";

fn demo_prometheus() -> Prometheus {
    let exporter = start_exporter(vec![
        gauge("a_metric", "namespace=\"shop\",pod=\"web-1\"", 3.0),
        gauge("b_metric", "namespace=\"shop\",pod=\"web-1\"", 7.0),
    ]);
    let prometheus = Prometheus::start(&[exporter]);
    prometheus.wait_for_query("b_metric");
    prometheus
}

#[test]
fn self_metrics_are_scraped_by_a_real_prometheus() {
    let source = demo_prometheus();
    let metrics_port = free_port();
    let adapter = Adapter::start(
        &format!("rules:\n{}", rule("a_metric")),
        &[
            format!("--prometheus-url={}", source.url()),
            format!("--metrics-bind-address=127.0.0.1:{metrics_port}"),
        ],
    );
    adapter.wait_ready();
    adapter.get_json(A);
    let (code, ..) =
        adapter.get("/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/web-1/nope");
    assert_ne!(code, 0);

    // The secure port serves it too (standalone mode: no authorization in the way). One series
    // with `namespace`, `pod` and the scrape's `job` label: a_metric for three resources.
    let text = adapter.self_metrics();
    assert_eq!(
        sample_value(
            &text,
            "prometheus_adapter_discovery_metrics{kind=\"custom\"}"
        ),
        Some(3.0),
        "{text}"
    );

    let scraper = Prometheus::start(&[format!("127.0.0.1:{metrics_port}").parse().unwrap()]);
    for query in [
        "prometheus_adapter_requests_total{group=\"custom.metrics.k8s.io\",code=\"200\"}",
        "prometheus_adapter_requests_total{group=\"custom.metrics.k8s.io\",code=\"404\"}",
        "prometheus_adapter_request_duration_seconds_bucket{group=\"custom.metrics.k8s.io\",le=\"+Inf\"}",
        "prometheus_adapter_prometheus_requests_total{endpoint=\"series\",result=\"ok\"} > 0",
        "prometheus_adapter_prometheus_requests_total{endpoint=\"query\",result=\"ok\"} > 0",
        "prometheus_adapter_discovery_series{kind=\"custom\"} == 1",
        "prometheus_adapter_discovery_last_success_timestamp_seconds{kind=\"custom\"} > 0",
        "prometheus_adapter_config_last_reload_successful == 1",
        "process_resident_memory_bytes > 1e6",
        "prometheus_adapter_build_info",
    ] {
        scraper.wait_for_query(query);
    }
}

/// Lays the rules out as the kubelet does for a ConfigMap volume: `config.yaml` is a symlink
/// into `..data`, itself a symlink to a timestamped directory that an update replaces.
struct ConfigMapDir {
    dir: tempfile::TempDir,
    version: usize,
}

impl ConfigMapDir {
    fn new(rules: &str) -> ConfigMapDir {
        let dir = tempfile::tempdir().unwrap();
        let mut this = ConfigMapDir { dir, version: 0 };
        this.update(rules);
        std::os::unix::fs::symlink("..data/config.yaml", this.path()).unwrap();
        this
    }

    fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("config.yaml")
    }

    fn update(&mut self, rules: &str) {
        self.version += 1;
        let root = self.dir.path();
        let version = format!("..v{}", self.version);
        std::fs::create_dir(root.join(&version)).unwrap();
        std::fs::write(root.join(&version).join("config.yaml"), rules).unwrap();
        let tmp = root.join("..data_tmp");
        std::os::unix::fs::symlink(Path::new(&version), &tmp).unwrap();
        std::fs::rename(&tmp, root.join("..data")).unwrap();
    }
}

#[test]
fn rules_reload_on_configmap_swap_without_failing_a_request() {
    let prometheus = demo_prometheus();
    let mut config = ConfigMapDir::new(&format!("rules:\n{}", rule("a_metric")));
    let adapter = Arc::new(Adapter::start(
        "rules: []\n",
        &[
            format!("--prometheus-url={}", prometheus.url()),
            format!("--config={}", config.path().display()),
            "--config-poll-interval=200ms".into(),
        ],
    ));
    adapter.wait_ready();
    adapter.get_json(A);
    assert_ne!(
        adapter.get(B).0,
        0,
        "b_metric is not served before the reload"
    );

    // Load: two clients asking for a_metric the whole time; every answer must be 200.
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let (adapter, stop, served, failures) = (
                adapter.clone(),
                stop.clone(),
                served.clone(),
                failures.clone(),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let (code, out, err) = adapter.get(A);
                    if code == 0 && out.contains("a_metric") {
                        served.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failures.lock().unwrap().push(format!("{code}: {out}{err}"));
                    }
                }
            })
        })
        .collect();

    // 1. The ConfigMap is updated: b_metric appears without a restart.
    config.update(&format!("rules:\n{}{}", rule("a_metric"), rule("b_metric")));
    wait_for(
        "b_metric after the symlink swap",
        Duration::from_secs(20),
        || adapter.get(B).0 == 0,
    );

    // 2. A broken file is refused; the old rules keep serving and the failure is counted.
    config.update("rules:\n- seriesQuery: 'x'\n  metricsQuery: '<<.Series'\n");
    wait_for(
        "the failed reload to be counted",
        Duration::from_secs(20),
        || {
            sample_value(
                &adapter.self_metrics(),
                "prometheus_adapter_config_reloads_total{result=\"failure\"}",
            ) == Some(1.0)
        },
    );
    let text = adapter.self_metrics();
    assert_eq!(
        sample_value(&text, "prometheus_adapter_config_last_reload_successful"),
        Some(0.0)
    );
    assert_eq!(adapter.get(B).0, 0, "the old rules still serve b_metric");
    assert!(
        adapter
            .log()
            .contains("rules reload failed; keeping the previous rules"),
        "{}",
        adapter.log()
    );
    assert!(
        adapter.log().contains("config.yaml:3:"),
        "the error has a position"
    );

    // 3. Fixed again, without b_metric: it goes.
    config.update(&format!("rules:\n{}", rule("a_metric")));
    wait_for(
        "b_metric to go after the reload",
        Duration::from_secs(20),
        || adapter.get(B).0 != 0,
    );

    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }
    let failures = failures.lock().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} requests failed during reloads: {:?}\n{}",
        failures.len(),
        failures.len() + served.load(Ordering::Relaxed),
        &failures[..failures.len().min(3)],
        adapter.log()
    );
    assert!(served.load(Ordering::Relaxed) > 10);
    let text = adapter.self_metrics();
    assert!(
        sample_value(
            &text,
            "prometheus_adapter_config_reloads_total{result=\"success\"}"
        ) >= Some(2.0),
        "{text}"
    );
}

#[test]
fn sighup_reloads_at_once() {
    let prometheus = demo_prometheus();
    let mut config = ConfigMapDir::new(&format!("rules:\n{}", rule("a_metric")));
    let adapter = Adapter::start(
        "rules: []\n",
        &[
            format!("--prometheus-url={}", prometheus.url()),
            format!("--config={}", config.path().display()),
            // Polling alone would not notice within this test.
            "--config-poll-interval=1h".into(),
        ],
    );
    adapter.wait_ready();
    config.update(&format!("rules:\n{}", rule("b_metric")));
    std::thread::sleep(Duration::from_secs(1));
    adapter.get_json(A);
    let status = std::process::Command::new("kill")
        .args(["-HUP", &adapter.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_for("b_metric after SIGHUP", Duration::from_secs(20), || {
        adapter.get(B).0 == 0
    });
    assert_ne!(adapter.get(A).0, 0, "a_metric went with the old rules");
    assert!(
        adapter.log().contains("reason=\"SIGHUP\""),
        "{}",
        adapter.log()
    );
}
