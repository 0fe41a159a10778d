//! The names of the strategies: one spelling for the CLI, the browser, the widget, traces and
//! evaluation records.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// A solving strategy, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StrategyKind {
    /// `reasonflux`: plan → retrieve templates → instantiate → evaluate/adjust (the paper).
    ReasonFlux,
    /// `direct`: one chain-of-thought solution.
    Direct,
    /// `guided`: template-guided direct: the templates retrieved for the problem itself go into
    /// one chain-of-thought prompt.
    Guided,
    /// `best-of-n`: N sampled solutions, majority vote.
    BestOfN,
    /// `mcts`: step-level Monte Carlo tree search.
    Mcts,
}

/// A strategy name that is not one of [`StrategyKind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown strategy '{name}' (valid: {})", StrategyKind::valid_names())]
pub struct UnknownStrategy {
    pub name: String,
}

impl StrategyKind {
    /// Every strategy, in the order UIs list them.
    pub const ALL: [StrategyKind; 5] =
        [StrategyKind::ReasonFlux, StrategyKind::Direct, StrategyKind::Guided, StrategyKind::BestOfN, StrategyKind::Mcts];

    /// The one spelling of this strategy's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            StrategyKind::ReasonFlux => "reasonflux",
            StrategyKind::Direct => "direct",
            StrategyKind::Guided => "guided",
            StrategyKind::BestOfN => "best-of-n",
            StrategyKind::Mcts => "mcts",
        }
    }

    /// Whether the strategy retrieves templates.
    pub const fn uses_templates(self) -> bool {
        matches!(self, StrategyKind::ReasonFlux | StrategyKind::Guided)
    }

    /// `reasonflux, direct, …` for error messages and help texts.
    pub fn valid_names() -> String {
        Self::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
    }
}

impl fmt::Display for StrategyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StrategyKind {
    type Err = UnknownStrategy;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|k| k.as_str() == name).ok_or_else(|| UnknownStrategy { name: name.to_string() })
    }
}

impl Serialize for StrategyKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for StrategyKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips_through_parse_and_serde() {
        for kind in StrategyKind::ALL {
            assert_eq!(kind.as_str().parse::<StrategyKind>(), Ok(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(serde_json::from_str::<StrategyKind>(&json).unwrap(), kind);
        }
    }

    #[test]
    fn old_spellings_are_refused_with_the_valid_names() {
        for old in ["best_of_n", "reason_flux", "ReasonFlux", ""] {
            let err = old.parse::<StrategyKind>().unwrap_err();
            assert!(err.to_string().contains("reasonflux, direct, guided, best-of-n, mcts"), "{err}");
        }
    }
}
