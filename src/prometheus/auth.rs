//! How the client proves who it is to Prometheus, and which servers it trusts (reference §4.1,
//! plus what users of auth proxies, Thanos, Mimir and managed services need).
//!
//! Authorization header, first source that applies: an explicit `--prometheus-header
//! Authorization=…`, user-info in `--prometheus-url`, `--prometheus-basic-auth-username` with
//! `--prometheus-basic-auth-password-file`, `--prometheus-token-file`, then the credentials of
//! `--prometheus-auth-config` / `--prometheus-auth-incluster`. Files are re-read when they
//! change (projected service-account tokens rotate), and a file that cannot be read keeps the
//! last good value. TLS: `--prometheus-ca-file` (then the kubeconfig's TLS is ignored, as
//! upstream), else the kubeconfig's CA and insecure flag; a client certificate from the flags
//! (or the kubeconfig) is reloaded when its files change.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use reqwest::header::HeaderValue;
use secrecy::ExposeSecret as _;

use super::BuildError;

/// Credentials and TLS taken from a kubeconfig's current context or from the pod's service
/// account (`--prometheus-auth-config`, `--prometheus-auth-incluster`). The `server` of the
/// kubeconfig is ignored: `--prometheus-url` says where Prometheus is.
#[derive(Clone, Debug, Default)]
pub struct KubeAuth {
    pub ca_pem: Option<Vec<u8>>,
    pub ca_file: Option<PathBuf>,
    pub identity_pem: Option<Vec<u8>>,
    pub insecure: bool,
    pub token: Option<String>,
    pub token_file: Option<PathBuf>,
    pub basic: Option<(String, String)>,
}

impl KubeAuth {
    /// The current context of a kubeconfig file.
    pub fn from_kubeconfig(path: &Path) -> Result<KubeAuth, BuildError> {
        let fail = |message: String| {
            BuildError::AuthConfig(format!(
                "unable to construct auth configuration from {:?} for connecting to Prometheus: {message}",
                path.display().to_string()
            ))
        };
        let config =
            ::kube::config::Kubeconfig::read_from(path).map_err(|e| fail(e.to_string()))?;
        let context_name = config
            .current_context
            .clone()
            .ok_or_else(|| fail("no current-context".into()))?;
        let context = config
            .contexts
            .iter()
            .find(|c| c.name == context_name)
            .and_then(|c| c.context.clone())
            .ok_or_else(|| fail(format!("context {context_name:?} not found")))?;
        let cluster = config
            .clusters
            .iter()
            .find(|c| c.name == context.cluster)
            .and_then(|c| c.cluster.clone())
            .ok_or_else(|| fail(format!("cluster {:?} not found", context.cluster)))?;
        let user = match &context.user {
            Some(name) => config
                .auth_infos
                .iter()
                .find(|a| &a.name == name)
                .and_then(|a| a.auth_info.clone())
                .ok_or_else(|| fail(format!("user {name:?} not found")))?,
            None => Default::default(),
        };
        if user.exec.is_some() || user.auth_provider.is_some() {
            return Err(fail(
                "exec and auth-provider credentials are not supported for Prometheus; use a token, token file, basic auth or a client certificate".into(),
            ));
        }
        // Relative file paths in a kubeconfig are relative to the kubeconfig itself.
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: &str| base.join(p);
        let decode = |what: &str, data: &str| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(data.trim())
                .map_err(|e| fail(format!("{what}: {e}")))
        };
        let ca_pem = match &cluster.certificate_authority_data {
            Some(data) => Some(decode("certificate-authority-data", data)?),
            None => None,
        };
        let ca_file = cluster.certificate_authority.as_deref().map(resolve);
        let cert = match (&user.client_certificate_data, &user.client_certificate) {
            (Some(data), _) => Some(decode("client-certificate-data", data)?),
            (None, Some(file)) => Some(
                std::fs::read(resolve(file))
                    .map_err(|e| fail(format!("client-certificate: {e}")))?,
            ),
            _ => None,
        };
        let key = match (&user.client_key_data, &user.client_key) {
            (Some(data), _) => Some(decode("client-key-data", data.expose_secret())?),
            (None, Some(file)) => {
                Some(std::fs::read(resolve(file)).map_err(|e| fail(format!("client-key: {e}")))?)
            }
            _ => None,
        };
        let identity_pem = match (cert, key) {
            (Some(mut cert), Some(key)) => {
                cert.push(b'\n');
                cert.extend(key);
                Some(cert)
            }
            (None, None) => None,
            _ => {
                return Err(fail(
                    "a client certificate needs both a certificate and a key".into(),
                ));
            }
        };
        Ok(KubeAuth {
            ca_pem,
            ca_file,
            identity_pem,
            insecure: cluster.insecure_skip_tls_verify.unwrap_or(false),
            token: user.token.as_ref().map(|t| t.expose_secret().to_string()),
            token_file: user.token_file.as_deref().map(resolve),
            basic: user.username.clone().map(|u| {
                (
                    u,
                    user.password
                        .as_ref()
                        .map(|p| p.expose_secret().to_string())
                        .unwrap_or_default(),
                )
            }),
        })
    }

    /// The pod's service account: its token (re-read as it rotates) and the cluster CA.
    pub fn in_cluster(dir: &Path) -> Result<KubeAuth, BuildError> {
        let token_file = dir.join("token");
        if !token_file.exists() {
            return Err(BuildError::AuthConfig(format!(
                "unable to construct in-cluster auth configuration for connecting to Prometheus: {} does not exist (not running in a pod with a service account token?)",
                token_file.display()
            )));
        }
        let ca = dir.join("ca.crt");
        Ok(KubeAuth {
            ca_file: ca.exists().then_some(ca),
            token_file: Some(token_file),
            ..KubeAuth::default()
        })
    }
}

