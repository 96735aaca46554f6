//! Delegated authentication and authorization against a fake kube-apiserver (reference §7.2,
//! §7.3): the adapter believes X-Remote-* headers only from a verified front proxy, asks
//! TokenReview about bearer tokens, SubjectAccessReview about everything else, and caches both.

mod support;

use std::sync::atomic::Ordering;

use support::*;

const RULES: &str = "rules:\n- seriesQuery: '{__name__=\"x\"}'\n  resources: {template: <<.Resource>>}\n  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)\n";
const METRIC: &str = "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/*/m";

struct Setup {
    adapter: Adapter,
    auth: FakeCluster,
    front_proxy: Pki,
    /// Signed by the front-proxy CA, but its CN is not in requestheader-allowed-names.
    not_allowed: Pki,
    _dir: tempfile::TempDir,
}

fn setup(extra_args: &[&str]) -> Setup {
    let pkis = client_pkis(
        "front-proxy-ca",
        &[("front-proxy-client", &[]), ("someone-else", &[])],
    );
    setup_with(pkis, extra_args)
}

/// `pkis` from one front-proxy CA: the proxy's own, then one whose CN is not allowed.
fn setup_with(mut pkis: Vec<Pki>, extra_args: &[&str]) -> Setup {
    let not_allowed = pkis.remove(1);
    let front_proxy = pkis.remove(0);
    let mut auth = FakeCluster::with_front_proxy(&front_proxy);
    auth.tokens.push(("alice-token", "alice", vec![]));
    auth.allowed_users = vec!["alice"];
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = start_fake_apiserver_full(
        vec![],
        dir.path(),
        AggregatedBackend::default(),
        auth.clone(),
    );
    let mut args = vec![
        format!("--lister-kubeconfig={}", kubeconfig.display()),
        "--prometheus-url=http://127.0.0.1:1".to_string(),
    ];
    args.extend(extra_args.iter().map(|s| s.to_string()));
    let adapter = Adapter::start(RULES, &args);
    Setup {
        adapter,
        auth,
        front_proxy,
        not_allowed,
        _dir: dir,
    }
}

/// A request straight to the adapter: optional client certificate, bearer token and headers.
fn call(
    setup: &Setup,
    path: &str,
    cert: Option<&Pki>,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder().danger_accept_invalid_certs(true);
    if let Some(pki) = cert {
        builder = builder.identity(
            reqwest::Identity::from_pem(format!("{}{}", pki.cert, pki.key).as_bytes()).unwrap(),
        );
    }
    let client = builder.build().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut request = client.get(format!("https://127.0.0.1:{}{path}", setup.adapter.port));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = request.send().await.unwrap();
        let code = response.status().as_u16();
        let body = response.text().await.unwrap();
        (
            code,
            serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)),
        )
    })
}

#[test]
fn front_proxy_tokens_and_anonymous() {
    let s = setup(&[]);
    let alice = [("X-Remote-User", "alice"), ("X-Remote-Group", "devs")];

    // A verified front proxy: the user is the header's. alice may, the metric is just unknown.
    let (code, body) = call(&s, METRIC, Some(&s.front_proxy), None, &alice);
    assert_eq!(code, 404, "{body}");
    assert_eq!(
        body["message"],
        "the server could not find the metric m for pods"
    );

    // The same headers without the certificate are ignored: anonymous, denied.
    let (code, body) = call(&s, METRIC, None, None, &alice);
    assert_eq!(code, 403, "{body}");
    assert_eq!(
        body["message"],
        r#"pods.custom.metrics.k8s.io "*" is forbidden: User "system:anonymous" cannot get resource "pods/m" in API group "custom.metrics.k8s.io" in the namespace "shop": no RBAC policy matched"#
    );
    assert_eq!(body["reason"], "Forbidden");
    assert_eq!(
        body["details"],
        serde_json::json!({"name": "*", "group": "custom.metrics.k8s.io", "kind": "pods"})
    );

    // A certificate from another CA is a 401, headers or not.
    let rogue = client_pki("rogue-ca", "front-proxy-client", &["system:masters"]);
    let (code, body) = call(&s, METRIC, Some(&rogue), None, &alice);
    assert_eq!(
        (code, body["message"].as_str()),
        (401, Some("Unauthorized")),
        "{body}"
    );

    // The front-proxy CA, but a CN outside requestheader-allowed-names: 401.
    let (code, _) = call(&s, METRIC, Some(&s.not_allowed), None, &alice);
    assert_eq!(code, 401);

    // Another front-proxied user is denied with the reference's message.
    let (code, body) = call(
        &s,
        "/apis/custom.metrics.k8s.io/v1beta1/nodes/n1/m",
        Some(&s.front_proxy),
        None,
        &[("X-Remote-User", "bob")],
    );
    assert_eq!(code, 403);
    assert_eq!(
        body["message"],
        r#"nodes.custom.metrics.k8s.io "n1" is forbidden: User "bob" cannot get resource "nodes/m" in API group "custom.metrics.k8s.io" at the cluster scope: no RBAC policy matched"#
    );

    // Bearer tokens go to TokenReview; an invalid one is a 401, not anonymous.
    let (code, _) = call(&s, METRIC, None, Some("alice-token"), &[]);
    assert_eq!(code, 404);
    let (code, body) = call(&s, METRIC, None, Some("forged"), &[]);
    assert_eq!((code, body["reason"].as_str()), (401, Some("Unauthorized")));

    // Health is always allowed, anonymously; other non-resource paths are authorized.
    assert_eq!(call(&s, "/healthz", None, None, &[]).0, 200);
    assert_eq!(call(&s, "/livez", None, None, &[]).0, 200);
    // Not ready (no Prometheus here), but reachable without credentials.
    assert_eq!(call(&s, "/readyz", None, None, &[]).0, 500);
    let (code, body) = call(&s, "/apis", None, None, &[]);
    assert_eq!(code, 403);
    assert_eq!(
        body["message"],
        r#"forbidden: User "system:anonymous" cannot get path "/apis": no RBAC policy matched"#
    );
}

