//! `reasonflux solve`: solve one problem with ReasonFlux or a baseline, streaming the run.
use std::io::Write;
use std::path::PathBuf;

use rf_embed::CpuWeights;
use rf_planner::{BestOfNConfig, GuidedConfig, ModelRole, StrategyKind, StrategySpec, run_to_completion};

use rf_solve::{EngineBackend, RetrieverChoice, TemplateIndex};
use crate::common::ModelArgs;

/// Strategy and template settings shared by `solve` and `eval`.
#[derive(clap::Args, Debug, Clone)]
pub struct StrategyArgs {
    /// Solving strategy: reasonflux, direct, guided (template-guided direct), best-of-n, mcts.
    #[arg(long, default_value = "reasonflux")]
    pub strategy: StrategyKind,
    /// Template library folder (TOML sources).
    #[arg(long, default_value = "templates")]
    pub templates: PathBuf,
    /// A built template bundle to use instead of the folder.
    #[arg(long)]
    pub bundle: Option<PathBuf>,
    /// How templates are found: lexical (BM25F), dense (embeddings), hybrid (both fused) or
    /// auto (dense for the problem itself, lexical for plan steps).
    #[arg(long, default_value = "lexical")]
    pub retriever: RetrieverChoice,
    /// Sentence encoder for dense and hybrid retrieval (sentence-transformers folder).
    #[arg(long, default_value = "assets/all-MiniLM-L6-v2")]
    pub encoder: PathBuf,
    /// The encoder's matrices for embedding queries: q8_0 (8-bit, fast) or f32 (the reference).
    #[arg(long, default_value = "q8_0", value_parser = crate::cmd_templates::parse_encoder_weights)]
    pub encoder_weights: CpuWeights,
    /// A separate navigator model (defaults to the inference model).
    #[arg(long)]
    pub navigator: Option<PathBuf>,
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Samples for best-of-n.
    #[arg(long, default_value_t = 4)]
    pub n: u32,
    /// Template cards in the guided strategy's prompt.
    #[arg(long, default_value_t = 2)]
    pub guide_templates: u32,
    /// Most new tokens per generation.
    #[arg(long, default_value_t = 768)]
    pub max_new_tokens: u32,
}

impl StrategyArgs {
    /// The template library with the chosen retriever.
    pub fn template_index(&self) -> anyhow::Result<TemplateIndex> {
        crate::cmd_templates::template_index(self.bundle.as_deref(), &self.templates, self.retriever, &self.encoder, self.encoder_weights)
    }

    pub fn spec(&self) -> StrategySpec {
        let mut spec = match self.strategy {
            StrategyKind::Guided => StrategySpec::Guided(GuidedConfig { templates: self.guide_templates, ..GuidedConfig::default() }),
            StrategyKind::BestOfN => StrategySpec::BestOfN(BestOfNConfig { n: self.n.max(1), ..BestOfNConfig::default() }),
            kind => StrategySpec::default_for(kind),
        };
        spec.set_seed(self.seed);
        spec.cap_max_new_tokens(self.max_new_tokens);
        spec
    }
}

#[derive(clap::Args, Debug)]
pub struct SolveArgs {
    /// The problem to solve.
    pub problem: String,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub strategy: StrategyArgs,
    /// Write the full trace (plan, templates, rounds, evaluations, answer, tokens) as JSON here.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Do not stream model output.
    #[arg(long)]
    pub quiet: bool,
}

pub fn run(args: SolveArgs) -> anyhow::Result<()> {
    if args.problem.trim().is_empty() {
        anyhow::bail!("the problem text is empty");
    }
    let templates = args.strategy.template_index()?;
    let mut inference = args.model.load()?;
    let mut navigator = args.model.load_navigator(args.strategy.navigator.as_ref())?;
    let quiet = args.quiet;
    let mut last_role = None;
    let sink: rf_solve::TextSink = Box::new(move |role: ModelRole, text: &str| {
        if quiet {
            return;
        }
        let mut err = std::io::stderr();
        if last_role != Some(role) {
            let _ = write!(err, "\n── {} ──\n", if role == ModelRole::Navigator { "navigator" } else { "inference" });
            last_role = Some(role);
        }
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
    });
    let mut backend = EngineBackend {
        inference: &mut inference,
        navigator: navigator.as_mut(),
        templates: &templates,
        sink: Some(sink),
    };
    let mut machine = args.strategy.spec().start(args.problem.clone());
    let trace = run_to_completion(&mut machine, &mut backend)?;
    if let Some(path) = &args.trace {
        std::fs::write(path, serde_json::to_string_pretty(&trace)?)?;
    }
    let t = &trace.totals;
    eprintln!(
        "\n[{}: {} interplay rounds, {} reasoning steps, {} trajectories, {} generations, {} retrievals, {} prompt + {} generated tokens]",
        args.strategy.strategy,
        t.interplay_rounds,
        t.reasoning_steps,
        t.trajectories,
        t.generations,
        t.retrievals,
        t.prompt_tokens,
        t.generated_tokens
    );
    println!("Answer: {}", trace.answer.as_deref().unwrap_or("(none)"));
    Ok(())
}
