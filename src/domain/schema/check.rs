//! The semantic checks of a schema document that JSON Schema cannot express: unique ids, weights
//! that add up, bands, levels and law references that make sense, and a changelog that matches
//! the difference from the predecessor.

use super::*;

pub(super) fn check_criterion(
    c: &Criterion,
    path: &str,
    themes: &HashSet<&str>,
    effective: NaiveDate,
    issues: &mut Vec<Issue>,
) {
    let mut issue = |field: &str, message: String| {
        issues.push(Issue {
            path: format!("{path}{field}"),
            message,
        })
    };
    if !themes.contains(c.theme.as_str()) {
        issue("/theme", format!("unknown theme {:?}", c.theme));
    }
    if c.kind.is_scored() && !(c.weight > 0.0 && c.weight.is_finite()) {
        issue("/weight", "must be positive for a scored criterion".into());
    }
    if !c.kind.is_scored() && c.weight != 0.0 {
        issue(
            "/weight",
            "must be 0 for free text, which is not scored".into(),
        );
    }
    if c.red_line && c.kind != Kind::YesNo {
        issue("/red_line", "only yes/no criteria can be red lines".into());
    }
    if c.statutory && !c.kind.is_scored() {
        issue("/statutory", "free text cannot be a legal duty".into());
    }
    if c.statutory && c.law_refs.is_empty() {
        issue(
            "/statutory",
            "a legal duty must cite the law that imposes it (law_refs)".into(),
        );
    }
    if c.red_line && c.not_applicable_allowed {
        issue(
            "/not_applicable_allowed",
            "a red line cannot be not applicable".into(),
        );
    }
    let choice = matches!(c.kind, Kind::SingleChoice | Kind::MultipleChoice);
    if choice {
        let mut seen = HashSet::new();
        for (i, o) in c.options.iter().enumerate() {
            if !seen.insert(o.id.as_str()) {
                issue(
                    &format!("/options/{i}/id"),
                    format!("duplicate option id {:?}", o.id),
                );
            }
        }
        let best = c.options.iter().map(|o| o.points).fold(0.0, f64::max);
        let sum: f64 = c.options.iter().map(|o| o.points).sum();
        if c.kind == Kind::SingleChoice && (best - 1.0).abs() > 1e-9 {
            issue(
                "/options",
                "the best option must earn 1 (the full weight)".into(),
            );
        }
        if c.kind == Kind::MultipleChoice && sum < 1.0 - 1e-9 {
            issue(
                "/options",
                "all options together must earn at least 1".into(),
            );
        }
        if c.options.len() < 2 {
            issue("/options", "a choice needs at least two options".into());
        }
    } else if !c.options.is_empty() {
        issue("/options", "only choice criteria have options".into());
    }
    match (&c.measure, c.kind) {
        (Some(m), Kind::Measured) => {
            for (i, pair) in m.bands.windows(2).enumerate() {
                let ordered = match m.better {
                    Better::Higher => pair[0].threshold > pair[1].threshold,
                    Better::Lower => pair[0].threshold < pair[1].threshold,
                };
                if !ordered {
                    issue(
                        &format!("/measure/bands/{}/threshold", i + 1),
                        "thresholds must run from the best band to the worst".into(),
                    );
                }
                if pair[0].points <= pair[1].points {
                    issue(
                        &format!("/measure/bands/{}/points", i + 1),
                        "points must fall from the best band to the worst".into(),
                    );
                }
            }
            if m.bands
                .first()
                .is_some_and(|b| (b.points - 1.0).abs() > 1e-9)
            {
                issue(
                    "/measure/bands/0/points",
                    "the best band must earn 1".into(),
                );
            }
        }
        (None, Kind::Measured) => issue("/measure", "a measured criterion needs bands".into()),
        (Some(_), _) => issue("/measure", "only measured criteria have bands".into()),
        (None, _) => {}
    }
    for (i, r) in c.law_refs.iter().enumerate() {
        let at = format!("/law_refs/{i}");
        let Some(law) = laws::find(&r.law) else {
            issue(
                &format!("{at}/law"),
                format!("{:?} is not in the law catalogue", r.law),
            );
            continue;
        };
        if let Some(why) = law.not_in_force(effective) {
            issue(&format!("{at}/law"), why);
        }
        if r.in_force_from.is_some_and(|d| d != law.in_force) {
            issue(
                &format!("{at}/in_force_from"),
                format!("{} is in force from {}", r.law, law.in_force),
            );
        }
        let (first, last) = law.articles;
        if !(first..=last).contains(&r.article) {
            issue(
                &format!("{at}/article"),
                format!(
                    "{} has articles {first}–{last}, not {}",
                    law.cite_zh(None, None),
                    r.article
                ),
            );
        }
        if r.paragraph == Some(0) {
            issue(&format!("{at}/paragraph"), "paragraphs count from 1".into());
        }
    }
}

