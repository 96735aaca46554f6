//! Resolving loosely written resources (`pod`, `Pods`, `deployment`) to group-resources.

use crate::model::GroupResource;

/// What the adapter needs to know about one API resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceInfo {
    pub group_resource: GroupResource,
    /// The preferred version (`v1`), used for `describedObject.apiVersion` and LIST paths.
    pub version: String,
    pub kind: String,
    pub singular: String,
    /// The resource's real scope in the cluster (used for LIST paths, not for registry keys).
    pub namespaced: bool,
}

impl ResourceInfo {
    pub fn new(
        group: &str,
        version: &str,
        resource: &str,
        singular: &str,
        kind: &str,
        namespaced: bool,
    ) -> Self {
        ResourceInfo {
            group_resource: GroupResource::new(group, resource),
            version: version.to_string(),
            kind: kind.to_string(),
            singular: singular.to_string(),
            namespaced,
        }
    }

    /// `group/version`, with the reference's `/v1` for the core group (§5.3.4).
    pub fn api_version(&self) -> String {
        format!("{}/{}", self.group_resource.group, self.version)
    }
}

/// Resolves resources as Kubernetes' RESTMapper does: plural, singular or kind, any case; an
/// empty group matches any group (the first in discovery order wins). Safe for concurrent use.
pub trait ResourceMapper: Send + Sync {
    fn resolve(&self, group: &str, resource: &str) -> Option<ResourceInfo>;

    /// A request named a resource `resolve` did not know: a mapper backed by API discovery may
    /// refresh (rate-limited), so resources installed later resolve without a restart.
    fn unknown_resource_requested(&self) {}
}

/// A fixed table of resources: the built-in core table for standalone mode, or a test mapper.
#[derive(Clone, Debug)]
pub struct StaticMapper {
    resources: Vec<ResourceInfo>,
}

impl StaticMapper {
    pub fn new(resources: Vec<ResourceInfo>) -> Self {
        StaticMapper { resources }
    }

    /// The resources of a plain cluster, for standalone mode (no Kubernetes API).
    pub fn builtin() -> Self {
        let r = ResourceInfo::new;
        StaticMapper::new(vec![
            r("", "v1", "pods", "pod", "Pod", true),
            r("", "v1", "services", "service", "Service", true),
            r("", "v1", "namespaces", "namespace", "Namespace", false),
            r("", "v1", "nodes", "node", "Node", false),
            r(
                "",
                "v1",
                "persistentvolumes",
                "persistentvolume",
                "PersistentVolume",
                false,
            ),
            r(
                "",
                "v1",
                "persistentvolumeclaims",
                "persistentvolumeclaim",
                "PersistentVolumeClaim",
                true,
            ),
            r("", "v1", "endpoints", "endpoints", "Endpoints", true),
            r("", "v1", "configmaps", "configmap", "ConfigMap", true),
            r("", "v1", "secrets", "secret", "Secret", true),
            r(
                "",
                "v1",
                "serviceaccounts",
                "serviceaccount",
                "ServiceAccount",
                true,
            ),
            r(
                "",
                "v1",
                "replicationcontrollers",
                "replicationcontroller",
                "ReplicationController",
                true,
            ),
            r(
                "apps",
                "v1",
                "deployments",
                "deployment",
                "Deployment",
                true,
            ),
            r(
                "apps",
                "v1",
                "statefulsets",
                "statefulset",
                "StatefulSet",
                true,
            ),
            r("apps", "v1", "daemonsets", "daemonset", "DaemonSet", true),
            r(
                "apps",
                "v1",
                "replicasets",
                "replicaset",
                "ReplicaSet",
                true,
            ),
            r("batch", "v1", "jobs", "job", "Job", true),
            r("batch", "v1", "cronjobs", "cronjob", "CronJob", true),
            r(
                "networking.k8s.io",
                "v1",
                "ingresses",
                "ingress",
                "Ingress",
                true,
            ),
            r(
                "autoscaling",
                "v2",
                "horizontalpodautoscalers",
                "horizontalpodautoscaler",
                "HorizontalPodAutoscaler",
                true,
            ),
            r(
                "policy",
                "v1",
                "poddisruptionbudgets",
                "poddisruptionbudget",
                "PodDisruptionBudget",
                true,
            ),
            r(
                "storage.k8s.io",
                "v1",
                "storageclasses",
                "storageclass",
                "StorageClass",
                false,
            ),
        ])
    }

    /// "Test RESTMapper A" of the reference's custom-provider tests (§10): core Pod, Service,
    /// Node, PersistentVolume, Namespace; extensions/v1beta1 Ingress and Deployment.
    #[cfg(test)]
    pub fn reference_test_mapper_a() -> Self {
        let r = ResourceInfo::new;
        StaticMapper::new(vec![
            r("", "v1", "pods", "pod", "Pod", true),
            r("", "v1", "services", "service", "Service", true),
            r("", "v1", "nodes", "node", "Node", false),
            r(
                "",
                "v1",
                "persistentvolumes",
                "persistentvolume",
                "PersistentVolume",
                false,
            ),
            r("", "v1", "namespaces", "namespace", "Namespace", false),
            r(
                "extensions",
                "v1beta1",
                "ingresses",
                "ingress",
                "Ingress",
                true,
            ),
            r(
                "extensions",
                "v1beta1",
                "deployments",
                "deployment",
                "Deployment",
                true,
            ),
        ])
    }

    pub fn resources(&self) -> &[ResourceInfo] {
        &self.resources
    }
}

impl ResourceMapper for StaticMapper {
    fn resolve(&self, group: &str, resource: &str) -> Option<ResourceInfo> {
        resolve_in(&self.resources, group, resource)
    }
}

/// The matching rule shared by every mapper.
pub fn resolve_in(resources: &[ResourceInfo], group: &str, resource: &str) -> Option<ResourceInfo> {
    if resource.is_empty() {
        return None;
    }
    let wanted = resource.to_ascii_lowercase();
    resources
        .iter()
        .filter(|info| group.is_empty() || info.group_resource.group == group)
        .find(|info| {
            info.group_resource.resource == wanted
                || info.singular == wanted
                || info.kind.eq_ignore_ascii_case(&wanted)
        })
        .cloned()
}
