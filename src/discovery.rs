//! Discovery: turns Prometheus series into the registry that requests read (reference §4.2, §4.3).
//!
//! Invariants:
//! - A `Registry` never changes once published; the relist task is its only writer.
//! - A request calls `RegistryHandle::load` once and never waits for a relist.
//! - A failed relist keeps the previous snapshot (all-or-nothing per rule set).
//! - Until a relist has produced a metric, relists retry with backoff instead of waiting a whole interval.
//! - Nothing here builds PromQL; queries come from `naming`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;

use crate::model::{GroupResource, MetricName, Scope};
use crate::naming::{CompiledRule, ResourceMapper, RuleSet};
use crate::prometheus::{self, Series, SeriesDetail};

// === Registry ===

/// The key a custom metric is registered and looked up by (the Go library's name).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomMetricInfo {
    pub group_resource: GroupResource,
    pub scope: Scope,
    pub metric: MetricName,
}

/// What a registered metric is served from: the series name and the rule that named it. The
/// rule travels with the registration, so a registry built before a config reload keeps
/// answering with the rules that built it until the next relist replaces it.
#[derive(Clone, Debug)]
pub struct Registration {
    pub series_name: String,
    pub rule: Arc<CompiledRule>,
}

impl PartialEq for Registration {
    fn eq(&self, other: &Self) -> bool {
        self.series_name == other.series_name && Arc::ptr_eq(&self.rule, &other.rule)
    }
}

/// An object seen in series labels; standalone mode answers `*` requests from these.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SeenObject {
    pub namespace: Option<String>,
    pub name: String,
}

#[derive(Debug, Default)]
pub struct Registry {
    custom: HashMap<CustomMetricInfo, Registration>,
    /// Sorted keys, for discovery documents.
    custom_keys: Vec<CustomMetricInfo>,
    external: HashMap<MetricName, Registration>,
    external_keys: Vec<MetricName>,
    /// Per resource: objects and the labels of the series that named them (standalone mode only).
    objects: HashMap<GroupResource, BTreeMap<SeenObject, BTreeMap<String, String>>>,
    pub collisions: usize,
    pub series_seen: usize,
    /// When the custom / external parts were last refreshed successfully.
    pub custom_updated: Option<SystemTime>,
    pub external_updated: Option<SystemTime>,
}

impl Registry {
    pub fn custom(&self, key: &CustomMetricInfo) -> Option<&Registration> {
        self.custom.get(key)
    }

    pub fn custom_keys(&self) -> &[CustomMetricInfo] {
        &self.custom_keys
    }

    pub fn external(&self, metric: &str) -> Option<&Registration> {
        self.external.get(metric)
    }

    pub fn external_keys(&self) -> &[MetricName] {
        &self.external_keys
    }

    /// Objects of a resource seen in series (standalone mode), with the series' labels.
    pub fn objects(
        &self,
        resource: &GroupResource,
    ) -> impl Iterator<Item = (&SeenObject, &BTreeMap<String, String>)> {
        self.objects
            .get(resource)
            .into_iter()
            .flat_map(|m| m.iter())
    }

