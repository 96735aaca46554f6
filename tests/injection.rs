//! Injection safety against a real Prometheus: object names and selector values with quotes,
//! backslashes, newlines, `|`, `.*`, `}`, unicode and the rest become PromQL that Prometheus
//! parses and that matches exactly the objects asked for — never a neighbour, never more.
//! Names come from a fixed list of known-dangerous strings plus pseudo-random ones (a fixed
//! seed, so a failure reproduces), all exposed as real series.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, SystemTime};

use prometheus_adapter::config::Config;
use prometheus_adapter::model::{GroupResource, LabelSelector};
use prometheus_adapter::naming::{Objects, QueryRequest, RuleSet, StaticMapper};
use prometheus_adapter::prometheus::{Client, ClientOptions, QueryResult, Verb};
use support::*;

const ALPHABET: &[char] = &[
    'a', 'b', '.', '*', '|', '"', '\\', '\n', '}', '{', ',', '=', '~', '!', 'é', '😀', '\t', '$',
    '(', ')', '[', ']', '^', '?', '+', ' ', '\u{200b}', '\'', '`', '-', '/',
];

const FIXED: &[&str] = &[
    "a",
    "a.b",
    "axb",
    "a|b",
    ".*",
    ".+",
    "a\"b",
    "a\\b",
    "a\\\\b",
    "a\nb",
    "a}b",
    "}",
    "{",
    "a\",pod=~\".*",
    "a\"} or vector(1) #",
    "\\\"",
    "é",
    "ñandú",
    "😀",
    "a b",
    "\t",
    "$1",
    "a)",
    "(a",
    "[a-z]",
    "^a$",
    "a?",
    "a+",
    "\u{200b}",
    "'",
    "`",
];

/// xorshift64: deterministic names without a dependency.
fn random_names(count: usize) -> Vec<String> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..count)
        .map(|_| {
            let len = 1 + (next() % 8) as usize;
            (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect()
        })
        .collect()
}

/// Escapes a label value for the text exposition format.
fn exposition(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dangerous_names_and_selectors_match_exactly() {
    let mut names: BTreeSet<String> = FIXED.iter().map(|s| s.to_string()).collect();
    names.extend(random_names(60));
    let names: Vec<String> = names.into_iter().collect();
    let mut series: Vec<Exposed> = names
        .iter()
        .map(|n| {
            gauge(
                "tricky",
                leak(format!(r#"namespace="shop",pod="{}""#, exposition(n))),
                1.0,
            )
        })
        .collect();
    // A pod of the same name elsewhere must not leak in either.
    series.push(gauge("tricky", r#"namespace="other",pod="a""#, 1.0));
    for kind in ["a.b", "axb", "c-d", "c_d"] {
        series.push(gauge(
            "kinds",
            leak(format!(r#"namespace="shop",pod="p",kind="{kind}""#)),
            1.0,
        ));
    }
    let expected_series = series.len();
    let prometheus = tokio::task::spawn_blocking(move || {
        let exporter = start_exporter(series);
        let prometheus = Prometheus::start(&[exporter]);
        prometheus.wait_for_query(&format!(
            "count(tricky) + count(kinds) == {expected_series}"
        ));
        prometheus
    })
    .await
    .unwrap();

    let path = Path::new("rules.yaml");
    let config = Config::parse(
        path,
        "rules:\n- seriesQuery: '{__name__=~\"tricky|kinds\"}'\n  resources: {template: <<.Resource>>}\n  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)\n",
    )
    .unwrap();
    let mapper = StaticMapper::builtin();
    let rules = RuleSet::compile(&config, path, &mapper).unwrap();
    let rule = rules.custom[0].clone();
    let client = Client::new(&ClientOptions {
        url: prometheus.url().parse().unwrap(),
        verb: Verb::Get,
        headers: vec![],
        token_file: None,
        basic_auth: None,
        kube_auth: None,
        ca_file: None,
        client_cert_file: None,
        client_key_file: None,
        timeout: Duration::from_secs(10),
        max_response_bytes: 1 << 30,
        query_params: vec![],
    })
    .unwrap();
    let pods = GroupResource::core("pods");
    let everything = LabelSelector::everything();

    let ask = |wanted: Vec<String>,
               series: &'static str,
               selector: LabelSelector,
               label: &'static str| {
        let client = client.clone();
        let rule = rule.clone();
        let pods = pods.clone();
        let mapper = mapper.clone();
        // The resource label (pod) is grouped by already.
        let extra: Vec<String> = (label != "pod")
            .then(|| label.to_string())
            .into_iter()
            .collect();
        async move {
            let query = rule
                .build_query(
                    series,
                    &QueryRequest {
                        group_resource: &pods,
                        namespace: Some("shop"),
                        objects: Objects::Named(&wanted),
                        metric_selector: &selector,
                        extra_group_by: &extra,
                    },
                    &mapper,
                )
                .unwrap();
            let result = client
                .query(&query, SystemTime::now())
                .await
                .unwrap_or_else(|e| panic!("Prometheus refused {query}: {e}"));
            let QueryResult::Vector(samples) = result else {
                panic!("{query}: not a vector");
            };
            let got: BTreeSet<String> = samples
                .iter()
                .map(|s| s.labels.get(label).cloned().unwrap_or_default())
                .collect();
            (query, got)
        }
    };

    // Each name alone, then groups of up to five, then all of them at once.
    let mut cases: Vec<Vec<String>> = names.iter().map(|n| vec![n.clone()]).collect();
    for (i, chunk) in names.chunks(5).enumerate() {
        let mut group = chunk.to_vec();
        group.push(names[(i * 7) % names.len()].clone());
        group.sort();
        group.dedup();
        cases.push(group);
    }
    cases.push(names.clone());
    for wanted in &cases {
        let (query, got) = ask(wanted.clone(), "tricky", everything.clone(), "pod").await;
        let want: BTreeSet<String> = wanted.iter().cloned().collect();
        assert_eq!(got, want, "{query}");
    }

    // Selector values are restricted by Kubernetes' grammar, but `.` and `-` are allowed and
    // mean something in a regex: `kind in (a.b,c-d)` must not match `axb`.
    for (selector, want) in [
        ("kind=a.b", vec!["a.b"]),
        ("kind in (a.b,c-d)", vec!["a.b", "c-d"]),
        ("kind notin (a.b,c-d)", vec!["axb", "c_d"]),
        ("kind!=axb", vec!["a.b", "c-d", "c_d"]),
    ] {
        let (query, got) = ask(
            vec!["p".into()],
            "kinds",
            LabelSelector::parse(selector).unwrap(),
            "kind",
        )
        .await;
        let want: BTreeSet<String> = want.into_iter().map(str::to_string).collect();
        assert_eq!(got, want, "{selector}: {query}");
    }
    eprintln!("{} queries, {} names", cases.len() + 4, names.len());
}
