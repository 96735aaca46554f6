//! A Go `text/template` engine with the `<<` / `>>` delimiters prometheus-adapter configures.
//!
//! Rules files are written for Go's engine, so this module parses Go's syntax and evaluates it
//! with Go's semantics: field access on structs fails for unknown fields, on maps yields
//! `<no value>`; `index` of a missing key yields `""`; slices print as `[a b]`, maps as `map[k:v]`
//! with sorted keys; `and`/`or` short-circuit; `{{ }}` is plain text.
//!
//! Invariants:
//! - A `Template` is parsed once (at config load); unknown functions and syntax errors fail there.
//! - Rendering never panics; every failure is a `RenderError` naming the template and the action.
//! - Nothing here knows PromQL: output is plain text, escaping belongs to `naming`.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

const OPEN: &str = "<<";
const CLOSE: &str = ">>";

// === Values ===

/// A value as Go templates see it. `Struct` fields are fixed (unknown field = error);
/// `Map` keys are data (missing key = `<no value>`).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Struct(&'static str, BTreeMap<&'static str, Value>),
    Nil,
    /// The invalid value Go prints as `<no value>` (e.g. a missing map key via field syntax).
    Missing,
}

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    pub fn string_list<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Value {
        Value::List(items.into_iter().map(|s| Value::Str(s.into())).collect())
    }

    pub fn string_map<I: IntoIterator<Item = (K, V)>, K: Into<String>, V: Into<String>>(
        items: I,
    ) -> Value {
        Value::Map(
            items
                .into_iter()
                .map(|(k, v)| (k.into(), Value::Str(v.into())))
                .collect(),
        )
    }

    fn truth(&self) -> bool {
        match self {
            Value::Str(s) => !s.is_empty(),
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Bool(b) => *b,
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Struct(..) => true,
            Value::Nil | Value::Missing => false,
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Bool(_) => "bool",
            Value::List(_) => "[]string",
            Value::Map(_) => "map[string]string",
            Value::Struct(name, _) => name,
            Value::Nil => "nil",
            Value::Missing => "<no value>",
        }
    }

    /// Go's `fmt` `%v` form.
    fn write_go(&self, out: &mut String) {
        match self {
            Value::Str(s) => out.push_str(s),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Float(f) => out.push_str(&go_float(*f)),
            Value::Bool(b) => {
                let _ = write!(out, "{b}");
            }
            Value::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    item.write_go(out);
                }
                out.push(']');
            }
            Value::Map(map) => {
                out.push_str("map[");
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(k);
                    out.push(':');
                    v.write_go(out);
                }
                out.push(']');
            }
            Value::Struct(_, fields) => {
                out.push('{');
                for (i, v) in fields.values().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    v.write_go(out);
                }
                out.push('}');
            }
            Value::Nil => out.push_str("<nil>"),
            Value::Missing => out.push_str("<no value>"),
        }
    }

    fn go_string(&self) -> String {
        let mut s = String::new();
        self.write_go(&mut s);
        s
    }
}

/// `strconv.FormatFloat(f, 'g', -1, 64)` as `%v` prints it.
fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return "0".into();
    }
    let exp = f.abs().log10().floor() as i32;
    if !(-4..21).contains(&exp) {
        // Rust gives `1e21`, Go `1e+21`.
        let s = format!("{f:e}");
        match s.split_once('e') {
            Some((mantissa, e)) => {
                let (sign, digits) = e.strip_prefix('-').map_or(("+", e), |d| ("-", d));
                format!("{mantissa}e{sign}{digits:0>2}")
            }
            None => s,
        }
    } else {
        format!("{f}")
    }
}

// === Errors ===

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template: {name}:{line}: {message}")]
pub struct ParseError {
    pub name: String,
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template: {name}:{line}: executing \"{name}\" at <{action}>: {message}")]
pub struct RenderError {
    pub name: String,
    pub line: usize,
    pub action: String,
    pub message: String,
}

// === AST ===

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Action {
        pipe: Pipeline,
    },
    If {
        branches: Vec<(Pipeline, Vec<Node>)>,
        otherwise: Option<Vec<Node>>,
    },
    With {
        branches: Vec<(Pipeline, Vec<Node>)>,
        otherwise: Option<Vec<Node>>,
    },
    Range {
        pipe: Pipeline,
        body: Vec<Node>,
        otherwise: Option<Vec<Node>>,
    },
    Call {
        line: usize,
        name: String,
        pipe: Option<Pipeline>,
    },
    Break,
    Continue,
}

#[derive(Debug, Clone)]
struct Pipeline {
    line: usize,
    source: String,
    decl: Vec<String>,
    assign: bool,
    cmds: Vec<Vec<Arg>>,
}

#[derive(Debug, Clone)]
enum Arg {
    Dot(Vec<String>),
    Var(String, Vec<String>),
    Func(String),
    Lit(Value),
    Sub(Box<Pipeline>, Vec<String>),
}

// === Lexer ===

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Field(String),
    Dot,
    Var(String),
    Ident(String),
    Str(String),
    Num(String),
    Char(char),
    Open,
    Close,
    Pipe,
    Declare,
    Assign,
    Comma,
    Space,
}

