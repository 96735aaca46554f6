//! pkg/resourceprovider/provider_test.go (§10.6): samples → PodMetrics / NodeMetrics.

use super::*;

fn labels() -> ResourceLabels {
    ResourceLabels {
        namespace: "namespace".into(),
        pod: "pod".into(),
        node: "instance".into(),
        container: "container".into(),
    }
}

fn sample(labels: &[(&str, &str)], value: f64, ts: f64) -> Sample {
    Sample {
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        timestamp: ts,
        value,
    }
}

fn container(ns: &str, pod: &str, c: &str, value: f64, ts: f64) -> Sample {
    sample(
        &[("namespace", ns), ("pod", pod), ("container", c)],
        value,
        ts,
    )
}

fn node(n: &str, value: f64, ts: f64) -> Sample {
    sample(&[("instance", n)], value, ts)
}

/// `Usage(c, m)` of the Go test: milli(c×1000) DecimalSI, milli(m×1000) BinarySI.
fn u(cpu: f64, memory: f64) -> Usage {
    usage(cpu, memory)
}

fn ts(secs: i64) -> String {
    rfc3339_secs(secs)
}

fn pods(cpu: &[Sample], memory: &[Sample], wanted: Option<&[(&str, &str)]>) -> Vec<PodRow> {
    let wanted: Option<WantedPods> = wanted.map(|w| {
        w.iter()
            .map(|(ns, p)| ((ns.to_string(), p.to_string()), BTreeMap::new()))
            .collect()
    });
    assemble_pods(
        cpu,
        memory,
        &labels(),
        wanted.as_ref(),
        &ListOptions::default(),
        "1m0s",
        SystemTime::UNIX_EPOCH,
    )
    .into_iter()
    .map(|p| {
        assert_eq!(p.window, "1m0s");
        (
            p.metadata.namespace.unwrap(),
            p.metadata.name,
            p.timestamp,
            p.containers
                .into_iter()
                .map(|c| (c.name, c.usage))
                .collect(),
        )
    })
    .collect()
}

/// (namespace, name, timestamp, containers)
type PodRow = (String, String, String, Vec<(String, Usage)>);

fn some_ns_cpu() -> Vec<Sample> {
    vec![
        container("some-ns", "pod1", "cont1", 1100.0, 10.0),
        container("some-ns", "pod1", "cont2", 1110.0, 20.0),
        container("some-ns", "pod3", "cont1", 1300.0, 10.0),
        container("some-ns", "pod3", "cont2", 1310.0, 20.0),
    ]
}

fn some_ns_memory() -> Vec<Sample> {
    vec![
        container("some-ns", "pod1", "cont1", 3100.0, 11.0),
        container("some-ns", "pod1", "cont2", 3110.0, 21.0),
        container("some-ns", "pod3", "cont1", 3300.0, 11.0),
        container("some-ns", "pod3", "cont2", 3310.0, 21.0),
    ]
}

mod same_as_go {
    use super::*;

    #[test]
    fn pods_across_namespaces() {
        let mut cpu = some_ns_cpu();
        cpu.push(container("other-ns", "pod27", "cont1", 2200.0, 270.0));
        let mut memory = some_ns_memory();
        memory.push(container("other-ns", "pod27", "cont1", 4200.0, 271.0));
        let s = |x: &str| x.to_string();
        // Sorted by (namespace, name) as the API lists them.
        assert_eq!(
            pods(&cpu, &memory, None),
            vec![
                (
                    s("other-ns"),
                    s("pod27"),
                    ts(270),
                    vec![(s("cont1"), u(2200.0, 4200.0))]
                ),
                (
                    s("some-ns"),
                    s("pod1"),
                    ts(10),
                    vec![
                        (s("cont1"), u(1100.0, 3100.0)),
                        (s("cont2"), u(1110.0, 3110.0))
                    ]
                ),
                (
                    s("some-ns"),
                    s("pod3"),
                    ts(10),
                    vec![
                        (s("cont1"), u(1300.0, 3300.0)),
                        (s("cont2"), u(1310.0, 3310.0))
                    ]
                ),
            ]
        );
    }

