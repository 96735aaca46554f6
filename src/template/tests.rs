use super::*;

fn data() -> Value {
    Value::Struct(
        "queryTemplateArgs",
        [
            ("Series", Value::str("s")),
            ("LabelMatchers", Value::str(r#"pod=~"a|b""#)),
            (
                "LabelValuesByName",
                Value::string_map([("z", "1"), ("a", "2")]),
            ),
            ("GroupBy", Value::str("pod,container")),
            ("GroupBySlice", Value::string_list(["pod", "container"])),
        ]
        .into_iter()
        .collect(),
    )
}

#[track_caller]
fn check(template: &str, expect: &str) {
    let parsed =
        Template::parse("metrics-query", template).unwrap_or_else(|e| panic!("{template}: {e}"));
    assert_eq!(
        parsed
            .render(&data())
            .unwrap_or_else(|e| panic!("{template}: {e}")),
        expect,
        "{template}"
    );
}

#[track_caller]
fn check_parse_err(template: &str, expect: &str) {
    let err = Template::parse("metrics-query", template).unwrap_err();
    assert_eq!(err.to_string(), expect);
}

#[track_caller]
fn check_render_err(template: &str, expect_contains: &str) {
    let parsed = Template::parse("metrics-query", template).unwrap();
    let err = parsed.render(&data()).unwrap_err().to_string();
    assert!(err.contains(expect_contains), "{err}");
}

/// Each case was checked against Go's text/template (reference §3.1, §10.10).
mod same_as_go {
    use super::*;

    #[test]
    fn fields_and_printing() {
        check("<<.Series>>", "s");
        check("<< .Series >>", "s");
        check(
            "sum(rate(<<.Series>>{<<.LabelMatchers>>}[5m])) by (<<.GroupBy>>)",
            r#"sum(rate(s{pod=~"a|b"}[5m])) by (pod,container)"#,
        );
        check("<<.GroupBySlice>>", "[pod container]");
        check("<<.LabelValuesByName>>", "map[a:2 z:1]");
        check(r#"<<index .LabelValuesByName "a">>"#, "2");
        check(r#"<<index .LabelValuesByName "missing">>"#, "");
        check("<<.LabelValuesByName.a>>", "2");
        check("<<.LabelValuesByName.missing>>", "<no value>");
        check("{{.Series}} <<.Series>>", "{{.Series}} s");
        check("<<index .GroupBySlice 1>>", "container");
        check("<<len .GroupBySlice>>", "2");
    }

    #[test]
    fn trim_markers_and_comments() {
        check("x  <<- .Series ->>  y", "xsy");
        check("a <</* comment */>> b", "a  b");
        check("a <<- /* comment */ ->> b", "ab");
        check("<<- .Series>>\n", "s\n");
    }

    #[test]
    fn control_flow() {
        check(
            "<<range $i, $v := .GroupBySlice>><<if $i>>,<<end>><<$v>><<end>>",
            "pod,container",
        );
        check("<<range .GroupBySlice>>[<<.>>]<<end>>", "[pod][container]");
        check(
            "<<range $k, $v := .LabelValuesByName>><<$k>>=<<$v>>;<<end>>",
            "a=2;z=1;",
        );
        check("<<if eq .Series \"s\">>yes<<else>>no<<end>>", "yes");
        check(
            "<<if eq .Series \"x\">>1<<else if eq .Series \"s\">>2<<else>>3<<end>>",
            "2",
        );
        check("<<if ne .Series \"s\">>1<<else>>2<<end>>", "2");
        check("<<with .Series>>[<<.>>]<<end>>", "[s]");
        check(
            "<<with .LabelValuesByName.missing>>x<<else>>none<<end>>",
            "none",
        );
        check("<<$x := .Series>><<$x>><<$x>>", "ss");
        check("<<if and .Series .GroupBy>>both<<end>>", "both");
        check(
            "<<if or .LabelValuesByName.missing .Series>>one<<end>>",
            "one",
        );
        check("<<if not .Series>>x<<else>>y<<end>>", "y");
        check(
            "<<range .GroupBySlice>><<if eq . \"pod\">><<continue>><<end>><<.>><<end>>",
            "container",
        );
        check("<<range .GroupBySlice>><<.>><<break>><<end>>", "pod");
        check(
            "<<range .LabelValuesByName.missing>>x<<else>>empty<<end>>",
            "empty",
        );
        check(
            "<<define \"x\">>[<<.>>]<<end>><<template \"x\" .Series>>",
            "[s]",
        );
        check("<<if lt 1 2>>lt<<end>>", "lt");
        check("<<.Series | printf \"%s!\">>", "s!");
    }

    #[test]
    fn printf_verbs() {
        check(
            r#"<<printf "%s-%d-%q-%v" .Series 3 .Series .GroupBySlice>>"#,
            r#"s-3-"s"-[pod container]"#,
        );
        check(r#"<<printf "%s">>"#, "%!s(MISSING)");
        check(r#"<<printf "%d%%" 5>>"#, "5%");
        check(r#"<<print 1 2 "a" 3>>"#, "1 2a3");
    }
}

#[test]
fn unknown_functions_fail_at_parse_time() {
    check_parse_err(
        r#"<<join .GroupBySlice ",">>"#,
        r#"template: metrics-query:1: function "join" not defined"#,
    );
    check_parse_err("<<.Series", "template: metrics-query:1: unclosed action");
    check_parse_err(
        "a\n<<if .Series>>",
        "template: metrics-query:2: unexpected EOF",
    );
    check_parse_err("<<end>>", "template: metrics-query:1: unexpected {{end}}");
    check_parse_err(
        "<<$nope>>",
        r#"template: metrics-query:1: undefined variable "$nope""#,
    );
}

#[test]
fn execution_errors_name_the_action() {
    check_render_err(
        "<<.series>>",
        "can't evaluate field series in type queryTemplateArgs",
    );
    check_render_err("<<index .GroupBySlice 5>>", "index out of range: 5");
    check_render_err("<<.Series.Foo>>", "can't evaluate field Foo in type string");
}

#[test]
fn go_quote_matches_strconv_quote() {
    let cases = [
        ("plain", r#""plain""#),
        ("a\"b", r#""a\"b""#),
        ("back\\slash", r#""back\\slash""#),
        ("new\nline", r#""new\nline""#),
        ("tab\t", r#""tab\t""#),
        ("\x01", r#""\x01""#),
        ("héllo", r#""héllo""#),
        ("\u{200b}", r#""\u200b""#),
    ];
    for (input, expect) in cases {
        assert_eq!(go_quote(input), expect, "{input:?}");
    }
}

#[test]
fn floats_print_like_go() {
    let cases = [
        (0.5, "0.5"),
        (1e21, "1e+21"),
        (1e6, "1000000"),
        (1e-5, "1e-05"),
        (3.0, "3"),
    ];
    for (f, expect) in cases {
        assert_eq!(go_float(f), expect);
    }
}

/// Found by the `rules_file` fuzz target: a multi-byte character inside an action made the
/// lexer slice a string inside that character.
#[test]
fn multibyte_characters_inside_actions_do_not_panic() {
    for source in [
        "<<\"é\">>",
        "<<é>>",
        "<< .Series \"ü>>\" >>",
        "<<`日本`>>x",
        "<<ü",
    ] {
        let _ = Template::parse("t", source);
    }
    let t = Template::parse("t", "<<\"é\">>").unwrap();
    assert_eq!(t.render(&Value::str("")).unwrap(), "é");
}

/// Found by the `template` fuzz target: `printf "%0000…0107766135t"` asked for a width beyond
/// memory. Go's fmt stops parsing a number past 10^6 and prints `%!(NOVERB)`.
#[test]
fn printf_refuses_absurd_widths_as_go_does() {
    let render = |source: &str| {
        Template::parse("t", source)
            .unwrap()
            .render(&Value::str(""))
            .unwrap()
    };
    assert_eq!(render(r#"<<printf "%5d|" 42>>"#), "   42|");
    assert_eq!(
        render(r#"<<printf "%00000000000107766135083390002t" true>>"#),
        "%!(NOVERB)%!(EXTRA bool=true)"
    );
    assert_eq!(
        render(r#"<<printf "%.99999999999f" 1.5>>"#),
        "%!(NOVERB)%!(EXTRA float64=1.5)"
    );
}

/// Found by the `template` fuzz target: `range` over a large integer (valid Go) ran for
/// minutes. Rendering stops with an error after a fixed budget instead.
#[test]
fn rendering_has_a_work_budget() {
    for source in [
        "<<range $i := 100000000>><<$i>><<end>>",
        "<<range 5000000>><<end>>",
        "<<range $i := 900000>><<range 900000>>x<<end>><<end>>",
    ] {
        let t = Template::parse("t", source).unwrap();
        let err = t.render(&Value::str("")).unwrap_err();
        assert!(
            err.to_string().contains("exceeded its budget"),
            "{source}: {err}"
        );
    }
    let t = Template::parse("t", "<<range $i := 100000000>><<$i>><<end>>").unwrap();
    let err = t.render(&Value::str("")).unwrap_err();
    assert!(err.to_string().contains("exceeded its budget"), "{err}");
    let small = Template::parse("t", "<<range $i := 3>><<$i>><<end>>").unwrap();
    assert_eq!(small.render(&Value::str("")).unwrap(), "012");
}
