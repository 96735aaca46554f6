//! `check`: everything that can be known about a rules file without Prometheus or a cluster.
//!
//! Each finding is a `Diagnostic` with the file position of the field it is about, a severity
//! and, where there is a usual fix, a hint. Errors are what stops the adapter from starting or
//! makes every request of a rule fail; warnings are what starts but answers wrongly or not at
//! all (the "my metric does not show up" reports). Nothing here touches the network, and
//! nothing here is used when serving: serving keeps failing fast on errors only.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Mutex;

use regex::Regex;
use serde::Serialize;

use crate::config::{Config, ConfigError, DiscoveryRule, Position, Text};
use crate::model::{GroupResource, LabelSelector, SeriesSelector};
use crate::naming::{
    CompiledRule, Objects, QueryError, QueryRequest, ResourceInfo, ResourceMapper, RuleSet,
    StaticMapper,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable name for the kind of finding (`as-expands-empty`), for scripts and docs.
    pub code: &'static str,
    pub line: u64,
    pub column: u64,
    /// The YAML path of the field (`rules[2].name.as`).
    pub field: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// What `check` found in one file.
#[derive(Debug, Serialize)]
pub struct Report {
    pub file: String,
    pub diagnostics: Vec<Diagnostic>,
    pub errors: usize,
    pub warnings: usize,
}

impl Report {
    /// 0: clean (infos allowed), 1: warnings, 2: errors.
    pub fn exit_code(&self) -> i32 {
        if self.errors > 0 {
            2
        } else if self.warnings > 0 {
            1
        } else {
            0
        }
    }

    /// `file:line:col: severity[code]: field: message`, a hint line, then a summary.
    pub fn human(&self) -> String {
        let mut out = String::new();
        for d in &self.diagnostics {
            out.push_str(&self.file);
            if d.line > 0 {
                out.push_str(&format!(":{}:{}", d.line, d.column));
            }
            out.push_str(&format!(": {}[{}]: ", d.severity, d.code));
            if !d.field.is_empty() {
                out.push_str(&format!("{}: ", d.field));
            }
            out.push_str(&d.message);
            out.push('\n');
            if let Some(hint) = &d.hint {
                out.push_str(&format!("    hint: {hint}\n"));
            }
        }
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        out.push_str(&format!(
            "{}: {}, {}\n",
            self.file,
            plural(self.errors, "error"),
            plural(self.warnings, "warning")
        ));
        out
    }
}

/// Checks a rules file on disk (`display` is how the report names it).
pub fn check_file(path: &Path) -> Report {
    let diagnostics = match std::fs::read_to_string(path) {
        Ok(text) => check_text(path, &text),
        Err(e) => vec![Diagnostic {
            severity: Severity::Error,
            code: "unreadable",
            line: 0,
            column: 0,
            field: String::new(),
            message: format!("unable to read the rules file: {e}"),
            hint: None,
        }],
    };
    report(path, diagnostics)
}

fn report(path: &Path, diagnostics: Vec<Diagnostic>) -> Report {
    let count = |s| diagnostics.iter().filter(|d| d.severity == s).count();
    Report {
        file: path.display().to_string(),
        errors: count(Severity::Error),
        warnings: count(Severity::Warning),
        diagnostics,
    }
}

/// Every diagnostic for a rules file's text.
pub fn check_text(path: &Path, text: &str) -> Vec<Diagnostic> {
    let mut found = lint(path, text);
    found.sort_by_key(|d| (d.line, d.column, std::cmp::Reverse(d.severity)));
    found
}

fn lint(path: &Path, text: &str) -> Vec<Diagnostic> {
    let config = match Config::parse(path, text) {
        Ok(config) => config,
        Err(e) => return vec![from_config_error("parse", &e, None)],
    };
    let mut out = Vec::new();
    let mapper = CheckMapper::default();
    let backends: Vec<String> = config.backends.keys().cloned().collect();
    if config.rules.is_empty()
        && config.external_rules.is_empty()
        && config.resource_rules.is_none()
    {
        out.push(Diagnostic {
            severity: Severity::Warning,
            code: "no-rules",
            line: 0,
            column: 0,
            field: String::new(),
            message: "no rules, externalRules or resourceRules: the adapter serves no metrics"
                .into(),
            hint: Some(
                "`prometheus-adapter config-gen` prints the reference's default rules".into(),
            ),
        });
    }
    for (section, rules, external) in [
        ("rules", &config.rules, false),
        ("externalRules", &config.external_rules, true),
    ] {
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, rule) in rules.iter().enumerate() {
            let id = format!("{section}[{i}]");
            check_rule(rule, &id, external, &backends, &mapper, &mut out);
            if let Some(first) = seen.insert(rule_identity(rule), i) {
                out.push(warning(
                    "duplicate-rule",
                    rule.series_query.position,
                    format!("{id}.seriesQuery"),
                    format!(
                        "{id} discovers and names series exactly as {section}[{first}]: every metric they produce collides, and {id} (the later rule) wins"
                    ),
                    Some("delete one of them, or give them different `name.as` values".into()),
                ));
            }
        }
    }
    if config.resource_rules.is_some() {
        check_resource_rules(&config, path, &mapper, &mut out);
    }
    for (group, resource) in mapper.unknown.into_inner().unwrap_or_default() {
        let (position, field) = override_position(&config, &group, &resource);
        out.push(Diagnostic {
            severity: Severity::Info,
            code: "non-builtin-resource",
            line: position.line,
            column: position.column,
            field,
            message: format!(
                "{resource}.{group} is not a built-in resource; it must exist in the cluster (the adapter resolves it through API discovery at start-up)"
            ),
            hint: None,
        });
    }
    out
}

