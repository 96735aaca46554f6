//! Wire types of the metrics APIs and Kubernetes `Status` errors; serde camelCase lives here only.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Serialize;

use crate::model::{LabelSelector, Operator};

#[derive(Serialize, Default)]
pub struct ListMeta {}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ObjectReference {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    #[serde(rename = "apiVersion")]
    pub api_version: String,
}

#[derive(Serialize)]
pub struct MetricValueList<T> {
    pub kind: &'static str,
    #[serde(rename = "apiVersion")]
    pub api_version: &'static str,
    pub metadata: ListMeta,
    pub items: Vec<T>,
}

/// custom.metrics.k8s.io/v1beta1 `MetricValue`.
#[derive(Serialize)]
pub struct MetricValueV1Beta1 {
    #[serde(rename = "describedObject")]
    pub described_object: ObjectReference,
    #[serde(rename = "metricName")]
    pub metric_name: String,
    pub timestamp: String,
    pub value: String,
    /// Always present: `null` without a metricLabelSelector (§5.3.4).
    pub selector: Option<LabelSelectorJson>,
}

/// custom.metrics.k8s.io/v1beta2 `MetricValue`.
#[derive(Serialize)]
pub struct MetricValueV1Beta2 {
    #[serde(rename = "describedObject")]
    pub described_object: ObjectReference,
    pub metric: MetricIdentifier,
    pub timestamp: String,
    pub value: String,
}

#[derive(Serialize)]
pub struct MetricIdentifier {
    pub name: String,
    pub selector: Option<LabelSelectorJson>,
}

/// metav1.LabelSelector as JSON.
#[derive(Serialize, Clone, Debug, PartialEq, Default)]
pub struct LabelSelectorJson {
    #[serde(rename = "matchLabels", skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    #[serde(rename = "matchExpressions", skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct LabelSelectorRequirement {
    pub key: String,
    pub operator: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

impl LabelSelectorJson {
    /// metav1.ParseToLabelSelector semantics; `!=`, `>` and `<` cannot be expressed (§5.3.4).
    pub fn from_selector(selector: &LabelSelector) -> Result<Self, String> {
        let mut out = LabelSelectorJson::default();
        for r in selector.requirements() {
            let operator = match r.operator {
                Operator::Equals | Operator::DoubleEquals => {
                    out.match_labels
                        .insert(r.key.clone(), r.values.first().cloned().unwrap_or_default());
                    continue;
                }
                Operator::In => "In",
                Operator::NotIn => "NotIn",
                Operator::Exists => "Exists",
                Operator::DoesNotExist => "DoesNotExist",
                Operator::NotEquals => {
                    return Err("\"!=\" is not a valid label selector operator".into());
                }
                Operator::GreaterThan => {
                    return Err("\"gt\" is not a valid label selector operator".into());
                }
                Operator::LessThan => {
                    return Err("\"lt\" is not a valid label selector operator".into());
                }
            };
            out.match_expressions.push(LabelSelectorRequirement {
                key: r.key.clone(),
                operator,
                values: r.values.clone(),
            });
        }
        Ok(out)
    }
}

// === Discovery ===

#[derive(Serialize)]
pub struct ApiResourceList {
    pub kind: &'static str,
    #[serde(rename = "apiVersion")]
    pub api_version: &'static str,
    #[serde(rename = "groupVersion")]
    pub group_version: String,
    pub resources: Vec<ApiResource>,
}

#[derive(Serialize)]
pub struct ApiResource {
    pub name: String,
    #[serde(rename = "singularName")]
    pub singular_name: &'static str,
    pub namespaced: bool,
    pub kind: &'static str,
    pub verbs: Vec<&'static str>,
}

#[derive(Serialize, Clone)]
pub struct GroupVersionForDiscovery {
    #[serde(rename = "groupVersion")]
    pub group_version: String,
    pub version: String,
}

#[derive(Serialize, Clone)]
pub struct ApiGroup {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    #[serde(rename = "apiVersion", skip_serializing_if = "Option::is_none")]
    pub api_version: Option<&'static str>,
    pub name: String,
    pub versions: Vec<GroupVersionForDiscovery>,
    #[serde(rename = "preferredVersion")]
    pub preferred_version: GroupVersionForDiscovery,
}

#[derive(Serialize)]
pub struct ApiGroupList {
    pub kind: &'static str,
    #[serde(rename = "apiVersion")]
    pub api_version: &'static str,
    pub groups: Vec<ApiGroup>,
}

// === Status ===

#[derive(Serialize, Debug, PartialEq)]
pub struct Status {
    pub kind: &'static str,
    #[serde(rename = "apiVersion")]
    pub api_version: &'static str,
    pub metadata: BTreeMap<String, String>,
    pub status: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
    pub code: u16,
}

// === Time ===

/// RFC 3339 UTC with second precision, as metav1.Time serialises (`2024-05-01T10:00:00Z`).
pub fn rfc3339(time: SystemTime) -> String {
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    rfc3339_secs(secs)
}

/// Go's `time.Duration.String()` for whole milliseconds: `5m0s`, `1h0m0s`, `30s`, `1.5s`, `0s`.
pub fn go_duration(millis: u64) -> String {
    if millis == 0 {
        return "0s".into();
    }
    if millis < 1000 {
        return format!("{millis}ms");
    }
    let (hours, rest) = (millis / 3_600_000, millis % 3_600_000);
    let (minutes, rest) = (rest / 60_000, rest % 60_000);
    let seconds = match rest % 1000 {
        0 => format!("{}s", rest / 1000),
        frac => format!(
            "{}.{}s",
            rest / 1000,
            format!("{frac:03}").trim_end_matches('0')
        ),
    };
    match (hours, minutes) {
        (0, 0) => seconds,
        (0, m) => format!("{m}m{seconds}"),
        (h, m) => format!("{h}h{m}m{seconds}"),
    }
}

pub fn rfc3339_secs(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_go() {
        let cases = [
            (0, "0s"),
            (300_000, "5m0s"),
            (60_000, "1m0s"),
            (30_000, "30s"),
            (3_600_000, "1h0m0s"),
            (86_400_000, "24h0m0s"),
            (1_500, "1.5s"),
            (500, "500ms"),
            (5_400_000, "1h30m0s"),
        ];
        for (millis, expect) in cases {
            assert_eq!(go_duration(millis), expect);
        }
    }

    #[test]
    fn times_are_rfc3339_seconds() {
        assert_eq!(rfc3339_secs(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_secs(1_714_557_600), "2024-05-01T10:00:00Z");
        assert_eq!(rfc3339_secs(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn metric_label_selectors_become_label_selectors() {
        let json = |s: &str| {
            LabelSelectorJson::from_selector(&LabelSelector::parse(s).unwrap())
                .map(|j| serde_json::to_string(&j).unwrap())
        };
        assert_eq!(json("a=b").unwrap(), r#"{"matchLabels":{"a":"b"}}"#);
        assert_eq!(
            json("a in (x,y),!c").unwrap(),
            r#"{"matchExpressions":[{"key":"a","operator":"In","values":["x","y"]},{"key":"c","operator":"DoesNotExist"}]}"#
        );
        assert_eq!(
            json("a!=b").unwrap_err(),
            "\"!=\" is not a valid label selector operator"
        );
    }
}
