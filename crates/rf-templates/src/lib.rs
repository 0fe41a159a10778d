//! The thought-template library of ReasonFlux Web: sources, validator, compressed bundle and
//! retrieval.
//!
//! # Main types and how they compose
//! - [`Template`] (with its [`Example`], [`Kind`], [`Subject`], [`Origin`]) is one thought
//!   template as the paper defines it: name, tags, description, scope, steps, worked example.
//! - [`Library`] holds all templates sorted by id. [`Library::load_dir`] reads the TOML sources
//!   under `templates/` (format: `templates/README.md`); [`Library::from_sources`] does the same
//!   from in-memory text. Both validate everything and report every problem as a
//!   [`ValidationError`] inside [`LoadError::Invalid`].
//! - [`Index`] is the BM25F inverted index over the template fields (name > tags >
//!   description/scope/hierarchy > steps > example), and [`Retriever`] answers free-text
//!   queries with ranked [`Hit`]s (template id and score).
//! - [`DenseIndex`] holds template embeddings (int8 rows, computed when the bundle is built by a
//!   sentence encoder, `rf-embed`'s in this project, through [`DenseIndex::from_templates`]);
//!   [`Retriever::search_by`] ranks by [`RetrieverKind`]: lexical, dense, or both fused by
//!   reciprocal rank fusion.
//! - [`Bundle`] packs a library's cards and its prebuilt index into one versioned, checksummed,
//!   brotli-compressed file ([`Bundle::encode`]) and back ([`Bundle::decode`], which needs no
//!   file system and does no indexing, so it works on wasm32); [`WorkedExamples`] is the second
//!   file, the templates' worked examples, attached after decoding. Bad input gives a
//!   [`BundleError`].
//! - [`eval`] generates a labelled query set from the library and measures retrieval recall.
//!
//! ```no_run
//! use rf_templates::{Bundle, Library, WorkedExamples};
//! let library = Library::load_dir(std::path::Path::new("templates"))?;
//! let examples = WorkedExamples::from_library(&library)?.encode()?;
//! let bytes = Bundle::from_library(library).encode()?;
//! let (mut library, retriever) = Bundle::decode(&bytes)?.into_parts()?;
//! WorkedExamples::decode(&examples)?.attach_to(&mut library)?;
//! for hit in retriever.search("Vieta's formulas sum and product of roots", 5) {
//!     println!("{:.2} {}", hit.score, library.templates[hit.position].name);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod bundle;
mod codec;
pub mod dense;
pub mod eval;
pub mod library;
pub mod model;
pub mod retrieval;
pub mod text;

pub use bundle::{Bundle, BundleError, BundleHeader, WorkedExamples, examples_path, read_header};
pub use codec::DecodeError;
pub use dense::{DenseError, DenseIndex, RetrieverKind};
pub use library::{Library, LoadError, ValidationError};
pub use model::{Example, Kind, Origin, Subject, Template};
pub use retrieval::{Hit, Index, Retriever, SearchOptions};