    /// Registers custom metrics from series, rule by rule in config order (§4.3): the last rule
    /// (then the last series) to produce a key wins; each collision is counted and logged.
    pub fn build_custom(
        &mut self,
        rules: &[Arc<CompiledRule>],
        series: &HashMap<String, Vec<Series>>,
        mapper: &dyn ResourceMapper,
        collect_objects: bool,
    ) {
        self.custom.clear();
        self.objects.clear();
        self.collisions = 0;
        let mut count = 0;
        for rule in rules {
            let Some(list) = series.get(&rule.series_key()) else {
                continue;
            };
            count += list.iter().map(|s| s.count).sum::<usize>();
            // Series share a few names and label names: name each distinct series name once,
            // resolve each label name once, and register each (series name, resource) once.
            let mut names: HashMap<&str, Option<MetricName>> = HashMap::new();
            let mut label_cache: HashMap<&str, Option<usize>> = HashMap::new();
            let mut resources: Vec<GroupResource> = Vec::new();
            let mut registered: HashSet<(&str, usize)> = HashSet::new();
            let namespace_label = rule
                .converter
                .label_for_resource(&GroupResource::core("namespaces"), mapper)
                .ok();
            for s in list {
                let metric = names.entry(s.name.as_str()).or_insert_with(|| {
                    if !rule.keeps_series(&s.name) {
                        return None;
                    }
                    let named = rule.metric_name_for(&s.name).map(MetricName::new);
                    if named.is_none() {
                        tracing::debug!(series = %s.name, rule = %rule.id, "unable to name series, skipping");
                    }
                    named
                });
                let Some(metric) = metric.as_ref() else {
                    continue;
                };
                for (label, value) in &s.labels {
                    let resource = *label_cache.entry(label.as_str()).or_insert_with(|| {
                        let gr = rule.converter.resource_for_label(label, mapper)?;
                        resources.push(gr);
                        Some(resources.len() - 1)
                    });
                    let Some(resource) = resource else { continue };
                    let group_resource = &resources[resource];
                    if collect_objects {
                        let namespace = namespace_label
                            .as_deref()
                            .filter(|_| {
                                Scope::for_registered_resource(group_resource).is_namespaced()
                            })
                            .and_then(|l| s.label(l));
                        let object = SeenObject {
                            namespace: namespace.map(str::to_string),
                            name: value.clone(),
                        };
                        let labels = self
                            .objects
                            .entry(group_resource.clone())
                            .or_default()
                            .entry(object)
                            .or_default();
                        for (k, v) in &s.labels {
                            labels.entry(k.clone()).or_insert_with(|| v.clone());
                        }
                    }
                    if !registered.insert((s.name.as_str(), resource)) {
                        continue;
                    }
                    let key = CustomMetricInfo {
                        scope: Scope::for_registered_resource(group_resource),
                        group_resource: group_resource.clone(),
                        metric: metric.clone(),
                    };
                    let registration = Registration {
                        series_name: s.name.clone(),
                        rule: rule.clone(),
                    };
                    if let Some(previous) = self.custom.insert(key.clone(), registration.clone())
                        && previous != registration
                    {
                        self.collisions += 1;
                        tracing::warn!(
                            metric = %key.metric, resource = %key.group_resource,
                            winner = %rule.id, loser = %previous.rule.id,
                            winner_series = %registration.series_name, loser_series = %previous.series_name,
                            "two series produce the same metric; the later one wins"
                        );
                    }
                }
            }
        }
        self.series_seen = count;
        self.custom_keys = self.custom.keys().cloned().collect();
        self.custom_keys.sort();
    }

    /// Registers external metrics by name only; the last rule/series wins (§4.3).
    pub fn build_external(
        &mut self,
        rules: &[Arc<CompiledRule>],
        series: &HashMap<String, Vec<Series>>,
    ) {
        self.external.clear();
        for rule in rules {
            let Some(list) = series.get(&rule.series_key()) else {
                continue;
            };
            let mut seen: HashSet<&str> = HashSet::new();
            for s in list {
                if !seen.insert(s.name.as_str()) || !rule.keeps_series(&s.name) {
                    continue;
                }
                let Some(metric) = rule.metric_name_for(&s.name) else {
                    continue;
                };
                self.external.insert(
                    MetricName::new(metric),
                    Registration {
                        series_name: s.name.clone(),
                        rule: rule.clone(),
                    },
                );
            }
        }
        self.external_keys = self.external.keys().cloned().collect();
        self.external_keys.sort();
    }

    fn clone_external_from(&mut self, other: &Registry) {
        self.external = other.external.clone();
        self.external_keys = other.external_keys.clone();
        self.external_updated = other.external_updated;
    }

    fn clone_custom_from(&mut self, other: &Registry) {
        self.custom = other.custom.clone();
        self.custom_keys = other.custom_keys.clone();
        self.objects = other.objects.clone();
        self.collisions = other.collisions;
        self.series_seen = other.series_seen;
        self.custom_updated = other.custom_updated;
    }
}

// === Handle ===

/// The published registry. Requests `load` a snapshot; the relist task `store`s a new one.
#[derive(Debug, Default)]
pub struct RegistryHandle {
    current: ArcSwap<Registry>,
}

