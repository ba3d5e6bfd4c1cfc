use super::*;
use crate::domain::schema::{SchemaDoc, resolve};
use proptest::prelude::*;

fn doc() -> SchemaDoc {
    serde_json::from_str(include_str!(
        "../../../schemas/cca-good-enterprise/2024.json"
    ))
    .expect("shipped 2024")
}

/// The best possible answer to a criterion.
fn best(c: &Criterion) -> Value {
    match c.kind {
        Kind::YesNo => Value::Bool(true),
        Kind::Maturity => Value::Number(4.0),
        Kind::SingleChoice => {
            let o = c
                .options
                .iter()
                .max_by(|a, b| a.points.total_cmp(&b.points));
            Value::Text(o.map(|o| o.id.clone()).unwrap_or_default())
        }
        Kind::MultipleChoice => Value::Choices(c.options.iter().map(|o| o.id.clone()).collect()),
        Kind::Measured => {
            let m = c.measure.as_ref().expect("measure");
            Value::Number(m.bands[0].threshold)
        }
        Kind::FreeText => Value::Text("text".into()),
    }
}

fn all_best(d: &SchemaDoc) -> HashMap<String, Answer> {
    d.criteria
        .iter()
        .map(|c| (c.id.clone(), Answer::Given(best(c))))
        .collect()
}

fn evidence_for_all(d: &SchemaDoc) -> HashSet<String> {
    d.criteria.iter().map(|c| c.id.clone()).collect()
}

#[test]
fn best_answers_score_100_and_exemplary() {
    let d = doc();
    let s = score(
        &d.themes,
        &d.criteria,
        &d.levels,
        &all_best(&d),
        &evidence_for_all(&d),
    );
    assert_eq!(s.total, 100.0);
    assert_eq!(s.level, "exemplary");
    let sum: f64 = s.explanation.iter().map(|e| e.points).sum();
    assert!((sum - 100.0).abs() < 0.5, "{sum}");
}

#[test]
fn nothing_answered_scores_zero() {
    let d = doc();
    let s = score(
        &d.themes,
        &d.criteria,
        &d.levels,
        &HashMap::new(),
        &HashSet::new(),
    );
    assert_eq!(s.total, 0.0);
    assert_eq!(s.level, NOT_CERTIFIED);
    assert!(
        s.explanation
            .iter()
            .all(|e| e.rule == Rule::Unanswered || e.rule == Rule::NotScored)
    );
}

#[test]
fn missing_evidence_scores_zero_for_that_criterion() {
    let d = doc();
    let s = score(
        &d.themes,
        &d.criteria,
        &d.levels,
        &all_best(&d),
        &HashSet::new(),
    );
    assert!(s.total < 100.0);
    let e = s
        .explanation
        .iter()
        .find(|e| e.id == "lawful.compliance_system")
        .expect("criterion");
    assert_eq!(e.rule, Rule::EvidenceMissing);
    assert_eq!(e.points, 0.0);
}

#[test]
fn measured_bands_and_choices() {
    let d = doc();
    let c = d.criterion("disputes.response_time").expect("criterion");
    assert_eq!(fraction(c, &Value::Number(96.0)).0, 1.0);
    assert_eq!(fraction(c, &Value::Number(85.0)).0, 0.6);
    assert_eq!(fraction(c, &Value::Number(10.0)).1, Rule::BelowAllBands);
    let c = d
        .criterion("after_sales.repair_turnaround")
        .expect("criterion");
    assert_eq!(fraction(c, &Value::Number(5.0)).0, 1.0);
    assert_eq!(fraction(c, &Value::Number(20.0)).0, 0.2);
    let c = d.criterion("fair_trade.prepaid_rules").expect("criterion");
    let (f, ..) = fraction(
        c,
        &Value::Choices(vec!["written_contract".into(), "balance_query".into()]),
    );
    assert!((f - 0.5).abs() < 1e-9);
}

