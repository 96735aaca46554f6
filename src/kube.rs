//! The Kubernetes API as the adapter uses it: API discovery for the resource mapper, and
//! object names for `*` requests.
//!
//! Invariants:
//! - Only the discovery documents and metadata-only LISTs are requested: objects are never
//!   decoded whole.
//! - Nothing here builds PromQL or HTTP responses.
//! - The `kube` crate is written `::kube` everywhere, since this module shadows it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use ::kube::api::Api;
use ::kube::core::{ApiResource, DynamicObject, PartialObjectMeta};
use ::kube::runtime::{WatchStreamExt, reflector, watcher};
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};

use serde::Deserialize;

use crate::naming::{ResourceInfo, StaticMapper};
use crate::telemetry::KubeOperation;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unable to load kubeconfig {path}: {message}")]
    Kubeconfig { path: String, message: String },
    #[error("unable to load in-cluster configuration: {0}")]
    InCluster(String),
    #[error("unable to construct Kubernetes client: {0}")]
    Client(String),
    #[error("request {path} failed: {source}")]
    Request {
        path: String,
        #[source]
        source: ::kube::Error,
    },
    #[error("request {path} got no answer within {after:?}")]
    Timeout {
        path: String,
        after: std::time::Duration,
    },
}

/// The self-metrics' name for what went wrong with a request.
fn error_kind(error: &::kube::Error) -> &'static str {
    match error {
        ::kube::Error::Api(status) => match status.code {
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not_found",
            410 => "expired",
            429 => "throttled",
            500..=599 => "status_5xx",
            _ => "status_other",
        },
        ::kube::Error::HyperError(_) | ::kube::Error::Service(_) => "transport",
        ::kube::Error::SerdeError(_) => "decode",
        _ => "other",
    }
}

fn watch_error_kind(error: &watcher::Error) -> &'static str {
    match error {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => error_kind(e),
        watcher::Error::WatchError(status) if status.code == 410 => "expired",
        watcher::Error::WatchError(_) => "status_other",
        watcher::Error::NoResourceVersion => "decode",
    }
}

const METRICS_GROUPS: [&str; 3] = [
    "metrics.k8s.io",
    "custom.metrics.k8s.io",
    "external.metrics.k8s.io",
];
const GROUP_DISCOVERY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// The longest any single request may take: the reference's delegated authentication and
/// authorization clients allow 10s, and a `*` request's LIST must not outlive the HPA's own
/// request (watches are not bounded: they are meant to stay open).
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A client of the cluster the adapter serves.
#[derive(Clone)]
pub struct Kube {
    client: ::kube::Client,
    /// Watch caches of object metadata per resource, for `*` requests.
    name_caches: std::sync::Arc<
        std::sync::Mutex<std::collections::HashMap<crate::model::GroupResource, MetaCache>>,
    >,
}

#[derive(Deserialize)]
struct ResourceList {
    #[serde(rename = "groupVersion", default)]
    group_version: String,
    #[serde(default)]
    resources: Vec<Resource>,
}

#[derive(Deserialize)]
struct Resource {
    name: String,
    #[serde(rename = "singularName", default)]
    singular_name: String,
    namespaced: bool,
    kind: String,
}

#[derive(Deserialize)]
struct GroupList {
    #[serde(default)]
    groups: Vec<Group>,
}

#[derive(Deserialize)]
struct Group {
    name: String,
    #[serde(rename = "preferredVersion")]
    preferred_version: GroupVersion,
}

#[derive(Deserialize)]
struct GroupVersion {
    #[serde(rename = "groupVersion")]
    group_version: String,
}

#[derive(Deserialize)]
struct MetadataList {
    #[serde(default)]
    items: Vec<MetadataItem>,
}

#[derive(Deserialize)]
struct MetadataItem {
    metadata: Metadata,
}

#[derive(Deserialize)]
struct Metadata {
    name: String,
}

