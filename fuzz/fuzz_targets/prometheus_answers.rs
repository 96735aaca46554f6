//! Any bytes as a Prometheus answer: query and series decoders return results or errors.
#![no_main]
use libfuzzer_sys::fuzz_target;
use prometheus_adapter::prometheus::{SeriesDetail, decode_query, decode_series};

fuzz_target!(|data: &[u8]| {
    let _ = decode_query(data);
    let full = decode_series(data, SeriesDetail::Full);
    let shapes = decode_series(data, SeriesDetail::Shapes);
    // Folding into shapes loses values, never series.
    if let (Ok(full), Ok(shapes)) = (full, shapes) {
        assert_eq!(full.len(), shapes.iter().map(|s| s.count).sum::<usize>());
    }
});
