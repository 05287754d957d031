//! The folder tree of `core/src` is the architecture drawing; these tests keep it that way.
//!
//! - Layers: a module uses only its own folder and the folders of lower layers (the order is
//!   [`LAYERS`], the same as `ARCHITECTURE.md`'s drawing). Folders on one layer do not use each
//!   other.
//! - No import circles between files, following re-exports to the file that defines an item.
//! - `mod.rs` and `lib.rs` are tables of contents: modules and re-exports, no items.
//! - No source file over [`MAX_LINES`] lines.
//!
//! The checks read the source text: `use` statements and `crate::`/`super::` paths in code
//! (comments are skipped), which is how every module of this crate refers to another.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, bottom first; folders on the same rank may not use each other.
const LAYERS: &[(&str, u32)] = &[
    ("model", 0),
    ("protocol", 1),
    ("config", 2),
    ("session", 3),
    ("transport", 3),
    ("client", 4),
    ("collab", 5),
];

const MAX_LINES: usize = 600;

/// One source file: its module path (`["session", "machine"]`) and text.
struct Source {
    path: PathBuf,
    module: Vec<String>,
    text: String,
    /// `mod.rs` / `lib.rs`: its module is the folder.
    is_folder_root: bool,
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir:?}: {e}"));
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let relative = path.strip_prefix(&root).unwrap_or(&path);
            let mut module: Vec<String> =
                relative.with_extension("").iter().map(|s| s.to_string_lossy().into()).collect();
            let is_folder_root = matches!(module.last().map(String::as_str), Some("mod" | "lib"));
            if is_folder_root {
                module.pop();
            }
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            out.push(Source { path, module, text, is_folder_root });
        }
    }
    out.sort_by(|a, b| a.module.cmp(&b.module));
    out
}

/// The code of a file without comments (line comments, doc comments, trailing comments).
fn code_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .map(|line| match line.find(" // ") {
            Some(at) => line[..at].to_owned(),
            None => line.to_owned(),
        })
        .collect()
}

/// `use` statements (whole, across lines), with their visibility prefix.
fn use_statements(code: &[String]) -> Vec<(bool, String)> {
    let joined = code.join("\n");
    let mut out = Vec::new();
    let mut rest = joined.as_str();
    while let Some(at) = find_use(rest) {
        let (public, start) = at;
        let Some(end) = rest[start..].find(';') else { break };
        out.push((public, rest[start..start + end].trim().to_owned()));
        rest = &rest[start + end + 1..];
    }
    out
}

/// Finds the next `use` keyword at the start of a statement; returns whether it is `pub use`
/// and where the path begins.
fn find_use(text: &str) -> Option<(bool, usize)> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        for (prefix, public) in [("pub use ", true), ("pub(crate) use ", true), ("use ", false)] {
            if trimmed.starts_with(prefix) {
                return Some((public, offset + indent + prefix.len()));
            }
        }
        offset += line.len();
    }
    None
}

/// `a::{b, c::{d, e as f}}` into `[a::b, a::c::d, a::c::e]` (aliases dropped).
fn expand(tree: &str) -> Vec<Vec<String>> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace() || *c == ' ').collect();
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or(tree);
        return vec![path.split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect()];
    };
    let head: Vec<String> =
        tree[..open].split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect();
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut parts = Vec::new();
    let (mut depth, mut current) = (0, String::new());
    for c in inner.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    let mut out = Vec::new();
    for part in parts.iter().filter(|p| !p.trim().is_empty()) {
        for tail in expand(part) {
            let mut path = head.clone();
            if tail != ["self"] {
                path.extend(tail);
            }
            out.push(path);
        }
    }
    out
}

/// Every path a file refers to: its `use` statements and inline `crate::`/`super::` paths,
/// made absolute (`["session", "machine", "Session"]`). Re-exports are returned separately.
fn references(
    source: &Source,
    modules: &BTreeSet<Vec<String>>,
) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    let code = code_lines(&source.text);
    let (mut uses, mut reexports) = (Vec::new(), Vec::new());
    for (public, statement) in use_statements(&code) {
        for path in expand(&statement) {
            if let Some(absolute) = absolute(source, &path, modules) {
                if public {
                    reexports.push(absolute)
                } else {
                    uses.push(absolute)
                }
            }
        }
    }
    for line in &code {
        let trimmed = line.trim_start();
        if trimmed.starts_with("use ") || trimmed.starts_with("pub use ") {
            continue;
        }
        for start in ["crate::", "super::"] {
            let mut rest = line.as_str();
            while let Some(at) = rest.find(start) {
                let preceded_by_path = rest[..at].ends_with("::");
                let tail = &rest[at..];
                let end = tail
                    .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                    .unwrap_or(tail.len());
                let path: Vec<String> =
                    tail[..end].split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect();
                if !preceded_by_path {
                    if let Some(absolute) = absolute(source, &path, modules) {
                        uses.push(absolute);
                    }
                }
                rest = &tail[end.max(1)..];
            }
        }
    }
    (uses, reexports)
}

