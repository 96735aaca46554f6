//! The offline subcommands: `config-gen` (the reference's legacy default rules), `check` (lints
//! of rules files) and `explain` (why a metric is or is not served, asked of a live Prometheus
//! and cluster).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{ArgAction, FromArgMatches, Parser};

use prometheus_adapter::api::resource::{ResourceObjects, ResourceSource};
use prometheus_adapter::api::{ApiState, Objects};
use prometheus_adapter::config::{self, Config};
use prometheus_adapter::discovery::RegistryHandle;
use prometheus_adapter::kube::{DiscoveryMapper, Kube, SharedDiscoveryMapper};
use prometheus_adapter::model::{PromDuration, parse_go_duration};
use prometheus_adapter::naming::{ResourceMapper, RuleSet, StaticMapper};
use prometheus_adapter::prometheus;
use prometheus_adapter::reload::RulesHandle;

use crate::flags::{Cli, command};
use crate::{build_prometheus_client, init_logging_with, named_backends};

pub fn config_gen(args: &[String]) -> i32 {
    #[derive(Parser)]
    #[command(
        name = "config-gen",
        about = "Print the reference's legacy default rules file"
    )]
    struct ConfigGen {
        /// Prefix expected on resource labels.
        #[arg(long, default_value = "")]
        label_prefix: String,
        /// Rate interval used in the rules.
        #[arg(long, default_value = "5m")]
        rate_interval: String,
    }
    let parsed = match ConfigGen::try_parse_from(args) {
        Ok(p) => p,
        Err(e) => e.exit(),
    };
    let interval = match parse_go_duration(&parsed.rate_interval) {
        Ok(d) => PromDuration::from_millis(d.as_millis() as u64),
        Err(e) => {
            eprintln!("Unable to generate config: {e}");
            return 1;
        }
    };
    print!(
        "{}",
        config::generate_default(&parsed.label_prefix, interval)
    );
    0
}

/// `check`: offline lints of rules files; exit 0 clean, 1 warnings, 2 errors (3: bad usage).
pub fn check(args: &[String]) -> i32 {
    #[derive(Parser)]
    #[command(
        name = "check",
        about = "Check rules files without Prometheus or a cluster: parse errors and lints, each with file:line:column"
    )]
    struct Check {
        /// Rules file (repeatable; positional files work too).
        #[arg(long, action = ArgAction::Append)]
        config: Vec<PathBuf>,
        files: Vec<PathBuf>,
        /// Output: text or json.
        #[arg(short = 'o', long = "output", default_value = "text", value_parser = ["text", "json"])]
        output: String,
    }
    let parsed = match Check::try_parse_from(args) {
        Ok(p) => p,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            let _ = e.print();
            return 3;
        }
    };
    let files: Vec<PathBuf> = parsed.config.into_iter().chain(parsed.files).collect();
    if files.is_empty() {
        eprintln!("check: give a rules file: prometheus-adapter check --config FILE");
        return 3;
    }
    let reports: Vec<_> = files
        .iter()
        .map(|f| prometheus_adapter::check::check_file(f))
        .collect();
    if parsed.output == "json" {
        match serde_json::to_string_pretty(&reports) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                eprintln!("check: {e}");
                return 2;
            }
        }
    } else {
        for report in &reports {
            print!("{}", report.human());
        }
    }
    reports.iter().map(|r| r.exit_code()).max().unwrap_or(0)
}

/// `explain`: the serve flags (Prometheus, config, kubeconfig) plus what to explain.
fn explain_command() -> clap::Command {
    use clap::Arg;
    command()
        .name("explain")
        .about("Explain, against the live Prometheus (and cluster, with --lister-kubeconfig), which series each rule turns into which metrics, or why one metric is (not) served: explain [RESOURCE[/NAME]/METRIC | external/METRIC]")
        .arg(Arg::new("namespace").short('n').long("namespace").help("Namespace of the objects (custom) or of the request (external)"))
        .arg(Arg::new("selector").short('l').long("selector").default_value("").help("Label selector of the objects, as the HPA sends it (custom)"))
        .arg(Arg::new("metric-selector").long("metric-selector").default_value("").help("Selector on the metric's labels (metricLabelSelector; external: labelSelector)"))
        .arg(Arg::new("output").short('o').long("output").default_value("text").value_parser(["text", "json"]))
}