fn check_rule(
    rule: &DiscoveryRule,
    id: &str,
    external: bool,
    backends: &[String],
    mapper: &CheckMapper,
    out: &mut Vec<Diagnostic>,
) {
    let series_selector = if rule.series_query.is_empty() {
        out.push(error(
            "series-query",
            rule.series_query.position,
            format!("{id}.seriesQuery"),
            "seriesQuery is empty: discovery has nothing to ask Prometheus for".into(),
            Some(
                r#"for example: seriesQuery: 'http_requests_total{namespace!="",pod!=""}'"#.into(),
            ),
        ));
        None
    } else {
        match SeriesSelector::parse(rule.series_query.as_str()) {
            Ok(selector) => Some(selector),
            Err(e) => {
                out.push(error(
                    "series-query",
                    rule.series_query.position,
                    format!("{id}.seriesQuery"),
                    format!(
                        "{:?} is not a valid series selector: {e}; Prometheus refuses it and every relist fails",
                        rule.series_query.value
                    ),
                    Some("a series selector is a metric name and/or `{label=\"value\", …}` matchers, not a full PromQL expression".into()),
                ));
                None
            }
        }
    };
    if rule.metrics_query.is_empty() {
        out.push(error(
            "metrics-query",
            or(rule.metrics_query.position, rule.series_query.position),
            format!("{id}.metricsQuery"),
            "metricsQuery is empty: every request for this rule's metrics fails".into(),
            Some("the reference's default is `sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)`".into()),
        ));
    }
    check_name_as(rule, id, out);
    if let Some(backend) = &rule.backend
        && !backends.contains(&backend.value)
    {
        out.push(error(
            "unknown-backend",
            backend.position,
            format!("{id}.backend"),
            format!(
                "unknown backend {:?}: the adapter refuses to start",
                backend.value
            ),
            Some(format!("the backends section names: {backends:?}")),
        ));
    }
    if !external && !rule.resources.namespaced {
        out.push(warning(
            "namespaced-ignored",
            rule.series_query.position,
            format!("{id}.resources.namespaced"),
            "`namespaced: false` only applies to externalRules; custom metrics keep their resource's scope".into(),
            None,
        ));
    }
    let compiled = match CompiledRule::compile(rule, id, mapper) {
        Ok(compiled) => compiled,
        Err(e) => {
            let code = if e.field.ends_with("metricsQuery") {
                "template"
            } else if e.field.contains("overrides") {
                "unknown-resource"
            } else if e.field.ends_with("template") {
                "resource-template"
            } else if e.field.ends_with("name.as") {
                "missing-as"
            } else {
                "regex"
            };
            out.push(Diagnostic {
                severity: Severity::Error,
                code,
                line: e.position.line,
                column: e.position.column,
                field: e.field,
                message: e.message,
                hint: compile_hint(code),
            });
            return;
        }
    };
    if rule.metrics_query.is_empty() {
        return;
    }
    let query_field = format!("{id}.metricsQuery");
    let position = rule.metrics_query.position;
    let template = compiled.metrics_query();
    // Try the query the way a request would build it.
    let selector = LabelSelector::everything();
    let built = if external {
        compiled.build_external("series_name", Some("shop"), &selector, mapper)
    } else {
        let resource = compiled.converter.sample_resource();
        let names = ["a".to_string(), "b".to_string()];
        compiled.build_query(
            "series_name",
            &QueryRequest {
                group_resource: &resource,
                namespace: Some("shop"),
                objects: Objects::Named(&names),
                metric_selector: &selector,
                extra_group_by: &[],
            },
            mapper,
        )
    };
    let query = match built {
        Ok(query) => query,
        Err(QueryError::Template(e)) => {
            out.push(error(
                "template-field",
                position,
                query_field,
                format!("every request fails: {e}"),
                Some("the fields are .Series, .LabelMatchers, .LabelValuesByName, .GroupBy and .GroupBySlice".into()),
            ));
            return;
        }
        Err(QueryError::EmptyQuery) => {
            out.push(error(
                "metrics-query",
                position,
                query_field,
                "metricsQuery renders to nothing".into(),
                None,
            ));
            return;
        }
        Err(e) => {
            let hint = matches!(e, QueryError::NoLabelForResource).then(|| {
                if external {
                    "map the namespace label (resources: {overrides: {namespace: {resource: namespace}}}), or set resources.namespaced: false".to_string()
                } else {
                    "without a template, map the namespace label too: overrides: {namespace: {resource: namespace}}".to_string()
                }
            });
            out.push(warning(
                "resource-label",
                position,
                query_field,
                format!("a namespaced request could not be turned into a query ({e}): requests for this rule's metrics fail"),
                hint,
            ));
            return;
        }
    };
    let filters_objects =
        template.mentions_field("LabelMatchers") || template.mentions_field("LabelValuesByName");
    if !filters_objects {
        out.push(warning(
            "no-label-matchers",
            position,
            query_field.clone(),
            if external {
                "metricsQuery uses neither <<.LabelMatchers>> nor <<.LabelValuesByName>>: the HPA's metric selector (and the namespace) are ignored".into()
            } else {
                "metricsQuery uses neither <<.LabelMatchers>> nor <<.LabelValuesByName>>: the query is not restricted to the requested objects or namespace, so every object gets the same sum".into()
            },
            Some("add {<<.LabelMatchers>>} after <<.Series>>".into()),
        ));
    }
    if !external {
        let label = compiled
            .converter
            .label_for_resource(&compiled.converter.sample_resource(), mapper)
            .unwrap_or_default();
        if let Some(message) = group_by_problem(query.as_str(), &label) {
            out.push(warning(
                "group-by",
                position,
                query_field.clone(),
                message,
                Some("aggregate with `by (<<.GroupBy>>)`, which holds the label of the requested resource".into()),
            ));
        }
    }
    if let Some(selector) = series_selector {
        for m in &selector.matchers {
            // `label!=""` only asks for the label, which LabelMatchers' resource matchers do too.
            let presence = (m.op == "!=" && m.value.is_empty())
                || (m.op == "=~" && matches!(m.value.as_str(), ".+" | ".+?"));
            if presence || m.label == "__name__" {
                continue;
            }
            if !template.source().contains(m.label.as_str()) {
                out.push(warning(
                    "series-matcher-not-applied",
                    position,
                    query_field.clone(),
                    format!(
                        "seriesQuery selects only series with {}{}{:?}, but metricsQuery does not: the query also sums the other series of the same name (upstream #279)",
                        m.label, m.op, m.value
                    ),
                    Some(format!(
                        "repeat it in metricsQuery: <<.Series>>{{<<.LabelMatchers>>,{}{}{:?}}}",
                        m.label, m.op, m.value
                    )),
                ));
            }
        }
    }
}