    #[test]
    fn missing_pod() {
        let cpu: Vec<Sample> = some_ns_cpu()
            .into_iter()
            .filter(|s| s.labels["pod"] == "pod1")
            .collect();
        let memory: Vec<Sample> = some_ns_memory()
            .into_iter()
            .filter(|s| s.labels["pod"] == "pod1")
            .collect();
        let got = pods(
            &cpu,
            &memory,
            Some(&[("some-ns", "pod1"), ("some-ns", "pod-nonexistant")]),
        );
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].1.as_str(), got[0].2.as_str()),
            ("pod1", ts(10).as_str())
        );
    }

    #[test]
    fn nan_and_negative_pods() {
        let cpu = vec![
            container("some-ns", "pod1", "cont1", -1100.0, 10.0),
            container("some-ns", "pod1", "cont2", f64::NAN, 20.0),
            container("some-ns", "pod3", "cont1", -1300.0, 10.0),
            container("some-ns", "pod3", "cont2", 1310.0, 20.0),
        ];
        let memory = vec![
            container("some-ns", "pod1", "cont1", 3100.0, 11.0),
            container("some-ns", "pod1", "cont2", -3110.0, 21.0),
            container("some-ns", "pod3", "cont1", f64::NAN, 11.0),
            container("some-ns", "pod3", "cont2", -3310.0, 21.0),
        ];
        let got = pods(&cpu, &memory, None);
        let s = |x: &str| x.to_string();
        assert_eq!(
            got[0].3,
            vec![(s("cont1"), u(0.0, 3100.0)), (s("cont2"), u(0.0, 0.0))]
        );
        assert_eq!(
            got[1].3,
            vec![(s("cont1"), u(0.0, 0.0)), (s("cont2"), u(1310.0, 0.0))]
        );
        assert_eq!(
            (got[0].2.as_str(), got[1].2.as_str()),
            (ts(10).as_str(), ts(10).as_str())
        );
    }

    fn nodes(cpu: &[Sample], memory: &[Sample]) -> Vec<(String, String, Usage)> {
        assemble_nodes(
            cpu,
            memory,
            &labels(),
            None,
            &ListOptions::default(),
            "1m0s",
            SystemTime::UNIX_EPOCH,
        )
        .into_iter()
        .map(|n| (n.metadata.name, n.timestamp, n.usage))
        .collect()
    }

    #[test]
    fn nodes_and_missing_nodes() {
        let cpu = [node("node1", 1100.0, 10.0), node("node2", 1200.0, 14.0)];
        let memory = [node("node1", 2100.0, 11.0), node("node2", 2200.0, 12.0)];
        let expect = vec![
            ("node1".to_string(), ts(10), u(1100.0, 2100.0)),
            ("node2".to_string(), ts(12), u(1200.0, 2200.0)),
        ];
        assert_eq!(nodes(&cpu, &memory), expect);
        // A node with no samples (node3) is simply absent.
        let wanted: BTreeMap<String, BTreeMap<String, String>> = ["node1", "node2", "node3"]
            .iter()
            .map(|n| (n.to_string(), BTreeMap::new()))
            .collect();
        let got = assemble_nodes(
            &cpu,
            &memory,
            &labels(),
            Some(&wanted),
            &ListOptions::default(),
            "1m0s",
            SystemTime::UNIX_EPOCH,
        );
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn nan_and_negative_nodes() {
        let cpu = [node("node1", -1100.0, 10.0), node("node2", 1200.0, 14.0)];
        let memory = [node("node1", 2100.0, 11.0), node("node2", f64::NAN, 12.0)];
        assert_eq!(
            nodes(&cpu, &memory),
            vec![
                ("node1".to_string(), ts(10), u(0.0, 2100.0)),
                ("node2".to_string(), ts(12), u(1200.0, 0.0))
            ]
        );
    }
}

#[test]
fn a_pod_needs_both_cpu_and_memory() {
    let cpu = [
        container("ns", "a", "c", 1.0, 1.0),
        container("ns", "b", "c", 1.0, 1.0),
    ];
    let memory = [
        container("ns", "a", "c", 1024.0 * 1024.0 * 100.0, 1.0),
        container("ns", "b", "d", 5.0, 1.0),
    ];
    let got = pods(&cpu, &memory, None);
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].3,
        vec![(
            "c".to_string(),
            Usage {
                cpu: "1".into(),
                memory: "100Mi".into()
            }
        )]
    );
    // b: container c has only CPU, d only memory: both reported, the missing side as 0.
    assert_eq!(
        got[1].3,
        vec![
            ("c".to_string(), u(1.0, 0.0)),
            ("d".to_string(), u(0.0, 5.0))
        ]
    );
    assert!(pods(&cpu, &[], None).is_empty());
}

#[test]
fn field_selectors_accept_name_and_namespace_only() {
    let params = |v: &str| {
        [("fieldSelector".to_string(), v.to_string())]
            .into_iter()
            .collect::<HashMap<_, _>>()
    };
    assert!(ListOptions::parse(&params("metadata.name=a"), true).is_ok());
    assert!(ListOptions::parse(&params("metadata.namespace!=a,metadata.name==b"), true).is_ok());
    assert_eq!(
        ListOptions::parse(&params("metadata.namespace=a"), false).unwrap_err(),
        ApiError::BadRequest("field label not supported: metadata.namespace".into())
    );
    assert_eq!(
        ListOptions::parse(&params("spec.nodeName=x"), true).unwrap_err(),
        ApiError::BadRequest("field label not supported: spec.nodeName".into())
    );
}

#[test]
fn table_rows_sum_containers() {
    let pod = PodMetrics {
        kind: None,
        api_version: None,
        metadata: ObjectMeta {
            name: "p".into(),
            namespace: Some("ns".into()),
            creation_timestamp: ts(0),
            labels: BTreeMap::new(),
        },
        timestamp: ts(0),
        window: "5m0s".into(),
        containers: vec![
            ContainerMetrics {
                name: "a".into(),
                usage: Usage {
                    cpu: "250m".into(),
                    memory: "100Mi".into(),
                },
            },
            ContainerMetrics {
                name: "b".into(),
                usage: Usage {
                    cpu: "1".into(),
                    memory: "1Mi".into(),
                },
            },
        ],
    };
    let table = pod_table(&[pod], "5m0s");
    assert_eq!(
        table["rows"][0]["cells"],
        serde_json::json!(["p", "1250m", "101Mi", "5m0s"])
    );
    assert_eq!(table["columnDefinitions"].as_array().unwrap().len(), 4);
}