#[test]
fn red_line_failure_means_not_certified() {
    let d = doc();
    let mut answers = all_best(&d);
    answers.insert(
        "lawful.no_fraud_penalty".into(),
        Answer::Given(Value::Bool(false)),
    );
    let s = score(
        &d.themes,
        &d.criteria,
        &d.levels,
        &answers,
        &evidence_for_all(&d),
    );
    assert!(s.total > 90.0);
    assert!(s.red_line_failed);
    assert_eq!(s.red_lines_failed, ["lawful.no_fraud_penalty"]);
    assert_eq!(s.level, NOT_CERTIFIED);
}

fn answer_strategy(c: &Criterion) -> BoxedStrategy<Answer> {
    let na = c.not_applicable_allowed;
    let given: BoxedStrategy<Value> = match c.kind {
        Kind::YesNo => any::<bool>().prop_map(Value::Bool).boxed(),
        Kind::Maturity => (0..=4u8).prop_map(|n| Value::Number(f64::from(n))).boxed(),
        Kind::SingleChoice => {
            proptest::sample::select(c.options.iter().map(|o| o.id.clone()).collect::<Vec<_>>())
                .prop_map(Value::Text)
                .boxed()
        }
        Kind::MultipleChoice => proptest::sample::subsequence(
            c.options.iter().map(|o| o.id.clone()).collect::<Vec<_>>(),
            0..=c.options.len(),
        )
        .prop_map(Value::Choices)
        .boxed(),
        Kind::Measured => (0.0..200.0f64).prop_map(Value::Number).boxed(),
        Kind::FreeText => Just(Value::Text("x".into())).boxed(),
    };
    let given = given.prop_map(Answer::Given);
    if na {
        prop_oneof![4 => given, 1 => Just(Answer::NotApplicable)].boxed()
    } else {
        given.boxed()
    }
}

fn answers_strategy(
    criteria: Vec<Criterion>,
) -> impl Strategy<Value = (HashMap<String, Answer>, HashSet<String>)> {
    let per: Vec<_> = criteria
        .iter()
        .map(|c| {
            (
                proptest::option::weighted(0.9, answer_strategy(c)),
                any::<bool>(),
            )
        })
        .collect();
    per.prop_map(move |v| {
        let mut answers = HashMap::new();
        let mut evidence = HashSet::new();
        for (c, (a, ev)) in criteria.iter().zip(v) {
            if let Some(a) = a {
                answers.insert(c.id.clone(), a);
            }
            if ev {
                evidence.insert(c.id.clone());
            }
        }
        (answers, evidence)
    })
}