#[test]
fn reviews_are_cached_for_their_ttl() {
    let s = setup(&[]);
    let reviews = |a: &FakeCluster| {
        (
            a.token_reviews.load(Ordering::SeqCst),
            a.access_reviews.load(Ordering::SeqCst),
        )
    };
    let before = reviews(&s.auth);
    for _ in 0..3 {
        assert_eq!(call(&s, METRIC, None, Some("alice-token"), &[]).0, 404);
    }
    let after = reviews(&s.auth);
    assert_eq!(
        (after.0 - before.0, after.1 - before.1),
        (1, 1),
        "one TokenReview and one SubjectAccessReview within the 10s TTLs"
    );

    let s = setup(&[
        "--authentication-token-webhook-cache-ttl=0s",
        "--authorization-webhook-cache-authorized-ttl=0s",
    ]);
    let before = reviews(&s.auth);
    for _ in 0..3 {
        assert_eq!(call(&s, METRIC, None, Some("alice-token"), &[]).0, 404);
    }
    let after = reviews(&s.auth);
    assert_eq!(
        (after.0 - before.0, after.1 - before.1),
        (3, 3),
        "no caching with zero TTLs"
    );
}

#[test]
fn client_ca_certificates_name_the_user() {
    let mut pkis = client_pkis(
        "client-ca",
        &[("carol", &["system:masters"]), ("erin", &[])],
    );
    let erin = pkis.remove(1);
    let carol = pkis.remove(0);
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("client-ca.crt");
    std::fs::write(&ca, &carol.ca).unwrap();
    let s = setup(&[&format!("--client-ca-file={}", ca.display())]);
    let before = s.auth.access_reviews.load(Ordering::SeqCst);
    // CN is the user, O the groups; system:masters needs no SubjectAccessReview.
    assert_eq!(call(&s, METRIC, Some(&carol), None, &[]).0, 404);
    assert_eq!(s.auth.access_reviews.load(Ordering::SeqCst), before);
    // X-Remote-User with a client-CA (not front-proxy) certificate is not believed: erin, denied.
    let (code, body) = call(&s, METRIC, Some(&erin), None, &[("X-Remote-User", "alice")]);
    assert_eq!(code, 403);
    assert!(
        body["message"].as_str().unwrap().contains(r#"User "erin""#),
        "{body}"
    );
}

#[test]
fn expired_and_not_yet_valid_certificates_are_refused() {
    const EXPIRED: Option<Validity> = Some(((2020, 1, 1), (2021, 1, 1)));
    const NOT_YET_VALID: Option<Validity> = Some(((2090, 1, 1), (2091, 1, 1)));
    let mut front_proxy = client_pkis_valid(
        "front-proxy-ca",
        &[
            ("front-proxy-client", &[], None),
            ("someone-else", &[], None),
            ("front-proxy-client", &[], EXPIRED),
            ("front-proxy-client", &[], NOT_YET_VALID),
        ],
    );
    let future_proxy = front_proxy.pop().unwrap();
    let expired_proxy = front_proxy.pop().unwrap();
    let mut clients = client_pkis_valid(
        "client-ca",
        &[
            ("carol", &["system:masters"], None),
            ("carol", &["system:masters"], EXPIRED),
        ],
    );
    let expired_carol = clients.pop().unwrap();
    let carol = clients.pop().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("client-ca.crt");
    std::fs::write(&ca, &carol.ca).unwrap();
    let s = setup_with(
        front_proxy,
        &[&format!("--client-ca-file={}", ca.display())],
    );
    let alice = [("X-Remote-User", "alice")];

    // (what, certificate, bearer token, status): 404 is "authorized, the metric is unknown".
    let cases: [(&str, &Pki, Option<&str>, u16); 6] = [
        ("valid front proxy", &s.front_proxy, None, 404),
        ("expired front proxy", &expired_proxy, None, 401),
        ("front proxy not valid until 2090", &future_proxy, None, 401),
        ("valid client-CA certificate", &carol, None, 404),
        ("expired client-CA certificate", &expired_carol, None, 401),
        // As the API server's union authenticator: a rejected certificate does not stop a
        // valid token from authenticating.
        (
            "expired certificate and a valid token",
            &expired_proxy,
            Some("alice-token"),
            404,
        ),
    ];
    for (what, cert, token, expected) in cases {
        let (code, body) = call(&s, METRIC, Some(cert), token, &alice);
        assert_eq!(code, expected, "{what}: {body}");
        if code == 401 {
            assert_eq!(body["reason"], "Unauthorized", "{what}: {body}");
        }
    }
}
