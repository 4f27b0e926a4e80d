//! `cargo xtask map`: ARCHITECTURE.md names only files that exist, so the map cannot drift from
//! the code silently.
//!
//! * every row of its "Where does X live" table names at least one repository path;
//! * every repository path the document names (in backticks, starting with one of the
//!   workspace's top folders: `crates/`, `tests/`, `bench/`, `xtask/`, `.ci/`, `contrib/`)
//!   exists.

use std::path::Path;

use crate::shell::workspace_root;

/// The document checked, at the workspace root.
const DOCUMENT: &str = "ARCHITECTURE.md";
/// The heading of the table whose every row must name a file.
const WHERE_HEADING: &str = "## Where does X live";
/// What a path must start with to count as a path into the repository.
const TOP_FOLDERS: &[&str] = &["crates/", "tests/", "bench/", "xtask/", ".ci/", "contrib/"];

pub fn run() -> Result<(), String> {
    let root = workspace_root();
    let text = std::fs::read_to_string(root.join(DOCUMENT))
        .map_err(|e| format!("cannot read {DOCUMENT}: {e}"))?;
    let (named, broken) = check(&text, |path| root.join(path).exists());
    if broken.is_empty() {
        eprintln!("map: the {named} paths {DOCUMENT} names exist");
        Ok(())
    } else {
        Err(format!(
            "{DOCUMENT} is out of date with the code (fix the path, or the row):\n  {}",
            broken.join("\n  ")
        ))
    }
}

/// How many paths `text` names, and every broken rule, one line each.
fn check(text: &str, exists: impl Fn(&Path) -> bool) -> (usize, Vec<String>) {
    let mut broken = Vec::new();
    let rows = where_rows(text);
    if rows.is_empty() {
        broken.push(format!("no `{WHERE_HEADING}` table with rows"));
    }
    for (line, row) in &rows {
        if repo_paths(row).next().is_none() {
            broken.push(format!("line {line}: the row names no file: {row}"));
        }
    }
    let mut named = 0;
    for (index, line) in text.lines().enumerate() {
        for path in repo_paths(line) {
            named += 1;
            if !exists(Path::new(path)) {
                broken.push(format!("line {}: `{path}` does not exist", index + 1));
            }
        }
    }
    (named, broken)
}

/// The body rows of the table under [`WHERE_HEADING`] (header and separator left out), each with
/// its line number.
fn where_rows(text: &str) -> Vec<(usize, &str)> {
    let mut lines = text.lines().enumerate();
    if !lines.any(|(_, line)| line.trim_end() == WHERE_HEADING) {
        return Vec::new();
    }
    lines
        .skip_while(|(_, line)| !line.starts_with('|'))
        .take_while(|(_, line)| line.starts_with('|'))
        .skip(2)
        .map(|(index, line)| (index + 1, line))
        .collect()
}

/// The repository paths `line` names in backticks (a folder's trailing `/` left off).
fn repo_paths(line: &str) -> impl Iterator<Item = &str> {
    line.split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| TOP_FOLDERS.iter().any(|top| span.starts_with(top)))
        .filter(|span| !span.contains(char::is_whitespace))
        .map(|span| span.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "# Architecture\n\
        `crates/types/` holds `ByokError`; see `/v1/responses` and `.ci/run`.\n\
        \n\
        ## Where does X live\n\
        \n\
        | X | file |\n\
        | --- | --- |\n\
        | errors | `crates/types/src/error.rs` |\n\
        | gone | `crates/types/src/gone.rs` |\n\
        | nothing | a file somewhere |\n\
        \n\
        After the table: `xtask/src/missing.rs`.\n";

    fn exists(path: &Path) -> bool {
        ["crates/types", "crates/types/src/error.rs", ".ci/run"]
            .iter()
            .any(|p| Path::new(p) == path)
    }

    #[test]
    fn paths_are_the_backticked_spans_under_a_top_folder() {
        let line = "`crates/types/` holds `ByokError`; see `/v1/responses` and `.ci/run`.";
        assert_eq!(
            repo_paths(line).collect::<Vec<_>>(),
            ["crates/types", ".ci/run"]
        );
    }

    #[test]
    fn the_where_rows_are_the_table_body() {
        let rows: Vec<usize> = where_rows(DOC).iter().map(|(line, _)| *line).collect();
        assert_eq!(rows, [8, 9, 10]);
    }

    #[test]
    fn missing_files_and_rows_without_one_are_reported() {
        let (named, broken) = check(DOC, exists);
        assert_eq!(named, 5);
        assert_eq!(
            broken,
            [
                "line 10: the row names no file: | nothing | a file somewhere |",
                "line 9: `crates/types/src/gone.rs` does not exist",
                "line 12: `xtask/src/missing.rs` does not exist",
            ]
        );
    }

    #[test]
    fn a_document_without_the_table_is_refused() {
        let (_, broken) = check("# Architecture\n`.ci/run`\n", exists);
        assert_eq!(broken, ["no `## Where does X live` table with rows"]);
    }

    #[test]
    fn the_architecture_document_holds() {
        let root = workspace_root();
        let text = std::fs::read_to_string(root.join(DOCUMENT)).unwrap();
        let (named, broken) = check(&text, |path| root.join(path).exists());
        assert!(named > 50, "only {named} paths named");
        assert_eq!(broken, Vec::<String>::new());
    }
}
