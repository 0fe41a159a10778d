//! `reasonflux grade GOLD CANDIDATE [--json]`: decide whether two final answers are
//! mathematically equivalent, with `rf_grade::grade`.
//!
//! Output: `EQUIVALENT` or `NOT EQUIVALENT`, then the reason and the normalised forms
//! (or, with `--json`, the `rf_grade::Verdict` as one JSON object).
//!
//! Exit status: 0 when the answers are equivalent, 1 when they are not (so scripts can use
//! `reasonflux grade "$gold" "$answer" && ...`); usage errors exit 2 (clap).

/// Arguments of `reasonflux grade`.
#[derive(clap::Args, Debug)]
pub struct GradeArgs {
    /// The gold (reference) final answer, e.g. '\frac{1}{2}'. A `\boxed{}` wrapper is removed.
    /// Answers are values, negative ones included: `-1/3` is not read as a flag.
    #[arg(allow_hyphen_values = true)]
    pub gold: String,
    /// The candidate final answer, e.g. '0.5'. A `\boxed{}` wrapper is removed.
    #[arg(allow_hyphen_values = true)]
    pub candidate: String,
    /// Print the verdict as JSON: {"equivalent": bool, "reason": "...", "detail": "..."}.
    #[arg(long)]
    pub json: bool,
}

/// Run `reasonflux grade`. Exits the process with status 1 when not equivalent.
pub fn run(args: GradeArgs) -> anyhow::Result<()> {
    let verdict = rf_grade::grade(&args.gold, &args.candidate);
    if args.json {
        println!("{}", serde_json::to_string(&verdict)?);
    } else {
        let head = if verdict.equivalent {
            "EQUIVALENT"
        } else {
            "NOT EQUIVALENT"
        };
        println!("{head}");
        println!("reason: {}", verdict.reason);
        println!("detail: {}", verdict.detail);
    }
    if !verdict.equivalent {
        std::process::exit(1);
    }
    Ok(())
}
