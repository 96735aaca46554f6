//! The rules file as written: `rules`, `externalRules`, `resourceRules` (reference §2).
//!
//! Invariants:
//! - Parsing is strict like yaml.v2's `UnmarshalStrict`: unknown and duplicate keys are errors,
//!   YAML 1.1 booleans (`namespaced: no`) are accepted, `~` and empty values read as defaults.
//! - Every error names the file, line, column and field.
//! - Nothing here knows what a regex or template means; `naming` compiles those, using the
//!   positions kept here (`Spanned`) for its own errors.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};
use serde_saphyr::Spanned;

use crate::model::PromDuration;

// === Types ===

/// A position in the rules file, 1-based. `line == 0` means unknown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    pub line: u64,
    pub column: u64,
}

/// A string value with the position it was read from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Text {
    pub value: String,
    pub position: Position,
}

impl Text {
    pub fn as_str(&self) -> &str {
        &self.value
    }
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }
    #[doc(hidden)]
    pub fn for_test(value: &str) -> Self {
        Text {
            value: value.to_string(),
            position: Position::default(),
        }
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // yaml.v2 reads `~` and an empty value into a string field as "".
        let spanned = Option::<Spanned<Option<String>>>::deserialize(deserializer)?;
        Ok(match spanned {
            Some(s) => Text {
                value: s.value.unwrap_or_default(),
                position: Position {
                    line: s.referenced.line(),
                    column: s.referenced.column(),
                },
            },
            None => Text::default(),
        })
    }
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default, deserialize_with = "null_as_default")]
    pub rules: Vec<DiscoveryRule>,
    #[serde(
        default,
        rename = "externalRules",
        deserialize_with = "null_as_default"
    )]
    pub external_rules: Vec<DiscoveryRule>,
    /// `None` when absent or null: metrics.k8s.io is served only when this is `Some` (§2.2).
    #[serde(default, rename = "resourceRules")]
    pub resource_rules: Option<ResourceRules>,
    /// Named Prometheus-compatible servers that rules may pick with `backend:` (new; absent in
    /// upstream files, where every rule uses `--prometheus-url`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub backends: BTreeMap<String, BackendConfig>,
}