/// A path from a file made absolute from the crate root; `None` for outside crates.
fn absolute(
    source: &Source,
    path: &[String],
    modules: &BTreeSet<Vec<String>>,
) -> Option<Vec<String>> {
    let first = path.first()?;
    let mut module = source.module.clone();
    // A file's own items live in its module; `super` is the module's parent.
    let mut rest = path;
    match first.as_str() {
        "crate" => {
            module.clear();
            rest = &path[1..];
        }
        "self" => rest = &path[1..],
        "super" => {
            while rest.first().map(String::as_str) == Some("super") {
                module.pop();
                rest = &rest[1..];
            }
        }
        // A child module of this one (`pub use child::Item` in a mod.rs), or an outside crate.
        _ if modules.contains(&[module.as_slice(), &path[..1]].concat()) => {}
        _ => return None,
    }
    module.extend(rest.iter().cloned());
    Some(module)
}

/// The longest prefix of `path` that names a file's module, and the rest (the item).
fn owning_module<'a>(
    path: &'a [String],
    modules: &BTreeSet<Vec<String>>,
) -> (Vec<String>, &'a [String]) {
    for len in (0..=path.len()).rev() {
        if modules.contains(&path[..len].to_vec()) {
            return (path[..len].to_vec(), &path[len..]);
        }
    }
    (Vec::new(), path)
}

struct Crate {
    sources: Vec<Source>,
    modules: BTreeSet<Vec<String>>,
    /// Per folder root: item name -> where its `pub use` points.
    reexports: BTreeMap<Vec<String>, BTreeMap<String, Vec<String>>>,
    uses: BTreeMap<Vec<String>, Vec<Vec<String>>>,
}

impl Crate {
    fn load() -> Self {
        Self::from_sources(sources())
    }

    fn from_sources(sources: Vec<Source>) -> Self {
        let modules: BTreeSet<Vec<String>> = sources.iter().map(|s| s.module.clone()).collect();
        let mut reexports = BTreeMap::new();
        let mut uses = BTreeMap::new();
        for source in &sources {
            let (used, exported) = references(source, &modules);
            let table: BTreeMap<String, Vec<String>> = exported
                .into_iter()
                .filter_map(|path| Some((path.last()?.clone(), path)))
                .collect();
            reexports.insert(source.module.clone(), table);
            uses.insert(source.module.clone(), used);
        }
        Self { sources, modules, reexports, uses }
    }

    /// The file module that defines what `path` names, following re-exports.
    fn defining_module(&self, path: &[String]) -> Vec<String> {
        let mut path = path.to_vec();
        for _ in 0..16 {
            let (module, item) = owning_module(&path, &self.modules);
            let Some(name) = item.first() else { return module };
            match self.reexports.get(&module).and_then(|table| table.get(name)) {
                Some(target) if *target != path => {
                    let mut next = target.clone();
                    next.extend(item[1..].iter().cloned());
                    path = next;
                }
                _ => return module,
            }
        }
        path
    }

    /// Edges between file modules (mod.rs re-exports excluded: they are the table of contents).
    fn edges(&self) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
        let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
        for (from, used) in &self.uses {
            for path in used {
                let to = self.defining_module(path);
                if &to != from && !to.is_empty() && !is_descendant(&to, from) {
                    edges.entry(from.clone()).or_default().insert(to);
                }
            }
        }
        edges
    }
}

/// Whether `child` is inside `parent` (tests modules use their parent freely: `super::*`).
fn is_descendant(parent: &[String], child: &[String]) -> bool {
    child.len() > parent.len() && child.starts_with(parent)
}

fn layer_of(module: &[String]) -> Option<(&'static str, u32)> {
    let top = module.first()?;
    LAYERS.iter().find(|(name, _)| name == top).copied()
}

#[test]
fn every_folder_of_core_src_is_a_known_layer() {
    let krate = Crate::load();
    for source in &krate.sources {
        if source.module.is_empty() {
            continue; // lib.rs
        }
        assert!(
            layer_of(&source.module).is_some(),
            "{:?} is in no layer: add its folder to LAYERS and to ARCHITECTURE.md",
            source.path
        );
    }
}

/// Every use of a higher layer, or of another folder on the same layer.
fn layer_violations(krate: &Crate) -> Vec<String> {
    let mut violations = Vec::new();
    for (from, targets) in krate.edges() {
        let Some((from_folder, from_rank)) = layer_of(&from) else { continue };
        for to in targets {
            let Some((to_folder, to_rank)) = layer_of(&to) else { continue };
            if to_folder != from_folder && to_rank >= from_rank {
                violations.push(format!("{} uses {}", from.join("::"), to.join("::")));
            }
        }
    }
    violations
}