/// The service account directory Kubernetes mounts into pods.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// A credential kept in a file, turned into an `Authorization` value, re-read when the file's
/// modification time changes.
#[derive(Debug)]
pub(super) struct CredentialFile {
    path: PathBuf,
    /// `None`: bearer; `Some(user)`: the file holds the basic-auth password.
    basic_user: Option<String>,
    current: Mutex<(Option<SystemTime>, HeaderValue)>,
}

impl CredentialFile {
    pub(super) fn bearer(path: &Path) -> Result<CredentialFile, BuildError> {
        Self::new(path, None)
    }

    pub(super) fn basic(user: &str, path: &Path) -> Result<CredentialFile, BuildError> {
        Self::new(path, Some(user.to_string()))
    }

    fn new(path: &Path, basic_user: Option<String>) -> Result<CredentialFile, BuildError> {
        let loaded = load(path, basic_user.as_deref()).map_err(|e| match &basic_user {
            None => BuildError::ReadToken(e),
            Some(_) => BuildError::ReadPassword(e),
        })?;
        Ok(CredentialFile {
            path: path.to_path_buf(),
            basic_user,
            current: Mutex::new(loaded),
        })
    }

    /// The current header; a file that cannot be read keeps the last good value.
    pub(super) fn header(&self) -> HeaderValue {
        let modified = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok();
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if modified != current.0 {
            match load(&self.path, self.basic_user.as_deref()) {
                Ok(fresh) => {
                    tracing::info!(path = %self.path.display(), "re-read a Prometheus credential file");
                    *current = fresh;
                }
                Err(e) => {
                    tracing::warn!(path = %self.path.display(), error = %e, "keeping the previous Prometheus credential")
                }
            }
        }
        current.1.clone()
    }
}