fn lex_action(src: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                while i < chars.len() && chars[i].is_whitespace() {
                    i += 1;
                }
                toks.push(Tok::Space);
                continue;
            }
            '(' => toks.push(Tok::Open),
            ')' => toks.push(Tok::Close),
            '|' => toks.push(Tok::Pipe),
            ',' => toks.push(Tok::Comma),
            '=' => toks.push(Tok::Assign),
            ':' => {
                if chars.get(i + 1) == Some(&'=') {
                    toks.push(Tok::Declare);
                    i += 1;
                } else {
                    return Err("expected :=".into());
                }
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None | Some('\n') => return Err("unterminated quoted string".into()),
                        Some('"') => break,
                        Some('\\') => {
                            i += 1;
                            let esc = chars.get(i).copied().ok_or("unterminated quoted string")?;
                            match esc {
                                'n' => s.push('\n'),
                                't' => s.push('\t'),
                                'r' => s.push('\r'),
                                '\\' => s.push('\\'),
                                '"' => s.push('"'),
                                '\'' => s.push('\''),
                                'a' => s.push('\x07'),
                                'b' => s.push('\x08'),
                                'f' => s.push('\x0c'),
                                'v' => s.push('\x0b'),
                                'x' | 'u' | 'U' => {
                                    let len = match esc {
                                        'x' => 2,
                                        'u' => 4,
                                        _ => 8,
                                    };
                                    let hex: String = chars
                                        .get(i + 1..i + 1 + len)
                                        .ok_or("bad escape")?
                                        .iter()
                                        .collect();
                                    let code = u32::from_str_radix(&hex, 16)
                                        .map_err(|_| "invalid syntax")?;
                                    s.push(char::from_u32(code).ok_or("invalid syntax")?);
                                    i += len;
                                }
                                _ => return Err("invalid syntax".into()),
                            }
                        }
                        Some(ch) => s.push(*ch),
                    }
                    i += 1;
                }
                toks.push(Tok::Str(s));
            }
            '`' => {
                let start = i + 1;
                i += 1;
                while i < chars.len() && chars[i] != '`' {
                    i += 1;
                }
                if i >= chars.len() {
                    return Err("unterminated raw quoted string".into());
                }
                toks.push(Tok::Str(chars[start..i].iter().collect()));
            }
            '\'' => {
                let ch = *chars.get(i + 1).ok_or("unterminated character constant")?;
                if chars.get(i + 2) != Some(&'\'') {
                    return Err("unterminated character constant".into());
                }
                toks.push(Tok::Char(ch));
                i += 2;
            }
            '.' if chars
                .get(i + 1)
                .is_some_and(|c| c.is_alphanumeric() || *c == '_')
                && !chars[i + 1].is_ascii_digit() =>
            {
                let start = i + 1;
                i += 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                toks.push(Tok::Field(chars[start..i].iter().collect()));
                continue;
            }
            '.' if !chars.get(i + 1).is_some_and(|c| c.is_ascii_digit()) => toks.push(Tok::Dot),
            '$' => {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                toks.push(Tok::Var(chars[start..i].iter().collect()));
                continue;
            }
            c if c.is_ascii_digit()
                || ((c == '-' || c == '+' || c == '.')
                    && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                let start = i;
                i += 1;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || matches!(chars[i], '.' | '_' | '+' | '-'))
                {
                    if matches!(chars[i], '+' | '-')
                        && !matches!(chars[i - 1], 'e' | 'E' | 'p' | 'P')
                    {
                        break;
                    }
                    i += 1;
                }
                toks.push(Tok::Num(chars[start..i].iter().collect()));
                continue;
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                toks.push(Tok::Ident(chars[start..i].iter().collect()));
                continue;
            }
            other => return Err(format!("unexpected {other:?} in command")),
        }
        i += 1;
    }
    Ok(toks)
}

// === Parser ===

const BUILTINS: &[&str] = &[
    "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "html", "js",
    "urlquery", "eq", "ne", "lt", "le", "gt", "ge", "call",
];

struct ActionSrc {
    line: usize,
    text: String,
}

enum Piece {
    Text(String),
    Action(ActionSrc),
}

/// Splits source into text and actions, applying trim markers and dropping comments.
fn split(name: &str, src: &str) -> Result<Vec<Piece>, ParseError> {
    let mut pieces = Vec::new();
    let mut rest = src;
    let mut line = 1;
    let err = |line, message: String| ParseError {
        name: name.to_string(),
        line,
        message,
    };
    let mut trim_next = false;
    while let Some(start) = rest.find(OPEN) {
        let mut text = &rest[..start];
        if trim_next {
            text = text.trim_start();
        }
        let after = &rest[start + OPEN.len()..];
        let trim_left = after.starts_with('-') && after[1..].starts_with([' ', '\t', '\n', '\r']);
        if trim_left {
            text = text.trim_end();
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text.to_string()));
        }
        line += rest[..start].matches('\n').count();
        let body_start = if trim_left { 2 } else { 0 };
        let body = &after[body_start..];
        // Find the closing delimiter outside string literals.
        let mut end = None;
        let bytes = body.as_bytes();
        let mut i = 0;
        let lead = body.len() - body.trim_start().len();
        if body[lead..].starts_with("/*") {
            // A comment may hold quotes and `>>`; only `*/` followed by the delimiter ends it.
            i = match body[lead..].find("*/") {
                Some(close) => lead + close + 2,
                None => return Err(err(line, "unclosed comment".into())),
            };
        }
        let mut quote: Option<u8> = None;
        while i < bytes.len() {
            let b = bytes[i];
            match quote {
                Some(q) => {
                    if b == b'\\' && q != b'`' {
                        i += 1;
                    } else if b == q {
                        quote = None;
                    }
                }
                None => {
                    if b == b'"' || b == b'`' || b == b'\'' {
                        quote = Some(b);
                    } else if bytes[i..].starts_with(CLOSE.as_bytes()) {
                        end = Some(i);
                        break;
                    }
                }
            }
            i += 1;
        }
        let Some(end) = end else {
            let message = if body.trim_start().starts_with("/*") {
                "unclosed comment"
            } else {
                "unclosed action"
            };
            return Err(err(line, message.into()));
        };
        let mut action = &body[..end];
        let consumed = body_start + end + CLOSE.len();
        trim_next =
            action.ends_with('-') && action[..action.len() - 1].ends_with([' ', '\t', '\n', '\r']);
        if trim_next {
            action = &action[..action.len() - 1];
        }
        let trimmed = action.trim();
        if trimmed.starts_with("/*") {
            if !trimmed.ends_with("*/") {
                return Err(err(line, "comment ends before closing delimiter".into()));
            }
        } else {
            pieces.push(Piece::Action(ActionSrc {
                line,
                text: action.to_string(),
            }));
        }
        line += action.matches('\n').count();
        rest = &after[consumed..];
    }
    let mut text = rest;
    if trim_next {
        text = text.trim_start();
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text.to_string()));
    }
    Ok(pieces)
}

