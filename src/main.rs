//! `prometheus-adapter`: parse flags (upstream names), build each module's options, run.
//! Subcommands (`config-gen`, `check`, `explain`) are in `commands`; anything else serves.

mod commands;
mod flags;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use prometheus_adapter::api::resource::{ResourceObjects, ResourceSource};
use prometheus_adapter::api::{self, ApiState, Objects};
use prometheus_adapter::config::Config;
use prometheus_adapter::discovery::{self, RegistryHandle, RuleKind};
use prometheus_adapter::kube::{DiscoveryMapper, Kube, SharedDiscoveryMapper};
use prometheus_adapter::naming::{ResourceMapper, RuleSet, StaticMapper};
use prometheus_adapter::reload::{self, RulesHandle};
use prometheus_adapter::{prometheus, server};

use crate::flags::Cli;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("config-gen") => std::process::exit(commands::config_gen(&args[1..])),
        Some("check") => std::process::exit(commands::check(&args[1..])),
        Some("explain") => std::process::exit(commands::explain_main(&args[1..])),
        _ => {}
    }
    let cli = match flags::parse_cli(args) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    init_logging(cli.verbosity, &cli.logging_format);
    let Some(runtime) = runtime() else {
        std::process::exit(255);
    };
    if let Err(e) = runtime.block_on(run(cli)) {
        tracing::error!("{e:#}");
        eprintln!("Error: {e:#}");
        // klog.Fatal exits with 255, which probes and scripts may key on.
        std::process::exit(255);
    }
}

/// The multi-threaded runtime; `None` (the error printed) if the OS refuses its threads.
fn runtime() -> Option<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .inspect_err(|e| eprintln!("unable to start the runtime: {e}"))
        .ok()
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
