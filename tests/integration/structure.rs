//! The layout's promises, read from the source: no import cycle between the top-level modules
//! of `src/`, one module that imports `aws_sdk_ecr`, and every file opening with a doc comment
//! that says what lives there.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// `src/policy/file.rs` → `policy`; `src/main.rs` and `src/lib.rs` are the crate root.
fn top_module(path: &Path) -> Option<String> {
    let rel = path.strip_prefix(src()).ok()?;
    let first = rel
        .components()
        .next()?
        .as_os_str()
        .to_string_lossy()
        .to_string();
    let name = first.trim_end_matches(".rs").to_string();
    (name != "main" && name != "lib").then_some(name)
}

/// Every `crate::name` the text names, in `use` lines and inline paths alike; `use crate::{a,
/// b::c}` groups count each member.
fn referenced_modules(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for member in group[..end].split(',') {
                let name = ident(member.trim());
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        } else {
            let name = ident(after);
            if !name.is_empty() {
                found.insert(name);
            }
        }
        rest = after;
    }
    found
}

/// The text without comment lines: a doc comment naming a module is no import.
fn code_only(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A cycle in the graph, if there is one, as the modules along it.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let start = stack.iter().position(|n| n == next).unwrap_or(0);
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(cycle) = visit(next, graph, state, stack) {
                        return Some(cycle);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if !state.contains_key(node) {
            if let Some(cycle) = visit(node, graph, &mut state, &mut Vec::new()) {
                return Some(cycle);
            }
        }
    }
    None
}

fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let Some(module) = top_module(&file) else {
            continue;
        };
        let text = code_only(&std::fs::read_to_string(&file).expect("read source"));
        let edges = graph.entry(module.clone()).or_default();
        edges.extend(
            referenced_modules(&text)
                .into_iter()
                .filter(|m| *m != module),
        );
    }
    graph
}

#[test]
fn the_top_level_modules_import_each_other_without_a_cycle() {
    let graph = module_graph();
    assert!(graph.len() >= 10, "read the modules: {graph:?}");
    assert!(graph["app"].contains("judge"), "edges are found: {graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!("import cycle: {}", cycle.join(" → "));
    }
}

#[test]
fn the_cycle_check_finds_a_cycle_when_there_is_one() {
    let mut graph = module_graph();
    graph
        .entry("exit".to_string())
        .or_default()
        .insert("app".to_string());
    let cycle = find_cycle(&graph).expect("exit → app → … → exit");
    assert!(cycle.contains(&"exit".to_string()), "{cycle:?}");
    let refs = referenced_modules("use crate::{a, b::c};\nlet x = crate::d::e();");
    assert_eq!(refs.into_iter().collect::<Vec<_>>(), ["a", "b", "d"]);
}

#[test]
fn only_the_sdk_module_imports_aws_sdk_ecr() {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    let sdk = src().join("ecr").join("sdk");
    let outside: Vec<String> = files
        .iter()
        .filter(|f| !f.starts_with(&sdk))
        .filter(|f| code_only(&std::fs::read_to_string(f).expect("read")).contains("aws_sdk_ecr::"))
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        outside.is_empty(),
        "aws_sdk_ecr used outside src/ecr/sdk: {outside:?}"
    );
    let inside = files
        .iter()
        .filter(|f| f.starts_with(&sdk))
        .any(|f| code_only(&std::fs::read_to_string(f).expect("read")).contains("aws_sdk_ecr::"));
    assert!(inside, "the SDK module is where aws_sdk_ecr is used");
}

#[test]
fn every_source_file_opens_with_a_module_doc_comment() {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    let missing: Vec<String> = files
        .iter()
        .filter(|f| {
            !std::fs::read_to_string(f)
                .expect("read")
                .trim_start()
                .starts_with("//!")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(missing.is_empty(), "no module doc comment: {missing:?}");
}
