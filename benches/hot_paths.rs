//! Hot paths: template rendering, naming series, building PromQL, Quantity formatting,
//! registry building. Run: `cargo bench --bench hot_paths`.

use std::collections::HashMap;
use std::hint::black_box;
use std::path::Path;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use prometheus_adapter::api::quantity::{Format, Quantity};
use prometheus_adapter::config::{Config, generate_default};
use prometheus_adapter::discovery::Registry;
use prometheus_adapter::model::{GroupResource, LabelSelector};
use prometheus_adapter::naming::{Objects, QueryRequest, RuleSet, StaticMapper};
use prometheus_adapter::prometheus::Series;
use prometheus_adapter::template::{Template, Value};

fn rules() -> RuleSet {
    let text = generate_default("", "5m".parse().unwrap());
    let config = Config::parse(Path::new("default.yaml"), &text).unwrap();
    RuleSet::compile(&config, Path::new("default.yaml"), &StaticMapper::builtin()).unwrap()
}

/// N series shaped like cAdvisor and application metrics.
fn series(n: usize) -> Vec<Series> {
    let names = [
        "container_cpu_usage_seconds_total",
        "container_memory_working_set_bytes",
        "http_requests_total",
        "queue_length",
        "request_duration_seconds_total",
    ];
    (0..n)
        .map(|i| {
            let name = names[i % names.len()].to_string();
            let mut labels = vec![
                ("namespace".to_string(), format!("ns-{}", i % 50)),
                ("pod".to_string(), format!("pod-{}", i / names.len())),
                (
                    "instance".to_string(),
                    format!("10.0.{}.{}:9100", i % 7, i % 250),
                ),
                ("job".to_string(), "kubelet".to_string()),
            ];
            if name.starts_with("container_") {
                labels.push(("container".to_string(), format!("c{}", i % 3)));
            }
            labels.sort();
            Series {
                name,
                labels,
                count: 1,
            }
        })
        .collect()
}

fn bench_template(c: &mut Criterion) {
    let template = Template::parse(
        "metrics-query",
        "sum(rate(<<.Series>>{<<.LabelMatchers>>,container!=\"POD\"}[5m])) by (<<.GroupBy>>)",
    )
    .unwrap();
    let data = Value::Struct(
        "queryTemplateArgs",
        [
            ("Series", Value::str("container_cpu_usage_seconds_total")),
            (
                "LabelMatchers",
                Value::str(r#"namespace="shop",pod=~"web-1|web-2""#),
            ),
            (
                "LabelValuesByName",
                Value::string_map([("namespace", "shop"), ("pod", "web-1|web-2")]),
            ),
            ("GroupBy", Value::str("pod")),
            ("GroupBySlice", Value::string_list(["pod"])),
        ]
        .into_iter()
        .collect(),
    );
    c.bench_function("template/render default metricsQuery", |b| {
        b.iter(|| black_box(template.render(black_box(&data)).unwrap()))
    });
    let ranged = Template::parse("metrics-query", "sum(<<.Series>>{<<range $k, $v := .LabelValuesByName>><<$k>>=~\"<<$v>>\",<<end>>}) by (<<range $i, $g := .GroupBySlice>><<if $i>>,<<end>><<$g>><<end>>)").unwrap();
    c.bench_function("template/render range + if", |b| {
        b.iter(|| black_box(ranged.render(black_box(&data)).unwrap()))
    });
    c.bench_function("template/parse default metricsQuery", |b| {
        b.iter(|| black_box(Template::parse("metrics-query", black_box("sum(rate(<<.Series>>{<<.LabelMatchers>>,container!=\"POD\"}[5m])) by (<<.GroupBy>>)")).unwrap()))
    });
}

fn bench_naming(c: &mut Criterion) {
    let rules = rules();
    let input = series(1_000_000);
    let mut group = c.benchmark_group("naming");
    group.sample_size(10);
    group.throughput(Throughput::Elements(input.len() as u64));
    group.bench_function("filter + name 1M series through the 6 default rules", |b| {
        b.iter(|| {
            let mut named = 0usize;
            for rule in &rules.custom {
                for s in &input {
                    if rule.keeps_series(&s.name) && rule.metric_name_for(&s.name).is_some() {
                        named += 1;
                    }
                }
            }
            black_box(named)
        })
    });
    let mapper = StaticMapper::builtin();
    let mut by_query: HashMap<String, Vec<Series>> = HashMap::new();
    for rule in &rules.custom {
        by_query
            .entry(rule.series_query.clone())
            .or_insert_with(|| input.clone());
    }
    group.bench_function("registry build from 1M series", |b| {
        b.iter_batched(
            Registry::default,
            |mut registry| {
                registry.build_custom(&rules.custom, &by_query, &mapper, false);
                black_box(registry.custom_keys().len())
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();

    let names: Vec<String> = (0..50).map(|i| format!("web-{i}")).collect();
    let selector = LabelSelector::parse("device=sda").unwrap();
    let pods = GroupResource::core("pods");
    let request = QueryRequest {
        group_resource: &pods,
        namespace: Some("shop"),
        objects: Objects::Named(&names),
        metric_selector: &selector,
        extra_group_by: &[],
    };
    c.bench_function("naming/build query for 50 pods", |b| {
        b.iter(|| {
            black_box(
                rules.custom[4]
                    .build_query("http_requests_total", black_box(&request), &mapper)
                    .unwrap(),
            )
        })
    });
}

fn bench_quantity(c: &mut Criterion) {
    let values: Vec<f64> = (0..1000).map(|i| i as f64 * 1.37 + 0.016).collect();
    let mut group = c.benchmark_group("quantity");
    group.throughput(Throughput::Elements(values.len() as u64));
    group.bench_function("format 1000 DecimalSI", |b| {
        b.iter(|| {
            for v in &values {
                black_box(
                    Quantity::from_f64(*v, Format::DecimalSI)
                        .unwrap()
                        .to_string(),
                );
            }
        })
    });
    group.bench_function("format 1000 BinarySI", |b| {
        b.iter(|| {
            for v in &values {
                black_box(
                    Quantity::from_f64(*v * 1024.0, Format::BinarySI)
                        .unwrap()
                        .to_string(),
                );
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench_template, bench_naming, bench_quantity);
criterion_main!(benches);
