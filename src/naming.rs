//! Compiled rules: series filters, the metric namer, label ↔ resource conversion and the
//! PromQL builder (reference §2.3–§2.5, §3.2–§3.4).
//!
//! Invariants:
//! - `RuleSet::compile` is the only place rules are checked; a compiled rule never fails on
//!   regex or template syntax again.
//! - `PromQl` can only be built here, so every value from a request is escaped in one place:
//!   values are Go-quoted, and inside `=~` matchers each value is regex-escaped first.
//! - No I/O: the Kubernetes API is reached through the `ResourceMapper` trait.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use regex::Regex;

use crate::config::{Config, ConfigError, DiscoveryRule, Position, ResourceMapping, Text};
use crate::model::{GroupResource, LabelSelector, Operator, Requirement};
use crate::template::{self, Template, Value};

mod mapper;
pub use mapper::{ResourceInfo, ResourceMapper, StaticMapper};

// === RuleSet ===

/// Every rule of a rules file, checked and ready.
#[derive(Debug)]
pub struct RuleSet {
    pub custom: Vec<Arc<CompiledRule>>,
    pub external: Vec<Arc<CompiledRule>>,
    pub resource: Option<ResourceQueries>,
}

/// `resourceRules`, compiled; served by the metrics.k8s.io API.
#[derive(Debug)]
pub struct ResourceQueries {
    pub cpu: ResourceQuery,
    pub memory: ResourceQuery,
    pub window: crate::model::PromDuration,
    /// Whether pod / node queries can be built at all (`resourceRules: {}` cannot; the API is
    /// then served with no metrics, §10.10). Decided once, at compile time.
    pub serves_pods: bool,
    pub serves_nodes: bool,
}

impl ResourceQueries {
    fn new(
        cpu: ResourceQuery,
        memory: ResourceQuery,
        window: crate::model::PromDuration,
        mapper: &dyn ResourceMapper,
    ) -> Self {
        let builds = |what: &str, build: &dyn Fn(&ResourceQuery) -> Result<PromQl, QueryError>| {
            let built = [&cpu, &memory]
                .iter()
                .try_for_each(|q| q.labels(mapper).and(build(q)).map(|_| ()));
            if let Err(e) = &built {
                tracing::warn!(error = %e, "resourceRules cannot build {what} queries; serving no {what} metrics");
            }
            built.is_ok()
        };
        let serves_pods = builds("pod", &|q| q.pod_query(Objects::Any, Objects::Any, mapper));
        let serves_nodes = builds("node", &|q| q.node_query(Objects::Any, mapper));
        ResourceQueries {
            cpu,
            memory,
            window,
            serves_pods,
            serves_nodes,
        }
    }
}

#[derive(Debug)]
pub struct ResourceQuery {
    pub container_query: Template,
    pub node_query: Template,
    pub converter: ResourceConverter,
    pub container_label: String,
}

