//! The binary bundle the browser loads, in two files: the templates' cards with the ready
//! retrieval index ([`Bundle`], `templates.rfb`), and their worked examples ([`WorkedExamples`],
//! `templates.examples.rfb`), which only prompts need, so a page can search before they arrive.
//!
//! Both files share one layout (all integers little-endian):
//! ```text
//! magic        4 bytes  "RFTB" (cards and index) or "RFTX" (worked examples)
//! format       u16      FORMAT_VERSION or EXAMPLES_FORMAT_VERSION
//! version_len  u8       length of the library version string
//! version      bytes    UTF-8, e.g. "sha256:0123456789abcdef"; the examples part of one
//!                       library attaches only to that library's bundle
//! sha256       32 bytes SHA-256 of the compressed payload
//! payload_len  u32      length of the compressed payload
//! payload      brotli-compressed: column-oriented templates and index and (optionally) the
//!              template embeddings of dense retrieval; or the worked examples in library order
//! ```
//! The same library always gives the same bytes: templates are sorted by id, the index is built
//! from sorted maps, and brotli is deterministic for fixed parameters.

use std::io::{Read, Write};

use sha2::{Digest, Sha256};

use crate::codec::{DecodeError, Reader, Writer};
use crate::dense::{DENSE_SCHEME, DenseError, DenseIndex};
use crate::library::Library;
use crate::model::{Example, Kind, Origin, Subject, Template};
use crate::retrieval::{Index, N_FIELDS, Retriever};

pub const MAGIC: [u8; 4] = *b"RFTB";
/// 2: an optional dense section follows the index. 3: worked examples moved to their own file.
pub const FORMAT_VERSION: u16 = 3;
pub const EXAMPLES_MAGIC: [u8; 4] = *b"RFTX";
pub const EXAMPLES_FORMAT_VERSION: u16 = 1;
/// magic + format + version_len (the version string, checksum and length follow).
const FIXED_PREFIX: usize = 4 + 2 + 1;
/// Refuse to inflate past this, so a hostile payload cannot exhaust memory.
const MAX_PAYLOAD_INFLATED: usize = 64 << 20;

/// Compression settings: brotli at maximum quality with a window covering the whole payload.
const BROTLI_QUALITY: i32 = 11;
const BROTLI_LGWIN: i32 = 24;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("not a template bundle (bad magic bytes)")]
    BadMagic,
    #[error("bundle format version {found} is not supported (this build reads version {supported})")]
    UnsupportedVersion { found: u16, supported: u16 },
    #[error("bundle truncated: {needed} bytes needed, {have} present")]
    Truncated { needed: usize, have: usize },
    #[error("bundle has {0} unexpected bytes after the payload")]
    TrailingData(usize),
    #[error("bundle checksum mismatch: header says {expected}, payload hashes to {actual}")]
    ChecksumMismatch { expected: String, actual: String },
    #[error("bundle payload corrupt: {0}")]
    Corrupt(String),
    #[error("library version string too long ({0} bytes, max 255)")]
    VersionTooLong(usize),
    #[error("compressing the bundle failed: {0}")]
    Compress(String),
    #[error("the bundle's template embeddings use scheme '{found}', this build reads '{supported}': rebuild the bundle")]
    UnsupportedEmbeddingScheme { found: String, supported: &'static str },
    #[error("template embeddings: {0}")]
    Embeddings(#[from] DenseError),
    #[error("template {0} has no worked example, so the examples part cannot be written")]
    ExampleMissing(String),
    #[error("these worked examples belong to library {examples}, the bundle holds library {library}")]
    ExamplesForOtherLibrary { examples: String, library: String },
    #[error("the examples part has {found} worked examples for {expected} templates")]
    ExampleCount { found: usize, expected: usize },
}

impl From<DecodeError> for BundleError {
    fn from(e: DecodeError) -> Self {
        BundleError::Corrupt(e.to_string())
    }
}

/// What the header says, readable without inflating the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleHeader {
    pub format_version: u16,
    pub library_version: String,
    pub sha256: [u8; 32],
    pub payload_len: usize,
    /// Offset of the payload in the file.
    pub payload_offset: usize,
}

