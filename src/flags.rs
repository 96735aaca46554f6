//! The command line: every flag of the reference (§6) with pflag semantics (`--flag`,
//! `--flag=false`, repeats with the last value winning, positional arguments ignored, unknown
//! flags an error), including the ones accepted for compatibility and not acted on.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, CommandFactory, FromArgMatches, Parser};

use prometheus_adapter::model::parse_go_duration;

/// The reference's flags (§6). Unknown flags are errors (exit 2); positional arguments such as
/// the chart's `/adapter` are ignored.
#[derive(Parser, Debug)]
#[command(
    name = "prometheus-adapter",
    version,
    about = "Serves Prometheus metrics through the Kubernetes custom, external and resource metrics APIs"
)]
pub struct Cli {
    #[arg(hide = true)]
    pub positional: Vec<String>,

    // --- adapter (cmd/adapter) ---
    /// URL for connecting to Prometheus (may include a path prefix and user-info).
    #[arg(long, default_value = "https://localhost")]
    pub prometheus_url: String,
    /// Use in-cluster credentials to connect to Prometheus.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    pub prometheus_auth_incluster: bool,
    /// kubeconfig file whose current context supplies TLS/auth for Prometheus.
    #[arg(long, default_value = "")]
    pub prometheus_auth_config: String,
    /// CA bundle for Prometheus TLS.
    #[arg(long, default_value = "")]
    pub prometheus_ca_file: String,
    #[arg(long, default_value = "")]
    pub prometheus_client_tls_cert_file: String,
    #[arg(long, default_value = "")]
    pub prometheus_client_tls_key_file: String,
    /// File holding a bearer token for Prometheus.
    #[arg(long, default_value = "")]
    pub prometheus_token_file: String,
    /// Extra header `name=value` for every Prometheus request (repeatable).
    #[arg(long, action = ArgAction::Append)]
    pub prometheus_header: Vec<String>,
    /// Basic-auth user for Prometheus (new; with --prometheus-basic-auth-password-file).
    #[arg(long, default_value = "")]
    pub prometheus_basic_auth_username: String,
    /// File holding the basic-auth password, re-read when it changes (new).
    #[arg(long, default_value = "")]
    pub prometheus_basic_auth_password_file: String,
    /// Extra query parameter `name=value` for every Prometheus call, e.g. Thanos' `dedup=true`
    /// or `partial_response=false` (new; repeatable).
    #[arg(long, action = ArgAction::Append)]
    pub prometheus_query_param: Vec<String>,
    /// HTTP verb for Prometheus calls: GET or POST.
    #[arg(long, default_value = "GET")]
    pub prometheus_verb: String,
    /// Largest Prometheus answer accepted, in bytes (new; larger answers fail clearly).
    #[arg(long, default_value = "1073741824")]
    pub prometheus_max_response_bytes: usize,
    /// Timeout of one Prometheus call (new; the reference has none).
    #[arg(long, default_value = "30s", value_parser = go_duration)]
    pub prometheus_timeout: Duration,
    /// Rules file (required).
    #[arg(long, default_value = "")]
    pub config: String,
    /// How often the rules file is checked for changes (new; SIGHUP reloads at once).
    #[arg(long, default_value = "5s", value_parser = go_duration)]
    pub config_poll_interval: Duration,
    /// How often series are discovered.
    #[arg(long, default_value = "10m0s", value_parser = go_duration)]
    pub metrics_relist_interval: Duration,
    /// Look-back window for discovery; 0 means the relist interval.
    #[arg(long, default_value = "0", value_parser = go_duration)]
    pub metrics_max_age: Duration,
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    pub disable_http2: bool,

    // --- custom-metrics-apiserver base ---
    /// kubeconfig for discovery and object listing (default: in-cluster; none: standalone mode).
    #[arg(long, default_value = "")]
    pub lister_kubeconfig: String,
    #[arg(long, default_value = "0", value_parser = go_duration)]
    pub discovery_interval: Duration,
    #[arg(long, default_value = "5")]
    pub client_qps: f32,
    #[arg(long, default_value = "10")]
    pub client_burst: i32,