/// Reads a token or password, trimmed: the reference sent a trailing newline verbatim and Go
/// refused every request (§4.1).
fn load(
    path: &Path,
    basic_user: Option<&str>,
) -> std::io::Result<(Option<SystemTime>, HeaderValue)> {
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let secret = std::fs::read_to_string(path)?;
    let value = match basic_user {
        None => format!("Bearer {}", secret.trim()),
        Some(user) => basic_value(user, secret.trim_end_matches(['\r', '\n'])),
    };
    let mut value = HeaderValue::from_str(&value)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    value.set_sensitive(true);
    Ok((modified, value))
}

pub(super) fn basic_value(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// What the HTTP client trusts and presents, from files that may change.
#[derive(Clone, Debug, Default)]
pub(super) struct Tls {
    pub ca_file: Option<PathBuf>,
    pub ca_pem: Option<Vec<u8>>,
    pub client_cert_file: Option<PathBuf>,
    pub client_key_file: Option<PathBuf>,
    pub identity_pem: Option<Vec<u8>>,
    pub insecure: bool,
}

impl Tls {
    fn files(&self) -> Vec<&Path> {
        [&self.ca_file, &self.client_cert_file, &self.client_key_file]
            .into_iter()
            .flatten()
            .map(PathBuf::as_path)
            .collect()
    }

    fn stamps(&self) -> Vec<Option<SystemTime>> {
        self.files()
            .iter()
            .map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
            .collect()
    }

    pub(super) fn apply(
        &self,
        mut builder: reqwest::ClientBuilder,
    ) -> Result<reqwest::ClientBuilder, BuildError> {
        let ca = match (&self.ca_file, &self.ca_pem) {
            (Some(file), _) => Some(std::fs::read(file).map_err(BuildError::ReadCa)?),
            (None, Some(pem)) => Some(pem.clone()),
            (None, None) => None,
        };
        if let Some(pem) = ca {
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| BuildError::NoCerts)?;
            if certs.is_empty() {
                return Err(BuildError::NoCerts);
            }
            builder = builder.tls_certs_only(certs);
        }
        let identity = match (
            &self.client_cert_file,
            &self.client_key_file,
            &self.identity_pem,
        ) {
            (Some(cert), Some(key), _) => {
                let mut pem =
                    std::fs::read(cert).map_err(|e| BuildError::KeyPair(e.to_string()))?;
                pem.push(b'\n');
                pem.extend(std::fs::read(key).map_err(|e| BuildError::KeyPair(e.to_string()))?);
                Some(pem)
            }
            (_, _, Some(pem)) => Some(pem.clone()),
            _ => None,
        };
        if let Some(pem) = identity {
            let identity = reqwest::Identity::from_pem(&pem)
                .map_err(|e| BuildError::KeyPair(e.to_string()))?;
            builder = builder.identity(identity);
        }
        if self.insecure {
            builder = builder.danger_accept_invalid_certs(true);
        }
        Ok(builder)
    }
}

/// The HTTP client, rebuilt when a TLS file changes (checked at most once a second, on use):
/// rotated client certificates and CA bundles apply without a restart.
pub(super) struct ReloadingHttp {
    current: ArcSwap<reqwest::Client>,
    build: Box<dyn Fn() -> Result<reqwest::Client, BuildError> + Send + Sync>,
    tls: Tls,
    checked: Mutex<(Instant, Vec<Option<SystemTime>>)>,
}

impl std::fmt::Debug for ReloadingHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadingHttp")
            .field("tls", &self.tls.files())
            .finish()
    }
}

impl ReloadingHttp {
    pub(super) fn new(
        tls: Tls,
        build: impl Fn() -> Result<reqwest::Client, BuildError> + Send + Sync + 'static,
    ) -> Result<Arc<ReloadingHttp>, BuildError> {
        let first = build()?;
        Ok(Arc::new(ReloadingHttp {
            current: ArcSwap::from_pointee(first),
            checked: Mutex::new((Instant::now(), tls.stamps())),
            build: Box::new(build),
            tls,
        }))
    }

