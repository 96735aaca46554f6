//! Delegated authentication and authorization, as Kubernetes aggregated API servers do it
//! (reference §7.2, §7.3).
//!
//! Authentication, first success wins: a front-proxy client certificate (chains to the
//! requestheader CA, CN in the allowed names) with the user from `X-Remote-User`/`-Group`/
//! `-Extra-*`; a client certificate from `--client-ca-file` (user = CN, groups = O); a bearer
//! token via TokenReview (cached); otherwise anonymous. Authorization: always-allowed paths,
//! `system:masters`, then a SubjectAccessReview (allow and deny cached separately).
//!
//! Invariants:
//! - `X-Remote-*` headers are believed only with a verified front-proxy certificate, and are
//!   removed from every request before the handlers see it.
//! - A certificate no CA verifies, an invalid token or a disallowed front-proxy CN is a 401,
//!   never anonymous access.
//! - Nothing here knows rules or metrics.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rustls::pki_types::{CertificateDer, UnixTime, pem::PemObject};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

use crate::api::ApiError;
use crate::kube::{
    AccessDecision, Attributes, AuthenticationConfig, Kube, NonResourceAttributes,
    ResourceAttributes, UserInfo,
};

/// The client's certificate chain, as presented in the TLS handshake (not yet verified).
#[derive(Clone, Default)]
pub struct PeerCertificates(pub Arc<Vec<CertificateDer<'static>>>);

#[derive(Clone, Debug)]
pub struct Options {
    /// Flags; each, when set, overrides the ConfigMap's value.
    pub overrides: AuthenticationConfig,
    pub always_allow_paths: Vec<String>,
    pub token_ttl: Duration,
    pub authorized_ttl: Duration,
    pub unauthorized_ttl: Duration,
}

struct Verifiers {
    requestheader: Option<Arc<dyn ClientCertVerifier>>,
    client_ca: Option<Arc<dyn ClientCertVerifier>>,
    config: AuthenticationConfig,
}

/// The authenticator and authorizer of the secure port.
pub struct Auth {
    authn: Kube,
    authz: Kube,
    options: Options,
    verifiers: ArcSwap<Verifiers>,
    tokens: Mutex<HashMap<String, (Option<UserInfo>, Instant)>>,
    decisions: Mutex<HashMap<(String, Attributes), (AccessDecision, Instant)>>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("invalid CA bundle {what}: {message}")]
    Ca { what: &'static str, message: String },
}

impl Auth {
    /// Builds from the ConfigMap (`cluster`, when it could be read) overridden by flags.
    pub fn new(
        authn: Kube,
        authz: Kube,
        options: Options,
        cluster: AuthenticationConfig,
    ) -> Result<Auth, AuthError> {
        let verifiers = build_verifiers(merge(&options.overrides, cluster))?;
        Ok(Auth {
            authn,
            authz,
            options,
            verifiers: ArcSwap::from_pointee(verifiers),
            tokens: Mutex::default(),
            decisions: Mutex::default(),
        })
    }

    /// Re-reads the ConfigMap every minute so CA rotations apply without a restart; a bad
    /// update keeps the previous CAs.
    pub fn spawn_refresh(self: &Arc<Self>) {
        let auth = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(60)).await;
                match auth.authn.authentication_config().await {
                    Ok(cluster) => match build_verifiers(merge(&auth.options.overrides, cluster)) {
                        Ok(v) => auth.verifiers.store(Arc::new(v)),
                        Err(e) => {
                            tracing::warn!(error = %e, "keeping the previous authentication CAs")
                        }
                    },
                    Err(e) => {
                        tracing::warn!(error = %e, "unable to refresh extension-apiserver-authentication")
                    }
                }
            }
        });
    }

    async fn authenticate(
        &self,
        certs: &[CertificateDer<'static>],
        headers: &HeaderMap,
    ) -> Result<UserInfo, ApiError> {
        let verifiers = self.verifiers.load();
        let mut rejected_certificate = false;
        if let Some((end_entity, intermediates)) = certs.split_first() {
            let now = UnixTime::now();
            let front_proxy = match verifiers
                .requestheader
                .as_ref()
                .map(|v| v.verify_client_cert(end_entity, intermediates, now))
            {
                Some(Ok(_)) => true,
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "client certificate is not a front-proxy certificate");
                    false
                }
                None => false,
            };
            if front_proxy {
                let (cn, _) = subject(end_entity);
                let allowed = &verifiers.config.requestheader_allowed_names;
                if !allowed.is_empty() && !allowed.iter().any(|a| Some(a.as_str()) == cn.as_deref())
                {
                    tracing::info!(cn = ?cn, "front-proxy certificate not in requestheader-allowed-names");
                    return Err(ApiError::Unauthorized);
                }
                if let Some(user) = user_from_headers(&verifiers.config, headers) {
                    return Ok(authenticated(user));
                }
            } else if verifiers
                .client_ca
                .as_ref()
                .is_some_and(|v| v.verify_client_cert(end_entity, intermediates, now).is_ok())
            {
                let (cn, organizations) = subject(end_entity);
                if let Some(cn) = cn {
                    return Ok(authenticated(UserInfo {
                        username: cn,
                        groups: organizations,
                        extra: BTreeMap::new(),
                    }));
                }
            } else {
                rejected_certificate = true;
            }
        }
        if let Some(token) = bearer(headers) {
            return match self.review_token(token).await? {
                Some(user) => Ok(authenticated(user)),
                None => Err(ApiError::Unauthorized),
            };
        }
        if rejected_certificate {
            return Err(ApiError::Unauthorized);
        }
        Ok(UserInfo {
            username: "system:anonymous".into(),
            groups: vec!["system:unauthenticated".into()],
            extra: BTreeMap::new(),
        })
    }

    async fn review_token(&self, token: &str) -> Result<Option<UserInfo>, ApiError> {
        if let Some((user, at)) = self.tokens.lock().map_err(poisoned)?.get(token)
            && at.elapsed() < self.options.token_ttl
        {
            return Ok(user.clone());
        }
        let user = self.authn.review_token(token).await.map_err(|e| {
            tracing::warn!(error = %e, "TokenReview failed");
            ApiError::Unauthorized
        })?;
        let mut cache = self.tokens.lock().map_err(poisoned)?;
        cache.retain(|_, (_, at)| at.elapsed() < self.options.token_ttl);
        cache.insert(token.to_string(), (user.clone(), Instant::now()));
        Ok(user)
    }

    async fn authorize(
        &self,
        user: &UserInfo,
        attributes: &Attributes,
    ) -> Result<AccessDecision, ApiError> {
        if user.groups.iter().any(|g| g == "system:masters") {
            return Ok(AccessDecision {
                allowed: true,
                reason: String::new(),
            });
        }
        let key = (
            format!(
                "{}\u{0}{}\u{0}{:?}",
                user.username,
                user.groups.join(","),
                user.extra
            ),
            attributes.clone(),
        );
        if let Some((decision, at)) = self.decisions.lock().map_err(poisoned)?.get(&key) {
            let ttl = if decision.allowed {
                self.options.authorized_ttl
            } else {
                self.options.unauthorized_ttl
            };
            if at.elapsed() < ttl {
                return Ok(decision.clone());
            }
        }
        let decision = self
            .authz
            .review_access(user, attributes)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "SubjectAccessReview failed");
                ApiError::Internal("unable to authorize the request".into())
            })?;
        let mut cache = self.decisions.lock().map_err(poisoned)?;
        let longest = self
            .options
            .authorized_ttl
            .max(self.options.unauthorized_ttl);
        cache.retain(|_, (_, at)| at.elapsed() < longest);
        cache.insert(key, (decision.clone(), Instant::now()));
        Ok(decision)
    }

    fn always_allowed(&self, path: &str) -> bool {
        self.options
            .always_allow_paths
            .iter()
            .any(|allowed| match allowed.strip_suffix('*') {
                Some(prefix) => path.starts_with(prefix),
                None => path == allowed,
            })
    }
}

