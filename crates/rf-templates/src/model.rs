//! The library's data types: [`Template`], [`Example`], [`Kind`], [`Subject`], [`Origin`].

use serde::{Deserialize, Serialize};

/// What sort of knowledge a template carries (the upstream `template_type`, folded to five kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A problem-solving method.
    Method,
    /// Applying a piece of knowledge.
    Knowledge,
    /// A property or theorem.
    Theorem,
    /// A formula or rule.
    Formula,
    /// A secondary conclusion / useful lemma.
    Conclusion,
}

impl Kind {
    pub const ALL: [Kind; 5] = [Kind::Method, Kind::Knowledge, Kind::Theorem, Kind::Formula, Kind::Conclusion];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Method => "method",
            Kind::Knowledge => "knowledge",
            Kind::Theorem => "theorem",
            Kind::Formula => "formula",
            Kind::Conclusion => "conclusion",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub(crate) fn code(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_code(code: u8) -> Option<Kind> {
        Kind::ALL.get(usize::from(code)).copied()
    }
}

/// The MATH benchmark subject a template belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Subject {
    Prealgebra,
    Algebra,
    NumberTheory,
    CountingProbability,
    Geometry,
    IntermediateAlgebra,
    Precalculus,
}

impl Subject {
    pub const ALL: [Subject; 7] = [
        Subject::Prealgebra,
        Subject::Algebra,
        Subject::NumberTheory,
        Subject::CountingProbability,
        Subject::Geometry,
        Subject::IntermediateAlgebra,
        Subject::Precalculus,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Subject::Prealgebra => "prealgebra",
            Subject::Algebra => "algebra",
            Subject::NumberTheory => "number-theory",
            Subject::CountingProbability => "counting-probability",
            Subject::Geometry => "geometry",
            Subject::IntermediateAlgebra => "intermediate-algebra",
            Subject::Precalculus => "precalculus",
        }
    }

    pub fn parse(s: &str) -> Option<Subject> {
        Subject::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub(crate) fn code(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_code(code: u8) -> Option<Subject> {
        Subject::ALL.get(usize::from(code)).copied()
    }
}

/// Where a template comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Origin {
    /// Imported from the upstream ReasonFlux library (`templates/reasonflux-v1/`).
    #[serde(rename = "reasonflux-v1")]
    ReasonfluxV1,
    /// Written for this project (`templates/web/`).
    #[serde(rename = "reasonflux-web")]
    ReasonfluxWeb,
}

impl Origin {
    pub const ALL: [Origin; 2] = [Origin::ReasonfluxV1, Origin::ReasonfluxWeb];

    pub fn as_str(self) -> &'static str {
        match self {
            Origin::ReasonfluxV1 => "reasonflux-v1",
            Origin::ReasonfluxWeb => "reasonflux-web",
        }
    }

    /// The first segment of every id of this origin (also the folder under `templates/`).
    pub fn id_prefix(self) -> &'static str {
        match self {
            Origin::ReasonfluxV1 => "reasonflux-v1",
            Origin::ReasonfluxWeb => "web",
        }
    }

    pub fn parse(s: &str) -> Option<Origin> {
        Origin::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub(crate) fn code(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_code(code: u8) -> Option<Origin> {
        Origin::ALL.get(usize::from(code)).copied()
    }
}

/// A worked example showing the template applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    pub problem: String,
    pub solution: Vec<String>,
    /// Final answer; always present for `web/` templates, often absent upstream.
    pub answer: Option<String>,
}

/// One thought template (the paper's T: name, tags, description, scope, steps, example),
/// with its place in the hierarchy copied from its section file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    pub id: String,
    pub name: String,
    pub kind: Kind,
    pub tags: Vec<String>,
    pub description: String,
    pub scope: Vec<String>,
    pub steps: Vec<String>,
    /// Always present in a library loaded from its sources; `None` in one decoded from a
    /// bundle until the bundle's worked-examples part is attached ([`crate::WorkedExamples`]).
    pub example: Option<Example>,
    pub chapter: String,
    pub section: String,
    pub subject: Subject,
    pub origin: Origin,
}