/// Exit 0: explained and served (or the rules report); 1: the metric is not served; 2: failed.
pub fn explain_main(args: &[String]) -> i32 {
    let matches = match explain_command().try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => e.exit(),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let text = |id: &str| matches.get_one::<String>(id).cloned().unwrap_or_default();
    let question = ExplainArgs {
        target: cli.positional.first().cloned(),
        namespace: matches.get_one::<String>("namespace").cloned(),
        selector: text("selector"),
        metric_selector: text("metric-selector"),
        json: text("output") == "json",
    };
    // Logs would interleave with the report: warnings only unless -v asks for more.
    init_logging_with(cli.verbosity, &cli.logging_format, "warn");
    let Some(runtime) = crate::runtime() else {
        return 2;
    };
    match runtime.block_on(explain(cli, question)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e:#}");
            2
        }
    }
}

struct ExplainArgs {
    target: Option<String>,
    namespace: Option<String>,
    selector: String,
    metric_selector: String,
    json: bool,
}

async fn explain(cli: Cli, args: ExplainArgs) -> anyhow::Result<i32> {
    use prometheus_adapter::explain::{self, MetricQuestion, Target};
    let target = args
        .target
        .as_deref()
        .map(Target::parse)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let client = build_prometheus_client(&cli).context("unable to construct Prometheus client")?;
    if cli.config.is_empty() {
        anyhow::bail!("give the rules file: --config FILE");
    }
    let config_path = PathBuf::from(&cli.config);
    let config = Config::load(&config_path)?;
    let (mapper, objects, standalone): (Arc<dyn ResourceMapper>, Objects, bool) =
        if cli.lister_kubeconfig.is_empty() {
            (Arc::new(StaticMapper::builtin()), Objects::Standalone, true)
        } else {
            let kube = Kube::connect(Some(Path::new(&cli.lister_kubeconfig))).await?;
            let mapper = DiscoveryMapper::new(kube.clone(), Duration::from_secs(10)).await?;
            (
                Arc::new(SharedDiscoveryMapper(mapper)),
                Objects::Kube(Arc::new(kube)),
                false,
            )
        };
    let rules = Arc::new(RulesHandle::new(RuleSet::compile(
        &config,
        &config_path,
        mapper.as_ref(),
    )?));
    let max_age = if cli.metrics_max_age.is_zero() {
        cli.metrics_relist_interval
    } else {
        cli.metrics_max_age
    };
    let default_url = client.url().to_string();
    let state = ApiState {
        registry: Arc::new(RegistryHandle::default()),
        rules: rules.clone(),
        prometheus: Arc::new(prometheus::BackendsHandle::from_pointee(named_backends(
            client,
            &config,
            &config_path,
        )?)),
        mapper,
        objects,
        resource_objects: Arc::new(ResourceSource::new(|| ResourceObjects::Standalone)),
    };
    let started = std::time::Instant::now();
    let (registry, custom, external) =
        explain::discover(&state, &rules.load(), max_age, standalone)
            .await
            .with_context(|| format!("unable to list series from {default_url}"))?;
    let Some(target) = target else {
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &serde_json::json!({"rules": custom, "externalRules": external})
                )?
            );
        } else {
            if !custom.is_empty() {
                print!("{}", explain::rules_table(&custom));
            }
            if !external.is_empty() {
                if !custom.is_empty() {
                    println!();
                }
                print!("{}", explain::rules_table(&external));
            }
            println!(
                "\n{} custom and {} external metrics from {} in {} ms",
                registry.custom_keys().len(),
                registry.external_keys().len(),
                default_url,
                started.elapsed().as_millis()
            );
        }
        return Ok(0);
    };
    let reports: Vec<_> = match target {
        Target::External { .. } => external,
        Target::Custom { .. } => custom,
    };
    let question = MetricQuestion {
        target: &target,
        namespace: args.namespace.as_deref(),
        label_selector: &args.selector,
        metric_selector: &args.metric_selector,
    };
    let report = explain::explain_metric(&state, &registry, &reports, &question).await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", explain::metric_text(&report));
    }
    Ok(if report.served { 0 } else { 1 })
}
