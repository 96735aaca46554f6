//! Hot reload of the rules file: on SIGHUP and when the file's content changes (a ConfigMap
//! update swaps a symlink, so content is compared, not inode or mtime).
//!
//! Invariants:
//! - `RulesHandle` always holds a rule set that compiled; a bad new file keeps the old one,
//!   is logged with its position, and counted in `prometheus_adapter_config_reloads_total`.
//! - The swap is one atomic pointer store. Requests in flight keep the rules they loaded, and
//!   registry entries carry the rule that made them, so no request sees half of a reload.
//! - Discovery loops are woken through `changed()` and relist with the new rules at once.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::watch;

use crate::config::{Config, ConfigError};
use crate::naming::{ResourceMapper, RuleSet};
use crate::prometheus::{Backends, BackendsHandle};
use crate::telemetry;

/// The current rule set and a generation counter that changes on every successful reload.
pub struct RulesHandle {
    current: ArcSwap<RuleSet>,
    generation: watch::Sender<u64>,
}

impl RulesHandle {
    pub fn new(rules: RuleSet) -> Self {
        RulesHandle {
            current: ArcSwap::from_pointee(rules),
            generation: watch::Sender::new(0),
        }
    }

    pub fn load(&self) -> Arc<RuleSet> {
        self.current.load_full()
    }

    pub fn store(&self, rules: RuleSet) {
        self.current.store(Arc::new(rules));
        self.generation.send_modify(|g| *g += 1);
    }

    /// A receiver whose `changed()` resolves after each reload.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }
}

/// Reads, parses and compiles the file, and builds its named backends; on success swaps both
/// in (backends first, so new rules never name a backend that is not there yet).
pub fn reload(
    handle: &RulesHandle,
    backends: &BackendsHandle,
    path: &Path,
    mapper: &dyn ResourceMapper,
) -> Result<(), ConfigError> {
    let result = Config::load(path).and_then(|config| {
        let rules = RuleSet::compile(&config, path, mapper)?;
        let default = backends.load().default_client().clone();
        let named =
            Backends::build(default, &config.backends).map_err(|(name, e)| ConfigError {
                file: path.to_path_buf(),
                position: config.backends[&name].url.position,
                field: format!("backends.{name}"),
                message: e.to_string(),
            })?;
        Ok((rules, named))
    });
    telemetry::metrics().reload_result(result.is_ok());
    let (rules, named) = result?;
    backends.store(Arc::new(named));
    tracing::info!(
        file = %path.display(),
        rules = rules.custom.len(),
        external_rules = rules.external.len(),
        resource_rules = rules.resource.is_some(),
        "rules reloaded"
    );
    handle.store(rules);
    Ok(())
}

/// Reloads on SIGHUP and whenever the file's bytes differ from the last ones read (polled
/// every `poll`; polling also sees ConfigMap symlink swaps, which inotify on the file misses).
pub fn spawn(
    handle: Arc<RulesHandle>,
    backends: Arc<BackendsHandle>,
    path: PathBuf,
    mapper: Arc<dyn ResourceMapper>,
    poll: Duration,
) {
    tokio::spawn(async move {
        let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        {
            Ok(signal) => Some(signal),
            Err(e) => {
                tracing::warn!(error = %e, "unable to listen for SIGHUP; reloading on file changes only");
                None
            }
        };
        let mut last = std::fs::read(&path).ok();
        let mut ticker = tokio::time::interval(poll.max(Duration::from_millis(100)));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let signalled = tokio::select! {
                _ = ticker.tick() => false,
                Some(()) = async { match hangup.as_mut() { Some(s) => s.recv().await, None => std::future::pending().await } } => true,
            };
            let now = std::fs::read(&path).ok();
            if !signalled && (now == last || now.is_none()) {
                // Unchanged, or gone for a moment (mid-swap): nothing to do yet.
                continue;
            }
            last = now;
            let why = if signalled { "SIGHUP" } else { "file changed" };
            tracing::info!(file = %path.display(), reason = why, "reloading rules");
            if let Err(e) = reload(&handle, &backends, &path, mapper.as_ref()) {
                tracing::error!(error = %e, "rules reload failed; keeping the previous rules");
            }
        }
    });
}
