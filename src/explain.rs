//! `explain`: why a metric is, or is not, served — against the live Prometheus (and the
//! Kubernetes API when configured), through the same code paths requests take.
//!
//! Two reports: per rule (series matched, dropped and why, metrics produced, keys lost to a
//! later rule), and per metric (the rule and series that serve it, the label ↔ resource
//! mapping, the objects, the exact PromQL a request runs, and what it returns now). Each is a
//! human table or JSON. Nothing here changes state: it reads a registry built for the report.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use serde::Serialize;

use crate::api::{self, ApiState, CustomRequest};
use crate::discovery::{self, Registry, RuleKind};
use crate::model::{GroupResource, LabelSelector, MetricName, Scope};
use crate::naming::{CompiledRule, ResourceMapper, RuleSet};
use crate::prometheus::Series;

/// Examples listed per reason; the counts are always complete.
const EXAMPLES: usize = 5;

// === Per rule ===

#[derive(Debug, Default, Serialize)]
pub struct RuleReport {
    pub rule: String,
    #[serde(rename = "seriesQuery")]
    pub series_query: String,
    /// Series Prometheus returned for the seriesQuery.
    pub series: usize,
    /// Distinct series names dropped by `seriesFilters` or `name.matches`, with the filter.
    pub filtered: Dropped,
    /// Distinct series names whose `name.as` expansion failed.
    pub unnamed: Dropped,
    /// Series with no label that maps to a Kubernetes resource (custom rules only).
    pub without_resource: Dropped,
    /// Metric → resources it is registered for (custom) or `[]` (external).
    pub metrics: BTreeMap<String, Vec<String>>,
    /// Keys this rule produced that a later rule (or series) took: (key, winner).
    pub lost: Vec<(String, String)>,
    /// Series names this rule serves under another name (series → metric).
    pub renamed: BTreeMap<String, String>,
}

#[derive(Debug, Default, Serialize)]
pub struct Dropped {
    /// Series dropped (names are distinct below; a name may stand for many series).
    pub count: usize,
    /// Series name → why (the filter, or the labels it carries): every name, so a metric
    /// asked about by exact name is always found.
    pub names: BTreeMap<String, String>,
}

impl Dropped {
    fn add(&mut self, name: &str, why: impl FnOnce() -> String) {
        self.count += 1;
        if !self.names.contains_key(name) {
            self.names.insert(name.to_string(), why());
        }
    }

    /// `name (why)` for the first few names, for the human table.
    fn examples(&self) -> Vec<String> {
        self.names
            .iter()
            .take(EXAMPLES)
            .map(|(name, why)| format!("{name} ({why})"))
            .collect()
    }
}

/// Per-rule reports for a set of rules against series already fetched (by `seriesQuery`),
/// and the registry those series build.
pub fn rule_reports(
    kind: RuleKind,
    rules: &[Arc<CompiledRule>],
    series: &HashMap<String, Vec<Series>>,
    registry: &Registry,
    mapper: &dyn ResourceMapper,
) -> Vec<RuleReport> {
    rules
        .iter()
        .map(|rule| {
            let list = series
                .get(&rule.series_key())
                .map_or(&[][..], Vec::as_slice);
            trace_rule(kind, rule, list, registry, mapper)
        })
        .collect()
}

