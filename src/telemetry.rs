//! The adapter's own metrics (`/metrics`): what it serves, what Prometheus costs it, how
//! discovery went, how big its caches are, whether config reloads work.
//!
//! One process-wide registry, because every module records into it and threading a handle
//! through each constructor would add an argument to nearly every signature for no isolation
//! gain (tests read the numbers through `/metrics`, as operators do). Recording is lock-free
//! atomics; encoding happens only when scraped. Label values come from closed sets (API group,
//! endpoint, result kind, rule kind, resource) so the series count stays bounded whatever
//! requests arrive.

use std::sync::LazyLock;
use std::time::{Duration, SystemTime};

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The content type of the text exposition format we encode (OpenMetrics 1.0 text, which
/// Prometheus scrapes natively).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// API group (`custom.metrics.k8s.io`, …), or `""` for health, discovery roots and misses.
    pub group: &'static str,
    pub version: &'static str,
    /// A standard HTTP method, or `other`: clients must not be able to mint label values.
    pub method: &'static str,
    pub code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub group: &'static str,
    pub version: &'static str,
    pub method: &'static str,
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum Endpoint {
    series,
    query,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PrometheusLabels {
    pub endpoint: Endpoint,
    /// `ok`, or the error kind (`transport`, `timeout`, `status_5xx`, `api_error`, …).
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabels {
    pub endpoint: Endpoint,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// `custom` or `external`.
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResourceLabels {
    pub resource: String,
}

/// What the adapter asked the Kubernetes API for.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum KubeOperation {
    /// API discovery documents (the resource mapper).
    discovery,
    /// A metadata LIST for a `*` request whose watch cache has not synced.
    list,
    /// A watch cache's list-and-watch (errors only: a watch is long-lived).
    watch,
    token_review,
    access_review,
    /// `kube-system/extension-apiserver-authentication`.
    authentication_config,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KubeLabels {
    pub operation: KubeOperation,
    /// `ok`, or the error kind (`transport`, `timeout`, `forbidden`, `status_5xx`, …).
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: &'static str,
}

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ])
}

fn relist_histogram() -> Histogram {
    Histogram::new([
        0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
    ])
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub request_duration: Family<RouteLabels, Histogram>,
    pub prometheus_requests: Family<PrometheusLabels, Counter>,
    pub prometheus_duration: Family<EndpointLabels, Histogram>,
    pub prometheus_coalesced: Counter,
    pub discovery_duration: Family<KindLabels, Histogram>,
    pub discovery_failures: Family<KindLabels, Counter>,
    pub discovery_series: Family<KindLabels, Gauge>,
    pub discovery_metrics: Family<KindLabels, Gauge>,
    pub discovery_collisions: Family<KindLabels, Gauge>,
    pub discovery_last_success: Family<KindLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    pub object_cache_objects: Family<ResourceLabels, Gauge>,
    pub kube_requests: Family<KubeLabels, Counter>,
    pub reloads: Family<ResultLabels, Counter>,
    pub reload_last_successful: Gauge,
    pub reload_last_success: Gauge<f64, std::sync::atomic::AtomicU64>,
    process_resident_memory: Gauge,
    process_cpu_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
    process_start_time: Gauge<f64, std::sync::atomic::AtomicU64>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process-wide metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::default();
        let m = Metrics {
            requests: Family::default(),
            request_duration: Family::new_with_constructor(latency_histogram),
            prometheus_requests: Family::default(),
            prometheus_duration: Family::new_with_constructor(latency_histogram),
            prometheus_coalesced: Counter::default(),
            discovery_duration: Family::new_with_constructor(relist_histogram),
            discovery_failures: Family::default(),
            discovery_series: Family::default(),
            discovery_metrics: Family::default(),
            discovery_collisions: Family::default(),
            discovery_last_success: Family::default(),
            object_cache_objects: Family::default(),
            kube_requests: Family::default(),
            reloads: Family::default(),
            reload_last_successful: Gauge::default(),
            reload_last_success: Gauge::default(),
            process_resident_memory: Gauge::default(),
            process_cpu_seconds: Gauge::default(),
            process_start_time: Gauge::default(),
            registry: Registry::default(),
        };
        let r = &mut registry;
        r.register(
            "prometheus_adapter_requests",
            "API requests served, by API group, version, HTTP method and status code",
            m.requests.clone(),
        );
        r.register(
            "prometheus_adapter_request_duration_seconds",
            "Time to answer an API request",
            m.request_duration.clone(),
        );
        r.register(
            "prometheus_adapter_prometheus_requests",
            "Calls to Prometheus, by endpoint and result",
            m.prometheus_requests.clone(),
        );
        r.register(
            "prometheus_adapter_prometheus_request_duration_seconds",
            "Latency of calls to Prometheus, by endpoint",
            m.prometheus_duration.clone(),
        );
        r.register(
            "prometheus_adapter_prometheus_queries_coalesced",
            "Instant queries answered by joining an identical query already in flight",
            m.prometheus_coalesced.clone(),
        );
        r.register(
            "prometheus_adapter_discovery_duration_seconds",
            "Duration of a relist (series calls plus registry build)",
            m.discovery_duration.clone(),
        );
        r.register(
            "prometheus_adapter_discovery_failures",
            "Relists that failed; the previous registry was kept",
            m.discovery_failures.clone(),
        );
        r.register(
            "prometheus_adapter_discovery_series",
            "Series returned to the last successful relist",
            m.discovery_series.clone(),
        );
        r.register(
            "prometheus_adapter_discovery_metrics",
            "Metrics registered by the last successful relist",
            m.discovery_metrics.clone(),
        );
        r.register(
            "prometheus_adapter_discovery_key_collisions",
            "Metric keys produced by more than one rule or series in the last successful relist",
            m.discovery_collisions.clone(),
        );
        r.register(
            "prometheus_adapter_discovery_last_success_timestamp_seconds",
            "Unix time of the last successful relist",
            m.discovery_last_success.clone(),
        );
        r.register(
            "prometheus_adapter_object_cache_objects",
            "Objects held in each metadata watch cache",
            m.object_cache_objects.clone(),
        );
        r.register(
            "prometheus_adapter_kube_requests",
            "Calls to the Kubernetes API, by operation and result",
            m.kube_requests.clone(),
        );
        r.register(
            "prometheus_adapter_config_reloads",
            "Rules-file reloads, by result",
            m.reloads.clone(),
        );
        r.register(
            "prometheus_adapter_config_last_reload_successful",
            "1 if the last reload attempt succeeded (or none was made), 0 if it failed",
            m.reload_last_successful.clone(),
        );
        r.register(
            "prometheus_adapter_config_last_reload_success_timestamp_seconds",
            "Unix time the current rules were loaded",
            m.reload_last_success.clone(),
        );
        r.register(
            "process_resident_memory_bytes",
            "Resident memory size in bytes",
            m.process_resident_memory.clone(),
        );
        r.register(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds",
            m.process_cpu_seconds.clone(),
        );
        r.register(
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds",
            m.process_start_time.clone(),
        );
        let info = prometheus_client::metrics::info::Info::new(vec![(
            "version",
            env!("CARGO_PKG_VERSION"),
        )]);
        r.register("prometheus_adapter_build", "The adapter's version", info);
        m.reload_last_successful.set(1);
        m.reload_last_success.set(unix_seconds(SystemTime::now()));
        m.process_start_time.set(unix_seconds(SystemTime::now()));
        Metrics { registry, ..m }
    }

    /// The text exposition of every metric, with process figures read now.
    pub fn encode(&self) -> String {
        if let Some((rss, cpu)) = process_usage() {
            self.process_resident_memory.set(rss as i64);
            self.process_cpu_seconds.set(cpu);
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    pub fn observe_request(&self, labels: RequestLabels, elapsed: Duration) {
        self.request_duration
            .get_or_create(&RouteLabels {
                group: labels.group,
                version: labels.version,
                method: labels.method,
            })
            .observe(elapsed.as_secs_f64());
        self.requests.get_or_create(&labels).inc();
    }

    pub fn observe_prometheus(&self, endpoint: Endpoint, result: &'static str, elapsed: Duration) {
        self.prometheus_duration
            .get_or_create(&EndpointLabels { endpoint })
            .observe(elapsed.as_secs_f64());
        self.prometheus_requests
            .get_or_create(&PrometheusLabels { endpoint, result })
            .inc();
    }

    pub fn observe_kube(&self, operation: KubeOperation, result: &'static str) {
        self.kube_requests
            .get_or_create(&KubeLabels { operation, result })
            .inc();
    }

    pub fn reload_result(&self, ok: bool) {
        self.reloads
            .get_or_create(&ResultLabels {
                result: if ok { "success" } else { "failure" },
            })
            .inc();
        self.reload_last_successful.set(i64::from(ok));
        if ok {
            self.reload_last_success
                .set(unix_seconds(SystemTime::now()));
        }
    }
}

pub fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Resident bytes and CPU seconds of this process, from `/proc` (Linux only).
fn process_usage() -> Option<(u64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split(' ').collect();
    // utime and stime are fields 14 and 15 of proc(5); `rest` starts at field 3. Linux reports
    // them in USER_HZ, which is 100 in its user-space ABI on every architecture.
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let rss_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some((rss_kib * 1024, ticks / 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_every_family_with_its_help_and_process_figures() {
        let m = metrics();
        m.observe_request(
            RequestLabels {
                group: "custom.metrics.k8s.io",
                version: "v1beta1",
                method: "GET",
                code: 200,
            },
            Duration::from_millis(3),
        );
        m.observe_prometheus(Endpoint::query, "ok", Duration::from_millis(2));
        let text = m.encode();
        for expected in [
            "# TYPE prometheus_adapter_requests counter",
            "prometheus_adapter_requests_total{group=\"custom.metrics.k8s.io\",version=\"v1beta1\",method=\"GET\",code=\"200\"}",
            "prometheus_adapter_prometheus_requests_total{endpoint=\"query\",result=\"ok\"}",
            "prometheus_adapter_build_info{version=",
            "process_resident_memory_bytes ",
            "prometheus_adapter_config_last_reload_successful 1",
            "# EOF",
        ] {
            assert!(text.contains(expected), "{expected} missing from:\n{text}");
        }
    }
}