impl BundleHeader {
    pub fn sha256_hex(&self) -> String {
        hex(&self.sha256)
    }
}

/// A decoded bundle: the library, its prebuilt index and, when built with an encoder, the
/// template embeddings.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub library: Library,
    pub index: Index,
    pub dense: Option<DenseIndex>,
}

impl Bundle {
    /// Builds the index for `library` and packs both.
    pub fn from_library(library: Library) -> Bundle {
        let index = Index::build(&library);
        Bundle { library, index, dense: None }
    }

    /// Adds template embeddings (one per template, library order).
    pub fn with_dense(self, dense: DenseIndex) -> Result<Bundle, DenseError> {
        dense.check(self.library.templates.len())?;
        Ok(Bundle { dense: Some(dense), ..self })
    }

    /// Splits into the library and a retriever over it (with the embeddings, if any), without
    /// copying the index. Errs only when the embeddings no longer match the library (a bundle
    /// changed after decoding).
    pub fn into_parts(self) -> Result<(Library, Retriever), BundleError> {
        let retriever = Retriever::from_index(self.index, &self.library);
        let retriever = match self.dense {
            Some(dense) => retriever.with_dense(dense)?,
            None => retriever,
        };
        Ok((self.library, retriever))
    }

    /// Serialises the cards, index and embeddings (not the worked examples: see
    /// [`WorkedExamples`]) to the versioned, compressed file format.
    pub fn encode(&self) -> Result<Vec<u8>, BundleError> {
        if let Some(dense) = &self.dense {
            dense.check(self.library.templates.len())?;
        }
        let mut raw = encode_payload(&self.library, &self.index);
        encode_dense(&mut raw, self.dense.as_ref());
        write_file(MAGIC, FORMAT_VERSION, &self.library.version, &raw)
    }

    /// Checks header, checksum and structure, then inflates. No indexing happens here. The
    /// templates come without their worked examples until [`WorkedExamples::attach_to`].
    pub fn decode(bytes: &[u8]) -> Result<Bundle, BundleError> {
        let (header, raw) = open_file(bytes, MAGIC, FORMAT_VERSION)?;
        let (templates, index, dense) = decode_payload(&raw)?;
        let library = Library { version: header.library_version, templates };
        Ok(Bundle { library, index, dense })
    }
}

/// The worked examples of a library's templates (library order): the bundle's second file,
/// which only prompts need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkedExamples {
    pub library_version: String,
    pub examples: Vec<Example>,
}

impl WorkedExamples {
    /// Errs when a template has no example (a library decoded from a bundle without them).
    pub fn from_library(library: &Library) -> Result<WorkedExamples, BundleError> {
        let examples = library
            .templates
            .iter()
            .map(|t| t.example.clone().ok_or_else(|| BundleError::ExampleMissing(t.id.clone())))
            .collect::<Result<_, _>>()?;
        Ok(WorkedExamples { library_version: library.version.clone(), examples })
    }

    pub fn encode(&self) -> Result<Vec<u8>, BundleError> {
        let mut w = Writer::default();
        w.len(self.examples.len());
        for e in &self.examples {
            w.str(&e.problem);
            w.len(e.solution.len());
            for x in &e.solution {
                w.str(x);
            }
            match &e.answer {
                Some(a) => {
                    w.u8(1);
                    w.str(a);
                }
                None => w.u8(0),
            }
        }
        write_file(EXAMPLES_MAGIC, EXAMPLES_FORMAT_VERSION, &self.library_version, &w.buf)
    }

