//! `cargo xtask layers`: the dependency arrows between byok's crates, checked from
//! `cargo metadata`, so that the layering (ARCHITECTURE.md, "Code map") cannot erode silently.
//!
//! The rules, on the normal and build dependencies of the published crates:
//! * `byok-types` and `byok-translate` depend on none of ours (translate is reused alone);
//! * `byok-server` depends on `byok-types` only (any executor can sit behind it);
//! * only the binary knows Redis: `byok-state` implements the stores' traits below the
//!   executor and the server, which do not depend on it (nor does `byok-auth`), and it depends
//!   on neither of them;
//! * nothing depends on `byok` (the binary's crate);
//! * no published crate depends on an unpublished one (`publish = false`: the test support,
//!   the end-to-end tests, the benchmark, xtask), which may only be dev-dependencies.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::shell::{cargo, output};

/// Which of our crates each crate may not depend on; `*` is every crate of ours.
const FORBIDDEN: &[(&str, &[&str])] = &[
    ("byok-types", &["*"]),
    ("byok-translate", &["*"]),
    (
        "byok-server",
        &[
            "byok-executor",
            "byok-auth",
            "byok-translate",
            "byok-state",
            "byok",
        ],
    ),
    ("byok-auth", &["byok-state", "byok"]),
    ("byok-executor", &["byok-state", "byok"]),
    ("byok-store", &["byok-state", "byok"]),
    ("byok-state", &["byok-executor", "byok-server", "byok"]),
];

/// One workspace crate and the workspace crates it depends on (normal and build).
#[derive(Debug)]
struct Crate {
    publish: bool,
    depends_on: BTreeSet<String>,
}

pub fn run() -> Result<(), String> {
    let metadata = output(&mut cargo(&[
        "metadata",
        "--format-version",
        "1",
        "--no-deps",
        "--offline",
    ]))?;
    let metadata: Value = serde_json::from_str(&metadata)
        .map_err(|e| format!("cargo metadata printed no JSON: {e}"))?;
    let crates = workspace_crates(&metadata)?;
    let broken = check(&crates);
    if broken.is_empty() {
        eprintln!(
            "layers: the arrows between the {} workspace crates hold",
            crates.len()
        );
        Ok(())
    } else {
        Err(format!(
            "the layering between byok's crates is broken (see ARCHITECTURE.md, \"Code map\"):\n  {}",
            broken.join("\n  ")
        ))
    }
}

fn workspace_crates(metadata: &Value) -> Result<BTreeMap<String, Crate>, String> {
    let packages = metadata["packages"]
        .as_array()
        .ok_or("cargo metadata has no packages")?;
    let names: BTreeSet<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let mut crates = BTreeMap::new();
    for package in packages {
        let name = package["name"].as_str().ok_or("a package without a name")?;
        // `publish = false` is `"publish": []`; publishable is `null` or a registry list.
        let publish = package["publish"]
            .as_array()
            .is_none_or(|registries| !registries.is_empty());
        let depends_on = package["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|dep| dep["kind"].as_str() != Some("dev"))
            .filter_map(|dep| dep["name"].as_str())
            .filter(|dep| names.contains(dep))
            .map(str::to_owned)
            .collect();
        crates.insert(
            name.to_owned(),
            Crate {
                publish,
                depends_on,
            },
        );
    }
    Ok(crates)
}

/// Every broken rule, one line each.
fn check(crates: &BTreeMap<String, Crate>) -> Vec<String> {
    let mut broken = Vec::new();
    for (name, krate) in crates.iter().filter(|(_, k)| k.publish) {
        let forbidden = FORBIDDEN
            .iter()
            .find(|(n, _)| n == name)
            .map_or(&[][..], |(_, f)| f);
        for dep in &krate.depends_on {
            let unpublished = crates.get(dep).is_some_and(|d| !d.publish);
            if forbidden.contains(&"*") || forbidden.contains(&dep.as_str()) || dep == "byok" {
                broken.push(format!("{name} depends on {dep}"));
            } else if unpublished {
                broken.push(format!(
                    "{name} depends on {dep}, which is not published: make it a dev-dependency"
                ));
            }
        }
    }
    broken
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crates(list: &[(&str, bool, &[&str])]) -> BTreeMap<String, Crate> {
        list.iter()
            .map(|(name, publish, deps)| {
                let krate = Crate {
                    publish: *publish,
                    depends_on: deps.iter().map(|d| (*d).to_owned()).collect(),
                };
                ((*name).to_owned(), krate)
            })
            .collect()
    }

    #[test]
    fn the_layering_as_it_is_holds() {
        let today = crates(&[
            ("byok-types", true, &[]),
            ("byok-translate", true, &[]),
            ("byok-auth", true, &["byok-types"]),
            (
                "byok-executor",
                true,
                &["byok-types", "byok-auth", "byok-translate"],
            ),
            ("byok-server", true, &["byok-types"]),
            (
                "byok-state",
                true,
                &["byok-types", "byok-translate", "byok-store", "byok-auth"],
            ),
            (
                "byok",
                true,
                &["byok-server", "byok-executor", "byok-auth", "byok-state"],
            ),
            ("byok-e2e", false, &["byok"]),
        ]);
        assert_eq!(check(&today), Vec::<String>::new());
    }

    #[test]
    fn each_forbidden_arrow_is_reported() {
        let eroded = crates(&[
            ("byok-types", true, &["byok-translate"]),
            ("byok-translate", true, &["byok-types"]),
            ("byok-server", true, &["byok-types", "byok-executor"]),
            (
                "byok-executor",
                true,
                &["byok", "byok-test-support", "byok-state"],
            ),
            ("byok-state", true, &["byok-server"]),
            ("byok", true, &[]),
            ("byok-test-support", false, &[]),
        ]);
        assert_eq!(
            check(&eroded),
            [
                "byok-executor depends on byok",
                "byok-executor depends on byok-state",
                "byok-executor depends on byok-test-support, which is not published: make it a \
                 dev-dependency",
                "byok-server depends on byok-executor",
                "byok-state depends on byok-server",
                "byok-translate depends on byok-types",
                "byok-types depends on byok-translate",
            ]
        );
    }
}
