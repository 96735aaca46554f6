use std::path::Path;

use super::*;

/// (name, rules file, expected `code@line` list)
fn check(text: &str) -> Vec<String> {
    check_text(Path::new("r.yaml"), text)
        .into_iter()
        .map(|d| format!("{}@{}", d.code, d.line))
        .collect()
}

const GOOD: &str = "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)";

fn rule(series: &str, extra: &str, query: &str) -> String {
    format!(
        "rules:\n- seriesQuery: '{series}'\n  resources: {{template: <<.Resource>>}}\n{extra}  metricsQuery: '{query}'\n"
    )
}

#[test]
fn lints() {
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        ("clean", rule(r#"x{namespace!="",pod!=""}"#, "", GOOD), vec![]),
        (
            "dollar suffix",
            rule("x_total", "  name: {matches: ^(.*)_total$, as: $1_per_second}\n", GOOD),
            vec!["as-expands-empty@4"],
        ),
        (
            "braced suffix is fine",
            rule("x_total", "  name: {matches: ^(.*)_total$, as: \"${1}_per_second\"}\n", GOOD),
            vec![],
        ),
        (
            "group that does not exist",
            rule("x_total", "  name: {matches: ^(.*)_total$, as: $2}\n", GOOD),
            vec!["as-unknown-group@4"],
        ),
        ("not a selector", rule("sum(x)", "", GOOD), vec!["series-query@2"]),
        ("matches everything", rule(r#"{__name__=~".*"}"#, "", GOOD), vec!["series-query@2"]),
        (
            "group by drops the resource",
            rule("x", "", "sum(<<.Series>>{<<.LabelMatchers>>}) by (namespace)"),
            vec!["group-by@4"],
        ),
        (
            "aggregation without by",
            rule("x", "", "sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m]))"),
            vec!["group-by@4"],
        ),
        (
            "without keeps the resource",
            rule("x", "", "sum without (instance) (<<.Series>>{<<.LabelMatchers>>})"),
            vec![],
        ),
        (
            "no label matchers",
            rule("x", "", "sum(<<.Series>>) by (<<.GroupBy>>)"),
            vec!["no-label-matchers@4"],
        ),
        (
            "static matcher not applied (#279)",
            rule(r#"x{job="api",pod!=""}"#, "", GOOD),
            vec!["series-matcher-not-applied@4"],
        ),
        ("unknown field", rule("x", "", "<<.Serie>>{<<.LabelMatchers>>}"), vec!["template-field@4"]),
        (
            "custom rule with namespaced false",
            "rules:\n- seriesQuery: x\n  resources: {template: <<.Resource>>, namespaced: false}\n  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'\n".into(),
            vec!["namespaced-ignored@2"],
        ),
        (
            "duplicate",
            format!("{}{}", rule("x", "", GOOD), rule("x", "", GOOD).trim_start_matches("rules:\n")),
            vec!["duplicate-rule@5"],
        ),
        (
            "CRD override is an info",
            "rules:\n- seriesQuery: x\n  resources: {overrides: {app: {group: example.com, resource: widgets}, namespace: {resource: namespace}}}\n  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'\n".into(),
            vec!["non-builtin-resource@3"],
        ),
        (
            "overrides without the namespace",
            "rules:\n- seriesQuery: x\n  resources: {overrides: {app: {group: example.com, resource: widgets}}}\n  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'\n".into(),
            vec!["non-builtin-resource@3", "resource-label@4"],
        ),
        ("empty file", "".into(), vec!["no-rules@0"]),
    ];
    for (name, text, expected) in cases {
        assert_eq!(check(&text), expected, "{name}:\n{text}");
    }
}

#[test]
fn selectors() {
    for (input, ok) in [
        ("up", true),
        (
            r#"{__name__=~"^container_.*",container!="POD",namespace!="",pod!=""}"#,
            true,
        ),
        (r#"http_requests_total{namespace!="",pod!="",}"#, true),
        (r#"{"utf8.metric"}"#, true),
        ("x{a=`raw\\d`}", true),
        (r#"{namespace!=""}"#, true),
        (r#"{a=""}"#, false),
        (r#"{a=~".*"}"#, false),
        (r#"x{a="b""#, false),
        (r#"x{a=~"("}"#, false),
        ("rate(x[5m])", false),
        ("", false),
        ("x{a}", false),
    ] {
        assert_eq!(
            SeriesSelector::parse(input).is_ok(),
            ok,
            "{input}: {:?}",
            SeriesSelector::parse(input)
        );
    }
}

#[test]
fn the_default_config_is_clean() {
    let text =
        crate::config::generate_default("", crate::model::PromDuration::from_millis(300_000));
    let found = check_text(Path::new("default.yaml"), &text);
    assert!(found.is_empty(), "{found:#?}");
}