    pub fn decode(bytes: &[u8]) -> Result<WorkedExamples, BundleError> {
        let (header, raw) = open_file(bytes, EXAMPLES_MAGIC, EXAMPLES_FORMAT_VERSION)?;
        let mut r = Reader::new(&raw);
        let n = r.count(3)?;
        let mut examples = Vec::with_capacity(n);
        for _ in 0..n {
            let problem = r.str()?;
            let solution = read_list(&mut r)?;
            let answer = match r.u8()? {
                0 => None,
                1 => Some(r.str()?),
                _ => return Err(BundleError::Corrupt("bad answer flag".into())),
            };
            examples.push(Example { problem, solution, answer });
        }
        if !r.at_end() {
            return Err(BundleError::Corrupt("unexpected bytes after the worked examples".into()));
        }
        Ok(WorkedExamples { library_version: header.library_version, examples })
    }

    /// Gives every template of `library` its example; changes nothing when the examples come
    /// from another library version or their count differs.
    pub fn attach_to(self, library: &mut Library) -> Result<(), BundleError> {
        if self.library_version != library.version {
            return Err(BundleError::ExamplesForOtherLibrary { examples: self.library_version, library: library.version.clone() });
        }
        if self.examples.len() != library.templates.len() {
            return Err(BundleError::ExampleCount { found: self.examples.len(), expected: library.templates.len() });
        }
        for (t, e) in library.templates.iter_mut().zip(self.examples) {
            t.example = Some(e);
        }
        Ok(())
    }
}

/// Where the worked examples of the bundle at `bundle` live: `templates.rfb` →
/// `templates.examples.rfb`.
pub fn examples_path(bundle: &std::path::Path) -> std::path::PathBuf {
    let stem = bundle.file_stem().unwrap_or_default().to_string_lossy();
    bundle.with_file_name(format!("{stem}.examples.rfb"))
}

