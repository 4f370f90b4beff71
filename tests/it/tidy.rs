//! The architecture, checked on the source: which layer may use which
//! (ARCHITECTURE.md's invariants), the single places that run git, read
//! hunks and blank `#define` bodies, and a `//!` comment atop every file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level modules each module may use (besides itself and the
/// leaves, which anyone may use). A module missing here is an error: a
/// new one must be given its place.
const ALLOWED: &[(&str, &[&str])] = &[
    ("c", &[]),
    ("smpl", &["c"]),
    ("engine", &["c", "smpl"]),
    ("check", &["engine", "smpl", "c"]),
    ("review", &["check", "engine", "smpl", "c"]),
    ("mail", &["engine", "smpl", "c"]),
    ("validate", &["engine", "smpl", "c"]),
    ("ruletest", &["engine", "smpl", "c"]),
    ("buffer", &["check", "engine", "c"]),
    ("lsp", &["buffer", "check"]),
    (
        "cli",
        &[
            "check", "review", "mail", "validate", "ruletest", "lsp", "buffer", "engine", "smpl",
            "c",
        ],
    ),
];

/// Modules that depend on no other layer; any module may use them.
const LEAVES: &[(&str, &[&str])] = &[
    ("diff", &[]),
    ("file", &[]),
    ("progress", &[]),
    ("bundled", &["file"]),
    ("input", &[]),
    ("git", &["diff"]),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Each source file, named relative to `src/`, with its text.
fn sources() -> Vec<(String, String)> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files
        .into_iter()
        .map(|p| {
            let name = p
                .strip_prefix(src())
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// The top-level module a file belongs to (`engine/walk.rs` → `engine`).
fn module_of(name: &str) -> &str {
    let first = name.split('/').next().unwrap();
    first.strip_suffix(".rs").unwrap_or(first)
}

/// The code of a file without its test module (tests may reach anywhere).
fn without_tests(text: &str) -> &str {
    text.find("#[cfg(test)]\nmod tests")
        .map_or(text, |i| &text[..i])
}

/// The top-level modules `text` names as `crate::NAME`.
fn uses(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let before = text[..i].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &text[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name);
        }
    }
    out
}

#[test]
fn layers_use_only_the_layers_below_them() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().chain(LEAVES).copied().collect();
    let leaves: Vec<&str> = LEAVES.iter().map(|l| l.0).collect();
    let mut wrong = Vec::new();
    for (name, text) in sources() {
        let module = module_of(&name);
        if module == "lib" || module == "main" {
            continue;
        }
        let Some(may) = allowed.get(module) else {
            wrong.push(format!(
                "{name}: module '{module}' has no place in tidy.rs's ALLOWED or LEAVES"
            ));
            continue;
        };
        let is_leaf = leaves.contains(&module);
        for used in uses(without_tests(&text)) {
            let ok = used == module
                || may.contains(&used.as_str())
                || (!is_leaf && leaves.contains(&used.as_str()));
            if !ok {
                wrong.push(format!("{name}: {module} uses crate::{used}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_allowed_graph_has_no_cycle() {
    let graph: BTreeMap<&str, &[&str]> = ALLOWED.iter().chain(LEAVES).copied().collect();
    // Depth-first search from every module; a module met again on the
    // current path closes a cycle.
    fn visit<'a>(
        m: &'a str,
        graph: &BTreeMap<&'a str, &'a [&'a str]>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        assert!(!path.contains(&m), "cycle: {} -> {m}", path.join(" -> "));
        if done.contains(m) {
            return;
        }
        path.push(m);
        for next in graph.get(m).copied().unwrap_or_default() {
            visit(next, graph, path, done);
        }
        path.pop();
        done.insert(m);
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        visit(m, &graph, &mut Vec::new(), &mut done);
    }
}

#[test]
fn every_file_says_what_it_owns() {
    let missing: Vec<String> = sources()
        .into_iter()
        .filter(|(_, text)| !text.starts_with("//!"))
        .map(|(name, _)| name)
        .collect();
    assert!(missing.is_empty(), "no //! comment at the top: {missing:?}");
}

/// Files other than `only` whose code (tests aside) holds `needle`.
fn elsewhere(needle: &str, only: &[&str]) -> Vec<String> {
    sources()
        .into_iter()
        .filter(|(name, text)| {
            !only.contains(&name.as_str()) && without_tests(text).contains(needle)
        })
        .map(|(name, _)| name)
        .collect()
}

#[test]
fn one_place_each_runs_git_reads_hunks_and_blanks_defines() {
    assert_eq!(
        elsewhere("Command::new(\"git\")", &["git.rs"]),
        Vec::<String>::new()
    );
    assert_eq!(elsewhere("\"@@ -\"", &["diff.rs"]), Vec::<String>::new());
    assert_eq!(elsewhere("b\"@@ -\"", &["diff.rs"]), Vec::<String>::new());
    assert_eq!(
        elsewhere("blank_define_bodies(", &["c/source.rs", "c/parsed.rs"]),
        Vec::<String>::new()
    );
}

#[test]
fn the_command_line_only_dispatches_and_prints() {
    // Walking, building engines and parsing C are the library's.
    for needle in ["walk::walk(", "Engine::new(", "crate::c::", "crate::smpl"] {
        let found: Vec<String> = sources()
            .into_iter()
            .filter(|(name, text)| name.starts_with("cli/") && without_tests(text).contains(needle))
            .map(|(name, _)| name)
            .collect();
        assert!(found.is_empty(), "{needle} in {found:?}");
    }
}
