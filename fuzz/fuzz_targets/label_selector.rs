//! Any label selector: parsing never panics, and a parsed selector prints to text that parses
//! back to the same selector (the adapter echoes selectors in answers).
#![no_main]
use libfuzzer_sys::fuzz_target;
use prometheus_adapter::model::{LabelSelector, SeriesSelector};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = SeriesSelector::parse(text);
    let Ok(selector) = LabelSelector::parse(text) else {
        return;
    };
    let printed = selector.to_string();
    let again = LabelSelector::parse(&printed)
        .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which does not parse: {e}"));
    assert_eq!(again, selector, "{text:?} → {printed:?}");
    let _ = selector.matches(&|k| (k.len() % 2 == 0).then(|| k.to_string()));
});
