//! Any f64: formatting as a Kubernetes quantity either refuses (NaN, ±Inf, beyond int64
//! milli-units) or gives canonical text whose value is the input truncated to 1/1000 (Go's
//! `int64(v*1000)`, which the reference uses), in both formats: the round-trip property.
#![no_main]
use libfuzzer_sys::fuzz_target;
use prometheus_adapter::api::quantity::{Format, Quantity};

/// Parses canonical quantity text back to a number (the test's own, independent parser).
fn value(text: &str) -> f64 {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let scale = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        other => panic!("{text:?}: unknown suffix {other:?}"),
    };
    let n: f64 = number.parse().unwrap_or_else(|e| panic!("{text:?}: {e}"));
    n * scale
}

fuzz_target!(|data: [u8; 8]| {
    let input = f64::from_le_bytes(data);
    for format in [Format::DecimalSI, Format::BinarySI] {
        let Some(quantity) = Quantity::from_f64(input, format) else {
            assert!(
                !(input * 1000.0).is_finite() || (input * 1000.0).abs() >= 9.2e18,
                "{input} refused"
            );
            continue;
        };
        let text = quantity.to_string();
        let got = value(&text);
        let want = quantity.milli() as f64 / 1000.0;
        assert_eq!(quantity.milli(), (input * 1000.0).trunc() as i64, "{input}");
        let tolerance = want.abs() * 1e-12 + 1e-9;
        assert!(
            (got - want).abs() <= tolerance,
            "{input} as {format:?} → {text:?} = {got}, want {want}"
        );
    }
});
