//! Vocabulary types of the domain: group-resources, scopes, metric and series names, Kubernetes
//! label selectors. No I/O and no wire formats live here.
//!
//! Invariants:
//! - A `GroupResource` displays as Kubernetes does (`pods`, `deployments.apps`); the core group is `""`.
//! - A parsed `LabelSelector` has its requirements sorted by key and `in`/`notin` values sorted,
//!   as the Kubernetes parser leaves them, so PromQL built from it is deterministic.

use std::collections::BTreeMap;
use std::fmt;

// === GroupResource ===

/// A Kubernetes resource with its API group, e.g. `deployments.apps` or `pods` (core group `""`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct GroupResource {
    pub group: String,
    pub resource: String,
}

impl GroupResource {
    pub fn new(group: impl Into<String>, resource: impl Into<String>) -> Self {
        GroupResource {
            group: group.into(),
            resource: resource.into(),
        }
    }

    pub fn core(resource: impl Into<String>) -> Self {
        GroupResource::new("", resource)
    }

    /// Parses the resource segment of a request path: split at the first `.` as
    /// Kubernetes request-info does (`deployments.apps` → resource `deployments`, group `apps`).
    pub fn parse_segment(segment: &str) -> Self {
        match segment.split_once('.') {
            Some((resource, group)) => GroupResource::new(group, resource),
            None => GroupResource::core(segment),
        }
    }
}

impl fmt::Display for GroupResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            f.write_str(&self.resource)
        } else {
            write!(f, "{}.{}", self.resource, self.group)
        }
    }
}

// === Scope ===

/// Whether a metric is reached through the namespaced URL form or the root-scoped one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Namespaced,
    Cluster,
}

impl Scope {
    pub fn is_namespaced(self) -> bool {
        self == Scope::Namespaced
    }

    /// The reference registers every resource as namespaced except these three (§2.5), whatever
    /// the resource's real scope. Clients reach metrics through that key, so we keep the rule.
    pub fn for_registered_resource(resource: &GroupResource) -> Scope {
        let root = resource.group.is_empty()
            && matches!(
                resource.resource.as_str(),
                "namespaces" | "nodes" | "persistentvolumes"
            );
        if root {
            Scope::Cluster
        } else {
            Scope::Namespaced
        }
    }
}

// === Names ===

macro_rules! string_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                $name(value.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

string_newtype!(
    /// The name clients ask for (`http_requests`): the result of a rule's `name.as`.
    MetricName
);
string_newtype!(
    /// The Prometheus `__name__` of a series (`http_requests_total`).
    SeriesName
);

// === LabelSelector ===

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    Equals,
    DoubleEquals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

impl Operator {
    fn as_str(self) -> &'static str {
        match self {
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => "in",
            Operator::NotIn => "notin",
            Operator::Exists => "exists",
            Operator::DoesNotExist => "!",
            Operator::GreaterThan => "gt",
            Operator::LessThan => "lt",
        }
    }
}

/// One requirement of a Kubernetes label selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub operator: Operator,
    /// Sorted; one value for `=`, `==`, `!=`, `>`, `<`; none for exists / does-not-exist.
    pub values: Vec<String>,
}