fn poisoned<T>(_: T) -> ApiError {
    ApiError::Internal("authentication cache unavailable".into())
}

fn authenticated(mut user: UserInfo) -> UserInfo {
    if !user.groups.iter().any(|g| g == "system:authenticated") {
        user.groups.push("system:authenticated".into());
    }
    user
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?
        .trim();
    (!token.is_empty()).then_some(token)
}

/// The user named by the request headers of an authenticated front proxy.
fn user_from_headers(config: &AuthenticationConfig, headers: &HeaderMap) -> Option<UserInfo> {
    let username = config
        .requestheader_username_headers
        .iter()
        .flat_map(|h| headers.get_all(h.as_str()).iter())
        .filter_map(|v| v.to_str().ok())
        .find(|v| !v.is_empty())?
        .to_string();
    let groups = config
        .requestheader_group_headers
        .iter()
        .flat_map(|h| headers.get_all(h.as_str()).iter())
        .filter_map(|v| v.to_str().ok())
        .map(str::to_string)
        .collect();
    let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in headers {
        for prefix in &config.requestheader_extra_headers_prefix {
            if let (Some(key), Ok(value)) = (
                name.as_str().strip_prefix(&prefix.to_ascii_lowercase()),
                value.to_str(),
            ) {
                let key = url::form_urlencoded::parse(format!("k={key}").as_bytes())
                    .next()
                    .map(|(_, v)| v.to_lowercase())
                    .unwrap_or_default();
                extra.entry(key).or_default().push(value.to_string());
            }
        }
    }
    Some(UserInfo {
        username,
        groups,
        extra,
    })
}

