//! `prometheus-adapter`: parse flags (upstream names), build each module's options, run.
//! Subcommands: `config-gen` (the reference's legacy default config). Anything else serves.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{ArgAction, CommandFactory, FromArgMatches, Parser};

use prometheus_adapter::api::resource::{ResourceObjects, ResourceSource};
use prometheus_adapter::api::{self, ApiState, Objects};
use prometheus_adapter::config::{self, Config};
use prometheus_adapter::discovery::{self, RegistryHandle, RuleKind};
use prometheus_adapter::kube::{DiscoveryMapper, Kube, SharedDiscoveryMapper};
use prometheus_adapter::model::{PromDuration, parse_go_duration};
use prometheus_adapter::naming::{ResourceMapper, RuleSet, StaticMapper};
use prometheus_adapter::reload::{self, RulesHandle};
use prometheus_adapter::{prometheus, server};

/// The reference's flags (§6). Unknown flags are errors (exit 2); positional arguments such as
/// the chart's `/adapter` are ignored.
#[derive(Parser, Debug)]
#[command(
    name = "prometheus-adapter",
    version,
    about = "Serves Prometheus metrics through the Kubernetes custom, external and resource metrics APIs"
)]
struct Cli {
    #[arg(hide = true)]
    positional: Vec<String>,

    // --- adapter (cmd/adapter) ---
    /// URL for connecting to Prometheus (may include a path prefix and user-info).
    #[arg(long, default_value = "https://localhost")]
    prometheus_url: String,
    /// Use in-cluster credentials to connect to Prometheus.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    prometheus_auth_incluster: bool,
    /// kubeconfig file whose current context supplies TLS/auth for Prometheus.
    #[arg(long, default_value = "")]
    prometheus_auth_config: String,
    /// CA bundle for Prometheus TLS.
    #[arg(long, default_value = "")]
    prometheus_ca_file: String,
    #[arg(long, default_value = "")]
    prometheus_client_tls_cert_file: String,
    #[arg(long, default_value = "")]
    prometheus_client_tls_key_file: String,
    /// File holding a bearer token for Prometheus.
    #[arg(long, default_value = "")]
    prometheus_token_file: String,
    /// Extra header `name=value` for every Prometheus request (repeatable).
    #[arg(long, action = ArgAction::Append)]
    prometheus_header: Vec<String>,
    /// Basic-auth user for Prometheus (new; with --prometheus-basic-auth-password-file).
    #[arg(long, default_value = "")]
    prometheus_basic_auth_username: String,
    /// File holding the basic-auth password, re-read when it changes (new).
    #[arg(long, default_value = "")]
    prometheus_basic_auth_password_file: String,
    /// Extra query parameter `name=value` for every Prometheus call, e.g. Thanos' `dedup=true`
    /// or `partial_response=false` (new; repeatable).
    #[arg(long, action = ArgAction::Append)]
    prometheus_query_param: Vec<String>,
    /// HTTP verb for Prometheus calls: GET or POST.
    #[arg(long, default_value = "GET")]
    prometheus_verb: String,
    /// Largest Prometheus answer accepted, in bytes (new; larger answers fail clearly).
    #[arg(long, default_value = "1073741824")]
    prometheus_max_response_bytes: usize,
    /// Timeout of one Prometheus call (new; the reference has none).
    #[arg(long, default_value = "30s", value_parser = go_duration)]
    prometheus_timeout: Duration,
    /// Rules file (required).
    #[arg(long, default_value = "")]
    config: String,
    /// How often the rules file is checked for changes (new; SIGHUP reloads at once).
    #[arg(long, default_value = "5s", value_parser = go_duration)]
    config_poll_interval: Duration,
    /// How often series are discovered.
    #[arg(long, default_value = "10m0s", value_parser = go_duration)]
    metrics_relist_interval: Duration,
    /// Look-back window for discovery; 0 means the relist interval.
    #[arg(long, default_value = "0", value_parser = go_duration)]
    metrics_max_age: Duration,
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    disable_http2: bool,

    // --- custom-metrics-apiserver base ---
    /// kubeconfig for discovery and object listing (default: in-cluster; none: standalone mode).
    #[arg(long, default_value = "")]
    lister_kubeconfig: String,
    #[arg(long, default_value = "0", value_parser = go_duration)]
    discovery_interval: Duration,
    #[arg(long, default_value = "5")]
    client_qps: f32,
    #[arg(long, default_value = "10")]
    client_burst: i32,