/// `$1_total` is the group named `1_total` to Go's and Rust's regex expansion: empty.
fn check_name_as(rule: &DiscoveryRule, id: &str, out: &mut Vec<Diagnostic>) {
    let as_ = rule.name.as_.as_str();
    if as_.is_empty() {
        return;
    }
    let matches = if rule.name.matches.is_empty() {
        ".*"
    } else {
        rule.name.matches.as_str()
    };
    let Ok(regex) = Regex::new(matches) else {
        return; // reported by the compile step
    };
    let groups = regex.captures_len() - 1;
    let names: Vec<&str> = regex.capture_names().flatten().collect();
    let reference = Regex::new(r"\$(\{([^}]*)\}|([0-9A-Za-z_]+))").expect("static regex");
    let mut i = 0;
    while let Some(m) = reference.find_at(as_, i) {
        i = m.end();
        if as_[..m.start()].ends_with('$') {
            continue; // `$$` is a literal dollar
        }
        let caps = reference
            .captures(&as_[m.start()..])
            .expect("matched above");
        let (name, braced) = match (caps.get(2), caps.get(3)) {
            (Some(n), _) => (n.as_str(), true),
            (None, Some(n)) => (n.as_str(), false),
            _ => continue,
        };
        let valid = match name.parse::<usize>() {
            Ok(n) => n <= groups,
            Err(_) => names.contains(&name),
        };
        if valid {
            continue;
        }
        let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
        let (code, message, hint) = if !braced && !digits.is_empty() && digits.len() < name.len() {
            (
                "as-expands-empty",
                format!(
                    "{as_:?} refers to a capture group named {name:?}, which does not exist, so it expands to nothing (regex expansion reads the longest name after `$`)"
                ),
                Some(format!(
                    "write {:?}",
                    as_.replacen(
                        &format!("${name}"),
                        &format!("${{{digits}}}{}", &name[digits.len()..]),
                        1
                    )
                )),
            )
        } else {
            (
                "as-unknown-group",
                format!(
                    "{as_:?} refers to capture group {name:?}, but name.matches {matches:?} has {groups} group(s){}: it expands to nothing",
                    if names.is_empty() {
                        String::new()
                    } else {
                        format!(" named {names:?}")
                    }
                ),
                Some("capture what you refer to in name.matches, e.g. \"^(.*)_total$\"".into()),
            )
        };
        out.push(warning(
            code,
            rule.name.as_.position,
            format!("{id}.name.as"),
            message,
            hint,
        ));
    }
}