impl RuleSet {
    pub fn compile(
        config: &Config,
        file: &Path,
        mapper: &dyn ResourceMapper,
    ) -> Result<RuleSet, ConfigError> {
        let error = |field: String, position: Position, message: String| ConfigError {
            file: file.to_path_buf(),
            position,
            field,
            message,
        };
        for (name, backend) in &config.backends {
            let field = format!("backends.{name}.url");
            match url::Url::parse(backend.url.as_str()) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => {}
                Ok(url) => {
                    return Err(error(
                        field,
                        backend.url.position,
                        format!("unsupported scheme {:?}: want http or https", url.scheme()),
                    ));
                }
                Err(e) => {
                    return Err(error(
                        field,
                        backend.url.position,
                        format!("invalid URL {:?}: {e}", backend.url.value),
                    ));
                }
            }
        }
        let check_backend = |rule: &DiscoveryRule, id: &str| -> Result<(), ConfigError> {
            match &rule.backend {
                Some(name) if !config.backends.contains_key(name.as_str()) => Err(error(
                    format!("{id}.backend"),
                    name.position,
                    format!(
                        "unknown backend {:?}; the backends section names: {:?}",
                        name.value,
                        config.backends.keys().collect::<Vec<_>>()
                    ),
                )),
                _ => Ok(()),
            }
        };
        let mut custom = Vec::new();
        for (i, rule) in config.rules.iter().enumerate() {
            check_backend(rule, &format!("rules[{i}]"))?;
            custom.push(Arc::new(
                CompiledRule::compile(rule, &format!("rules[{i}]"), mapper)
                    .map_err(|e| error(e.field, e.position, e.message))?,
            ));
        }
        let mut external = Vec::new();
        for (i, rule) in config.external_rules.iter().enumerate() {
            check_backend(rule, &format!("externalRules[{i}]"))?;
            external.push(Arc::new(
                CompiledRule::compile(rule, &format!("externalRules[{i}]"), mapper)
                    .map_err(|e| error(e.field, e.position, e.message))?,
            ));
        }
        let resource = match &config.resource_rules {
            None => None,
            Some(rules) => {
                let compile = |name: &str,
                               rule: &crate::config::ResourceRule|
                 -> Result<ResourceQuery, ConfigError> {
                    let field = format!("resourceRules.{name}");
                    let template = |text: &Text, key: &str| {
                        Template::parse("metrics-query", text.as_str()).map_err(|e| {
                            error(
                                format!("{field}.{key}"),
                                text.position,
                                format!("unable to parse metrics query template: {e}"),
                            )
                        })
                    };
                    Ok(ResourceQuery {
                        container_query: template(&rule.container_query, "containerQuery")?,
                        node_query: template(&rule.node_query, "nodeQuery")?,
                        converter: ResourceConverter::compile(
                            &rule.resources,
                            &format!("{field}.resources"),
                            mapper,
                        )
                        .map_err(|e| error(e.field, e.position, e.message))?,
                        container_label: rule.container_label.value.clone(),
                    })
                };
                Some(ResourceQueries::new(
                    compile("cpu", &rules.cpu)?,
                    compile("memory", &rules.memory)?,
                    rules.window,
                    mapper,
                ))
            }
        };
        Ok(RuleSet {
            custom,
            external,
            resource,
        })
    }
}

/// A compile failure before it is tied to a file.
#[derive(Debug)]
pub struct CompileError {
    pub field: String,
    pub position: Position,
    pub message: String,
}

// === CompiledRule ===

/// One `rules` / `externalRules` entry, checked.
#[derive(Debug)]
pub struct CompiledRule {
    /// `rules[3]` or `externalRules[0]`: how logs and `explain` name the rule.
    pub id: String,
    pub series_query: String,
    filters: Vec<SeriesFilter>,
    name_regex: Regex,
    name_as: String,
    pub converter: ResourceConverter,
    metrics_query: Template,
    /// Only meaningful for external rules (§2.5).
    pub namespaced: bool,
    /// The named backend this rule's series and queries go to; `None`: the default server.
    pub backend: Option<String>,
}

#[derive(Debug)]
struct SeriesFilter {
    regex: Regex,
    keep_on_match: bool,
}