    // --- secure serving ---
    /// Address to serve on (default 0.0.0.0; 127.0.0.1 in standalone mode).
    #[arg(long)]
    bind_address: Option<IpAddr>,
    #[arg(long, default_value = "443")]
    secure_port: u16,
    #[arg(long, default_value = "apiserver.local.config/certificates")]
    cert_dir: PathBuf,
    #[arg(long, default_value = "")]
    tls_cert_file: String,
    #[arg(long, default_value = "")]
    tls_private_key_file: String,

    /// Minimum TLS version: VersionTLS12 (default) or VersionTLS13.
    #[arg(long, default_value = "VersionTLS12")]
    tls_min_version: String,
    /// TLS 1.2 cipher suites (IANA names); those rustls does not implement are skipped.
    #[arg(long, value_delimiter = ',')]
    tls_cipher_suites: Vec<String>,
    /// Extra serving certificates chosen by SNI: `cert,key[:name1,name2]` (repeatable).
    #[arg(long, action = ArgAction::Append)]
    tls_sni_cert_key: Vec<String>,
    /// Requests served at once; more are answered 429 (as the Kubernetes generic server).
    #[arg(long, default_value = "400")]
    max_requests_inflight: usize,
    /// Per-request timeout; slower requests are answered 504.
    #[arg(long, default_value = "60s", value_parser = go_duration)]
    request_timeout: Duration,
    /// Also serve `/metrics` over plain HTTP on this address, without authentication
    /// (new; e.g. `:9100` or `0.0.0.0:9100`; empty: only on the secure port, authorized).
    #[arg(long, default_value = "")]
    metrics_bind_address: String,

    // --- delegated authentication (§6.4) ---
    /// kubeconfig for TokenReviews and the auth ConfigMap (default: the lister's).
    #[arg(long, default_value = "")]
    authentication_kubeconfig: String,
    #[arg(long, default_value = "10s", value_parser = go_duration)]
    authentication_token_webhook_cache_ttl: Duration,
    /// CA bundle for client certificates (else the ConfigMap's `client-ca-file`).
    #[arg(long, default_value = "")]
    client_ca_file: String,
    /// CA bundle for front-proxy certificates (else the ConfigMap's).
    #[arg(long, default_value = "")]
    requestheader_client_ca_file: String,
    #[arg(long, value_delimiter = ',')]
    requestheader_username_headers: Vec<String>,
    #[arg(long, value_delimiter = ',')]
    requestheader_group_headers: Vec<String>,
    #[arg(long, value_delimiter = ',')]
    requestheader_extra_headers_prefix: Vec<String>,
    #[arg(long, value_delimiter = ',')]
    requestheader_allowed_names: Vec<String>,
    /// Do not read the auth ConfigMap (only the flags above).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    authentication_skip_lookup: bool,
    /// Start even if the auth ConfigMap cannot be read.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    authentication_tolerate_lookup_failure: bool,

    // --- delegated authorization (§6.5) ---
    /// kubeconfig for SubjectAccessReviews (default: the lister's).
    #[arg(long, default_value = "")]
    authorization_kubeconfig: String,
    #[arg(long, default_value = "10s", value_parser = go_duration)]
    authorization_webhook_cache_authorized_ttl: Duration,
    #[arg(long, default_value = "10s", value_parser = go_duration)]
    authorization_webhook_cache_unauthorized_ttl: Duration,
    #[arg(long, value_delimiter = ',', default_value = "/healthz,/readyz,/livez")]
    authorization_always_allow_paths: Vec<String>,

    // --- logging ---
    /// Log verbosity (klog levels: 4 debug, 6 every Prometheus request, 8 bodies).
    #[arg(long = "v", short = 'v', default_value = "0")]
    verbosity: u8,
    /// Log format: text or json.
    #[arg(long, default_value = "text")]
    logging_format: String,
}

fn go_duration(s: &str) -> Result<Duration, String> {
    parse_go_duration(s).map_err(|e| e.to_string())
}