#[test]
fn no_module_uses_a_higher_layer_or_a_sibling_layer() {
    let violations = layer_violations(&Crate::load());
    assert!(violations.is_empty(), "layering broken:\n{}", violations.join("\n"));
}

/// Every import circle between files, as `a -> b -> a`.
fn circles(krate: &Crate) -> Vec<String> {
    let edges = krate.edges();
    // Depth-first search with colours; a grey node reached again closes a circle.
    let mut colour: BTreeMap<Vec<String>, u8> = BTreeMap::new();
    let mut circles = Vec::new();
    fn visit(
        node: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        colour: &mut BTreeMap<Vec<String>, u8>,
        stack: &mut Vec<Vec<String>>,
        circles: &mut Vec<String>,
    ) {
        colour.insert(node.clone(), 1);
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            match colour.get(next).copied().unwrap_or(0) {
                0 => visit(next, edges, colour, stack, circles),
                1 => {
                    let at = stack.iter().position(|n| n == next).unwrap_or(0);
                    let names: Vec<String> = stack[at..].iter().map(|m| m.join("::")).collect();
                    circles.push(format!("{} -> {}", names.join(" -> "), next.join("::")));
                }
                _ => {}
            }
        }
        stack.pop();
        colour.insert(node.clone(), 2);
    }
    for node in krate.modules.iter() {
        if colour.get(node).copied().unwrap_or(0) == 0 {
            visit(node, &edges, &mut colour, &mut Vec::new(), &mut circles);
        }
    }
    circles
}

#[test]
fn there_are_no_import_circles_between_files() {
    let circles = circles(&Crate::load());
    assert!(circles.is_empty(), "import circles:\n{}", circles.join("\n"));
}

#[test]
fn folder_roots_are_tables_of_contents() {
    let krate = Crate::load();
    for source in krate.sources.iter().filter(|s| s.is_folder_root) {
        for line in code_lines(&source.text) {
            let line = line.trim();
            let allowed = line.is_empty()
                || line.starts_with("mod ")
                || line.starts_with("pub mod ")
                || line.starts_with("pub use ")
                || line.starts_with("#[")
                || line.starts_with("#![")
                // the continuation lines of a multi-line `pub use`
                || !line.contains(['(', '=', '>'])
                    && line.chars().all(|c| c.is_alphanumeric() || " _,:{};".contains(c));
            assert!(allowed, "{:?} should only list modules and re-exports: {line:?}", source.path);
        }
    }
}

#[test]
fn no_source_file_is_over_the_line_limit() {
    let krate = Crate::load();
    let long: Vec<String> = krate
        .sources
        .iter()
        .map(|s| (s.text.lines().count(), &s.path))
        .filter(|(lines, _)| *lines > MAX_LINES)
        .map(|(lines, path)| format!("{path:?}: {lines} lines"))
        .collect();
    assert!(long.is_empty(), "split these by concern:\n{}", long.join("\n"));
}

#[test]
fn the_checker_sees_a_circle_and_a_layer_breach_when_there_is_one() {
    // The checks above would pass vacuously if the parser found no edges: show it finds them.
    let source = |path: &str, text: &str| {
        let mut module: Vec<String> =
            path.trim_end_matches(".rs").split('/').map(Into::into).collect();
        let is_folder_root = module.last().map(String::as_str) == Some("mod");
        if is_folder_root {
            module.pop();
        }
        Source { path: path.into(), module, text: text.into(), is_folder_root }
    };
    let krate = Crate::from_sources(vec![
        source("model/mod.rs", "mod a;\npub use a::Thing;\n"),
        source("model/a.rs", "// crate::client::Ignored in a comment\npub struct Thing;\n"),
        source("client/mod.rs", "mod handle;\npub use handle::Client;\n"),
        source("client/handle.rs", "use crate::model::Thing;\npub struct Client;\n"),
        source("session/mod.rs", "mod x;\nmod y;\n"),
        source(
            "session/x.rs",
            "use super::y::Y;\npub struct X;\nfn f() { crate::client::Client; }\n",
        ),
        source("session/y.rs", "use super::{x::X};\npub struct Y;\n"),
    ]);
    assert_eq!(layer_violations(&krate), ["session::x uses client::handle"]);
    assert_eq!(circles(&krate), ["session::x -> session::y -> session::x"]);
    // A re-export is followed to the file that defines the item; the real crate has edges.
    assert_eq!(krate.defining_module(&["client".into(), "Client".into()]), ["client", "handle"]);
    let real = Crate::load();
    let machine = vec!["session".to_owned(), "machine".to_owned()];
    assert_eq!(real.defining_module(&["Session".to_owned()]), machine);
    let uses = real.edges().get(&machine).cloned().unwrap_or_default();
    assert!(uses.contains(&vec!["config".to_owned(), "client_config".to_owned()]), "{uses:?}");
}
