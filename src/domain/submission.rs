//! A self-assessment's life cycle: its statuses and the one table of moves between them.
//! Stored as TEXT; [`SubmissionStatus::as_str`] and [`SubmissionStatus::parse`] are the only
//! mapping.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubmissionStatus {
    /// Being answered by the enterprise.
    Draft,
    /// Waiting in the review queue.
    Submitted,
    /// Claimed by a reviewer.
    UnderReview,
    /// Approved; a certificate was issued.
    Approved,
    /// Sent back to the enterprise to change and resubmit.
    Returned,
    /// Refused certification.
    Rejected,
    /// Taken back by the enterprise.
    Withdrawn,
}

/// What moves a submission from one status to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// The enterprise's administrator submits it for review.
    Submit,
    /// The enterprise's administrator takes it back.
    Withdraw,
    /// A reviewer claims it.
    Claim,
    /// The reviewer returns it to the enterprise.
    Return,
    /// The reviewer refuses certification.
    Reject,
    /// The reviewer (or the second reviewer) approves it.
    Approve,
}

use Move::*;
use SubmissionStatus::*;

/// Every allowed move: from, by, to. Nothing else changes a submission's status.
const MOVES: &[(SubmissionStatus, Move, SubmissionStatus)] = &[
    (Draft, Submit, Submitted),
    (Returned, Submit, Submitted),
    (Submitted, Withdraw, Withdrawn),
    (Returned, Withdraw, Withdrawn),
    (Submitted, Claim, UnderReview),
    (UnderReview, Return, Returned),
    (UnderReview, Reject, Rejected),
    (UnderReview, Approve, Approved),
];

impl SubmissionStatus {
    pub const ALL: [Self; 7] = [
        Draft,
        Submitted,
        UnderReview,
        Approved,
        Returned,
        Rejected,
        Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Draft => "draft",
            Submitted => "submitted",
            UnderReview => "under_review",
            Approved => "approved",
            Returned => "returned",
            Rejected => "rejected",
            Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The status `m` leads to from this one, if it is allowed here.
    pub fn after(self, m: Move) -> Option<Self> {
        MOVES
            .iter()
            .find(|(from, by, _)| *from == self && *by == m)
            .map(|(_, _, to)| *to)
    }

    /// The statuses `m` may start from.
    pub fn before(m: Move) -> impl Iterator<Item = Self> {
        MOVES
            .iter()
            .filter(move |(_, by, _)| *by == m)
            .map(|(from, _, _)| *from)
    }

    /// Whether the enterprise may change answers and evidence.
    pub fn editable(self) -> bool {
        matches!(self, Draft | Returned)
    }

    /// Whether its view shows the latest review round's verdicts and evidence requests: while
    /// the round is open, and after it returned the submission.
    pub fn shows_round(self) -> bool {
        matches!(self, UnderReview | Returned)
    }

    /// Whether the submission has been submitted at least once and not taken back: the
    /// statuses the statistics count.
    pub fn counted(self) -> bool {
        matches!(
            self,
            Submitted | UnderReview | Approved | Returned | Rejected
        )
    }

    /// Whether the submission is in the association's hands.
    pub fn in_review(self) -> bool {
        matches!(self, Submitted | UnderReview)
    }
}

impl std::fmt::Display for SubmissionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The stored TEXT, read at the database boundary: an unknown value is a database error.
impl TryFrom<String> for SubmissionStatus {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| format!("unknown SubmissionStatus {s:?}"))
    }
}

impl Move {
    /// The verb in messages: "a draft submission cannot be withdrawn".
    pub fn past(self) -> &'static str {
        match self {
            Submit => "submitted",
            Withdraw => "withdrawn",
            Claim => "claimed",
            Return => "returned",
            Reject => "rejected",
            Approve => "approved",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in SubmissionStatus::ALL {
            assert_eq!(SubmissionStatus::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::json!(s.as_str())
            );
        }
        assert_eq!(SubmissionStatus::parse("Draft"), None);
    }

    #[test]
    fn the_table_is_the_life_cycle() {
        // Only drafts and returned submissions are edited, and those are what can be submitted.
        let submittable: Vec<_> = SubmissionStatus::before(Submit).collect();
        for s in SubmissionStatus::ALL {
            assert_eq!(s.editable(), submittable.contains(&s), "{s}");
        }
        // Decided submissions are final; every decision starts under review.
        for end in [Approved, Rejected, Withdrawn] {
            for m in [Submit, Withdraw, Claim, Return, Reject, Approve] {
                assert_eq!(end.after(m), None, "{end} {m:?}");
            }
        }
        for m in [Return, Reject, Approve] {
            assert_eq!(
                SubmissionStatus::before(m).collect::<Vec<_>>(),
                [UnderReview]
            );
        }
        assert_eq!(UnderReview.after(Withdraw), None);
        assert_eq!(Returned.after(Submit), Some(Submitted));
        // Every status but a draft counts once it is reached from a submission.
        for (_, _, to) in MOVES {
            assert_eq!(to.counted(), *to != Withdrawn, "{to}");
        }
    }
}