impl Requirement {
    /// Kubernetes selector semantics against one object's (or series') labels.
    pub fn matches(&self, labels: &dyn Fn(&str) -> Option<String>) -> bool {
        let value = labels(&self.key);
        match self.operator {
            Operator::Equals | Operator::DoubleEquals | Operator::In => {
                value.is_some_and(|v| self.values.contains(&v))
            }
            Operator::NotEquals | Operator::NotIn => {
                value.is_none_or(|v| !self.values.contains(&v))
            }
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let (Some(v), Some(bound)) = (value, self.values.first()) else {
                    return false;
                };
                let (Ok(v), Ok(bound)) = (v.parse::<i64>(), bound.parse::<i64>()) else {
                    return false;
                };
                if self.operator == Operator::GreaterThan {
                    v > bound
                } else {
                    v < bound
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.operator {
            Operator::Exists => write!(f, "{}", self.key),
            Operator::DoesNotExist => write!(f, "!{}", self.key),
            Operator::In | Operator::NotIn => {
                write!(
                    f,
                    "{} {} ({})",
                    self.key,
                    self.operator.as_str(),
                    self.values.join(",")
                )
            }
            Operator::GreaterThan => write!(f, "{}>{}", self.key, self.values.join(",")),
            Operator::LessThan => write!(f, "{}<{}", self.key, self.values.join(",")),
            _ => write!(
                f,
                "{}{}{}",
                self.key,
                self.operator.as_str(),
                self.values.join(",")
            ),
        }
    }
}

/// A parsed Kubernetes label selector (`app=web,tier in (a,b),!canary`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unable to parse requirement: {0}")]
pub struct SelectorError(String);

impl LabelSelector {
    pub fn everything() -> Self {
        LabelSelector::default()
    }

    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    pub fn matches(&self, labels: &dyn Fn(&str) -> Option<String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    pub fn matches_map(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches(&|k| labels.get(k).cloned())
    }

    /// Parses the selector grammar of Kubernetes' `labels.Parse`, with its key and value validation.
    ///
    /// ```
    /// use prometheus_adapter::model::LabelSelector;
    /// let selector = LabelSelector::parse("tier in (b,a),app=web").unwrap();
    /// assert_eq!(selector.to_string(), "app=web,tier in (a,b)");
    /// assert!(LabelSelector::parse("app=we\"b").is_err());
    /// ```
    pub fn parse(input: &str) -> Result<Self, SelectorError> {
        let mut lexer = Lexer {
            chars: input.chars().collect(),
            pos: 0,
        };
        let mut requirements = Vec::new();
        if lexer.peek_token().is_none() {
            return Ok(LabelSelector::default());
        }
        loop {
            requirements.push(parse_requirement(&mut lexer)?);
            match lexer.next_token() {
                None => break,
                Some(Token::Comma) => {
                    if lexer.peek_token().is_none() {
                        return Err(SelectorError(
                            "found '', expected: identifier after ','".into(),
                        ));
                    }
                }
                Some(other) => {
                    return Err(SelectorError(format!(
                        "found '{}', expected: ',' or 'end of string'",
                        other.text()
                    )));
                }
            }
        }
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector { requirements })
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Ident(String),
    Comma,
    Open,
    Close,
    Equals,
    DoubleEquals,
    NotEquals,
    Bang,
    Gt,
    Lt,
    In,
    NotIn,
}

impl Token {
    fn text(&self) -> String {
        match self {
            Token::Ident(s) => s.clone(),
            Token::Comma => ",".into(),
            Token::Open => "(".into(),
            Token::Close => ")".into(),
            Token::Equals => "=".into(),
            Token::DoubleEquals => "==".into(),
            Token::NotEquals => "!=".into(),
            Token::Bang => "!".into(),
            Token::Gt => ">".into(),
            Token::Lt => "<".into(),
            Token::In => "in".into(),
            Token::NotIn => "notin".into(),
        }
    }
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
}

impl Lexer {
    fn peek_token(&mut self) -> Option<Token> {
        let save = self.pos;
        let token = self.next_token();
        self.pos = save;
        token
    }

    fn next_token(&mut self) -> Option<Token> {
        while self.pos < self.chars.len() && self.chars[self.pos].is_whitespace() {
            self.pos += 1;
        }
        let c = *self.chars.get(self.pos)?;
        let two = self.chars.get(self.pos + 1).copied();
        let (token, len) = match (c, two) {
            (',', _) => (Token::Comma, 1),
            ('(', _) => (Token::Open, 1),
            (')', _) => (Token::Close, 1),
            ('=', Some('=')) => (Token::DoubleEquals, 2),
            ('=', _) => (Token::Equals, 1),
            ('!', Some('=')) => (Token::NotEquals, 2),
            ('!', _) => (Token::Bang, 1),
            ('>', _) => (Token::Gt, 1),
            ('<', _) => (Token::Lt, 1),
            _ => {
                let start = self.pos;
                while self.pos < self.chars.len() {
                    let ch = self.chars[self.pos];
                    if ch.is_whitespace() || ",()=!<>".contains(ch) {
                        break;
                    }
                    self.pos += 1;
                }
                let word: String = self.chars[start..self.pos].iter().collect();
                return Some(match word.as_str() {
                    "in" => Token::In,
                    "notin" => Token::NotIn,
                    _ => Token::Ident(word),
                });
            }
        };
        self.pos += len;
        Some(token)
    }
}

fn parse_requirement(lexer: &mut Lexer) -> Result<Requirement, SelectorError> {
    let first = lexer.next_token();
    let (key, does_not_exist) = match first {
        Some(Token::Bang) => match lexer.next_token() {
            Some(Token::Ident(key)) => (key, true),
            other => {
                return Err(SelectorError(format!(
                    "found '{}', expected: identifier",
                    text_of(other)
                )));
            }
        },
        Some(Token::Ident(key)) => (key, false),
        other => {
            return Err(SelectorError(format!(
                "found '{}', expected: !, identifier, or 'end of string'",
                text_of(other)
            )));
        }
    };
    validate_key(&key)?;
    if does_not_exist {
        return Ok(Requirement {
            key,
            operator: Operator::DoesNotExist,
            values: vec![],
        });
    }
    let operator = match lexer.peek_token() {
        None | Some(Token::Comma) => {
            return Ok(Requirement {
                key,
                operator: Operator::Exists,
                values: vec![],
            });
        }
        Some(Token::Equals) => Operator::Equals,
        Some(Token::DoubleEquals) => Operator::DoubleEquals,
        Some(Token::NotEquals) => Operator::NotEquals,
        Some(Token::In) => Operator::In,
        Some(Token::NotIn) => Operator::NotIn,
        Some(Token::Gt) => Operator::GreaterThan,
        Some(Token::Lt) => Operator::LessThan,
        Some(other) => {
            return Err(SelectorError(format!(
                "found '{}', expected: in, notin, =, ==, !=, gt, lt",
                other.text()
            )));
        }
    };
    lexer.next_token();
    let mut values = Vec::new();
    match operator {
        Operator::In | Operator::NotIn => {
            if lexer.next_token() != Some(Token::Open) {
                return Err(SelectorError("found '', expected: '('".into()));
            }
            loop {
                match lexer.next_token() {
                    Some(Token::Ident(v)) => values.push(v),
                    // `in (a,,b)` and `in ()` are accepted by Kubernetes as empty values.
                    Some(Token::Comma) => {
                        values.push(String::new());
                        continue;
                    }
                    Some(Token::Close) => {
                        if values.is_empty() {
                            values.push(String::new());
                        }
                        break;
                    }
                    other => {
                        return Err(SelectorError(format!(
                            "found '{}', expected: ',', ')' or identifier",
                            text_of(other)
                        )));
                    }
                }
                match lexer.next_token() {
                    Some(Token::Comma) => {}
                    Some(Token::Close) => break,
                    other => {
                        return Err(SelectorError(format!(
                            "found '{}', expected: ',' or ')'",
                            text_of(other)
                        )));
                    }
                }
            }
        }
        _ => match lexer.peek_token() {
            Some(Token::Ident(v)) => {
                lexer.next_token();
                values.push(v);
            }
            // `k=` selects an empty value.
            None | Some(Token::Comma) => values.push(String::new()),
            Some(other) => {
                return Err(SelectorError(format!(
                    "found '{}', expected: identifier",
                    other.text()
                )));
            }
        },
    }
    for value in &values {
        validate_value(&key, value)?;
        if matches!(operator, Operator::GreaterThan | Operator::LessThan)
            && value.parse::<i64>().is_err()
        {
            return Err(SelectorError(format!(
                "for 'Gt', 'Lt' operators, the value must be an integer: {value}"
            )));
        }
    }
    values.sort();
    values.dedup();
    Ok(Requirement {
        key,
        operator,
        values,
    })
}

fn text_of(token: Option<Token>) -> String {
    token.map(|t| t.text()).unwrap_or_default()
}

fn is_name_part(s: &str) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|part| {
            let b = part.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        })
}

/// Label keys are `[prefix/]name` (Kubernetes `IsQualifiedName`).
fn validate_key(key: &str) -> Result<(), SelectorError> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let prefix_ok = prefix.is_none_or(is_dns_subdomain);
    if !prefix_ok || !is_name_part(name) {
        return Err(SelectorError(format!(
            "key: Invalid value: {key:?}: name part must consist of alphanumeric characters, '-', '_' or '.', \
             and must start and end with an alphanumeric character"
        )));
    }
    Ok(())
}

