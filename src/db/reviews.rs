//! Review rows (one per claim), verdicts, and the reviewer queue.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{enterprises, reviews, submissions, verdicts};
use super::sql::FirstRow;
use super::submissions::Submission;
use super::{AnyConnection, now};
use crate::domain::{ReviewDecision, SubmissionStatus, VerdictKind};
use crate::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = reviews)]
pub struct Review {
    pub id: i64,
    pub submission_id: i64,
    pub reviewer_id: i64,
    pub claimed_at: NaiveDateTime,
    pub first_approver_id: Option<i64>,
    pub first_approved_at: Option<NaiveDateTime>,
    pub decision: Option<String>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<NaiveDateTime>,
    pub comment: Option<String>,
    pub reviewed_total: Option<f64>,
    pub reviewed_level: Option<String>,
}

impl Review {
    /// The round's outcome; `None` while it is open.
    pub fn decision(&self) -> Option<ReviewDecision> {
        self.decision.as_deref().and_then(ReviewDecision::parse)
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = verdicts)]
pub struct VerdictRow {
    pub review_id: i64,
    pub criterion_id: String,
    #[diesel(deserialize_as = String)]
    pub verdict: VerdictKind,
    pub fraction: Option<f64>,
    pub reason: Option<String>,
    pub comment: Option<String>,
    pub reviewer_id: i64,
    pub decided_at: NaiveDateTime,
    /// The reviewer's latest request for evidence on the criterion in this round.
    pub request: Option<String>,
    pub requested_at: Option<NaiveDateTime>,
    /// The enterprise's answer to it.
    pub answer: Option<String>,
    pub answered_by: Option<i64>,
    pub answered_at: Option<NaiveDateTime>,
}

/// Moves a submission from `from` to `to`; false when it was no longer in `from`.
pub fn move_status(
    conn: &mut AnyConnection,
    id: i64,
    from: SubmissionStatus,
    to: SubmissionStatus,
) -> AppResult<bool> {
    let n = diesel::update(
        submissions::table
            .find(id)
            .filter(submissions::status.eq(from.as_str())),
    )
    .set((
        submissions::status.eq(to.as_str()),
        submissions::revision.eq(submissions::revision + 1),
        submissions::updated_at.eq(now()),
    ))
    .execute(conn)?;
    // Moves between counted states (submitted, under review, returned, approved, rejected)
    // leave each enterprise's latest counted self-assessment as it was.
    if n == 1 && from.counted() != to.counted() {
        super::submissions::refresh_latest(conn, id)?;
    }
    Ok(n == 1)
}

pub fn open(conn: &mut AnyConnection, submission_id: i64, reviewer: i64) -> AppResult<i64> {
    Ok(diesel::insert_into(reviews::table)
        .values((
            reviews::submission_id.eq(submission_id),
            reviews::reviewer_id.eq(reviewer),
            reviews::claimed_at.eq(now()),
        ))
        .returning(reviews::id)
        .get_result(conn)?)
}

/// The open review of a submission, if any.
pub fn current(conn: &mut AnyConnection, submission_id: i64) -> AppResult<Option<Review>> {
    Ok(reviews::table
        .filter(reviews::submission_id.eq(submission_id))
        .filter(reviews::decision.is_null())
        .select(Review::as_select())
        .first_row(conn)
        .optional()?)
}

/// Every review round of a submission, oldest first.
pub fn all_of(conn: &mut AnyConnection, submission_id: i64) -> AppResult<Vec<Review>> {
    Ok(reviews::table
        .filter(reviews::submission_id.eq(submission_id))
        .order(reviews::id)
        .select(Review::as_select())
        .load(conn)?)
}