fn subject(der: &CertificateDer<'_>) -> (Option<String>, Vec<String>) {
    match x509_parser::parse_x509_certificate(der.as_ref()) {
        Ok((_, cert)) => {
            let cn = cert
                .subject()
                .iter_common_name()
                .next()
                .and_then(|a| a.as_str().ok())
                .map(str::to_string);
            let orgs = cert
                .subject()
                .iter_organization()
                .filter_map(|a| a.as_str().ok())
                .map(str::to_string)
                .collect();
            (cn, orgs)
        }
        Err(_) => (None, vec![]),
    }
}

fn merge(flags: &AuthenticationConfig, cluster: AuthenticationConfig) -> AuthenticationConfig {
    let pick_list = |flag: &Vec<String>, cluster: Vec<String>, default: &str| {
        if !flag.is_empty() {
            flag.clone()
        } else if !cluster.is_empty() {
            cluster
        } else if default.is_empty() {
            vec![]
        } else {
            vec![default.to_string()]
        }
    };
    AuthenticationConfig {
        client_ca: flags.client_ca.clone().or(cluster.client_ca),
        requestheader_client_ca: flags
            .requestheader_client_ca
            .clone()
            .or(cluster.requestheader_client_ca),
        requestheader_username_headers: pick_list(
            &flags.requestheader_username_headers,
            cluster.requestheader_username_headers,
            "x-remote-user",
        ),
        requestheader_group_headers: pick_list(
            &flags.requestheader_group_headers,
            cluster.requestheader_group_headers,
            "x-remote-group",
        ),
        requestheader_extra_headers_prefix: pick_list(
            &flags.requestheader_extra_headers_prefix,
            cluster.requestheader_extra_headers_prefix,
            "x-remote-extra-",
        ),
        requestheader_allowed_names: pick_list(
            &flags.requestheader_allowed_names,
            cluster.requestheader_allowed_names,
            "",
        ),
    }
}

fn build_verifiers(config: AuthenticationConfig) -> Result<Verifiers, AuthError> {
    let verifier = |pem: &Option<String>,
                    what: &'static str|
     -> Result<Option<Arc<dyn ClientCertVerifier>>, AuthError> {
        let Some(pem) = pem.as_ref().filter(|p| !p.trim().is_empty()) else {
            return Ok(None);
        };
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert = cert.map_err(|e| AuthError::Ca {
                what,
                message: e.to_string(),
            })?;
            roots.add(cert).map_err(|e| AuthError::Ca {
                what,
                message: e.to_string(),
            })?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let built =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| AuthError::Ca {
                    what,
                    message: e.to_string(),
                })?;
        Ok(Some(built))
    };
    Ok(Verifiers {
        requestheader: verifier(
            &config.requestheader_client_ca,
            "requestheader-client-ca-file",
        )?,
        client_ca: verifier(&config.client_ca, "client-ca-file")?,
        config,
    })
}

// === Request attributes (Kubernetes request-info rules) ===

