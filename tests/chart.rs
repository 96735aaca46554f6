//! The helm chart, the plain manifests and the HPA examples, checked without helm or a
//! cluster: template syntax and functions, values keys and defaults against the reference
//! chart, the values schema, every flag they pass, and every rule they carry.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use prometheus_adapter::config::Config;
use prometheus_adapter::naming::{RuleSet, StaticMapper};
use serde_json::{Value, json};

const CHART: &str = "charts/prometheus-adapter";

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()))
}

fn files(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    out.sort();
    out
}

fn yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// YAML documents of a multi-document file.
fn documents(text: &str) -> Vec<Value> {
    text.split("\n---")
        .map(|d| d.trim_start_matches("---"))
        .filter(|d| {
            d.lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        })
        .map(yaml)
        .collect()
}

// === Templates ===

/// Functions of Go templates, sprig and helm that the chart may call.
const FUNCTIONS: &[&str] = &[
    "and",
    "or",
    "not",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "len",
    "index",
    "print",
    "printf",
    "println",
    "include",
    "tpl",
    "toYaml",
    "fromYaml",
    "required",
    "lookup",
    "default",
    "empty",
    "coalesce",
    "ternary",
    "quote",
    "squote",
    "trim",
    "trimSuffix",
    "trimPrefix",
    "trunc",
    "replace",
    "contains",
    "hasPrefix",
    "hasSuffix",
    "lower",
    "upper",
    "indent",
    "nindent",
    "b64enc",
    "b64dec",
    "sha256sum",
    "toString",
    "toJson",
    "dict",
    "list",
    "append",
    "merge",
    "mergeOverwrite",
    "deepCopy",
    "hasKey",
    "keys",
    "kindIs",
    "typeIs",
    "semverCompare",
    "int",
    "join",
    "split",
];

const KEYWORDS: &[&str] = &[
    "if", "else", "end", "range", "with", "define", "template", "block", "break", "continue",
    "true", "false", "nil",
];

/// The actions of a template (the text between `{{` and `}}`), honouring quoted strings.
fn actions(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(start) = text[i..].find("{{") {
        let mut j = i + start + 2;
        let mut quote: Option<u8> = None;
        loop {
            assert!(
                j < bytes.len(),
                "unclosed action starting at byte {}",
                i + start
            );
            match quote {
                Some(q) if bytes[j] == b'\\' && q == b'"' => j += 1,
                Some(q) if bytes[j] == q => quote = None,
                Some(_) => {}
                None if bytes[j] == b'"' || bytes[j] == b'`' => quote = Some(bytes[j]),
                None if bytes[j..].starts_with(b"}}") => break,
                None => {}
            }
            j += 1;
        }
        out.push(text[i + start + 2..j].trim_matches('-').trim().to_string());
        i = j + 2;
    }
    out
}

fn without_strings(action: &str) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in action.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q == '"' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                    out.push_str(" S ");
                }
            }
            None if c == '"' || c == '`' => quote = Some(c),
            None => out.push(c),
        }
    }
    out
}

/// Names in function position: the first word of each command.
fn functions_called(action: &str) -> Vec<String> {
    let code = without_strings(action)
        .replace('(', " ( ")
        .replace(')', " ) ")
        .replace('|', " | ");
    let mut out = Vec::new();
    let mut command_start = true;
    for word in code.split_whitespace() {
        match word {
            "|" | "(" | ":=" | "=" => command_start = true,
            // After `if`, `else`, `range`, `with` a command follows (`else if or …`).
            w if KEYWORDS.contains(&w) => command_start = w != "end",
            w => {
                if command_start
                    && w.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                    && w != "S"
                {
                    out.push(w.to_string());
                }
                command_start = false;
            }
        }
    }
    out
}