impl Kube {
    /// From `--lister-kubeconfig` when given, else the in-cluster service account.
    pub async fn connect(kubeconfig: Option<&Path>) -> Result<Kube, Error> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = match kubeconfig {
            Some(path) => {
                let fail = |message: String| Error::Kubeconfig {
                    path: path.display().to_string(),
                    message,
                };
                let kubeconfig =
                    ::kube::config::Kubeconfig::read_from(path).map_err(|e| fail(e.to_string()))?;
                ::kube::Config::from_custom_kubeconfig(
                    kubeconfig,
                    &::kube::config::KubeConfigOptions::default(),
                )
                .await
                .map_err(|e| fail(e.to_string()))?
            }
            None => ::kube::Config::incluster().map_err(|e| Error::InCluster(e.to_string()))?,
        };
        let client = ::kube::Client::try_from(config).map_err(|e| Error::Client(e.to_string()))?;
        Ok(Kube {
            client,
            name_caches: Default::default(),
        })
    }

    async fn get<T: for<'de> Deserialize<'de>>(
        &self,
        operation: KubeOperation,
        path: &str,
        accept: &str,
    ) -> Result<T, Error> {
        let request = http::Request::get(path)
            .header(http::header::ACCEPT, accept)
            .body(Vec::new())
            .map_err(|e| Error::Client(e.to_string()))?;
        self.send(operation, path, request).await
    }

    /// One request, bounded by `REQUEST_TIMEOUT` and counted in the self-metrics.
    async fn send<T: for<'de> Deserialize<'de>>(
        &self,
        operation: KubeOperation,
        path: &str,
        request: http::Request<Vec<u8>>,
    ) -> Result<T, Error> {
        let answer = tokio::time::timeout(REQUEST_TIMEOUT, self.client.request::<T>(request)).await;
        let (result, kind) = match answer {
            Ok(Ok(value)) => (Ok(value), "ok"),
            Ok(Err(source)) => {
                let kind = error_kind(&source);
                let error = Error::Request {
                    path: path.to_string(),
                    source,
                };
                (Err(error), kind)
            }
            Err(_) => {
                let error = Error::Timeout {
                    path: path.to_string(),
                    after: REQUEST_TIMEOUT,
                };
                (Err(error), "timeout")
            }
        };
        crate::telemetry::metrics().observe_kube(operation, kind);
        result
    }

    /// Every resource the cluster serves, at each group's preferred version, core group first.
    pub async fn discover(&self) -> Result<StaticMapper, Error> {
        let operation = KubeOperation::discovery;
        let core: ResourceList = self.get(operation, "/api/v1", "application/json").await?;
        let groups: GroupList = self.get(operation, "/apis", "application/json").await?;
        // The metrics groups describe no objects (and one may be this adapter, not yet serving).
        let wanted = groups
            .groups
            .iter()
            .filter(|g| !METRICS_GROUPS.contains(&g.name.as_str()));
        let lists = futures_util::future::join_all(wanted.map(|g| async move {
            let path = format!("/apis/{}", g.preferred_version.group_version);
            // An unavailable aggregated API answers 503 and the client retries: bound it.
            let list = match tokio::time::timeout(
                GROUP_DISCOVERY_TIMEOUT,
                self.get::<ResourceList>(operation, &path, "application/json"),
            )
            .await
            {
                Ok(result) => result.map_err(|e| e.to_string()),
                Err(_) => Err(format!("no answer within {GROUP_DISCOVERY_TIMEOUT:?}")),
            };
            (g.name.clone(), list)
        }))
        .await;
        let mut resources = collect(&core, "");
        for (group, list) in lists {
            match list {
                Ok(list) => resources.extend(collect(&list, &group)),
                // One broken aggregated API must not hide every other group.
                Err(error) => {
                    tracing::warn!(group = %group, %error, "unable to discover API group, skipping")
                }
            }
        }
        Ok(StaticMapper::new(resources))
    }

    /// Names of the objects matching a label selector, in the order the API server returns them.
    pub async fn list_names(
        &self,
        info: &ResourceInfo,
        namespace: Option<&str>,
        label_selector: &str,
    ) -> Result<Vec<String>, Error> {
        let gr = &info.group_resource;
        let prefix = if gr.group.is_empty() {
            format!("/api/{}", info.version)
        } else {
            format!("/apis/{}/{}", gr.group, info.version)
        };
        let mut path = match namespace.filter(|_| info.namespaced) {
            Some(ns) => format!("{prefix}/namespaces/{}/{}", encode(ns), gr.resource),
            None => format!("{prefix}/{}", gr.resource),
        };
        if !label_selector.is_empty() {
            path.push_str("?labelSelector=");
            path.push_str(&encode(label_selector));
        }
        let list: MetadataList = self
            .get(
                KubeOperation::list,
                &path,
                "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json",
            )
            .await?;
        Ok(list.items.into_iter().map(|i| i.metadata.name).collect())
    }
}