/// Label values are empty or a name part (`IsValidLabelValue`).
fn validate_value(key: &str, value: &str) -> Result<(), SelectorError> {
    if value.is_empty() || is_name_part(value) {
        return Ok(());
    }
    Err(SelectorError(format!(
        "values[0][{key}]: Invalid value: {value:?}: a valid label must be an empty string or consist of \
         alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, expect: &str) {
        assert_eq!(LabelSelector::parse(input).unwrap().to_string(), expect);
    }

    #[track_caller]
    fn check_err(input: &str) {
        assert!(
            LabelSelector::parse(input).is_err(),
            "{input:?} should not parse"
        );
    }

    #[test]
    fn parses_the_kubernetes_grammar() {
        check("", "");
        check("app=web", "app=web");
        check("app==web", "app==web");
        check("z=1,a!=2", "a!=2,z=1");
        check("tier in (b, a)", "tier in (a,b)");
        check("tier notin (x)", "tier notin (x)");
        check("canary", "canary");
        check("!canary", "!canary");
        check("app.kubernetes.io/name=web", "app.kubernetes.io/name=web");
        check("x>5", "x>5");
        check("k=", "k=");
    }

    #[test]
    fn rejects_what_kubernetes_rejects() {
        check_err("a=b=c");
        check_err("app=we\"b");
        check_err("app=.*");
        check_err("a|b=c");
        check_err("tier in (a");
        check_err("x>abc");
        check_err("a=b,");
        check_err("=b");
    }

    #[test]
    fn evaluates_like_kubernetes() {
        let labels: BTreeMap<String, String> = [("app".to_string(), "web".to_string())].into();
        let cases = [
            ("app=web", true),
            ("app!=web", false),
            ("app in (web,api)", true),
            ("app notin (web)", false),
            ("tier notin (x)", true),
            ("app", true),
            ("!app", false),
            ("tier", false),
            ("", true),
        ];
        for (selector, expect) in cases {
            assert_eq!(
                LabelSelector::parse(selector).unwrap().matches_map(&labels),
                expect,
                "{selector}"
            );
        }
    }

    #[test]
    fn group_resource_displays_like_kubernetes() {
        assert_eq!(
            GroupResource::parse_segment("deployments.apps").to_string(),
            "deployments.apps"
        );
        assert_eq!(
            GroupResource::parse_segment("pods"),
            GroupResource::core("pods")
        );
        assert_eq!(
            GroupResource::parse_segment("x.custom.io.k8s").group,
            "custom.io.k8s"
        );
    }
}

// === Series selectors ===

/// A Prometheus series selector as `seriesQuery` holds it: `name{label op "value", …}`.
/// Parsed only to check rules files (`check`) and to read their static matchers; queries are
/// always sent as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesSelector {
    pub metric: Option<String>,
    pub matchers: Vec<SeriesMatcher>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesMatcher {
    pub label: String,
    /// `=`, `!=`, `=~` or `!~`.
    pub op: &'static str,
    pub value: String,
}

impl SeriesMatcher {
    fn matches_empty(&self) -> bool {
        match self.op {
            "=" => self.value.is_empty(),
            "!=" => !self.value.is_empty(),
            "=~" => anchored(&self.value).is_ok_and(|r| r.is_match("")),
            _ => !anchored(&self.value).is_ok_and(|r| r.is_match("")),
        }
    }
}

fn anchored(re: &str) -> Result<regex::Regex, regex::Error> {
    regex::Regex::new(&format!("^(?:{re})$"))
}

impl SeriesSelector {
    /// Parses with Prometheus' rules: metric name and/or braces, quoted values with Go escapes
    /// (or backquotes), RE2 regexes, and at least one matcher that does not match the empty
    /// string (Prometheus refuses a selector that would match every series).
    pub fn parse(input: &str) -> Result<SeriesSelector, String> {
        let mut p = SelectorParser {
            chars: input.trim().chars().collect(),
            pos: 0,
        };
        let metric = p.identifier(true);
        let mut matchers = Vec::new();
        let mut quoted_name = None;
        p.skip_ws();
        if p.peek() == Some('{') {
            p.pos += 1;
            loop {
                p.skip_ws();
                match p.peek() {
                    Some('}') => {
                        p.pos += 1;
                        break;
                    }
                    None => return Err("unexpected end of input inside braces".into()),
                    _ => {}
                }
                let quoted = matches!(p.peek(), Some('"') | Some('\''));
                let label = if quoted {
                    p.string()?
                } else {
                    p.identifier(false)
                        .ok_or_else(|| p.unexpected("a label name"))?
                };
                p.skip_ws();
                let op = if p.eat("=~") {
                    "=~"
                } else if p.eat("!~") {
                    "!~"
                } else if p.eat("!=") {
                    "!="
                } else if p.eat("=") {
                    "="
                } else if quoted && matches!(p.peek(), Some(',') | Some('}')) {
                    // Prometheus 3: a lone quoted string in braces is the metric name.
                    quoted_name = Some(label);
                    p.skip_ws();
                    if p.peek() == Some(',') {
                        p.pos += 1;
                    }
                    continue;
                } else {
                    return Err(p.unexpected("a matcher operator (=, !=, =~, !~)"));
                };
                p.skip_ws();
                let value = p.string()?;
                if op.ends_with('~') {
                    anchored(&value).map_err(|e| {
                        format!("invalid regular expression {value:?} for label {label:?}: {e}")
                    })?;
                }
                matchers.push(SeriesMatcher { label, op, value });
                p.skip_ws();
                match p.peek() {
                    Some(',') => p.pos += 1,
                    Some('}') => {}
                    _ => return Err(p.unexpected("',' or '}'")),
                }
            }
        }
        p.skip_ws();
        if p.pos < p.chars.len() {
            return Err(p.unexpected("end of selector"));
        }
        let metric = metric.or(quoted_name);
        if metric.is_none() && matchers.is_empty() {
            return Err("empty selector: give a metric name or at least one matcher".into());
        }
        if metric.is_none() && matchers.iter().all(SeriesMatcher::matches_empty) {
            return Err("vector selector must contain at least one non-empty matcher".into());
        }
        Ok(SeriesSelector { metric, matchers })
    }
}

struct SelectorParser {
    chars: Vec<char>,
    pos: usize,
}

impl SelectorParser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, token: &str) -> bool {
        let n = token.chars().count();
        if self.chars.len() >= self.pos + n
            && self.chars[self.pos..self.pos + n]
                .iter()
                .copied()
                .eq(token.chars())
        {
            self.pos += n;
            true
        } else {
            false
        }
    }

    fn unexpected(&self, wanted: &str) -> String {
        match self.peek() {
            Some(c) => format!("unexpected {c:?} at offset {}, expected {wanted}", self.pos),
            None => format!("unexpected end of input, expected {wanted}"),
        }
    }

    /// A metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`) or label name (no colons).
    fn identifier(&mut self, metric: bool) -> Option<String> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            let ok = c.is_ascii_alphabetic()
                || c == '_'
                || (metric && c == ':')
                || (self.pos > start && c.is_ascii_digit());
            if !ok {
                break;
            }
            self.pos += 1;
        }
        (self.pos > start).then(|| self.chars[start..self.pos].iter().collect())
    }

    fn string(&mut self) -> Result<String, String> {
        let quote = match self.peek() {
            Some(q @ ('"' | '\'' | '`')) => q,
            _ => return Err(self.unexpected("a quoted string")),
        };
        self.pos += 1;
        let mut out = String::new();
        loop {
            let c = self.peek().ok_or("unterminated quoted string")?;
            self.pos += 1;
            if c == quote {
                return Ok(out);
            }
            if c == '\\' && quote != '`' {
                let e = self.peek().ok_or("unterminated escape sequence")?;
                self.pos += 1;
                if matches!(e, 'x' | 'u' | 'U' | '0'..='7') {
                    // Numeric escapes (\x41, \u00e9, \101) are valid; kept verbatim,
                    // since the value is only compared, never sent.
                    out.push('\\');
                    out.push(e);
                    continue;
                }
                out.push(match e {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    '\\' | '"' | '\'' => e,
                    'a' => '\u{7}',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'v' => '\u{b}',
                    other => return Err(format!("unknown escape sequence \\{other}")),
                });
            } else if c == '\n' && quote != '`' {
                return Err("newline in quoted string".into());
            } else {
                out.push(c);
            }
        }
    }
}

