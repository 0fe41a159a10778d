//! The cost-vs-difficulty plot: primary costs, series data and SVG well-formedness.

use rf_eval::{Cost, CostSeries, PrimaryCost, SeriesLine, SummaryRow, cost_plot_svg, cost_series, primary_cost};

#[test]
fn primary_cost_by_strategy_name() {
    assert_eq!(primary_cost("reasonflux"), PrimaryCost::Rounds);
    assert_eq!(primary_cost("ReasonFlux-32B"), PrimaryCost::Rounds);
    assert_eq!(primary_cost("mcts"), PrimaryCost::Steps);
    assert_eq!(primary_cost("best-of-n"), PrimaryCost::Trajectories);
    assert_eq!(primary_cost("best_of_8"), PrimaryCost::Trajectories);
    assert_eq!(primary_cost("bon16"), PrimaryCost::Trajectories);
    assert_eq!(primary_cost("direct"), PrimaryCost::One);
    assert_eq!(primary_cost("cot"), PrimaryCost::One);
    assert_eq!(primary_cost("something-else"), PrimaryCost::Rounds);
    let c = Cost { rounds: 3, steps: 7, trajectories: 8, prompt_tokens: 1, generated_tokens: 2 };
    assert_eq!(PrimaryCost::Rounds.of(&c), 3.0);
    assert_eq!(PrimaryCost::Steps.of(&c), 7.0);
    assert_eq!(PrimaryCost::Trajectories.of(&c), 8.0);
    assert_eq!(PrimaryCost::One.of(&c), 1.0);
}

fn row(bench: &str, level: &str, strategy: &str, n_ok: usize, cost: f64) -> SummaryRow {
    SummaryRow {
        benchmark: bench.into(),
        level: level.into(),
        strategy: strategy.into(),
        n: n_ok,
        n_ok,
        correct: 0,
        errors: 0,
        pass_at_1: 0.0,
        ci_low: 0.0,
        ci_high: 1.0,
        mean_rounds: 0.0,
        mean_steps: 0.0,
        mean_trajectories: 0.0,
        mean_prompt_tokens: 0.0,
        mean_generated_tokens: 0.0,
        mean_seconds: 0.0,
        mean_primary_cost: cost,
    }
}

fn rows() -> Vec<SummaryRow> {
    vec![
        row("math500", "Level 1", "reasonflux", 10, 1.5),
        row("math500", "Level 2", "reasonflux", 10, 2.0),
        row("math500", "Level 10", "reasonflux", 10, 4.0),
        row("math500", "all", "reasonflux", 30, 2.5),
        row("math500", "Level 1", "mcts", 10, 12.0),
        row("math500", "Level 10", "mcts", 10, 40.0),
        row("math500", "all", "mcts", 20, 26.0),
        row("math500", "Level 1", "best-of-n", 5, 8.0),
        row("math500", "Level 2", "direct", 5, 1.0),
        row("aime24", "Level 1", "reasonflux", 30, 3.5),
        row("olympiadbench", "all", "direct", 7, 1.0),
    ]
}

#[test]
fn series_for_one_benchmark() {
    let s = cost_series(&rows(), Some("math500"));
    assert_eq!(s.levels, ["Level 1", "Level 2", "Level 10"], "natural order, pooled `all` rows left out");
    let names: Vec<&str> = s.lines.iter().map(|l| l.strategy.as_str()).collect();
    assert_eq!(names, ["best-of-n", "direct", "mcts", "reasonflux"]);
    assert_eq!(s.lines[2].points, [Some(12.0), None, Some(40.0)]);
    assert_eq!(s.lines[3].points, [Some(1.5), Some(2.0), Some(4.0)]);
    assert_eq!(s.lines[0].unit, PrimaryCost::Trajectories);
}

#[test]
fn series_pooled_over_benchmarks_is_weighted() {
    let s = cost_series(&rows(), None);
    let rf = s.lines.iter().find(|l| l.strategy == "reasonflux").unwrap();
    // Level 1: (10 × 1.5 + 30 × 3.5) / 40 = 3.0
    assert_eq!(rf.points[0], Some(3.0));
    assert!(!s.levels.iter().any(|l| l == "all"));
}

#[test]
fn series_without_levels_uses_all() {
    let s = cost_series(&rows(), Some("olympiadbench"));
    assert_eq!(s.levels, ["all"]);
    assert_eq!(s.lines.len(), 1);
    assert_eq!(s.lines[0].points, [Some(1.0)]);
}

/// A small well-formedness check: tags balance, attributes are quoted, text has no raw `<`
/// and every `&` starts an entity. Returns the element names in document order.
fn check_xml(doc: &str) -> Result<Vec<String>, String> {
    let mut stack: Vec<String> = Vec::new();
    let mut names = Vec::new();
    let mut rest = doc;
    let mut roots = 0;
    while let Some(lt) = rest.find('<') {
        check_text(&rest[..lt])?;
        let after = &rest[lt + 1..];
        let gt = find_tag_end(after).ok_or("unterminated tag")?;
        let tag = &after[..gt];
        rest = &after[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack.pop().ok_or(format!("closing </{name}> without opening"))?;
            if open != name.trim() {
                return Err(format!("</{name}> closes <{open}>"));
            }
            continue;
        }
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        let self_closing = tag.ends_with('/');
        let body = tag.trim_end_matches('/');
        let name: String = body.chars().take_while(|c| !c.is_whitespace()).collect();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ':') {
            return Err(format!("bad element name in <{tag}>"));
        }
        check_attrs(&body[name.len()..])?;
        if stack.is_empty() {
            roots += 1;
        }
        names.push(name.clone());
        if !self_closing {
            stack.push(name);
        }
    }
    check_text(rest)?;
    if !stack.is_empty() {
        return Err(format!("unclosed elements: {stack:?}"));
    }
    if roots != 1 {
        return Err(format!("{roots} root elements"));
    }
    Ok(names)
}

