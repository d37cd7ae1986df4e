//! The shape of src/: its folders are layers and imports point down only
//! (docs/architecture.md), and no module imports, through any chain of
//! others, a module that imports it. Read from the source, as a newcomer reads it: a
//! module is a file (`a/mod.rs` is `a`), and it depends on every module a
//! `crate::` or `super::` path in it names, outside its unit tests (lib.rs
//! and main.rs are the modules `lib` and `main`). A
//! module's use of its own ancestors (a file using its folder's `mod.rs`)
//! does not count: a folder is one part, its `mod.rs` the part's face.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module name (`a::b`) -> its source text without unit tests and comments.
fn modules(src: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut folders = vec![src.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let text = text.split("#[cfg(test)]\nmod tests").next().unwrap();
            let code: Vec<&str> = text.lines().map(|l| l.split("//").next().unwrap()).collect();
            out.insert(parts.join("::"), code.join("\n"));
        }
    }
    out
}

/// The paths `text` names after `prefix` (e.g. `crate::`), braces expanded:
/// `crate::{a::b, c::{d, e}}` gives a::b, c::d and c::e.
fn paths_after(text: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(prefix) {
        // `crate::` inside a longer word (`some_crate::`) is not the crate
        let word_before = rest[..i].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_');
        rest = &rest[i + prefix.len()..];
        if !word_before {
            expand(rest, Vec::new(), &mut out);
        }
    }
    out
}

/// Reads one path (maybe a brace group) at the start of `text` below `base`.
fn expand(text: &str, mut base: Vec<String>, out: &mut Vec<Vec<String>>) {
    let text = text.trim_start();
    if let Some(group) = text.strip_prefix('{') {
        let (mut depth, mut start) = (0, 0);
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    expand(&group[start..i], base.clone(), out);
                    return;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&group[start..i], base.clone(), out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        return;
    }
    let ident: String = text.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    if ident.is_empty() {
        if !base.is_empty() {
            out.push(base);
        }
        return;
    }
    base.push(ident.clone());
    match text[ident.len()..].strip_prefix("::") {
        Some(more) => expand(more, base, out),
        None => out.push(base),
    }
}

/// Module -> the modules it depends on.
fn graph(modules: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    // the longest module a path starts with
    let resolve =
        |path: &[String]| (1..=path.len()).rev().map(|k| path[..k].join("::")).find(|name| modules.contains_key(name));
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, text) in modules {
        let parent: Vec<String> = name.split("::").filter(|s| !s.is_empty()).map(str::to_string).collect();
        let parent = parent[..parent.len().saturating_sub(1)].to_vec();
        let named = paths_after(text, "crate::")
            .into_iter()
            .chain(paths_after(text, "super::").into_iter().map(|p| [parent.clone(), p].concat()));
        for path in named {
            if let Some(target) = resolve(&path) {
                let ancestor = name.starts_with(&format!("{target}::"));
                if target != *name && !ancestor {
                    edges.entry(name.clone()).or_default().insert(target);
                }
            }
        }
    }
    edges
}

/// The groups of modules that import each other (strongly connected, more than one).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    // a module is in a cycle with every module that reaches it and that it reaches
    let reach = |from: &String| {
        let (mut seen, mut todo) = (BTreeSet::new(), vec![from.clone()]);
        while let Some(m) = todo.pop() {
            for next in edges.get(&m).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reached: BTreeMap<&String, BTreeSet<String>> = edges.keys().map(|m| (m, reach(m))).collect();
    let mut groups: Vec<BTreeSet<String>> = Vec::new();
    for (m, r) in &reached {
        if !r.contains(*m) || groups.iter().any(|g| g.contains(*m)) {
            continue;
        }
        let group: BTreeSet<String> =
            r.iter().filter(|other| reached.get(other).is_some_and(|back| back.contains(*m))).cloned().collect();
        groups.push(group);
    }
    groups
}

/// src/'s top-level modules as layers, top first. A module may import the
/// modules of its own layer (without cycles) and of any layer below it.
const LAYERS: &[&[&str]] = &[
    &["main"],
    &["commands", "generate"],
    &["run"],
    &["stages"],
    &["warehouse"],
    &["job"],
    &["engine"],
    &["storage"],
    &["contract", "maths", "observe"],
];

/// The imports that point up a layer, each with its reason. Listed exactly:
/// the test fails on a new one, and on a listed one that is gone. None is
/// left: the cluster's codecs, which must know the stages' plan nodes, live
/// in `stages::cluster_codec` and reach the engine as a value.
const UPWARD: &[(&str, &str)] = &[];

fn layer_of(module: &str) -> Option<usize> {
    let top = module.split("::").next().unwrap_or(module);
    LAYERS.iter().position(|layer| layer.contains(&top))
}

#[test]
fn imports_point_down_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = modules(&src);
    let unplaced: Vec<&String> = modules.keys().filter(|m| *m != "lib" && layer_of(m).is_none()).collect();
    assert!(unplaced.is_empty(), "modules in no layer (add their folder to LAYERS): {unplaced:?}");
    let mut upward = BTreeSet::new();
    for (from, targets) in graph(&modules) {
        for to in targets {
            if layer_of(&to) < layer_of(&from) {
                upward.insert((from.clone(), to));
            }
        }
    }
    let listed: BTreeSet<(String, String)> = UPWARD.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    let new: Vec<_> = upward.difference(&listed).collect();
    let gone: Vec<_> = listed.difference(&upward).collect();
    assert!(new.is_empty(), "imports that point up a layer: {new:?}");
    assert!(gone.is_empty(), "listed in UPWARD but no longer there (remove them): {gone:?}");
}

#[test]
fn no_module_imports_one_that_imports_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = modules(&src);
    assert!(modules.len() > 50, "{} modules read from {}", modules.len(), src.display());
    let edges = graph(&modules);
    // the reader sees what it should: a known import
    assert!(edges["run"].contains("stages::ingest"), "{:?}", edges.get("run"));
    let found = cycles(&edges);
    let explained: Vec<String> = found
        .iter()
        .map(|group| {
            let inside: Vec<String> = group
                .iter()
                .map(|m| format!("  {m} -> {:?}", edges[m].intersection(group).collect::<Vec<_>>()))
                .collect();
            format!("{} modules:\n{}", group.len(), inside.join("\n"))
        })
        .collect();
    assert!(found.is_empty(), "import cycles in src/:\n{}", explained.join("\n"));
}

#[test]
fn the_reader_finds_cycles_and_expands_braces() {
    let paths = paths_after("use crate::{a::b, c::{d, e}};\nlet x = my_crate::z; crate::f::g(1)", "crate::");
    let names: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(names, ["a::b", "c::d", "c::e", "f::g"]);
    let modules: BTreeMap<String, String> = [
        ("a", "use crate::b::X;"),
        ("b", "fn f() { crate::c::y() }"),
        ("c", "use crate::a;"),
        ("d", "use crate::a::Z;"),
        ("d::e", "use super::F; use crate::d;"),
    ]
    .into_iter()
    .map(|(m, t)| (m.to_string(), t.to_string()))
    .collect();
    let edges = graph(&modules);
    assert!(!edges.contains_key("d::e"), "a module's use of its folder does not count: {edges:?}");
    let found = cycles(&edges);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].iter().map(String::as_str).collect::<Vec<_>>(), ["a", "b", "c"]);
}
