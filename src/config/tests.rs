use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(Path::new("rules.yaml"), text)
}

#[track_caller]
fn check_err(text: &str, expect: &str) {
    let err = parse(text).unwrap_err();
    assert_eq!(err.to_string(), expect);
}

#[test]
fn the_default_config_parses() {
    let text = include_str!("../../config/default.yaml");
    let config = parse(text).unwrap();
    assert_eq!(config.rules.len(), 6);
    assert_eq!(
        config.rules[1].series_filters[0]
            .is_not
            .as_ref()
            .unwrap()
            .value,
        "^container_.*_seconds_total$"
    );
    assert_eq!(
        config.rules[0].resources.overrides["namespace"]
            .resource
            .value,
        "namespace"
    );
    assert_eq!(config.rules[3].resources.template.value, "<<.Resource>>");
    assert!(config.rules[3].name.matches.is_empty());
    assert_eq!(
        config.rules[0].metrics_query.value,
        "sum(rate(<<.Series>>{<<.LabelMatchers>>,container!=\"POD\"}[5m])) by (<<.GroupBy>>)"
    );
    assert_eq!(
        config.rules[0].metrics_query.position,
        Position {
            line: 13,
            column: 17
        }
    );
    let resource = config.resource_rules.unwrap();
    assert_eq!(resource.window.to_string(), "5m");
    assert_eq!(resource.cpu.container_label.value, "container");
}

#[test]
fn empty_and_comment_only_files_are_valid() {
    for text in ["", "# nothing\n", "---\n"] {
        assert_eq!(parse(text).unwrap(), Config::default());
    }
}

#[test]
fn yaml_1_1_booleans_and_nulls_read_like_yaml_v2() {
    let config = parse(
        "externalRules:\n- seriesQuery: x\n  resources:\n    namespaced: no\n  name:\n    as: ~\n",
    )
    .unwrap();
    assert!(!config.external_rules[0].resources.namespaced);
    assert_eq!(config.external_rules[0].name.as_.value, "");
    let config =
        parse("externalRules:\n- resources:\n    namespaced: yes\n  name:\n    as:\n").unwrap();
    assert!(config.external_rules[0].resources.namespaced);
    let config = parse("rules:\n- seriesQuery: x\n").unwrap();
    assert!(
        config.rules[0].resources.namespaced,
        "namespaced defaults to true"
    );
}

#[test]
fn resource_rules_presence_is_kept() {
    assert!(
        parse("resourceRules: {}\n")
            .unwrap()
            .resource_rules
            .is_some()
    );
    assert!(parse("resourceRules:\n").unwrap().resource_rules.is_none());
    assert!(parse("rules: []\n").unwrap().resource_rules.is_none());
}

#[test]
fn errors_name_file_line_column_and_field() {
    check_err(
        "rules:\n- seriesQuery: x\n  metricQuery: y\n",
        "rules.yaml:3:3: rules[0].metricQuery: unknown field `metricQuery`, expected one of seriesQuery, seriesFilters, resources, name, metricsQuery, backend",
    );
    check_err(
        "Rules: []\n",
        "rules.yaml:1:1: Rules: unknown field `Rules`, expected one of rules, externalRules, resourceRules, backends",
    );
    check_err(
        "rules:\n- seriesQuery: x\n  seriesQuery: y\n",
        "rules.yaml:3:3: rules[0].seriesQuery: field seriesQuery already set (duplicate key)",
    );
    check_err(
        "rules:\n- seriesQuery: a\n- seriesQuery: b\n  resources:\n    namespaced: maybe\n",
        "rules.yaml:5:17: rules[1].resources.namespaced: invalid boolean",
    );
    check_err(
        "resourceRules:\n  window: 1.5m\n",
        "rules.yaml:2:11: resourceRules.window: unknown unit \".\" in duration \"1.5m\"",
    );
    check_err(
        "rules:\n- seriesQuery: x\n  seriesFilters:\n  - is: a\n    isNot: b\n",
        "rules.yaml:4:9: rules[0].seriesFilters[0]: cannot have both an `is` (\"a\") and `isNot` (\"b\") expression in a single filter",
    );
    check_err(
        "rules:\n- seriesQuery: x\n  seriesFilters:\n  - {}\n",
        "rules.yaml:2:16: rules[0].seriesFilters[0]: must have either an `is` or `isNot` expression in a filter",
    );
}

#[test]
fn the_upstream_sample_config_is_not_valid_yaml() {
    // docs/sample-config.yaml line 29 holds a double-quoted scalar with unescaped quotes (§2.1).
    let text = "rules:\n- seriesQuery: 'x'\n  metricsQuery: \"sum(<<.Series>>{<<.LabelMatchers>>,container!=\"POD\"}) by (<<.GroupBy>>)\"\n";
    let err = parse(text).unwrap_err();
    assert_eq!(err.position.line, 3, "{err}");
}

/// config-gen output, compared with the reference's folding (§2.8): the default is the file
/// itself, and other intervals and prefixes move the breaks as yaml.v2 does.
#[test]
fn config_gen_folds_like_the_reference() {
    use crate::config::generate_default;
    let five = generate_default("", PromDuration::from_millis(300_000));
    assert_eq!(five, include_str!("../../config/default.yaml"));
    let cases = [
        // (prefix, interval, a line that must appear)
        (
            "",
            90_000,
            "  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>,container!=\"POD\"}[1m30s]))\n    by (<<.GroupBy>>)\n",
        ),
        (
            "",
            60_000,
            "  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>,container!=\"POD\"}[1m])) by\n    (<<.GroupBy>>)\n",
        ),
        ("", 60_000, "  window: 1m\n"),
        (
            "kube_",
            300_000,
            "- seriesQuery: '{kube_namespace!=\"\",__name__!~\"^container_.*\"}'\n",
        ),
        ("kube_", 300_000, "    template: kube_<<.Resource>>\n"),
        ("kube_", 300_000, "    containerLabel: kube_container\n"),
        (
            "",
            3_600_000,
            "    containerQuery: sum(container_memory_working_set_bytes{<<.LabelMatchers>>}) by\n      (<<.GroupBy>>)\n",
        ),
        (
            "",
            3_600_000,
            "    nodeQuery: sum(rate(container_cpu_usage_seconds_total{<<.LabelMatchers>>, id='/'}[1h]))\n      by (<<.GroupBy>>)\n",
        ),
    ];
    for (prefix, millis, line) in cases {
        let out = generate_default(prefix, PromDuration::from_millis(millis));
        assert!(
            out.contains(line),
            "{prefix:?} {millis}: {line:?} missing from\n{out}"
        );
        let reparsed = Config::parse(Path::new("gen.yaml"), &out).unwrap();
        assert_eq!(reparsed.rules.len(), 6);
    }
}
