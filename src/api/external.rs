//! external.metrics.k8s.io/v1beta1 (reference §5.4): metrics tied to no object.

use std::collections::{BTreeMap, HashMap};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use axum::routing::{any, get};
use serde::Serialize;

use super::quantity::{Format, Quantity};
use super::types::{ApiResource, ApiResourceList, ListMeta, MetricValueList, rfc3339_secs};
use super::{ApiError, ApiState, EXTERNAL, json_body, wants_pretty};
use crate::discovery::Registry;
use crate::model::LabelSelector;
use crate::prometheus::QueryResult;

/// external.metrics.k8s.io/v1beta1 `ExternalMetricValue`.
#[derive(Serialize, Debug, PartialEq)]
pub struct ExternalMetricValue {
    #[serde(rename = "metricName")]
    pub metric_name: String,
    /// All labels of the sample (including `__name__` if the query keeps it); `null` for a scalar.
    #[serde(rename = "metricLabels")]
    pub metric_labels: Option<BTreeMap<String, String>>,
    /// The sample's own time, not the response time (§5.9).
    pub timestamp: String,
    pub value: String,
}

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/apis/external.metrics.k8s.io", get(group))
        .route("/apis/external.metrics.k8s.io/", get(group))
        .route("/apis/external.metrics.k8s.io/{version}", any(resources))
        .route("/apis/external.metrics.k8s.io/{version}/", any(resources))
        .route(
            "/apis/external.metrics.k8s.io/{version}/{*rest}",
            any(metric),
        )
}

async fn group(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    EXTERNAL.group_document(!state.rules.load().external.is_empty(), &headers, &params)
}

async fn resources(
    State(state): State<ApiState>,
    method: Method,
    headers: HeaderMap,
    Path(version): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let version = EXTERNAL.check(!state.rules.load().external.is_empty(), &method, &version)?;
    Ok(json_body(
        &resource_list(&state.registry.load(), version),
        wants_pretty(&headers, &params),
    ))
}

/// One entry per external metric name, always `namespaced: true` (§5.2).
pub fn resource_list(registry: &Registry, version: &str) -> ApiResourceList {
    let resources = registry
        .external_keys()
        .iter()
        .map(|metric| ApiResource {
            name: metric.to_string(),
            singular_name: "",
            namespaced: true,
            kind: "ExternalMetricValueList",
            verbs: vec!["get"],
        })
        .collect();
    ApiResourceList {
        kind: "APIResourceList",
        api_version: "v1",
        group_version: format!("{}/{version}", EXTERNAL.name),
        resources,
    }
}

async fn metric(
    State(state): State<ApiState>,
    method: Method,
    headers: HeaderMap,
    Path((version, rest)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    EXTERNAL.check(!state.rules.load().external.is_empty(), &method, &version)?;
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let ["namespaces", namespace, metric] = segments.as_slice() else {
        return Err(ApiError::RouteNotFound);
    };
    if namespace.is_empty() || metric.is_empty() {
        return Err(ApiError::RouteNotFound);
    }
    let selector = LabelSelector::parse(params.get("labelSelector").map_or("", String::as_str))
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let items =
        external_values(&state, &state.registry.load(), namespace, metric, &selector).await?;
    let list = MetricValueList {
        kind: "ExternalMetricValueList",
        api_version: "external.metrics.k8s.io/v1beta1",
        metadata: ListMeta {},
        items,
    };
    Ok(json_body(&list, wants_pretty(&headers, &params)))
}

/// Looks the metric up by name, runs its query with the selector as metric matchers (and the
/// namespace unless the rule says `namespaced: false`), and converts every sample.
pub async fn external_values(
    state: &ApiState,
    registry: &Registry,
    namespace: &str,
    metric: &str,
    selector: &LabelSelector,
) -> Result<Vec<ExternalMetricValue>, ApiError> {
    // The reference says `… for namespaces` in `default` and `… for ` (trailing space) elsewhere;
    // we always say `namespaces` (docs/compatibility.md).
    let not_found = || ApiError::MetricNotFound {
        metric: metric.to_string(),
        resource: "namespaces".into(),
    };
    let registration = registry.external(metric).ok_or_else(not_found)?;
    let rule = &registration.rule;
    let query = rule.build_external(&registration.series_name, Some(namespace), selector, state.mapper.as_ref()).map_err(|e| {
        tracing::warn!(metric, rule = %rule.id, error = %e, "unable to build external metrics query");
        ApiError::Internal("unable to fetch metrics".into())
    })?;
    let backends = state.prometheus.load();
    let client = backends
        .client(rule.backend.as_deref())
        .ok_or_else(|| ApiError::Internal("unable to fetch metrics".into()))?;
    let result = client.query_now(&query).await.map_err(|e| {
        tracing::warn!(query = %query, error = %e, "unable to fetch metrics from prometheus");
        ApiError::Internal("unable to fetch metrics".into())
    })?;
    let samples = match result {
        QueryResult::Vector(samples) => samples
            .into_iter()
            .map(|s| (Some(s.labels), s.timestamp, s.value))
            .collect::<Vec<_>>(),
        QueryResult::Scalar(s) => vec![(None, s.timestamp, s.value)],
        QueryResult::Matrix => {
            return Err(ApiError::Plain(
                "encountered an unexpected query result type".into(),
            ));
        }
    };
    let mut items = Vec::with_capacity(samples.len());
    for (labels, timestamp, value) in samples {
        let Some(quantity) = Quantity::from_f64(value, Format::DecimalSI) else {
            // The reference converts NaN/±Inf to an undefined int64; we never answer it.
            tracing::warn!(
                metric,
                value,
                ?labels,
                "sample is not a finite number, omitted"
            );
            continue;
        };
        items.push(ExternalMetricValue {
            metric_name: metric.to_string(),
            metric_labels: labels,
            timestamp: rfc3339_secs(timestamp.floor() as i64),
            value: quantity.to_string(),
        });
    }
    Ok(items)
}
