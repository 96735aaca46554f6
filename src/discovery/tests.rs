use std::path::Path;

use super::*;
use crate::config::{Config, generate_default};
use crate::model::PromDuration;
use crate::naming::{ResourceInfo, StaticMapper};

fn mapper_a() -> StaticMapper {
    StaticMapper::reference_test_mapper_a()
}

fn series(name: &str, labels: &[(&str, &str)]) -> Series {
    let mut labels: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    labels.sort();
    Series {
        name: name.to_string(),
        labels,
        count: 1,
    }
}

fn rules(prefix: &str) -> RuleSet {
    let text = generate_default(prefix, PromDuration::parse("1m").unwrap());
    let config = Config::parse(Path::new("default.yaml"), &text).unwrap();
    RuleSet::compile(&config, Path::new("default.yaml"), &mapper_a()).unwrap()
}

fn keys(registry: &Registry) -> Vec<String> {
    registry
        .custom_keys()
        .iter()
        .map(|k| {
            format!(
                "{} {} {}",
                k.group_resource,
                k.scope.is_namespaced(),
                k.metric
            )
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

#[track_caller]
fn assert_keys(registry: &Registry, expect: &[&str]) {
    let mut expect: Vec<String> = expect.iter().map(|s| s.to_string()).collect();
    expect.sort();
    assert_eq!(keys(registry), expect);
}

const CONTAINER_QUERY: &str =
    r#"{__name__=~"^container_.*",container!="POD",namespace!="",pod!=""}"#;

mod same_as_go {
    use super::*;

    /// pkg/custom-provider/provider_test.go: the list after one relist (§10.4).
    #[test]
    fn provider_lists_after_one_relist() {
        let rules = rules("");
        let mut input = HashMap::new();
        input.insert(
            CONTAINER_QUERY.to_string(),
            vec![series(
                "container_some_usage",
                &[
                    ("pod", "somepod"),
                    ("namespace", "somens"),
                    ("container", "somecont"),
                ],
            )],
        );
        input.insert(
            r#"{namespace!="",__name__!~"^container_.*"}"#.to_string(),
            vec![
                series(
                    "ingress_hits_total",
                    &[
                        ("ingress", "someingress"),
                        ("service", "somesvc"),
                        ("pod", "backend1"),
                        ("namespace", "somens"),
                    ],
                ),
                series(
                    "ingress_hits_total",
                    &[
                        ("ingress", "someingress"),
                        ("service", "somesvc"),
                        ("pod", "backend2"),
                        ("namespace", "somens"),
                    ],
                ),
                series(
                    "service_proxy_packets",
                    &[("service", "somesvc"), ("namespace", "somens")],
                ),
                series(
                    "work_queue_wait_seconds_total",
                    &[("deployment", "somedep"), ("namespace", "somens")],
                ),
            ],
        );
        let mut registry = Registry::default();
        assert!(registry.custom_keys().is_empty(), "empty before any relist");
        registry.build_custom(&rules.custom, &input, &mapper_a(), false);
        assert_keys(
            &registry,
            &[
                "services true ingress_hits",
                "ingresses.extensions true ingress_hits",
                "pods true ingress_hits",
                "namespaces false ingress_hits",
                "services true service_proxy_packets",
                "namespaces false service_proxy_packets",
                "deployments.extensions true work_queue_wait",
                "namespaces false work_queue_wait",
                "namespaces false some_usage",
                "pods true some_usage",
            ],
        );
    }

    /// pkg/custom-provider/series_registry_test.go: the full list (§10.5), Default-config(1m, "kube_").
    #[test]
    fn series_registry_lists_all_metrics() {
        let rules = rules("kube_");
        let container = |name: &str| {
            series(
                name,
                &[("pod", "p"), ("namespace", "n"), ("container", "c")],
            )
        };
        let mut input = HashMap::new();
        input.insert(
            CONTAINER_QUERY.to_string(),
            vec![
                container("container_some_time_seconds_total"),
                container("container_some_count_total"),
                container("container_some_usage"),
            ],
        );
        input.insert(
            r#"{kube_namespace!="",__name__!~"^container_.*"}"#.to_string(),
            vec![
                series("node_gigawatts", &[("kube_node", "n")]),
                series(
                    "service_proxy_packets",
                    &[("kube_service", "s"), ("kube_namespace", "n")],
                ),
                series(
                    "ingress_hits_total",
                    &[
                        ("kube_ingress", "i"),
                        ("kube_service", "s"),
                        ("kube_pod", "backend1"),
                        ("kube_namespace", "n"),
                    ],
                ),
                series(
                    "ingress_hits_total",
                    &[
                        ("kube_ingress", "i"),
                        ("kube_service", "s"),
                        ("kube_pod", "backend2"),
                        ("kube_namespace", "n"),
                    ],
                ),
                series("volume_claims_total", &[("kube_persistentvolume", "v")]),
                series(
                    "work_queue_wait_seconds_total",
                    &[("kube_deployment", "d"), ("kube_namespace", "n")],
                ),
                series("node_fan_seconds_total", &[("kube_node", "n")]),
            ],
        );
        let mut registry = Registry::default();
        registry.build_custom(&rules.custom, &input, &mapper_a(), false);
        assert_keys(
            &registry,
            &[
                "pods true some_count",
                "namespaces false some_count",
                "pods true some_time",
                "namespaces false some_time",
                "pods true some_usage",
                "namespaces false some_usage",
                "services true ingress_hits",
                "ingresses.extensions true ingress_hits",
                "pods true ingress_hits",
                "namespaces false ingress_hits",
                "services true service_proxy_packets",
                "namespaces false service_proxy_packets",
                "deployments.extensions true work_queue_wait",
                "namespaces false work_queue_wait",
                "nodes false node_gigawatts",
                "persistentvolumes false volume_claims",
                "nodes false node_fan",
            ],
        );
    }
}

/// §10.10: the namespaced flag follows the resource, not the other labels.
#[test]
fn namespaced_flag_follows_the_resource() {
    let mut mapper = mapper_a().resources().to_vec();
    mapper.push(ResourceInfo::new(
        "storage.k8s.io",
        "v1",
        "storageclasses",
        "storageclass",
        "StorageClass",
        false,
    ));
    let mapper = StaticMapper::new(mapper);
    let text =
        "rules:\n- seriesQuery: q\n  resources:\n    template: <<.Resource>>\n  metricsQuery: x\n";
    let config = Config::parse(Path::new("r.yaml"), text).unwrap();
    let rules = RuleSet::compile(&config, Path::new("r.yaml"), &mapper).unwrap();
    let mut input = HashMap::new();
    input.insert(
        "q".to_string(),
        vec![
            series("m", &[("node", "n"), ("instance", "i")]),
            series("s", &[("storageclass", "x")]),
        ],
    );
    let mut registry = Registry::default();
    registry.build_custom(&rules.custom, &input, &mapper, false);
    assert_keys(
        &registry,
        &["nodes false m", "storageclasses.storage.k8s.io true s"],
    );
}

#[test]
fn later_rules_win_collisions_and_are_counted() {
    let text = "rules:\n- seriesQuery: q\n  resources: {template: <<.Resource>>}\n  metricsQuery: first\n- seriesQuery: q\n  resources: {template: <<.Resource>>}\n  name: {matches: ^(.*)_total$}\n  metricsQuery: second\n- seriesQuery: q\n  resources: {template: <<.Resource>>}\n  name: {matches: ^(.*)_count$, as: \"${1}_total\"}\n  metricsQuery: third\n";
    let config = Config::parse(Path::new("r.yaml"), text).unwrap();
    let rules = RuleSet::compile(&config, Path::new("r.yaml"), &mapper_a()).unwrap();
    let mut input = HashMap::new();
    input.insert(
        "q".to_string(),
        vec![
            series("x_total", &[("pod", "p")]),
            series("x_count", &[("pod", "p")]),
        ],
    );
    let mut registry = Registry::default();
    registry.build_custom(&rules.custom, &input, &mapper_a(), false);
    let key = CustomMetricInfo {
        group_resource: GroupResource::core("pods"),
        scope: Scope::Namespaced,
        metric: MetricName::new("x"),
    };
    assert_eq!(
        registry.custom(&key),
        Some(&Registration {
            series_name: "x_total".into(),
            rule: rules.custom[1].clone()
        })
    );
    let key = CustomMetricInfo {
        metric: MetricName::new("x_total"),
        ..key
    };
    assert_eq!(
        registry.custom(&key),
        Some(&Registration {
            series_name: "x_count".into(),
            rule: rules.custom[2].clone()
        })
    );
    assert_eq!(
        registry.collisions, 1,
        "x_total from rule 0 is overwritten by rule 2"
    );
}

#[test]
fn standalone_objects_come_from_series_labels() {
    let rules = rules("");
    let mut input = HashMap::new();
    input.insert(
        CONTAINER_QUERY.to_string(),
        vec![series(
            "container_x",
            &[
                ("pod", "a"),
                ("namespace", "ns1"),
                ("container", "c"),
                ("app", "web"),
            ],
        )],
    );
    let mut registry = Registry::default();
    registry.build_custom(&rules.custom, &input, &mapper_a(), true);
    let pods: Vec<_> = registry
        .objects(&GroupResource::core("pods"))
        .map(|(o, l)| (o.clone(), l.get("app").cloned()))
        .collect();
    assert_eq!(
        pods,
        vec![(
            SeenObject {
                namespace: Some("ns1".into()),
                name: "a".into()
            },
            Some("web".into())
        )]
    );
    let namespaces: Vec<_> = registry
        .objects(&GroupResource::core("namespaces"))
        .map(|(o, _)| o.clone())
        .collect();
    assert_eq!(
        namespaces,
        vec![SeenObject {
            namespace: None,
            name: "ns1".into()
        }]
    );
}

/// pkg/external-provider/periodic_metric_lister_test.go (§10.7): nothing is listed before the
/// first update; after one update the cached list is served without asking again.
#[test]
fn external_metrics_are_listed_after_one_update() {
    let text = "externalRules:\n- seriesQuery: q\n  metricsQuery: x\n";
    let config = Config::parse(Path::new("r.yaml"), text).unwrap();
    let rules = RuleSet::compile(&config, Path::new("r.yaml"), &mapper_a()).unwrap();
    let handle = RegistryHandle::default();
    assert!(
        handle.load().external_keys().is_empty(),
        "empty before any update"
    );
    let mut input = HashMap::new();
    input.insert(
        "q".to_string(),
        vec![
            series("queue_depth", &[("queue", "a")]),
            series("queue_depth", &[("queue", "b")]),
        ],
    );
    let mut registry = Registry::default();
    registry.build_external(&rules.external, &input);
    handle.store(registry);
    let first = handle.load();
    assert_eq!(first.external_keys(), [MetricName::new("queue_depth")]);
    assert!(
        Arc::ptr_eq(&first, &handle.load()),
        "served from the published snapshot, not rebuilt"
    );
}
