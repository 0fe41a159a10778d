//! `reasonflux templates ...`: build the bundle, search it, print library statistics.
//! Thin wrapper: all logic lives in the `rf-templates` crate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rf_templates::{Bundle, Library, Retriever, read_header};

const DEFAULT_TEMPLATES_DIR: &str = "templates";
const DEFAULT_BUNDLE: &str = "www/templates.rfb";

#[derive(clap::Subcommand, Debug)]
pub enum TemplatesCommand {
    /// Validate the TOML sources and write the compressed bundle (templates + retrieval index).
    Build {
        /// Folder holding the template sources.
        #[arg(long, default_value = DEFAULT_TEMPLATES_DIR)]
        templates: PathBuf,
        /// Where to write the bundle.
        #[arg(long, default_value = DEFAULT_BUNDLE)]
        out: PathBuf,
    },
    /// Rank templates for a free-text query (a plan step or a problem).
    Search {
        /// The query text.
        query: String,
        /// How many results to print.
        #[arg(short = 'k', long = "top", default_value_t = 5)]
        k: usize,
        /// Search a built bundle.
        #[arg(long, conflicts_with = "templates")]
        bundle: Option<PathBuf>,
        /// Search the TOML sources directly (default: the `templates` folder).
        #[arg(long)]
        templates: Option<PathBuf>,
    },
    /// Counts by kind, subject and origin, and the bundle size.
    Stats {
        #[arg(long, default_value = DEFAULT_TEMPLATES_DIR)]
        templates: PathBuf,
        /// Bundle whose size to report (built in memory when absent).
        #[arg(long)]
        bundle: Option<PathBuf>,
    },
}

pub fn run(cmd: TemplatesCommand) -> anyhow::Result<()> {
    match cmd {
        TemplatesCommand::Build { templates, out } => build(&templates, &out),
        TemplatesCommand::Search { query, k, bundle, templates } => search(&query, k, bundle, templates),
        TemplatesCommand::Stats { templates, bundle } => stats(&templates, bundle),
    }
}

fn load(dir: &Path) -> anyhow::Result<Library> {
    match Library::load_dir(dir) {
        Ok(library) => Ok(library),
        Err(rf_templates::LoadError::Invalid(errors)) => {
            for e in &errors {
                eprintln!("error: {e}");
            }
            anyhow::bail!("{} problem(s) in the template sources under {}", errors.len(), dir.display())
        }
        Err(e) => Err(e).with_context(|| format!("loading templates from {}", dir.display())),
    }
}

fn build(dir: &Path, out: &Path) -> anyhow::Result<()> {
    let library = load(dir)?;
    let count = library.len();
    let bytes = Bundle::from_library(library).encode()?;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    let header = read_header(&bytes)?;
    println!("wrote {} ({} templates)", out.display(), count);
    println!("size:     {} bytes ({:.1} KB)", bytes.len(), bytes.len() as f64 / 1000.0);
    println!("version:  {}", header.library_version);
    println!("sha256:   {} (payload)", header.sha256_hex());
    Ok(())
}

fn search(query: &str, k: usize, bundle: Option<PathBuf>, templates: Option<PathBuf>) -> anyhow::Result<()> {
    let (library, retriever) = match bundle {
        Some(path) => {
            let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            Bundle::decode(&bytes).with_context(|| format!("decoding {}", path.display()))?.into_parts()
        }
        None => {
            let library = load(&templates.unwrap_or_else(|| PathBuf::from(DEFAULT_TEMPLATES_DIR)))?;
            let retriever = Retriever::build(&library);
            (library, retriever)
        }
    };
    let hits = retriever.search(query, k);
    if hits.is_empty() {
        println!("no template matches {query:?}");
    }
    for (rank, hit) in hits.iter().enumerate() {
        let Some(t) = library.templates.get(hit.position) else { continue };
        println!("{:>2}. {:>7.3}  {}", rank + 1, hit.score, t.id);
        println!("             {}  [{}]", t.name, t.tags.join(", "));
    }
    Ok(())
}

fn stats(dir: &Path, bundle: Option<PathBuf>) -> anyhow::Result<()> {
    let library = load(dir)?;
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_subject: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_origin: BTreeMap<&str, usize> = BTreeMap::new();
    for t in &library.templates {
        *by_kind.entry(t.kind.as_str()).or_default() += 1;
        *by_subject.entry(t.subject.as_str()).or_default() += 1;
        *by_origin.entry(t.origin.as_str()).or_default() += 1;
    }
    println!("{} templates, version {}", library.len(), library.version);
    for (title, counts) in [("kind", &by_kind), ("subject", &by_subject), ("origin", &by_origin)] {
        println!("by {title}:");
        for (name, n) in counts {
            println!("  {name:<22} {n:>5}");
        }
    }
    let size = match bundle {
        Some(path) => std::fs::metadata(&path).with_context(|| format!("reading {}", path.display()))?.len() as usize,
        None => Bundle::from_library(library).encode()?.len(),
    };
    println!("bundle size: {} bytes ({:.1} KB)", size, size as f64 / 1000.0);
    Ok(())
}
