//! Moving a draft to a newer version of its schema: the chain of versions between them and the
//! plan for each answer (carried over, possibly renamed; to answer again because its rules
//! changed; dropped), computed from the versions' diffs.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use utoipa::ToSchema;

use super::schema::{Criterion, SchemaDoc};

/// What happens to each answer when a draft moves to a newer schema version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct UpgradePlan {
    pub from: String,
    pub to: String,
    /// Answers kept, under the criterion's id in the new version.
    pub carried_over: Vec<Carried>,
    /// Criteria whose answer rules changed: the old answer moved to the history.
    pub must_reanswer: Vec<String>,
    /// New criteria to answer.
    pub added: Vec<String>,
    /// Criteria the new version no longer has: their answers stay in the history.
    pub dropped: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Carried {
    pub from: String,
    pub to: String,
}

/// The chain of versions from `from` to `to` following predecessors, oldest first.
pub fn version_chain(docs: &[SchemaDoc], from: &str, to: &str) -> Option<Vec<SchemaDoc>> {
    let mut chain = Vec::new();
    let mut current = docs.iter().find(|d| d.version == to)?.clone();
    loop {
        let prev = current.predecessor.clone();
        let done = current.version == from;
        chain.push(current);
        if done {
            break;
        }
        current = docs
            .iter()
            .find(|d| Some(&d.version) == prev.as_ref())?
            .clone();
    }
    chain.reverse();
    Some(chain)
}

/// Plans an upgrade across a chain of versions for the criteria the old and new resolved
/// schemas contain.
pub fn plan_upgrade(
    chain: &[SchemaDoc],
    old: &[Criterion],
    new: &[Criterion],
    answered: &[String],
) -> UpgradePlan {
    // Follow each old id through every step: renamed, kept, or gone; and note rule changes.
    let mut mapping: HashMap<String, (Option<String>, bool)> = old
        .iter()
        .map(|c| (c.id.clone(), (Some(c.id.clone()), false)))
        .collect();
    for pair in chain.windows(2) {
        let d = super::schema::diff(&pair[0], &pair[1]);
        for (current, changed) in mapping.values_mut() {
            let Some(id) = current.clone() else { continue };
            if let Some(r) = d.renamed.iter().find(|r| r.from == id) {
                *current = Some(r.to.clone());
            } else if d.removed.contains(&id) {
                *current = None;
            }
            if let Some(now) = current
                && d.rules_changed.contains(now)
            {
                *changed = true;
            }
        }
    }
    let mut plan = UpgradePlan {
        from: chain.first().map(|d| d.version.clone()).unwrap_or_default(),
        to: chain.last().map(|d| d.version.clone()).unwrap_or_default(),
        ..UpgradePlan::default()
    };
    let mut reached = HashSet::new();
    for old_id in answered {
        match mapping.get(old_id) {
            Some((Some(new_id), changed)) if new.iter().any(|c| c.id == *new_id) => {
                reached.insert(new_id.clone());
                if *changed {
                    plan.must_reanswer.push(new_id.clone());
                } else {
                    plan.carried_over.push(Carried {
                        from: old_id.clone(),
                        to: new_id.clone(),
                    });
                }
            }
            _ => plan.dropped.push(old_id.clone()),
        }
    }
    for c in new {
        let mapped = mapping
            .values()
            .any(|(id, _)| id.as_deref() == Some(c.id.as_str()));
        if !mapped && !reached.contains(&c.id) {
            plan.added.push(c.id.clone());
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::IndustryCode;
    use crate::domain::schema::resolve;
    use proptest::prelude::*;

    fn shipped() -> Vec<SchemaDoc> {
        [
            include_str!("../../schemas/cca-good-enterprise/2007.json"),
            include_str!("../../schemas/cca-good-enterprise/2014.json"),
            include_str!("../../schemas/cca-good-enterprise/2024.json"),
        ]
        .iter()
        .map(|t| serde_json::from_str(t).expect("shipped schema"))
        .collect()
    }

    fn criteria(doc: &SchemaDoc) -> Vec<Criterion> {
        let industry = IndustryCode::parse("C1491").expect("code");
        resolve(doc, Some(&industry))
            .criteria
            .into_iter()
            .map(|c| c.criterion)
            .collect()
    }

    #[test]
    fn chains_follow_predecessors() {
        let docs = shipped();
        let versions = |c: Vec<SchemaDoc>| c.into_iter().map(|d| d.version).collect::<Vec<_>>();
        assert_eq!(
            version_chain(&docs, "2007", "2024").map(versions),
            Some(vec!["2007".into(), "2014".into(), "2024".into()])
        );
        assert_eq!(
            version_chain(&docs, "2024", "2024").map(versions),
            Some(vec!["2024".into()])
        );
        // Backwards there is no chain: 2024 is not a predecessor of 2007.
        assert_eq!(version_chain(&docs, "2024", "2007"), None);
        assert_eq!(version_chain(&docs, "2014", "1999"), None);
    }

    proptest! {
        /// Whatever was answered, each answer lands in exactly one place of the plan; what is
        /// carried or to be answered again exists in the new version, and nothing added was
        /// already answered.
        #[test]
        fn every_answer_has_one_fate(
            from in 0usize..2,
            picks in proptest::collection::vec(any::<bool>(), 80),
        ) {
            let docs = shipped();
            let chain = version_chain(&docs, &docs[from].version, "2024").expect("chain");
            let (old, new) = (criteria(&docs[from]), criteria(&docs[2]));
            let answered: Vec<String> = old
                .iter()
                .zip(picks.iter().cycle())
                .filter(|(_, pick)| **pick)
                .map(|(c, _)| c.id.clone())
                .collect();
            let plan = plan_upgrade(&chain, &old, &new, &answered);
            prop_assert_eq!(&plan.to, "2024");
            for id in &answered {
                let carried = plan.carried_over.iter().filter(|c| &c.from == id).count();
                prop_assert!(carried + usize::from(plan.dropped.contains(id)) <= 1, "{} twice", id);
            }
            prop_assert_eq!(
                plan.carried_over.len() + plan.must_reanswer.len() + plan.dropped.len(),
                answered.len()
            );
            let in_new = |id: &String| new.iter().any(|c| &c.id == id);
            prop_assert!(plan.carried_over.iter().all(|c| in_new(&c.to)));
            prop_assert!(plan.must_reanswer.iter().all(in_new));
            prop_assert!(plan.added.iter().all(in_new));
            prop_assert!(plan.dropped.iter().all(|id| answered.contains(id)));
            let reached: HashSet<&String> = plan
                .carried_over
                .iter()
                .map(|c| &c.to)
                .chain(&plan.must_reanswer)
                .collect();
            prop_assert!(plan.added.iter().all(|id| !reached.contains(id)));
        }
    }
}
