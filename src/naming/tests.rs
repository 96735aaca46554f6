use super::*;
use crate::config::{NameMapping, OverrideTarget, RegexFilter};
use crate::model::PromDuration;

fn rule(metrics_query: &str, template: &str) -> DiscoveryRule {
    DiscoveryRule {
        series_query: Text::for_test("{__name__=~\".+\"}"),
        metrics_query: Text::for_test(metrics_query),
        resources: ResourceMapping {
            template: Text::for_test(template),
            ..ResourceMapping::default()
        },
        ..DiscoveryRule::default()
    }
}

/// The reference's mock converter: the label of a group-resource is its resource string.
fn mock_rule(metrics_query: &str) -> CompiledRule {
    CompiledRule::compile(
        &rule(metrics_query, "<<.Resource>>"),
        "rules[0]",
        &StaticMapper::new(vec![]),
    )
    .unwrap()
}

fn mapper_a() -> StaticMapper {
    StaticMapper::reference_test_mapper_a()
}

#[derive(Default)]
struct Req {
    namespace: Option<&'static str>,
    names: Vec<String>,
    selector: &'static str,
    extra: Vec<String>,
}

#[track_caller]
fn check_build(template: &str, series: &str, req: Req, expect: &str) {
    let compiled = mock_rule(template);
    let gr = GroupResource::new("group", "resource");
    let selector = LabelSelector::parse(req.selector).unwrap();
    let request = QueryRequest {
        group_resource: &gr,
        namespace: req.namespace,
        objects: Objects::Named(&req.names),
        metric_selector: &selector,
        extra_group_by: &req.extra,
    };
    let query = compiled
        .build_query(series, &request, &StaticMapper::new(vec![]))
        .unwrap();
    assert_eq!(query.as_str(), expect, "{template}");
}

fn names(n: &[&str]) -> Vec<String> {
    n.iter().map(|s| s.to_string()).collect()
}

mod same_as_go {
    use super::*;

    /// pkg/naming/metrics_query_test.go TestBuildSelector (§10.1).
    #[test]
    fn build_selector() {
        check_build("series <<.Series>>", "foo", Req::default(), "series foo");
        check_build(
            "<<.LabelMatchers>>",
            "foo",
            Req {
                names: names(&["bar", "baz"]),
                ..Req::default()
            },
            r#"resource=~"bar|baz""#,
        );
        check_build(
            "<<.LabelMatchers>>",
            "foo",
            Req {
                names: names(&["bar"]),
                ..Req::default()
            },
            r#"resource="bar""#,
        );
        check_build(
            "<<.LabelMatchers>>",
            "foo",
            Req {
                names: names(&["bar"]),
                selector: "metric1=value1",
                ..Req::default()
            },
            r#"metric1="value1",resource="bar""#,
        );
        check_build(
            r#"<<index .LabelValuesByName "resource">>"#,
            "foo",
            Req {
                names: names(&["bar"]),
                ..Req::default()
            },
            "bar",
        );
        check_build(
            r#"<<index .LabelValuesByName "resource">>"#,
            "foo",
            Req {
                names: names(&["bar", "baz"]),
                ..Req::default()
            },
            "bar|baz",
        );
        check_build(
            r#"<<index .LabelValuesByName "namespaces">> <<index .LabelValuesByName "resource">>"#,
            "foo",
            Req {
                namespace: Some("default"),
                names: names(&["bar", "baz"]),
                ..Req::default()
            },
            "default bar|baz",
        );
        check_build("<<.GroupBy>>", "foo", Req::default(), "resource");
        check_build(
            "<<.GroupBy>>",
            "foo",
            Req {
                extra: names(&["extra", "groups"]),
                ..Req::default()
            },
            "resource,extra,groups",
        );
        check_build("<<.GroupBySlice>>", "foo", Req::default(), "[resource]");
        check_build(
            "<<.GroupBySlice>>",
            "foo",
            Req {
                extra: names(&["extra", "groups"]),
                ..Req::default()
            },
            "[resource extra groups]",
        );
    }