// === Durations ===

/// A Prometheus duration as rules files write it (`5m`, `1h30m`, `1d`, `0`): prometheus/common's
/// grammar, units `y w d h m s ms` in decreasing order, no fractions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct PromDuration {
    millis: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration string")]
    Empty,
    #[error("not a valid duration string: {0:?}")]
    Invalid(String),
    #[error("unknown unit {unit:?} in duration {input:?}")]
    UnknownUnit { unit: String, input: String },
}

impl PromDuration {
    pub fn from_millis(millis: u64) -> Self {
        PromDuration { millis }
    }

    pub fn as_millis(self) -> u64 {
        self.millis
    }

    pub fn as_std(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.millis)
    }

    pub fn parse(input: &str) -> Result<Self, DurationError> {
        if input.is_empty() {
            return Err(DurationError::Empty);
        }
        if input == "0" {
            return Ok(PromDuration { millis: 0 });
        }
        const UNITS: [(&str, u64); 7] = [
            ("y", 365 * 24 * 3600 * 1000),
            ("w", 7 * 24 * 3600 * 1000),
            ("d", 24 * 3600 * 1000),
            ("h", 3600 * 1000),
            ("m", 60 * 1000),
            ("s", 1000),
            ("ms", 1),
        ];
        let invalid = || DurationError::Invalid(input.to_string());
        let mut rest = input;
        let mut total: u64 = 0;
        let mut last_unit = 0usize;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(invalid());
            }
            let number: u64 = rest[..digits].parse().map_err(|_| invalid())?;
            rest = &rest[digits..];
            let unit_len = rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
            let unit = &rest[..unit_len];
            if unit_len == 0 {
                let bad = rest.chars().next().map(String::from).unwrap_or_default();
                return Err(if bad.is_empty() {
                    invalid()
                } else {
                    DurationError::UnknownUnit {
                        unit: bad,
                        input: input.into(),
                    }
                });
            }
            let Some(index) = UNITS.iter().position(|(u, _)| *u == unit) else {
                return Err(DurationError::UnknownUnit {
                    unit: unit.into(),
                    input: input.into(),
                });
            };
            if index < last_unit {
                return Err(invalid());
            }
            last_unit = index + 1;
            total = number
                .checked_mul(UNITS[index].1)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(invalid)?;
            rest = &rest[unit_len..];
        }
        Ok(PromDuration { millis: total })
    }
}

