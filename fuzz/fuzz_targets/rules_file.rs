//! Any rules file: parsing, compiling and `check` return errors, never panic.
#![no_main]
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use prometheus_adapter::config::Config;
use prometheus_adapter::naming::{RuleSet, StaticMapper};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.yaml");
    if let Ok(config) = Config::parse(path, text) {
        let _ = RuleSet::compile(&config, path, &StaticMapper::builtin());
    }
    let _ = prometheus_adapter::check::check_text(path, text);
});
