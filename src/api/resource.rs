//! metrics.k8s.io/v1beta1 (reference §5.5): CPU and memory of pods and nodes, what
//! `kubectl top` and the HPA's `Resource` metrics read.
//!
//! Invariants:
//! - Objects come from watch caches (Running pods, nodes), never from a LIST per request; in
//!   standalone mode, from the query answers themselves.
//! - A failed Prometheus query is an error (the reference silently drops pods, so `kubectl top`
//!   lies); a pod or node without both CPU and memory samples is simply absent.
//! - `kubectl top pods -A` costs one CPU and one memory query, not two per namespace.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::SystemTime;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::Response;
use axum::routing::{any, get};
use serde::Serialize;

use super::quantity::{Format, Quantity};
use super::types::{ApiResource, ApiResourceList, ListMeta, go_duration, rfc3339, rfc3339_secs};
use super::{ApiError, ApiState, Group, json_body, wants_pretty};
use crate::kube::{CachedObject, MetaCache};
use crate::model::LabelSelector;
use crate::naming::{Objects, PromQl, ResourceLabels, ResourceQueries};
use crate::prometheus::{QueryResult, Sample};

pub const METRICS: Group = Group {
    name: "metrics.k8s.io",
    versions: &["v1beta1"],
};

/// Where pods and nodes come from.
#[derive(Clone)]
pub enum ResourceObjects {
    /// Watch caches of Running pods and of nodes.
    Kube { pods: MetaCache, nodes: MetaCache },
    /// No Kubernetes API: every pod and node that has samples.
    Standalone,
}

/// Pods and nodes for metrics.k8s.io, started on first need: at start-up when the rules have
/// `resourceRules`, or when a reload adds them (watches cost memory, so none run otherwise).
pub struct ResourceSource {
    make: Box<dyn Fn() -> ResourceObjects + Send + Sync>,
    objects: std::sync::OnceLock<ResourceObjects>,
}

impl ResourceSource {
    pub fn new(make: impl Fn() -> ResourceObjects + Send + Sync + 'static) -> Self {
        ResourceSource {
            make: Box::new(make),
            objects: std::sync::OnceLock::new(),
        }
    }

    /// The objects, starting their watches if this is the first use.
    pub fn get(&self) -> &ResourceObjects {
        self.objects.get_or_init(|| (self.make)())
    }

    /// The objects if they have been started.
    pub fn started(&self) -> Option<&ResourceObjects> {
        self.objects.get()
    }
}