impl CompiledRule {
    pub fn compile(
        rule: &DiscoveryRule,
        id: &str,
        mapper: &dyn ResourceMapper,
    ) -> Result<CompiledRule, CompileError> {
        let mut filters = Vec::new();
        for (j, filter) in rule.series_filters.iter().enumerate() {
            let (text, keep_on_match) = match (&filter.is, &filter.is_not) {
                (Some(is), None) => (is, true),
                (None, Some(is_not)) => (is_not, false),
                // config::Config::validate rejects both and neither.
                _ => continue,
            };
            let regex = Regex::new(text.as_str()).map_err(|e| CompileError {
                field: format!("{id}.seriesFilters[{j}]"),
                position: text.position,
                message: format!(
                    "unable to generate series name filter associated with series query {:?}: unable to compile series filter {:?}: {e}",
                    rule.series_query.value, text.value
                ),
            })?;
            filters.push(SeriesFilter {
                regex,
                keep_on_match,
            });
        }
        let matches = if rule.name.matches.is_empty() {
            ".*"
        } else {
            rule.name.matches.as_str()
        };
        let name_regex = Regex::new(matches).map_err(|e| CompileError {
            field: format!("{id}.name.matches"),
            position: rule.name.matches.position,
            message: format!("unable to generate series name filter from name rules: {e}"),
        })?;
        if !rule.name.matches.is_empty() {
            filters.push(SeriesFilter {
                regex: name_regex.clone(),
                keep_on_match: true,
            });
        }
        let groups = name_regex.captures_len() - 1;
        let name_as = match (rule.name.as_.as_str(), groups) {
            ("", 0) => "$0".to_string(),
            ("", 1) => "$1".to_string(),
            ("", _) => {
                return Err(CompileError {
                    field: format!("{id}.name.as"),
                    position: rule.name.matches.position,
                    message: format!(
                        "must specify an 'as' value for name matcher {:?} associated with series query {:?}",
                        rule.name.matches.value, rule.series_query.value
                    ),
                });
            }
            (as_, _) => as_.to_string(),
        };
        let converter =
            ResourceConverter::compile(&rule.resources, &format!("{id}.resources"), mapper)?;
        let metrics_query =
            Template::parse("metrics-query", rule.metrics_query.as_str()).map_err(|e| {
                CompileError {
                    field: format!("{id}.metricsQuery"),
                    position: rule.metrics_query.position,
                    message: format!("unable to parse metrics query template: {e}"),
                }
            })?;
        Ok(CompiledRule {
            id: id.to_string(),
            series_query: rule.series_query.value.clone(),
            filters,
            name_regex,
            name_as,
            converter,
            metrics_query,
            namespaced: rule.resources.namespaced,
            backend: rule.backend.as_ref().map(|b| b.value.clone()),
        })
    }

    /// What discovery fetches this rule's series under: the `seriesQuery`, per backend.
    pub fn series_key(&self) -> String {
        match &self.backend {
            None => self.series_query.clone(),
            Some(backend) => format!("{backend}\u{0}{}", self.series_query),
        }
    }

    /// Whether a series survives `seriesFilters` and the implicit `name.matches` filter (§2.4).
    pub fn keeps_series(&self, series_name: &str) -> bool {
        self.filters
            .iter()
            .all(|f| f.regex.is_match(series_name) == f.keep_on_match)
    }

    /// The first filter that drops a series, as written (`isNot "^x$"`): for `explain`.
    pub fn dropping_filter(&self, series_name: &str) -> Option<String> {
        let implicit =
            self.filters.len()
                - usize::from(self.filters.last().is_some_and(|f| {
                    f.keep_on_match && f.regex.as_str() == self.name_regex.as_str()
                }));
        self.filters
            .iter()
            .enumerate()
            .find(|(_, f)| f.regex.is_match(series_name) != f.keep_on_match)
            .map(|(i, f)| {
                let kind = match (i >= implicit, f.keep_on_match) {
                    (true, _) => "name.matches",
                    (false, true) => "is",
                    (false, false) => "isNot",
                };
                format!("{kind} {:?}", f.regex.as_str())
            })
    }

    /// The API metric name of a series: the expansion of `as` over the first match (§2.3).
    pub fn metric_name_for(&self, series_name: &str) -> Option<String> {
        let captures = self.name_regex.captures(series_name)?;
        let mut out = String::new();
        captures.expand(&self.name_as, &mut out);
        Some(out)
    }

    pub fn metrics_query(&self) -> &Template {
        &self.metrics_query
    }

    /// PromQL for a custom-metrics request (§3.2, §3.3).
    pub fn build_query(
        &self,
        series_name: &str,
        request: &QueryRequest<'_>,
        mapper: &dyn ResourceMapper,
    ) -> Result<PromQl, QueryError> {
        let mut matchers = Matchers::default();
        matchers.add_selector(request.metric_selector)?;
        if let Some(namespace) = request.namespace {
            let label = self
                .converter
                .label_for_resource(&GroupResource::core("namespaces"), mapper)?;
            matchers.add_exact(&label, namespace);
        }
        let resource_label = self
            .converter
            .label_for_resource(request.group_resource, mapper)?;
        matchers.add_objects(&resource_label, request.objects);
        let mut group_by = vec![resource_label];
        group_by.extend(request.extra_group_by.iter().cloned());
        render(&self.metrics_query, series_name, matchers, group_by)
    }