#[test]
fn function_positions_are_found() {
    let cases: &[(&str, &[&str])] = &[
        (r#"include "x" . | nindent 4"#, &["include", "nindent"]),
        (r#"if or .A (join "," .B)"#, &["or", "join"]),
        (r#"$x := merge (deepCopy .A) .B"#, &["merge", "deepCopy"]),
        (r#"else if not .A"#, &["not"]),
        (r#".Values.x | upper"#, &["upper"]),
        (r#"template "a" ."#, &[]),
    ];
    for (action, expect) in cases {
        assert_eq!(functions_called(action), *expect, "{action}");
    }
    assert!(
        !FUNCTIONS.contains(&"upperCase"),
        "a misspelled function is not accepted"
    );
}

#[test]
fn templates_are_valid_helm_templates() {
    let mut checked = 0;
    for path in files(&format!("{CHART}/templates"), "yaml")
        .into_iter()
        .chain(files(&format!("{CHART}/templates"), "tpl"))
        .chain(files(&format!("{CHART}/templates"), "txt"))
    {
        let text = read(&path);
        let mut depth: Vec<String> = Vec::new();
        for action in actions(&text) {
            if action.starts_with("/*") {
                assert!(
                    action.ends_with("*/"),
                    "{}: unterminated comment {action:?}",
                    path.display()
                );
                continue;
            }
            let first = action.split_whitespace().next().unwrap_or("");
            match first {
                "if" | "range" | "with" | "define" | "block" => depth.push(first.to_string()),
                "end" => {
                    assert!(
                        depth.pop().is_some(),
                        "{}: {{{{end}}}} without an opening action",
                        path.display()
                    );
                }
                "else" => assert!(
                    depth.last().is_some_and(|d| d != "define"),
                    "{}: {{{{else}}}} outside if/range/with",
                    path.display()
                ),
                _ => {}
            }
            for function in functions_called(&action) {
                assert!(
                    FUNCTIONS.contains(&function.as_str()),
                    "{}: unknown function {function:?} in {{{{ {action} }}}}",
                    path.display()
                );
            }
        }
        assert!(depth.is_empty(), "{}: unclosed {depth:?}", path.display());
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} templates found");
}

#[test]
fn includes_name_defined_helpers() {
    let helpers = read(format!("{CHART}/templates/_helpers.tpl"));
    let defined: BTreeSet<String> = actions(&helpers)
        .iter()
        .filter_map(|a| a.strip_prefix("define "))
        .map(|n| n.trim().trim_matches('"').to_string())
        .collect();
    for path in files(&format!("{CHART}/templates"), "yaml")
        .into_iter()
        .chain(files(&format!("{CHART}/templates"), "txt"))
        .chain([PathBuf::from(format!("{CHART}/templates/_helpers.tpl"))])
    {
        for action in actions(&read(&path)) {
            for part in action.split("include ").skip(1) {
                let Some(name) = part
                    .trim_start()
                    .strip_prefix('"')
                    .and_then(|p| p.split('"').next())
                else {
                    continue;
                };
                assert!(
                    defined.contains(name),
                    "{}: include {name:?} is not defined",
                    path.display()
                );
            }
        }
    }
}

// === values.yaml ===

fn values() -> Value {
    yaml(&read(format!("{CHART}/values.yaml")))
}

fn at<'a>(value: &'a Value, path: &str) -> &'a Value {
    path.split('.')
        .fold(value, |v, key| v.get(key).unwrap_or(&Value::Null))
}

#[test]
fn values_have_every_reference_key_and_default() {
    let values = values();
    // Reference §9.1 (chart 5.3.0), key → default.
    let cases: &[(&str, Value)] = &[
        ("image.tag", json!("")),
        ("image.pullPolicy", json!("IfNotPresent")),
        ("image.pullSecrets", json!([])),
        ("logLevel", json!(4)),
        ("metricsRelistInterval", json!("1m")),
        ("listenPort", json!(6443)),
        ("prometheus.url", json!("http://prometheus.default.svc")),
        ("prometheus.port", json!(9090)),
        ("prometheus.path", json!("")),
        ("replicas", json!(1)),
        ("rules.default", json!(true)),
        ("rules.custom", json!([])),
        ("rules.existing", Value::Null),
        ("rules.external", json!([])),
        ("rules.resource", Value::Null),
        ("tls.enable", json!(false)),
        ("certManager.enabled", json!(false)),
        ("certManager.caCertDuration", json!("43800h0m0s")),
        ("certManager.certDuration", json!("8760h0m0s")),
        ("rbac.create", json!(true)),
        ("rbac.useAuthReaderClusterRole", json!(false)),
        ("rbac.externalMetrics.resources", json!(["*"])),
        ("rbac.customMetrics.resources", json!(["*"])),
        ("serviceAccount.create", json!(true)),
        ("serviceAccount.annotations", json!({})),
        ("serviceAccount.automountServiceAccountToken", json!(true)),
        ("automountServiceAccountToken", json!(true)),
        ("service.port", json!(443)),
        ("service.type", json!("ClusterIP")),
        ("service.annotations", json!({})),
        ("service.ipDualStack.enabled", json!(false)),
        ("startupProbe", json!({})),
        ("podSecurityContext", json!({"fsGroup": 10001})),
        ("securityContext.allowPrivilegeEscalation", json!(false)),
        ("securityContext.capabilities", json!({"drop": ["ALL"]})),
        ("securityContext.readOnlyRootFilesystem", json!(true)),
        ("securityContext.runAsNonRoot", json!(true)),
        ("securityContext.runAsUser", json!(10001)),
        (
            "securityContext.seccompProfile",
            json!({"type": "RuntimeDefault"}),
        ),
        ("resources", json!({})),
        ("nodeSelector", json!({})),
        ("tolerations", json!([])),
        ("affinity", json!({})),
        ("topologySpreadConstraints", json!([])),
        ("priorityClassName", json!("")),
        ("dnsConfig", json!({})),
        ("hostNetwork.enabled", json!(false)),
        ("podLabels", json!({})),
        ("podAnnotations", json!({})),
        ("deploymentAnnotations", json!({})),
        ("customLabels", json!({})),
        ("customAnnotations", json!({})),
        ("env", json!([])),
        ("extraArguments", json!([])),
        ("extraContainers", json!([])),
        ("extraVolumes", json!([])),
        ("extraVolumeMounts", json!([])),
        (
            "strategy",
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}),
        ),
        ("podDisruptionBudget.enabled", json!(false)),
        ("podDisruptionBudget.minAvailable", Value::Null),
        ("podDisruptionBudget.maxUnavailable", json!(1)),
        ("revisionHistoryLimit", json!(10)),
        ("extraManifests", json!([])),
        ("nameOverride", json!("")),
        ("fullnameOverride", json!("")),
        ("namespaceOverride", json!("")),
    ];
    for (path, expect) in cases {
        assert_eq!(at(&values, path), expect, "values.yaml {path}");
    }
    // Differs on purpose (docs/migration.md): this project's image, and probes on /livez, /readyz.
    assert!(
        at(&values, "image.repository")
            .as_str()
            .unwrap()
            .ends_with("/prometheus-adapter")
    );
    assert_eq!(at(&values, "livenessProbe.httpGet.path"), "/livez");
    assert_eq!(at(&values, "readinessProbe.httpGet.path"), "/readyz");
    assert_eq!(at(&values, "readinessProbe.initialDelaySeconds"), 30);
}

/// A validator for the subset of JSON Schema the chart's schema uses.
fn validate(schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        if !types
            .iter()
            .any(|t| *t == actual || (*t == "number" && actual == "integer"))
        {
            errors.push(format!("{path}: {actual} is not {types:?}"));
            return;
        }
    }
    if let (Some(Value::Array(options)), false) = (schema.get("enum"), value.is_null())
        && !options.contains(value)
    {
        errors.push(format!("{path}: {value} is not one of {options:?}"));
    }
    if let (Some(min), Some(n)) = (
        schema.get("minimum").and_then(Value::as_f64),
        value.as_f64(),
    ) && n < min
    {
        errors.push(format!("{path}: {n} < {min}"));
    }
    if let (Some(Value::Object(properties)), Value::Object(object)) =
        (schema.get("properties"), value)
    {
        for (key, sub) in properties {
            if let Some(v) = object.get(key) {
                validate(sub, v, &format!("{path}.{key}"), errors);
            }
        }
    }
    if let (Some(items), Value::Array(array)) = (schema.get("items"), value) {
        for (i, item) in array.iter().enumerate() {
            validate(items, item, &format!("{path}[{i}]"), errors);
        }
    }
}

#[test]
fn the_schema_accepts_the_defaults_and_rejects_wrong_types() {
    let schema: Value = serde_json::from_str(&read(format!("{CHART}/values.schema.json"))).unwrap();
    let mut errors = Vec::new();
    validate(&schema, &values(), "values", &mut errors);
    assert!(errors.is_empty(), "{errors:#?}");
    // Every top-level key of values.yaml is described.
    for key in values().as_object().unwrap().keys() {
        assert!(
            schema["properties"].get(key).is_some(),
            "values.schema.json does not describe {key}"
        );
    }
    let bad = json!({"listenPort": "6443", "rules": {"default": "yes"}, "image": {"pullPolicy": "Sometimes"}});
    let mut errors = Vec::new();
    validate(&schema, &bad, "values", &mut errors);
    assert_eq!(errors.len(), 3, "{errors:#?}");
}

// === The rules the chart and the manifests carry ===

fn compile(text: &str, what: &str) -> RuleSet {
    let config = Config::parse(Path::new(what), text).unwrap_or_else(|e| panic!("{e}"));
    RuleSet::compile(&config, Path::new(what), &StaticMapper::builtin())
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_chart_default_rules_are_the_config_gen_rules() {
    let configmap = read(format!("{CHART}/templates/configmap.yaml"));
    let block = configmap
        .split('`')
        .nth(1)
        .expect("the default rules block");
    let chart_rules = yaml(&format!("rules:{block}"));
    let generated = yaml(&read("config/default.yaml"));
    assert_eq!(chart_rules["rules"], generated["rules"]);
    assert_eq!(
        compile(&format!("rules:{block}"), "configmap.yaml")
            .custom
            .len(),
        6
    );
}

#[test]
fn manifests_parse_as_kubernetes_objects() {
    let mut kinds = BTreeSet::new();
    for path in files("deploy/manifests", "yaml") {
        for doc in documents(&read(&path)) {
            let kind = doc["kind"]
                .as_str()
                .unwrap_or_else(|| panic!("{}: no kind", path.display()));
            assert!(
                doc["apiVersion"].as_str().is_some_and(|v| !v.is_empty()),
                "{}: no apiVersion",
                path.display()
            );
            assert!(
                doc["metadata"]["name"]
                    .as_str()
                    .is_some_and(|v| !v.is_empty()),
                "{}: no metadata.name",
                path.display()
            );
            kinds.insert(kind.to_string());
            if kind == "ConfigMap" {
                let rules = compile(
                    doc["data"]["config.yaml"].as_str().unwrap(),
                    "config-map.yaml",
                );
                assert!(
                    rules.resource.is_some(),
                    "the manifests serve resource metrics"
                );
            }
        }
    }
    let expect = [
        "APIService",
        "ClusterRole",
        "ClusterRoleBinding",
        "ConfigMap",
        "Deployment",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "RoleBinding",
        "Service",
        "ServiceAccount",
    ];
    assert_eq!(kinds.into_iter().collect::<Vec<_>>(), expect);
}

#[test]
fn hpa_examples_parse_and_their_rules_compile() {
    let mut seen = BTreeSet::new();
    let mut rules_checked = 0;
    for path in files("examples/hpa", "yaml") {
        let text = read(&path);
        let hpa = yaml(&text);
        assert_eq!(hpa["apiVersion"], "autoscaling/v2", "{}", path.display());
        assert_eq!(hpa["kind"], "HorizontalPodAutoscaler");
        for metric in hpa["spec"]["metrics"].as_array().unwrap() {
            seen.insert(metric["type"].as_str().unwrap().to_string());
        }
        // The rule in the leading comment, between "Rule (…)" and "Check:".
        let comment: Vec<&str> = text
            .lines()
            .take_while(|l| l.starts_with('#'))
            .map(|l| l.trim_start_matches('#').strip_prefix(' ').unwrap_or(""))
            .collect();
        let section = if comment[0].contains("rules.external") {
            "externalRules"
        } else {
            "rules"
        };
        let rule: Vec<&str> = comment
            .iter()
            .skip(1)
            .take_while(|l| !l.starts_with("Check:"))
            .filter(|l| l.starts_with('-') || l.starts_with(' '))
            .copied()
            .collect();
        // resource.yaml points at config files instead of carrying a rule.
        if path.ends_with("resource.yaml") {
            continue;
        }
        assert!(
            !rule.is_empty(),
            "{}: no rule found in the leading comment",
            path.display()
        );
        rules_checked += 1;
        {
            let text = format!("{section}:\n{}\n", rule.join("\n"));
            let lints = prometheus_adapter::check::check_text(&path, &text);
            assert!(lints.is_empty(), "{}: {lints:#?}", path.display());
            let rules = compile(&text, &path.display().to_string());
            assert_eq!(
                rules.custom.len() + rules.external.len(),
                1,
                "{}",
                path.display()
            );
        }
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        ["External", "Object", "Pods", "Resource"]
    );
    assert_eq!(
        rules_checked, 5,
        "every example but resource.yaml carries its rule"
    );
}

// === Flags ===

/// `- --flag=value` arguments of a deployment, templates replaced by sample values.
fn container_args(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("- --"))
        .map(|arg| {
            let (name, value) = arg.split_once('=').unwrap_or((arg, ""));
            let value = if value.contains("{{") {
                match name {
                    "secure-port" => "6443",
                    "metrics-relist-interval" => "1m",
                    "v" => "4",
                    "prometheus-url" => "http://prometheus.default.svc:9090",
                    _ => "/var/run/x",
                }
            } else {
                value
            };
            format!("--{name}={value}")
        })
        .collect()
}

#[track_caller]
fn assert_binary_accepts(args: &[String], source: &str) {
    assert!(args.len() >= 4, "{source}: too few flags found: {args:?}");
    let mut args: Vec<String> = args
        .iter()
        .filter(|a| !a.starts_with("--config="))
        .cloned()
        .collect();
    args.push("--config=/nonexistent/config.yaml".into());
    let out = Command::new(env!("CARGO_BIN_EXE_prometheus-adapter"))
        .arg("/adapter")
        .args(&args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Exit 2 is a flag error; 255 with the config error means every flag was accepted.
    assert_eq!(out.status.code(), Some(255), "{source}: {args:?}\n{stderr}");
    assert!(
        stderr.contains("unable to load metrics discovery config"),
        "{source}: {stderr}"
    );
}

#[test]
fn every_flag_the_chart_and_manifests_pass_is_accepted() {
    let chart = container_args(&read(format!("{CHART}/templates/deployment.yaml")));
    assert!(chart.iter().any(|a| a.starts_with("--tls-cert-file=")));
    assert_binary_accepts(&chart, "chart deployment.yaml");
    let manifests = container_args(&read("deploy/manifests/deployment.yaml"));
    assert!(
        manifests
            .iter()
            .any(|a| a.starts_with("--tls-cipher-suites="))
    );
    assert_binary_accepts(&manifests, "deploy/manifests/deployment.yaml");
    // The reference chart's older versions also passed --logtostderr=true.
    assert_binary_accepts(
        &[chart.clone(), vec!["--logtostderr=true".into()]].concat(),
        "reference chart 3.x",
    );
}
