//! Parsing TOML section files, validating them, and the [`Library`] they form.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::model::{Example, Kind, Origin, Subject, Template};

/// Tag count allowed by the source format.
pub const MIN_TAGS: usize = 2;
pub const MAX_TAGS: usize = 8;
pub const MIN_STEPS: usize = 2;

/// One problem found in the sources. `file` is the label the source was loaded under.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("{file}: not valid TOML: {message}")]
    Toml { file: String, message: String },
    #[error("{file}: unknown key `{key}` in {place}")]
    UnknownField { file: String, place: String, key: String },
    #[error("{file}: {place}: field `{field}` is missing")]
    MissingField { file: String, place: String, field: &'static str },
    #[error("{file}: {place}: field `{field}` has the wrong type (expected {expected})")]
    WrongType { file: String, place: String, field: &'static str, expected: &'static str },
    #[error("{file}: {place}: field `{field}` is empty")]
    EmptyField { file: String, place: String, field: &'static str },
    #[error("{file}: {place}: `{field}` has {count} items, at least {min} needed")]
    TooFew { file: String, place: String, field: &'static str, count: usize, min: usize },
    #[error("{file}: {place}: `tags` has {count} items, at most {max} allowed")]
    TooManyTags { file: String, place: String, count: usize, max: usize },
    #[error("{file}: {place}: unknown kind `{value}`")]
    UnknownKind { file: String, place: String, value: String },
    #[error("{file}: unknown subject `{value}`")]
    UnknownSubject { file: String, value: String },
    #[error("{file}: unknown origin `{value}`")]
    UnknownOrigin { file: String, value: String },
    #[error("{file}: id `{id}` is not a lowercase slug path `{prefix}/<a>/<b>/<c>`")]
    BadId { file: String, id: String, prefix: &'static str },
    #[error("{file}: {place}: example has no `{field}`")]
    MissingExample { file: String, place: String, field: &'static str },
    #[error("{file}: {place}: templates written for this project need an example answer")]
    MissingAnswer { file: String, place: String },
    #[error("duplicate id `{id}` in {first_file} and {second_file}")]
    DuplicateId { id: String, first_file: String, second_file: String },
    #[error("{file}: the file holds no templates")]
    NoTemplates { file: String },
}

/// Why a library could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("reading {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("no *.toml template files under {0}")]
    Empty(PathBuf),
    #[error("{} problem(s) in the template sources; first: {}", .0.len(), .0.first().map(|e| e.to_string()).unwrap_or_default())]
    Invalid(Vec<ValidationError>),
}

/// All templates, sorted by id, plus a content version string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Library {
    /// `sha256:<first 16 hex digits>` of the canonical template data; equal sources, equal version.
    pub version: String,
    pub templates: Vec<Template>,
}

impl Library {
    /// Builds a library from already-validated templates (sorted here).
    pub fn from_templates(mut templates: Vec<Template>) -> Library {
        templates.sort_by(|a, b| a.id.cmp(&b.id));
        let version = content_version(&templates);
        Library { version, templates }
    }

    /// Parses and validates in-memory sources `(label, toml text)`; no file system needed.
    /// All problems are collected, not just the first.
    pub fn from_sources<'a, I>(sources: I) -> Result<Library, LoadError>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut errors = Vec::new();
        let mut templates = Vec::new();
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for (label, text) in sources {
            let parsed = parse_section(label, text, &mut errors);
            for t in parsed {
                if let Some(first) = seen.get(&t.id) {
                    errors.push(ValidationError::DuplicateId {
                        id: t.id.clone(),
                        first_file: first.clone(),
                        second_file: label.to_string(),
                    });
                    continue;
                }
                seen.insert(t.id.clone(), label.to_string());
                templates.push(t);
            }
        }
        if errors.is_empty() { Ok(Library::from_templates(templates)) } else { Err(LoadError::Invalid(errors)) }
    }

    /// Loads every `*.toml` below `dir` (recursively, in sorted path order).
    pub fn load_dir(dir: &Path) -> Result<Library, LoadError> {
        let mut files = Vec::new();
        collect_toml_files(dir, &mut files)?;
        if files.is_empty() {
            return Err(LoadError::Empty(dir.to_path_buf()));
        }
        files.sort();
        let mut texts = Vec::with_capacity(files.len());
        for path in &files {
            let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io { path: path.clone(), source })?;
            let label = path.strip_prefix(dir).unwrap_or(path).to_string_lossy().replace('\\', "/");
            texts.push((label, text));
        }
        Library::from_sources(texts.iter().map(|(l, t)| (l.as_str(), t.as_str())))
    }

    pub fn len(&self) -> usize {
        self.templates.len()
    }

    pub fn is_empty(&self) -> bool {
        self.templates.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&Template> {
        self.templates.binary_search_by(|t| t.id.as_str().cmp(id)).ok().map(|i| &self.templates[i])
    }
}

fn collect_toml_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|source| LoadError::Io { path: dir.to_path_buf(), source })?;
    for entry in entries {
        let entry = entry.map_err(|source| LoadError::Io { path: dir.to_path_buf(), source })?;
        let path = entry.path();
        let file_type = entry.file_type().map_err(|source| LoadError::Io { path: path.clone(), source })?;
        if file_type.is_dir() {
            collect_toml_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    Ok(())
}

/// Stable hash of the template data (independent of file layout and TOML formatting).
fn content_version(templates: &[Template]) -> String {
    let mut h = Sha256::new();
    let mut feed = |s: &str| {
        h.update((s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    };
    for t in templates {
        feed(&t.id);
        feed(&t.name);
        feed(t.kind.as_str());
        for x in &t.tags {
            feed(x);
        }
        feed("|");
        feed(&t.description);
        for x in &t.scope {
            feed(x);
        }
        feed("|");
        for x in &t.steps {
            feed(x);
        }
        feed("|");
        let example = t.example.as_ref();
        feed(example.map_or("\u{1}", |e| &e.problem));
        for x in example.map_or(&[][..], |e| &e.solution) {
            feed(x);
        }
        feed("|");
        feed(example.and_then(|e| e.answer.as_deref()).unwrap_or("\u{0}"));
        feed(&t.chapter);
        feed(&t.section);
        feed(t.subject.as_str());
        feed(t.origin.as_str());
    }
    let digest = h.finalize();
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

// ---------------------------------------------------------------------------------------------
// Raw form: every field optional and loosely typed so each problem becomes a typed error.

#[derive(Deserialize)]
struct RawSection {
    chapter: Option<toml::Value>,
    section: Option<toml::Value>,
    subject: Option<toml::Value>,
    origin: Option<toml::Value>,
    templates: Option<Vec<RawTemplate>>,
    #[serde(flatten)]
    extra: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
struct RawTemplate {
    id: Option<toml::Value>,
    name: Option<toml::Value>,
    kind: Option<toml::Value>,
    tags: Option<toml::Value>,
    description: Option<toml::Value>,
    scope: Option<toml::Value>,
    steps: Option<toml::Value>,
    example: Option<RawExample>,
    #[serde(flatten)]
    extra: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
struct RawExample {
    problem: Option<toml::Value>,
    solution: Option<toml::Value>,
    answer: Option<toml::Value>,
    #[serde(flatten)]
    extra: BTreeMap<String, toml::Value>,
}

struct Ctx<'a> {
    file: &'a str,
    place: String,
    errors: &'a mut Vec<ValidationError>,
}

impl Ctx<'_> {
    fn string(&mut self, v: Option<toml::Value>, field: &'static str) -> Option<String> {
        match v {
            None => {
                self.errors.push(ValidationError::MissingField { file: self.file.into(), place: self.place.clone(), field });
                None
            }
            Some(toml::Value::String(s)) => {
                if s.trim().is_empty() {
                    self.errors.push(ValidationError::EmptyField { file: self.file.into(), place: self.place.clone(), field });
                    None
                } else {
                    Some(s)
                }
            }
            Some(_) => {
                self.wrong_type(field, "a string");
                None
            }
        }
    }

    fn string_list(&mut self, v: Option<toml::Value>, field: &'static str, min: usize) -> Option<Vec<String>> {
        let Some(v) = v else {
            self.errors.push(ValidationError::MissingField { file: self.file.into(), place: self.place.clone(), field });
            return None;
        };
        let toml::Value::Array(items) = v else {
            self.wrong_type(field, "an array of strings");
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match item {
                toml::Value::String(s) if !s.trim().is_empty() => out.push(s),
                toml::Value::String(_) => {
                    self.errors.push(ValidationError::EmptyField { file: self.file.into(), place: self.place.clone(), field });
                    return None;
                }
                _ => {
                    self.wrong_type(field, "an array of strings");
                    return None;
                }
            }
        }
        if out.len() < min {
            if out.is_empty() {
                self.errors.push(ValidationError::EmptyField { file: self.file.into(), place: self.place.clone(), field });
            } else {
                self.errors.push(ValidationError::TooFew {
                    file: self.file.into(),
                    place: self.place.clone(),
                    field,
                    count: out.len(),
                    min,
                });
            }
            return None;
        }
        Some(out)
    }

    fn wrong_type(&mut self, field: &'static str, expected: &'static str) {
        self.errors.push(ValidationError::WrongType { file: self.file.into(), place: self.place.clone(), field, expected });
    }

    fn extra(&mut self, extra: &BTreeMap<String, toml::Value>) {
        for key in extra.keys() {
            self.errors.push(ValidationError::UnknownField { file: self.file.into(), place: self.place.clone(), key: key.clone() });
        }
    }
}

/// `prefix/seg/seg/seg`, each segment `[a-z0-9]+(-[a-z0-9]+)*`.
pub fn is_valid_id(id: &str, prefix: &str) -> bool {
    let segments: Vec<&str> = id.split('/').collect();
    segments.len() == 4
        && segments[0] == prefix
        && segments.iter().all(|seg| {
            !seg.is_empty()
                && seg.split('-').all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
        })
}

/// Parses one section file; pushes every problem found to `errors` and returns the good templates.
fn parse_section(file: &str, text: &str, errors: &mut Vec<ValidationError>) -> Vec<Template> {
    let raw: RawSection = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            errors.push(ValidationError::Toml { file: file.into(), message: e.message().to_string() });
            return Vec::new();
        }
    };
    let errors_before = errors.len();
    let mut cx = Ctx { file, place: "file".into(), errors };
    cx.extra(&raw.extra);
    let chapter = cx.string(raw.chapter, "chapter");
    let section = cx.string(raw.section, "section");
    let subject = cx.string(raw.subject, "subject").and_then(|s| {
        let parsed = Subject::parse(&s);
        if parsed.is_none() {
            cx.errors.push(ValidationError::UnknownSubject { file: file.into(), value: s });
        }
        parsed
    });
    let origin = cx.string(raw.origin, "origin").and_then(|s| {
        let parsed = Origin::parse(&s);
        if parsed.is_none() {
            cx.errors.push(ValidationError::UnknownOrigin { file: file.into(), value: s });
        }
        parsed
    });
    let raw_templates = raw.templates.unwrap_or_default();
    if raw_templates.is_empty() {
        cx.errors.push(ValidationError::NoTemplates { file: file.into() });
    }
    let mut out = Vec::new();
    for (index, rt) in raw_templates.into_iter().enumerate() {
        let id_label = match &rt.id {
            Some(toml::Value::String(s)) if !s.is_empty() => s.clone(),
            _ => format!("templates[{index}]"),
        };
        cx.place = id_label;
        cx.extra(&rt.extra);
        let id = cx.string(rt.id, "id");
        let name = cx.string(rt.name, "name");
        let kind = cx.string(rt.kind, "kind").and_then(|s| {
            let parsed = Kind::parse(&s);
            if parsed.is_none() {
                cx.errors.push(ValidationError::UnknownKind { file: file.into(), place: cx.place.clone(), value: s });
            }
            parsed
        });
        let tags = cx.string_list(rt.tags, "tags", MIN_TAGS);
        if let Some(tags) = &tags
            && tags.len() > MAX_TAGS
        {
            cx.errors.push(ValidationError::TooManyTags { file: file.into(), place: cx.place.clone(), count: tags.len(), max: MAX_TAGS });
        }
        let description = cx.string(rt.description, "description");
        let scope = cx.string_list(rt.scope, "scope", 1);
        let steps = cx.string_list(rt.steps, "steps", MIN_STEPS);
        let example = match rt.example {
            None => {
                cx.errors.push(ValidationError::MissingField { file: file.into(), place: cx.place.clone(), field: "example" });
                None
            }
            Some(ex) => {
                cx.extra(&ex.extra);
                let problem = match ex.problem {
                    None => {
                        cx.errors.push(ValidationError::MissingExample { file: file.into(), place: cx.place.clone(), field: "problem" });
                        None
                    }
                    v => cx.string(v, "example.problem"),
                };
                let solution = match ex.solution {
                    None => {
                        cx.errors.push(ValidationError::MissingExample { file: file.into(), place: cx.place.clone(), field: "solution" });
                        None
                    }
                    v => cx.string_list(v, "example.solution", 1),
                };
                let answer = match ex.answer {
                    None => None,
                    v => cx.string(v, "example.answer"),
                };
                if answer.is_none() && origin == Some(Origin::ReasonfluxWeb) {
                    cx.errors.push(ValidationError::MissingAnswer { file: file.into(), place: cx.place.clone() });
                }
                match (problem, solution) {
                    (Some(problem), Some(solution)) => Some(Example { problem, solution, answer }),
                    _ => None,
                }
            }
        };
        if let (Some(id), Some(origin)) = (&id, origin)
            && !is_valid_id(id, origin.id_prefix())
        {
            cx.errors.push(ValidationError::BadId { file: file.into(), id: id.clone(), prefix: origin.id_prefix() });
            continue;
        }
        if let (Some(id), Some(name), Some(kind), Some(tags), Some(description), Some(scope), Some(steps), Some(example)) =
            (id, name, kind, tags, description, scope, steps, example)
            && let (Some(chapter), Some(section), Some(subject), Some(origin)) = (&chapter, &section, subject, origin)
        {
            out.push(Template {
                id,
                name,
                kind,
                tags,
                description,
                scope,
                steps,
                example: Some(example),
                chapter: chapter.clone(),
                section: section.clone(),
                subject,
                origin,
            });
        }
    }
    if errors.len() > errors_before { Vec::new() } else { out }
}
