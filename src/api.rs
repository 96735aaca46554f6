//! The HTTP API: discovery documents, custom.metrics.k8s.io v1beta1/v1beta2, health, and
//! Kubernetes `Status` errors (reference §5).
//!
//! Invariants:
//! - A handler takes one registry snapshot and never waits on a relist.
//! - `ApiError` is the only error with an HTTP status; every failure reaches the client as
//!   `Status` JSON built in one place (`ApiError::into_response`).
//! - A value that is not a number (NaN, ±Inf, out of int64 range) is never answered as one.
//! - Nothing here reads files, flags or the environment.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde::Serialize;

use crate::discovery::{CustomMetricInfo, Registry, RegistryHandle};
use crate::model::{GroupResource, LabelSelector, MetricName, Scope};
use crate::naming::{PromQl, QueryRequest, ResourceInfo, ResourceMapper};
use crate::prometheus::{self, QueryResult};

pub mod external;
pub mod quantity;
pub mod resource;
pub mod types;

use quantity::{Format, Quantity};
use types::*;

/// A metrics API group and its versions, the preferred one first.
#[derive(Clone, Copy, Debug)]
pub struct Group {
    pub name: &'static str,
    pub versions: &'static [&'static str],
}

/// v1beta2 is advertised first, as the preferred version (both are served).
pub const CUSTOM: Group = Group {
    name: "custom.metrics.k8s.io",
    versions: &["v1beta2", "v1beta1"],
};
pub const EXTERNAL: Group = Group {
    name: "external.metrics.k8s.io",
    versions: &["v1beta1"],
};

impl Group {
    pub(crate) fn doc(self) -> ApiGroup {
        let versions: Vec<GroupVersionForDiscovery> = self
            .versions
            .iter()
            .map(|v| GroupVersionForDiscovery {
                group_version: format!("{}/{v}", self.name),
                version: v.to_string(),
            })
            .collect();
        ApiGroup {
            kind: None,
            api_version: None,
            name: self.name.into(),
            preferred_version: versions[0].clone(),
            versions,
        }
    }

    /// `/apis/<group>`: the APIGroup document, or 404 when the rules do not enable the group.
    pub(crate) fn group_document(
        self,
        installed: bool,
        headers: &HeaderMap,
        params: &HashMap<String, String>,
    ) -> Result<Response, ApiError> {
        if !installed {
            return Err(ApiError::RouteNotFound);
        }
        let group = ApiGroup {
            kind: Some("APIGroup"),
            api_version: Some("v1"),
            ..self.doc()
        };
        Ok(json_body(&group, wants_pretty(headers, params)))
    }

    /// The version a request names, if this group serves it and the method is GET.
    pub(crate) fn check(
        self,
        installed: bool,
        method: &Method,
        version: &str,
    ) -> Result<&'static str, ApiError> {
        let version = self
            .versions
            .iter()
            .find(|v| **v == version)
            .ok_or(ApiError::RouteNotFound)?;
        if !installed {
            return Err(ApiError::RouteNotFound);
        }
        if method != Method::GET {
            return Err(ApiError::MethodNotAllowed);
        }
        Ok(version)
    }
}

/// Above this many objects a query matches every object with the resource label instead of
/// naming them all; the samples are then filtered by the name set.
pub const MAX_NAMED_OBJECTS: usize = 100;

// === State ===

/// Where object names for `*` requests come from.
#[derive(Clone)]
pub enum Objects {
    /// No Kubernetes API: objects seen in series labels (standalone mode).
    Standalone,
    Kube(Arc<crate::kube::Kube>),
}

#[derive(Clone)]
pub struct ApiState {
    pub registry: Arc<RegistryHandle>,
    /// The current rules; reloads swap them (see `reload`).
    pub rules: Arc<crate::reload::RulesHandle>,
    /// The default Prometheus and the rules file's named backends.
    pub prometheus: Arc<prometheus::BackendsHandle>,
    pub mapper: Arc<dyn ResourceMapper>,
    pub objects: Objects,
    /// Pods and nodes for metrics.k8s.io, started when `resourceRules` first exists.
    pub resource_objects: Arc<resource::ResourceSource>,
}

