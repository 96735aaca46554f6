use super::*;

fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn paths_parse_with_request_info_rules() {
    let ok = |path: &str| CustomRequest::parse(path, &params(&[])).unwrap();
    let r = ok("namespaces/default/pods/*/http_requests");
    assert_eq!(
        (
            r.namespace.as_deref(),
            r.resource.to_string(),
            r.name,
            r.metric.as_str()
        ),
        (Some("default"), "pods".into(), None, "http_requests")
    );
    let r = ok("namespaces/prod/metrics/queue");
    assert_eq!(
        (r.namespace, r.resource.to_string(), r.name.as_deref()),
        (None, "namespaces".into(), Some("prod"))
    );
    let r = ok("nodes/n1/fan");
    assert_eq!(
        (r.namespace, r.resource.to_string(), r.name.as_deref()),
        (None, "nodes".into(), Some("n1"))
    );
    let r = ok("namespaces/default/deployments.apps/web/m");
    assert_eq!(r.resource, GroupResource::new("apps", "deployments"));
    let err = |path: &str, p: &[(&str, &str)]| CustomRequest::parse(path, &params(p)).unwrap_err();
    assert_eq!(
        err("namespaces/default/foo", &[]),
        ApiError::BadRequest("invalid request path".into())
    );
    assert_eq!(err("pods/x", &[]), ApiError::RouteNotFound);
    assert_eq!(err("a/b/c/d", &[]), ApiError::RouteNotFound);
    assert!(matches!(
        err("namespaces/d/pods/*/m", &[("labelSelector", "a=\"b")]),
        ApiError::BadRequest(_)
    ));
    assert_eq!(
        err(
            "namespaces/d/pods/x/m",
            &[("fieldSelector", "metadata.name=y")]
        ),
        ApiError::BadRequest("fieldSelector metadata.name doesn't match requested name".into())
    );
    assert!(
        CustomRequest::parse(
            "namespaces/d/pods/x/m",
            &params(&[("metricLabelSelector", "a in (")])
        )
        .unwrap()
        .metric_selector_error
        .is_some()
    );
}

#[test]
fn errors_are_status_objects_with_reference_messages() {
    let cases = [
        (
            ApiError::MetricNotFound {
                metric: "http_requests".into(),
                resource: "pods".into(),
            },
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server could not find the metric http_requests for pods","reason":"NotFound","code":404}"#,
        ),
        (
            ApiError::Internal("unable to fetch metrics".into()),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Internal error occurred: unable to fetch metrics","reason":"InternalError","details":{"causes":[{"message":"unable to fetch metrics"}]},"code":500}"#,
        ),
        (
            ApiError::RouteNotFound,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server could not find the requested resource","reason":"NotFound","details":{},"code":404}"#,
        ),
        (
            ApiError::Plain("\"!=\" is not a valid label selector operator".into()),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"\"!=\" is not a valid label selector operator","code":500}"#,
        ),
    ];
    for (error, expect) in cases {
        assert_eq!(serde_json::to_string(&error.status()).unwrap(), expect);
    }
}