fn collect(list: &ResourceList, group: &str) -> Vec<ResourceInfo> {
    let version = list.group_version.rsplit('/').next().unwrap_or("v1");
    list.resources
        .iter()
        .filter(|r| !r.name.contains('/'))
        .map(|r| {
            let singular = if r.singular_name.is_empty() {
                r.kind.to_ascii_lowercase()
            } else {
                r.singular_name.clone()
            };
            ResourceInfo::new(group, version, &r.name, &singular, &r.kind, r.namespaced)
        })
        .collect()
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

// === Watch caches ===

/// An object as the caches keep it: identity and labels only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedObject {
    pub namespace: Option<String>,
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

#[derive(Clone)]
enum Store {
    Pods(reflector::Store<PartialObjectMeta<Pod>>),
    Nodes(reflector::Store<PartialObjectMeta<Node>>),
    Any(reflector::Store<PartialObjectMeta<DynamicObject>>),
}

/// A metadata-only watch cache kept in sync by a reflector (list, then watch from the list's
/// resourceVersion, re-list on 410 Gone, backoff on errors). Memory is proportional to the
/// objects' metadata.
#[derive(Clone)]
pub struct MetaCache {
    store: Store,
    synced: Arc<AtomicBool>,
}

impl MetaCache {
    /// Every cached object.
    pub fn objects(&self) -> Vec<CachedObject> {
        fn convert<K>(items: Vec<Arc<PartialObjectMeta<K>>>) -> Vec<CachedObject> {
            items
                .iter()
                .filter_map(|o| {
                    Some(CachedObject {
                        namespace: o.metadata.namespace.clone(),
                        name: o.metadata.name.clone()?,
                        labels: o.metadata.labels.clone().unwrap_or_default(),
                    })
                })
                .collect()
        }
        match &self.store {
            Store::Pods(s) => convert(s.state()),
            Store::Nodes(s) => convert(s.state()),
            Store::Any(s) => convert(s.state()),
        }
    }

    /// Whether the first list has completed.
    pub fn synced(&self) -> bool {
        self.synced.load(Ordering::Relaxed)
    }
}

impl Kube {
    /// Pods in phase Running (the only pods metrics.k8s.io knows, §5.5).
    pub fn watch_running_pods(&self) -> MetaCache {
        let api: Api<PartialObjectMeta<Pod>> = Api::all(self.client.clone());
        let config = watcher::Config::default().fields("status.phase=Running");
        let (reader, writer) = reflector::store();
        spawn_reflector("pods", "pods (running)", writer, watcher(api, config));
        MetaCache::new(Store::Pods(reader))
    }

    /// A metadata watch cache of any resource (for the object names of `*` requests).
    pub fn watch_metadata(&self, info: &ResourceInfo) -> MetaCache {
        let group = &info.group_resource.group;
        let resource = ApiResource {
            group: group.clone(),
            version: info.version.clone(),
            api_version: if group.is_empty() {
                info.version.clone()
            } else {
                format!("{group}/{}", info.version)
            },
            kind: info.kind.clone(),
            plural: info.group_resource.resource.clone(),
        };
        let api: Api<PartialObjectMeta<DynamicObject>> =
            Api::all_with(self.client.clone(), &resource);
        let label = info.group_resource.to_string();
        let writer = reflector::store::Writer::new(resource);
        let reader = writer.as_reader();
        spawn_reflector(
            "objects",
            &label,
            writer,
            watcher(api, watcher::Config::default()),
        );
        MetaCache::new(Store::Any(reader))
    }

    /// Names of the objects a `*` request covers: from a metadata watch cache of the resource,
    /// started on the first request for it; until that cache has synced (or if it cannot), a
    /// metadata-only LIST. Sorted by (namespace, name), the order of a LIST.
    pub async fn object_names(
        &self,
        info: &ResourceInfo,
        namespace: Option<&str>,
        selector: &crate::model::LabelSelector,
        selector_text: &str,
    ) -> Result<Vec<String>, Error> {
        let cache = {
            let mut caches = self
                .name_caches
                .lock()
                .map_err(|_| Error::Client("object cache lock poisoned".into()))?;
            caches
                .entry(info.group_resource.clone())
                .or_insert_with(|| self.watch_metadata(info))
                .clone()
        };
        if !cache.synced() {
            return self.list_names(info, namespace, selector_text).await;
        }
        let namespace = namespace.filter(|_| info.namespaced);
        let mut objects: Vec<CachedObject> = cache
            .objects()
            .into_iter()
            .filter(|o| namespace.is_none_or(|ns| o.namespace.as_deref() == Some(ns)))
            .filter(|o| selector.matches_map(&o.labels))
            .collect();
        objects.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        Ok(objects.into_iter().map(|o| o.name).collect())
    }

    pub fn watch_nodes(&self) -> MetaCache {
        let api: Api<PartialObjectMeta<Node>> = Api::all(self.client.clone());
        let (reader, writer) = reflector::store();
        spawn_reflector(
            "nodes",
            "nodes",
            writer,
            watcher(api, watcher::Config::default()),
        );
        MetaCache::new(Store::Nodes(reader))
    }
}

impl MetaCache {
    fn new(store: Store) -> MetaCache {
        let synced = Arc::new(AtomicBool::new(false));
        let flag = synced.clone();
        let waiting = store.clone();
        tokio::spawn(async move {
            let ready = match &waiting {
                Store::Pods(s) => s.wait_until_ready().await.is_ok(),
                Store::Nodes(s) => s.wait_until_ready().await.is_ok(),
                Store::Any(s) => s.wait_until_ready().await.is_ok(),
            };
            flag.store(ready, Ordering::Relaxed);
        });
        MetaCache { store, synced }
    }
}

fn spawn_reflector<K, S>(
    what: &'static str,
    resource_label: &str,
    writer: reflector::store::Writer<K>,
    stream: S,
) where
    K: ::kube::Resource + Clone + Send + Sync + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
    S: futures_util::Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
{
    let reader = writer.as_reader();
    let gauge = crate::telemetry::metrics()
        .object_cache_objects
        .get_or_create(&crate::telemetry::ResourceLabels {
            resource: resource_label.to_string(),
        })
        .clone();
    tokio::spawn(async move {
        let mut events = std::pin::pin!(stream.default_backoff().reflect(writer));
        while let Some(event) = events.next().await {
            if let Err(e) = event {
                crate::telemetry::metrics()
                    .observe_kube(KubeOperation::watch, watch_error_kind(&e));
                tracing::warn!(resource = what, error = %e, "watch failed; retrying with backoff");
            }
            gauge.set(reader.len() as i64);
        }
    });
}

// === Delegated authentication and authorization ===

/// A user as the API server authenticated it.
#[derive(Clone, Debug, PartialEq, Eq, Default, serde::Serialize)]
pub struct UserInfo {
    pub username: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, Vec<String>>,
}

/// What a request asks to do, as a SubjectAccessReview describes it (reference §7.3).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceAttributes {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    pub verb: String,
    pub group: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub version: String,
    pub resource: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subresource: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct NonResourceAttributes {
    pub path: String,
    pub verb: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Attributes {
    Resource(ResourceAttributes),
    NonResource(NonResourceAttributes),
}

#[derive(Deserialize)]
struct ReviewStatus<T> {
    #[serde(default)]
    status: Option<T>,
}

#[derive(Deserialize, Default)]
struct TokenReviewStatus {
    #[serde(default)]
    authenticated: bool,
    #[serde(default)]
    user: Option<TokenUser>,
    #[serde(default)]
    error: String,
}

#[derive(Deserialize, Default)]
struct TokenUser {
    #[serde(default)]
    username: String,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    extra: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize, Default)]
struct AccessReviewStatus {
    #[serde(default)]
    allowed: bool,
    #[serde(default)]
    denied: bool,
    #[serde(default)]
    reason: String,
}

/// The answer of a SubjectAccessReview.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessDecision {
    pub allowed: bool,
    pub reason: String,
}

