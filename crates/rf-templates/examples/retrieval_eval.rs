//! Recall@1 / recall@5 per query type on a query set generated from the real library, and
//! query latency.
//! Run: cargo run --release -p rf-templates --example retrieval_eval [-- TEMPLATES_DIR [--misses N]]

use std::path::PathBuf;
use std::time::Instant;

use rf_templates::eval::{QueryKind, evaluate, labelled_queries};
use rf_templates::{Library, Retriever};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args
        .iter()
        .find(|a| !a.starts_with("--") && a.parse::<usize>().is_err())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../templates"));
    let show_misses: usize = args
        .iter()
        .position(|a| a == "--misses")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);

    let library = Library::load_dir(&dir)?;
    let retriever = Retriever::build(&library);
    let queries = labelled_queries(&library);

    println!("{} templates, {} queries", library.len(), queries.len());
    println!("{:<26} {:>7} {:>9} {:>9}", "query type", "queries", "recall@1", "recall@5");
    for r in evaluate(&retriever, &queries) {
        let name = r.kind.map(QueryKind::as_str).unwrap_or("overall");
        println!("{:<26} {:>7} {:>9.3} {:>9.3}", name, r.queries, r.at1, r.at5);
    }

    let t = Instant::now();
    let mut sink = 0usize;
    for q in &queries {
        sink += retriever.search(&q.text, 5).len();
    }
    let per_query_ms = t.elapsed().as_secs_f64() * 1e3 / queries.len() as f64;
    println!("latency: {per_query_ms:.3} ms/query (mean over {} queries, k=5; {sink} hits)", queries.len());

    if show_misses > 0 {
        for kind in QueryKind::ALL {
            let mut shown = 0;
            for q in queries.iter().filter(|q| q.kind == kind) {
                let hits = retriever.search(&q.text, 5);
                if hits.iter().any(|h| h.id == q.target) {
                    continue;
                }
                println!("\nMISS [{}] {}\n  query: {}", kind.as_str(), q.target, q.text.chars().take(160).collect::<String>());
                for h in hits.iter().take(3) {
                    println!("  got {:.2} {}", h.score, h.id);
                }
                shown += 1;
                if shown >= show_misses {
                    break;
                }
            }
        }
    }
    Ok(())
}
