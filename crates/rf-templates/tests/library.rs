mod common;

use common::{GOOD, replaced, templates_dir};
use rf_templates::library::ValidationError as V;
use rf_templates::{Kind, Library, LoadError, Origin};

fn errors_of(text: &str) -> Vec<V> {
    match Library::from_sources([("test.toml", text)]) {
        Ok(_) => Vec::new(),
        Err(LoadError::Invalid(errors)) => errors,
        Err(other) => panic!("unexpected error kind: {other}"),
    }
}

#[test]
fn real_templates_folder_is_valid() {
    let library = match Library::load_dir(&templates_dir()) {
        Ok(l) => l,
        Err(LoadError::Invalid(errors)) => {
            let listing: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            panic!("{} invalid template(s):\n{}", errors.len(), listing.join("\n"));
        }
        Err(e) => panic!("{e}"),
    };
    let upstream = library.templates.iter().filter(|t| t.origin == Origin::ReasonfluxV1).count();
    assert_eq!(upstream, 420, "the importer writes all 420 upstream templates");
    assert!(library.templates.windows(2).all(|w| w[0].id < w[1].id), "sorted by unique id");
    for t in &library.templates {
        assert!(t.steps.len() >= 2 && t.tags.len() >= 2 && !t.scope.is_empty(), "{}", t.id);
        assert!(library.get(&t.id).is_some());
    }
    // Every kind appears among the imported templates.
    for kind in Kind::ALL {
        assert!(library.templates.iter().any(|t| t.kind == kind), "no {kind:?} template");
    }
}

#[test]
fn good_fixture_loads() {
    let lib = Library::from_sources([("test.toml", GOOD)]).expect("valid fixture");
    assert_eq!(lib.len(), 1);
    assert_eq!(lib.templates[0].example.as_ref().and_then(|e| e.answer.as_deref()), Some("8"));
    assert!(lib.version.starts_with("sha256:"));
}

#[test]
fn version_depends_on_content_only() {
    let a = Library::from_sources([("a.toml", GOOD)]).unwrap();
    let b = Library::from_sources([("b/other-name.toml", GOOD)]).unwrap();
    let c = Library::from_sources([("a.toml", replaced("answer = \"8\"", "answer = \"9\"").as_str())]).unwrap();
    assert_eq!(a.version, b.version);
    assert_ne!(a.version, c.version);
}

#[test]
fn invalid_toml() {
    assert!(matches!(errors_of("chapter = ").as_slice(), [V::Toml { .. }]));
}

#[test]
fn empty_field() {
    let e = errors_of(&replaced("name = \"Chinese Remainder Theorem\"", "name = \"  \""));
    assert!(matches!(e.as_slice(), [V::EmptyField { field: "name", .. }]), "{e:?}");
    let e = errors_of(&replaced("description = \"Combine congruences with coprime moduli.\"", "description = \"\""));
    assert!(matches!(e.as_slice(), [V::EmptyField { field: "description", .. }]), "{e:?}");
    let e = errors_of(&replaced("scope = [\"Simultaneous congruences\"]", "scope = []"));
    assert!(matches!(e.as_slice(), [V::EmptyField { field: "scope", .. }]), "{e:?}");
}

#[test]
fn missing_field() {
    let e = errors_of(&replaced("description = \"Combine congruences with coprime moduli.\"\n", ""));
    assert!(matches!(e.as_slice(), [V::MissingField { field: "description", .. }]), "{e:?}");
}

#[test]
fn wrong_type() {
    let e = errors_of(&replaced("tags = [\"Number Theory\", \"CRT\"]", "tags = \"Number Theory\""));
    assert!(matches!(e.as_slice(), [V::WrongType { field: "tags", .. }]), "{e:?}");
}

#[test]
fn fewer_than_two_steps() {
    let e = errors_of(&replaced(
        "steps = [\"Check the moduli are coprime.\", \"Solve one congruence and substitute.\"]",
        "steps = [\"Only one step.\"]",
    ));
    assert!(matches!(e.as_slice(), [V::TooFew { field: "steps", count: 1, min: 2, .. }]), "{e:?}");
}