// === Errors ===

/// An API failure; becomes a `Status` object with the matching code (§5.8).
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    MetricNotFound {
        metric: String,
        resource: String,
    },
    MetricNotFoundFor {
        metric: String,
        resource: String,
        name: String,
    },
    BadRequest(String),
    /// 500 with reason InternalError and a cause (`unable to fetch metrics`).
    Internal(String),
    /// 500 without a reason: the reference answers some errors this way (§5.8).
    Plain(String),
    /// `<kind>[.<group>] "<name>" not found`, as apimachinery's NewNotFound words it.
    NotFound {
        group: &'static str,
        kind: &'static str,
        name: String,
    },
    RouteNotFound,
    MethodNotAllowed,
    /// 429: more requests in flight than `--max-requests-inflight`.
    TooManyRequests,
    /// 504: the request did not finish within `--request-timeout`.
    Timeout,
    /// 413: a declared request body above the limit (bytes).
    RequestEntityTooLarge(u64),
    /// 401: credentials were presented and are not valid.
    Unauthorized,
    /// 403, with the message and details of Kubernetes' `forbidden` (§5.8).
    Forbidden {
        message: String,
        details: serde_json::Value,
    },
}

impl ApiError {
    /// The code and message a client sees (`404: the server could not find …`).
    pub fn message(&self) -> String {
        let status = self.status();
        format!("{}: {}", status.code, status.message)
    }

    fn status(&self) -> Status {
        let (code, reason, message, details) = match self {
            ApiError::MetricNotFound { metric, resource } => (
                404,
                Some("NotFound"),
                format!("the server could not find the metric {metric} for {resource}"),
                None,
            ),
            ApiError::MetricNotFoundFor {
                metric,
                resource,
                name,
            } => (
                404,
                Some("NotFound"),
                format!("the server could not find the metric {metric} for {resource} {name}"),
                None,
            ),
            ApiError::BadRequest(m) => (400, Some("BadRequest"), m.clone(), None),
            ApiError::Internal(m) => (
                500,
                Some("InternalError"),
                format!("Internal error occurred: {m}"),
                Some(serde_json::json!({"causes": [{"message": m}]})),
            ),
            ApiError::Plain(m) => (500, None, m.clone(), None),
            ApiError::NotFound { group, kind, name } => {
                let resource = if group.is_empty() {
                    kind.to_string()
                } else {
                    format!("{kind}.{group}")
                };
                let mut details = serde_json::json!({"name": name, "kind": kind});
                if !group.is_empty() {
                    details["group"] = serde_json::json!(group);
                }
                (
                    404,
                    Some("NotFound"),
                    format!("{resource} {name:?} not found"),
                    Some(details),
                )
            }
            ApiError::TooManyRequests => (
                429,
                Some("TooManyRequests"),
                "Too many requests, please try again later.".into(),
                Some(serde_json::json!({"retryAfterSeconds": 1})),
            ),
            ApiError::Timeout => (
                504,
                Some("Timeout"),
                "Timeout: request did not complete within the allotted timeout".into(),
                Some(serde_json::json!({})),
            ),
            ApiError::RequestEntityTooLarge(limit) => (
                413,
                Some("RequestEntityTooLarge"),
                format!("Request entity too large: limit is {limit}"),
                Some(serde_json::json!({})),
            ),
            ApiError::Unauthorized => (401, Some("Unauthorized"), "Unauthorized".into(), None),
            ApiError::Forbidden { message, details } => (
                403,
                Some("Forbidden"),
                message.clone(),
                Some(details.clone()),
            ),
            ApiError::RouteNotFound => (
                404,
                Some("NotFound"),
                "the server could not find the requested resource".into(),
                Some(serde_json::json!({})),
            ),
            ApiError::MethodNotAllowed => (
                405,
                Some("MethodNotAllowed"),
                "the server does not allow this method on the requested resource".into(),
                Some(serde_json::json!({})),
            ),
        };
        Status {
            kind: "Status",
            api_version: "v1",
            metadata: Default::default(),
            status: "Failure",
            message,
            reason,
            details,
            code,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = StatusCode::from_u16(status.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (code, json_body(&status, false)).into_response()
    }
}

// === Router ===

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/apis", get(api_group_list))
        .route("/apis/custom.metrics.k8s.io", get(custom_group))
        .route("/apis/custom.metrics.k8s.io/", get(custom_group))
        .route(
            "/apis/custom.metrics.k8s.io/{version}",
            any(custom_resources),
        )
        .route(
            "/apis/custom.metrics.k8s.io/{version}/",
            any(custom_resources),
        )
        .route(
            "/apis/custom.metrics.k8s.io/{version}/{*rest}",
            any(custom_metric),
        )
        .merge(external::routes())
        .merge(resource::routes())
        .route("/healthz", get(healthz))
        .route("/livez", get(healthz))
        .route("/readyz", get(healthz))
        .route("/healthz/{check}", get(healthz))
        .route("/livez/{check}", get(healthz))
        .route("/readyz/{check}", get(healthz))
        .route("/version", get(version))
        .route("/metrics", get(self_metrics))
        .fallback(not_found)
        .with_state(state)
}

/// The adapter's own metrics (`telemetry`), in the text exposition format.
pub async fn self_metrics() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(crate::telemetry::CONTENT_TYPE),
        )],
        crate::telemetry::metrics().encode(),
    )
        .into_response()
}

