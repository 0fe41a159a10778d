//! Fixed evaluation sets: file format, selection against the data, the per-level draw, shards.

use std::path::Path;

use rf_eval::{EvalError, EvalSet, Problem, Shard, draw_per_level};

fn problem(id: usize, level: usize) -> Problem {
    Problem {
        id: format!("p{id}"),
        benchmark: "math500".into(),
        question: format!("question {id}"),
        gold: "1".into(),
        level: Some(format!("Level {level}")),
        subject: None,
    }
}

fn data() -> Vec<Problem> {
    (0..60).map(|i| problem(i, 1 + i % 5)).collect()
}

#[test]
fn set_text_round_trips_and_selects_in_set_order() {
    let set = EvalSet { benchmark: "math500".into(), ids: vec!["p7".into(), "p3".into()] };
    let text = set.to_text("two problems\nmade by hand");
    assert!(text.starts_with("# two problems\n# made by hand\nbenchmark = math500\n"), "{text}");
    let back = EvalSet::parse(Path::new("x.txt"), &text).unwrap();
    assert_eq!(back, set);
    let picked: Vec<String> = back.select(data()).unwrap().into_iter().map(|p| p.id).collect();
    assert_eq!(picked, ["p7", "p3"]);
}

#[test]
fn bad_set_files_are_typed_errors_with_the_line() {
    let cases = [
        ("p1\nbenchmark = math500\n", 1, "before"),
        ("benchmark = math5000\np1\n", 1, "unknown benchmark"),
        ("benchmark = math500\np1\np1\n", 3, "twice"),
        ("# only a comment\n", 1, "no `benchmark"),
        ("benchmark = math500\nbenchmark = gsm8k\n", 2, "second"),
    ];
    for (text, line, needle) in cases {
        match EvalSet::parse(Path::new("s.txt"), text) {
            Err(EvalError::Malformed { line: l, message, .. }) => {
                assert_eq!(l, line, "{text:?}");
                assert!(message.contains(needle), "{message}");
            }
            other => panic!("{text:?} gave {other:?}"),
        }
    }
}

#[test]
fn an_id_missing_from_the_data_is_a_set_mismatch() {
    let set = EvalSet { benchmark: "math500".into(), ids: vec!["p1".into(), "nope".into()] };
    assert!(matches!(set.select(data()), Err(EvalError::SetMismatch { id, .. }) if id == "nope"));
}

#[test]
fn per_level_draw_is_seeded_balanced_and_ordered_by_level() {
    let a = draw_per_level(data(), 4, 16);
    assert_eq!(a, draw_per_level(data(), 4, 16));
    assert_ne!(a, draw_per_level(data(), 4, 17));
    let levels: Vec<&str> = a.iter().map(|p| p.level.as_deref().unwrap()).collect();
    for (k, chunk) in levels.chunks(4).enumerate() {
        assert!(chunk.iter().all(|l| *l == format!("Level {}", k + 1)), "{levels:?}");
    }
    // More than a level has: all of it.
    assert_eq!(draw_per_level(data(), 100, 1).len(), 60);
}

#[test]
fn shards_partition_the_list_round_robin() {
    let items: Vec<usize> = (0..7).collect();
    let s1 = "1/2".parse::<Shard>().unwrap();
    let s2 = "2/2".parse::<Shard>().unwrap();
    assert_eq!(s1.take(items.clone()), [0, 2, 4, 6]);
    assert_eq!(s2.take(items.clone()), [1, 3, 5]);
    assert_eq!(Shard::ALL.take(items), (0..7).collect::<Vec<_>>());
    assert_eq!((s2.file_suffix(), Shard::ALL.file_suffix()), (".shard2of2".to_string(), String::new()));
    for bad in ["0/2", "3/2", "1/0", "1", "a/b", ""] {
        assert!(bad.parse::<Shard>().is_err(), "{bad}");
    }
}