/// The semantic checks of one document; `predecessor` is the version it declares it replaces,
/// when available, so the changelog can be compared with the actual difference.
pub fn check(doc: &SchemaDoc, predecessor: Option<&SchemaDoc>) -> Vec<Issue> {
    let mut issues = Vec::new();
    let mut push = |path: String, message: String| issues.push(Issue { path, message });

    let mut theme_ids = HashSet::new();
    for (i, t) in doc.themes.iter().enumerate() {
        if !theme_ids.insert(t.id.as_str()) {
            push(
                format!("/themes/{i}/id"),
                format!("duplicate theme id {:?}", t.id),
            );
        }
    }
    let mut level_ids = HashSet::new();
    for (i, l) in doc.levels.iter().enumerate() {
        if !level_ids.insert(l.id.as_str()) {
            push(
                format!("/levels/{i}/id"),
                format!("duplicate level id {:?}", l.id),
            );
        }
        if i > 0 && doc.levels[i - 1].min_score <= l.min_score {
            push(
                format!("/levels/{i}/min_score"),
                "levels must be ordered from the highest threshold to the lowest".into(),
            );
        }
    }
    for (i, l) in doc.four_eyes_levels.iter().enumerate() {
        if !level_ids.contains(l.as_str()) {
            push(
                format!("/four_eyes_levels/{i}"),
                format!("unknown level {l:?}"),
            );
        }
    }
    if let Some(sv) = &doc.surveillance {
        for (i, c) in sv.red_line_categories.iter().enumerate() {
            if crate::domain::complaint::Category::parse(c).is_none() {
                push(
                    format!("/surveillance/red_line_categories/{i}"),
                    format!("unknown complaint category {c:?}"),
                );
            }
        }
    }

    let mut all_ids: HashMap<&str, String> = HashMap::new();
    let mut criterion_issues = Vec::new();
    for (i, c) in doc.criteria.iter().enumerate() {
        let path = format!("/criteria/{i}");
        if let Some(first) = all_ids.insert(c.id.as_str(), path.clone()) {
            criterion_issues.push(Issue {
                path: format!("{path}/id"),
                message: format!("duplicate criterion id {:?} (first at {first})", c.id),
            });
        }
        check_criterion(
            c,
            &path,
            &theme_ids,
            doc.effective_date,
            &mut criterion_issues,
        );
    }
    for t in &doc.themes {
        if !doc
            .criteria
            .iter()
            .any(|c| c.theme == t.id && c.kind.is_scored())
        {
            criterion_issues.push(Issue {
                path: format!(
                    "/themes/{}",
                    doc.themes.iter().position(|x| x.id == t.id).unwrap_or(0)
                ),
                message: format!("theme {:?} has no scored criterion", t.id),
            });
        }
    }

    let base: HashSet<&str> = doc.criteria.iter().map(|c| c.id.as_str()).collect();
    let mut profile_ids = HashSet::new();
    let mut industry_owner: HashMap<&str, &str> = HashMap::new();
    for (p_i, p) in doc.profiles.iter().enumerate() {
        let at = format!("/profiles/{p_i}");
        if !profile_ids.insert(p.id.as_str()) {
            criterion_issues.push(Issue {
                path: format!("{at}/id"),
                message: format!("duplicate profile id {:?}", p.id),
            });
        }
        for (i, code) in p.industries.iter().enumerate() {
            if let Err(e) = IndustryCode::parse(code) {
                criterion_issues.push(Issue {
                    path: format!("{at}/industries/{i}"),
                    message: format!("{code}: {e}"),
                });
            }
            if let Some(other) = industry_owner.insert(code.as_str(), p.id.as_str()) {
                criterion_issues.push(Issue {
                    path: format!("{at}/industries/{i}"),
                    message: format!("{code} is already covered by profile {other:?}"),
                });
            }
        }
        for (i, c) in p.criteria.iter().enumerate() {
            let path = format!("{at}/criteria/{i}");
            if let Some(first) = all_ids.insert(c.id.as_str(), path.clone()) {
                criterion_issues.push(Issue {
                    path: format!("{path}/id"),
                    message: format!("duplicate criterion id {:?} (first at {first})", c.id),
                });
            }
            check_criterion(
                c,
                &path,
                &theme_ids,
                doc.effective_date,
                &mut criterion_issues,
            );
        }
        for (id, w) in &p.weights {
            if !base.contains(id.as_str()) {
                criterion_issues.push(Issue {
                    path: format!("{at}/weights/{id}"),
                    message: "not a criterion of this version".into(),
                });
            } else if *w <= 0.0 || w.is_nan() {
                criterion_issues.push(Issue {
                    path: format!("{at}/weights/{id}"),
                    message: "must be positive".into(),
                });
            }
        }
        for (id, w) in &p.theme_weights {
            if !theme_ids.contains(id.as_str()) {
                criterion_issues.push(Issue {
                    path: format!("{at}/theme_weights/{id}"),
                    message: "not a theme of this version".into(),
                });
            } else if !(w.is_finite() && *w > 0.0) {
                criterion_issues.push(Issue {
                    path: format!("{at}/theme_weights/{id}"),
                    message: "must be positive and finite".into(),
                });
            }
        }
        for (i, id) in p.not_applicable.iter().enumerate() {
            if !base.contains(id.as_str()) {
                criterion_issues.push(Issue {
                    path: format!("{at}/not_applicable/{i}"),
                    message: format!("{id:?} is not a criterion of this version"),
                });
            } else if doc.criterion(id).is_some_and(|c| c.red_line) {
                criterion_issues.push(Issue {
                    path: format!("{at}/not_applicable/{i}"),
                    message: format!("{id:?} is a red line and always applies"),
                });
            }
        }
    }
    issues.extend(criterion_issues);
    issues.extend(check_changelog(doc, predecessor));
    issues
}

