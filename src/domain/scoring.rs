//! The scoring engine (DOMAIN.md §6): criterion kinds, criterion and theme weights, N/A
//! redistribution within a theme, evidence-required criteria, red lines and levels. Pure
//! functions: the same answers always give the same score and the same explanation.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::schema::{Better, Criterion, Kind, Level, Theme};

/// An answer's value, already checked against its criterion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Number(f64),
    Text(String),
    Choices(Vec<String>),
}

/// One answer as the engine sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Given(Value),
    NotApplicable,
}

/// Why a criterion got the points it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    Yes,
    No,
    MaturityLevel,
    Option,
    Options,
    Band,
    BelowAllBands,
    Unanswered,
    NotApplicable,
    EvidenceMissing,
    NotScored,
    ReviewerAdjusted,
    EvidenceRequested,
}

/// A reviewer's verdict on a criterion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// The answer stands as scored.
    Accept,
    /// The reviewer's own share of the weight, 0–1.
    Adjust(f64),
    /// The evidence does not support the answer yet: no points until it does.
    RequestEvidence,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CriterionScore {
    pub id: String,
    pub theme: String,
    pub rule: Rule,
    /// What the rule looked at, e.g. `level 3 of 4` or `96 ≥ 95`.
    #[schema(value_type = String)]
    pub detail: Cow<'static, str>,
    /// Share of the criterion's weight earned, 0–1.
    pub fraction: f64,
    /// The criterion's weight in the schema (after the industry profile).
    pub weight: f64,
    /// Its weight after N/A criteria of the theme spread theirs over it.
    pub effective_weight: f64,
    /// Contribution to the total, in points of 100.
    pub points: f64,
    /// What the criterion would contribute with full marks.
    pub max_points: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ThemeScore {
    pub id: String,
    /// The theme's weight in the schema.
    pub weight: f64,
    /// 0–100 within the theme.
    pub score: f64,
    /// Contribution to the total, in points of 100.
    pub points: f64,
    /// False when every scored criterion of the theme is not applicable.
    pub applicable: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Score {
    /// 0–100, rounded to two decimals.
    pub total: f64,
    /// The level id reached, or `not_certified`.
    pub level: String,
    pub red_line_failed: bool,
    /// Red lines short of full points: answered "no" (whatever the reviewer then decides),
    /// adjusted by the reviewer, or without the evidence they require.
    pub red_lines_failed: Vec<String>,
    /// Legal duties (`statutory` criteria) short of full points, as the enterprise answered
    /// them or as reviewed: each one means no level. Their explanation says why.
    pub statutory_breaches: Vec<String>,
    pub themes: Vec<ThemeScore>,
    pub explanation: Vec<CriterionScore>,
}

pub const NOT_CERTIFIED: &str = "not_certified";

const MATURITY: [&str; 5] = [
    "level 0 of 4",
    "level 1 of 4",
    "level 2 of 4",
    "level 3 of 4",
    "level 4 of 4",
];

/// The fraction of the weight a given answer earns, and the rule that decided it.
fn fraction(c: &Criterion, value: &Value) -> (f64, Rule, Cow<'static, str>) {
    match (c.kind, value) {
        (Kind::YesNo, Value::Bool(true)) => (1.0, Rule::Yes, Cow::Borrowed("yes")),
        (Kind::YesNo, Value::Bool(false)) => (0.0, Rule::No, Cow::Borrowed("no")),
        (Kind::Maturity, Value::Number(n)) => {
            let level = n.clamp(0.0, 4.0);
            let detail = if level.fract() == 0.0 {
                Cow::Borrowed(MATURITY[level as usize])
            } else {
                Cow::Owned(format!("level {level} of 4"))
            };
            (level / 4.0, Rule::MaturityLevel, detail)
        }
        (Kind::SingleChoice, Value::Text(id)) => {
            let points = c
                .options
                .iter()
                .find(|o| o.id == *id)
                .map_or(0.0, |o| o.points);
            (
                points.clamp(0.0, 1.0),
                Rule::Option,
                Cow::Owned(["option ", id].concat()),
            )
        }
        (Kind::MultipleChoice, Value::Choices(ids)) => {
            // Options in schema order, each counted once.
            let mut detail = String::from("options");
            let mut sum = 0.0;
            for o in c.options.iter().filter(|o| ids.contains(&o.id)) {
                sum += o.points;
                detail.push(' ');
                detail.push_str(&o.id);
            }
            (sum.clamp(0.0, 1.0), Rule::Options, Cow::Owned(detail))
        }
        (Kind::Measured, Value::Number(x)) => {
            let Some(m) = &c.measure else {
                return (0.0, Rule::BelowAllBands, Cow::Borrowed("no bands"));
            };
            let reached = m.bands.iter().find(|b| match m.better {
                Better::Higher => *x >= b.threshold,
                Better::Lower => *x <= b.threshold,
            });
            match reached {
                Some(b) => {
                    let op = if m.better == Better::Higher {
                        '≥'
                    } else {
                        '≤'
                    };
                    (
                        b.points.clamp(0.0, 1.0),
                        Rule::Band,
                        Cow::Owned(format!("{x} {op} {} {}", b.threshold, m.unit)),
                    )
                }
                None => (
                    0.0,
                    Rule::BelowAllBands,
                    Cow::Owned(format!("{x} {}", m.unit)),
                ),
            }
        }
        _ => (
            0.0,
            Rule::Unanswered,
            Cow::Borrowed("answer does not fit the criterion"),
        ),
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Per-theme sums gathered in one pass over the criteria.
#[derive(Default, Clone, Copy)]
struct Sums {
    /// Weight of the theme's scored criteria in the schema.
    total: f64,
    /// Weight of those that apply.
    applicable: f64,
    /// Weight × fraction of those that apply.
    earned: f64,
}

/// Scores `answers` against `criteria` (already resolved for the enterprise's industry).
/// `with_evidence` holds the criteria that have evidence attached.
pub fn score(
    themes: &[Theme],
    criteria: &[Criterion],
    levels: &[Level],
    answers: &HashMap<String, Answer>,
    with_evidence: &HashSet<String>,
) -> Score {
    score_reviewed(
        themes,
        criteria,
        levels,
        answers,
        with_evidence,
        &HashMap::new(),
    )
}

/// Like [`score`], with a reviewer's verdicts replacing the points of the criteria they cover.
/// Why a reviewer may not approve yet.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// Evidence was asked for on these criteria and the reviewer has not decided them since.
    EvidenceRequested(Vec<String>),
    /// The reviewed score reaches no level: these red lines and legal duties fall short (both
    /// empty when the total alone is too low).
    NotCertifiable {
        score: Box<Score>,
        red_lines: Vec<String>,
        duties: Vec<String>,
    },
    /// These red lines (`true`) and legal duties (`false`) have no verdict of the reviewer's.
    VerdictsRequired(Vec<(String, bool)>),
}

/// Red-line and legal-duty criteria without the reviewer's decision (accept or adjust), with
/// whether each is a red line.
pub fn verdicts_required(
    criteria: &[Criterion],
    verdicts: &HashMap<String, Verdict>,
) -> Vec<(String, bool)> {
    criteria
        .iter()
        .filter(|c| c.red_line || c.statutory)
        .filter(|c| matches!(verdicts.get(&c.id), None | Some(Verdict::RequestEvidence)))
        .map(|c| (c.id.clone(), c.red_line))
        .collect()
}

/// The approval rules: no evidence request stands, the reviewed score reaches a level (so no
/// red line or legal duty falls short, as self-assessed or as reviewed), and the reviewer has
/// decided every red line and legal duty. The reviewed score when all hold.
pub fn approval(
    themes: &[Theme],
    criteria: &[Criterion],
    levels: &[Level],
    answers: &HashMap<String, Answer>,
    with_evidence: &HashSet<String>,
    verdicts: &HashMap<String, Verdict>,
) -> Result<Score, Refusal> {
    let requested: Vec<String> = criteria
        .iter()
        .filter(|c| verdicts.get(&c.id) == Some(&Verdict::RequestEvidence))
        .map(|c| c.id.clone())
        .collect();
    if !requested.is_empty() {
        return Err(Refusal::EvidenceRequested(requested));
    }
    let score = score_reviewed(themes, criteria, levels, answers, with_evidence, verdicts);
    // A submitted self-assessment answers everything that applies; should a red line or legal
    // duty be unanswered all the same, it is not met.
    let unanswered = |red: bool| {
        criteria
            .iter()
            .filter(move |c| {
                if red {
                    c.red_line
                } else {
                    c.statutory && !c.red_line
                }
            })
            .filter(|c| c.kind.is_scored() && !answers.contains_key(&c.id))
            .map(|c| c.id.clone())
    };
    let red_lines: Vec<String> = score
        .red_lines_failed
        .iter()
        .cloned()
        .chain(unanswered(true))
        .collect();
    let duties: Vec<String> = score
        .statutory_breaches
        .iter()
        .cloned()
        .chain(unanswered(false))
        .collect();
    if score.level == NOT_CERTIFIED || !red_lines.is_empty() || !duties.is_empty() {
        return Err(Refusal::NotCertifiable {
            red_lines,
            duties,
            score: Box::new(score),
        });
    }
    let required = verdicts_required(criteria, verdicts);
    if !required.is_empty() {
        return Err(Refusal::VerdictsRequired(required));
    }
    Ok(score)
}

pub fn score_reviewed(
    themes: &[Theme],
    criteria: &[Criterion],
    levels: &[Level],
    answers: &HashMap<String, Answer>,
    with_evidence: &HashSet<String>,
    verdicts: &HashMap<String, Verdict>,
) -> Score {
    struct Item<'a> {
        c: &'a Criterion,
        theme: Option<usize>,
        fraction: f64,
        rule: Rule,
        detail: Cow<'static, str>,
        applicable: bool,
    }
    let mut red_lines_failed = Vec::new();
    let mut statutory_breaches = Vec::new();
    let mut sums = vec![Sums::default(); themes.len()];
    let mut items = Vec::with_capacity(criteria.len());
    for c in criteria {
        let (fraction, rule, detail, applicable) = if !c.kind.is_scored() {
            (
                0.0,
                Rule::NotScored,
                Cow::Borrowed("free text is not scored"),
                false,
            )
        } else {
            match answers.get(&c.id) {
                None => (0.0, Rule::Unanswered, Cow::Borrowed("not answered"), true),
                Some(Answer::NotApplicable) => (
                    0.0,
                    Rule::NotApplicable,
                    Cow::Borrowed("not applicable"),
                    false,
                ),
                Some(Answer::Given(v)) => {
                    let (f, rule, detail) = fraction(c, v);
                    match verdicts.get(&c.id) {
                        Some(Verdict::Adjust(x)) => {
                            let x = x.clamp(0.0, 1.0);
                            let detail =
                                Cow::Owned(format!("{detail}; the reviewer set {x} of the weight"));
                            (x, Rule::ReviewerAdjusted, detail, true)
                        }
                        Some(Verdict::RequestEvidence) => {
                            let detail =
                                Cow::Owned(format!("{detail}; the reviewer asked for evidence"));
                            (0.0, Rule::EvidenceRequested, detail, true)
                        }
                        _ if f > 0.0 && c.evidence_required() && !with_evidence.contains(&c.id) => {
                            let detail =
                                Cow::Owned([&*detail, ", but no evidence attached"].concat());
                            (0.0, Rule::EvidenceMissing, detail, true)
                        }
                        _ => (f, rule, detail, true),
                    }
                }
            }
        };
        // A red line or a legal duty short of full points, however (a "no", a reviewer's
        // adjustment, evidence missing or asked for), blocks every level; so does the
        // enterprise's own admission, which no reviewer's adjustment takes back.
        let answered = c.kind.is_scored() && applicable && rule != Rule::Unanswered;
        let admitted = (c.red_line || c.statutory)
            && matches!(answers.get(&c.id), Some(Answer::Given(v)) if self::fraction(c, v).0 < 1.0);
        if answered && (fraction < 1.0 || admitted) {
            if c.red_line {
                red_lines_failed.push(c.id.clone());
            } else if c.statutory {
                statutory_breaches.push(c.id.clone());
            }
        }
        let theme = themes.iter().position(|t| t.id == c.theme);
        if let (Some(t), true) = (theme, c.kind.is_scored()) {
            sums[t].total += c.weight;
            if applicable {
                sums[t].applicable += c.weight;
                sums[t].earned += c.weight * fraction;
            }
        }
        items.push(Item {
            c,
            theme,
            fraction,
            rule,
            detail,
            applicable,
        });
    }

    // Themes whose criteria are all not applicable drop out; the others share the total.
    let weight_sum: f64 = themes
        .iter()
        .zip(&sums)
        .filter(|(_, s)| s.applicable > 0.0)
        .map(|(t, _)| t.weight)
        .sum();
    let mut total = 0.0;
    let theme_scores: Vec<ThemeScore> = themes
        .iter()
        .zip(&sums)
        .map(|(t, s)| {
            let applicable = s.applicable > 0.0;
            let frac = if applicable {
                s.earned / s.applicable
            } else {
                0.0
            };
            let points = if applicable && weight_sum > 0.0 {
                t.weight / weight_sum * frac * 100.0
            } else {
                0.0
            };
            total += points;
            ThemeScore {
                id: t.id.clone(),
                weight: t.weight,
                score: round2(frac * 100.0),
                points: round2(points),
                applicable,
            }
        })
        .collect();
    let total = round2(total.clamp(0.0, 100.0));

    let explanation = items
        .into_iter()
        .map(|it| {
            let (effective_weight, max_points) = match it.theme {
                Some(t) if it.applicable && sums[t].applicable > 0.0 => {
                    // N/A criteria spread their weight over the applicable ones of the theme.
                    let effective = it.c.weight * sums[t].total / sums[t].applicable;
                    let share = if weight_sum > 0.0 {
                        themes[t].weight / weight_sum
                    } else {
                        0.0
                    };
                    (effective, it.c.weight / sums[t].applicable * share * 100.0)
                }
                _ => (0.0, 0.0),
            };
            let points = max_points * it.fraction;
            CriterionScore {
                id: it.c.id.clone(),
                theme: it.c.theme.clone(),
                rule: it.rule,
                detail: it.detail,
                fraction: it.fraction,
                weight: it.c.weight,
                effective_weight,
                points: round2(points),
                max_points: round2(max_points),
            }
        })
        .collect();

    let red_line_failed = !red_lines_failed.is_empty();
    let level = if red_line_failed || !statutory_breaches.is_empty() {
        NOT_CERTIFIED.to_owned()
    } else {
        levels
            .iter()
            .find(|l| total >= l.min_score)
            .map_or_else(|| NOT_CERTIFIED.to_owned(), |l| l.id.clone())
    };
    Score {
        total,
        level,
        red_line_failed,
        red_lines_failed,
        statutory_breaches,
        themes: theme_scores,
        explanation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::schema::{SchemaDoc, resolve};
    use proptest::prelude::*;

    fn doc() -> SchemaDoc {
        serde_json::from_str(include_str!("../../schemas/cca-good-enterprise/2024.json"))
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
            Kind::MultipleChoice => {
                Value::Choices(c.options.iter().map(|o| o.id.clone()).collect())
            }
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
}