fn resolved_food() -> (Vec<Theme>, Vec<Criterion>, Vec<Level>) {
    let d = doc();
    let industry = crate::domain::IndustryCode::parse("C1491").expect("code");
    let r = resolve(&d, Some(&industry));
    (
        r.themes,
        r.criteria.into_iter().map(|c| c.criterion).collect(),
        r.levels,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn total_is_between_0_and_100((answers, evidence) in answers_strategy(resolved_food().1)) {
        let (themes, criteria, levels) = resolved_food();
        let s = score(&themes, &criteria, &levels, &answers, &evidence);
        prop_assert!((0.0..=100.0).contains(&s.total));
        for t in &s.themes {
            prop_assert!((0.0..=100.0).contains(&t.score));
        }
    }

    #[test]
    fn not_applicable_conserves_the_theme_weight(
        (answers, evidence) in answers_strategy(resolved_food().1)
    ) {
        let (themes, criteria, levels) = resolved_food();
        let s = score(&themes, &criteria, &levels, &answers, &evidence);
        for t in s.themes.iter().filter(|t| t.applicable) {
            let schema_weight: f64 = criteria
                .iter()
                .filter(|c| c.theme == t.id && c.kind.is_scored())
                .map(|c| c.weight)
                .sum();
            let effective: f64 = s.explanation.iter().filter(|e| e.theme == t.id).map(|e| e.effective_weight).sum();
            prop_assert!((schema_weight - effective).abs() < 1e-9, "{}: {} vs {}", t.id, schema_weight, effective);
        }
    }

    #[test]
    fn improving_one_answer_never_lowers_the_total(
        (answers, evidence) in answers_strategy(resolved_food().1),
        pick in any::<proptest::sample::Index>(),
    ) {
        let (themes, criteria, levels) = resolved_food();
        let before = score(&themes, &criteria, &levels, &answers, &evidence);
        let scored: Vec<&Criterion> = criteria.iter().filter(|c| c.kind.is_scored()).collect();
        let c = scored[pick.index(scored.len())];
        // Only a given answer can be improved; N/A changes what is assessed, not how well.
        if matches!(answers.get(&c.id), Some(Answer::NotApplicable)) {
            return Ok(());
        }
        let mut better = answers.clone();
        better.insert(c.id.clone(), Answer::Given(best(c)));
        let after = score(&themes, &criteria, &levels, &better, &evidence);
        prop_assert!(after.total >= before.total - 1e-9, "{}: {} -> {}", c.id, before.total, after.total);
    }

    #[test]
    fn a_failed_red_line_is_never_certified(
        (answers, evidence) in answers_strategy(resolved_food().1),
    ) {
        let (themes, criteria, levels) = resolved_food();
        let mut answers = answers;
        for c in criteria.iter().filter(|c| c.red_line).take(1) {
            answers.insert(c.id.clone(), Answer::Given(Value::Bool(false)));
        }
        let s = score(&themes, &criteria, &levels, &answers, &evidence);
        prop_assert!(s.red_line_failed);
        prop_assert_eq!(s.level, NOT_CERTIFIED);
    }

    /// The approval rules, over any answers and any verdicts: an approval goes through only
    /// with no evidence request standing, every red line and legal duty decided by the
    /// reviewer and at full points, and a level; dropping any one verdict on a red line or
    /// legal duty, or turning any verdict into a request for evidence, refuses it.
    #[test]
    fn approval_needs_every_gate_decided_and_no_open_request(
        (answers, evidence) in answers_strategy(resolved_food().1),
        best_answer in proptest::collection::vec(proptest::bool::weighted(0.95), 80),
        decided in proptest::collection::vec(proptest::bool::weighted(0.97), 80),
        kinds in proptest::collection::vec(0..4u8, 80),
        share in 0.0..=1.0f64,
        pick in any::<proptest::sample::Index>(),
        mutate in 0..2u8,
    ) {
        let (themes, criteria, levels) = resolved_food();
        let (mut answers, mut evidence) = (answers, evidence);
        let mut verdicts = HashMap::new();
        for (i, c) in criteria.iter().enumerate() {
            if best_answer[i % 80] && c.kind.is_scored() {
                answers.insert(c.id.clone(), Answer::Given(best(c)));
                evidence.insert(c.id.clone());
            }
            // Mostly accepted; some adjusted, some asked for evidence, some undecided.
            let verdict = match (decided[i % 80], kinds[i % 80]) {
                (true, _) | (false, 0) => Some(Verdict::Accept),
                (false, 1) => Some(Verdict::Adjust(share)),
                (false, 2) => Some(Verdict::RequestEvidence),
                _ => None,
            };
            if let Some(v) = verdict {
                verdicts.insert(c.id.clone(), v);
            }
        }
        let outcome = approval(&themes, &criteria, &levels, &answers, &evidence, &verdicts);
        let gated: Vec<&Criterion> = criteria.iter().filter(|c| c.statutory || c.red_line).collect();
        if let Ok(score) = &outcome {
            prop_assert_ne!(&score.level, NOT_CERTIFIED);
            prop_assert!(!verdicts.values().any(|v| *v == Verdict::RequestEvidence));
            for c in &gated {
                prop_assert!(matches!(verdicts.get(&c.id), Some(Verdict::Accept | Verdict::Adjust(_))), "{} undecided", c.id);
                let e = score.explanation.iter().find(|e| e.id == c.id).expect("explained");
                if e.rule != Rule::NotApplicable {
                    prop_assert_eq!(e.fraction, 1.0, "{} short of full points", &c.id);
                }
            }
            // Take one decision back: refused.
            let c = gated[pick.index(gated.len())];
            let mut fewer = verdicts.clone();
            if mutate == 0 {
                fewer.remove(&c.id);
            } else {
                fewer.insert(c.id.clone(), Verdict::RequestEvidence);
            }
            let refused = approval(&themes, &criteria, &levels, &answers, &evidence, &fewer);
            let named = match &refused {
                Err(Refusal::VerdictsRequired(ids)) => ids.iter().any(|(id, _)| *id == c.id),
                Err(Refusal::EvidenceRequested(ids)) => ids.contains(&c.id),
                _ => false,
            };
            prop_assert!(named, "{} not named: {:?}", c.id, refused.err());
        }
    }

    /// Whatever the other answers and the reviewer's verdicts: a legal duty or red line short
    /// of full points, self-assessed (even if the reviewer then gives full points) or as
    /// reviewed, means no level; and a level is reached only with every duty met.
    #[test]
    fn a_breached_duty_or_failed_red_line_is_never_certified(
        (answers, evidence) in answers_strategy(resolved_food().1),
        pick in any::<proptest::sample::Index>(),
        share in 0.0..1.0f64,
        how in 0..3u8,
    ) {
        let (themes, criteria, levels) = resolved_food();
        let mut answers = answers;
        let mut verdicts = HashMap::new();
        let gated: Vec<&Criterion> = criteria.iter().filter(|c| c.statutory || c.red_line).collect();
        prop_assume!(!gated.is_empty());
        let c = gated[pick.index(gated.len())];
        answers.insert(c.id.clone(), Answer::Given(best(c)));
        match how {
            0 => { answers.insert(c.id.clone(), Answer::Given(Value::Bool(false))); }
            1 => { verdicts.insert(c.id.clone(), Verdict::Adjust(share)); }
            _ => { verdicts.insert(c.id.clone(), Verdict::RequestEvidence); }
        }
        if how == 0 && share > 0.5 {
            // The enterprise's own "no", raised to full points by the reviewer, still fails.
            verdicts.insert(c.id.clone(), Verdict::Adjust(1.0));
        }
        let s = score_reviewed(&themes, &criteria, &levels, &answers, &evidence, &verdicts);
        prop_assert_eq!(&s.level, NOT_CERTIFIED);
        prop_assert!(
            s.red_lines_failed.contains(&c.id) || s.statutory_breaches.contains(&c.id),
            "{} is not named as blocking", c.id
        );
        // The other way round: any level means no duty and no red line falls short.
        let s = score(&themes, &criteria, &levels, &answers, &evidence);
        if s.level != NOT_CERTIFIED {
            for e in &s.explanation {
                let gate = criteria.iter().any(|k| k.id == e.id && (k.statutory || k.red_line));
                if gate && e.rule != Rule::NotApplicable {
                    prop_assert_eq!(e.fraction, 1.0, "{} short of full points", &e.id);
                }
            }
        }
    }
}

/// The review's case: every other answer at its best with evidence, every legal duty
/// answered "no" — no level, each duty named.
#[test]
fn admitted_breaches_of_the_law_reach_no_level() {
    let d = doc();
    let mut answers = all_best(&d);
    let duties: Vec<String> = d
        .criteria
        .iter()
        .filter(|c| c.statutory)
        .map(|c| c.id.clone())
        .collect();
    assert!(duties.len() >= 19, "{duties:?}");
    // The review's case: 19 admitted breaches. (Admitting every one of the version's duties
    // would also sink the total below the lowest level.)
    let duties = &duties[..19];
    for id in duties {
        answers.insert(id.clone(), Answer::Given(Value::Bool(false)));
    }
    let s = score(
        &d.themes,
        &d.criteria,
        &d.levels,
        &answers,
        &evidence_for_all(&d),
    );
    assert!(s.total > 60.0, "the total alone would pass: {}", s.total);
    assert_eq!(s.level, NOT_CERTIFIED);
    assert_eq!(s.statutory_breaches, duties);
    // One duty alone is enough.
    let mut answers = all_best(&d);
    answers.insert(duties[0].clone(), Answer::Given(Value::Bool(false)));
    let s = score(
        &d.themes,
        &d.criteria,
        &d.levels,
        &answers,
        &evidence_for_all(&d),
    );
    assert_eq!(s.level, NOT_CERTIFIED);
    assert_eq!(s.statutory_breaches, [duties[0].clone()]);
}