/// The SubjectAccessReview attributes of a request (reference §7.3).
pub fn attributes(method: &str, path: &str) -> Attributes {
    let verb = method.to_ascii_lowercase();
    let parts: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    let non_resource = || {
        Attributes::NonResource(NonResourceAttributes {
            path: path.to_string(),
            verb: verb.clone(),
        })
    };
    let (group, version, rest) = match parts.as_slice() {
        ["apis", group, version, rest @ ..] if !rest.is_empty() => (*group, *version, rest),
        ["api", version, rest @ ..] if !rest.is_empty() => ("", *version, rest),
        _ => return non_resource(),
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (*ns, rest),
        ["namespaces", ns] => ("", &["namespaces", *ns][..]),
        _ => ("", rest),
    };
    let resource = rest[0];
    let name = rest.get(1).copied().unwrap_or("");
    let subresource = rest.get(2..).map(|s| s.join("/")).unwrap_or_default();
    let verb = match (verb.as_str(), name.is_empty()) {
        ("get" | "head", true) => "list".to_string(),
        ("get" | "head", false) => "get".to_string(),
        ("post", _) => "create".to_string(),
        ("put", _) => "update".to_string(),
        ("patch", _) => "patch".to_string(),
        ("delete", true) => "deletecollection".to_string(),
        ("delete", false) => "delete".to_string(),
        (other, _) => other.to_string(),
    };
    Attributes::Resource(ResourceAttributes {
        namespace: namespace.to_string(),
        verb,
        group: group.to_string(),
        version: version.to_string(),
        resource: resource.to_string(),
        subresource,
        name: name.to_string(),
    })
}

/// Go's `forbidden` message for a denied request.
pub fn forbidden_message(
    user: &str,
    attributes: &Attributes,
    reason: &str,
) -> (String, serde_json::Value) {
    let suffix = if reason.is_empty() {
        String::new()
    } else {
        format!(": {reason}")
    };
    match attributes {
        Attributes::NonResource(n) => (
            format!(
                "forbidden: User {user:?} cannot {} path {:?}{suffix}",
                n.verb, n.path
            ),
            serde_json::json!({}),
        ),
        Attributes::Resource(r) => {
            let resource = if r.subresource.is_empty() {
                r.resource.clone()
            } else {
                format!("{}/{}", r.resource, r.subresource)
            };
            let qualified = if r.group.is_empty() {
                r.resource.clone()
            } else {
                format!("{}.{}", r.resource, r.group)
            };
            let object = if r.name.is_empty() {
                qualified
            } else {
                format!("{qualified} {:?}", r.name)
            };
            let scope = if r.namespace.is_empty() {
                "at the cluster scope".to_string()
            } else {
                format!("in the namespace {:?}", r.namespace)
            };
            let message = format!(
                "{object} is forbidden: User {user:?} cannot {} resource {resource:?} in API group {:?} {scope}{suffix}",
                r.verb, r.group
            );
            let details = serde_json::json!({"name": r.name, "group": r.group, "kind": r.resource});
            (message, details)
        }
    }
}

// === Middleware ===

/// Authenticates and authorizes every request before routing.
pub async fn middleware(
    State(auth): State<Arc<Auth>>,
    mut request: Request,
    next: Next,
) -> Response {
    let certs = request
        .extensions()
        .get::<PeerCertificates>()
        .cloned()
        .unwrap_or_default();
    tracing::trace!(certificates = certs.0.len(), path = %request.uri().path(), "authenticating");
    let user = auth.authenticate(&certs.0, request.headers()).await;
    strip_request_headers(&auth.verifiers.load().config, request.headers_mut());
    let user = match user {
        Ok(user) => user,
        Err(e) => return e.into_response(),
    };
    let path = request.uri().path().to_string();
    if !auth.always_allowed(&path) {
        let attributes = attributes(request.method().as_str(), &path);
        match auth.authorize(&user, &attributes).await {
            Ok(decision) if decision.allowed => {}
            Ok(decision) => {
                let (message, details) =
                    forbidden_message(&user.username, &attributes, &decision.reason);
                tracing::debug!(user = %user.username, %path, "forbidden");
                return ApiError::Forbidden { message, details }.into_response();
            }
            Err(e) => return e.into_response(),
        }
    }
    request.extensions_mut().insert(user);
    next.run(request).await
}

fn strip_request_headers(config: &AuthenticationConfig, headers: &mut HeaderMap) {
    for name in config
        .requestheader_username_headers
        .iter()
        .chain(&config.requestheader_group_headers)
    {
        headers.remove(name.as_str());
    }
    let prefixes: Vec<String> = config
        .requestheader_extra_headers_prefix
        .iter()
        .map(|p| p.to_ascii_lowercase())
        .collect();
    let extra: Vec<_> = headers
        .keys()
        .filter(|k| prefixes.iter().any(|p| k.as_str().starts_with(p.as_str())))
        .cloned()
        .collect();
    for name in extra {
        headers.remove(name);
    }
}