/// A query that aggregates the resource label away returns samples no object can be matched
/// with: the API answers an empty list.
fn group_by_problem(query: &str, label: &str) -> Option<String> {
    static BY: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
        Regex::new(r"\b(by|without)\s*\(([^)]*)\)").expect("static regex")
    });
    static AGGREGATION: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
        Regex::new(r"\b(sum|avg|min|max|count|group|stddev|stdvar|topk|bottomk|quantile|count_values)\s*(\(|by\b|without\b)")
            .expect("static regex")
    });
    if label.is_empty() {
        return None;
    }
    for clause in BY.captures_iter(query) {
        let labels: Vec<&str> = clause[2].split(',').map(str::trim).collect();
        let keeps = match &clause[1] {
            "by" => labels.contains(&label),
            _ => !labels.contains(&label),
        };
        if !keeps {
            return Some(format!(
                "`{}` drops the resource label {label:?}: answers carry no object name and come back empty",
                clause[0].trim()
            ));
        }
    }
    if BY.find(query).is_none() && AGGREGATION.is_match(query) {
        return Some(format!(
            "the query aggregates without `by (...)`, so the resource label {label:?} is dropped: answers come back empty"
        ));
    }
    None
}

fn check_resource_rules(
    config: &Config,
    path: &Path,
    mapper: &CheckMapper,
    out: &mut Vec<Diagnostic>,
) {
    let Some(rules) = &config.resource_rules else {
        return;
    };
    let only = Config {
        resource_rules: config.resource_rules.clone(),
        ..Config::default()
    };
    if let Err(e) = RuleSet::compile(&only, path, mapper) {
        out.push(from_config_error("resource-rules", &e, None));
        return;
    }
    let anywhere = [&rules.cpu, &rules.memory]
        .iter()
        .flat_map(|r| [r.container_query.position, r.node_query.position])
        .find(|p| p.line > 0)
        .unwrap_or_default();
    for (name, rule) in [("cpu", &rules.cpu), ("memory", &rules.memory)] {
        let here = or(
            or(rule.container_query.position, rule.node_query.position),
            anywhere,
        );
        if rule.container_query.is_empty() {
            out.push(warning(
                "resource-rules",
                here,
                format!("resourceRules.{name}.containerQuery"),
                format!("containerQuery is empty: pods get no {name} metrics (kubectl top pod, Resource HPAs)"),
                None,
            ));
        }
        if rule.node_query.is_empty() {
            out.push(warning(
                "resource-rules",
                here,
                format!("resourceRules.{name}.nodeQuery"),
                format!("nodeQuery is empty: nodes get no {name} metrics (kubectl top node)"),
                None,
            ));
        }
        if rule.container_label.is_empty() {
            out.push(warning(
                "resource-rules",
                here,
                format!("resourceRules.{name}.containerLabel"),
                "containerLabel is not set: every container is reported under an empty name".into(),
                Some("cAdvisor's label is `container`".into()),
            ));
        }
    }
    if rules.window.as_millis() == 0 {
        out.push(warning(
            "resource-rules",
            anywhere,
            "resourceRules.window".into(),
            "window is not set: responses report a 0s window; set it to the rate interval the queries use (e.g. 5m)".into(),
            None,
        ));
    }
}

/// A field's position, or where to point instead when the field is absent.
fn or(position: Position, fallback: Position) -> Position {
    if position.line > 0 {
        position
    } else {
        fallback
    }
}