    pub(super) fn get(&self) -> Arc<reqwest::Client> {
        if !self.tls.files().is_empty()
            && let Ok(mut checked) = self.checked.try_lock()
            && checked.0.elapsed() >= Duration::from_secs(1)
        {
            checked.0 = Instant::now();
            let stamps = self.tls.stamps();
            if stamps != checked.1 {
                match (self.build)() {
                    Ok(client) => {
                        tracing::info!(files = ?self.tls.files(), "Prometheus TLS files changed; new connections use them");
                        self.current.store(Arc::new(client));
                        checked.1 = stamps;
                    }
                    // Mid-rotation (key written, certificate not yet): try again next time.
                    Err(e) => {
                        tracing::warn!(error = %e, "keeping the previous Prometheus TLS configuration")
                    }
                }
            }
        }
        self.current.load_full()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_credentials_and_tls() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), "CA").unwrap();
        std::fs::write(dir.path().join("token"), "from-file\n").unwrap();
        let write = |text: &str| {
            let path = dir.path().join("kubeconfig");
            std::fs::write(&path, text).unwrap();
            KubeAuth::from_kubeconfig(&path)
        };
        let head = "apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\nclusters:\n- name: k\n  cluster: {server: 'https://ignored', certificate-authority: ca.pem, insecure-skip-tls-verify: true}\n";
        let auth = write(&format!(
            "{head}users:\n- name: u\n  user: {{token: abc}}\n"
        ))
        .unwrap();
        assert_eq!(auth.token.as_deref(), Some("abc"));
        assert_eq!(
            auth.ca_file,
            Some(dir.path().join("ca.pem")),
            "relative to the kubeconfig"
        );
        assert!(auth.insecure);
        let auth = write(&format!(
            "{head}users:\n- name: u\n  user: {{tokenFile: token}}\n"
        ))
        .unwrap();
        assert_eq!(auth.token_file, Some(dir.path().join("token")));
        let auth = write(&format!(
            "{head}users:\n- name: u\n  user: {{username: a, password: b}}\n"
        ))
        .unwrap();
        assert_eq!(auth.basic, Some(("a".into(), "b".into())));
        let err = write(&format!(
            "{head}users:\n- name: u\n  user: {{exec: {{command: x, apiVersion: client.authentication.k8s.io/v1}}}}\n"
        ))
        .unwrap_err();
        assert!(err.to_string().contains("exec and auth-provider"), "{err}");
        let err = write(&format!(
            "{head}users:\n- name: u\n  user: {{client-certificate: ca.pem}}\n"
        ))
        .unwrap_err();
        assert!(err.to_string().contains("needs both"), "{err}");
        let err = write("apiVersion: v1\nkind: Config\n").unwrap_err();
        assert!(err.to_string().contains("no current-context"), "{err}");
    }

    #[test]
    fn credential_files_rotate_and_survive_bad_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "one\n").unwrap();
        let bearer = CredentialFile::bearer(&path).unwrap();
        assert_eq!(bearer.header(), "Bearer one");
        let basic = CredentialFile::basic("user", &path).unwrap();
        assert_eq!(basic.header(), basic_value("user", "one"));
        // A new file (new mtime) is picked up on the next call.
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&path, "two").unwrap();
        let later = SystemTime::now() + Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert_eq!(bearer.header(), "Bearer two");
        std::fs::remove_file(&path).unwrap();
        assert_eq!(bearer.header(), "Bearer two", "kept while unreadable");
        assert!(CredentialFile::bearer(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn in_cluster_needs_a_token() {
        let dir = tempfile::tempdir().unwrap();
        assert!(KubeAuth::in_cluster(dir.path()).is_err());
        std::fs::write(dir.path().join("token"), "t").unwrap();
        let auth = KubeAuth::in_cluster(dir.path()).unwrap();
        assert_eq!(auth.token_file, Some(dir.path().join("token")));
        assert_eq!(auth.ca_file, None);
    }
}