struct Parser<'a> {
    name: &'a str,
    pieces: std::vec::IntoIter<Piece>,
    defines: HashMap<String, Vec<Node>>,
    vars: Vec<String>,
}

enum ListEnd {
    Eof,
    Keyword,
    Else(Option<(String, Pipeline)>),
}

impl<'a> Parser<'a> {
    fn err(&self, line: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            name: self.name.to_string(),
            line,
            message: message.into(),
        }
    }

    fn parse_list(&mut self) -> Result<(Vec<Node>, ListEnd, usize), ParseError> {
        let mut nodes = Vec::new();
        while let Some(piece) = self.pieces.next() {
            let action = match piece {
                Piece::Text(t) => {
                    nodes.push(Node::Text(t));
                    continue;
                }
                Piece::Action(a) => a,
            };
            let line = action.line;
            let toks: Vec<Tok> = lex_action(&action.text).map_err(|m| self.err(line, m))?;
            let toks: Vec<Tok> = trim_space(toks);
            let keyword = match toks.first() {
                Some(Tok::Ident(k)) => k.as_str(),
                None => return Err(self.err(line, "missing value for command")),
                _ => "",
            };
            let rest = toks.get(1..).unwrap_or(&[]).to_vec();
            match keyword {
                "end" => return Ok((nodes, ListEnd::Keyword, line)),
                "else" => {
                    let rest = trim_space(rest);
                    let chained = match rest.first() {
                        Some(Tok::Ident(k)) if k == "if" || k == "with" => {
                            let kw = k.clone();
                            let pipe = self.pipeline(line, &action.text, &rest[1..], true)?;
                            Some((kw, pipe))
                        }
                        None => None,
                        _ => return Err(self.err(line, "unexpected token in else")),
                    };
                    return Ok((nodes, ListEnd::Else(chained), line));
                }
                "if" | "with" => {
                    let mark = self.vars.len();
                    let pipe = self.pipeline(line, &action.text, &rest, true)?;
                    let node = self.parse_branches(keyword, pipe, line)?;
                    self.vars.truncate(mark);
                    nodes.push(node);
                }
                "range" => {
                    let mark = self.vars.len();
                    let pipe = self.pipeline(line, &action.text, &rest, true)?;
                    let (body, end, end_line) = self.parse_list()?;
                    let otherwise = match end {
                        ListEnd::Keyword => None,
                        ListEnd::Else(None) => {
                            let (o, end, l) = self.parse_list()?;
                            if !matches!(end, ListEnd::Keyword) {
                                return Err(self.err(l, "expected end; found else"));
                            }
                            Some(o)
                        }
                        ListEnd::Else(Some(_)) => {
                            return Err(self.err(end_line, "range can not have else if"));
                        }
                        ListEnd::Eof => return Err(self.err(end_line, "unexpected EOF")),
                    };
                    self.vars.truncate(mark);
                    nodes.push(Node::Range {
                        pipe,
                        body,
                        otherwise,
                    });
                }
                "break" | "continue" => {
                    nodes.push(if keyword == "break" {
                        Node::Break
                    } else {
                        Node::Continue
                    });
                }
                "define" | "block" => {
                    let rest = trim_space(rest);
                    let Some(Tok::Str(def_name)) = rest.first().cloned() else {
                        return Err(self.err(line, format!("unexpected token in {keyword} clause")));
                    };
                    let pipe = if keyword == "block" {
                        Some(self.pipeline(line, &action.text, &rest[1..], false)?)
                    } else {
                        None
                    };
                    let saved = std::mem::take(&mut self.vars);
                    let (body, end, l) = self.parse_list()?;
                    self.vars = saved;
                    if !matches!(end, ListEnd::Keyword) {
                        return Err(self.err(l, format!("unexpected EOF in {keyword}")));
                    }
                    self.defines.insert(def_name.clone(), body);
                    if keyword == "block" {
                        nodes.push(Node::Call {
                            line,
                            name: def_name,
                            pipe,
                        });
                    }
                }
                "template" => {
                    let rest = trim_space(rest);
                    let Some(Tok::Str(tpl_name)) = rest.first().cloned() else {
                        return Err(self.err(line, "unexpected token in template clause"));
                    };
                    let pipe = if rest.len() > 1 {
                        Some(self.pipeline(line, &action.text, &rest[1..], false)?)
                    } else {
                        None
                    };
                    nodes.push(Node::Call {
                        line,
                        name: tpl_name,
                        pipe,
                    });
                }
                _ => {
                    let pipe = self.pipeline(line, &action.text, &toks, true)?;
                    nodes.push(Node::Action { pipe });
                }
            }
        }
        Ok((nodes, ListEnd::Eof, 0))
    }

    fn parse_branches(
        &mut self,
        keyword: &str,
        first: Pipeline,
        line: usize,
    ) -> Result<Node, ParseError> {
        let mut branches = Vec::new();
        let mut pipe = first;
        let mut otherwise = None;
        loop {
            let (body, end, end_line) = self.parse_list()?;
            branches.push((pipe, body));
            match end {
                ListEnd::Keyword => break,
                ListEnd::Eof => return Err(self.err(line, "unexpected EOF")),
                ListEnd::Else(None) => {
                    let (o, end, l) = self.parse_list()?;
                    match end {
                        ListEnd::Keyword => {}
                        _ => return Err(self.err(l, "expected end; found else")),
                    }
                    otherwise = Some(o);
                    break;
                }
                ListEnd::Else(Some((kw, next))) => {
                    if kw != keyword {
                        // `else with` inside `if` (or the reverse) nests as Go does.
                        let inner = self.parse_branches(&kw, next, end_line)?;
                        otherwise = Some(vec![inner]);
                        break;
                    }
                    pipe = next;
                }
            }
        }
        Ok(match keyword {
            "if" => Node::If {
                branches,
                otherwise,
            },
            _ => Node::With {
                branches,
                otherwise,
            },
        })
    }

    fn pipeline(
        &mut self,
        line: usize,
        source: &str,
        toks: &[Tok],
        allow_decl: bool,
    ) -> Result<Pipeline, ParseError> {
        let toks = trim_space(toks.to_vec());
        let mut decl = Vec::new();
        let mut assign = false;
        let mut body = &toks[..];
        // `$x :=`, `$x =`, `$i, $v :=`
        if allow_decl {
            let compact: Vec<&Tok> = toks.iter().filter(|t| **t != Tok::Space).collect();
            let mut k = 0;
            let mut names = Vec::new();
            while let Some(Tok::Var(v)) = compact.get(k) {
                names.push(v.clone());
                match compact.get(k + 1) {
                    Some(Tok::Comma) if names.len() == 1 => k += 2,
                    Some(Tok::Declare) | Some(Tok::Assign) => {
                        assign = matches!(compact.get(k + 1), Some(Tok::Assign));
                        decl = names.clone();
                        // skip up to and including the declaration token in the original slice
                        let mut seen = 0;
                        let mut idx = 0;
                        for (j, t) in toks.iter().enumerate() {
                            if *t != Tok::Space {
                                seen += 1;
                            }
                            if seen == k + 2 {
                                idx = j + 1;
                                break;
                            }
                        }
                        body = &toks[idx..];
                        break;
                    }
                    _ => break,
                }
            }
            if !decl.is_empty() && !assign {
                for v in &decl {
                    self.vars.push(v.clone());
                }
            }
        }
        let mut cmds = Vec::new();
        let mut current: Vec<Arg> = Vec::new();
        let mut i = 0;
        let body = trim_space(body.to_vec());
        while i < body.len() {
            let tok = body[i].clone();
            i += 1;
            let arg = match tok {
                Tok::Space => continue,
                Tok::Pipe => {
                    if current.is_empty() {
                        return Err(self.err(line, "missing command"));
                    }
                    cmds.push(std::mem::take(&mut current));
                    continue;
                }
                Tok::Field(f) => Arg::Dot(self.chain(vec![f], &body, &mut i)),
                Tok::Dot => Arg::Dot(self.chain(vec![], &body, &mut i)),
                Tok::Var(v) => {
                    if v != "$" && !self.vars.contains(&v) && !decl.contains(&v) {
                        return Err(self.err(line, format!("undefined variable \"{v}\"")));
                    }
                    let fields = self.chain(vec![], &body, &mut i);
                    Arg::Var(v, fields)
                }
                Tok::Str(s) => Arg::Lit(Value::Str(s)),
                Tok::Char(c) => Arg::Lit(Value::Int(c as i64)),
                Tok::Num(n) => Arg::Lit(
                    parse_number(&n)
                        .ok_or_else(|| self.err(line, format!("bad number syntax: {n:?}")))?,
                ),
                Tok::Ident(id) => match id.as_str() {
                    "true" => Arg::Lit(Value::Bool(true)),
                    "false" => Arg::Lit(Value::Bool(false)),
                    "nil" => Arg::Lit(Value::Nil),
                    _ if BUILTINS.contains(&id.as_str()) => Arg::Func(id),
                    _ => return Err(self.err(line, format!("function \"{id}\" not defined"))),
                },
                Tok::Open => {
                    let mut depth = 1;
                    let start = i;
                    while i < body.len() {
                        match body[i] {
                            Tok::Open => depth += 1,
                            Tok::Close => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                        i += 1;
                    }
                    if depth != 0 {
                        return Err(self.err(line, "unclosed left paren"));
                    }
                    let inner = self.pipeline(line, source, &body[start..i], false)?;
                    i += 1;
                    let fields = self.chain(vec![], &body, &mut i);
                    Arg::Sub(Box::new(inner), fields)
                }
                Tok::Close => return Err(self.err(line, "unexpected right paren")),
                Tok::Declare | Tok::Assign | Tok::Comma => {
                    return Err(self.err(line, "unexpected token in operand"));
                }
            };
            current.push(arg);
        }
        if current.is_empty() {
            return Err(self.err(
                line,
                if cmds.is_empty() {
                    "missing value for command"
                } else {
                    "missing command"
                },
            ));
        }
        cmds.push(current);
        Ok(Pipeline {
            line,
            source: source.trim().to_string(),
            decl,
            assign,
            cmds,
        })
    }

    /// Field chain glued to the previous token: `(x).A.B`, `$v.A`.
    fn chain(&self, mut fields: Vec<String>, body: &[Tok], i: &mut usize) -> Vec<String> {
        while let Some(Tok::Field(f)) = body.get(*i) {
            fields.push(f.clone());
            *i += 1;
        }
        fields
    }
}