/// Flags accepted for compatibility and not acted on yet (listed in the README).
const ACCEPTED_VALUE_FLAGS: &[&str] = &[
    "http2-max-streams-per-connection",
    "audit-policy-file",
    "audit-log-path",
    "audit-log-maxage",
    "audit-log-maxbackup",
    "audit-log-maxsize",
    "audit-log-format",
    "audit-log-version",
    "audit-log-mode",
    "audit-log-batch-buffer-size",
    "audit-log-batch-max-size",
    "audit-log-batch-max-wait",
    "audit-log-batch-throttle-qps",
    "audit-log-batch-throttle-burst",
    "audit-log-truncate-max-batch-size",
    "audit-log-truncate-max-event-size",
    "audit-webhook-config-file",
    "audit-webhook-initial-backoff",
    "audit-webhook-batch-initial-backoff",
    "audit-webhook-version",
    "audit-webhook-mode",
    "audit-webhook-batch-buffer-size",
    "audit-webhook-batch-max-size",
    "audit-webhook-batch-max-wait",
    "audit-webhook-batch-throttle-qps",
    "audit-webhook-batch-throttle-burst",
    "audit-webhook-truncate-max-batch-size",
    "audit-webhook-truncate-max-event-size",
    "debug-socket-path",
    "vmodule",
    "log-flush-frequency",
    "log-dir",
    "log-file",
    "log-file-max-size",
    "stderrthreshold",
    "log-backtrace-at",
    "log-text-split-stream",
    "log-json-split-stream",
];
const ACCEPTED_BOOL_FLAGS: &[&str] = &[
    "permit-port-sharing",
    "permit-address-sharing",
    "audit-log-compress",
    "audit-log-batch-throttle-enable",
    "audit-log-truncate-enabled",
    "audit-webhook-batch-throttle-enable",
    "audit-webhook-truncate-enabled",
    "profiling",
    "contention-profiling",
    "enable-priority-and-fairness",
    "logtostderr",
    "alsologtostderr",
    "add-dir-header",
    "skip-headers",
    "skip-log-headers",
    "one-output",
];

fn command() -> clap::Command {
    // pflag lets a flag repeat; the last value wins.
    let mut cmd = Cli::command().args_override_self(true);
    for name in ACCEPTED_VALUE_FLAGS {
        cmd = cmd.arg(
            clap::Arg::new(*name)
                .long(*name)
                .hide(true)
                .action(ArgAction::Append),
        );
    }
    for name in ACCEPTED_BOOL_FLAGS {
        cmd = cmd.arg(
            clap::Arg::new(*name)
                .long(*name)
                .hide(true)
                .num_args(0..=1)
                .require_equals(true)
                .default_missing_value("true")
                .value_parser(clap::builder::BoolishValueParser::new())
                .action(ArgAction::Set),
        );
    }
    cmd
}

fn parse_cli<I: IntoIterator<Item = String>>(args: I) -> Result<Cli, clap::Error> {
    let matches = command().try_get_matches_from(args)?;
    Cli::from_arg_matches(&matches)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("config-gen") => std::process::exit(config_gen(&args[1..])),
        Some("check") => std::process::exit(check(&args[1..])),
        Some("explain") => std::process::exit(explain_main(&args[1..])),
        _ => {}
    }
    let cli = match parse_cli(args) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    init_logging(cli.verbosity, &cli.logging_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("unable to start the runtime: {e}");
            std::process::exit(255);
        }
    };
    if let Err(e) = runtime.block_on(run(cli)) {
        tracing::error!("{e:#}");
        eprintln!("Error: {e:#}");
        // klog.Fatal exits with 255, which probes and scripts may key on.
        std::process::exit(255);
    }
}