fn find_tag_end(s: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i),
            (None, '<') => return None,
            _ => {}
        }
    }
    None
}

fn check_attrs(s: &str) -> Result<(), String> {
    let mut rest = s.trim();
    while !rest.is_empty() {
        let eq = rest.find('=').ok_or(format!("attribute without value: {rest}"))?;
        let name = rest[..eq].trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(format!("bad attribute name `{name}`"));
        }
        let v = rest[eq + 1..].trim_start();
        let q = v.chars().next().filter(|c| *c == '"' || *c == '\'').ok_or(format!("unquoted attribute {name}"))?;
        let end = v[1..].find(q).ok_or(format!("unterminated attribute {name}"))?;
        check_text(&v[1..1 + end])?;
        rest = v[end + 2..].trim_start();
    }
    Ok(())
}

fn check_text(t: &str) -> Result<(), String> {
    if t.contains('<') {
        return Err(format!("raw < in text: {t}"));
    }
    for (i, _) in t.match_indices('&') {
        let ent = &t[i..];
        let ok = ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].iter().any(|e| ent.starts_with(e));
        if !ok {
            return Err(format!("bare & in text: {t}"));
        }
    }
    Ok(())
}

#[test]
fn checker_rejects_broken_documents() {
    assert!(check_xml("<svg><g></svg>").is_err());
    assert!(check_xml("<svg><g></g>").is_err());
    assert!(check_xml("<svg a=b></svg>").is_err());
    assert!(check_xml("<svg>a & b</svg>").is_err());
    assert!(check_xml("<svg/><svg/>").is_err());
    assert!(check_xml("<svg><g a=\"1\"/></svg>").is_ok());
}

#[test]
fn svg_is_well_formed_with_one_polyline_per_strategy() {
    let series = cost_series(&rows(), Some("math500"));
    let svg = cost_plot_svg(&series, "MATH-500 <cost> & difficulty");
    let names = check_xml(&svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
    assert_eq!(names[0], "svg");
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_eq!(names.iter().filter(|n| *n == "polyline").count(), series.lines.len());
    assert_eq!(svg.matches("<polyline").count(), 4);
    // One marker per present point: 1 + 1 + 2 + 3.
    assert_eq!(names.iter().filter(|n| *n == "circle").count(), 7);
    // Title escaped, legend and axis labels present.
    assert!(svg.contains("MATH-500 &lt;cost&gt; &amp; difficulty"));
    for s in
        ["reasonflux (rounds)", "mcts (steps)", "best-of-n (trajectories)", "direct (1 pass)", "difficulty level", "mean exploration cost"]
    {
        assert!(svg.contains(s), "missing {s}");
    }
    for level in ["Level 1", "Level 2", "Level 10"] {
        assert!(svg.contains(&format!(">{level}</text>")), "missing x tick {level}");
    }
    // y ticks: max 40 → step 10 → 0, 10, …, 40.
    for t in ["0", "10", "20", "30", "40"] {
        assert!(svg.contains(&format!(">{t}</text>")), "missing y tick {t}");
    }
    // The mcts polyline skips its missing level: 2 points.
    let mcts = svg.split("data-strategy=\"mcts\"").nth(1).unwrap();
    let points = mcts.split("points=\"").nth(1).unwrap().split('"').next().unwrap();
    assert_eq!(points.split_whitespace().count(), 2, "{points}");
    // Deterministic.
    assert_eq!(svg, cost_plot_svg(&series, "MATH-500 <cost> & difficulty"));
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("rf-eval-cost-vs-level.svg");
    std::fs::write(&out, &svg).unwrap();
    eprintln!("wrote {}", out.display());
}

#[test]
fn svg_edge_cases_stay_well_formed() {
    let empty = CostSeries { levels: vec![], lines: vec![] };
    let svg = cost_plot_svg(&empty, "nothing yet");
    check_xml(&svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
    assert_eq!(svg.matches("<polyline").count(), 0);

    let zeros = CostSeries {
        levels: vec!["all".into()],
        lines: vec![SeriesLine { strategy: "a\"b'c".into(), unit: PrimaryCost::Rounds, points: vec![Some(0.0)] }],
    };
    let svg = cost_plot_svg(&zeros, "zero");
    check_xml(&svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
    assert_eq!(svg.matches("<polyline").count(), 1);

    let small = CostSeries {
        levels: vec!["L1".into(), "L2".into()],
        lines: vec![SeriesLine { strategy: "x".into(), unit: PrimaryCost::Steps, points: vec![Some(0.03), Some(f64::NAN)] }],
    };
    let svg = cost_plot_svg(&small, "small");
    check_xml(&svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
    assert!(!svg.contains("NaN"));
    assert!(svg.contains(">0.03</text>"), "{svg}");
}