fn trim_space(mut toks: Vec<Tok>) -> Vec<Tok> {
    while toks.first() == Some(&Tok::Space) {
        toks.remove(0);
    }
    while toks.last() == Some(&Tok::Space) {
        toks.pop();
    }
    toks
}

fn parse_number(n: &str) -> Option<Value> {
    let clean = n.replace('_', "");
    if let Some(hex) = clean
        .strip_prefix("0x")
        .or_else(|| clean.strip_prefix("0X"))
    {
        return i64::from_str_radix(hex, 16).ok().map(Value::Int);
    }
    if let Ok(i) = clean.parse::<i64>() {
        return Some(Value::Int(i));
    }
    clean.parse::<f64>().ok().map(Value::Float)
}

// === Template ===

/// A parsed template, ready to render many times.
#[derive(Debug, Clone)]
pub struct Template {
    name: String,
    source: String,
    root: Vec<Node>,
    defines: HashMap<String, Vec<Node>>,
}

impl Template {
    /// Parses Go template syntax. `name` appears in errors as Go's does (`metrics-query`).
    ///
    /// ```
    /// use prometheus_adapter::template::{Template, Value};
    /// let t = Template::parse("metrics-query", "sum(<<.Series>>) by (<<.GroupBy>>)").unwrap();
    /// let data = Value::Struct("args", [("Series", Value::str("up")), ("GroupBy", Value::str("pod"))].into_iter().collect());
    /// assert_eq!(t.render(&data).unwrap(), "sum(up) by (pod)");
    /// assert!(Template::parse("metrics-query", "<<join .X>>").is_err());
    /// ```
    pub fn parse(name: &str, source: &str) -> Result<Template, ParseError> {
        let pieces = split(name, source)?;
        let mut parser = Parser {
            name,
            pieces: pieces.into_iter(),
            defines: HashMap::new(),
            vars: vec![],
        };
        let (root, end, line) = parser.parse_list()?;
        match end {
            ListEnd::Eof => {}
            ListEnd::Keyword => return Err(parser.err(line, "unexpected {{end}}")),
            ListEnd::Else(_) => return Err(parser.err(line, "unexpected {{else}}")),
        }
        Ok(Template {
            name: name.to_string(),
            source: source.to_string(),
            root,
            defines: parser.defines,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether any action refers to the given top-level field (used by lints and validation).
    pub fn mentions_field(&self, field: &str) -> bool {
        fn pipe_mentions(p: &Pipeline, field: &str) -> bool {
            p.cmds.iter().flatten().any(|a| match a {
                Arg::Dot(f) | Arg::Var(_, f) => f.first().is_some_and(|x| x == field),
                Arg::Sub(inner, f) => {
                    pipe_mentions(inner, field) || f.first().is_some_and(|x| x == field)
                }
                _ => false,
            })
        }
        fn nodes_mention(nodes: &[Node], field: &str) -> bool {
            nodes.iter().any(|n| match n {
                Node::Action { pipe, .. } => pipe_mentions(pipe, field),
                Node::If {
                    branches,
                    otherwise,
                }
                | Node::With {
                    branches,
                    otherwise,
                } => {
                    branches
                        .iter()
                        .any(|(p, b)| pipe_mentions(p, field) || nodes_mention(b, field))
                        || otherwise.as_ref().is_some_and(|o| nodes_mention(o, field))
                }
                Node::Range {
                    pipe,
                    body,
                    otherwise,
                } => {
                    pipe_mentions(pipe, field)
                        || nodes_mention(body, field)
                        || otherwise.as_ref().is_some_and(|o| nodes_mention(o, field))
                }
                Node::Call { pipe, .. } => pipe.as_ref().is_some_and(|p| pipe_mentions(p, field)),
                _ => false,
            })
        }
        nodes_mention(&self.root, field) || self.defines.values().any(|d| nodes_mention(d, field))
    }

    pub fn render(&self, data: &Value) -> Result<String, RenderError> {
        let mut out = String::with_capacity(self.source.len() + 64);
        let mut exec = Exec {
            template: self,
            vars: vec![("$".to_string(), Cow::Borrowed(data))],
            depth: 0,
            steps: 0,
        };
        match exec.walk(&self.root, data, &mut out) {
            Ok(_) => Ok(out),
            Err(Flow::Error(e)) => Err(e),
            Err(_) => Ok(out),
        }
    }
}

// === Execution ===

enum Flow {
    Break,
    Continue,
    Error(RenderError),
}

impl From<RenderError> for Flow {
    fn from(e: RenderError) -> Self {
        Flow::Error(e)
    }
}

struct Exec<'t> {
    template: &'t Template,
    /// `$` borrows the caller's data; variables set while rendering are owned.
    vars: Vec<(String, Cow<'t, Value>)>,
    depth: usize,
    /// Nodes executed so far: `range 1000000000` is valid Go, and would hold every request of
    /// the rule until its timeout. Go has no budget; a query template never needs one this big.
    steps: u64,
}

/// Nodes one render may execute, and bytes it may produce (far beyond any real query).
const MAX_STEPS: u64 = 1_000_000;
const MAX_OUTPUT: usize = 16 << 20;

impl<'t> Exec<'t> {
    fn error(&self, pipe: &Pipeline, message: impl Into<String>) -> RenderError {
        RenderError {
            name: self.template.name.clone(),
            line: pipe.line,
            action: pipe.source.clone(),
            message: message.into(),
        }
    }

    fn walk(&mut self, nodes: &[Node], dot: &Value, out: &mut String) -> Result<(), Flow> {
        for node in nodes {
            self.steps += 1;
            if self.steps > MAX_STEPS || out.len() > MAX_OUTPUT {
                return Err(Flow::Error(RenderError {
                    name: self.template.name.clone(),
                    line: 0,
                    action: String::new(),
                    message: format!(
                        "template exceeded its budget ({MAX_STEPS} steps or {MAX_OUTPUT} bytes of output)"
                    ),
                }));
            }
            match node {
                Node::Text(t) => out.push_str(t),
                Node::Action { pipe, .. } => {
                    let value = self.pipeline(pipe, dot)?;
                    if pipe.decl.is_empty() {
                        value.write_go(out);
                    }
                }
                Node::If {
                    branches,
                    otherwise,
                } => {
                    let mark = self.vars.len();
                    let mut done = false;
                    for (pipe, body) in branches {
                        if self.pipeline(pipe, dot)?.truth() {
                            self.walk(body, dot, out)?;
                            done = true;
                            break;
                        }
                    }
                    if !done && let Some(o) = otherwise {
                        self.walk(o, dot, out)?;
                    }
                    self.vars.truncate(mark);
                }
                Node::With {
                    branches,
                    otherwise,
                } => {
                    let mark = self.vars.len();
                    let mut done = false;
                    for (pipe, body) in branches {
                        let value = self.pipeline(pipe, dot)?;
                        if value.truth() {
                            self.walk(body, &value, out)?;
                            done = true;
                            break;
                        }
                    }
                    if !done && let Some(o) = otherwise {
                        self.walk(o, dot, out)?;
                    }
                    self.vars.truncate(mark);
                }
                Node::Range {
                    pipe,
                    body,
                    otherwise,
                } => {
                    let mark = self.vars.len();
                    let decl = pipe.decl.clone();
                    let plain = Pipeline {
                        decl: vec![],
                        ..pipe.clone()
                    };
                    let value = self.pipeline(&plain, dot)?;
                    let items: Vec<(Value, Value)> = match value {
                        Value::List(l) => l
                            .into_iter()
                            .enumerate()
                            .map(|(i, v)| (Value::Int(i as i64), v))
                            .collect(),
                        Value::Map(m) => m.into_iter().map(|(k, v)| (Value::Str(k), v)).collect(),
                        Value::Int(n)
                            if n.max(0) as u64 > MAX_STEPS - self.steps.min(MAX_STEPS) =>
                        {
                            return Err(Flow::Error(self.error(
                                pipe,
                                format!("template exceeded its budget: range over {n} ({MAX_STEPS} steps at most)"),
                            )));
                        }
                        Value::Int(n) => (0..n.max(0))
                            .map(|i| (Value::Int(i), Value::Int(i)))
                            .collect(),
                        Value::Nil | Value::Missing => vec![],
                        other => {
                            return Err(self
                                .error(
                                    pipe,
                                    format!("range can't iterate over {}", other.go_string()),
                                )
                                .into());
                        }
                    };
                    if items.is_empty()
                        && let Some(o) = otherwise
                    {
                        self.walk(o, dot, out)?;
                    }
                    for (key, item) in items {
                        // Each iteration counts, even with an empty body.
                        self.steps += 1;
                        let inner = self.vars.len();
                        match decl.as_slice() {
                            [v] => self.vars.push((v.clone(), Cow::Owned(item.clone()))),
                            [k, v] => {
                                self.vars.push((k.clone(), Cow::Owned(key)));
                                self.vars.push((v.clone(), Cow::Owned(item.clone())));
                            }
                            _ => {}
                        }
                        let result = self.walk(body, &item, out);
                        self.vars.truncate(inner);
                        match result {
                            Ok(()) | Err(Flow::Continue) => {}
                            Err(Flow::Break) => break,
                            Err(e) => return Err(e),
                        }
                    }
                    self.vars.truncate(mark);
                }
                Node::Call { line, name, pipe } => {
                    let Some(body) = self.template.defines.get(name) else {
                        return Err(Flow::Error(RenderError {
                            name: self.template.name.clone(),
                            line: *line,
                            action: format!("template \"{name}\""),
                            message: format!("no such template \"{name}\""),
                        }));
                    };
                    if self.depth > 100 {
                        return Err(Flow::Error(RenderError {
                            name: self.template.name.clone(),
                            line: *line,
                            action: format!("template \"{name}\""),
                            message: "exceeded maximum template depth (100)".into(),
                        }));
                    }
                    let new_dot = match pipe {
                        Some(p) => self.pipeline(p, dot)?,
                        None => Value::Nil,
                    };
                    let saved = std::mem::replace(
                        &mut self.vars,
                        vec![("$".to_string(), Cow::Owned(new_dot.clone()))],
                    );
                    self.depth += 1;
                    let result = self.walk(body, &new_dot, out);
                    self.depth -= 1;
                    self.vars = saved;
                    result?;
                }
                Node::Break => return Err(Flow::Break),
                Node::Continue => return Err(Flow::Continue),
            }
        }
        Ok(())
    }

    fn pipeline(&mut self, pipe: &Pipeline, dot: &Value) -> Result<Value, RenderError> {
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            value = Some(self.command(pipe, cmd, dot, value)?);
        }
        let value = value.unwrap_or(Value::Missing);
        for name in &pipe.decl {
            if pipe.assign {
                if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                    slot.1 = Cow::Owned(value.clone());
                }
            } else {
                self.vars.push((name.clone(), Cow::Owned(value.clone())));
            }
        }
        Ok(value)
    }

    fn command(
        &mut self,
        pipe: &Pipeline,
        cmd: &[Arg],
        dot: &Value,
        piped: Option<Value>,
    ) -> Result<Value, RenderError> {
        let Some(first) = cmd.first() else {
            return Err(self.error(pipe, "empty command"));
        };
        if let Arg::Func(name) = first {
            return self.call(pipe, name, &cmd[1..], dot, piped);
        }
        if cmd.len() > 1 || piped.is_some() {
            let what = match first {
                Arg::Dot(f) if !f.is_empty() => format!(".{}", f.join(".")),
                _ => "value".to_string(),
            };
            return Err(self.error(pipe, format!("can't give argument to non-function {what}")));
        }
        self.arg(pipe, first, dot)
    }

    fn arg(&mut self, pipe: &Pipeline, arg: &Arg, dot: &Value) -> Result<Value, RenderError> {
        match arg {
            Arg::Lit(v) => Ok(v.clone()),
            Arg::Dot(fields) => self.fields(pipe, dot, fields),
            Arg::Var(name, fields) => {
                let base = match self.vars.iter().rev().find(|(n, _)| n == name) {
                    Some((_, v)) => v,
                    None => return Err(self.error(pipe, format!("undefined variable: {name}"))),
                };
                self.fields(pipe, base, fields)
            }
            Arg::Sub(inner, fields) => {
                let base = self.pipeline(inner, dot)?;
                self.fields(pipe, &base, fields)
            }
            Arg::Func(name) => self.call(pipe, name, &[], dot, None),
        }
    }

    /// Walks a field chain by reference and clones only the value it ends on.
    fn fields(
        &self,
        pipe: &Pipeline,
        base: &Value,
        fields: &[String],
    ) -> Result<Value, RenderError> {
        let mut value = base;
        for field in fields {
            value = match value {
                Value::Struct(type_name, map) => match map.get(field.as_str()) {
                    Some(v) => v,
                    None => {
                        return Err(self.error(
                            pipe,
                            format!("can't evaluate field {field} in type {type_name}"),
                        ));
                    }
                },
                Value::Map(map) => match map.get(field) {
                    Some(v) => v,
                    None => return Ok(Value::Missing),
                },
                Value::Nil | Value::Missing => {
                    return Err(self.error(
                        pipe,
                        format!("nil pointer evaluating interface {{}}.{field}"),
                    ));
                }
                other => {
                    return Err(self.error(
                        pipe,
                        format!("can't evaluate field {field} in type {}", other.type_name()),
                    ));
                }
            };
        }
        Ok(value.clone())
    }

    fn call(
        &mut self,
        pipe: &Pipeline,
        name: &str,
        args: &[Arg],
        dot: &Value,
        piped: Option<Value>,
    ) -> Result<Value, RenderError> {
        // and / or evaluate lazily, as Go 1.18+ does.
        if name == "and" || name == "or" {
            let total = args.len() + usize::from(piped.is_some());
            if total == 0 {
                return Err(self.error(
                    pipe,
                    format!("wrong number of args for {name}: want at least 1 got 0"),
                ));
            }
            let mut last = Value::Missing;
            for arg in args {
                last = self.arg(pipe, arg, dot)?;
                if (name == "and") != last.truth() {
                    return Ok(last);
                }
            }
            if let Some(p) = piped {
                last = p;
            }
            return Ok(last);
        }
        let mut values = Vec::with_capacity(args.len() + 1);
        for arg in args {
            values.push(self.arg(pipe, arg, dot)?);
        }
        if let Some(p) = piped {
            values.push(p);
        }
        let fail = |message: String| self.error(pipe, format!("error calling {name}: {message}"));
        let want = |n: usize| -> Result<(), RenderError> {
            if values.len() == n {
                Ok(())
            } else {
                Err(self.error(
                    pipe,
                    format!(
                        "wrong number of args for {name}: want {n} got {}",
                        values.len()
                    ),
                ))
            }
        };
        match name {
            "not" => {
                want(1)?;
                Ok(Value::Bool(!values[0].truth()))
            }
            "len" => {
                want(1)?;
                match &values[0] {
                    Value::Str(s) => Ok(Value::Int(s.len() as i64)),
                    Value::List(l) => Ok(Value::Int(l.len() as i64)),
                    Value::Map(m) => Ok(Value::Int(m.len() as i64)),
                    other => Err(fail(format!("len of type {}", other.type_name()))),
                }
            }
            "index" => {
                let Some((first, keys)) = values.split_first() else {
                    return Err(self.error(
                        pipe,
                        "wrong number of args for index: want at least 1 got 0",
                    ));
                };
                let mut current = first.clone();
                for key in keys {
                    current = match (&current, key) {
                        (Value::List(l), Value::Int(i)) => {
                            let idx = usize::try_from(*i).ok().filter(|&i| i < l.len());
                            match idx {
                                Some(i) => l[i].clone(),
                                None => return Err(fail(format!("index out of range: {i}"))),
                            }
                        }
                        (Value::Str(s), Value::Int(i)) => {
                            match usize::try_from(*i).ok().and_then(|i| s.as_bytes().get(i)) {
                                Some(b) => Value::Int(*b as i64),
                                None => return Err(fail(format!("index out of range: {i}"))),
                            }
                        }
                        // Missing keys give the zero value of the map's element type (string).
                        (Value::Map(m), Value::Str(k)) => {
                            m.get(k).cloned().unwrap_or(Value::Str(String::new()))
                        }
                        (Value::Nil | Value::Missing, _) => {
                            return Err(fail("index of untyped nil".into()));
                        }
                        (c, k) => {
                            return Err(fail(format!(
                                "cannot index {} with {}",
                                c.type_name(),
                                k.type_name()
                            )));
                        }
                    };
                }
                Ok(current)
            }
            "slice" => {
                let Some((first, bounds)) = values.split_first() else {
                    return Err(self.error(
                        pipe,
                        "wrong number of args for slice: want at least 1 got 0",
                    ));
                };
                let ints: Vec<usize> = bounds
                    .iter()
                    .map(|b| match b {
                        Value::Int(i) if *i >= 0 => Ok(*i as usize),
                        _ => Err(fail("cannot index slice/array with non-integer".into())),
                    })
                    .collect::<Result<_, _>>()?;
                let len = match first {
                    Value::Str(s) => s.len(),
                    Value::List(l) => l.len(),
                    other => {
                        return Err(fail(format!(
                            "can't slice item of type {}",
                            other.type_name()
                        )));
                    }
                };
                let lo = ints.first().copied().unwrap_or(0);
                let hi = ints.get(1).copied().unwrap_or(len);
                if lo > hi || hi > len {
                    return Err(fail(format!("index out of range: {hi}")));
                }
                match first {
                    Value::Str(s) => s
                        .get(lo..hi)
                        .map(|s| Value::Str(s.to_string()))
                        .ok_or_else(|| fail("invalid slice index".into())),
                    Value::List(l) => Ok(Value::List(l[lo..hi].to_vec())),
                    _ => unreachable_value(),
                }
            }
            "print" => Ok(Value::Str(go_sprint(&values))),
            "println" => {
                let parts: Vec<String> = values.iter().map(Value::go_string).collect();
                Ok(Value::Str(parts.join(" ") + "\n"))
            }
            "printf" => {
                let Some((Value::Str(format), rest)) = values.split_first() else {
                    return Err(fail("printf needs a format string".into()));
                };
                Ok(Value::Str(go_sprintf(format, rest)))
            }
            "html" => Ok(Value::Str(
                go_sprint(&values)
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
                    .replace('"', "&#34;")
                    .replace('\'', "&#39;"),
            )),
            "js" => Ok(Value::Str(go_js_escape(&go_sprint(&values)))),
            "urlquery" => Ok(Value::Str(url_query_escape(&go_sprint(&values)))),
            "eq" => {
                let Some((first, others)) = values.split_first() else {
                    return Err(
                        self.error(pipe, "wrong number of args for eq: want at least 1 got 0")
                    );
                };
                if others.is_empty() {
                    return Err(fail("missing argument for comparison".into()));
                }
                for other in others {
                    if compare(first, other).map_err(fail)? == std::cmp::Ordering::Equal {
                        return Ok(Value::Bool(true));
                    }
                }
                Ok(Value::Bool(false))
            }
            "ne" | "lt" | "le" | "gt" | "ge" => {
                want(2)?;
                let ord = compare(&values[0], &values[1]).map_err(fail)?;
                if name != "ne" && matches!(values[0], Value::Bool(_)) {
                    return Err(fail("invalid type for comparison".into()));
                }
                use std::cmp::Ordering::*;
                Ok(Value::Bool(match name {
                    "ne" => ord != Equal,
                    "lt" => ord == Less,
                    "le" => ord != Greater,
                    "gt" => ord == Greater,
                    _ => ord != Less,
                }))
            }
            "call" => Err(fail("can't call non-function".into())),
            _ => Err(self.error(pipe, format!("function \"{name}\" not defined"))),
        }
    }
}

fn unreachable_value() -> Result<Value, RenderError> {
    Ok(Value::Missing)
}

fn compare(a: &Value, b: &Value) -> Result<std::cmp::Ordering, String> {
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => Ok(x.cmp(y)),
        (Value::Int(x), Value::Int(y)) => Ok(x.cmp(y)),
        (Value::Float(x), Value::Float(y)) => {
            x.partial_cmp(y).ok_or_else(|| "NaN comparison".to_string())
        }
        (Value::Bool(x), Value::Bool(y)) => Ok(x.cmp(y)),
        (Value::Nil, Value::Nil) => Ok(std::cmp::Ordering::Equal),
        _ => Err("incompatible types for comparison".into()),
    }
}