/// `kube-system/extension-apiserver-authentication`: the CAs and headers of delegated authentication.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthenticationConfig {
    pub client_ca: Option<String>,
    pub requestheader_client_ca: Option<String>,
    pub requestheader_username_headers: Vec<String>,
    pub requestheader_group_headers: Vec<String>,
    pub requestheader_extra_headers_prefix: Vec<String>,
    pub requestheader_allowed_names: Vec<String>,
}

#[derive(Deserialize)]
struct ConfigMapData {
    #[serde(default)]
    data: BTreeMap<String, String>,
}

impl Kube {
    async fn post<T: for<'de> Deserialize<'de>>(
        &self,
        operation: KubeOperation,
        path: &str,
        body: serde_json::Value,
    ) -> Result<T, Error> {
        let request = http::Request::post(path)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::ACCEPT, "application/json")
            .body(serde_json::to_vec(&body).map_err(|e| Error::Client(e.to_string()))?)
            .map_err(|e| Error::Client(e.to_string()))?;
        self.send(operation, path, request).await
    }

    /// TokenReview: `Ok(None)` when the API server says the token is not valid.
    pub async fn review_token(&self, token: &str) -> Result<Option<UserInfo>, Error> {
        let body = serde_json::json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}});
        let review: ReviewStatus<TokenReviewStatus> = self
            .post(
                KubeOperation::token_review,
                "/apis/authentication.k8s.io/v1/tokenreviews",
                body,
            )
            .await?;
        let status = review.status.unwrap_or_default();
        if !status.authenticated {
            if !status.error.is_empty() {
                tracing::debug!(error = %status.error, "token review rejected a token");
            }
            return Ok(None);
        }
        let user = status.user.unwrap_or_default();
        Ok(Some(UserInfo {
            username: user.username,
            groups: user.groups,
            extra: user.extra,
        }))
    }

    /// SubjectAccessReview for a user and the request's attributes.
    pub async fn review_access(
        &self,
        user: &UserInfo,
        attributes: &Attributes,
    ) -> Result<AccessDecision, Error> {
        let mut spec =
            serde_json::json!({"user": user.username, "groups": user.groups, "extra": user.extra});
        match attributes {
            Attributes::Resource(r) => {
                spec["resourceAttributes"] = serde_json::to_value(r).unwrap_or_default()
            }
            Attributes::NonResource(n) => {
                spec["nonResourceAttributes"] = serde_json::to_value(n).unwrap_or_default()
            }
        }
        let body = serde_json::json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec});
        let review: ReviewStatus<AccessReviewStatus> = self
            .post(
                KubeOperation::access_review,
                "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                body,
            )
            .await?;
        let status = review.status.unwrap_or_default();
        Ok(AccessDecision {
            allowed: status.allowed && !status.denied,
            reason: status.reason,
        })
    }

    /// Reads `kube-system/extension-apiserver-authentication`.
    pub async fn authentication_config(&self) -> Result<AuthenticationConfig, Error> {
        let map: ConfigMapData = self
            .get(
                KubeOperation::authentication_config,
                "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication",
                "application/json",
            )
            .await?;
        let list = |key: &str| -> Vec<String> {
            map.data
                .get(key)
                .and_then(|v| serde_json::from_str(v).ok())
                .unwrap_or_default()
        };
        Ok(AuthenticationConfig {
            client_ca: map.data.get("client-ca-file").cloned(),
            requestheader_client_ca: map.data.get("requestheader-client-ca-file").cloned(),
            requestheader_username_headers: list("requestheader-username-headers"),
            requestheader_group_headers: list("requestheader-group-headers"),
            requestheader_extra_headers_prefix: list("requestheader-extra-headers-prefix"),
            requestheader_allowed_names: list("requestheader-allowed-names"),
        })
    }
}