/// One named backend. Unset fields fall back to nothing (not to the `--prometheus-*` flags,
/// whose credentials belong to the default server); timeouts and size limits are the flags'.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendConfig {
    pub url: Text,
    #[serde(default, deserialize_with = "null_as_default")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, rename = "queryParams", deserialize_with = "null_as_default")]
    pub query_params: BTreeMap<String, String>,
    #[serde(default, rename = "tokenFile")]
    pub token_file: Option<String>,
    #[serde(default, rename = "caFile")]
    pub ca_file: Option<String>,
    #[serde(default, rename = "clientCertFile")]
    pub client_cert_file: Option<String>,
    #[serde(default, rename = "clientKeyFile")]
    pub client_key_file: Option<String>,
    #[serde(default, rename = "basicAuth")]
    pub basic_auth: Option<BasicAuthConfig>,
    /// GET (default) or POST.
    #[serde(default)]
    pub verb: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuthConfig {
    pub username: String,
    #[serde(rename = "passwordFile")]
    pub password_file: String,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoveryRule {
    #[serde(default, rename = "seriesQuery")]
    pub series_query: Text,
    #[serde(
        default,
        rename = "seriesFilters",
        deserialize_with = "null_as_default"
    )]
    pub series_filters: Vec<RegexFilter>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub resources: ResourceMapping,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: NameMapping,
    #[serde(default, rename = "metricsQuery")]
    pub metrics_query: Text,
    /// A name from `backends:`; absent: the `--prometheus-url` server (new).
    #[serde(default)]
    pub backend: Option<Text>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegexFilter {
    #[serde(default)]
    pub is: Option<Text>,
    #[serde(default, rename = "isNot")]
    pub is_not: Option<Text>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceMapping {
    #[serde(default)]
    pub template: Text,
    #[serde(default, deserialize_with = "null_as_default")]
    pub overrides: BTreeMap<String, OverrideTarget>,
    /// Only read for `externalRules` (§2.5).
    #[serde(default = "default_true", deserialize_with = "null_as_true")]
    pub namespaced: bool,
}

impl Default for ResourceMapping {
    fn default() -> Self {
        ResourceMapping {
            template: Text::default(),
            overrides: BTreeMap::new(),
            namespaced: true,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideTarget {
    #[serde(default)]
    pub group: Text,
    #[serde(default)]
    pub resource: Text,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameMapping {
    #[serde(default)]
    pub matches: Text,
    #[serde(default, rename = "as")]
    pub as_: Text,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceRules {
    #[serde(default, deserialize_with = "null_as_default")]
    pub cpu: ResourceRule,
    #[serde(default, deserialize_with = "null_as_default")]
    pub memory: ResourceRule,
    #[serde(default, deserialize_with = "duration_field")]
    pub window: PromDuration,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceRule {
    #[serde(default, rename = "containerQuery")]
    pub container_query: Text,
    #[serde(default, rename = "nodeQuery")]
    pub node_query: Text,
    #[serde(default, deserialize_with = "null_as_default")]
    pub resources: ResourceMapping,
    #[serde(default, rename = "containerLabel")]
    pub container_label: Text,
}

fn default_true() -> bool {
    true
}

fn null_as_default<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn null_as_true<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(true))
}

fn duration_field<'de, D: Deserializer<'de>>(d: D) -> Result<PromDuration, D::Error> {
    let text = Option::<String>::deserialize(d)?.unwrap_or_default();
    PromDuration::parse(&text).map_err(serde::de::Error::custom)
}

// === Errors ===

/// A rules-file error: where it is and what is wrong. Displays as `file:line:column: field: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub file: PathBuf,
    pub position: Position,
    /// The YAML path of the field (`rules[2].name.matches`); empty when the parser could not tell.
    pub field: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.position.line > 0 {
            write!(f, ":{}:{}", self.position.line, self.position.column)?;
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

// === Loading ===

impl Config {
    /// Reads and parses a rules file. An empty file (or only comments) is a valid, empty config.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            position: Position::default(),
            field: String::new(),
            message: format!("unable to read metrics discovery config: {e}"),
        })?;
        Config::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let only_comments = text.lines().all(|l| {
            let t = l.trim();
            t.is_empty() || t.starts_with('#') || t == "---" || t == "..."
        });
        if only_comments {
            return Ok(Config::default());
        }
        let options = serde_saphyr::options! { with_snippet: false };
        let config: Config = serde_saphyr::from_str_with_options(text, options).map_err(|e| {
            let position = e
                .location()
                .map(|l| Position {
                    line: l.line(),
                    column: l.column(),
                })
                .unwrap_or_default();
            let message = strip_location(&e.to_string());
            ConfigError {
                file: path.to_path_buf(),
                field: field_at(text, position),
                position,
                message,
            }
        })?;
        config.validate(path)?;
        Ok(config)
    }

    /// Structural checks that do not need regex or template knowledge (§2.3).
    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        for (section, rules) in [
            ("rules", &self.rules),
            ("externalRules", &self.external_rules),
        ] {
            for (i, rule) in rules.iter().enumerate() {
                for (j, filter) in rule.series_filters.iter().enumerate() {
                    let field = format!("{section}[{i}].seriesFilters[{j}]");
                    let error = |position, message: String| ConfigError {
                        file: path.to_path_buf(),
                        position,
                        field: field.clone(),
                        message,
                    };
                    match (&filter.is, &filter.is_not) {
                        (Some(is), Some(is_not)) => {
                            return Err(error(
                                is.position,
                                format!(
                                    "cannot have both an `is` ({:?}) and `isNot` ({:?}) expression in a single filter",
                                    is.value, is_not.value
                                ),
                            ));
                        }
                        (None, None) => {
                            return Err(error(
                                rule.series_query.position,
                                "must have either an `is` or `isNot` expression in a filter".into(),
                            ));
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    }
}

/// serde-saphyr appends ` at line L column C`; we print the position ourselves.
fn strip_location(message: &str) -> String {
    let message = message.lines().next().unwrap_or(message);
    let message = match message.find(" at line ") {
        Some(i) => &message[..i],
        None => message,
    };
    let message = match message.strip_prefix("line ") {
        Some(rest) => rest.split_once(": ").map_or(rest, |(_, m)| m),
        None => message,
    };
    // The library's hint about its own options means nothing to someone editing a rules file.
    let message = message
        .split(", set DuplicateKeyPolicy")
        .next()
        .unwrap_or(message);
    match message.strip_prefix("duplicate mapping key: ") {
        Some(key) => format!("field {key} already set (duplicate key)"),
        None => message.to_string(),
    }
}

/// Best-effort YAML path of the key on `position`'s line, by indentation (`rules[1].name.matches`).
fn field_at(text: &str, position: Position) -> String {
    if position.line == 0 {
        return String::new();
    }
    let lines: Vec<&str> = text.lines().collect();
    let Some(target) = (position.line as usize)
        .checked_sub(1)
        .filter(|&i| i < lines.len())
    else {
        return String::new();
    };
    // (indent, key, index of the current item when the key holds a sequence)
    let mut path: Vec<(usize, String, Option<usize>)> = Vec::new();
    for line in &lines[..=target] {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut indent = line.len() - trimmed.len();
        let mut content = trimmed;
        if let Some(rest) = content
            .strip_prefix("- ")
            .or_else(|| (content == "-").then_some(""))
        {
            while path.last().is_some_and(|(i, _, _)| *i > indent) {
                path.pop();
            }
            if let Some(last) = path.last_mut() {
                last.2 = Some(last.2.map_or(0, |n| n + 1));
            }
            indent += 2;
            content = rest;
        }
        let Some((key, _)) = content.split_once(':') else {
            continue;
        };
        let key = key.trim().trim_matches(['"', '\'']).to_string();
        path.retain(|(i, _, _)| *i < indent);
        path.push((indent, key, None));
    }
    path.iter()
        .map(|(_, k, n)| match n {
            Some(n) => format!("{k}[{n}]"),
            None => k.clone(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests;

// === The legacy default config (`config-gen`, reference §2.8) ===

const DEFAULT_CONFIG: &str = include_str!("../config/default.yaml");

/// The reference's `config-gen` output for a label prefix and rate interval, byte for byte:
/// the same values, re-folded at 80 columns the way its YAML encoder (yaml.v2) folds plain
/// scalars, so a different interval or prefix moves the line breaks exactly as upstream's do.
pub fn generate_default(label_prefix: &str, rate_interval: PromDuration) -> String {
    let unfolded = unfold(DEFAULT_CONFIG)
        .replace("[5m]", &format!("[{rate_interval}]"))
        .replace("window: 5m", &format!("window: {rate_interval}"))
        .replace(
            r#"'{namespace!="",__name__!~"^container_.*"}'"#,
            &format!(r#"'{{{label_prefix}namespace!="",__name__!~"^container_.*"}}'"#),
        )
        .replace(
            "template: <<.Resource>>",
            &format!("template: {label_prefix}<<.Resource>>"),
        )
        .replace(
            "containerLabel: container",
            &format!("containerLabel: {label_prefix}container"),
        );
    let mut out = String::with_capacity(unfolded.len() + 64);
    for line in unfolded.lines() {
        fold_plain(line, &mut out);
        out.push('\n');
    }
    out
}

/// Joins the continuation lines of folded scalars back onto their key's line.
fn unfold(text: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        let continuation = !trimmed.starts_with("- ")
            && !trimmed.contains(": ")
            && !trimmed.ends_with(':')
            && !lines.is_empty();
        match lines.last_mut() {
            Some(last) if continuation => {
                last.push(' ');
                last.push_str(trimmed);
            }
            _ => lines.push(line.to_string()),
        }
    }
    lines.join("\n")
}

/// libyaml's plain-scalar writer: at a single space, once the column has passed 80 and the
/// next character is not a space, break the line and indent two past the key.
fn fold_plain(line: &str, out: &mut String) {
    const BEST_WIDTH: usize = 80;
    let trimmed = line.trim_start();
    let mut indent = line.len() - trimmed.len();
    if trimmed.starts_with("- ") {
        indent += 2;
    }
    let Some((key, value)) = line.split_once(": ") else {
        out.push_str(line);
        return;
    };
    if value.starts_with(['\'', '"']) {
        out.push_str(line);
        return;
    }
    out.push_str(key);
    out.push_str(": ");
    let mut column = key.chars().count() + 2;
    let mut after_space = false;
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ' ' {
            if !after_space && column > BEST_WIDTH && chars.peek().is_some_and(|n| *n != ' ') {
                out.push('\n');
                out.extend(std::iter::repeat_n(' ', indent + 2));
                column = indent + 2;
            } else {
                out.push(c);
                column += 1;
            }
            after_space = true;
        } else {
            out.push(c);
            column += 1;
            after_space = false;
        }
    }
}