#[test]
fn missing_or_empty_tags() {
    let e = errors_of(&replaced("tags = [\"Number Theory\", \"CRT\"]\n", ""));
    assert!(matches!(e.as_slice(), [V::MissingField { field: "tags", .. }]), "{e:?}");
    let e = errors_of(&replaced("tags = [\"Number Theory\", \"CRT\"]", "tags = []"));
    assert!(matches!(e.as_slice(), [V::EmptyField { field: "tags", .. }]), "{e:?}");
    let e = errors_of(&replaced("tags = [\"Number Theory\", \"CRT\"]", "tags = [\"Number Theory\", \"\"]"));
    assert!(matches!(e.as_slice(), [V::EmptyField { field: "tags", .. }]), "{e:?}");
    let e = errors_of(&replaced("tags = [\"Number Theory\", \"CRT\"]", "tags = [\"Number Theory\"]"));
    assert!(matches!(e.as_slice(), [V::TooFew { field: "tags", .. }]), "{e:?}");
    let nine = (1..=9).map(|i| format!("\"t{i}\"")).collect::<Vec<_>>().join(", ");
    let e = errors_of(&replaced("tags = [\"Number Theory\", \"CRT\"]", &format!("tags = [{nine}]")));
    assert!(matches!(e.as_slice(), [V::TooManyTags { count: 9, .. }]), "{e:?}");
}

#[test]
fn duplicate_ids() {
    let err = Library::from_sources([("a.toml", GOOD), ("b.toml", GOOD)]).unwrap_err();
    let LoadError::Invalid(e) = err else { panic!("expected Invalid") };
    assert!(
        matches!(e.as_slice(), [V::DuplicateId { id, first_file, second_file }]
            if id.ends_with("chinese-remainder-theorem") && first_file == "a.toml" && second_file == "b.toml"),
        "{e:?}"
    );
}

#[test]
fn bad_id_slug() {
    for bad in [
        "web/number-theory/modular-arithmetic/Chinese-Remainder",
        "web/number-theory/chinese-remainder-theorem",
        "web/number-theory/modular-arithmetic/chinese--remainder",
        "web/number-theory/modular-arithmetic/chinese remainder",
        "reasonflux-v1/number-theory/modular-arithmetic/crt",
    ] {
        let e = errors_of(&replaced("web/number-theory/modular-arithmetic/chinese-remainder-theorem", bad));
        assert!(matches!(e.as_slice(), [V::BadId { id, .. }] if id == bad), "{bad}: {e:?}");
    }
}

#[test]
fn missing_example_parts() {
    let e = errors_of(&replaced("problem = \"Find n with n = 2 mod 3 and n = 3 mod 5.\"\n", ""));
    assert!(matches!(e.as_slice(), [V::MissingExample { field: "problem", .. }]), "{e:?}");
    let e = errors_of(&replaced("solution = [\"n = 3 + 5k, so 3 + 5k = 2 mod 3 gives k = 1.\"]\n", ""));
    assert!(matches!(e.as_slice(), [V::MissingExample { field: "solution", .. }]), "{e:?}");
    let no_example = GOOD.split("[templates.example]").next().unwrap_or_default().to_string();
    let e = errors_of(&no_example);
    assert!(matches!(e.as_slice(), [V::MissingField { field: "example", .. }]), "{e:?}");
}

#[test]
fn web_templates_need_an_answer_upstream_ones_do_not() {
    let e = errors_of(&replaced("answer = \"8\"\n", ""));
    assert!(matches!(e.as_slice(), [V::MissingAnswer { .. }]), "{e:?}");
    let upstream = replaced("answer = \"8\"\n", "")
        .replace("origin = \"reasonflux-web\"", "origin = \"reasonflux-v1\"")
        .replace("id = \"web/", "id = \"reasonflux-v1/");
    assert!(errors_of(&upstream).is_empty());
}

#[test]
fn unknown_kind_subject_origin_and_keys() {
    let e = errors_of(&replaced("kind = \"method\"", "kind = \"trick\""));
    assert!(matches!(e.as_slice(), [V::UnknownKind { value, .. }] if value == "trick"), "{e:?}");
    let e = errors_of(&replaced("subject = \"number-theory\"", "subject = \"calculus\""));
    assert!(matches!(e.as_slice(), [V::UnknownSubject { value, .. }] if value == "calculus"), "{e:?}");
    let e = errors_of(&replaced("origin = \"reasonflux-web\"", "origin = \"elsewhere\""));
    assert!(matches!(e.as_slice(), [V::UnknownOrigin { .. }]), "{e:?}");
    let e = errors_of(&replaced("kind = \"method\"", "kind = \"method\"\ntgas = [\"typo\"]"));
    assert!(matches!(e.as_slice(), [V::UnknownField { key, .. }] if key == "tgas"), "{e:?}");
}

#[test]
fn file_without_templates() {
    let header_only = GOOD.split("[[templates]]").next().unwrap_or_default().to_string();
    assert!(matches!(errors_of(&header_only).as_slice(), [V::NoTemplates { .. }]));
}

#[test]
fn all_errors_are_reported_not_just_the_first() {
    let text = replaced("kind = \"method\"", "kind = \"trick\"").replace("steps = [\"Check the moduli are coprime.\", ", "steps = [");
    assert_eq!(errors_of(&text).len(), 2);
}