// === A mapper kept current by API discovery ===

/// The cluster's resources from API discovery, refreshed in the background when a request
/// names a resource it does not know (at most every `min_interval`), so CRDs installed after
/// start resolve without a restart (the reference maps once, at start).
pub struct DiscoveryMapper {
    kube: Kube,
    current: arc_swap::ArcSwap<StaticMapper>,
    last_refresh: Mutex<std::time::Instant>,
    refreshing: AtomicBool,
    min_interval: std::time::Duration,
}

impl DiscoveryMapper {
    pub async fn new(
        kube: Kube,
        min_interval: std::time::Duration,
    ) -> Result<Arc<DiscoveryMapper>, Error> {
        let initial = kube.discover().await?;
        Ok(Arc::new(DiscoveryMapper {
            kube,
            current: arc_swap::ArcSwap::from_pointee(initial),
            // The first unknown resource may refresh at once; later ones wait `min_interval`.
            last_refresh: Mutex::new(
                std::time::Instant::now()
                    .checked_sub(min_interval)
                    .unwrap_or_else(std::time::Instant::now),
            ),
            refreshing: AtomicBool::new(false),
            min_interval,
        }))
    }

    /// Like `new`, but waits for the API server instead of failing: discovery that fails at
    /// start (API server down, unreachable, forbidding) is retried with backoff, 0.5s doubling
    /// to 30s, so the adapter serves seconds after the API does instead of after a
    /// CrashLoopBackOff that may have grown to minutes.
    pub async fn connect(kube: Kube, min_interval: std::time::Duration) -> Arc<DiscoveryMapper> {
        let mut delay = std::time::Duration::from_millis(500);
        loop {
            match DiscoveryMapper::new(kube.clone(), min_interval).await {
                Ok(mapper) => return mapper,
                Err(error) => {
                    tracing::warn!(%error, retry_in = ?delay, "unable to discover the cluster's API resources; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(std::time::Duration::from_secs(30));
                }
            }
        }
    }

    pub fn resource_count(&self) -> usize {
        self.current.load().resources().len()
    }

    fn refresh(self: &Arc<Self>) {
        let due = self
            .last_refresh
            .lock()
            .map(|t| t.elapsed() >= self.min_interval)
            .unwrap_or(false);
        if !due || self.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let mapper = self.clone();
        tokio::spawn(async move {
            match mapper.kube.discover().await {
                Ok(fresh) => {
                    tracing::info!(
                        resources = fresh.resources().len(),
                        "refreshed API resources after a request for an unknown resource"
                    );
                    mapper.current.store(Arc::new(fresh));
                }
                Err(e) => tracing::warn!(error = %e, "unable to refresh API resources"),
            }
            if let Ok(mut last) = mapper.last_refresh.lock() {
                *last = std::time::Instant::now();
            }
            mapper.refreshing.store(false, Ordering::Release);
        });
    }
}

/// `ResourceMapper` needs `&self`; the refresh needs an `Arc` to outlive the request.
pub struct SharedDiscoveryMapper(pub Arc<DiscoveryMapper>);

impl crate::naming::ResourceMapper for SharedDiscoveryMapper {
    fn resolve(&self, group: &str, resource: &str) -> Option<ResourceInfo> {
        crate::naming::ResourceMapper::resolve(self.0.current.load().as_ref(), group, resource)
    }

    fn unknown_resource_requested(&self) {
        self.0.refresh();
    }
}