fn check_changelog(doc: &SchemaDoc, predecessor: Option<&SchemaDoc>) -> Vec<Issue> {
    let mut issues = Vec::new();
    let log = &doc.changelog;
    let Some(prev) = predecessor else {
        if doc.predecessor.is_none()
            && (!log.added.is_empty()
                || !log.removed.is_empty()
                || !log.renamed.is_empty()
                || !log.reweighted.is_empty())
        {
            issues.push(Issue {
                path: "/changelog".into(),
                message: "a first version has nothing to change from: name its predecessor".into(),
            });
        }
        return issues;
    };
    if doc.predecessor.as_deref() != Some(prev.version.as_str()) || doc.id != prev.id {
        issues.push(Issue {
            path: "/predecessor".into(),
            message: format!("expected {} {}", prev.id, prev.version),
        });
        return issues;
    }
    for (i, r) in log.renamed.iter().enumerate() {
        if prev.criterion(&r.from).is_none() {
            issues.push(Issue {
                path: format!("/changelog/renamed/{i}/from"),
                message: format!("{:?} is not a criterion of {}", r.from, prev.version),
            });
        }
        if doc.criterion(&r.to).is_none() {
            issues.push(Issue {
                path: format!("/changelog/renamed/{i}/to"),
                message: format!("{:?} is not a criterion of this version", r.to),
            });
        }
    }
    let actual = diff(prev, doc);
    let compare = |field: &str, declared: BTreeSet<String>, actual: BTreeSet<String>| {
        let missing: Vec<_> = actual.difference(&declared).cloned().collect();
        let extra: Vec<_> = declared.difference(&actual).cloned().collect();
        let mut out = Vec::new();
        if !missing.is_empty() {
            out.push(Issue {
                path: format!("/changelog/{field}"),
                message: format!("does not list {}", missing.join(", ")),
            });
        }
        if !extra.is_empty() {
            out.push(Issue {
                path: format!("/changelog/{field}"),
                message: format!(
                    "lists {} but the versions do not differ so",
                    extra.join(", ")
                ),
            });
        }
        out
    };
    issues.extend(compare(
        "added",
        log.added.iter().cloned().collect(),
        actual.added.iter().cloned().collect(),
    ));
    issues.extend(compare(
        "removed",
        log.removed.iter().cloned().collect(),
        actual.removed.iter().cloned().collect(),
    ));
    issues.extend(compare(
        "reweighted",
        log.reweighted
            .iter()
            .map(|r| format!("{} {}→{}", r.id, r.from, r.to))
            .collect(),
        actual
            .reweighted
            .iter()
            .map(|r| format!("{} {}→{}", r.id, r.from, r.to))
            .collect(),
    ));
    issues
}