    /// PromQL for an external-metrics request: selector matchers, then the namespace unless the
    /// rule says `namespaced: false`; no resource matcher and an empty GroupBy (§3.2).
    pub fn build_external(
        &self,
        series_name: &str,
        namespace: Option<&str>,
        selector: &LabelSelector,
        mapper: &dyn ResourceMapper,
    ) -> Result<PromQl, QueryError> {
        let mut matchers = Matchers::default();
        matchers.add_selector(selector)?;
        if let Some(namespace) = namespace.filter(|ns| self.namespaced && !ns.is_empty()) {
            let label = self
                .converter
                .label_for_resource(&GroupResource::core("namespaces"), mapper)?;
            matchers.add_exact(&label, namespace);
        }
        render(&self.metrics_query, series_name, matchers, vec![])
    }
}

fn render(
    template: &Template,
    series_name: &str,
    matchers: Matchers,
    group_by: Vec<String>,
) -> Result<PromQl, QueryError> {
    let data = Value::Struct(
        "queryTemplateArgs",
        [
            ("Series", Value::str(series_name)),
            ("LabelMatchers", Value::Str(matchers.joined)),
            (
                "LabelValuesByName",
                Value::Map(
                    matchers
                        .values_by_name
                        .into_iter()
                        .map(|(k, v)| (k, Value::Str(v)))
                        .collect(),
                ),
            ),
            ("GroupBy", Value::Str(group_by.join(","))),
            ("GroupBySlice", Value::string_list(group_by)),
        ]
        .into_iter()
        .collect(),
    );
    let query = template.render(&data)?;
    if query.is_empty() {
        return Err(QueryError::EmptyQuery);
    }
    Ok(PromQl(query))
}

/// What a custom-metrics request asks for, already normalised.
#[derive(Debug, Clone, Copy)]
pub struct QueryRequest<'a> {
    pub group_resource: &'a GroupResource,
    pub namespace: Option<&'a str>,
    pub objects: Objects<'a>,
    pub metric_selector: &'a LabelSelector,
    pub extra_group_by: &'a [String],
}

// === Resource metrics queries ===

/// Which objects a resource-metrics query covers.
#[derive(Debug, Clone, Copy)]
pub enum Objects<'a> {
    /// Exactly these names (`label="a"` or `label=~"a|b"`).
    Named(&'a [String]),
    /// Every object that has the label (`label!=""`): standalone mode, where no object list exists.
    Any,
}

impl ResourceQuery {
    /// The container query for pods (§3.2): namespace matcher(s), then the pod matcher;
    /// GroupBy `<pod>,<container>`, plus the namespace label when several namespaces are asked
    /// for at once (one query for `kubectl top pods -A` instead of one per namespace).
    pub fn pod_query(
        &self,
        namespaces: Objects<'_>,
        pods: Objects<'_>,
        mapper: &dyn ResourceMapper,
    ) -> Result<PromQl, QueryError> {
        let namespace_label = self
            .converter
            .label_for_resource(&GroupResource::core("namespaces"), mapper)?;
        let pod_label = self
            .converter
            .label_for_resource(&GroupResource::core("pods"), mapper)?;
        let mut matchers = Matchers::default();
        matchers.add_objects(&namespace_label, namespaces);
        matchers.add_objects(&pod_label, pods);
        let mut group_by = vec![pod_label, self.container_label.clone()];
        if !matches!(namespaces, Objects::Named([_])) {
            group_by.push(namespace_label);
        }
        render(&self.container_query, "", matchers, group_by)
    }

    /// The node query (§3.2): node matcher, GroupBy `<node>`.
    pub fn node_query(
        &self,
        nodes: Objects<'_>,
        mapper: &dyn ResourceMapper,
    ) -> Result<PromQl, QueryError> {
        let node_label = self
            .converter
            .label_for_resource(&GroupResource::core("nodes"), mapper)?;
        let mut matchers = Matchers::default();
        matchers.add_objects(&node_label, nodes);
        render(&self.node_query, "", matchers, vec![node_label])
    }