fn trace_rule(
    kind: RuleKind,
    rule: &Arc<CompiledRule>,
    series: &[Series],
    registry: &Registry,
    mapper: &dyn ResourceMapper,
) -> RuleReport {
    let mut report = RuleReport {
        rule: rule.id.clone(),
        series_query: rule.series_query.clone(),
        series: series.iter().map(|s| s.count).sum(),
        ..RuleReport::default()
    };
    let mut names_seen: HashMap<&str, Option<String>> = HashMap::new();
    let mut metrics: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut lost: BTreeSet<(String, String)> = BTreeSet::new();
    for s in series {
        let first_time = !names_seen.contains_key(s.name.as_str());
        let metric = names_seen
            .entry(s.name.as_str())
            .or_insert_with(|| {
                if let Some(filter) = rule.dropping_filter(&s.name) {
                    report.filtered.add(&s.name, || filter.clone());
                    return None;
                }
                let named = rule.metric_name_for(&s.name);
                match &named {
                    None => report
                        .unnamed
                        .add(&s.name, || "name.as expanded to nothing".into()),
                    Some(metric) if *metric != s.name => {
                        report.renamed.insert(s.name.clone(), metric.clone());
                    }
                    Some(_) => {}
                }
                named
            })
            .clone();
        let Some(metric) = metric else { continue };
        if kind == RuleKind::External {
            if first_time {
                metrics.entry(metric.clone()).or_default();
                match registry.external(&metric) {
                    Some(r) if Arc::ptr_eq(&r.rule, rule) => {}
                    Some(r) => {
                        lost.insert((metric, r.rule.id.clone()));
                    }
                    None => {}
                }
            }
            continue;
        }
        let resources: Vec<GroupResource> = s
            .labels
            .iter()
            .filter_map(|(label, _)| rule.converter.resource_for_label(label, mapper))
            .collect();
        if resources.is_empty() {
            let labels: Vec<&str> = s.labels.iter().map(|(k, _)| k.as_str()).collect();
            report
                .without_resource
                .add(&s.name, || format!("labels: {}", labels.join(", ")));
            continue;
        }
        for resource in resources {
            let key = discovery::CustomMetricInfo {
                scope: Scope::for_registered_resource(&resource),
                group_resource: resource.clone(),
                metric: MetricName::new(metric.clone()),
            };
            match registry.custom(&key) {
                Some(r) if Arc::ptr_eq(&r.rule, rule) => {}
                Some(r) => {
                    lost.insert((format!("{resource}/{metric}"), r.rule.id.clone()));
                }
                None => {}
            }
            metrics
                .entry(metric.clone())
                .or_default()
                .insert(resource.to_string());
        }
    }
    report.metrics = metrics
        .into_iter()
        .map(|(k, v)| (k, v.into_iter().collect()))
        .collect();
    report.lost = lost.into_iter().collect();
    report
}

/// The rules report as a table, then the details of each rule that dropped or lost anything.
pub fn rules_table(reports: &[RuleReport]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<18} {:>8} {:>9} {:>8} {:>12} {:>8} {:>5}",
        "RULE", "SERIES", "FILTERED", "UNNAMED", "NO-RESOURCE", "METRICS", "LOST"
    );
    for r in reports {
        let _ = writeln!(
            out,
            "{:<18} {:>8} {:>9} {:>8} {:>12} {:>8} {:>5}",
            r.rule,
            r.series,
            r.filtered.count,
            r.unnamed.count,
            r.without_resource.count,
            r.metrics.len(),
            r.lost.len()
        );
    }
    for r in reports {
        let _ = writeln!(out, "\n{}  seriesQuery: {}", r.rule, r.series_query);
        if r.series == 0 {
            let _ = writeln!(
                out,
                "  no series: Prometheus has none for this selector within the max age (check the selector in Prometheus' UI, and --metrics-max-age)"
            );
        }
        let metrics: Vec<String> = r
            .metrics
            .iter()
            .map(|(m, resources)| {
                if resources.is_empty() {
                    m.clone()
                } else {
                    format!("{m} ({})", resources.join(", "))
                }
            })
            .collect();
        if !metrics.is_empty() {
            let shown: Vec<&str> = metrics.iter().take(20).map(String::as_str).collect();
            let more = metrics.len().saturating_sub(shown.len());
            let _ = writeln!(
                out,
                "  metrics: {}{}",
                shown.join(", "),
                if more > 0 {
                    format!(" … and {more} more")
                } else {
                    String::new()
                }
            );
        }
        for (what, dropped) in [
            ("filtered out", &r.filtered),
            ("not named (name.as expansion failed)", &r.unnamed),
            ("no label maps to a resource", &r.without_resource),
        ] {
            if dropped.count > 0 {
                let _ = writeln!(
                    out,
                    "  {} series names {what}: {}{}",
                    dropped.count,
                    dropped.examples().join("; "),
                    if dropped.names.len() > EXAMPLES {
                        "; …"
                    } else {
                        ""
                    }
                );
            }
        }
        for (key, winner) in &r.lost {
            let _ = writeln!(
                out,
                "  {key} is served by {winner} instead (the later rule wins)"
            );
        }
    }
    out
}

