//! Any Go template (and data shaped like the adapter's): parse and render never panic; a
//! template that parses renders to an answer or an error.
#![no_main]
use libfuzzer_sys::fuzz_target;
use prometheus_adapter::template::{Template, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(template) = Template::parse("fuzz", text) else {
        return;
    };
    let args = Value::Struct(
        "queryTemplateArgs",
        [
            ("Series", Value::str("http_requests_total")),
            (
                "LabelMatchers",
                Value::str(r#"namespace="shop",pod=~"a|b""#),
            ),
            (
                "LabelValuesByName",
                Value::string_map([("namespace", "shop"), ("pod", "a|b")]),
            ),
            ("GroupBy", Value::str("pod")),
            ("GroupBySlice", Value::string_list(["pod"])),
        ]
        .into_iter()
        .collect(),
    );
    let _ = template.render(&args);
});