// === TLS: request a client certificate, verify it later ===

/// Asks for a client certificate without requiring one and accepts any chain in the handshake
/// (still checking the handshake signature), as Go's `RequestClientCert` does: the
/// authenticators verify the chain against the CA each one trusts, and a client without a
/// certificate can still use a token.
#[derive(Debug)]
pub struct RequestClientCert {
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl RequestClientCert {
    pub fn new() -> Self {
        RequestClientCert {
            provider: Arc::new(rustls::crypto::ring::default_provider()),
        }
    }
}

impl Default for RequestClientCert {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientCertVerifier for RequestClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(
        verb: &str,
        group: &str,
        resource: &str,
        subresource: &str,
        name: &str,
        namespace: &str,
    ) -> Attributes {
        Attributes::Resource(ResourceAttributes {
            namespace: namespace.into(),
            verb: verb.into(),
            group: group.into(),
            version: if group == "metrics.k8s.io" || group.ends_with("metrics.k8s.io") {
                "v1beta1".into()
            } else {
                "v1".into()
            },
            resource: resource.into(),
            subresource: subresource.into(),
            name: name.into(),
        })
    }

    /// The attribute table of reference §7.3.
    #[test]
    fn request_attributes_follow_request_info_rules() {
        let cases = [
            (
                "/apis/custom.metrics.k8s.io/v1beta1/namespaces/ns/pods/*/m",
                resource("get", "custom.metrics.k8s.io", "pods", "m", "*", "ns"),
            ),
            (
                "/apis/custom.metrics.k8s.io/v1beta1/nodes/n1/m",
                resource("get", "custom.metrics.k8s.io", "nodes", "m", "n1", ""),
            ),
            (
                "/apis/custom.metrics.k8s.io/v1beta1/namespaces/ns/metrics/m",
                resource("get", "custom.metrics.k8s.io", "metrics", "", "m", "ns"),
            ),
            (
                "/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/q",
                resource("list", "external.metrics.k8s.io", "q", "", "", "ns"),
            ),
            (
                "/apis/metrics.k8s.io/v1beta1/namespaces/ns/pods",
                resource("list", "metrics.k8s.io", "pods", "", "", "ns"),
            ),
            (
                "/apis/metrics.k8s.io/v1beta1/nodes/n1",
                resource("get", "metrics.k8s.io", "nodes", "", "n1", ""),
            ),
        ];
        for (path, expect) in cases {
            assert_eq!(attributes("GET", path), expect, "{path}");
        }
        for path in [
            "/metrics",
            "/openapi/v2",
            "/apis",
            "/version",
            "/apis/custom.metrics.k8s.io/v1beta1",
        ] {
            assert_eq!(
                attributes("GET", path),
                Attributes::NonResource(NonResourceAttributes {
                    path: path.into(),
                    verb: "get".into()
                })
            );
        }
    }

    #[test]
    fn forbidden_messages_match_go() {
        let (message, details) = forbidden_message(
            "bob",
            &attributes(
                "GET",
                "/apis/custom.metrics.k8s.io/v1beta1/namespaces/ns/pods/*/m",
            ),
            "",
        );
        assert_eq!(
            message,
            r#"pods.custom.metrics.k8s.io "*" is forbidden: User "bob" cannot get resource "pods/m" in API group "custom.metrics.k8s.io" in the namespace "ns""#
        );
        assert_eq!(
            details,
            serde_json::json!({"name": "*", "group": "custom.metrics.k8s.io", "kind": "pods"})
        );
        let (message, _) = forbidden_message(
            "bob",
            &attributes("GET", "/apis/metrics.k8s.io/v1beta1/nodes"),
            "no RBAC policy matched",
        );
        assert_eq!(
            message,
            r#"nodes.metrics.k8s.io is forbidden: User "bob" cannot list resource "nodes" in API group "metrics.k8s.io" at the cluster scope: no RBAC policy matched"#
        );
        let (message, _) =
            forbidden_message("system:anonymous", &attributes("GET", "/metrics"), "");
        assert_eq!(
            message,
            r#"forbidden: User "system:anonymous" cannot get path "/metrics""#
        );
    }
}
