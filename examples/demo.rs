//! The built-in demo: a real Prometheus scrapes a small workload (two namespaces, pods with
//! request counters growing at known rates, a queue gauge), the adapter runs in standalone mode
//! (no cluster) with the reference's default rules, and kubectl reads the custom metrics API.
//!
//! Run: `scripts/demo.sh` (installs Prometheus if needed). `scripts/demo.sh --serve` keeps
//! everything running and prints a kubeconfig to explore with `kubectl get --raw`.

#[path = "../tests/support/mod.rs"]
mod support;

use support::*;

fn main() {
    let serve = std::env::args().any(|a| a == "--serve");
    println!("==> starting the demo workload (an exposition server with known rates)");
    let exporter = start_exporter(demo_workload());
    println!("==> starting Prometheus (scrape interval 1s)");
    let prometheus = Prometheus::start(&[exporter]);
    println!("    {}", prometheus.url());
    println!("==> waiting for 10s of samples");
    prometheus.wait_for_query("count_over_time(http_requests_total[10s]) >= 10");
    // The reference's default rules (config-gen) with a 10s rate interval, so rates are steady
    // seconds after start instead of after five minutes.
    let rules =
        prometheus_adapter::config::generate_default("", "10s".parse().expect("valid duration"));
    println!(
        "==> starting the adapter in standalone mode with the default rules (rate interval 10s)"
    );
    let adapter = Adapter::start(&rules, &[format!("--prometheus-url={}", prometheus.url())]);
    adapter.wait_ready();
    let kubeconfig = adapter.kubeconfig.display().to_string();

    let discovery = adapter.get_json("/apis/custom.metrics.k8s.io/v1beta1");
    let names: Vec<&str> = discovery["resources"]
        .as_array()
        .map(|r| r.iter().filter_map(|x| x["name"].as_str()).collect())
        .unwrap_or_default();
    println!("\n$ kubectl --kubeconfig {kubeconfig} get --raw /apis/custom.metrics.k8s.io/v1beta1");
    println!(
        "  ({} metrics: {} …)",
        names.len(),
        names.iter().take(6).cloned().collect::<Vec<_>>().join(", ")
    );

    for path in [
        "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/*/http_requests?labelSelector=app%3Dweb&pretty=true",
        "/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/services/orders/queue_length?pretty=true",
    ] {
        println!("\n$ kubectl --kubeconfig {kubeconfig} get --raw '{path}'");
        let (code, stdout, stderr) = adapter.get(path);
        if code != 0 {
            eprintln!("demo failed: {stderr}\nadapter log:\n{}", adapter.log());
            std::process::exit(1);
        }
        println!("{}", stdout.trim_end());
    }
    // Why is a metric (not) served? One command, against the same Prometheus and rules.
    let rules_file = std::env::temp_dir().join(format!("demo-rules-{}.yaml", std::process::id()));
    std::fs::write(&rules_file, &rules).expect("write the demo rules");
    for target in ["pods/http_requests", "pods/http_requests_per_second"] {
        println!(
            "\n$ prometheus-adapter explain {target} -n shop -l app=web --config rules.yaml --prometheus-url {}",
            prometheus.url()
        );
        let out = std::process::Command::new(adapter_binary())
            .arg("explain")
            .arg(target)
            .args(["-n", "shop", "-l", "app=web"])
            .arg(format!("--config={}", rules_file.display()))
            .arg(format!("--prometheus-url={}", prometheus.url()))
            .output()
            .expect("run explain");
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }
    let _ = std::fs::remove_file(&rules_file);
    if serve {
        println!(
            "\nServing until Ctrl-C. Try:\n  kubectl --kubeconfig {kubeconfig} get --raw /apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/metrics/http_requests"
        );
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}
