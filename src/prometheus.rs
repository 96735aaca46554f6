//! The Prometheus HTTP API client: `/api/v1/series` and `/api/v1/query` (reference §4.1).
//!
//! Invariants:
//! - Every call has a timeout; there is no way to build a client without one.
//! - Status handling is the reference's: 2xx, 400, 422 and 503 carry a JSON body whose
//!   `status: error` becomes `Error::Api`; any other code is `Error::UnexpectedStatus`.
//! - Nothing here knows Kubernetes words; URLs in errors and logs never carry credentials.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use url::Url;

use std::sync::Arc;

use crate::naming::PromQl;
use crate::telemetry::{self, Endpoint};

/// Above this many bytes of parameters a GET is sent as a POST form instead (a 16 KiB request
/// line is a common proxy limit; the reference answered 414 at about 150 pods).
const MAX_GET_PARAM_BYTES: usize = 8 * 1024;

// === Options ===

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
}

impl std::str::FromStr for Verb {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        // Case-sensitive, as the reference (§1 step 3).
        match s {
            "GET" => Ok(Verb::Get),
            "POST" => Ok(Verb::Post),
            _ => Err(format!(
                "unsupported Prometheus HTTP verb {s:?}; supported verbs: \"GET\" and \"POST\""
            )),
        }
    }
}

#[derive(Clone, Debug)]
pub struct ClientOptions {
    pub url: Url,
    pub verb: Verb,
    /// `--prometheus-header name=value`, repeatable.
    pub headers: Vec<(String, String)>,
    pub token_file: Option<PathBuf>,
    /// `--prometheus-basic-auth-username` and the file holding the password.
    pub basic_auth: Option<(String, PathBuf)>,
    /// `--prometheus-auth-config` / `--prometheus-auth-incluster`.
    pub kube_auth: Option<KubeAuth>,
    pub ca_file: Option<PathBuf>,
    pub client_cert_file: Option<PathBuf>,
    pub client_key_file: Option<PathBuf>,
    /// Per-request timeout (the reference has none; a hung Prometheus blocked it forever).
    pub timeout: Duration,
    /// Larger answers fail with `Error::ResponseTooLarge` instead of exhausting memory.
    pub max_response_bytes: usize,
    /// Extra parameters sent with every call (`--prometheus-query-param`, repeatable).
    pub query_params: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("failed to read prometheus-ca-file: {0}")]
    ReadCa(#[source] std::io::Error),
    #[error("no certs found in prometheus-ca-file")]
    NoCerts,
    #[error("failed to read TLS key pair: {0}")]
    KeyPair(String),
    #[error("failed to read prometheus-token-file: {0}")]
    ReadToken(#[source] std::io::Error),
    #[error("failed to read prometheus-basic-auth-password-file: {0}")]
    ReadPassword(#[source] std::io::Error),
    #[error("{0}")]
    AuthConfig(String),
    #[error("invalid prometheus-header {0:?}: {1}")]
    Header(String, String),
    #[error("unable to construct Prometheus client: {0}")]
    Http(#[source] reqwest::Error),
}

// === Errors ===

/// Clone, because one in-flight query's outcome is handed to every request that joined it.
#[derive(Clone, Debug, thiserror::Error)]
pub enum Error {
    #[error("request to {url} failed: {source}")]
    Transport {
        url: String,
        #[source]
        source: Arc<reqwest::Error>,
    },
    #[error("request to {url} timed out after {timeout:?}")]
    Timeout { url: String, timeout: Duration },
    #[error("bad_response: unknown response code {code} from {url}")]
    UnexpectedStatus { url: String, code: u16 },
    #[error("bad_response: {0}")]
    Decode(String),
    #[error("{error_type}: {message}")]
    Api { error_type: String, message: String },
    #[error("response from {url} exceeds {limit} bytes")]
    ResponseTooLarge { url: String, limit: usize },
    #[error("unexpected value type {0:?}")]
    UnexpectedResultType(String),
}

impl Error {
    /// A closed set of names for the self-metrics' `result` label.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Transport { .. } => "transport",
            Error::Timeout { .. } => "timeout",
            Error::UnexpectedStatus { code, .. } if *code >= 500 => "status_5xx",
            Error::UnexpectedStatus { .. } => "status_other",
            Error::Decode(_) => "decode",
            Error::Api { .. } => "api_error",
            Error::ResponseTooLarge { .. } => "too_large",
            Error::UnexpectedResultType(_) => "result_type",
        }
    }
}

fn record<T>(endpoint: Endpoint, result: &Result<T, Error>, started: std::time::Instant) {
    let kind = match result {
        Ok(_) => "ok",
        Err(e) => e.kind(),
    };
    telemetry::metrics().observe_prometheus(endpoint, kind, started.elapsed());
}

mod auth;
mod series;
pub use auth::{KubeAuth, SERVICE_ACCOUNT_DIR};
pub use series::SeriesDetail;

// === Results ===

/// One series from `/api/v1/series`: its name and the other labels, sorted by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Series {
    pub name: String,
    /// With `SeriesDetail::Shapes`, the values are empty.
    pub labels: Vec<(String, String)>,
    /// How many series of Prometheus' answer this entry stands for (1 unless shapes).
    pub count: usize,
}