    /// The series labels that hold the namespace, pod and node names.
    pub fn labels(&self, mapper: &dyn ResourceMapper) -> Result<ResourceLabels, QueryError> {
        Ok(ResourceLabels {
            namespace: self
                .converter
                .label_for_resource(&GroupResource::core("namespaces"), mapper)?,
            pod: self
                .converter
                .label_for_resource(&GroupResource::core("pods"), mapper)?,
            node: self
                .converter
                .label_for_resource(&GroupResource::core("nodes"), mapper)?,
            container: self.container_label.clone(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceLabels {
    pub namespace: String,
    pub pod: String,
    pub node: String,
    pub container: String,
}

// === Matchers ===

/// PromQL label matchers in the reference's order: selector (sorted by key), namespace, resource.
#[derive(Default)]
struct Matchers {
    joined: String,
    values_by_name: BTreeMap<String, String>,
}

impl Matchers {
    fn push(&mut self, label: &str, op: &str, quoted: &str, raw_value: &str) {
        if !self.joined.is_empty() {
            self.joined.push(',');
        }
        self.joined.push_str(label);
        self.joined.push_str(op);
        self.joined.push_str(quoted);
        // Templates splice these inside "…": keep them inside the string literal.
        let mut escaped = String::with_capacity(raw_value.len());
        template::go_quote_into(raw_value, &mut escaped);
        self.values_by_name.insert(label.to_string(), escaped);
    }

    fn add_exact(&mut self, label: &str, value: &str) {
        self.push(label, "=", &template::go_quote(value), value);
    }

    fn add_objects(&mut self, label: &str, objects: Objects<'_>) {
        match objects {
            Objects::Named(names) => self.add_names(label, names),
            Objects::Any => self.push(label, "!=", "\"\"", ""),
        }
    }

    fn add_names(&mut self, label: &str, names: &[String]) {
        match names {
            [single] => self.add_exact(label, single),
            _ => self.push(
                label,
                "=~",
                &template::go_quote(&regex_alternation(names)),
                &names.join("|"),
            ),
        }
    }

    fn add_selector(&mut self, selector: &LabelSelector) -> Result<(), QueryError> {
        for requirement in selector.requirements() {
            self.add_requirement(requirement)?;
        }
        Ok(())
    }

    fn add_requirement(&mut self, r: &Requirement) -> Result<(), QueryError> {
        let raw = r.values.join("|");
        match r.operator {
            Operator::Equals | Operator::DoubleEquals => {
                self.push(&r.key, "=", &template::go_quote(&raw), &raw)
            }
            Operator::NotEquals => self.push(&r.key, "!=", &template::go_quote(&raw), &raw),
            Operator::In => self.push(
                &r.key,
                "=~",
                &template::go_quote(&regex_alternation(&r.values)),
                &raw,
            ),
            Operator::NotIn => self.push(
                &r.key,
                "!~",
                &template::go_quote(&regex_alternation(&r.values)),
                &raw,
            ),
            Operator::Exists => self.push(&r.key, "!=", "\"\"", ""),
            Operator::DoesNotExist => self.push(&r.key, "=", "\"\"", ""),
            Operator::GreaterThan | Operator::LessThan => {
                return Err(QueryError::UnsupportedOperator(r.to_string()));
            }
        }
        Ok(())
    }
}

/// `a|b|c` with each value regex-escaped, so a name with `.` matches only itself (a deliberate
/// difference from the reference, which joins names unescaped).
fn regex_alternation(values: &[String]) -> String {
    let mut out = String::new();
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.push('|');
        }
        out.push_str(&regex::escape(value));
    }
    out
}

// === PromQl ===

/// A rendered PromQL query. Only `naming` builds one, so escaping lives in one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromQl(String);

impl PromQl {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PromQl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a query could not be built for a request (reference §2.7: "request" rows).
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("no generic resource label form specified for this metric")]
    NoLabelForResource,
    #[error("empty label produced by label template")]
    EmptyLabel,
    #[error("unable to render label template: {0}")]
    LabelTemplate(#[source] template::RenderError),
    #[error("operator not supported by prometheus: {0}")]
    UnsupportedOperator(String),
    #[error("unable to render metrics query: {0}")]
    Template(#[from] template::RenderError),
    #[error("empty query produced by metrics query template")]
    EmptyQuery,
}

// === ResourceConverter ===

/// Label ↔ group-resource association of one rule (§2.5): overrides first, then the template.
#[derive(Debug)]
pub struct ResourceConverter {
    overrides: Vec<(String, GroupResource)>,
    label_regex: Option<Regex>,
    label_template: Option<Template>,
}

impl ResourceConverter {
    pub fn compile(
        mapping: &ResourceMapping,
        field: &str,
        mapper: &dyn ResourceMapper,
    ) -> Result<ResourceConverter, CompileError> {
        let mut overrides = Vec::new();
        for (label, target) in &mapping.overrides {
            let info = mapper.resolve(target.group.as_str(), target.resource.as_str()).ok_or_else(|| CompileError {
                field: format!("{field}.overrides.{label}"),
                position: target.resource.position,
                message: format!(
                    "unable to construct naming scheme from metrics rules: unable to normalize group-resource {{{} {}}}: no matches for {}",
                    target.group.value,
                    target.resource.value,
                    GroupResource::new(target.group.value.clone(), target.resource.value.clone())
                ),
            })?;
            overrides.push((label.clone(), info.group_resource));
        }
        let (label_regex, label_template) = if mapping.template.is_empty() {
            (None, None)
        } else {
            let text = &mapping.template;
            let fail = |message: String| CompileError {
                field: format!("{field}.template"),
                position: text.position,
                message: format!(
                    "unable to generate label format from template {:?}: {message}",
                    text.value
                ),
            };
            let template = Template::parse("resource-label", text.as_str())
                .map_err(|e| fail(e.to_string()))?;
            let pattern = template
                .render(&resource_template_args(
                    "(?P<group>.+?)",
                    "(?P<resource>.+?)",
                ))
                .map_err(|e| fail(e.to_string()))?;
            if pattern.is_empty() {
                return Err(fail(
                    "unable to convert label template to matcher: empty template".into(),
                ));
            }
            if !template.mentions_field("Resource") {
                return Err(fail(
                    "must include at least `{{.Resource}}` in the label template".into(),
                ));
            }
            let regex = Regex::new(&format!("^{pattern}$")).map_err(|e| fail(e.to_string()))?;
            (Some(regex), Some(template))
        };
        Ok(ResourceConverter {
            overrides,
            label_regex,
            label_template,
        })
    }

    /// A resource this converter can name a label for: pods through the template, else the
    /// first override (used to try a rule's query without a request, by `check`).
    pub fn sample_resource(&self) -> GroupResource {
        match (&self.label_template, self.overrides.first()) {
            (None, Some((_, gr))) => gr.clone(),
            _ => GroupResource::core("pods"),
        }
    }

    /// The resource a series label names, if any (discovery direction).
    pub fn resource_for_label(
        &self,
        label: &str,
        mapper: &dyn ResourceMapper,
    ) -> Option<GroupResource> {
        if let Some((_, gr)) = self.overrides.iter().find(|(l, _)| l == label) {
            return Some(gr.clone());
        }
        let captures = self.label_regex.as_ref()?.captures(label)?;
        let group = captures.name("group").map_or("", |m| m.as_str());
        let resource = captures.name("resource").map_or("", |m| m.as_str());
        mapper
            .resolve(group, resource)
            .map(|info| info.group_resource)
    }

    /// The series label that holds names of `resource` (query direction).
    pub fn label_for_resource(
        &self,
        resource: &GroupResource,
        mapper: &dyn ResourceMapper,
    ) -> Result<String, QueryError> {
        if let Some((label, _)) = self.overrides.iter().find(|(_, gr)| gr == resource) {
            return Ok(label.clone());
        }
        let template = self
            .label_template
            .as_ref()
            .ok_or(QueryError::NoLabelForResource)?;
        let singular = mapper
            .resolve(&resource.group, &resource.resource)
            .map(|info| info.singular)
            .unwrap_or_else(|| resource.resource.clone());
        let group = resource.group.replace(['.', '-'], "_");
        let label = template
            .render(&resource_template_args(&group, &singular))
            .map_err(QueryError::LabelTemplate)?;
        if label.is_empty() {
            return Err(QueryError::EmptyLabel);
        }
        Ok(label)
    }
}

fn resource_template_args(group: &str, resource: &str) -> Value {
    Value::Struct(
        "GroupResource",
        [
            ("Group", Value::str(group)),
            ("Resource", Value::str(resource)),
        ]
        .into_iter()
        .collect(),
    )
}

#[cfg(test)]
mod tests;