fn write_file(magic: [u8; 4], format: u16, library_version: &str, raw: &[u8]) -> Result<Vec<u8>, BundleError> {
    let version = library_version.as_bytes();
    let version_len = u8::try_from(version.len()).map_err(|_| BundleError::VersionTooLong(version.len()))?;
    let payload = compress(raw)?;
    let payload_len = u32::try_from(payload.len()).map_err(|_| BundleError::Compress("payload over 4 GiB".into()))?;
    let mut out = Vec::with_capacity(payload.len() + 64);
    out.extend_from_slice(&magic);
    out.extend_from_slice(&format.to_le_bytes());
    out.push(version_len);
    out.extend_from_slice(version);
    out.extend_from_slice(&Sha256::digest(&payload));
    out.extend_from_slice(&payload_len.to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

/// Checks a file's header and checksum and inflates its payload.
fn open_file(bytes: &[u8], magic: [u8; 4], format: u16) -> Result<(BundleHeader, Vec<u8>), BundleError> {
    let header = read_file_header(bytes, magic, format)?;
    let payload = &bytes[header.payload_offset..header.payload_offset + header.payload_len];
    let actual: [u8; 32] = Sha256::digest(payload).into();
    if actual != header.sha256 {
        return Err(BundleError::ChecksumMismatch { expected: hex(&header.sha256), actual: hex(&actual) });
    }
    let raw = decompress(payload)?;
    Ok((header, raw))
}

/// Parses and checks the header (magic, version, lengths) of a bundle file.
pub fn read_header(bytes: &[u8]) -> Result<BundleHeader, BundleError> {
    read_file_header(bytes, MAGIC, FORMAT_VERSION)
}

fn read_file_header(bytes: &[u8], magic: [u8; 4], format: u16) -> Result<BundleHeader, BundleError> {
    if bytes.len() < magic.len() {
        return Err(if magic.starts_with(bytes) {
            BundleError::Truncated { needed: FIXED_PREFIX, have: bytes.len() }
        } else {
            BundleError::BadMagic
        });
    }
    if bytes[..4] != magic {
        return Err(BundleError::BadMagic);
    }
    if bytes.len() < FIXED_PREFIX {
        return Err(BundleError::Truncated { needed: FIXED_PREFIX, have: bytes.len() });
    }
    let format_version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if format_version != format {
        return Err(BundleError::UnsupportedVersion { found: format_version, supported: format });
    }
    let version_len = usize::from(bytes[6]);
    let payload_offset = FIXED_PREFIX + version_len + 32 + 4;
    if bytes.len() < payload_offset {
        return Err(BundleError::Truncated { needed: payload_offset, have: bytes.len() });
    }
    let library_version = std::str::from_utf8(&bytes[FIXED_PREFIX..FIXED_PREFIX + version_len])
        .map_err(|_| BundleError::Corrupt("library version is not UTF-8".into()))?
        .to_string();
    let mut sha256 = [0u8; 32];
    sha256.copy_from_slice(&bytes[FIXED_PREFIX + version_len..FIXED_PREFIX + version_len + 32]);
    let len_at = FIXED_PREFIX + version_len + 32;
    let payload_len =
        u32::from_le_bytes([bytes[len_at], bytes[len_at + 1], bytes[len_at + 2], bytes[len_at + 3]]) as usize;
    let needed = payload_offset.saturating_add(payload_len);
    if bytes.len() < needed {
        return Err(BundleError::Truncated { needed, have: bytes.len() });
    }
    if bytes.len() > needed {
        return Err(BundleError::TrailingData(bytes.len() - needed));
    }
    Ok(BundleHeader { format_version, library_version, sha256, payload_len, payload_offset })
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn compress(raw: &[u8]) -> Result<Vec<u8>, BundleError> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: BROTLI_QUALITY,
        lgwin: BROTLI_LGWIN,
        size_hint: raw.len(),
        ..Default::default()
    };
    let mut out = Vec::new();
    let mut input = raw;
    brotli::BrotliCompress(&mut input, &mut out, &params).map_err(|e| BundleError::Compress(e.to_string()))?;
    Ok(out)
}

fn decompress(payload: &[u8]) -> Result<Vec<u8>, BundleError> {
    let mut out = Vec::with_capacity(payload.len() * 6);
    let mut reader = brotli::Decompressor::new(payload, 64 * 1024).take(MAX_PAYLOAD_INFLATED as u64 + 1);
    reader.read_to_end(&mut out).map_err(|e| BundleError::Corrupt(format!("brotli: {e}")))?;
    if out.len() > MAX_PAYLOAD_INFLATED {
        return Err(BundleError::Corrupt("payload inflates past the size limit".into()));
    }
    let _ = out.flush();
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Payload: ids, codes and the index are column-oriented; template text is row-oriented.

fn encode_payload(library: &Library, index: &Index) -> Vec<u8> {
    let ts = &library.templates;
    let mut w = Writer::default();
    w.len(ts.len());
    for t in ts {
        w.str(&t.id);
    }
    for t in ts {
        w.u8(t.kind.code());
        w.u8(t.subject.code());
        w.u8(t.origin.code());
    }
    // Chapter and section names repeat; store a sorted table and per-template indices.
    let mut places: Vec<&str> = ts.iter().flat_map(|t| [t.chapter.as_str(), t.section.as_str()]).collect();
    places.sort_unstable();
    places.dedup();
    w.len(places.len());
    for p in &places {
        w.str(p);
    }
    for t in ts {
        w.len(places.binary_search(&t.chapter.as_str()).unwrap_or(0));
        w.len(places.binary_search(&t.section.as_str()).unwrap_or(0));
    }
    // Template text row by row (one column per field measured no smaller: 282.1 vs 283.2 KB).
    for t in ts {
        w.str(&t.name);
        w.len(t.tags.len());
        for x in &t.tags {
            w.str(x);
        }
        w.str(&t.description);
        w.len(t.scope.len());
        for x in &t.scope {
            w.str(x);
        }
        w.len(t.steps.len());
        for x in &t.steps {
            w.str(x);
        }
    }

    // Index: postings and per-field counts; weights are recomputed on load (they are
    // high-entropy floats, the counts are small integers that compress to almost nothing).
    w.len(index.n_docs as usize);
    for &l in &index.field_lens {
        w.len(l as usize);
    }
    w.len(index.terms.len());
    for term in &index.terms {
        w.str(term);
    }
    for pair in index.offsets.windows(2) {
        w.len((pair[1] - pair[0]) as usize);
    }
    // Doc positions delta-coded within each posting list.
    for pair in index.offsets.windows(2) {
        let mut prev = 0u32;
        for &d in &index.docs[pair[0] as usize..pair[1] as usize] {
            w.varint(u64::from(d - prev));
            prev = d;
        }
    }
    // Per posting: a bit mask of the fields holding the term; bit 7 set means some count is
    // above 1 and the counts of the set fields follow.
    for tfs in index.field_tfs.chunks(N_FIELDS) {
        let mut mask = 0u8;
        for (f, &c) in tfs.iter().enumerate() {
            if c > 0 {
                mask |= 1 << f;
            }
        }
        if tfs.iter().any(|&c| c > 1) {
            w.u8(mask | 0x80);
            for &c in tfs.iter().filter(|&&c| c > 0) {
                w.u8(c);
            }
        } else {
            w.u8(mask);
        }
    }
    w.buf
}

fn read_list(r: &mut Reader) -> Result<Vec<String>, DecodeError> {
    let n = r.count(1)?;
    (0..n).map(|_| r.str()).collect()
}

fn read_strings(r: &mut Reader, n: usize) -> Result<Vec<String>, DecodeError> {
    (0..n).map(|_| r.str()).collect()
}

fn decode_payload(raw: &[u8]) -> Result<(Vec<Template>, Index, Option<DenseIndex>), BundleError> {
    let corrupt = |s: &str| BundleError::Corrupt(s.to_string());
    let mut r = Reader::new(raw);
    let n = r.count(4)?;
    let ids = read_strings(&mut r, n)?;
    let mut meta = Vec::with_capacity(n);
    for _ in 0..n {
        let kind = Kind::from_code(r.u8()?).ok_or_else(|| corrupt("unknown kind code"))?;
        let subject = Subject::from_code(r.u8()?).ok_or_else(|| corrupt("unknown subject code"))?;
        let origin = Origin::from_code(r.u8()?).ok_or_else(|| corrupt("unknown origin code"))?;
        meta.push((kind, subject, origin));
    }
    let n_places = r.count(1)?;
    let places = read_strings(&mut r, n_places)?;
    let mut where_ = Vec::with_capacity(n);
    for _ in 0..n {
        let c = usize::try_from(r.varint()?).unwrap_or(usize::MAX);
        let s = usize::try_from(r.varint()?).unwrap_or(usize::MAX);
        let chapter = places.get(c).ok_or_else(|| corrupt("chapter index out of range"))?;
        let section = places.get(s).ok_or_else(|| corrupt("section index out of range"))?;
        where_.push((chapter.clone(), section.clone()));
    }
    let mut templates = Vec::with_capacity(n);
    for ((id, (kind, subject, origin)), (chapter, section)) in ids.into_iter().zip(meta).zip(where_) {
        let name = r.str()?;
        let tags = read_list(&mut r)?;
        let description = r.str()?;
        let scope = read_list(&mut r)?;
        let steps = read_list(&mut r)?;
        templates.push(Template {
            id,
            name,
            kind,
            tags,
            description,
            scope,
            steps,
            example: None,
            chapter,
            section,
            subject,
            origin,
        });
    }
    if !templates.windows(2).all(|w| w[0].id < w[1].id) {
        return Err(corrupt("template ids not strictly sorted"));
    }

    let n_docs = u32::try_from(r.count(N_FIELDS)?).map_err(|_| corrupt("document count"))?;
    let mut field_lens = Vec::with_capacity(n_docs as usize * N_FIELDS);
    for _ in 0..n_docs as usize * N_FIELDS {
        field_lens.push(u32::try_from(r.varint()?).map_err(|_| corrupt("field length"))?);
    }
    let n_terms = r.count(1)?;
    let terms = read_strings(&mut r, n_terms)?;
    let mut offsets = Vec::with_capacity(n_terms + 1);
    offsets.push(0u32);
    let mut total = 0u64;
    for _ in 0..n_terms {
        total += r.varint()?;
        offsets.push(u32::try_from(total).map_err(|_| corrupt("posting count"))?);
    }
    let n_postings = total as usize;
    if n_postings > raw.len() {
        return Err(corrupt("posting count larger than the data"));
    }
    let mut docs = Vec::with_capacity(n_postings);
    for pair in offsets.windows(2) {
        let mut prev = 0u64;
        for _ in pair[0]..pair[1] {
            prev += r.varint()?;
            docs.push(u32::try_from(prev).map_err(|_| corrupt("document position"))?);
        }
    }
    let mut field_tfs = vec![0u8; n_postings * N_FIELDS];
    for tfs in field_tfs.chunks_mut(N_FIELDS) {
        let mask = r.u8()?;
        if mask & !0x80 == 0 || usize::from(mask & 0x7f) >= 1 << N_FIELDS {
            return Err(corrupt("bad field mask"));
        }
        for (f, c) in tfs.iter_mut().enumerate() {
            if mask & (1 << f) != 0 {
                *c = if mask & 0x80 != 0 { r.u8()? } else { 1 };
            }
        }
    }
    let dense = decode_dense(&mut r, templates.len())?;
    if !r.at_end() {
        return Err(corrupt("unexpected bytes after the payload"));
    }
    let structure_ok = offsets.windows(2).all(|w| w[0] <= w[1])
        && docs.iter().all(|&d| d < n_docs)
        && terms.windows(2).all(|w| w[0] < w[1])
        && n_docs as usize == templates.len();
    if !structure_ok {
        return Err(corrupt("index does not match the templates"));
    }
    let index = Index::from_counts(terms, offsets, docs, field_tfs, field_lens, n_docs);
    if !index.is_consistent() {
        return Err(corrupt("index does not match the templates"));
    }
    Ok((templates, index, dense))
}

/// Dense section: a presence byte, then encoder, scheme, dimension, the f32 row scales and the
/// int8 rows.
fn encode_dense(buf: &mut Vec<u8>, dense: Option<&DenseIndex>) {
    let mut w = Writer { buf: std::mem::take(buf) };
    match dense {
        None => w.u8(0),
        Some(d) => {
            w.u8(1);
            w.str(&d.encoder);
            w.str(&d.scheme);
            w.len(d.dim);
            for s in &d.scales {
                w.buf.extend_from_slice(&s.to_le_bytes());
            }
            w.buf.extend(d.values.iter().map(|&v| v as u8));
        }
    }
    *buf = w.buf;
}

fn decode_dense(r: &mut Reader, n_templates: usize) -> Result<Option<DenseIndex>, BundleError> {
    let corrupt = |s: &str| BundleError::Corrupt(s.to_string());
    match r.u8()? {
        0 => return Ok(None),
        1 => {}
        _ => return Err(corrupt("bad dense flag")),
    }
    let encoder = r.str()?;
    let scheme = r.str()?;
    if scheme != DENSE_SCHEME {
        return Err(BundleError::UnsupportedEmbeddingScheme { found: scheme, supported: DENSE_SCHEME });
    }
    let dim = r.count(n_templates.max(1))?;
    let scales = r.bytes(n_templates * 4)?.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    let values = r.bytes(n_templates * dim)?.iter().map(|&b| b as i8).collect();
    let dense = DenseIndex { encoder, scheme, dim, scales, values };
    if !dense.is_consistent(n_templates) {
        return Err(corrupt("embeddings do not match the templates"));
    }
    Ok(Some(dense))
}