// === Per metric ===

/// What to explain: `pods/http_requests`, `pods/web-1/http_requests`,
/// `deployments.apps/web/replicas_ready`, `namespaces/shop/queue_depth`, `external/queue_depth`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Custom {
        resource: GroupResource,
        name: Option<String>,
        metric: String,
    },
    External {
        metric: String,
    },
}

impl Target {
    pub fn parse(input: &str) -> Result<Target, String> {
        let parts: Vec<&str> = input.trim_matches('/').split('/').collect();
        match parts.as_slice() {
            ["external", metric] => Ok(Target::External {
                metric: metric.to_string(),
            }),
            [resource, metric] => Ok(Target::Custom {
                resource: GroupResource::parse_segment(resource),
                name: None,
                metric: metric.to_string(),
            }),
            [resource, name, metric] => Ok(Target::Custom {
                resource: GroupResource::parse_segment(resource),
                name: (*name != "*").then(|| name.to_string()),
                metric: metric.to_string(),
            }),
            _ => Err(format!(
                "{input:?}: want RESOURCE/METRIC, RESOURCE/NAME/METRIC or external/METRIC (e.g. pods/http_requests_per_second)"
            )),
        }
    }
}

#[derive(Debug, Default, Serialize)]
pub struct MetricReport {
    /// What was asked, as the API path a client would GET.
    pub path: String,
    pub served: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    /// Label → resource, for the labels the query uses.
    pub labels: BTreeMap<String, String>,
    pub objects: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promql: Option<String>,
    /// Object (or label set, for external metrics) → value as the API answers it.
    pub values: Vec<(String, String)>,
    /// Objects asked for that got no value, and why.
    pub missing: Vec<String>,
    /// Why it is not served, or what to look at.
    pub reasons: Vec<String>,
    pub elapsed_ms: u64,
}

pub struct MetricQuestion<'a> {
    pub target: &'a Target,
    pub namespace: Option<&'a str>,
    pub label_selector: &'a str,
    pub metric_selector: &'a str,
}