impl Series {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub labels: BTreeMap<String, String>,
    /// Unix seconds.
    pub timestamp: f64,
    pub value: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum QueryResult {
    Vector(Vec<Sample>),
    Scalar(Sample),
    Matrix,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
struct Envelope<T> {
    status: String,
    #[serde(default = "none")]
    data: Option<T>,
    #[serde(default, rename = "errorType")]
    error_type: String,
    #[serde(default)]
    error: String,
}

fn none<T>() -> Option<T> {
    None
}

#[derive(Deserialize)]
struct QueryData {
    #[serde(rename = "resultType")]
    result_type: String,
    result: serde_json::Value,
}

#[derive(Deserialize)]
struct RawSample {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    value: (f64, String),
}

/// Decodes an `/api/v1/query` answer: vectors and scalars become samples (values parsed as Go
/// does, NaN and ±Inf kept for the caller to refuse), matrices are recognised, anything else
/// is an error. Public for the fuzz targets.
pub fn decode_query(body: &[u8]) -> Result<QueryResult, Error> {
    let envelope: Envelope<QueryData> =
        serde_json::from_slice(body).map_err(|e| Error::Decode(e.to_string()))?;
    if envelope.status == "error" {
        return Err(Error::Api {
            error_type: envelope.error_type,
            message: envelope.error,
        });
    }
    let data = envelope
        .data
        .ok_or_else(|| Error::Decode("query answer has no data".into()))?;
    match data.result_type.as_str() {
        "vector" => {
            let raw: Vec<RawSample> =
                serde_json::from_value(data.result).map_err(|e| Error::Decode(e.to_string()))?;
            Ok(QueryResult::Vector(
                raw.into_iter()
                    .map(|s| Sample {
                        labels: s.metric,
                        timestamp: s.value.0,
                        value: parse_value(&s.value.1),
                    })
                    .collect(),
            ))
        }
        "scalar" => {
            let (timestamp, value): (f64, String) =
                serde_json::from_value(data.result).map_err(|e| Error::Decode(e.to_string()))?;
            Ok(QueryResult::Scalar(Sample {
                labels: BTreeMap::new(),
                timestamp,
                value: parse_value(&value),
            }))
        }
        "matrix" => Ok(QueryResult::Matrix),
        other => Err(Error::UnexpectedResultType(other.to_string())),
    }
}

/// Decodes a whole `/api/v1/series` answer (the client streams; this is for the fuzz targets).
pub fn decode_series(body: &[u8], detail: SeriesDetail) -> Result<Vec<Series>, Error> {
    series::decode(body, detail)
}

// === Backends ===

/// The default server (`--prometheus-url`) and the named ones of the rules file's `backends:`.
#[derive(Clone, Debug)]
pub struct Backends {
    default: Client,
    named: HashMap<String, Client>,
}

/// The current backends; a config reload swaps them with the rules.
pub type BackendsHandle = arc_swap::ArcSwap<Backends>;

impl Backends {
    pub fn new(default: Client, named: HashMap<String, Client>) -> Self {
        Backends { default, named }
    }

    /// The named backends of a rules file, with the default client's timeout and size limit.
    pub fn build(
        default: Client,
        named: &std::collections::BTreeMap<String, crate::config::BackendConfig>,
    ) -> Result<Backends, (String, BuildError)> {
        let mut clients = HashMap::new();
        for (name, backend) in named {
            let fail = |e: BuildError| (name.clone(), e);
            let url: Url = backend
                .url
                .as_str()
                .parse()
                .map_err(|e: url::ParseError| fail(BuildError::AuthConfig(e.to_string())))?;
            let verb = match backend.verb.as_deref() {
                None => Verb::Get,
                Some(v) => v
                    .parse()
                    .map_err(|e: String| fail(BuildError::AuthConfig(e)))?,
            };
            let options = ClientOptions {
                url,
                verb,
                headers: backend.headers.clone().into_iter().collect(),
                token_file: backend.token_file.as_ref().map(PathBuf::from),
                basic_auth: backend
                    .basic_auth
                    .as_ref()
                    .map(|b| (b.username.clone(), PathBuf::from(&b.password_file))),
                kube_auth: None,
                ca_file: backend.ca_file.as_ref().map(PathBuf::from),
                client_cert_file: backend.client_cert_file.as_ref().map(PathBuf::from),
                client_key_file: backend.client_key_file.as_ref().map(PathBuf::from),
                timeout: default.timeout,
                max_response_bytes: default.max_response_bytes,
                query_params: backend.query_params.clone().into_iter().collect(),
            };
            clients.insert(name.clone(), Client::new(&options).map_err(fail)?);
        }
        Ok(Backends::new(default, clients))
    }

    pub fn default_client(&self) -> &Client {
        &self.default
    }

    /// The client for a rule's `backend:`; `None` only for a name a reload has just removed.
    pub fn client(&self, name: Option<&str>) -> Option<&Client> {
        match name {
            None => Some(&self.default),
            Some(name) => self.named.get(name),
        }
    }
}

// === Client ===

#[derive(Clone, Debug)]
pub struct Client {
    http: Arc<auth::ReloadingHttp>,
    base: Url,
    verb: Verb,
    timeout: Duration,
    /// The URL as configured but without user-info, for logs and metrics.
    display_url: String,
    /// The Authorization header from a file (bearer token or basic-auth password), re-read
    /// when it changes; `None` when a fixed header (or nothing) authenticates.
    token: Option<Arc<auth::CredentialFile>>,
    max_response_bytes: usize,
    query_params: Arc<[(String, String)]>,
    /// Instant queries in flight, by PromQL: identical concurrent requests share one call.
    in_flight: Arc<std::sync::Mutex<HashMap<String, SharedQuery>>>,
}

type SharedQuery = futures_util::future::Shared<
    futures_util::future::BoxFuture<'static, Result<QueryResult, Error>>,
>;

impl Client {
    pub fn new(options: &ClientOptions) -> Result<Client, BuildError> {
        // reqwest is built without a bundled provider; the process uses ring everywhere.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut base = options.url.clone();
        let mut headers = HeaderMap::new();
        for (name, value) in &options.headers {
            let header_name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| BuildError::Header(name.clone(), e.to_string()))?;
            let header_value = HeaderValue::from_str(value)
                .map_err(|e| BuildError::Header(name.clone(), e.to_string()))?;
            headers.append(header_name, header_value);
        }
        // Authorization precedence (§4.1, `auth`): explicit header > URL user-info > basic-auth
        // flags > token file > kubeconfig / in-cluster credentials.
        if !headers.contains_key(AUTHORIZATION) && !base.username().is_empty() {
            let user = percent_decode(base.username());
            let password = base.password().map(percent_decode).unwrap_or_default();
            let mut value = HeaderValue::from_str(&auth::basic_value(&user, &password))
                .map_err(|e| BuildError::Header("Authorization".into(), e.to_string()))?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let _ = base.set_username("");
        let _ = base.set_password(None);
        let kube = options.kube_auth.clone().unwrap_or_default();
        let mut token = None;
        if !headers.contains_key(AUTHORIZATION) {
            if let Some((user, path)) = &options.basic_auth {
                token = Some(Arc::new(auth::CredentialFile::basic(user, path)?));
            } else if let Some(path) = &options.token_file {
                token = Some(Arc::new(auth::CredentialFile::bearer(path)?));
            } else if let Some(value) = &kube.token {
                let mut value = HeaderValue::from_str(&format!("Bearer {}", value.trim()))
                    .map_err(|e| BuildError::Header("Authorization".into(), e.to_string()))?;
                value.set_sensitive(true);
                headers.insert(AUTHORIZATION, value);
            } else if let Some(path) = &kube.token_file {
                token = Some(Arc::new(auth::CredentialFile::bearer(path)?));
            } else if let Some((user, password)) = &kube.basic {
                let mut value = HeaderValue::from_str(&auth::basic_value(user, password))
                    .map_err(|e| BuildError::Header("Authorization".into(), e.to_string()))?;
                value.set_sensitive(true);
                headers.insert(AUTHORIZATION, value);
            }
        }
        // TLS: the CA flag wins over the kubeconfig's TLS, as upstream; a client certificate
        // from the flags is used with either (upstream ignores it without --prometheus-ca-file).
        let tls = if options.ca_file.is_some() {
            auth::Tls {
                ca_file: options.ca_file.clone(),
                ..auth::Tls::default()
            }
        } else {
            auth::Tls {
                ca_file: kube.ca_file.clone(),
                ca_pem: kube.ca_pem.clone(),
                identity_pem: kube.identity_pem.clone(),
                insecure: kube.insecure,
                ..auth::Tls::default()
            }
        };
        let tls = match (&options.client_cert_file, &options.client_key_file) {
            (Some(cert), Some(key)) => auth::Tls {
                client_cert_file: Some(cert.clone()),
                client_key_file: Some(key.clone()),
                identity_pem: None,
                ..tls
            },
            _ => tls,
        };
        let timeout = options.timeout;
        let http = auth::ReloadingHttp::new(tls.clone(), move || {
            let builder = reqwest::Client::builder()
                .default_headers(headers.clone())
                .timeout(timeout)
                .connect_timeout(timeout.min(Duration::from_secs(10)));
            tls.apply(builder)?.build().map_err(BuildError::Http)
        })?;
        let display_url = base.to_string();
        Ok(Client {
            http,
            base,
            verb: options.verb,
            timeout: options.timeout,
            display_url,
            token,
            max_response_bytes: options.max_response_bytes,
            query_params: options.query_params.clone().into(),
            in_flight: Default::default(),
        })
    }

    /// The configured URL without credentials.
    pub fn url(&self) -> &str {
        &self.display_url
    }

    /// `/api/v1/series` with one `match[]` and `start` (§4.1), decoded as it arrives (the
    /// answer is never held whole): every series with its values, or with
    /// `SeriesDetail::Shapes` one entry per distinct name and label-name set, which is all
    /// that discovery needs when objects come from the Kubernetes API.
    pub async fn series(
        &self,
        selector: &str,
        start: SystemTime,
        detail: SeriesDetail,
    ) -> Result<Vec<Series>, Error> {
        let started = std::time::Instant::now();
        let result = self.series_call(selector, start, detail).await;
        record(Endpoint::series, &result, started);
        result
    }

    async fn series_call(
        &self,
        selector: &str,
        start: SystemTime,
        detail: SeriesDetail,
    ) -> Result<Vec<Series>, Error> {
        let params = [
            ("match[]", selector.to_string()),
            ("start", format_time(start)),
        ];
        let (response, url) = self.send("/api/v1/series", &params).await?;
        series::decode_streaming(response, url, self.max_response_bytes, detail, |url, e| {
            self.transport(url, e)
        })
        .await
    }

    /// `/api/v1/query`, an instant query at `time`.
    pub async fn query(&self, query: &PromQl, time: SystemTime) -> Result<QueryResult, Error> {
        let started = std::time::Instant::now();
        let result = self.query_call(query, time).await;
        record(Endpoint::query, &result, started);
        result
    }

    /// An instant query at the time it is sent, shared with identical queries already in
    /// flight (single flight). An HPA's workers and several HPAs on one workload ask the same
    /// question within milliseconds; one Prometheus evaluation answers all of them. Nothing is
    /// cached: a request joins only a call that has not finished, so no answer is older than
    /// that call's own duration. The call runs as its own task, so a caller that gives up
    /// (timeout, disconnect) does not cancel it for the others.
    pub async fn query_now(&self, query: &PromQl) -> Result<QueryResult, Error> {
        let key = query.as_str();
        let shared = {
            let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
            match in_flight.get(key) {
                Some(call) => {
                    telemetry::metrics().prometheus_coalesced.inc();
                    call.clone()
                }
                None => {
                    let client = self.clone();
                    let owned = query.clone();
                    let task = tokio::spawn(async move {
                        let result = client.query(&owned, SystemTime::now()).await;
                        client
                            .in_flight
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .remove(owned.as_str());
                        result
                    });
                    let call: SharedQuery = futures_util::FutureExt::shared(Box::pin(async move {
                        task.await.unwrap_or_else(|e| {
                            Err(Error::Decode(format!("the query task failed: {e}")))
                        })
                    })
                        as futures_util::future::BoxFuture<'static, _>);
                    in_flight.insert(key.to_string(), call.clone());
                    call
                }
            }
        };
        shared.await
    }

    async fn query_call(&self, query: &PromQl, time: SystemTime) -> Result<QueryResult, Error> {
        let params = [
            ("query", query.as_str().to_string()),
            ("time", format_time(time)),
        ];
        let body = self.call("/api/v1/query", &params).await?;
        decode_query(&body)
    }

    /// Sends a call; answers with the response (status checked) and the URL for messages.
    async fn send(
        &self,
        endpoint: &str,
        params: &[(&str, String)],
    ) -> Result<(reqwest::Response, String), Error> {
        let mut url = self.base.clone();
        let path = format!("{}{}", self.base.path().trim_end_matches('/'), endpoint);
        url.set_path(&path);
        let log_url = {
            let mut u = url.clone();
            u.set_query(None);
            u.to_string()
        };
        // `--prometheus-query-param`s (Thanos `dedup`, `partial_response`, …) go on every call.
        let params: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .chain(
                self.query_params
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .collect();
        let params = params.as_slice();
        let bytes: usize = params.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
        // A GET whose URL would exceed what proxies commonly accept goes as a POST form.
        let verb = if self.verb == Verb::Get && bytes > MAX_GET_PARAM_BYTES {
            Verb::Post
        } else {
            self.verb
        };
        let http = self.http.get();
        let mut request = match verb {
            Verb::Get => {
                // GET replaces the base URL's query string, as the reference does.
                url.set_query(None);
                http.get(url).query(params)
            }
            Verb::Post => http
                .post(url)
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .form(params),
        };
        if let Some(token) = &self.token {
            request = request.header(AUTHORIZATION, token.header());
        }
        let started = std::time::Instant::now();
        let response = request
            .send()
            .await
            .map_err(|e| self.transport(&log_url, e))?;
        let code = response.status().as_u16();
        tracing::debug!(target: "prometheus", verb = ?verb, url = %log_url, code, param_bytes = bytes, elapsed_ms = started.elapsed().as_millis() as u64, "prometheus request");
        if !(response.status().is_success() || matches!(code, 400 | 422 | 503)) {
            return Err(Error::UnexpectedStatus { url: log_url, code });
        }
        Ok((response, log_url))
    }

    /// A call whose answer is read whole (instant queries are small), up to the size limit.
    async fn call(&self, endpoint: &str, params: &[(&str, String)]) -> Result<Vec<u8>, Error> {
        let (response, log_url) = self.send(endpoint, params).await?;
        let mut response = response;
        let mut body: Vec<u8> = Vec::with_capacity(
            response
                .content_length()
                .unwrap_or(0)
                .min(self.max_response_bytes as u64) as usize,
        );
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport(&log_url, e))?
        {
            if body.len() + chunk.len() > self.max_response_bytes {
                return Err(Error::ResponseTooLarge {
                    url: log_url,
                    limit: self.max_response_bytes,
                });
            }
            body.extend_from_slice(&chunk);
        }
        tracing::trace!(target: "prometheus", body = %String::from_utf8_lossy(&body[..body.len().min(4096)]), "prometheus response");
        Ok(body)
    }

    fn transport(&self, url: &str, source: reqwest::Error) -> Error {
        if source.is_timeout() {
            Error::Timeout {
                url: url.to_string(),
                timeout: self.timeout,
            }
        } else {
            Error::Transport {
                url: url.to_string(),
                source: Arc::new(source),
            }
        }
    }
}

/// Prometheus sample values: Go's `ParseFloat` forms, including `NaN`, `+Inf`, `-Inf`.
fn parse_value(s: &str) -> f64 {
    match s {
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => s.parse().unwrap_or(f64::NAN),
    }
}

/// Unix seconds with up to three decimals, shortest form (`1714557600.123`, `1714557600`).
pub fn format_time(time: SystemTime) -> String {
    let millis = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let (secs, frac) = (millis / 1000, millis % 1000);
    if frac == 0 {
        secs.to_string()
    } else {
        format!("{secs}.{:03}", frac)
            .trim_end_matches('0')
            .to_string()
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_formatted_like_go_model_time() {
        let at = |ms: u64| UNIX_EPOCH + Duration::from_millis(ms);
        assert_eq!(format_time(at(1_714_557_600_123)), "1714557600.123");
        assert_eq!(format_time(at(1_714_557_600_000)), "1714557600");
        assert_eq!(format_time(at(1_714_557_600_100)), "1714557600.1");
    }

    #[test]
    fn verbs_are_case_sensitive() {
        assert_eq!("GET".parse::<Verb>(), Ok(Verb::Get));
        assert_eq!(
            "get".parse::<Verb>().unwrap_err(),
            "unsupported Prometheus HTTP verb \"get\"; supported verbs: \"GET\" and \"POST\""
        );
    }

    #[test]
    fn basic_auth_is_base64() {
        assert_eq!(auth::basic_value("user", "pass"), "Basic dXNlcjpwYXNz");
        assert_eq!(auth::basic_value("a", ""), "Basic YTo=");
    }

    #[test]
    fn sample_values_parse_go_floats() {
        assert!(parse_value("NaN").is_nan());
        assert_eq!(parse_value("+Inf"), f64::INFINITY);
        assert_eq!(parse_value("-Inf"), f64::NEG_INFINITY);
        assert_eq!(parse_value("1.5e3"), 1500.0);
    }
}