fn config_gen(args: &[String]) -> i32 {
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
fn check(args: &[String]) -> i32 {
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
fn explain_main(args: &[String]) -> i32 {
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
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("unable to start the runtime: {e}");
            return 2;
        }
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

fn init_logging(verbosity: u8, format: &str) {
    init_logging_with(verbosity, format, "info");
}

/// `base` is the level below `--v=4`: `explain` keeps stderr for problems only.
fn init_logging_with(verbosity: u8, format: &str, base: &'static str) {
    // klog levels: 0–3 info, 4–5 debug for the adapter, 6+ every Prometheus call, 8+ bodies.
    let directive = match verbosity {
        0..=3 => base,
        4..=5 => "info,prometheus_adapter=debug,prometheus=info",
        6..=7 => "info,prometheus_adapter=debug,prometheus=debug",
        _ => "trace,hyper=info,h2=info,rustls=info,tower=info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(directive));
    use std::io::IsTerminal as _;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn non_empty(s: &str) -> Option<PathBuf> {
    (!s.is_empty()).then(|| PathBuf::from(s))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let max_age = if cli.metrics_max_age.is_zero() {
        cli.metrics_relist_interval
    } else {
        cli.metrics_max_age
    };
    let client = build_prometheus_client(&cli).context("unable to construct Prometheus client")?;

    if cli.config.is_empty() {
        anyhow::bail!(
            "unable to load metrics discovery config: no metrics discovery configuration file specified (make sure to use --config)"
        );
    }
    let config_path = PathBuf::from(&cli.config);
    let config = Config::load(&config_path).context("unable to load metrics discovery config")?;
    let backends = Arc::new(prometheus::BackendsHandle::from_pointee(named_backends(
        client.clone(),
        &config,
        &config_path,
    )?));
    if !config.rules.is_empty() && max_age < cli.metrics_relist_interval {
        anyhow::bail!(
            "unable to construct custom metrics provider: max age must not be less than relist interval"
        );
    }

    let (mapper, objects, standalone): (Arc<dyn ResourceMapper>, Objects, bool) =
        match connect_kube(&cli).await? {
            Some(kube) => {
                let mapper = DiscoveryMapper::connect(kube.clone(), Duration::from_secs(10)).await;
                tracing::info!(
                    resources = mapper.resource_count(),
                    "resolved API resources through discovery"
                );
                (
                    Arc::new(SharedDiscoveryMapper(mapper)),
                    Objects::Kube(Arc::new(kube)),
                    false,
                )
            }
            None => (Arc::new(StaticMapper::builtin()), Objects::Standalone, true),
        };
    let rules = Arc::new(RulesHandle::new(RuleSet::compile(
        &config,
        &config_path,
        mapper.as_ref(),
    )?));
    let objects_for_auth = match &objects {
        Objects::Kube(kube) => Some(kube.clone()),
        Objects::Standalone => None,
    };
    // metrics.k8s.io reads pods and nodes from watch caches, started now (so they are warm)
    // when there are resource rules, or when a reload adds them.
    let resource_objects = Arc::new(ResourceSource::new({
        let objects = objects.clone();
        move || match &objects {
            Objects::Kube(kube) => ResourceObjects::Kube {
                pods: kube.watch_running_pods(),
                nodes: kube.watch_nodes(),
            },
            Objects::Standalone => ResourceObjects::Standalone,
        }
    }));
    if rules.load().resource.is_some() {
        resource_objects.get();
    }
    reload::spawn(
        rules.clone(),
        backends.clone(),
        config_path.clone(),
        mapper.clone(),
        cli.config_poll_interval,
    );
    let registry = Arc::new(RegistryHandle::default());
    let options = discovery::Options {
        relist_interval: cli.metrics_relist_interval,
        max_age,
        collect_objects: standalone,
    };
    for kind in [RuleKind::Custom, RuleKind::External] {
        tokio::spawn(discovery::run(
            kind,
            registry.clone(),
            backends.clone(),
            rules.clone(),
            mapper.clone(),
            options.clone(),
        ));
    }

    let default_bind: IpAddr = if standalone {
        [127, 0, 0, 1].into()
    } else {
        [0, 0, 0, 0].into()
    };
    let serve_options = server::Options {
        bind_address: cli.bind_address.unwrap_or(default_bind),
        secure_port: cli.secure_port,
        tls_cert_file: non_empty(&cli.tls_cert_file),
        tls_private_key_file: non_empty(&cli.tls_private_key_file),
        cert_dir: cli.cert_dir.clone(),
        disable_http2: cli.disable_http2,
        request_client_certificates: !standalone,
        tls_min_version: cli.tls_min_version.clone(),
        tls_cipher_suites: cli.tls_cipher_suites.clone(),
        tls_sni_cert_keys: cli.tls_sni_cert_key.clone(),
    };
    let (listener, acceptor) = server::bind(&serve_options).await?;
    if let Some(address) = metrics_address(&cli.metrics_bind_address)? {
        let plain = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("unable to listen for metrics on {address}"))?;
        tracing::info!(address = %plain.local_addr()?, "serving /metrics over plain HTTP");
        tokio::spawn(server::serve_plain_metrics(plain));
    }
    {
        let current = rules.load();
        tracing::info!(address = %listener.local_addr()?, prometheus = %client.url(), rules = current.custom.len(), external_rules = current.external.len(), "serving");
    }
    let mut router = api::router(ApiState {
        registry,
        rules,
        prometheus: backends,
        mapper,
        objects,
        resource_objects,
    });
    match &objects_for_auth {
        Some(kube) => {
            let auth = Arc::new(build_auth(&cli, kube).await?);
            auth.spawn_refresh();
            router = router.layer(axum::middleware::from_fn_with_state(
                auth,
                server::auth::middleware,
            ));
        }
        None => tracing::warn!(
            "standalone mode: no authentication or authorization; serving on {}",
            serve_options.bind_address
        ),
    }
    let router = server::Limits::new(cli.max_requests_inflight, cli.request_timeout).layer(router);
    let router = server::instrument(router);
    server::serve(listener, acceptor, router, shutdown_signal()).await;
    Ok(())
}

/// The rules file's named backends beside the default client; errors name the backend.
fn named_backends(
    default: prometheus::Client,
    config: &Config,
    path: &Path,
) -> anyhow::Result<prometheus::Backends> {
    prometheus::Backends::build(default, &config.backends).map_err(|(name, e)| {
        anyhow::anyhow!(
            "{}: backends.{name}: unable to construct the client: {e}",
            path.display()
        )
    })
}

/// `--metrics-bind-address`: `host:port`, `:port` (all interfaces) or empty (off).
fn metrics_address(flag: &str) -> anyhow::Result<Option<std::net::SocketAddr>> {
    if flag.is_empty() {
        return Ok(None);
    }
    let full = match flag.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => flag.to_string(),
    };
    full.parse()
        .map(Some)
        .with_context(|| format!("invalid --metrics-bind-address {flag:?}: want host:port"))
}

async fn kube_client(kubeconfig: &str, default: &Kube) -> anyhow::Result<Kube> {
    if kubeconfig.is_empty() {
        return Ok(default.clone());
    }
    Ok(Kube::connect(Some(Path::new(kubeconfig))).await?)
}

/// Delegated authentication and authorization through the cluster (reference §7.2, §7.3).
async fn build_auth(cli: &Cli, lister: &Kube) -> anyhow::Result<server::auth::Auth> {
    let authn = kube_client(&cli.authentication_kubeconfig, lister).await?;
    let authz = kube_client(&cli.authorization_kubeconfig, lister).await?;
    let read = |path: &str| -> anyhow::Result<Option<String>> {
        if path.is_empty() {
            Ok(None)
        } else {
            std::fs::read_to_string(path)
                .map(Some)
                .with_context(|| format!("unable to read {path}"))
        }
    };
    let overrides = prometheus_adapter::kube::AuthenticationConfig {
        client_ca: read(&cli.client_ca_file)?,
        requestheader_client_ca: read(&cli.requestheader_client_ca_file)?,
        requestheader_username_headers: cli.requestheader_username_headers.clone(),
        requestheader_group_headers: cli.requestheader_group_headers.clone(),
        requestheader_extra_headers_prefix: cli.requestheader_extra_headers_prefix.clone(),
        requestheader_allowed_names: cli.requestheader_allowed_names.clone(),
    };
    let cluster = if cli.authentication_skip_lookup {
        Default::default()
    } else {
        match authn.authentication_config().await {
            Ok(config) => config,
            Err(e) if cli.authentication_tolerate_lookup_failure => {
                tracing::warn!(error = %e, "unable to read kube-system/extension-apiserver-authentication; continuing with the flags only");
                Default::default()
            }
            Err(e) => {
                return Err(anyhow::Error::from(e)
                    .context("unable to load configmap based request-header-client-ca-file"));
            }
        }
    };
    let options = server::auth::Options {
        overrides,
        always_allow_paths: cli.authorization_always_allow_paths.clone(),
        token_ttl: cli.authentication_token_webhook_cache_ttl,
        authorized_ttl: cli.authorization_webhook_cache_authorized_ttl,
        unauthorized_ttl: cli.authorization_webhook_cache_unauthorized_ttl,
    };
    Ok(server::auth::Auth::new(authn, authz, options, cluster)?)
}

async fn connect_kube(cli: &Cli) -> anyhow::Result<Option<Kube>> {
    if !cli.lister_kubeconfig.is_empty() {
        let kube = Kube::connect(Some(Path::new(&cli.lister_kubeconfig))).await?;
        return Ok(Some(kube));
    }
    match Kube::connect(None).await {
        Ok(kube) => Ok(Some(kube)),
        Err(e) => {
            tracing::warn!(
                reason = %e,
                "standalone mode: no Kubernetes API (no --lister-kubeconfig, not in a cluster); using the built-in resource table, objects seen in series, and serving on 127.0.0.1 unless --bind-address is set"
            );
            Ok(None)
        }
    }
}

fn build_prometheus_client(cli: &Cli) -> anyhow::Result<prometheus::Client> {
    let verb: prometheus::Verb = cli.prometheus_verb.parse().map_err(anyhow::Error::msg)?;
    if cli.prometheus_auth_incluster && !cli.prometheus_auth_config.is_empty() {
        anyhow::bail!(
            "may not use both in-cluster auth and an explicit kubeconfig at the same time"
        );
    }
    let url = url::Url::parse(&cli.prometheus_url)
        .with_context(|| format!("invalid --prometheus-url {:?}", cli.prometheus_url))?;
    let pairs = |list: &[String]| -> Vec<(String, String)> {
        list.iter()
            .map(|h| match h.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (h.clone(), String::new()),
            })
            .collect()
    };
    let headers = pairs(&cli.prometheus_header);
    let basic_auth = match (
        cli.prometheus_basic_auth_username.as_str(),
        non_empty(&cli.prometheus_basic_auth_password_file),
    ) {
        ("", None) => None,
        (user, Some(file)) if !user.is_empty() => Some((user.to_string(), file)),
        _ => anyhow::bail!(
            "--prometheus-basic-auth-username and --prometheus-basic-auth-password-file go together"
        ),
    };
    let kube_auth = if cli.prometheus_auth_incluster {
        Some(prometheus::KubeAuth::in_cluster(Path::new(
            prometheus::SERVICE_ACCOUNT_DIR,
        ))?)
    } else if !cli.prometheus_auth_config.is_empty() {
        Some(prometheus::KubeAuth::from_kubeconfig(Path::new(
            &cli.prometheus_auth_config,
        ))?)
    } else {
        None
    };
    let options = prometheus::ClientOptions {
        url,
        verb,
        headers,
        token_file: non_empty(&cli.prometheus_token_file),
        basic_auth,
        kube_auth,
        ca_file: non_empty(&cli.prometheus_ca_file),
        client_cert_file: non_empty(&cli.prometheus_client_tls_cert_file),
        client_key_file: non_empty(&cli.prometheus_client_tls_key_file),
        timeout: cli.prometheus_timeout,
        max_response_bytes: cli.prometheus_max_response_bytes,
        query_params: pairs(&cli.prometheus_query_param),
    };
    Ok(prometheus::Client::new(&options)?)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("received a termination signal");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        parse_cli(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_match_the_reference() {
        let cli = parse(&["adapter"]).unwrap();
        assert_eq!(cli.prometheus_url, "https://localhost");
        assert_eq!(cli.verbosity, 0);
        assert_eq!(cli.metrics_relist_interval, Duration::from_secs(600));
        assert_eq!(cli.metrics_max_age, Duration::ZERO);
        assert_eq!(cli.secure_port, 443);
        assert_eq!(cli.prometheus_verb, "GET");
        assert!(!cli.disable_http2);
    }

    #[test]
    fn the_chart_command_line_parses() {
        let cli = parse(&[
            "/adapter",
            "/adapter",
            "--secure-port=6443",
            "--cert-dir=/tmp/cert",
            "--prometheus-url=http://prometheus.default.svc:9090",
            "--metrics-relist-interval=1m",
            "--v=4",
            "--config=/etc/adapter/config.yaml",
        ])
        .unwrap();
        assert_eq!(cli.secure_port, 6443);
        assert_eq!(cli.verbosity, 4);
        assert_eq!(cli.metrics_relist_interval, Duration::from_secs(60));
        assert_eq!(cli.config, "/etc/adapter/config.yaml");
    }

    #[test]
    fn the_upstream_manifest_command_line_parses() {
        let cli = parse(&[
            "adapter", "--cert-dir=/var/run/serving-cert", "--config=/etc/adapter/config.yaml", "--metrics-relist-interval=1m",
            "--prometheus-url=https://prometheus.monitoring.svc:9090/", "--secure-port=6443",
            "--tls-cipher-suites=TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305,TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305,TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
            "--profiling", "--profiling=false", "--authentication-skip-lookup", "--audit-log-path=-", "--prometheus-header", "X-Scope-OrgID=a",
            "--prometheus-header=b=c", "-v", "6", "--disable-http2",
        ])
        .unwrap();
        assert_eq!(cli.prometheus_header, vec!["X-Scope-OrgID=a", "b=c"]);
        assert_eq!(cli.verbosity, 6);
        assert!(cli.disable_http2);
    }

    #[test]
    fn unknown_flags_fail_like_pflag() {
        let err = parse(&["adapter", "--no-such-flag"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            parse(&["adapter", "-c", "x"]).is_err(),
            "the README's -c never existed"
        );
        assert!(parse(&["adapter", "--metrics-relist-interval=5"]).is_err());
    }
}