/// `fmt.Sprint`: spaces between operands when neither side is a string.
fn go_sprint(values: &[Value]) -> String {
    let mut out = String::new();
    for (i, v) in values.iter().enumerate() {
        if i > 0 && !matches!(v, Value::Str(_)) && !matches!(values[i - 1], Value::Str(_)) {
            out.push(' ');
        }
        v.write_go(&mut out);
    }
    out
}

/// `fmt.Sprintf` for the verbs rules files use: `%s %v %d %q %f %g %x %t %%`, with width.
fn go_sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    let mut next = 0;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut flags = String::new();
        // Go's parsenum gives up on a width or precision past 10^6 (the rest of the format is
        // dropped, `%!(NOVERB)`), which also keeps a template from padding to gigabytes.
        let mut number: u64 = 0;
        let mut overflow = false;
        while let Some(&f) = chars.peek() {
            if f.is_ascii_digit() {
                if number > 1_000_000 {
                    overflow = true;
                    break;
                }
                number = number * 10 + u64::from(f as u8 - b'0');
            } else {
                number = 0;
            }
            if "+-# 0".contains(f) || f.is_ascii_digit() || f == '.' {
                flags.push(f);
                chars.next();
            } else {
                break;
            }
        }
        if overflow {
            out.push_str("%!(NOVERB)");
            break;
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next) else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        next += 1;
        let text = match (verb, arg) {
            ('v' | 's', v) => v.go_string(),
            ('d', Value::Int(i)) => i.to_string(),
            ('q', Value::Str(s)) => go_quote(s),
            ('q', Value::Int(i)) => {
                format!("'{}'", char::from_u32(*i as u32).unwrap_or('\u{fffd}'))
            }
            ('t', Value::Bool(b)) => b.to_string(),
            ('x', Value::Int(i)) => format!("{i:x}"),
            ('x', Value::Str(s)) => s.bytes().map(|b| format!("{b:02x}")).collect(),
            ('f' | 'F', Value::Float(f)) => {
                let precision = flags
                    .split_once('.')
                    .and_then(|(_, p)| p.parse().ok())
                    .unwrap_or(6);
                format!("{f:.precision$}")
            }
            ('f' | 'F', Value::Int(i)) => format!("%!f(int={i})"),
            ('g', Value::Float(f)) => go_float(*f),
            (verb, v) => format!("%!{verb}({}={})", v.type_name(), v.go_string()),
        };
        let width: usize = flags
            .trim_start_matches(['-', '+', '#', ' ', '0'])
            .split('.')
            .next()
            .and_then(|w| w.parse().ok())
            .unwrap_or(0);
        let pad = width.saturating_sub(text.chars().count());
        if flags.starts_with('-') {
            out.push_str(&text);
            out.push_str(&" ".repeat(pad));
        } else {
            let fill = if flags.starts_with('0') { "0" } else { " " };
            out.push_str(&fill.repeat(pad));
            out.push_str(&text);
        }
    }
    if next < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[next..]
            .iter()
            .map(|v| format!("{}={}", v.type_name(), v.go_string()))
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

/// Go's `strconv.Quote`: the quoting prometheus-adapter applies to every label value.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    go_quote_into(s, &mut out);
    out.push('"');
    out
}

/// The body of `go_quote` without the surrounding quotes.
pub fn go_quote_into(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() || is_unprintable(c) => {
                if (c as u32) < 0x10000 {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                } else {
                    let _ = write!(out, "\\U{:08x}", c as u32);
                }
            }
            c => out.push(c),
        }
    }
}

fn is_unprintable(c: char) -> bool {
    // Format characters and separators Go's IsPrint rejects (a conservative subset).
    matches!(c as u32, 0x80..=0x9f | 0xad | 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x206f | 0xfeff | 0xfff9..=0xfffb)
}

fn go_js_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn url_query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