impl RegistryHandle {
    pub fn load(&self) -> Arc<Registry> {
        self.current.load_full()
    }

    fn store(&self, registry: Registry) {
        self.current.store(Arc::new(registry));
    }
}

// === Relist ===

#[derive(Clone, Debug)]
pub struct Options {
    pub relist_interval: Duration,
    /// Look-back window for series (`start = now - max_age`).
    pub max_age: Duration,
    /// Keep objects seen in series for `*` requests (standalone mode).
    pub collect_objects: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("unable to fetch metrics for query {query:?}: {source}")]
pub struct RelistError {
    pub query: String,
    #[source]
    pub source: prometheus::Error,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleKind {
    Custom,
    External,
}

/// Fetches each distinct `seriesQuery` once per backend, all concurrently, keyed by
/// `CompiledRule::series_key`; fails if any call fails.
pub async fn fetch_series(
    backends: &prometheus::Backends,
    rules: &[Arc<CompiledRule>],
    start: SystemTime,
    detail: SeriesDetail,
) -> Result<HashMap<String, Vec<Series>>, RelistError> {
    let mut calls: Vec<(String, &Arc<CompiledRule>)> =
        rules.iter().map(|r| (r.series_key(), r)).collect();
    calls.sort_by(|a, b| a.0.cmp(&b.0));
    calls.dedup_by(|a, b| a.0 == b.0);
    let calls = calls.into_iter().map(|(key, rule)| async move {
        let result = match backends.client(rule.backend.as_deref()) {
            Some(client) => series_with_retries(client, &rule.series_query, start, detail).await,
            None => Err(prometheus::Error::Decode(format!(
                "backend {:?} is not configured",
                rule.backend
            ))),
        };
        (key, rule.series_query.clone(), result)
    });
    let mut out = HashMap::new();
    for (key, query, result) in futures_util::future::join_all(calls).await {
        let series = result.map_err(|source| RelistError { query, source })?;
        out.insert(key, series);
    }
    Ok(out)
}

/// A series call retried up to twice, with jittered backoff, when the failure may pass
/// (transport, timeout, 5xx); never for answers that will not change (bad selector, too large).
async fn series_with_retries(
    client: &prometheus::Client,
    query: &str,
    start: SystemTime,
    detail: SeriesDetail,
) -> Result<Vec<Series>, prometheus::Error> {
    let mut attempt = 0u32;
    loop {
        match client.series(query, start, detail).await {
            Ok(series) => return Ok(series),
            Err(e) if attempt < 2 && transient(&e) => {
                attempt += 1;
                let jitter = SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos() % 100);
                let wait = Duration::from_millis(200 * 2u64.pow(attempt) + u64::from(jitter));
                tracing::debug!(query, error = %e, attempt, ?wait, "retrying a series call");
                tokio::time::sleep(wait).await;
            }
            Err(e) => return Err(e),
        }
    }
}

fn transient(error: &prometheus::Error) -> bool {
    match error {
        prometheus::Error::Transport { .. } | prometheus::Error::Timeout { .. } => true,
        prometheus::Error::UnexpectedStatus { code, .. } => *code >= 500,
        prometheus::Error::Api { error_type, .. } => {
            error_type == "unavailable" || error_type == "timeout"
        }
        prometheus::Error::Decode(_)
        | prometheus::Error::ResponseTooLarge { .. }
        | prometheus::Error::UnexpectedResultType(_) => false,
    }
}