    /// TestBuildExternalSelector (§10.2; GroupBy is always empty in production, so cases 2–5
    /// that pass a GroupBy in are covered by the empty form).
    #[test]
    fn build_external_selector() {
        let cases: [(&str, Option<&str>, &str, bool, &str); 8] = [
            ("series <<.Series>>", None, "", true, "series foo"),
            ("<<.GroupBySlice>>", None, "", true, "[]"),
            (
                r#"<<index .LabelValuesByName "namespaces">> <<.GroupBySlice>>"#,
                Some("default"),
                "",
                true,
                "default []",
            ),
            (
                r#"<<index .LabelValuesByName "namespaces">> <<.GroupBySlice>>"#,
                Some("default"),
                "",
                false,
                " []",
            ),
            ("<<.LabelMatchers>>", None, "foo=bar", true, r#"foo="bar""#),
            (
                "<<.LabelMatchers>>",
                Some("default"),
                "foo=bar",
                true,
                r#"foo="bar",namespaces="default""#,
            ),
            (
                "<<.LabelMatchers>>",
                None,
                "foo=bar,qux in (bar,baz)",
                true,
                r#"foo="bar",qux=~"bar|baz""#,
            ),
            (
                "<<.LabelValuesByName>>",
                None,
                "foo in (bar,baz)",
                true,
                "map[foo:bar|baz]",
            ),
        ];
        for (template, namespace, selector, namespaced, expect) in cases {
            let mut r = rule(template, "<<.Resource>>");
            r.resources.namespaced = namespaced;
            let compiled =
                CompiledRule::compile(&r, "externalRules[0]", &StaticMapper::new(vec![])).unwrap();
            let selector = LabelSelector::parse(selector).unwrap();
            let query = compiled
                .build_external("foo", namespace, &selector, &StaticMapper::new(vec![]))
                .unwrap();
            assert_eq!(query.as_str(), expect, "{template}");
        }
    }

    /// pkg/naming/regex_matcher_test.go (§10.3).
    #[test]
    fn regex_matcher() {
        let filter = |is: Option<&str>, is_not: Option<&str>| {
            let mut r = rule("x", "");
            r.series_filters = vec![RegexFilter {
                is: is.map(Text::for_test),
                is_not: is_not.map(Text::for_test),
            }];
            CompiledRule::compile(&r, "rules[0]", &StaticMapper::new(vec![])).unwrap()
        };
        let is = filter(Some("my_.*"), None);
        assert!(is.keeps_series("my_label"));
        assert!(!is.keeps_series("your_label"));
        let is_not = filter(None, Some("my_.*"));
        assert!(!is_not.keeps_series("my_label"));
        assert!(is_not.keeps_series("your_label"));
        let both =
            "rules:\n- seriesQuery: x\n  seriesFilters:\n  - is: my_.*\n    isNot: your_.*\n";
        assert!(Config::parse(Path::new("r.yaml"), both).is_err());
    }

    /// pkg/custom-provider/series_registry_test.go query cases (§10.5): Default-config(1m, "kube_").
    #[test]
    fn series_registry_queries() {
        let text = crate::config::generate_default("kube_", PromDuration::parse("1m").unwrap());
        let config = Config::parse(Path::new("default.yaml"), &text).unwrap();
        let mapper = mapper_a();
        let rules = RuleSet::compile(&config, Path::new("default.yaml"), &mapper).unwrap();
        // (rule index, series, resource as requested, namespace, names, metric selector, expected)
        type Case<'a> = (
            usize,
            &'a str,
            &'a str,
            Option<&'a str>,
            &'a [&'a str],
            &'a str,
            &'a str,
        );
        let cases: &[Case] = &[
            (
                2,
                "container_some_usage",
                "pods",
                Some("somens"),
                &["somepod1", "somepod2"],
                "",
                r#"sum(container_some_usage{namespace="somens",pod=~"somepod1|somepod2",container!="POD"}) by (pod)"#,
            ),
            (
                1,
                "container_some_count_total",
                "pods",
                Some("somens"),
                &["somepod1", "somepod2"],
                "",
                r#"sum(rate(container_some_count_total{namespace="somens",pod=~"somepod1|somepod2",container!="POD"}[1m])) by (pod)"#,
            ),
            (
                0,
                "container_some_time_seconds_total",
                "pods",
                Some("somens"),
                &["somepod1", "somepod2"],
                "",
                r#"sum(rate(container_some_time_seconds_total{namespace="somens",pod=~"somepod1|somepod2",container!="POD"}[1m])) by (pod)"#,
            ),
            (
                4,
                "ingress_hits_total",
                "service",
                Some("somens"),
                &["somesvc"],
                "",
                r#"sum(rate(ingress_hits_total{kube_namespace="somens",kube_service="somesvc"}[1m])) by (kube_service)"#,
            ),
            (
                4,
                "ingress_hits_total",
                "service",
                Some("somens"),
                &["somesvc"],
                "param1=value1",
                r#"sum(rate(ingress_hits_total{param1="value1",kube_namespace="somens",kube_service="somesvc"}[1m])) by (kube_service)"#,
            ),
            (
                4,
                "ingress_hits_total",
                "ingress.extensions",
                Some("somens"),
                &["someingress"],
                "",
                r#"sum(rate(ingress_hits_total{kube_namespace="somens",kube_ingress="someingress"}[1m])) by (kube_ingress)"#,
            ),
            (
                4,
                "ingress_hits_total",
                "pod",
                Some("somens"),
                &["somepod"],
                "",
                r#"sum(rate(ingress_hits_total{kube_namespace="somens",kube_pod="somepod"}[1m])) by (kube_pod)"#,
            ),
            (
                3,
                "service_proxy_packets",
                "service",
                Some("somens"),
                &["somesvc"],
                "",
                r#"sum(service_proxy_packets{kube_namespace="somens",kube_service="somesvc"}) by (kube_service)"#,
            ),
            (
                5,
                "work_queue_wait_seconds_total",
                "deployment.extensions",
                Some("somens"),
                &["somedep"],
                "",
                r#"sum(rate(work_queue_wait_seconds_total{kube_namespace="somens",kube_deployment="somedep"}[1m])) by (kube_deployment)"#,
            ),
            (
                3,
                "node_gigawatts",
                "node",
                None,
                &["somenode"],
                "",
                r#"sum(node_gigawatts{kube_node="somenode"}) by (kube_node)"#,
            ),
            (
                4,
                "volume_claims_total",
                "persistentvolume",
                None,
                &["somepv"],
                "",
                r#"sum(rate(volume_claims_total{kube_persistentvolume="somepv"}[1m])) by (kube_persistentvolume)"#,
            ),
            (
                5,
                "node_fan_seconds_total",
                "node",
                None,
                &["somenode"],
                "",
                r#"sum(rate(node_fan_seconds_total{kube_node="somenode"}[1m])) by (kube_node)"#,
            ),
        ];
        for (rule_index, series, resource, namespace, object_names, selector, expect) in cases {
            let requested = GroupResource::parse_segment(resource);
            let gr = mapper
                .resolve(&requested.group, &requested.resource)
                .unwrap()
                .group_resource;
            let selector = LabelSelector::parse(selector).unwrap();
            let object_names = names(object_names);
            let request = QueryRequest {
                group_resource: &gr,
                namespace: *namespace,
                objects: Objects::Named(&object_names),
                metric_selector: &selector,
                extra_group_by: &[],
            };
            let query = rules.custom[*rule_index]
                .build_query(series, &request, &mapper)
                .unwrap();
            assert_eq!(query.as_str(), *expect);
        }
    }

    /// §10.10: `name.as` expansion is Go's regexp.Expand.
    #[test]
    fn name_as_expansion() {
        let namer = |matches: &str, as_: &str| {
            let mut r = rule("x", "");
            r.name = NameMapping {
                matches: Text::for_test(matches),
                as_: Text::for_test(as_),
            };
            CompiledRule::compile(&r, "rules[0]", &StaticMapper::new(vec![]))
        };
        let cases = [
            (
                "^(.*)_total$",
                "${1}_per_second",
                "http_requests_total",
                Some("http_requests_per_second"),
            ),
            (
                "^(.*)_total$",
                "$1_per_second",
                "http_requests_total",
                Some(""),
            ),
            ("_total", "", "a_total_b", Some("_total")),
            ("^(.*)_total$", "", "x_total_y", None),
            ("^(.*)_total", "", "x_total_y", Some("x")),
            ("", "", "anything", Some("anything")),
            ("^(.*)$", "$$", "a", Some("$")),
        ];
        for (matches, as_, series, expect) in cases {
            assert_eq!(
                namer(matches, as_)
                    .unwrap()
                    .metric_name_for(series)
                    .as_deref(),
                expect,
                "{matches} {as_} {series}"
            );
        }
        let err = namer("(a)(b)", "").unwrap_err();
        assert!(
            err.message
                .starts_with("must specify an 'as' value for name matcher \"(a)(b)\""),
            "{}",
            err.message
        );
    }
}

