//! Writes the template bundle for the browser build (scripts/build-wasm.sh): OUT.rfb and its
//! worked examples, OUT.examples.rfb.
//! Run: cargo run --release -p rf-templates --example write_bundle -- TEMPLATES_DIR OUT.rfb
use std::path::PathBuf;

use rf_templates::{Bundle, Library, WorkedExamples, examples_path};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "templates".into()));
    let out = PathBuf::from(args.next().unwrap_or_else(|| "www/templates.rfb".into()));
    let library = Library::load_dir(&dir)?;
    let count = library.len();
    let examples = WorkedExamples::from_library(&library)?.encode()?;
    let bytes = Bundle::from_library(library).encode()?;
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&out, &bytes)?;
    std::fs::write(examples_path(&out), &examples)?;
    println!("{} templates -> {} ({} bytes) + worked examples ({} bytes)", count, out.display(), bytes.len(), examples.len());
    Ok(())
}