fn compile_hint(code: &str) -> Option<String> {
    match code {
        "missing-as" => Some("add `as:` with the groups you want, e.g. \"${1}_${2}\"".into()),
        "resource-template" => Some("the usual template is `<<.Resource>>`, or `kube_<<.Group>>_<<.Resource>>`".into()),
        "unknown-resource" => Some("overrides map a label to a resource such as {resource: \"pod\"} or {group: \"apps\", resource: \"deployment\"}".into()),
        "template" => Some("templates use << >> as delimiters; the fields are .Series, .LabelMatchers, .LabelValuesByName, .GroupBy and .GroupBySlice".into()),
        _ => None,
    }
}

/// Where an override names this group-resource first (templates name none).
fn override_position(config: &Config, group: &str, resource: &str) -> (Position, String) {
    let sections = [
        ("rules", &config.rules),
        ("externalRules", &config.external_rules),
    ];
    for (section, rules) in sections {
        for (i, rule) in rules.iter().enumerate() {
            for (label, target) in &rule.resources.overrides {
                if target.group.value == group
                    && target.resource.value.eq_ignore_ascii_case(resource)
                {
                    return (
                        target.resource.position,
                        format!("{section}[{i}].resources.overrides.{label}"),
                    );
                }
            }
        }
    }
    (Position::default(), String::new())
}

/// Two rules with the same discovery and naming produce the same keys.
fn rule_identity(rule: &DiscoveryRule) -> String {
    let text = |t: &Text| t.value.trim().to_string();
    let filters: Vec<String> = rule
        .series_filters
        .iter()
        .map(|f| {
            format!(
                "{:?}/{:?}",
                f.is.as_ref().map(text),
                f.is_not.as_ref().map(text)
            )
        })
        .collect();
    let overrides: Vec<String> = rule
        .resources
        .overrides
        .iter()
        .map(|(k, v)| format!("{k}={}/{}", v.group.value, v.resource.value))
        .collect();
    format!(
        "{}|{:?}|{}|{}|{}|{:?}",
        rule.series_query
            .value
            .split_whitespace()
            .collect::<String>(),
        filters,
        text(&rule.name.matches),
        text(&rule.name.as_),
        text(&rule.resources.template),
        overrides
    )
}

fn from_config_error(code: &'static str, e: &ConfigError, hint: Option<String>) -> Diagnostic {
    let hint = hint.or_else(|| {
        e.message
            .contains("unknown field")
            .then(|| "field names are case-sensitive: seriesQuery, seriesFilters, resources, name, metricsQuery (and is/isNot, matches/as, template/overrides/namespaced)".to_string())
    });
    Diagnostic {
        severity: Severity::Error,
        code,
        line: e.position.line,
        column: e.position.column,
        field: e.field.clone(),
        message: e.message.clone(),
        hint,
    }
}

fn warning(
    code: &'static str,
    position: Position,
    field: String,
    message: String,
    hint: Option<String>,
) -> Diagnostic {
    Diagnostic {
        severity: Severity::Warning,
        code,
        line: position.line,
        column: position.column,
        field,
        message,
        hint,
    }
}

fn error(
    code: &'static str,
    position: Position,
    field: String,
    message: String,
    hint: Option<String>,
) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        ..warning(code, position, field, message, hint)
    }
}

/// The built-in resource table; resources of other groups are assumed to exist (they may be
/// CRDs) and reported as infos, while unknown core resources stay unknown (errors).
#[derive(Default)]
struct CheckMapper {
    builtin: std::sync::OnceLock<StaticMapper>,
    /// (group, resource) pairs assumed to exist.
    unknown: Mutex<Vec<(String, String)>>,
}

impl ResourceMapper for CheckMapper {
    fn resolve(&self, group: &str, resource: &str) -> Option<ResourceInfo> {
        let builtin = self.builtin.get_or_init(StaticMapper::builtin);
        if let Some(info) = builtin.resolve(group, resource) {
            return Some(info);
        }
        if group.is_empty() {
            return None;
        }
        let plural = resource.to_lowercase();
        if let Ok(mut unknown) = self.unknown.lock()
            && !unknown.iter().any(|(g, r)| g == group && *r == plural)
        {
            unknown.push((group.to_string(), plural.clone()));
        }
        Some(ResourceInfo {
            group_resource: GroupResource::new(group, &plural),
            version: "v1".into(),
            kind: resource.to_string(),
            singular: plural.trim_end_matches('s').to_string(),
            namespaced: true,
        })
    }
}

#[cfg(test)]
mod tests;