#[test]
fn request_values_cannot_escape_their_string() {
    check_build(
        "<<.LabelMatchers>>",
        "foo",
        Req {
            names: names(&["a\"b"]),
            ..Req::default()
        },
        r#"resource="a\"b""#,
    );
    check_build(
        "<<.LabelMatchers>>",
        "foo",
        Req {
            names: names(&["a.b", "c|d", "e\"}"]),
            ..Req::default()
        },
        r#"resource=~"a\\.b|c\\|d|e\"\\}""#,
    );
    check_build(
        r#"x="<<index .LabelValuesByName "resource">>""#,
        "foo",
        Req {
            names: names(&["a\"}or vector(1)"]),
            ..Req::default()
        },
        r#"x="a\"}or vector(1)""#,
    );
    check_build(
        "<<.LabelMatchers>>",
        "foo",
        Req {
            names: names(&["x"]),
            selector: "a.b in (c.d,e)",
            ..Req::default()
        },
        r#"a.b=~"c\\.d|e",resource="x""#,
    );
}

#[test]
fn selector_operators_become_matchers() {
    let cases = [
        ("k=v", r#"k="v""#),
        ("k==v", r#"k="v""#),
        ("k!=v", r#"k!="v""#),
        ("k in (v)", r#"k=~"v""#),
        ("k notin (a,b)", r#"k!~"a|b""#),
        ("k", r#"k!="""#),
        ("!k", r#"k="""#),
    ];
    for (selector, expect) in cases {
        let compiled = mock_rule("<<.LabelMatchers>>");
        let selector = LabelSelector::parse(selector).unwrap();
        let q = compiled
            .build_external("s", None, &selector, &StaticMapper::new(vec![]))
            .unwrap();
        assert_eq!(q.as_str(), expect);
    }
    let compiled = mock_rule("<<.LabelMatchers>>");
    let err = compiled
        .build_external(
            "s",
            None,
            &LabelSelector::parse("k>1").unwrap(),
            &StaticMapper::new(vec![]),
        )
        .unwrap_err();
    assert!(matches!(err, QueryError::UnsupportedOperator(_)));
}

#[test]
fn compile_errors_point_at_the_field() {
    let bad = [
        (
            "rules:\n- seriesQuery: x\n  metricsQuery: <<join .GroupBySlice \",\">>\n",
            "r.yaml:3:17: rules[0].metricsQuery: unable to parse metrics query template: template: metrics-query:1: function \"join\" not defined",
        ),
        (
            "rules:\n- seriesQuery: x\n  name:\n    matches: ^foo_(.*\n",
            "r.yaml:4:14: rules[0].name.matches: unable to generate series name filter from name rules: ",
        ),
        (
            "rules:\n- seriesQuery: x\n  resources:\n    template: kube_<<.Group>>\n",
            "r.yaml:4:15: rules[0].resources.template: unable to generate label format from template \"kube_<<.Group>>\": must include at least `{{.Resource}}` in the label template",
        ),
        (
            "rules:\n- seriesQuery: x\n  resources:\n    overrides:\n      brand:\n        group: cheese.io\n        resource: brand\n",
            "r.yaml:7:19: rules[0].resources.overrides.brand: unable to construct naming scheme from metrics rules: unable to normalize group-resource {cheese.io brand}",
        ),
    ];
    for (text, expect) in bad {
        let config = Config::parse(Path::new("r.yaml"), text).unwrap();
        let err = RuleSet::compile(&config, Path::new("r.yaml"), &mapper_a())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(expect),
            "{err}\n  expected prefix: {expect}"
        );
    }
    let _ = OverrideTarget::default();
}

/// pkg/resourceprovider/provider_test.go query strings (§10.6): Default-config(1m, "").
#[test]
fn resource_queries_same_as_go() {
    let text = crate::config::generate_default("", PromDuration::parse("1m").unwrap());
    let config = Config::parse(Path::new("default.yaml"), &text).unwrap();
    let mapper = StaticMapper::builtin();
    let rules = RuleSet::compile(&config, Path::new("default.yaml"), &mapper).unwrap();
    let resource = rules.resource.unwrap();
    let ns = |n: &str| vec![n.to_string()];
    let pods = names(&["pod1", "pod3"]);
    let some_ns = ns("some-ns");
    let cases = [
        (
            resource
                .cpu
                .pod_query(Objects::Named(&some_ns), Objects::Named(&pods), &mapper),
            r#"sum(rate(container_cpu_usage_seconds_total{namespace="some-ns",pod=~"pod1|pod3"}[1m])) by (pod,container)"#,
        ),
        (
            resource
                .memory
                .pod_query(Objects::Named(&some_ns), Objects::Named(&pods), &mapper),
            r#"sum(container_memory_working_set_bytes{namespace="some-ns",pod=~"pod1|pod3"}) by (pod,container)"#,
        ),
        (
            resource.cpu.pod_query(
                Objects::Named(&ns("other-ns")),
                Objects::Named(&ns("pod27")),
                &mapper,
            ),
            r#"sum(rate(container_cpu_usage_seconds_total{namespace="other-ns",pod="pod27"}[1m])) by (pod,container)"#,
        ),
        (
            resource
                .cpu
                .node_query(Objects::Named(&names(&["node1", "node2"])), &mapper),
            r#"sum(rate(container_cpu_usage_seconds_total{instance=~"node1|node2", id='/'}[1m])) by (instance)"#,
        ),
        (
            resource
                .memory
                .node_query(Objects::Named(&names(&["node1", "node2"])), &mapper),
            r#"sum(container_memory_working_set_bytes{instance=~"node1|node2",id='/'}) by (instance)"#,
        ),
        // Beyond the reference: several namespaces in one query group by namespace too.
        (
            resource
                .cpu
                .pod_query(Objects::Named(&names(&["a", "b"])), Objects::Any, &mapper),
            r#"sum(rate(container_cpu_usage_seconds_total{namespace=~"a|b",pod!=""}[1m])) by (pod,container,namespace)"#,
        ),
        (
            resource.memory.node_query(Objects::Any, &mapper),
            r#"sum(container_memory_working_set_bytes{instance!="",id='/'}) by (instance)"#,
        ),
    ];
    for (query, expect) in cases {
        assert_eq!(query.unwrap().as_str(), expect);
    }
}