impl fmt::Display for PromDuration {
    /// prometheus/common's formatter: `5m`, `1h30m`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.millis == 0 {
            return f.write_str("0s");
        }
        let mut ms = self.millis;
        for (unit, size) in [
            ("y", 31_536_000_000u64),
            ("w", 604_800_000),
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1000),
            ("ms", 1),
        ] {
            if ms >= size {
                write!(f, "{}{unit}", ms / size)?;
                ms %= size;
            }
        }
        Ok(())
    }
}

/// Parses a Go `time.ParseDuration` string, as pflag duration flags take (`90s`, `1m30s`, `1.5h`).
pub fn parse_go_duration(input: &str) -> Result<std::time::Duration, DurationError> {
    let invalid = || DurationError::Invalid(input.to_string());
    let mut rest = input.strip_prefix('+').unwrap_or(input);
    if rest.starts_with('-') {
        return Err(invalid());
    }
    if rest == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut nanos: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        if num_len == 0 {
            return Err(invalid());
        }
        let number: f64 = rest[..num_len].parse().map_err(|_| invalid())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .bytes()
            .take_while(|b| !b.is_ascii_digit() && *b != b'.')
            .count();
        let unit = &rest[..unit_len];
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => {
                return Err(DurationError::Invalid(format!(
                    "missing unit in duration {input:?}"
                )));
            }
            _ => {
                return Err(DurationError::UnknownUnit {
                    unit: unit.into(),
                    input: input.into(),
                });
            }
        };
        nanos += number * scale;
        rest = &rest[unit_len..];
    }
    Ok(std::time::Duration::from_nanos(nanos.round() as u64))
}

