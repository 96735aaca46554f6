//! Any custom-metrics request path and query: parsing answers a request or an API error.
#![no_main]
use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use prometheus_adapter::api::CustomRequest;
use prometheus_adapter::model::GroupResource;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (path, query) = text.split_once('?').unwrap_or((text, ""));
    let params: HashMap<String, String> = query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let _ = CustomRequest::parse(path, &params);
    for segment in path.split('/') {
        let _ = GroupResource::parse_segment(segment);
    }
});