pub fn set_first_approval(conn: &mut AnyConnection, review: i64, by: i64) -> AppResult<bool> {
    let n = diesel::update(
        reviews::table
            .find(review)
            .filter(reviews::first_approver_id.is_null()),
    )
    .set((
        reviews::first_approver_id.eq(by),
        reviews::first_approved_at.eq(now()),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Withdraws a first approval (the verdicts it approved have changed); false when there was none.
pub fn clear_first_approval(conn: &mut AnyConnection, review: i64) -> AppResult<bool> {
    let n = diesel::update(
        reviews::table
            .find(review)
            .filter(reviews::first_approver_id.is_not_null()),
    )
    .set((
        reviews::first_approver_id.eq(None::<i64>),
        reviews::first_approved_at.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn decide(
    conn: &mut AnyConnection,
    review: i64,
    decision: ReviewDecision,
    by: i64,
    comment: Option<&str>,
    total: Option<f64>,
    level: Option<&str>,
) -> AppResult<bool> {
    let n = diesel::update(
        reviews::table
            .find(review)
            .filter(reviews::decision.is_null()),
    )
    .set((
        reviews::decision.eq(decision.as_str()),
        reviews::decided_by.eq(by),
        reviews::decided_at.eq(now()),
        reviews::comment.eq(comment),
        reviews::reviewed_total.eq(total),
        reviews::reviewed_level.eq(level),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

pub struct VerdictWrite<'a> {
    pub criterion_id: &'a str,
    pub verdict: VerdictKind,
    pub fraction: Option<f64>,
    pub reason: Option<&'a str>,
    pub comment: Option<&'a str>,
}

/// Records verdicts of review `review`, replacing earlier ones of the same criteria (the last
/// of a criterion given twice stands). A request for evidence and its answer stay with the
/// criterion's later verdict, so the round shows what was asked and answered; a new request
/// starts unanswered. Three statements whatever the number of verdicts: on PostgreSQL each is
/// a round trip made while the submission's row is locked.
pub fn set_verdicts(
    conn: &mut AnyConnection,
    review: i64,
    reviewer: i64,
    given: &[VerdictWrite<'_>],
) -> AppResult<()> {
    let given: BTreeMap<&str, &VerdictWrite<'_>> =
        given.iter().map(|v| (v.criterion_id, v)).collect();
    let criteria: Vec<&str> = given.keys().copied().collect();
    if criteria.is_empty() {
        return Ok(());
    }
    type Kept = (
        Option<String>,
        Option<NaiveDateTime>,
        Option<String>,
        Option<i64>,
        Option<NaiveDateTime>,
    );
    let earlier: Vec<(String, Kept)> = verdicts::table
        .filter(verdicts::review_id.eq(review))
        .filter(verdicts::criterion_id.eq_any(&criteria))
        .select((
            verdicts::criterion_id,
            (
                verdicts::request,
                verdicts::requested_at,
                verdicts::answer,
                verdicts::answered_by,
                verdicts::answered_at,
            ),
        ))
        .load(conn)?;
    let mut earlier: BTreeMap<String, Kept> = earlier.into_iter().collect();
    diesel::delete(
        verdicts::table
            .filter(verdicts::review_id.eq(review))
            .filter(verdicts::criterion_id.eq_any(&criteria)),
    )
    .execute(conn)?;
    let at = now();
    let rows: Vec<_> = given
        .values()
        .map(|v| {
            let (request, requested_at, answer, answered_by, answered_at) =
                if v.verdict == VerdictKind::RequestEvidence {
                    (v.comment.map(str::to_owned), Some(at), None, None, None)
                } else {
                    earlier.remove(v.criterion_id).unwrap_or_default()
                };
            (
                verdicts::review_id.eq(review),
                verdicts::criterion_id.eq(v.criterion_id),
                verdicts::verdict.eq(v.verdict.as_str()),
                verdicts::fraction.eq(v.fraction),
                verdicts::reason.eq(v.reason),
                verdicts::comment.eq(v.comment),
                verdicts::reviewer_id.eq(reviewer),
                verdicts::decided_at.eq(at),
                verdicts::request.eq(request),
                verdicts::requested_at.eq(requested_at),
                verdicts::answer.eq(answer),
                verdicts::answered_by.eq(answered_by),
                verdicts::answered_at.eq(answered_at),
            )
        })
        .collect();
    // Multi-row inserts have no multi-backend form: run them on the concrete connection.
    let insert = diesel::insert_into(verdicts::table).values(&rows);
    match conn {
        AnyConnection::Sqlite(c) => insert.execute(c)?,
        AnyConnection::Postgresql(c) => insert.execute(c)?,
    };
    Ok(())
}

/// Records the enterprise's answer to a request for evidence; false when the criterion has no
/// such request in the round.
pub fn answer_request(
    conn: &mut AnyConnection,
    review: i64,
    criterion: &str,
    by: i64,
    answer: &str,
) -> AppResult<bool> {
    let n = diesel::update(
        verdicts::table
            .find((review, criterion))
            .filter(verdicts::verdict.eq(VerdictKind::RequestEvidence.as_str())),
    )
    .set((
        verdicts::answer.eq(answer),
        verdicts::answered_by.eq(by),
        verdicts::answered_at.eq(now()),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// The latest review round of a submission, open or decided.
pub fn latest(conn: &mut AnyConnection, submission_id: i64) -> AppResult<Option<Review>> {
    Ok(reviews::table
        .filter(reviews::submission_id.eq(submission_id))
        .order(reviews::id.desc())
        .select(Review::as_select())
        .first_row(conn)
        .optional()?)
}

/// Criteria whose answer changed after `since`.
pub fn answers_changed_since(
    conn: &mut AnyConnection,
    submission_id: i64,
    since: NaiveDateTime,
) -> AppResult<Vec<String>> {
    use super::schema::answer_history;
    Ok(answer_history::table
        .filter(answer_history::submission_id.eq(submission_id))
        .filter(answer_history::changed_at.gt(since))
        .select(answer_history::criterion_id)
        .distinct()
        .load(conn)?)
}

pub fn verdicts_of(conn: &mut AnyConnection, review: i64) -> AppResult<Vec<VerdictRow>> {
    Ok(verdicts::table
        .filter(verdicts::review_id.eq(review))
        .order(verdicts::criterion_id)
        .select(VerdictRow::as_select())
        .load(conn)?)
}

/// Queue filters; prefixes are already validated.
pub struct QueueFilter {
    pub region_prefix: Option<String>,
    pub industry_prefix: Option<String>,
    pub level: Option<String>,
    pub submitted_before: Option<NaiveDateTime>,
    /// Resume after this (submitted_at, id).
    pub after: Option<(NaiveDateTime, i64)>,
    pub limit: i64,
}

/// Submitted submissions in scope, oldest first, with their enterprise's name.
pub fn queue(
    conn: &mut AnyConnection,
    f: &QueueFilter,
) -> AppResult<Vec<(Submission, String, String)>> {
    let mut q = submissions::table
        .inner_join(enterprises::table)
        .filter(submissions::status.eq(SubmissionStatus::Submitted.as_str()))
        .into_boxed();
    if let Some(p) = &f.region_prefix {
        q = q.filter(enterprises::region_code.like(format!("{p}%")));
    }
    if let Some(p) = &f.industry_prefix {
        q = q.filter(enterprises::industry_code.like(format!("{p}%")));
    }
    if let Some(l) = &f.level {
        q = q.filter(submissions::score_level.eq(l.clone()));
    }
    if let Some(t) = f.submitted_before {
        q = q.filter(submissions::submitted_at.le(t));
    }
    if let Some((t, id)) = f.after {
        q = q.filter(
            submissions::submitted_at
                .gt(t)
                .or(submissions::submitted_at.eq(t).and(submissions::id.gt(id))),
        );
    }
    Ok(q.order((submissions::submitted_at, submissions::id))
        .limit(f.limit)
        .select((
            Submission::as_select(),
            enterprises::name,
            enterprises::region_code,
        ))
        .load(conn)?)
}

/// Open review rounds in a region scope that wait for `reviewer`: those they claimed, and those
/// whose first approval (by someone else) waits for a second. With the enterprise's name and
/// region, and whether the round waits for a second approval.
pub fn open_rounds_for(
    conn: &mut AnyConnection,
    reviewer: i64,
    region_prefix: Option<&str>,
) -> AppResult<Vec<(Submission, String, String, bool)>> {
    let mut q = reviews::table
        .inner_join(submissions::table.on(submissions::id.eq(reviews::submission_id)))
        .inner_join(enterprises::table.on(enterprises::id.eq(submissions::enterprise_id)))
        .filter(reviews::decision.is_null())
        .filter(submissions::status.eq(SubmissionStatus::UnderReview.as_str()))
        .filter(
            reviews::reviewer_id
                .eq(reviewer)
                .or(reviews::first_approver_id
                    .is_not_null()
                    .and(reviews::first_approver_id.ne(reviewer))),
        )
        .into_boxed();
    if let Some(p) = region_prefix {
        q = q.filter(enterprises::region_code.like(format!("{p}%")));
    }
    let rows: Vec<(Submission, String, String, Option<i64>)> = q
        .order(reviews::claimed_at)
        .limit(200)
        .select((
            Submission::as_select(),
            enterprises::name,
            enterprises::region_code,
            reviews::first_approver_id,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(s, name, region, first)| (s, name, region, first.is_some()))
        .collect())
}
