//! Where the integration tests find the repository's fetched assets (models, tokenizers, data
//! under `assets/`), and the one rule for a missing one: [`existing`] and [`asset`] skip the
//! test with a note on a developer's machine, and fail it where `RF_REQUIRE_ASSETS=1` (CI), so
//! a fetch that silently broke cannot turn the real-model tests into no-ops there.
//!
//! A dev-dependency only: nothing here is part of a shipped crate.
use std::path::{Path, PathBuf};

/// The repository root (models in `assets/`, fixtures in `tests/fixtures/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `path` when it exists; otherwise `None` with a note naming `fetch` (the
/// `scripts/fetch-assets.sh` arguments that bring it), or a panic when `RF_REQUIRE_ASSETS=1`.
pub fn existing(path: PathBuf, fetch: &str) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    let note = format!("{} is missing: run scripts/fetch-assets.sh {fetch}", path.display());
    if std::env::var("RF_REQUIRE_ASSETS").as_deref() == Ok("1") {
        panic!("RF_REQUIRE_ASSETS=1 and {note}");
    }
    eprintln!("skipping: {note}");
    None
}

/// `assets/<name>` under the repository root, by the rule of [`existing`].
pub fn asset(name: &str, fetch: &str) -> Option<PathBuf> {
    existing(repo_root().join("assets").join(name), fetch)
}