// === Wire types ===

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct ObjectMeta {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(rename = "creationTimestamp")]
    pub creation_timestamp: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Usage {
    pub cpu: String,
    pub memory: String,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct ContainerMetrics {
    pub name: String,
    pub usage: Usage,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct PodMetrics {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    #[serde(rename = "apiVersion", skip_serializing_if = "Option::is_none")]
    pub api_version: Option<&'static str>,
    pub metadata: ObjectMeta,
    pub timestamp: String,
    pub window: String,
    pub containers: Vec<ContainerMetrics>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct NodeMetrics {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    #[serde(rename = "apiVersion", skip_serializing_if = "Option::is_none")]
    pub api_version: Option<&'static str>,
    pub metadata: ObjectMeta,
    pub timestamp: String,
    pub window: String,
    pub usage: Usage,
}

#[derive(Serialize)]
struct List<T> {
    kind: &'static str,
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    metadata: ListMeta,
    items: Vec<T>,
}

const API_VERSION: &str = "metrics.k8s.io/v1beta1";

// === Routes ===

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/apis/metrics.k8s.io", get(group))
        .route("/apis/metrics.k8s.io/", get(group))
        .route("/apis/metrics.k8s.io/{version}", any(resources))
        .route("/apis/metrics.k8s.io/{version}/", any(resources))
        .route("/apis/metrics.k8s.io/{version}/{*rest}", any(metrics))
}

async fn group(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    METRICS.group_document(state.rules.load().resource.is_some(), &headers, &params)
}

async fn resources(
    State(state): State<ApiState>,
    method: Method,
    headers: HeaderMap,
    Path(version): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    METRICS.check(state.rules.load().resource.is_some(), &method, &version)?;
    let list = ApiResourceList {
        kind: "APIResourceList",
        api_version: "v1",
        group_version: API_VERSION.into(),
        resources: vec![
            ApiResource {
                name: "nodes".into(),
                singular_name: "",
                namespaced: false,
                kind: "NodeMetrics",
                verbs: vec!["get", "list"],
            },
            ApiResource {
                name: "pods".into(),
                singular_name: "",
                namespaced: true,
                kind: "PodMetrics",
                verbs: vec!["get", "list"],
            },
        ],
    };
    Ok(json_body(&list, wants_pretty(&headers, &params)))
}

/// The request's object filter: `labelSelector` and `fieldSelector` on metadata.name/namespace.
#[derive(Debug, Default)]
pub struct ListOptions {
    pub labels: LabelSelector,
    /// (field, value, equal?)
    pub fields: Vec<(String, String, bool)>,
}

impl ListOptions {
    pub fn parse(params: &HashMap<String, String>, namespaced: bool) -> Result<Self, ApiError> {
        let labels = LabelSelector::parse(params.get("labelSelector").map_or("", String::as_str))
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let mut fields = Vec::new();
        for term in params
            .get("fieldSelector")
            .map_or("", String::as_str)
            .split(',')
            .filter(|t| !t.is_empty())
        {
            let (field, value, equal) = if let Some((f, v)) = term.split_once("!=") {
                (f, v, false)
            } else if let Some((f, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                (f, v, true)
            } else {
                return Err(ApiError::BadRequest(format!(
                    "invalid field selector: {term}"
                )));
            };
            let supported =
                field == "metadata.name" || (namespaced && field == "metadata.namespace");
            if !supported {
                return Err(ApiError::BadRequest(format!(
                    "field label not supported: {field}"
                )));
            }
            fields.push((field.to_string(), value.to_string(), equal));
        }
        Ok(ListOptions { labels, fields })
    }

    fn matches(&self, object: &CachedObject) -> bool {
        self.labels.matches_map(&object.labels)
            && self.fields.iter().all(|(field, value, equal)| {
                let actual = if field == "metadata.name" {
                    Some(object.name.as_str())
                } else {
                    object.namespace.as_deref()
                };
                (actual == Some(value.as_str())) == *equal
            })
    }
}

async fn metrics(
    State(state): State<ApiState>,
    method: Method,
    headers: HeaderMap,
    Path((version, rest)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let rules = state.rules.load();
    METRICS.check(rules.resource.is_some(), &method, &version)?;
    let Some(queries) = rules.resource.as_ref() else {
        return Err(ApiError::RouteNotFound);
    };
    let objects = state.resource_objects.get();
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let pretty = wants_pretty(&headers, &params);
    let table = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("as=Table"));
    let window = go_duration(queries.window.as_millis());
    match segments.as_slice() {
        ["nodes"] => {
            let options = ListOptions::parse(&params, false)?;
            let items = node_metrics(&state, queries, objects, None, &options).await?;
            Ok(if table {
                json_body(&node_table(&items), pretty)
            } else {
                json_body(
                    &List {
                        kind: "NodeMetricsList",
                        api_version: API_VERSION,
                        metadata: ListMeta {},
                        items,
                    },
                    pretty,
                )
            })
        }
        ["nodes", name] => {
            let mut items = node_metrics(
                &state,
                queries,
                objects,
                Some(name),
                &ListOptions::default(),
            )
            .await?;
            let mut item = items.pop().ok_or_else(|| ApiError::NotFound {
                group: "metrics.k8s.io",
                kind: "nodemetrics",
                name: name.to_string(),
            })?;
            item.kind = Some("NodeMetrics");
            item.api_version = Some(API_VERSION);
            Ok(json_body(&item, pretty))
        }
        ["pods"] | ["namespaces", _, "pods"] => {
            let namespace = if let ["namespaces", ns, "pods"] = segments.as_slice() {
                Some(*ns)
            } else {
                None
            };
            let options = ListOptions::parse(&params, true)?;
            let items = pod_metrics(&state, queries, objects, namespace, None, &options).await?;
            Ok(if table {
                json_body(&pod_table(&items, &window), pretty)
            } else {
                json_body(
                    &List {
                        kind: "PodMetricsList",
                        api_version: API_VERSION,
                        metadata: ListMeta {},
                        items,
                    },
                    pretty,
                )
            })
        }
        ["namespaces", ns, "pods", name] => {
            let mut items = pod_metrics(
                &state,
                queries,
                objects,
                Some(ns),
                Some(name),
                &ListOptions::default(),
            )
            .await?;
            let mut item = items.pop().ok_or_else(|| ApiError::NotFound {
                group: "metrics.k8s.io",
                kind: "podmetrics",
                name: format!("{ns}/{name}"),
            })?;
            item.kind = Some("PodMetrics");
            item.api_version = Some(API_VERSION);
            Ok(json_body(&item, pretty))
        }
        _ => Err(ApiError::RouteNotFound),
    }
}

// === Pods ===

/// The pods a request covers, by (namespace, name), with their labels.
pub type WantedPods = BTreeMap<(String, String), BTreeMap<String, String>>;

/// Per pod: container → (cpu, memory) samples as (value, timestamp).
type ContainerSamples = BTreeMap<String, (Option<(f64, f64)>, Option<(f64, f64)>)>;

async fn pod_metrics(
    state: &ApiState,
    queries: &ResourceQueries,
    objects: &ResourceObjects,
    namespace: Option<&str>,
    name: Option<&str>,
    options: &ListOptions,
) -> Result<Vec<PodMetrics>, ApiError> {
    if !queries.serves_pods {
        return Ok(vec![]);
    }
    let labels = queries
        .cpu
        .labels(state.mapper.as_ref())
        .map_err(internal)?;
    // The pods asked for, by (namespace, name), with their labels; `None` = whatever has samples.
    let wanted: Option<WantedPods> = match objects {
        ResourceObjects::Kube { pods, .. } => {
            let found: BTreeMap<_, _> = pods
                .objects()
                .into_iter()
                .filter(|o| namespace.is_none_or(|ns| o.namespace.as_deref() == Some(ns)))
                .filter(|o| name.is_none_or(|n| o.name == n))
                .filter(|o| options.matches(o))
                .map(|o| ((o.namespace.unwrap_or_default(), o.name), o.labels))
                .collect();
            if let (Some(name), true) = (name, found.is_empty()) {
                return Err(ApiError::NotFound {
                    group: "",
                    kind: "pods",
                    name: name.to_string(),
                });
            }
            if found.is_empty() {
                return Ok(vec![]);
            }
            Some(found)
        }
        ResourceObjects::Standalone => None,
    };
    let now = SystemTime::now();
    let (cpu, memory) = match &wanted {
        Some(wanted) => {
            let namespaces: Vec<String> = wanted
                .keys()
                .map(|(ns, _)| ns.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let names: Vec<String> = wanted
                .keys()
                .map(|(_, n)| n.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let pods = if names.len() > super::MAX_NAMED_OBJECTS {
                Objects::Any
            } else {
                Objects::Named(&names)
            };
            pod_samples(state, queries, &labels.namespace, &namespaces, pods, now).await?
        }
        None => {
            let pods = name.map(|n| vec![n.to_string()]);
            let pods = pods.as_deref().map_or(Objects::Any, Objects::Named);
            match namespace {
                Some(ns) => {
                    pod_samples(
                        state,
                        queries,
                        &labels.namespace,
                        &[ns.to_string()],
                        pods,
                        now,
                    )
                    .await?
                }
                None => query_pair(state, queries, Objects::Any, pods, now).await?,
            }
        }
    };
    Ok(assemble_pods(
        &cpu,
        &memory,
        &labels,
        wanted.as_ref(),
        options,
        &go_duration(queries.window.as_millis()),
        now,
    ))
}

/// Pairs CPU and memory samples into PodMetrics (§5.5): NaN and negative usage become 0; a pod
/// needs at least one CPU and one memory sample; containers missing one get 0; the timestamp
/// is the earliest sample's; pods come sorted by (namespace, name).
pub fn assemble_pods(
    cpu: &[Sample],
    memory: &[Sample],
    labels: &ResourceLabels,
    wanted: Option<&WantedPods>,
    options: &ListOptions,
    window: &str,
    now: SystemTime,
) -> Vec<PodMetrics> {
    let mut by_pod: BTreeMap<(String, String), ContainerSamples> = BTreeMap::new();
    for (samples, is_cpu) in [(cpu, true), (memory, false)] {
        for sample in samples {
            let Some(pod) = sample.labels.get(&labels.pod) else {
                continue;
            };
            let Some(ns) = sample.labels.get(&labels.namespace).cloned() else {
                continue;
            };
            let container = sample
                .labels
                .get(&labels.container)
                .cloned()
                .unwrap_or_default();
            // Negative and NaN usage is reported as 0, as the reference does (§5.5).
            let value = if sample.value.is_nan() || sample.value < 0.0 {
                0.0
            } else {
                sample.value
            };
            let entry = by_pod
                .entry((ns, pod.clone()))
                .or_default()
                .entry(container)
                .or_default();
            if is_cpu {
                entry.0 = Some((value, sample.timestamp));
            } else {
                entry.1 = Some((value, sample.timestamp));
            }
        }
    }
    let created = rfc3339(now);
    let mut items = Vec::new();
    for ((ns, pod), containers) in by_pod {
        let object_labels = match wanted {
            Some(wanted) => match wanted.get(&(ns.clone(), pod.clone())) {
                Some(labels) => labels.clone(),
                None => continue,
            },
            None => {
                if !options.matches(&CachedObject {
                    namespace: Some(ns.clone()),
                    name: pod.clone(),
                    labels: BTreeMap::new(),
                }) {
                    continue;
                }
                BTreeMap::new()
            }
        };
        let has_cpu = containers.values().any(|c| c.0.is_some());
        let has_memory = containers.values().any(|c| c.1.is_some());
        if !(has_cpu && has_memory) {
            continue;
        }
        let timestamp = containers
            .values()
            .flat_map(|c| [c.0, c.1])
            .flatten()
            .map(|(_, ts)| ts)
            .fold(f64::INFINITY, f64::min);
        let containers = containers
            .into_iter()
            .map(|(name, (cpu, memory))| ContainerMetrics {
                name,
                usage: usage(cpu.map_or(0.0, |c| c.0), memory.map_or(0.0, |m| m.0)),
            })
            .collect();
        items.push(PodMetrics {
            kind: None,
            api_version: None,
            metadata: ObjectMeta {
                name: pod,
                namespace: Some(ns),
                creation_timestamp: created.clone(),
                labels: object_labels,
            },
            timestamp: rfc3339_secs(timestamp.floor() as i64),
            window: window.to_string(),
            containers,
        });
    }
    items
}

/// CPU and memory samples of pods in `namespaces`, each carrying the namespace label: one pair
/// of queries for all namespaces when the template keeps the namespace label (`by
/// (<<.GroupBy>>)`), else one pair per namespace, as the reference does.
async fn pod_samples(
    state: &ApiState,
    queries: &ResourceQueries,
    namespace_label: &str,
    namespaces: &[String],
    pods: Objects<'_>,
    now: SystemTime,
) -> Result<(Vec<Sample>, Vec<Sample>), ApiError> {
    if namespaces.len() > 1 {
        let (cpu, memory) =
            query_pair(state, queries, Objects::Named(namespaces), pods, now).await?;
        if cpu
            .iter()
            .chain(&memory)
            .all(|s| s.labels.contains_key(namespace_label))
        {
            return Ok((cpu, memory));
        }
        tracing::debug!(
            "resource query drops the namespace label; querying namespace by namespace"
        );
    }
    let per_namespace = futures_util::future::join_all(namespaces.iter().map(|ns| async move {
        let (mut cpu, mut memory) = query_pair(
            state,
            queries,
            Objects::Named(std::slice::from_ref(ns)),
            pods,
            now,
        )
        .await?;
        for sample in cpu.iter_mut().chain(memory.iter_mut()) {
            sample
                .labels
                .entry(namespace_label.to_string())
                .or_insert_with(|| ns.clone());
        }
        Ok::<_, ApiError>((cpu, memory))
    }))
    .await;
    let (mut cpu, mut memory) = (Vec::new(), Vec::new());
    for result in per_namespace {
        let (c, m) = result?;
        cpu.extend(c);
        memory.extend(m);
    }
    Ok((cpu, memory))
}

/// Runs the CPU and memory container queries concurrently at one time.
async fn query_pair(
    state: &ApiState,
    queries: &ResourceQueries,
    namespaces: Objects<'_>,
    pods: Objects<'_>,
    now: SystemTime,
) -> Result<(Vec<Sample>, Vec<Sample>), ApiError> {
    let cpu = queries
        .cpu
        .pod_query(namespaces, pods, state.mapper.as_ref())
        .map_err(internal)?;
    let memory = queries
        .memory
        .pod_query(namespaces, pods, state.mapper.as_ref())
        .map_err(internal)?;
    let (cpu, memory) =
        futures_util::future::join(run(state, &cpu, now), run(state, &memory, now)).await;
    Ok((cpu?, memory?))
}

async fn run(state: &ApiState, query: &PromQl, now: SystemTime) -> Result<Vec<Sample>, ApiError> {
    match state
        .prometheus
        .load()
        .default_client()
        .query(query, now)
        .await
    {
        Ok(QueryResult::Vector(samples)) => Ok(samples),
        Ok(_) => {
            tracing::warn!(query = %query, "resource metrics query did not return a vector");
            Err(ApiError::Internal("unable to fetch metrics".into()))
        }
        Err(e) => {
            tracing::warn!(query = %query, error = %e, "unable to fetch resource metrics from prometheus");
            Err(ApiError::Internal("unable to fetch metrics".into()))
        }
    }
}

fn internal(e: crate::naming::QueryError) -> ApiError {
    tracing::warn!(error = %e, "unable to build resource metrics query");
    ApiError::Internal("unable to fetch metrics".into())
}

fn usage(cpu: f64, memory: f64) -> Usage {
    let format =
        |v: f64, f| Quantity::from_f64(v, f).map_or_else(|| "0".to_string(), |q| q.to_string());
    Usage {
        cpu: format(cpu, Format::DecimalSI),
        memory: format(memory, Format::BinarySI),
    }
}

// === Nodes ===

async fn node_metrics(
    state: &ApiState,
    queries: &ResourceQueries,
    objects: &ResourceObjects,
    name: Option<&str>,
    options: &ListOptions,
) -> Result<Vec<NodeMetrics>, ApiError> {
    if !queries.serves_nodes {
        return Ok(vec![]);
    }
    let labels = queries
        .cpu
        .labels(state.mapper.as_ref())
        .map_err(internal)?;
    let wanted: Option<BTreeMap<String, BTreeMap<String, String>>> = match objects {
        ResourceObjects::Kube { nodes, .. } => {
            let found: BTreeMap<_, _> = nodes
                .objects()
                .into_iter()
                .filter(|o| name.is_none_or(|n| o.name == n))
                .filter(|o| options.matches(o))
                .map(|o| (o.name, o.labels))
                .collect();
            if let (Some(name), true) = (name, found.is_empty()) {
                return Err(ApiError::NotFound {
                    group: "",
                    kind: "node",
                    name: name.to_string(),
                });
            }
            if found.is_empty() {
                return Ok(vec![]);
            }
            Some(found)
        }
        ResourceObjects::Standalone => None,
    };
    let names: Option<Vec<String>> = match (&wanted, name) {
        (Some(w), _) => Some(w.keys().cloned().collect()),
        (None, Some(n)) => Some(vec![n.to_string()]),
        (None, None) => None,
    };
    let objects_arg = names.as_deref().map_or(Objects::Any, Objects::Named);
    let now = SystemTime::now();
    let cpu = queries
        .cpu
        .node_query(objects_arg, state.mapper.as_ref())
        .map_err(internal)?;
    let memory = queries
        .memory
        .node_query(objects_arg, state.mapper.as_ref())
        .map_err(internal)?;
    let (cpu, memory) =
        futures_util::future::join(run(state, &cpu, now), run(state, &memory, now)).await;
    let (cpu, memory) = (cpu?, memory?);
    Ok(assemble_nodes(
        &cpu,
        &memory,
        &labels,
        wanted.as_ref(),
        options,
        &go_duration(queries.window.as_millis()),
        now,
    ))
}

/// Pairs CPU and memory samples into NodeMetrics (§5.5): the first sample per node wins; NaN
/// and negative become 0; both resources are needed; sorted by name.
pub fn assemble_nodes(
    cpu: &[Sample],
    memory: &[Sample],
    labels: &ResourceLabels,
    wanted: Option<&BTreeMap<String, BTreeMap<String, String>>>,
    options: &ListOptions,
    window: &str,
    now: SystemTime,
) -> Vec<NodeMetrics> {
    // The first sample per node wins (§5.5).
    let first = |samples: &[Sample]| {
        let mut map: BTreeMap<String, (f64, f64)> = BTreeMap::new();
        for s in samples {
            if let Some(node) = s.labels.get(&labels.node) {
                let value = if s.value.is_nan() || s.value < 0.0 {
                    0.0
                } else {
                    s.value
                };
                map.entry(node.clone()).or_insert((value, s.timestamp));
            }
        }
        map
    };
    let (cpu, memory) = (first(cpu), first(memory));
    let created = rfc3339(now);
    let mut items = Vec::new();
    for (node, (cpu_value, cpu_ts)) in cpu {
        let Some(&(memory_value, memory_ts)) = memory.get(&node) else {
            continue;
        };
        let object_labels = match wanted {
            Some(w) => match w.get(&node) {
                Some(l) => l.clone(),
                None => continue,
            },
            None => {
                if !options.matches(&CachedObject {
                    namespace: None,
                    name: node.clone(),
                    labels: BTreeMap::new(),
                }) {
                    continue;
                }
                BTreeMap::new()
            }
        };
        items.push(NodeMetrics {
            kind: None,
            api_version: None,
            metadata: ObjectMeta {
                name: node,
                namespace: None,
                creation_timestamp: created.clone(),
                labels: object_labels,
            },
            timestamp: rfc3339_secs(cpu_ts.min(memory_ts).floor() as i64),
            window: window.to_string(),
            usage: usage(cpu_value, memory_value),
        });
    }
    items
}

// === Table (kubectl get podmetrics / nodemetrics) ===

fn table(rows: Vec<serde_json::Value>) -> serde_json::Value {
    let column = |name: &str, format: &str, description: &str| serde_json::json!({"name": name, "type": "string", "format": format, "description": description, "priority": 0});
    serde_json::json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {},
        "columnDefinitions": [
            column("Name", "name", "Name of the resource"),
            column("CPU", "", "CPU usage"),
            column("Memory", "", "Memory usage"),
            column("Window", "", "Time window of the samples"),
        ],
        "rows": rows,
    })
}

fn row(meta: &ObjectMeta, usage: &Usage, window: &str) -> serde_json::Value {
    serde_json::json!({
        "cells": [meta.name, usage.cpu, usage.memory, window],
        "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta},
    })
}

fn pod_table(items: &[PodMetrics], window: &str) -> serde_json::Value {
    table(
        items
            .iter()
            .map(|pod| {
                let (mut cpu, mut memory) = (0i64, 0i64);
                for c in &pod.containers {
                    cpu += milli(&c.usage.cpu, Format::DecimalSI);
                    memory += milli(&c.usage.memory, Format::BinarySI);
                }
                let total = Usage {
                    cpu: Quantity::from_milli(cpu, Format::DecimalSI).to_string(),
                    memory: Quantity::from_milli(memory, Format::BinarySI).to_string(),
                };
                row(&pod.metadata, &total, window)
            })
            .collect(),
    )
}

fn node_table(items: &[NodeMetrics]) -> serde_json::Value {
    table(
        items
            .iter()
            .map(|n| row(&n.metadata, &n.usage, &n.window))
            .collect(),
    )
}

/// Milli-units of a canonical quantity string this module produced.
fn milli(quantity: &str, format: Format) -> i64 {
    let (digits, suffix) = quantity.split_at(
        quantity
            .find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(quantity.len()),
    );
    let n: i64 = digits.parse().unwrap_or(0);
    let scale: i64 = match (suffix, format) {
        ("m", _) => return n,
        ("", _) => 1,
        ("k", _) => 1_000,
        ("M", _) => 1_000_000,
        ("G", _) => 1_000_000_000,
        ("T", _) => 1_000_000_000_000,
        ("Ki", _) => 1 << 10,
        ("Mi", _) => 1 << 20,
        ("Gi", _) => 1 << 30,
        ("Ti", _) => 1 << 40,
        _ => 1,
    };
    n.saturating_mul(scale).saturating_mul(1000)
}

#[cfg(test)]
mod tests;