    // --- secure serving ---
    /// Address to serve on (default 0.0.0.0; 127.0.0.1 in standalone mode).
    #[arg(long)]
    pub bind_address: Option<IpAddr>,
    #[arg(long, default_value = "443")]
    pub secure_port: u16,
    #[arg(long, default_value = "apiserver.local.config/certificates")]
    pub cert_dir: PathBuf,
    #[arg(long, default_value = "")]
    pub tls_cert_file: String,
    #[arg(long, default_value = "")]
    pub tls_private_key_file: String,

    /// Minimum TLS version: VersionTLS12 (default) or VersionTLS13.
    #[arg(long, default_value = "VersionTLS12")]
    pub tls_min_version: String,
    /// TLS 1.2 cipher suites (IANA names); those rustls does not implement are skipped.
    #[arg(long, value_delimiter = ',')]
    pub tls_cipher_suites: Vec<String>,
    /// Extra serving certificates chosen by SNI: `cert,key[:name1,name2]` (repeatable).
    #[arg(long, action = ArgAction::Append)]
    pub tls_sni_cert_key: Vec<String>,
    /// Requests served at once; more are answered 429 (as the Kubernetes generic server).
    #[arg(long, default_value = "400")]
    pub max_requests_inflight: usize,
    /// Per-request timeout; slower requests are answered 504.
    #[arg(long, default_value = "60s", value_parser = go_duration)]
    pub request_timeout: Duration,
    /// Also serve `/metrics` over plain HTTP on this address, without authentication
    /// (new; e.g. `:9100` or `0.0.0.0:9100`; empty: only on the secure port, authorized).
    #[arg(long, default_value = "")]
    pub metrics_bind_address: String,

    // --- delegated authentication (§6.4) ---
    /// kubeconfig for TokenReviews and the auth ConfigMap (default: the lister's).
    #[arg(long, default_value = "")]
    pub authentication_kubeconfig: String,
    #[arg(long, default_value = "10s", value_parser = go_duration)]
    pub authentication_token_webhook_cache_ttl: Duration,
    /// CA bundle for client certificates (else the ConfigMap's `client-ca-file`).
    #[arg(long, default_value = "")]
    pub client_ca_file: String,
    /// CA bundle for front-proxy certificates (else the ConfigMap's).
    #[arg(long, default_value = "")]
    pub requestheader_client_ca_file: String,
    #[arg(long, value_delimiter = ',')]
    pub requestheader_username_headers: Vec<String>,
    #[arg(long, value_delimiter = ',')]
    pub requestheader_group_headers: Vec<String>,
    #[arg(long, value_delimiter = ',')]
    pub requestheader_extra_headers_prefix: Vec<String>,
    #[arg(long, value_delimiter = ',')]
    pub requestheader_allowed_names: Vec<String>,
    /// Do not read the auth ConfigMap (only the flags above).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    pub authentication_skip_lookup: bool,
    /// Start even if the auth ConfigMap cannot be read.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", action = ArgAction::Set)]
    pub authentication_tolerate_lookup_failure: bool,

    // --- delegated authorization (§6.5) ---
    /// kubeconfig for SubjectAccessReviews (default: the lister's).
    #[arg(long, default_value = "")]
    pub authorization_kubeconfig: String,
    #[arg(long, default_value = "10s", value_parser = go_duration)]
    pub authorization_webhook_cache_authorized_ttl: Duration,
    #[arg(long, default_value = "10s", value_parser = go_duration)]
    pub authorization_webhook_cache_unauthorized_ttl: Duration,
    #[arg(long, value_delimiter = ',', default_value = "/healthz,/readyz,/livez")]
    pub authorization_always_allow_paths: Vec<String>,

    // --- logging ---
    /// Log verbosity (klog levels: 4 debug, 6 every Prometheus request, 8 bodies).
    #[arg(long = "v", short = 'v', default_value = "0")]
    pub verbosity: u8,
    /// Log format: text or json.
    #[arg(long, default_value = "text")]
    pub logging_format: String,
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

pub fn command() -> clap::Command {
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

pub fn parse_cli<I: IntoIterator<Item = String>>(args: I) -> Result<Cli, clap::Error> {
    let matches = command().try_get_matches_from(args)?;
    Cli::from_arg_matches(&matches)
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