/// Explains one metric against a registry built for the purpose, by the API's own code.
pub async fn explain_metric(
    state: &ApiState,
    registry: &Registry,
    rules: &[RuleReport],
    question: &MetricQuestion<'_>,
) -> MetricReport {
    let started = Instant::now();
    let mut report = match question.target {
        Target::Custom {
            resource,
            name,
            metric,
        } => {
            explain_custom(
                state,
                registry,
                rules,
                question,
                resource,
                name.as_deref(),
                metric,
            )
            .await
        }
        Target::External { metric } => {
            explain_external(state, registry, rules, question, metric).await
        }
    };
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    report
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn query_string(pairs: &[(&str, &str)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

async fn explain_custom(
    state: &ApiState,
    registry: &Registry,
    rules: &[RuleReport],
    question: &MetricQuestion<'_>,
    resource: &GroupResource,
    name: Option<&str>,
    metric: &str,
) -> MetricReport {
    let mut report = MetricReport::default();
    let mut path = String::from("/apis/custom.metrics.k8s.io/v1beta1/");
    if let Some(ns) = question.namespace {
        let _ = write!(path, "namespaces/{ns}/");
    }
    let _ = write!(
        path,
        "{resource}/{}/{metric}{}",
        name.unwrap_or("*"),
        query_string(&[
            ("labelSelector", question.label_selector),
            ("metricLabelSelector", question.metric_selector),
        ])
    );
    report.path = path.clone();
    let rest = path.trim_start_matches("/apis/custom.metrics.k8s.io/v1beta1/");
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let params: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let request = match CustomRequest::parse(rest, &params) {
        Ok(request) => request,
        Err(e) => {
            report
                .reasons
                .push(format!("the request itself is invalid: {}", e.message()));
            return report;
        }
    };
    let plan = match api::plan_custom(state, registry, &request).await {
        Ok(plan) => plan,
        Err(e) => {
            report
                .reasons
                .push(format!("the API answers: {}", e.message()));
            why_not_registered(
                state,
                registry,
                rules,
                resource,
                metric,
                question.namespace,
                &mut report,
            );
            return report;
        }
    };
    let rule = &plan.registration.rule;
    report.rule = Some(rule.id.clone());
    report.series = Some(plan.registration.series_name.clone());
    report.labels.insert(
        plan.resource_label.clone(),
        plan.info.group_resource.to_string(),
    );
    if question.namespace.is_some()
        && let Ok(label) = rule
            .converter
            .label_for_resource(&GroupResource::core("namespaces"), state.mapper.as_ref())
    {
        report.labels.insert(label, "namespaces".into());
    }
    report.objects = plan.names.clone();
    report.promql = Some(plan.query.as_str().to_string());
    match api::run_custom(state, &plan, &request).await {
        Ok(items) => {
            report.served = !items.is_empty();
            let answered: BTreeSet<&str> = items.iter().map(|(o, _)| o.name.as_str()).collect();
            for (object, value) in &items {
                report.values.push((object.name.clone(), value.to_string()));
            }
            for name in &plan.names {
                if !answered.contains(name.as_str()) {
                    report.missing.push(name.clone());
                }
            }
        }
        Err(e) => {
            report
                .reasons
                .push(format!("the API answers: {}", e.message()));
            report.missing = plan.names.clone();
        }
    }
    if !report.missing.is_empty() {
        report.reasons.push(format!(
            "{} object(s) got no value: the query returned no sample whose {:?} label names them (or the sample was NaN/±Inf); run the PromQL in Prometheus' UI and compare its {:?} values",
            report.missing.len(),
            plan.resource_label,
            plan.resource_label
        ));
    }
    report
}

/// The metric is not registered for this resource: say what is registered, and which rules
/// saw a series of that name but dropped it.
fn why_not_registered(
    state: &ApiState,
    registry: &Registry,
    rules: &[RuleReport],
    resource: &GroupResource,
    metric: &str,
    namespace: Option<&str>,
    report: &mut MetricReport,
) {
    let Some(info) = state.mapper.resolve(&resource.group, &resource.resource) else {
        report.reasons.push(format!(
            "{resource} is not a resource the API server knows (kubectl api-resources lists them)"
        ));
        return;
    };
    let keys: Vec<_> = registry
        .custom_keys()
        .iter()
        .filter(|k| k.metric.as_str() == metric)
        .collect();
    if keys.iter().any(|k| k.group_resource == info.group_resource) {
        report.reasons.push(match namespace {
            None => format!(
                "{metric} is served for {} within a namespace only: give -n NAMESPACE",
                info.group_resource
            ),
            Some(_) => format!(
                "{metric} is served for {} without a namespace only (cluster-scoped): drop -n",
                info.group_resource
            ),
        });
        return;
    }
    if !keys.is_empty() {
        let elsewhere: Vec<String> = keys.iter().map(|k| k.group_resource.to_string()).collect();
        report.reasons.push(format!(
            "{metric} is served for {}, not for {}: the series have no label that maps to {} (see the rule's resources: template/overrides)",
            elsewhere.join(", "),
            info.group_resource,
            info.group_resource
        ));
        return;
    }
    let mut found = false;
    for rule in rules {
        if let Some(renamed) = rule.renamed.get(metric) {
            found = true;
            report.reasons.push(format!(
                "{} serves series {metric} as {renamed}: ask for {}/{renamed}",
                rule.rule, info.group_resource
            ));
        }
        if let Some(resources) = rule.metrics.get(metric) {
            found = true;
            report.reasons.push(format!(
                "{} names series {metric} for {} only",
                rule.rule,
                resources.join(", ")
            ));
        }
        for (what, dropped) in [
            ("filtered it out", &rule.filtered),
            ("could not name it", &rule.unnamed),
            ("found no resource label on it", &rule.without_resource),
        ] {
            if let Some(why) = dropped.names.get(metric) {
                found = true;
                report
                    .reasons
                    .push(format!("{} {what}: {metric} ({why})", rule.rule));
            }
        }
    }
    if !found {
        let similar: Vec<&str> = registry
            .custom_keys()
            .iter()
            .map(|k| k.metric.as_str())
            .filter(|m| similar(m, metric))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .take(5)
            .collect();
        report.reasons.push(format!(
            "no rule produces a metric named {metric}: no series matched a seriesQuery under that name (note that `name.as` renames series, e.g. http_requests_total → http_requests_per_second){}",
            if similar.is_empty() { String::new() } else { format!("; similar metrics: {}", similar.join(", ")) }
        ));
    }
}

fn similar(candidate: &str, wanted: &str) -> bool {
    let stem = |s: &str| {
        s.trim_end_matches("_total")
            .trim_end_matches("_per_second")
            .trim_end_matches("_seconds")
            .to_string()
    };
    let (a, b) = (stem(candidate), stem(wanted));
    a.contains(&b) || b.contains(&a)
}

async fn explain_external(
    state: &ApiState,
    registry: &Registry,
    rules: &[RuleReport],
    question: &MetricQuestion<'_>,
    metric: &str,
) -> MetricReport {
    let namespace = question.namespace.unwrap_or("default");
    let mut report = MetricReport {
        path: format!(
            "/apis/external.metrics.k8s.io/v1beta1/namespaces/{namespace}/{metric}{}",
            query_string(&[("labelSelector", question.metric_selector)])
        ),
        ..MetricReport::default()
    };
    let selector = match LabelSelector::parse(question.metric_selector) {
        Ok(selector) => selector,
        Err(e) => {
            report.reasons.push(format!("the selector is invalid: {e}"));
            return report;
        }
    };
    let Some(registration) = registry.external(metric) else {
        let known: Vec<&str> = registry
            .external_keys()
            .iter()
            .map(MetricName::as_str)
            .filter(|m| similar(m, metric))
            .take(5)
            .collect();
        report.reasons.push(format!(
            "no external rule produces {metric}{}",
            if known.is_empty() {
                String::new()
            } else {
                format!("; similar: {}", known.join(", "))
            }
        ));
        for rule in rules {
            for dropped in [&rule.filtered, &rule.unnamed] {
                if let Some(why) = dropped.names.get(metric) {
                    report
                        .reasons
                        .push(format!("{} dropped {metric} ({why})", rule.rule));
                }
            }
        }
        return report;
    };
    let rule = &registration.rule;
    report.rule = Some(rule.id.clone());
    report.series = Some(registration.series_name.clone());
    match rule.build_external(
        &registration.series_name,
        Some(namespace),
        &selector,
        state.mapper.as_ref(),
    ) {
        Ok(query) => report.promql = Some(query.as_str().to_string()),
        Err(e) => report
            .reasons
            .push(format!("the query cannot be built: {e}")),
    }
    match api::external::external_values(state, registry, namespace, metric, &selector).await {
        Ok(items) => {
            report.served = !items.is_empty();
            for item in items {
                let labels = item
                    .metric_labels
                    .map(|l| {
                        l.iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default();
                report.values.push((format!("{{{labels}}}"), item.value));
            }
            if !report.served {
                report.reasons.push("the query returned no samples now: the API answers an empty list (the HPA then reports the metric as missing)".into());
            }
        }
        Err(e) => report
            .reasons
            .push(format!("the API answers: {}", e.message())),
    }
    report
}

pub fn metric_text(report: &MetricReport) -> String {
    let mut out = String::new();
    let row = |out: &mut String, k: &str, v: &str| {
        let _ = writeln!(out, "{k:<9}{v}");
    };
    row(&mut out, "request", &report.path);
    row(&mut out, "served", if report.served { "yes" } else { "NO" });
    if let Some(rule) = &report.rule {
        row(&mut out, "rule", rule);
    }
    if let Some(series) = &report.series {
        row(&mut out, "series", series);
    }
    if !report.labels.is_empty() {
        let labels: Vec<String> = report
            .labels
            .iter()
            .map(|(l, r)| format!("{l} ↔ {r}"))
            .collect();
        row(&mut out, "labels", &labels.join(", "));
    }
    if !report.objects.is_empty() {
        let shown: Vec<&str> = report.objects.iter().take(20).map(String::as_str).collect();
        row(
            &mut out,
            "objects",
            &format!(
                "{} ({}{})",
                report.objects.len(),
                shown.join(", "),
                if report.objects.len() > shown.len() {
                    ", …"
                } else {
                    ""
                }
            ),
        );
    }
    if let Some(promql) = &report.promql {
        row(&mut out, "promql", promql);
    }
    for (i, (object, value)) in report.values.iter().enumerate() {
        row(
            &mut out,
            if i == 0 { "values" } else { "" },
            &format!("{object} = {value}"),
        );
    }
    if !report.missing.is_empty() {
        row(&mut out, "missing", &report.missing.join(", "));
    }
    for (i, reason) in report.reasons.iter().enumerate() {
        row(&mut out, if i == 0 { "why" } else { "" }, reason);
    }
    row(
        &mut out,
        "check",
        &format!("kubectl get --raw '{}'", report.path),
    );
    out
}

// === Running both ===

/// Fetches the series every rule asks for and builds the registry, as one relist does.
pub async fn discover(
    state: &ApiState,
    rules: &RuleSet,
    max_age: std::time::Duration,
    collect_objects: bool,
) -> Result<(Registry, Vec<RuleReport>, Vec<RuleReport>), discovery::RelistError> {
    let start = SystemTime::now()
        .checked_sub(max_age)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let backends = state.prometheus.load();
    let detail = if collect_objects {
        crate::prometheus::SeriesDetail::Full
    } else {
        crate::prometheus::SeriesDetail::Shapes
    };
    let (custom, external) = futures_util::future::join(
        discovery::fetch_series(&backends, &rules.custom, start, detail),
        discovery::fetch_series(&backends, &rules.external, start, detail),
    )
    .await;
    let (custom, external) = (custom?, external?);
    let mut registry = Registry::default();
    registry.build_custom(
        &rules.custom,
        &custom,
        state.mapper.as_ref(),
        collect_objects,
    );
    registry.build_external(&rules.external, &external);
    let custom_reports = rule_reports(
        RuleKind::Custom,
        &rules.custom,
        &custom,
        &registry,
        state.mapper.as_ref(),
    );
    let external_reports = rule_reports(
        RuleKind::External,
        &rules.external,
        &external,
        &registry,
        state.mapper.as_ref(),
    );
    Ok((registry, custom_reports, external_reports))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_names_are_found_by_exact_name_only() {
        let mut dropped = Dropped::default();
        for i in 0..8 {
            dropped.add(&format!("m{i}_total"), || format!("filter {i}"));
        }
        dropped.add("m7_total", || "not kept: first reason wins".into());
        assert_eq!(dropped.count, 9);
        // Beyond the examples shown, and never a prefix match.
        assert_eq!(
            dropped.names.get("m7_total").map(String::as_str),
            Some("filter 7")
        );
        assert_eq!(dropped.names.get("m7"), None);
        assert_eq!(dropped.examples().len(), EXAMPLES);
    }

    #[test]
    fn targets() {
        let cases = [
            (
                "pods/http_requests",
                Some(("pods", "", None, "http_requests")),
            ),
            (
                "pods/web-1/http_requests",
                Some(("pods", "", Some("web-1"), "http_requests")),
            ),
            ("pods/*/x", Some(("pods", "", None, "x"))),
            (
                "deployments.apps/web/x",
                Some(("deployments", "apps", Some("web"), "x")),
            ),
            ("x", None),
            ("a/b/c/d", None),
        ];
        for (input, expected) in cases {
            let parsed = Target::parse(input).ok();
            let expected = expected.map(|(resource, group, name, metric)| Target::Custom {
                resource: GroupResource::new(group, resource),
                name: name.map(str::to_string),
                metric: metric.to_string(),
            });
            assert_eq!(parsed, expected, "{input}");
        }
        assert_eq!(
            Target::parse("external/queue_depth"),
            Ok(Target::External {
                metric: "queue_depth".into()
            })
        );
    }
}
