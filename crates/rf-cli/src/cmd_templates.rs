//! `reasonflux templates ...`: build the bundle, search it, measure retrieval, print library
//! statistics. Thin wrapper over `rf-templates` (library, index, fusion) and `rf-embed` (the
//! sentence encoder of dense retrieval).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rf_embed::{CpuWeights, EncoderRuntime, SentenceEncoder};
use rf_solve::{RetrieverChoice, TemplateIndex, embed_templates};
use rf_templates::dense::DENSE_SCHEME;
use rf_templates::{Bundle, Library, RetrieverKind, SearchOptions, Subject, WorkedExamples, examples_path, read_header};

use crate::retrieval_eval::{self, SetSplit};

const DEFAULT_TEMPLATES_DIR: &str = "templates";
const DEFAULT_BUNDLE: &str = "www/templates.rfb";
const DEFAULT_ENCODER: &str = "assets/all-MiniLM-L6-v2";
const DEFAULT_RETRIEVAL_SET: &str = "evals/retrieval/independent.toml";

/// Where the templates come from: a built bundle or the TOML sources.
#[derive(clap::Args, Debug)]
pub struct LibraryArgs {
    /// Search a built bundle.
    #[arg(long, conflicts_with = "templates")]
    bundle: Option<PathBuf>,
    /// Search the TOML sources directly (default: the `templates` folder); dense retrieval then
    /// embeds every template first.
    #[arg(long)]
    templates: Option<PathBuf>,
    /// Sentence-transformers folder of the encoder (dense and hybrid retrieval).
    #[arg(long, default_value = DEFAULT_ENCODER)]
    encoder: PathBuf,
    /// The encoder's matrices for embedding queries: q8_0 (8-bit, fast) or f32 (the reference).
    #[arg(long, default_value = "q8_0", value_parser = parse_encoder_weights)]
    encoder_weights: CpuWeights,
}

/// `--encoder-weights`: a [`CpuWeights`] name.
pub fn parse_encoder_weights(s: &str) -> Result<CpuWeights, String> {
    CpuWeights::parse(s).ok_or_else(|| {
        let valid: Vec<&str> = CpuWeights::ALL.iter().map(|w| w.as_str()).collect();
        format!("unknown encoder weights '{s}' (valid: {})", valid.join(", "))
    })
}

