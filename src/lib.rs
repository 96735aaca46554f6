//! A drop-in Rust replacement for kubernetes-sigs/prometheus-adapter.
#![forbid(unsafe_code)]

pub mod api;
pub mod check;
pub mod config;
pub mod discovery;
pub mod explain;
pub mod kube;
pub mod model;
pub mod naming;
pub mod prometheus;
pub mod reload;
pub mod server;
pub mod telemetry;
pub mod template;