/// One relist of one rule set; publishes a new snapshot on success.
pub async fn relist_once(
    kind: RuleKind,
    handle: &RegistryHandle,
    backends: &prometheus::Backends,
    rules: &RuleSet,
    mapper: &dyn ResourceMapper,
    options: &Options,
) -> Result<(), RelistError> {
    let started = std::time::Instant::now();
    let list = match kind {
        RuleKind::Custom => &rules.custom,
        RuleKind::External => &rules.external,
    };
    let start = SystemTime::now()
        .checked_sub(options.max_age)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let kind_label = crate::telemetry::KindLabels {
        kind: match kind {
            RuleKind::Custom => "custom",
            RuleKind::External => "external",
        },
    };
    let metrics = crate::telemetry::metrics();
    // Objects come from series labels only in standalone mode; otherwise label names suffice.
    let detail = if options.collect_objects {
        SeriesDetail::Full
    } else {
        SeriesDetail::Shapes
    };
    let series = match fetch_series(backends, list, start, detail).await {
        Ok(series) => series,
        Err(e) => {
            metrics.discovery_failures.get_or_create(&kind_label).inc();
            return Err(e);
        }
    };
    let current = handle.load();
    let mut next = Registry::default();
    match kind {
        RuleKind::Custom => {
            next.build_custom(list, &series, mapper, options.collect_objects);
            next.custom_updated = Some(SystemTime::now());
            next.clone_external_from(&current);
        }
        RuleKind::External => {
            next.build_external(list, &series);
            next.external_updated = Some(SystemTime::now());
            next.clone_custom_from(&current);
        }
    }
    let series_count = series.values().flatten().map(|s| s.count).sum::<usize>();
    let metric_count = match kind {
        RuleKind::Custom => next.custom_keys.len(),
        RuleKind::External => next.external_keys.len(),
    };
    metrics
        .discovery_duration
        .get_or_create(&kind_label)
        .observe(started.elapsed().as_secs_f64());
    metrics
        .discovery_series
        .get_or_create(&kind_label)
        .set(series_count as i64);
    metrics
        .discovery_metrics
        .get_or_create(&kind_label)
        .set(metric_count as i64);
    metrics
        .discovery_collisions
        .get_or_create(&kind_label)
        .set(next.collisions as i64);
    metrics
        .discovery_last_success
        .get_or_create(&kind_label)
        .set(crate::telemetry::unix_seconds(SystemTime::now()));
    tracing::info!(
        kind = ?kind,
        series = series_count,
        metrics = metric_count,
        collisions = next.collisions,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "discovery refreshed"
    );
    handle.store(next);
    Ok(())
}

/// The relist loop of one rule set: runs now, then `relist_interval` after each run ends, and
/// at once after a config reload. While no run has produced a metric yet (Prometheus down, or
/// up but not yet scraped), it retries with exponential backoff (1 s doubling, capped at 8 s
/// and at the interval) instead, so an adapter started before Prometheus serves metrics seconds
/// after they exist. A rule set with no rules of this kind publishes an empty part and sleeps
/// until a reload.
pub async fn run(
    kind: RuleKind,
    handle: Arc<RegistryHandle>,
    backends: Arc<prometheus::BackendsHandle>,
    rules: Arc<crate::reload::RulesHandle>,
    mapper: Arc<dyn ResourceMapper>,
    options: Options,
) {
    const MAX_BACKOFF: Duration = Duration::from_secs(8);
    let mut backoff = Duration::from_secs(1);
    let mut seen_metrics = false;
    let mut reloads = rules.subscribe();
    loop {
        reloads.mark_unchanged();
        let current = rules.load();
        let empty = match kind {
            RuleKind::Custom => current.custom.is_empty(),
            RuleKind::External => current.external.is_empty(),
        };
        let result = relist_once(
            kind,
            &handle,
            &backends.load(),
            &current,
            mapper.as_ref(),
            &options,
        )
        .await;
        if let Err(e) = &result {
            tracing::error!(error = %e, "unable to update list of all metrics");
        }
        let registry = handle.load();
        seen_metrics |= match kind {
            RuleKind::Custom => !registry.custom_keys().is_empty(),
            RuleKind::External => !registry.external_keys().is_empty(),
        };
        let wait = if empty {
            Duration::MAX
        } else if seen_metrics {
            options.relist_interval
        } else {
            let wait = backoff.min(options.relist_interval);
            backoff = (backoff * 2).min(MAX_BACKOFF);
            wait
        };
        tokio::select! {
            _ = sleep_for(wait) => {}
            changed = reloads.changed() => {
                if changed.is_err() {
                    return;
                }
                backoff = Duration::from_secs(1);
                seen_metrics = false;
            }
        }
    }
}

async fn sleep_for(wait: Duration) {
    if wait == Duration::MAX {
        std::future::pending::<()>().await;
    } else {
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests;