#[cfg(test)]
mod duration_tests {
    use super::*;

    /// prometheus/common model.ParseDuration cases (reference §2.6).
    #[test]
    fn parses_prometheus_durations_the_same_as_go() {
        let ok = [
            ("0", 0),
            ("5m", 300_000),
            ("1h30m", 5_400_000),
            ("1d", 86_400_000),
            ("1w", 604_800_000),
            ("100ms", 100),
            ("1y", 31_536_000_000),
        ];
        for (input, millis) in ok {
            assert_eq!(
                PromDuration::parse(input).unwrap().as_millis(),
                millis,
                "{input}"
            );
        }
        let bad = [
            ("", "empty duration string"),
            ("1.5m", "unknown unit \".\" in duration \"1.5m\""),
            ("5", "not a valid duration string: \"5\""),
            ("1m1h", "not a valid duration string: \"1m1h\""),
            ("-1m", "not a valid duration string: \"-1m\""),
            ("3x", "unknown unit \"x\" in duration \"3x\""),
        ];
        for (input, message) in bad {
            assert_eq!(
                PromDuration::parse(input).unwrap_err().to_string(),
                message,
                "{input}"
            );
        }
    }

    #[test]
    fn formats_prometheus_durations_the_same_as_go() {
        for (millis, text) in [
            (300_000, "5m"),
            (90_000, "1m30s"),
            (0, "0s"),
            (86_400_000, "1d"),
        ] {
            assert_eq!(PromDuration::from_millis(millis).to_string(), text);
        }
    }

    #[test]
    fn parses_go_durations() {
        let cases = [
            ("10m0s", 600),
            ("1m", 60),
            ("90s", 90),
            ("1h30m", 5400),
            ("0", 0),
            ("1.5h", 5400),
        ];
        for (input, secs) in cases {
            assert_eq!(parse_go_duration(input).unwrap().as_secs(), secs, "{input}");
        }
        for bad in ["", "10", "1x", "-1s"] {
            assert!(parse_go_duration(bad).is_err(), "{bad}");
        }
    }
}

impl std::str::FromStr for PromDuration {
    type Err = DurationError;
    fn from_str(s: &str) -> Result<Self, DurationError> {
        PromDuration::parse(s)
    }
}
