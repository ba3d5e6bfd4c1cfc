//! The scoring engine: criterion kinds, criterion and theme weights, N/A
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
mod tests;
