//! `reasonflux`: the native command line of ReasonFlux Web.
mod cmd_bench;
mod cmd_eval;
mod cmd_eval_report;
mod cmd_generate;
mod cmd_grade;
mod cmd_solve;
mod cmd_templates;
mod cmd_train;
mod common;
mod retrieval_eval;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "reasonflux", version, about = "Local math reasoning with thought templates")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Solve a math problem with ReasonFlux (or a baseline strategy), streaming the run.
    Solve(cmd_solve::SolveArgs),
    /// Evaluate a strategy on a benchmark (resumable JSONL, summary table, cost plot).
    Eval(cmd_eval::EvalArgs),
    /// Draw a fixed evaluation set (problem ids per difficulty level) and print it.
    EvalSet(cmd_eval_report::EvalSetArgs),
    /// Merge evaluation runs into a report: slim records, accuracy with 95 % intervals, paired tests.
    EvalReport(cmd_eval_report::EvalReportArgs),
    /// Stream a completion from a local model (GGUF file or HF folder).
    Generate(cmd_generate::GenerateArgs),
    /// Measure prefill and decode tokens/s and peak memory.
    Bench(cmd_bench::BenchArgs),
    /// Build, search and inspect the thought-template library.
    Templates {
        #[command(subcommand)]
        command: cmd_templates::TemplatesCommand,
    },
    /// Decide whether two final answers are mathematically equivalent.
    Grade(cmd_grade::GradeArgs),
    /// Train the navigator: structure-based fine-tuning, preference pairs, DPO, name hit rate.
    Train {
        #[command(subcommand)]
        command: cmd_train::TrainCommand,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Solve(args) => cmd_solve::run(args),
        Command::Eval(args) => cmd_eval::run(args),
        Command::EvalSet(args) => cmd_eval_report::run_set(args),
        Command::EvalReport(args) => cmd_eval_report::run_report(args),
        Command::Generate(args) => cmd_generate::run(args),
        Command::Bench(args) => cmd_bench::run(args),
        Command::Templates { command } => cmd_templates::run(command),
        Command::Grade(args) => cmd_grade::run(args),
        Command::Train { command } => cmd_train::run(command),
    }
}