#[derive(clap::Subcommand, Debug)]
pub enum TemplatesCommand {
    /// Validate the TOML sources and write the compressed bundle (templates + retrieval index).
    Build {
        /// Folder holding the template sources.
        #[arg(long, default_value = DEFAULT_TEMPLATES_DIR)]
        templates: PathBuf,
        /// Where to write the bundle (its worked examples go beside it, as NAME.examples.rfb).
        #[arg(long, default_value = DEFAULT_BUNDLE)]
        out: PathBuf,
        /// Also store template embeddings from this sentence-transformers folder (for dense and
        /// hybrid retrieval; e.g. assets/all-MiniLM-L6-v2).
        #[arg(long)]
        encoder: Option<PathBuf>,
    },
    /// Rank templates for a free-text query (a plan step or a problem).
    Search {
        /// The query text.
        query: String,
        /// How many results to print.
        #[arg(short = 'k', long = "top", default_value_t = 5)]
        k: usize,
        /// lexical (BM25F), dense (embeddings) or hybrid (both, rank-fused).
        #[arg(long, default_value = "lexical")]
        retriever: RetrieverKind,
        #[command(flatten)]
        library: LibraryArgs,
    },
    /// Recall@1, recall@5 and MRR of each retriever on labelled queries.
    Eval {
        /// Problems labelled with the templates that help (format: evals/retrieval/README.md).
        #[arg(long, default_value = DEFAULT_RETRIEVAL_SET)]
        set: PathBuf,
        /// Score one split of the set only.
        #[arg(long, value_enum)]
        split: Option<SetSplit>,
        /// Also score the queries generated from the library (example problem, paraphrased
        /// name + tags, description).
        #[arg(long)]
        library_queries: bool,
        /// Also score each subject of the set on its own.
        #[arg(long)]
        by_subject: bool,
        /// Retrievers to score (repeatable; default: all three).
        #[arg(long = "retriever")]
        retrievers: Vec<RetrieverKind>,
        /// Hybrid: weight of the dense ranking against the lexical one's 1 (tune on the
        /// validation split only).
        #[arg(long, default_value_t = rf_templates::dense::DENSE_WEIGHT)]
        dense_weight: f32,
        #[command(flatten)]
        library: LibraryArgs,
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
        TemplatesCommand::Build { templates, out, encoder } => build(&templates, &out, encoder.as_deref()),
        TemplatesCommand::Search { query, k, retriever, library } => search(&query, k, retriever, &library),
        TemplatesCommand::Eval { set, split, library_queries, by_subject, retrievers, dense_weight, library } => {
            anyhow::ensure!(dense_weight.is_finite() && dense_weight >= 0.0, "--dense-weight must be a finite number ≥ 0, not {dense_weight}");
            let options = SearchOptions { dense_weight, ..SearchOptions::default() };
            let sets = QuerySets { set, split, library_queries, by_subject };
            evaluate(&sets, &retrievers, &options, &library)
        }
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

fn load_encoder(dir: &Path, weights: CpuWeights) -> anyhow::Result<SentenceEncoder> {
    SentenceEncoder::load_dir(dir, &EncoderRuntime::Cpu(weights))
        .with_context(|| format!("loading the sentence encoder from {} (scripts/fetch-assets.sh minilm)", dir.display()))
}

fn build(dir: &Path, out: &Path, encoder: Option<&Path>) -> anyhow::Result<()> {
    let library = load(dir)?;
    let count = library.len();
    let dense = match encoder {
        // Stored vectors are made with the reference numbers; queries may use 8-bit weights.
        Some(dir) => Some(embed_templates(&library, &load_encoder(dir, CpuWeights::F32)?)?),
        None => None,
    };
    let examples = WorkedExamples::from_library(&library)?.encode()?;
    let mut bundle = Bundle::from_library(library);
    if let Some(dense) = dense {
        println!("embeddings: {} ({} × {}, {DENSE_SCHEME})", dense.encoder, dense.len(), dense.dim);
        bundle = bundle.with_dense(dense)?;
    }
    let bytes = bundle.encode()?;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    let examples_out = examples_path(out);
    std::fs::write(&examples_out, &examples).with_context(|| format!("writing {}", examples_out.display()))?;
    let header = read_header(&bytes)?;
    println!("wrote {} ({} templates) and {} (their worked examples)", out.display(), count, examples_out.display());
    println!("size:     {} bytes ({:.1} KB) + {} bytes of worked examples", bytes.len(), bytes.len() as f64 / 1000.0, examples.len());
    println!("version:  {}", header.library_version);
    println!("sha256:   {} (payload)", header.sha256_hex());
    Ok(())
}

/// The template library from a bundle (or else the sources in `dir`), with the sentence encoder
/// from `encoder` when `choice` ranks by embeddings. `solve` and `eval` load theirs here too.
pub fn template_index(
    bundle: Option<&Path>,
    dir: &Path,
    choice: RetrieverChoice,
    encoder: &Path,
    weights: CpuWeights,
) -> anyhow::Result<TemplateIndex> {
    let mut index = TemplateIndex::load(bundle, dir)?;
    if choice.needs_encoder() {
        let sentence_encoder = load_encoder(encoder, weights)?;
        if index.retriever.dense().is_none() {
            eprintln!(
                "embedding the {} templates for {choice} retrieval (about a minute; `reasonflux templates build --encoder {}` stores them in a bundle to pass as --bundle)",
                index.library.len(),
                encoder.display()
            );
        }
        index.use_encoder(choice, sentence_encoder)?;
    }
    Ok(index)
}

fn open(args: &LibraryArgs, needs_encoder: bool) -> anyhow::Result<TemplateIndex> {
    let choice = if needs_encoder { RetrieverChoice::Dense } else { RetrieverChoice::Lexical };
    let dir = args.templates.as_deref().unwrap_or(Path::new(DEFAULT_TEMPLATES_DIR));
    template_index(args.bundle.as_deref(), dir, choice, &args.encoder, args.encoder_weights)
}

fn search(query: &str, k: usize, kind: RetrieverKind, args: &LibraryArgs) -> anyhow::Result<()> {
    let index = open(args, kind.needs_encoder())?;
    let embedding = if kind.needs_encoder() { Some(index.embed_query(query)?) } else { None };
    let hits = index.retriever.search_by(kind, query, embedding.as_deref(), k, &SearchOptions::default())?;
    if hits.is_empty() {
        println!("no template matches {query:?}");
    }
    for (rank, hit) in hits.iter().enumerate() {
        let Some(t) = index.library.templates.get(hit.position) else { continue };
        println!("{:>2}. {:>7.3}  {}", rank + 1, hit.score, t.id);
        println!("             {}  [{}]", t.name, t.tags.join(", "));
    }
    Ok(())
}

/// What `templates eval` scores.
struct QuerySets {
    set: PathBuf,
    split: Option<SetSplit>,
    library_queries: bool,
    by_subject: bool,
}

fn evaluate(what: &QuerySets, kinds: &[RetrieverKind], options: &SearchOptions, args: &LibraryArgs) -> anyhow::Result<()> {
    let (set, split) = (&what.set, what.split);
    let kinds = if kinds.is_empty() { RetrieverKind::ALL.to_vec() } else { kinds.to_vec() };
    let index = open(args, kinds.iter().any(|k| k.needs_encoder()))?;
    let library = &index.library;
    let problems = retrieval_eval::load_set(set, library)?;
    let unlabelled = problems.iter().filter(|p| p.labels.is_empty() && split.is_none_or(|s| p.split == s)).count();
    let split_name = split.map_or("all", SetSplit::as_str);
    let mut sets = vec![(format!("{} ({split_name})", set.display()), retrieval_eval::problem_queries(&problems, split, None))];
    if what.by_subject {
        for subject in Subject::ALL {
            sets.push((format!("  {}", subject.as_str()), retrieval_eval::problem_queries(&problems, split, Some(subject))));
        }
    }
    if what.library_queries {
        sets.extend(retrieval_eval::library_query_sets(library).into_iter().map(|(name, q)| (format!("library: {name}"), q)));
    }
    println!("{} templates; {unlabelled} problem(s) of the set have no template in the library (left out)", library.len());
    println!("{:<48} {:<8} {:>7} {:>9} {:>9} {:>6} {:>9}", "query set", "retriever", "queries", "recall@1", "recall@5", "MRR", "ms/query");
    for (name, queries) in &sets {
        for &kind in &kinds {
            let embed = |text: &str| -> anyhow::Result<Vec<f32>> { Ok(index.embed_query(text)?) };
            let (s, ms_per_query) = retrieval_eval::timed_score(queries, retrieval_eval::ranker(&index.retriever, kind, options, embed))?;
            println!(
                "{:<48} {:<8} {:>7} {:>9.3} {:>9.3} {:>6.3} {:>9.2}",
                name, kind.as_str(), s.queries, s.recall_at_1, s.recall_at_5, s.mrr, ms_per_query
            );
        }
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
    let file_size = |path: &Path| -> anyhow::Result<usize> {
        Ok(std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.len() as usize)
    };
    let (size, examples) = match bundle {
        Some(path) => (file_size(&path)?, file_size(&examples_path(&path))?),
        None => {
            let examples = WorkedExamples::from_library(&library)?.encode()?.len();
            (Bundle::from_library(library).encode()?.len(), examples)
        }
    };
    println!("bundle size: {} bytes ({:.1} KB) + {} bytes of worked examples", size, size as f64 / 1000.0, examples);
    Ok(())
}
