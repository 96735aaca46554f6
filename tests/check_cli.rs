//! `prometheus-adapter check` on a corpus of broken rules files, one mistake each (the ones
//! users report upstream): golden output plus exit code. `UPDATE_GOLDEN=1` rewrites the
//! `.out` files; review the diff.

use std::path::Path;
use std::process::Command;

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_prometheus-adapter"))
        .arg("check")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    )
}

fn golden(path: &Path, actual: &str) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 creates it)", path.display()));
    assert_eq!(actual, expected, "{} differs", path.display());
}

#[test]
fn corpus_of_broken_configs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/check");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 15, "the corpus shrank: {files:?}");
    let mut codes = std::collections::BTreeSet::new();
    for file in &files {
        let relative = format!(
            "tests/check/{}",
            file.file_name().unwrap().to_string_lossy()
        );
        let (code, stdout) = run(&[&relative]);
        assert!(
            code == 1 || code == 2,
            "{relative}: a broken file passed (exit {code})"
        );
        golden(
            &file.with_extension("out"),
            &format!("{stdout}exit {code}\n"),
        );
        let (_, json) = run(&["-o", "json", &relative]);
        let json: serde_json::Value = serde_json::from_str(&json).unwrap();
        let first = &json[0]["diagnostics"][0];
        codes.insert(first["code"].as_str().unwrap().to_string());
        assert!(
            first["field"].is_string() && first["line"].is_u64(),
            "{json}"
        );
    }
    assert!(
        codes.len() >= 15,
        "{} distinct findings: {codes:?}",
        codes.len()
    );
}

#[test]
fn shipped_configs_are_clean() {
    // The HPA examples' rules are checked by tests/chart.rs.
    let (code, stdout) = run(&["--config", "config/default.yaml"]);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(stdout, "config/default.yaml: 0 errors, 0 warnings\n");
}

#[test]
fn usage_and_unreadable_files() {
    let cases: [(&[&str], i32, &str); 3] = [
        (&[], 3, ""),
        (&["no/such/file.yaml"], 2, "error[unreadable]"),
        (&["-o", "yaml", "config/default.yaml"], 3, ""),
    ];
    for (args, exit, contains) in cases {
        let (code, stdout) = run(args);
        assert_eq!(code, exit, "{args:?}: {stdout}");
        assert!(stdout.contains(contains), "{args:?}: {stdout}");
    }
}
