use super::*;

fn doc() -> SchemaDoc {
    let text = include_str!("../../../schemas/cca-good-enterprise/2024.json");
    serde_json::from_str(text).expect("shipped 2024")
}

fn prev() -> SchemaDoc {
    let text = include_str!("../../../schemas/cca-good-enterprise/2014.json");
    serde_json::from_str(text).expect("shipped 2014")
}

fn paths(d: &SchemaDoc) -> Vec<String> {
    check(d, Some(&prev()))
        .into_iter()
        .map(|i| i.path)
        .collect()
}

#[test]
fn the_shipped_document_passes() {
    assert_eq!(paths(&doc()), Vec::<String>::new());
}

#[test]
fn each_rule_names_its_path() {
    let find = |d: &SchemaDoc, id: &str| d.criteria.iter().position(|c| c.id == id).expect(id);
    let mut cases: Vec<(SchemaDoc, String)> = Vec::new();

    let mut d = doc();
    d.criteria[2].theme = "nowhere".into();
    cases.push((d, "/criteria/2/theme".into()));

    let mut d = doc();
    let i = find(&d, "disputes.response_time");
    if let Some(m) = d.criteria[i].measure.as_mut() {
        m.bands.swap(0, 1);
    }
    cases.push((d, format!("/criteria/{i}/measure/bands/1/threshold")));

    let mut d = doc();
    let i = find(&d, "disputes.complaint_channel");
    d.criteria[i].options[1].id = d.criteria[i].options[0].id.clone();
    cases.push((d, format!("/criteria/{i}/options/1/id")));

    let mut d = doc();
    let i = find(&d, "lawful.compliance_system");
    d.criteria[i].red_line = true;
    cases.push((d, format!("/criteria/{i}/red_line")));

    let mut d = doc();
    d.criteria[0].weight = 0.0;
    cases.push((d, "/criteria/0/weight".into()));

    let mut d = doc();
    d.criteria[0].law_refs[0].in_force_from = NaiveDate::from_ymd_opt(2013, 1, 1);
    cases.push((d, "/criteria/0/law_refs/0/in_force_from".into()));

    let mut d = doc();
    d.criteria[0].law_refs[0].article = 64;
    cases.push((d, "/criteria/0/law_refs/0/article".into()));

    let mut d = doc();
    d.criteria[0].law_refs[0].law = "crpl-1993".into();
    cases.push((d, "/criteria/0/law_refs/0/law".into()));

    let mut d = doc();
    d.criteria[0].law_refs[0].law = "consumer-law".into();
    cases.push((d, "/criteria/0/law_refs/0/law".into()));

    let mut d = doc();
    d.profiles[0].weights.insert("nothing.here".into(), 2.0);
    cases.push((d, "/profiles/0/weights/nothing.here".into()));

    let mut d = doc();
    d.profiles[0].theme_weights.insert("nowhere".into(), 2.0);
    cases.push((d, "/profiles/0/theme_weights/nowhere".into()));

    let mut d = doc();
    d.profiles[0]
        .theme_weights
        .insert("sustainability".into(), f64::INFINITY);
    cases.push((d, "/profiles/0/theme_weights/sustainability".into()));

    let mut d = doc();
    let taken = d.profiles[0].industries[0].clone();
    d.profiles[1].industries.push(taken);
    let n = d.profiles[1].industries.len() - 1;
    cases.push((d, format!("/profiles/1/industries/{n}")));

    let mut d = doc();
    d.profiles[0]
        .not_applicable
        .push("lawful.no_fraud_penalty".into());
    let n = d.profiles[0].not_applicable.len() - 1;
    cases.push((d, format!("/profiles/0/not_applicable/{n}")));

    let mut d = doc();
    d.four_eyes_levels.push("platinum".into());
    cases.push((d, "/four_eyes_levels/1".into()));

    let mut d = doc();
    d.changelog.removed.clear();
    cases.push((d, "/changelog/removed".into()));

    let mut d = doc();
    d.changelog.reweighted[0].to = 9.0;
    cases.push((d, "/changelog/reweighted".into()));

    for (d, path) in cases {
        let found = paths(&d);
        assert!(found.contains(&path), "{path} not in {found:?}");
    }
}

#[test]
fn a_profile_replaces_the_theme_weights_it_names() {
    let mut d = doc();
    d.profiles[0].theme_weights.clear();
    d.profiles[0].theme_weights.insert("safety".into(), 30.0);
    let code = IndustryCode::parse(&d.profiles[0].industries[0]).expect("code");
    let r = resolve(&d, Some(&code));
    let weight = |r: &Resolved, id: &str| {
        r.themes
            .iter()
            .find(|t| t.id == id)
            .map(|t| t.weight)
            .expect(id)
    };
    assert_eq!(weight(&r, "safety"), 30.0);
    let base = |id: &str| d.themes.iter().find(|t| t.id == id).expect(id).weight;
    assert_eq!(weight(&r, "lawful"), base("lawful"));
    // Without the profile, the version's own weights.
    let r = resolve(&d, None);
    assert_eq!(weight(&r, "safety"), base("safety"));
    assert_eq!(paths(&d), Vec::<String>::new());
}

#[test]
fn content_hash_ignores_status_and_formatting_only() {
    let d = doc();
    let mut retired = d.clone();
    retired.status = Status::Retired;
    assert_eq!(d.content_hash(), retired.content_hash());
    let reparsed: SchemaDoc =
        serde_json::from_str(&serde_json::to_string_pretty(&d).expect("json")).expect("doc");
    assert_eq!(d.content_hash(), reparsed.content_hash());
    let mut changed = d.clone();
    changed.criteria[0].title.en.push('.');
    assert_ne!(d.content_hash(), changed.content_hash());
}

#[test]
fn canonical_json_sorts_keys() {
    use crate::domain::canonical::canonical_json;
    let v: serde_json::Value =
        serde_json::from_str(r#"{"b":1,"a":{"d":[1,{"f":2,"e":3}],"c":"x"}}"#).expect("json");
    assert_eq!(
        canonical_json(&v),
        r#"{"a":{"c":"x","d":[1,{"e":3,"f":2}]},"b":1}"#
    );
}

#[test]
fn the_surveillance_defaults_parse_and_name_known_categories() {
    let d = super::Surveillance::defaults();
    assert!(d.on_time_acknowledgement_below > 0.0 && d.on_time_acknowledgement_below < 1.0);
    for c in &d.red_line_categories {
        assert!(
            crate::domain::complaint::Category::parse(c).is_some(),
            "{c}"
        );
    }
}