pub(crate) fn json_body<T: Serialize>(value: &T, pretty: bool) -> Response {
    let body = if pretty {
        serde_json::to_vec_pretty(value)
    } else {
        serde_json::to_vec(value)
    };
    match body {
        Ok(bytes) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Pretty JSON for `?pretty=true` and for curl/wget/browsers, as the Kubernetes API server does.
pub(crate) fn wants_pretty(headers: &HeaderMap, params: &HashMap<String, String>) -> bool {
    if params
        .get("pretty")
        .is_some_and(|v| v == "true" || v == "1")
    {
        return true;
    }
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ua| {
            ua.starts_with("curl") || ua.starts_with("Wget") || ua.starts_with("Mozilla/5.0")
        })
}

async fn api_group_list(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let mut groups = Vec::new();
    if !state.rules.load().custom.is_empty() {
        groups.push(CUSTOM.doc());
    }
    if !state.rules.load().external.is_empty() {
        groups.push(EXTERNAL.doc());
    }
    if state.rules.load().resource.is_some() {
        groups.push(resource::METRICS.doc());
    }
    json_body(
        &ApiGroupList {
            kind: "APIGroupList",
            api_version: "v1",
            groups,
        },
        wants_pretty(&headers, &params),
    )
}

async fn custom_group(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    CUSTOM.group_document(!state.rules.load().custom.is_empty(), &headers, &params)
}

async fn custom_resources(
    State(state): State<ApiState>,
    method: Method,
    headers: HeaderMap,
    Path(version): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let version = CUSTOM.check(!state.rules.load().custom.is_empty(), &method, &version)?;
    let registry = state.registry.load();
    Ok(json_body(
        &custom_resource_list(&registry, version),
        wants_pretty(&headers, &params),
    ))
}

/// The `APIResourceList` of custom metrics: one entry per registered key (§5.2).
pub fn custom_resource_list(registry: &Registry, version: &str) -> ApiResourceList {
    let resources = registry
        .custom_keys()
        .iter()
        .map(|key| ApiResource {
            name: format!("{}/{}", key.group_resource, key.metric),
            singular_name: "",
            namespaced: key.scope.is_namespaced(),
            kind: "MetricValueList",
            verbs: vec!["get"],
        })
        .collect();
    ApiResourceList {
        kind: "APIResourceList",
        api_version: "v1",
        group_version: format!("{}/{version}", CUSTOM.name),
        resources,
    }
}

async fn custom_metric(
    State(state): State<ApiState>,
    method: Method,
    headers: HeaderMap,
    Path((version, rest)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let version = CUSTOM.check(!state.rules.load().custom.is_empty(), &method, &version)?;
    let request = CustomRequest::parse(&rest, &params)?;
    let registry = state.registry.load();
    let items = custom_values(&state, &registry, &request).await?;
    let pretty = wants_pretty(&headers, &params);
    let timestamp = rfc3339(SystemTime::now());
    let selector = request.metric_selector_json(!items.is_empty())?;
    Ok(match version {
        "v1beta1" => {
            let items = items
                .into_iter()
                .map(|(object, value)| MetricValueV1Beta1 {
                    described_object: object,
                    metric_name: request.metric.to_string(),
                    timestamp: timestamp.clone(),
                    value: value.to_string(),
                    selector: selector.clone(),
                })
                .collect();
            json_body(
                &MetricValueList {
                    kind: "MetricValueList",
                    api_version: "custom.metrics.k8s.io/v1beta1",
                    metadata: ListMeta {},
                    items,
                },
                pretty,
            )
        }
        _ => {
            let items = items
                .into_iter()
                .map(|(object, value)| MetricValueV1Beta2 {
                    described_object: object,
                    metric: MetricIdentifier {
                        name: request.metric.to_string(),
                        selector: selector.clone(),
                    },
                    timestamp: timestamp.clone(),
                    value: value.to_string(),
                })
                .collect();
            json_body(
                &MetricValueList {
                    kind: "MetricValueList",
                    api_version: "custom.metrics.k8s.io/v1beta2",
                    metadata: ListMeta {},
                    items,
                },
                pretty,
            )
        }
    })
}

// === The custom-metrics service ===

/// A parsed custom-metrics request path and query (§5.3.1).
#[derive(Debug, Clone, PartialEq)]
pub struct CustomRequest {
    /// The resource as written in the URL (`pods`, `pod`, `deployments.apps`): used in messages.
    pub resource: GroupResource,
    pub namespace: Option<String>,
    /// `None` for `*`.
    pub name: Option<String>,
    pub metric: MetricName,
    pub label_selector: String,
    pub metric_selector: LabelSelector,
    /// The metricLabelSelector failed to parse: the reference answers 500 with the parser's text.
    pub metric_selector_error: Option<String>,
}

impl CustomRequest {
    /// Parses the path below `/apis/custom.metrics.k8s.io/{version}/` with Kubernetes
    /// request-info rules: `namespaces/{ns}/…` sets the namespace and is stripped.
    pub fn parse(rest: &str, params: &HashMap<String, String>) -> Result<CustomRequest, ApiError> {
        let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
        let (namespace, resource, name, metric) = match segments.as_slice() {
            ["namespaces", ns, "metrics", metric] => (None, "namespaces", *ns, *metric),
            ["namespaces", ns, resource, name, metric] => (Some(*ns), *resource, *name, *metric),
            ["namespaces", _, _] => {
                return Err(ApiError::BadRequest("invalid request path".into()));
            }
            ["namespaces", ..] => return Err(ApiError::RouteNotFound),
            [resource, name, metric] => (None, *resource, *name, *metric),
            _ => return Err(ApiError::RouteNotFound),
        };
        if [resource, name, metric].iter().any(|s| s.is_empty())
            || namespace.is_some_and(str::is_empty)
        {
            return Err(ApiError::RouteNotFound);
        }
        let label_selector = params.get("labelSelector").cloned().unwrap_or_default();
        LabelSelector::parse(&label_selector).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let (metric_selector, metric_selector_error) = match LabelSelector::parse(
            params.get("metricLabelSelector").map_or("", String::as_str),
        ) {
            Ok(s) => (s, None),
            Err(e) => (LabelSelector::everything(), Some(e.to_string())),
        };
        let name = (name != "*").then(|| name.to_string());
        if let Some(field_selector) = params.get("fieldSelector").filter(|s| !s.is_empty()) {
            let wanted = field_selector
                .strip_prefix("metadata.name=")
                .map(|v| v.trim_start_matches('='))
                .ok_or_else(|| {
                    ApiError::BadRequest(format!("field label not supported: {field_selector}"))
                })?;
            if name.as_deref().is_some_and(|n| n != wanted) {
                return Err(ApiError::BadRequest(
                    "fieldSelector metadata.name doesn't match requested name".into(),
                ));
            }
        }
        Ok(CustomRequest {
            resource: GroupResource::parse_segment(resource),
            namespace: namespace.map(str::to_string),
            name,
            metric: MetricName::new(metric),
            label_selector,
            metric_selector,
            metric_selector_error,
        })
    }

    /// The `selector` echoed in items; `!=` cannot be expressed and fails once there are items.
    fn metric_selector_json(&self, has_items: bool) -> Result<Option<LabelSelectorJson>, ApiError> {
        if self.metric_selector.is_empty() {
            return Ok(None);
        }
        match LabelSelectorJson::from_selector(&self.metric_selector) {
            Ok(json) => Ok(Some(json)),
            Err(message) if has_items => Err(ApiError::Plain(message)),
            Err(_) => Ok(None),
        }
    }

    fn not_found(&self) -> ApiError {
        ApiError::MetricNotFound {
            metric: self.metric.to_string(),
            resource: self.resource.to_string(),
        }
    }
}

/// What a custom-metrics request resolves to before Prometheus is asked: `explain` prints it.
#[derive(Debug)]
pub struct CustomPlan {
    pub info: ResourceInfo,
    pub registration: crate::discovery::Registration,
    /// The objects asked for: the named one, or those the label selector listed.
    pub names: Vec<String>,
    pub query: PromQl,
    /// The series label that holds object names.
    pub resource_label: String,
}

/// Looks the metric up, lists objects and builds the query, exactly as a request does.
pub async fn plan_custom(
    state: &ApiState,
    registry: &Registry,
    request: &CustomRequest,
) -> Result<CustomPlan, ApiError> {
    if let Some(message) = &request.metric_selector_error {
        return Err(ApiError::Plain(message.clone()));
    }
    let Some(info) = state
        .mapper
        .resolve(&request.resource.group, &request.resource.resource)
    else {
        state.mapper.unknown_resource_requested();
        return Err(request.not_found());
    };
    let scope = if request.namespace.is_some() {
        Scope::Namespaced
    } else {
        Scope::Cluster
    };
    let key = CustomMetricInfo {
        group_resource: info.group_resource.clone(),
        scope,
        metric: request.metric.clone(),
    };
    // Looked up before listing objects: an unknown metric costs no LIST (the reference lists first).
    let registration = registry.custom(&key).ok_or_else(|| request.not_found())?;
    let rule = &registration.rule;
    let names = match &request.name {
        Some(name) => vec![name.clone()],
        None => list_objects(state, registry, &info, request).await?,
    };
    if names.is_empty() {
        return Err(request.not_found());
    }
    let query_request = QueryRequest {
        group_resource: &info.group_resource,
        namespace: request.namespace.as_deref(),
        // Above this many objects, match the whole namespace and keep the wanted objects
        // below, instead of sending a giant `pod=~"…"` regex (reference #668). Same answer.
        objects: if names.len() > MAX_NAMED_OBJECTS {
            crate::naming::Objects::Any
        } else {
            crate::naming::Objects::Named(&names)
        },
        metric_selector: &request.metric_selector,
        extra_group_by: &[],
    };
    let query = rule.build_query(&registration.series_name, &query_request, state.mapper.as_ref()).map_err(|e| {
        tracing::warn!(metric = %request.metric, rule = %rule.id, error = %e, "unable to build query");
        request.not_found()
    })?;
    let resource_label = rule
        .converter
        .label_for_resource(&info.group_resource, state.mapper.as_ref())
        .map_err(|_| request.not_found())?;
    Ok(CustomPlan {
        info,
        registration: registration.clone(),
        names,
        query,
        resource_label,
    })
}

/// Runs a plan's query and pairs samples with the objects asked for. Objects without a
/// sample, or with a NaN/±Inf one, get no item.
pub async fn run_custom(
    state: &ApiState,
    plan: &CustomPlan,
    request: &CustomRequest,
) -> Result<Vec<(ObjectReference, Quantity)>, ApiError> {
    let query = &plan.query;
    let backends = state.prometheus.load();
    let Some(client) = backends.client(plan.registration.rule.backend.as_deref()) else {
        return Err(ApiError::Internal("unable to fetch metrics".into()));
    };
    let samples = match client.query_now(query).await {
        Ok(QueryResult::Vector(samples)) => samples,
        Ok(other) => {
            tracing::warn!(query = %query, result = ?std::mem::discriminant(&other), "unexpected query result type");
            return Err(ApiError::Internal("unable to fetch metrics".into()));
        }
        Err(e) => {
            tracing::warn!(query = %query, error = %e, "unable to fetch metrics from prometheus");
            return Err(ApiError::Internal("unable to fetch metrics".into()));
        }
    };
    let mut by_name: HashMap<&str, f64> = HashMap::with_capacity(samples.len());
    for sample in &samples {
        if let Some(value) = sample.labels.get(&plan.resource_label) {
            by_name.insert(value.as_str(), sample.value);
        }
    }
    let info = &plan.info;
    let mut items = Vec::new();
    for name in &plan.names {
        let Some(&value) = by_name.get(name.as_str()) else {
            continue;
        };
        let Some(quantity) = Quantity::from_f64(value, Format::DecimalSI) else {
            // NaN / ±Inf is not a number the HPA may act on: the object has no value.
            tracing::warn!(metric = %request.metric, object = %name, value, "sample is not a finite number, omitted");
            continue;
        };
        let object = ObjectReference {
            kind: info.kind.clone(),
            namespace: request.namespace.clone(),
            name: name.clone(),
            api_version: info.api_version(),
        };
        items.push((object, quantity));
    }
    if let Some(name) = &request.name
        && items.is_empty()
    {
        return Err(ApiError::MetricNotFoundFor {
            metric: request.metric.to_string(),
            resource: request.resource.to_string(),
            name: name.clone(),
        });
    }
    Ok(items)
}

/// Looks the metric up, lists objects, runs the query and pairs samples with objects.
pub async fn custom_values(
    state: &ApiState,
    registry: &Registry,
    request: &CustomRequest,
) -> Result<Vec<(ObjectReference, Quantity)>, ApiError> {
    let plan = plan_custom(state, registry, request).await?;
    run_custom(state, &plan, request).await
}

async fn list_objects(
    state: &ApiState,
    registry: &Registry,
    info: &ResourceInfo,
    request: &CustomRequest,
) -> Result<Vec<String>, ApiError> {
    match &state.objects {
        Objects::Kube(kube) => {
            let selector = LabelSelector::parse(&request.label_selector)
                .map_err(|e| ApiError::BadRequest(e.to_string()))?;
            kube.object_names(info, request.namespace.as_deref(), &selector, &request.label_selector).await.map_err(|e| {
                tracing::warn!(resource = %info.group_resource, error = %e, "unable to list matching resource names");
                ApiError::Internal("unable to list matching resources".into())
            })
        }
        Objects::Standalone => {
            let selector = LabelSelector::parse(&request.label_selector)
                .map_err(|e| ApiError::BadRequest(e.to_string()))?;
            let namespaced = Scope::for_registered_resource(&info.group_resource).is_namespaced();
            Ok(registry
                .objects(&info.group_resource)
                .filter(|(object, _)| {
                    !namespaced || object.namespace.as_deref() == request.namespace.as_deref()
                })
                .filter(|(_, labels)| selector.matches_map(labels))
                .map(|(object, _)| object.name.clone())
                .collect())
        }
    }
}

// === Health and misc ===

/// The named checks of `/healthz`, `/livez` and `/readyz`, as the Kubernetes generic server
/// reports them: (name, passed).
fn health_checks(state: &ApiState, endpoint: &str) -> Vec<(&'static str, bool)> {
    let mut checks = vec![("ping", true), ("log", true)];
    if endpoint == "readyz" {
        let registry = state.registry.load();
        let discovered = (state.rules.load().custom.is_empty()
            || registry.custom_updated.is_some())
            && (state.rules.load().external.is_empty() || registry.external_updated.is_some());
        let caches_synced = match state.resource_objects.started() {
            Some(resource::ResourceObjects::Kube { pods, nodes }) => {
                pods.synced() && nodes.synced()
            }
            _ => true,
        };
        checks.push(("discovery", discovered));
        checks.push(("informer-sync", caches_synced));
    }
    checks
}

/// `/healthz`, `/livez`, `/readyz` with `?verbose` and `?exclude=<check>` (repeatable), and
/// `/<endpoint>/<check>` for one check; failures answer 500 with the reason withheld.
fn health_response(
    state: &ApiState,
    endpoint: &str,
    only: Option<&str>,
    query: Option<&str>,
) -> Response {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let verbose = params.iter().any(|(k, _)| k == "verbose");
    let excluded: Vec<&str> = params
        .iter()
        .filter(|(k, _)| k == "exclude")
        .map(|(_, v)| v.as_str())
        .collect();
    let checks: Vec<(&str, bool)> = health_checks(state, endpoint)
        .into_iter()
        .filter(|(name, _)| only.is_none_or(|o| o == *name) && !excluded.contains(name))
        .collect();
    if only.is_some() && checks.is_empty() {
        return (StatusCode::NOT_FOUND, "404 page not found\n").into_response();
    }
    let healthy = checks.iter().all(|(_, ok)| *ok);
    let code = if healthy {
        StatusCode::OK
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    let body = if !verbose && healthy {
        "ok".to_string()
    } else {
        let mut body = String::new();
        for (name, ok) in &checks {
            body.push_str(&if *ok {
                format!("[+]{name} ok\n")
            } else {
                format!("[-]{name} failed: reason withheld\n")
            });
        }
        for name in &excluded {
            body.push_str(&format!("[+]{name} excluded: ok\n"));
        }
        body.push_str(&format!(
            "{endpoint} check {}\n",
            if healthy { "passed" } else { "failed" }
        ));
        body
    };
    let headers = [
        (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    (code, headers, body).into_response()
}

async fn healthz(State(state): State<ApiState>, request: Request) -> Response {
    let path = request.uri().path().trim_start_matches('/');
    let (endpoint, only) = path
        .split_once('/')
        .map_or((path, None), |(e, c)| (e, Some(c)));
    health_response(&state, endpoint, only, request.uri().query())
}

async fn version() -> Response {
    json_body(
        &serde_json::json!({"major": "1", "minor": "0", "gitVersion": env!("CARGO_PKG_VERSION"), "gitCommit": "", "gitTreeState": "", "buildDate": "", "goVersion": "", "compiler": "rustc", "platform": std::env::consts::ARCH}),
        false,
    )
}

async fn not_found(State(state): State<ApiState>, request: Request) -> Response {
    if request.uri().path().starts_with("/apis/") {
        return ApiError::RouteNotFound.into_response();
    }
    let mut paths = vec!["/apis", "/healthz", "/livez", "/readyz", "/version"];
    if !state.rules.load().custom.is_empty() {
        paths.push("/apis/custom.metrics.k8s.io");
        paths.push("/apis/custom.metrics.k8s.io/v1beta1");
        paths.push("/apis/custom.metrics.k8s.io/v1beta2");
    }
    if !state.rules.load().external.is_empty() {
        paths.push("/apis/external.metrics.k8s.io");
        paths.push("/apis/external.metrics.k8s.io/v1beta1");
    }
    if state.rules.load().resource.is_some() {
        paths.push("/apis/metrics.k8s.io");
        paths.push("/apis/metrics.k8s.io/v1beta1");
    }
    paths.sort();
    (
        StatusCode::NOT_FOUND,
        json_body(&serde_json::json!({ "paths": paths }), true),
    )
        .into_response()
}

#[cfg(test)]
mod tests;
