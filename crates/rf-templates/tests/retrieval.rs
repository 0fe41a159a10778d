mod common;

use common::templates_dir;
use rf_templates::eval::{Query, QueryKind, labelled_queries, score};
use rf_templates::{Library, Retriever, SearchOptions, Subject};

fn setup() -> (Library, Retriever) {
    let library = Library::load_dir(&templates_dir()).expect("templates load");
    let retriever = Retriever::build(&library);
    (library, retriever)
}

/// Regression guard: paraphrased navigator-style step queries (name words shuffled and partly
/// replaced by synonyms, plus 1-2 tags) must find their template in the top 5.
#[test]
fn name_and_tags_recall_at_5_stays_high() {
    let (library, retriever) = setup();
    let queries = labelled_queries(&library);
    let lexical = |text: &str| -> Result<Vec<String>, ()> { Ok(retriever.search(text, 10).into_iter().map(|h| h.id).collect()) };
    let name_tags: Vec<Query> = queries.iter().filter(|q| q.kind == QueryKind::NameTags).map(Query::from).collect();
    let s = score(&name_tags, lexical).unwrap();
    assert_eq!(s.queries, library.len());
    assert!(s.recall_at_5 >= 0.9, "name+tags recall@5 = {:.3}", s.recall_at_5);
    let all: Vec<Query> = queries.iter().map(Query::from).collect();
    let overall = score(&all, lexical).unwrap();
    assert!(overall.recall_at_5 >= 0.9, "overall recall@5 = {:.3}", overall.recall_at_5);
}

#[test]
fn results_are_ranked_and_bounded() {
    let (library, retriever) = setup();
    let hits = retriever.search("arithmetic sequence sum of the first n terms", 7);
    assert_eq!(hits.len(), 7);
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
    for h in &hits {
        assert_eq!(library.templates[h.position].id, h.id);
    }
    assert!(retriever.search("", 5).is_empty());
    assert!(retriever.search("the of and", 5).is_empty());
    assert!(retriever.search("arithmetic", 0).is_empty());
}

#[test]
fn exact_names_find_themselves_first_when_unique() {
    let (library, retriever) = setup();
    let mut misses = Vec::new();
    for t in &library.templates {
        if library.templates.iter().filter(|o| o.name == t.name).count() > 1 {
            continue;
        }
        let query = format!("{} {}", t.name, t.tags.join(" "));
        if retriever.search(&query, 1).first().map(|h| h.id.as_str()) != Some(t.id.as_str()) {
            misses.push(t.id.clone());
        }
    }
    // A few near-identical names exist; demand at least 95% exact top-1.
    assert!(misses.len() * 20 <= library.len(), "{} misses: {:?}", misses.len(), &misses[..misses.len().min(10)]);
}

#[test]
fn hierarchy_boost_prefers_the_subject() {
    let (library, retriever) = setup();
    let query = "find the range of values";
    let plain = retriever.search(query, 20);
    let options = SearchOptions { subject: Some(Subject::CountingProbability), chapter: None, hierarchy_boost: 5.0, ..SearchOptions::default() };
    let boosted = retriever.search_with(query, 20, &options);
    let share = |hits: &[rf_templates::Hit]| {
        hits.iter().filter(|h| library.templates[h.position].subject == Subject::CountingProbability).count()
    };
    assert!(share(&boosted) > share(&plain), "boost did not move counting-probability templates up");
}
