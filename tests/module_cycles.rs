//! No module imports from a module that imports it. This reads `src/` the way
//! `cargo modules dependencies --acyclic` would at the level of the crate's top modules: an
//! edge `a -> b` is a `crate::b` path in a file of `a` (outside its unit tests), and a cycle is
//! a strongly connected set of more than one module.

// Tests fail loudly: unwrapping is the point here.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top module -> the top modules its files name.
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(&src).unwrap();
                let first = relative.components().next().unwrap().as_os_str();
                let top = first.to_string_lossy().trim_end_matches(".rs").to_owned();
                if top != "lib" && top != "main" {
                    let text = std::fs::read_to_string(&path).unwrap();
                    // Unit tests may reach anywhere.
                    let code = text.split("#[cfg(test)]").next().unwrap().to_owned();
                    files.entry(top).or_default().push(code);
                }
            }
        }
    }
    let tops: BTreeSet<String> = files.keys().cloned().collect();
    files
        .iter()
        .map(|(top, texts)| {
            let used = texts
                .iter()
                .flat_map(|text| text.match_indices("crate::").map(|(at, _)| &text[at + 7..]))
                .map(|rest| {
                    rest.chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect::<String>()
                })
                .filter(|used| used != top && tops.contains(used))
                .collect();
            (top.clone(), used)
        })
        .collect()
}

/// The cycles: strongly connected sets of more than one module (Tarjan's algorithm).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    struct Walk<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<BTreeSet<String>>,
    }
    fn visit<'a>(walk: &mut Walk<'a>, node: &'a str) {
        let n = walk.index.len();
        walk.index.insert(node, n);
        walk.low.insert(node, n);
        walk.stack.push(node);
        for next in walk.graph.get(node).into_iter().flatten() {
            if !walk.index.contains_key(next.as_str()) {
                visit(walk, next);
                let low = walk.low[node].min(walk.low[next.as_str()]);
                walk.low.insert(node, low);
            } else if walk.stack.contains(&next.as_str()) {
                let low = walk.low[node].min(walk.index[next.as_str()]);
                walk.low.insert(node, low);
            }
        }
        if walk.low[node] == walk.index[node] {
            let mut component = BTreeSet::new();
            while let Some(member) = walk.stack.pop() {
                component.insert(member.to_owned());
                if member == node {
                    break;
                }
            }
            if component.len() > 1 {
                walk.found.push(component);
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !walk.index.contains_key(node.as_str()) {
            visit(&mut walk, node);
        }
    }
    walk.found
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    let found = cycles(&graph);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0], ["a", "b", "c"].map(str::to_owned).into());
}

#[test]
fn no_module_imports_from_a_module_that_imports_it() {
    let graph = dependencies();
    assert!(graph["admin"].contains("office"), "{graph:?}");
    assert!(
        !graph["admin"].contains("server"),
        "the admin router owns its state"
    );
    assert!(
        !graph["conversation"].contains("admin"),
        "the lookup recorder is not the admin API's"
    );
    assert!(
        !graph["channels"].contains("server"),
        "the SMS router owns its state"
    );
    assert!(
        !graph["notices"].contains("channels"),
        "the channels register their lane senders with the outbox, not the reverse"
    );
    assert!(
        !graph["store"].contains("conversation"),
        "the store keeps dialogues as opaque values"
    );
    let cycles = cycles(&graph);
    assert!(cycles.is_empty(), "module cycles: {cycles:?}");
}
