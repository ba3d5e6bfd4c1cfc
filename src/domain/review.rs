//! The association's review: what a reviewer decides on each criterion and on the whole
//! submission, and the four-eyes rule for the levels a schema version reserves to two reviewers.
//! Stored as TEXT; `as_str` and `parse` are the only mapping.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::scoring::Verdict;
use super::submission::{Move, SubmissionStatus};

/// A review round's outcome (`reviews.decision`); an open round has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    Approved,
    Returned,
    Rejected,
}

impl ReviewDecision {
    pub const ALL: [Self; 3] = [Self::Approved, Self::Returned, Self::Rejected];

    pub fn as_str(self) -> &'static str {
        self.status().as_str()
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// The move that records this decision on the submission.
    pub fn to_move(self) -> Move {
        match self {
            Self::Approved => Move::Approve,
            Self::Returned => Move::Return,
            Self::Rejected => Move::Reject,
        }
    }

    /// The submission's status after the decision.
    pub fn status(self) -> SubmissionStatus {
        match self {
            Self::Approved => SubmissionStatus::Approved,
            Self::Returned => SubmissionStatus::Returned,
            Self::Rejected => SubmissionStatus::Rejected,
        }
    }
}

/// The stored TEXT, read at the database boundary: an unknown value is a database error.
impl TryFrom<String> for ReviewDecision {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| format!("unknown ReviewDecision {s:?}"))
    }
}

/// The kind of a reviewer's verdict on one criterion (`verdicts.verdict`); an adjustment's
/// share is stored beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VerdictKind {
    Accept,
    Adjust,
    RequestEvidence,
}

impl VerdictKind {
    pub const ALL: [Self; 3] = [Self::Accept, Self::Adjust, Self::RequestEvidence];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Adjust => "adjust",
            Self::RequestEvidence => "request_evidence",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The scoring engine's verdict, with the adjustment's share (none counts as 0).
    pub fn verdict(self, share: Option<f64>) -> Verdict {
        match self {
            Self::Accept => Verdict::Accept,
            Self::Adjust => Verdict::Adjust(share.unwrap_or(0.0)),
            Self::RequestEvidence => Verdict::RequestEvidence,
        }
    }
}

/// The stored TEXT, read at the database boundary: an unknown value is a database error.
impl TryFrom<String> for VerdictKind {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| format!("unknown VerdictKind {s:?}"))
    }
}

/// What an approval by the caller amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalStep {
    /// The first of two approvals: recorded, the submission stays under review.
    First,
    /// The approval that decides: the certificate is issued.
    Final,
}

/// Why an approval is refused by the four-eyes rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FourEyesRefusal {
    /// Only the reviewer who claimed the submission approves first.
    NotClaimant,
    /// The first approver cannot also give the second approval.
    SecondApproverRequired,
}

/// The four-eyes rule. `two_needed`: the level reached is one the schema version reserves to
/// two reviewers. The claimant approves first; with two needed, the approval that decides comes
/// from another reviewer, never from the first approver.
pub fn approval_step(
    two_needed: bool,
    claimant: i64,
    first_approver: Option<i64>,
    caller: i64,
) -> Result<ApprovalStep, FourEyesRefusal> {
    match (two_needed, first_approver) {
        (false, _) if caller != claimant => Err(FourEyesRefusal::NotClaimant),
        (false, _) => Ok(ApprovalStep::Final),
        (true, None) if caller != claimant => Err(FourEyesRefusal::NotClaimant),
        (true, None) => Ok(ApprovalStep::First),
        (true, Some(first)) if first == caller => Err(FourEyesRefusal::SecondApproverRequired),
        (true, Some(_)) => Ok(ApprovalStep::Final),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_round_trip() {
        for d in ReviewDecision::ALL {
            assert_eq!(ReviewDecision::parse(d.as_str()), Some(d));
            assert_eq!(d.status().after(d.to_move()), None);
            assert_eq!(
                SubmissionStatus::UnderReview.after(d.to_move()),
                Some(d.status())
            );
        }
        for k in VerdictKind::ALL {
            assert_eq!(VerdictKind::parse(k.as_str()), Some(k));
            assert_eq!(
                serde_json::to_value(k).unwrap(),
                serde_json::json!(k.as_str())
            );
        }
    }

    #[test]
    fn the_four_eyes_matrix() {
        use ApprovalStep::*;
        use FourEyesRefusal::*;
        let (claimant, other) = (1, 2);
        assert_eq!(approval_step(false, claimant, None, claimant), Ok(Final));
        assert_eq!(
            approval_step(false, claimant, None, other),
            Err(NotClaimant)
        );
        assert_eq!(approval_step(true, claimant, None, claimant), Ok(First));
        assert_eq!(approval_step(true, claimant, None, other), Err(NotClaimant));
        assert_eq!(
            approval_step(true, claimant, Some(claimant), claimant),
            Err(SecondApproverRequired)
        );
        assert_eq!(
            approval_step(true, claimant, Some(claimant), other),
            Ok(Final)
        );
    }

    proptest! {
        /// Whoever approves in whatever order, a level that needs two reviewers is decided only
        /// after two different people approved, the claimant first; one that does not is
        /// decided by the claimant alone.
        #[test]
        fn a_decision_needs_the_claimant_and_for_four_eyes_a_second_person(
            two_needed in any::<bool>(),
            callers in proptest::collection::vec(1i64..4, 1..8),
        ) {
            let claimant = 1;
            let mut first = None;
            for caller in callers {
                match approval_step(two_needed, claimant, first, caller) {
                    Ok(ApprovalStep::First) => {
                        prop_assert!(two_needed && caller == claimant && first.is_none());
                        first = Some(caller);
                    }
                    Ok(ApprovalStep::Final) => {
                        if two_needed {
                            prop_assert_eq!(first, Some(claimant));
                            prop_assert_ne!(caller, claimant);
                        } else {
                            prop_assert_eq!(caller, claimant);
                        }
                        break;
                    }
                    Err(_) => {}
                }
            }
        }
    }
}
