//! Submission, answer and history rows.

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::dsl::{AsSelect, SqlTypeOf};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::Query;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{Array, BigInt, HasSqlType, Nullable, Text, Timestamp};

use super::schema::{
    answer_history, answers, enterprises, latest_self_assessments as latest, submissions,
};
use super::sql::{FirstRow, concrete};
use super::{AnyConnection, audit, now};
use crate::domain::SubmissionStatus;
use crate::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = submissions)]
pub struct Submission {
    pub id: i64,
    pub enterprise_id: i64,
    pub schema_id: String,
    pub version: String,
    pub schema_hash: String,
    pub industry_code: String,
    pub profile_id: Option<String>,
    #[diesel(deserialize_as = String)]
    pub status: SubmissionStatus,
    pub revision: i64,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub submitted_at: Option<NaiveDateTime>,
    pub score_total: Option<f64>,
    pub score_level: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = submissions)]
pub struct NewSubmission<'a> {
    pub enterprise_id: i64,
    pub schema_id: &'a str,
    pub version: &'a str,
    pub schema_hash: &'a str,
    pub industry_code: &'a str,
    pub profile_id: Option<&'a str>,
    pub status: &'a str,
    pub revision: i64,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn insert(conn: &mut AnyConnection, new: &NewSubmission<'_>) -> AppResult<i64> {
    Ok(diesel::insert_into(submissions::table)
        .values(new)
        .returning(submissions::id)
        .get_result(conn)?)
}

/// Serializes writers of one submission on PostgreSQL (`SELECT … FOR UPDATE` on its row until
/// the transaction ends): verdicts, evidence uploads under review, answers to evidence requests
/// and the approval see each other's effects. SQLite serializes every write already.
pub fn lock(conn: &mut AnyConnection, id: i64) -> AppResult<()> {
    if let AnyConnection::Postgresql(c) = conn {
        submissions::table
            .find(id)
            .select(submissions::id)
            .for_update()
            .first_row::<i64, _>(c)
            .optional()?;
    }
    Ok(())
}

/// [`find`] with [`lock`]'s lock, in one statement: the row as committed once the lock is held.
pub fn find_locked(conn: &mut AnyConnection, id: i64) -> AppResult<Option<Submission>> {
    match conn {
        AnyConnection::Postgresql(c) => Ok(submissions::table
            .find(id)
            .select(Submission::as_select())
            .for_update()
            .first_row(c)
            .optional()?),
        AnyConnection::Sqlite(_) => find(conn, id),
    }
}

pub fn find(conn: &mut AnyConnection, id: i64) -> AppResult<Option<Submission>> {
    // `as_select` is typed for one backend: the query is built in each arm.
    Ok(concrete!(conn, |c| submissions::table
        .find(id)
        .select(Submission::as_select())
        .first_row(c)
        .optional())?)
}

pub fn list_for_enterprise(
    conn: &mut AnyConnection,
    enterprise_id: i64,
    after: i64,
    limit: i64,
) -> AppResult<Vec<Submission>> {
    Ok(submissions::table
        .filter(submissions::enterprise_id.eq(enterprise_id))
        .filter(submissions::id.gt(after))
        .order(submissions::id)
        .limit(limit)
        .select(Submission::as_select())
        .load(conn)?)
}

/// Every submission id, oldest first.
pub fn all_ids(conn: &mut AnyConnection) -> AppResult<Vec<i64>> {
    Ok(submissions::table
        .order(submissions::id)
        .select(submissions::id)
        .load(conn)?)
}

/// Deletes a draft's rows: its answers and their history, its creation's idempotency key and
/// the submission itself (its evidence goes first, through `evidence::delete`).
pub fn delete_draft(conn: &mut AnyConnection, id: i64) -> AppResult<()> {
    diesel::delete(answer_history::table.filter(answer_history::submission_id.eq(id)))
        .execute(conn)?;
    diesel::delete(answers::table.filter(answers::submission_id.eq(id))).execute(conn)?;
    super::idempotency::forget_location(
        conn,
        "createSubmission",
        &format!("/api/v1/submissions/{id}"),
    )?;
    diesel::delete(
        submissions::table
            .find(id)
            .filter(submissions::status.eq(SubmissionStatus::Draft.as_str())),
    )
    .execute(conn)?;
    Ok(())
}

/// Advances the revision if it is still `expected`; false when someone else wrote first.
pub fn bump(conn: &mut AnyConnection, id: i64, expected: i64) -> AppResult<bool> {
    let bump = Bump {
        id,
        expected,
        next: expected + 1,
        at: now(),
    };
    let bumped = match conn {
        AnyConnection::Sqlite(c) => bump.execute(c)?,
        AnyConnection::Postgresql(c) => bump.execute(c)?,
    };
    Ok(bumped == 1)
}

/// [`bump`] returning the submission as it now is (`None` when someone else wrote first): the
/// bump and a read, both compiled once per connection, which on SQLite costs less than
/// compiling diesel's `UPDATE … RETURNING` at every execution. PostgreSQL saves answers with
/// [`save_answers_at_once`].
pub fn bump_returning(
    conn: &mut AnyConnection,
    id: i64,
    expected: i64,
) -> AppResult<Option<Submission>> {
    if !bump(conn, id, expected)? {
        return Ok(None);
    }
    find(conn, id)
}

/// `UPDATE submissions SET revision = next, updated_at = at WHERE id = id AND revision =
/// expected`, written out: diesel compiles every `UPDATE` it builds afresh at each execution,
/// while a statement of fixed text is compiled once per connection.
struct Bump {
    id: i64,
    expected: i64,
    next: i64,
    at: NaiveDateTime,
}

impl QueryId for Bump {
    type QueryId = Bump;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<DB> QueryFragment<DB> for Bump
where
    DB: Backend + HasSqlType<BigInt> + HasSqlType<Timestamp>,
    i64: ToSql<BigInt, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE submissions SET revision = ");
        out.push_bind_param::<BigInt, _>(&self.next)?;
        out.push_sql(", updated_at = ");
        out.push_bind_param::<Timestamp, _>(&self.at)?;
        out.push_sql(" WHERE id = ");
        out.push_bind_param::<BigInt, _>(&self.id)?;
        out.push_sql(" AND revision = ");
        out.push_bind_param::<BigInt, _>(&self.expected)?;
        Ok(())
    }
}

impl<C> RunQueryDsl<C> for Bump {}

pub fn set_status(conn: &mut AnyConnection, id: i64, status: SubmissionStatus) -> AppResult<()> {
    diesel::update(submissions::table.find(id))
        .set(submissions::status.eq(status.as_str()))
        .execute(conn)?;
    refresh_latest(conn, id)
}

/// Statuses whose self-assessments count for the statistics ([`SubmissionStatus::counted`]).
pub fn counted() -> Vec<&'static str> {
    SubmissionStatus::ALL
        .into_iter()
        .filter(|s| s.counted())
        .map(SubmissionStatus::as_str)
        .collect()
}

/// Brings `latest_self_assessments` in step after the status of submission `id` changed: its
/// enterprise's row names the latest submission in a [`counted`] status, or is absent. Runs in
/// the caller's transaction, so the statistics never see one without the other.
pub fn refresh_latest(conn: &mut AnyConnection, id: i64) -> AppResult<()> {
    let enterprise = enterprise_of(conn, id)?;
    // One refresh of an enterprise at a time: each moves the counts from what the previous
    // one left.
    super::enterprises::lock(conn, enterprise)?;
    refresh_locked(conn, enterprise)
}

fn enterprise_of(conn: &mut AnyConnection, id: i64) -> AppResult<i64> {
    Ok(submissions::table
        .find(id)
        .select(submissions::enterprise_id)
        .first_row(conn)?)
}

/// [`refresh_latest`] for enterprise `enterprise`, whose lock the caller holds.
fn refresh_locked(conn: &mut AnyConnection, enterprise: i64) -> AppResult<()> {
    use super::schema::{latest_theme_scores as lts, submission_theme_scores as sts};
    let (industry, region): (String, String) = enterprises::table
        .find(enterprise)
        .select((enterprises::industry_code, enterprises::region_code))
        .first_row(conn)?;
    let previous: Option<i64> = latest::table
        .find(enterprise)
        .select(latest::submission_id)
        .first_row(conn)
        .optional()?;
    diesel::delete(latest::table.find(enterprise)).execute(conn)?;
    diesel::delete(
        lts::table
            .filter(lts::industry_code.eq(&industry))
            .filter(lts::enterprise_id.eq(enterprise)),
    )
    .execute(conn)?;
    let current: Option<(i64, Option<f64>)> = submissions::table
        .filter(submissions::enterprise_id.eq(enterprise))
        .filter(submissions::status.eq_any(counted()))
        .order(submissions::id.desc())
        .select((submissions::id, submissions::score_total))
        .first_row(conn)
        .optional()?;
    super::rollups::move_latest(conn, &industry, &region, previous, current.map(|c| c.0))?;
    super::rollups::rewrite_quarters(conn, enterprise, &industry, &region)?;
    let Some((submission, score)) = current else {
        return Ok(());
    };
    diesel::insert_into(latest::table)
        .values((
            latest::enterprise_id.eq(enterprise),
            latest::submission_id.eq(submission),
            latest::industry_code.eq(&industry),
            latest::region_code.eq(&region),
            latest::score_total.eq(score),
        ))
        .execute(conn)?;
    let themes: Vec<(String, f64)> = sts::table
        .filter(sts::submission_id.eq(submission))
        .select((sts::theme_id, sts::score))
        .load(conn)?;
    let rows: Vec<_> = themes
        .into_iter()
        .map(|(theme, score)| {
            (
                lts::industry_code.eq(&industry),
                lts::enterprise_id.eq(enterprise),
                lts::theme_id.eq(theme),
                lts::region_code.eq(&region),
                lts::score.eq(score),
            )
        })
        .collect();
    if !rows.is_empty() {
        let insert = diesel::insert_into(lts::table).values(&rows);
        match conn {
            AnyConnection::Sqlite(c) => insert.execute(c)?,
            AnyConnection::Postgresql(c) => insert.execute(c)?,
        };
    }
    Ok(())
}

/// Records the theme scores and criterion results of a submitted self-assessment (replacing
/// those of an earlier submission of it) for the statistics.
fn record_results(
    conn: &mut AnyConnection,
    id: i64,
    score: &crate::domain::scoring::Score,
) -> AppResult<()> {
    use super::schema::{submission_criterion_results as scr, submission_theme_scores as sts};
    diesel::delete(sts::table.filter(sts::submission_id.eq(id))).execute(conn)?;
    diesel::delete(scr::table.filter(scr::submission_id.eq(id))).execute(conn)?;
    let themes: Vec<_> = recorded_themes(score)
        .map(|t| {
            (
                sts::submission_id.eq(id),
                sts::theme_id.eq(&t.id),
                sts::score.eq(t.score),
            )
        })
        .collect();
    // Multi-row inserts have no multi-backend form: run them on the concrete connection.
    let insert = diesel::insert_into(sts::table).values(&themes);
    match conn {
        AnyConnection::Sqlite(c) => insert.execute(c)?,
        AnyConnection::Postgresql(c) => insert.execute(c)?,
    };
    let criteria: Vec<_> = recorded_criteria(score)
        .map(|e| {
            (
                scr::submission_id.eq(id),
                scr::criterion_id.eq(&e.id),
                scr::fraction.eq(e.fraction),
            )
        })
        .collect();
    let insert = diesel::insert_into(scr::table).values(&criteria);
    match conn {
        AnyConnection::Sqlite(c) => insert.execute(c)?,
        AnyConnection::Postgresql(c) => insert.execute(c)?,
    };
    Ok(())
}

/// The theme scores the statistics keep of a score: those of applicable themes.
pub fn recorded_themes(
    score: &crate::domain::scoring::Score,
) -> impl Iterator<Item = &crate::domain::scoring::ThemeScore> {
    score.themes.iter().filter(|t| t.applicable)
}

/// The criterion results the statistics keep of a score: those of criteria carrying weight.
pub fn recorded_criteria(
    score: &crate::domain::scoring::Score,
) -> impl Iterator<Item = &crate::domain::scoring::CriterionScore> {
    score
        .explanation
        .iter()
        .filter(|e| e.effective_weight > 0.0)
}

/// Marks submission `id` of enterprise `enterprise` submitted with its score, records the
/// figures the statistics read, and brings the enterprise's latest self-assessment up to date.
pub fn mark_submitted(
    conn: &mut AnyConnection,
    id: i64,
    enterprise: i64,
    score: &crate::domain::scoring::Score,
) -> AppResult<()> {
    // The enterprise's lock, as in [`refresh_latest`], held from the leave to the refresh.
    super::enterprises::lock(conn, enterprise)?;
    leave_latest(conn, id, enterprise)?;
    record_submitted(conn, id, score)?;
    refresh_locked(conn, enterprise)
}

/// A returned submission submitted again is its enterprise's latest self-assessment already,
/// and its results are about to be overwritten: its contribution to the shared counts leaves
/// with the old results, so that [`refresh_locked`] adds the new ones.
fn leave_latest(conn: &mut AnyConnection, id: i64, enterprise: i64) -> AppResult<()> {
    let current: Option<(i64, String, String)> = latest::table
        .find(enterprise)
        .select((
            latest::submission_id,
            latest::industry_code,
            latest::region_code,
        ))
        .first_row(conn)
        .optional()?;
    if let Some((latest_id, industry, region)) = current
        && latest_id == id
    {
        super::rollups::move_latest(conn, &industry, &region, Some(id), None)?;
        diesel::delete(latest::table.find(enterprise)).execute(conn)?;
    }
    Ok(())
}

/// The submission's own part of [`mark_submitted`]: its status, time and score, and the results
/// the statistics read.
fn record_submitted(
    conn: &mut AnyConnection,
    id: i64,
    score: &crate::domain::scoring::Score,
) -> AppResult<()> {
    diesel::update(submissions::table.find(id))
        .set((
            submissions::status.eq(SubmissionStatus::Submitted.as_str()),
            submissions::submitted_at.eq(now()),
            submissions::score_total.eq(score.total),
            submissions::score_level.eq(&score.level),
        ))
        .execute(conn)?;
    record_results(conn, id, score)
}

pub fn move_to_version(
    conn: &mut AnyConnection,
    id: i64,
    version: &str,
    hash: &str,
    profile_id: Option<&str>,
) -> AppResult<()> {
    diesel::update(submissions::table.find(id))
        .set((
            submissions::version.eq(version),
            submissions::schema_hash.eq(hash),
            submissions::profile_id.eq(profile_id),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = answers)]
pub struct AnswerRow {
    pub id: i64,
    pub submission_id: i64,
    pub criterion_id: String,
    /// The answer's JSON value (`null` for not applicable).
    pub value: String,
    pub not_applicable_reason: Option<String>,
    pub comment: Option<String>,
    pub updated_by: i64,
    pub updated_at: NaiveDateTime,
}

pub struct AnswerWrite<'a> {
    pub criterion_id: &'a str,
    pub value: &'a str,
    pub not_applicable_reason: Option<&'a str>,
    pub comment: Option<&'a str>,
}

/// Inserts or replaces one answer and records the change in the history.
pub fn upsert_answer(
    conn: &mut AnyConnection,
    submission_id: i64,
    version: &str,
    user: i64,
    a: &AnswerWrite<'_>,
) -> AppResult<()> {
    let upsert = UpsertAnswer {
        submission_id,
        answer: a,
        user,
        at: now(),
    };
    // ON CONFLICT has no multi-backend form: run it on the concrete connection.
    concrete!(conn, |c| upsert.execute(c))?;
    history(
        conn,
        submission_id,
        a.criterion_id,
        "answered",
        Some(a.value),
        a.not_applicable_reason,
        a.comment,
        version,
        user,
    )
}

/// The submission an answer save writes to, at the revision it was read at.
pub struct SaveAt<'a> {
    pub id: i64,
    pub revision: i64,
    pub version: &'a str,
    pub user: i64,
}

/// PostgreSQL: an answer save in one statement, one round trip where the bump, each answer, each
/// evidence link and the audit entry took one or two each: the revision's bump, the answers'
/// inserts or updates with their history entries, the evidence links (already checked to be
/// the submission's) and the audit entry ([`audit::PgEntry`]). One statement is atomic, so it
/// needs no transaction around it; when someone else wrote first the bump finds nothing,
/// nothing else is written and the result is `None`.
pub fn save_answers_at_once(
    c: &mut PgConnection,
    at: SaveAt<'_>,
    answers: &[AnswerWrite<'_>],
    links: &[(i64, &str)],
    entry: audit::PgEntry<'_>,
) -> AppResult<Option<Submission>> {
    let save = SaveAnswers {
        bump: Bump {
            id: at.id,
            expected: at.revision,
            next: at.revision + 1,
            at: now(),
        },
        version: at.version,
        user: at.user,
        criteria: answers.iter().map(|a| a.criterion_id).collect(),
        values: answers.iter().map(|a| a.value).collect(),
        reasons: answers.iter().map(|a| a.not_applicable_reason).collect(),
        comments: answers.iter().map(|a| a.comment).collect(),
        evidence: links.iter().map(|(e, _)| *e).collect(),
        linked_criteria: links.iter().map(|(_, c)| *c).collect(),
        editable: SubmissionStatus::ALL
            .into_iter()
            .filter(|s| s.editable())
            .map(SubmissionStatus::as_str)
            .collect(),
        entry,
        columns: Submission::as_select(),
    };
    Ok(save.get_result(c).optional()?)
}

/// The statement of [`save_answers_at_once`], a data-modifying `WITH`. The answers come as
/// arrays, so its text is the same for any number of them and it is compiled once per
/// connection. Everything after the bump reads the bumped row, so a bump that finds nothing
/// writes nothing; the audit entry is appended last, as every other write does, so that the
/// chain's lock is always taken after the submission's row lock.
struct SaveAnswers<'a> {
    bump: Bump,
    version: &'a str,
    user: i64,
    criteria: Vec<&'a str>,
    values: Vec<&'a str>,
    reasons: Vec<Option<&'a str>>,
    comments: Vec<Option<&'a str>>,
    evidence: Vec<i64>,
    linked_criteria: Vec<&'a str>,
    editable: Vec<&'static str>,
    entry: audit::PgEntry<'a>,
    columns: AsSelect<Submission, Pg>,
}

impl QueryId for SaveAnswers<'_> {
    type QueryId = SaveAnswers<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for SaveAnswers<'_> {
    type SqlType = SqlTypeOf<AsSelect<Submission, Pg>>;
}

impl QueryFragment<Pg> for SaveAnswers<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH saved AS (");
        self.bump.walk_ast(out.reborrow())?;
        // The read before the statement found the submission editable; every change of status
        // advances the revision, and this says so again.
        out.push_sql(" AND status = ANY(");
        out.push_bind_param::<Array<Text>, _>(&self.editable)?;
        out.push_sql(
            ") RETURNING *), put AS (INSERT INTO answers (submission_id, criterion_id, value, \
             not_applicable_reason, comment, updated_by, updated_at) SELECT saved.id, \
             a.criterion_id, a.value, a.not_applicable_reason, a.comment, ",
        );
        out.push_bind_param::<BigInt, _>(&self.user)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.bump.at)?;
        out.push_sql(" FROM saved CROSS JOIN unnest(");
        out.push_bind_param::<Array<Text>, _>(&self.criteria)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.values)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.reasons)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.comments)?;
        out.push_sql(
            ") WITH ORDINALITY AS a(criterion_id, value, not_applicable_reason, comment, n) \
             ORDER BY a.n ON CONFLICT (submission_id, criterion_id) DO UPDATE SET value = \
             excluded.value, not_applicable_reason = excluded.not_applicable_reason, comment = \
             excluded.comment, updated_by = excluded.updated_by, updated_at = \
             excluded.updated_at RETURNING submission_id, criterion_id, value, \
             not_applicable_reason, comment, updated_by, updated_at), recorded AS (INSERT INTO \
             answer_history (submission_id, criterion_id, change, value, not_applicable_reason, \
             comment, schema_version, changed_by, changed_at) SELECT submission_id, \
             criterion_id, 'answered', value, not_applicable_reason, comment, ",
        );
        out.push_bind_param::<Text, _>(self.version)?;
        out.push_sql(
            ", updated_by, updated_at FROM put RETURNING 1), linked AS (INSERT INTO \
             evidence_links (evidence_id, criterion_id) SELECT l.evidence_id, l.criterion_id \
             FROM saved CROSS JOIN unnest(",
        );
        out.push_bind_param::<Array<BigInt>, _>(&self.evidence)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.linked_criteria)?;
        // The condition on `recorded` and `linked`, always true, makes the answers' and links'
        // writes run before the entry's append (PostgreSQL runs a `WITH` that nothing reads
        // after the main query), so the chain's lock, which every writer waits for, is taken
        // last: for the append alone when the save commits alone, and from this append to the
        // group's commit when it commits in a group (`db/group.rs`).
        out.push_sql(
            ") AS l(evidence_id, criterion_id) ON CONFLICT DO NOTHING RETURNING 1), logged AS \
             (SELECT ",
        );
        self.entry.walk_ast(out.reborrow())?;
        // The bumped row under the table's own name, so that the columns read as diesel
        // writes them.
        out.push_sql(
            " AS seq FROM saved WHERE (SELECT count(*) FROM recorded) + (SELECT count(*) FROM \
             linked) >= 0) SELECT ",
        );
        self.columns.walk_ast(out.reborrow())?;
        out.push_sql(" FROM saved submissions CROSS JOIN logged");
        Ok(())
    }
}

impl<C> RunQueryDsl<C> for SaveAnswers<'_> {}

/// The answer's insert, or its update when the criterion was answered before, written out so
/// that it is compiled once per connection (diesel compiles each `ON CONFLICT … DO UPDATE` it
/// builds afresh at every execution).
struct UpsertAnswer<'a> {
    submission_id: i64,
    answer: &'a AnswerWrite<'a>,
    user: i64,
    at: NaiveDateTime,
}

impl QueryId for UpsertAnswer<'_> {
    type QueryId = UpsertAnswer<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<DB> QueryFragment<DB> for UpsertAnswer<'_>
where
    DB: Backend + HasSqlType<BigInt> + HasSqlType<Text> + HasSqlType<Timestamp>,
    i64: ToSql<BigInt, DB>,
    str: ToSql<Text, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let a = self.answer;
        out.push_sql(
            "INSERT INTO answers (submission_id, criterion_id, value, not_applicable_reason, \
             comment, updated_by, updated_at) VALUES (",
        );
        out.push_bind_param::<BigInt, _>(&self.submission_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(a.criterion_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(a.value)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&a.not_applicable_reason)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&a.comment)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, _>(&self.user)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.at)?;
        out.push_sql(
            ") ON CONFLICT (submission_id, criterion_id) DO UPDATE SET value = excluded.value, \
             not_applicable_reason = excluded.not_applicable_reason, comment = excluded.comment, \
             updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        );
        Ok(())
    }
}

impl<C> RunQueryDsl<C> for UpsertAnswer<'_> {}

/// Removes an answer, keeping it readable in the history under `change`.
pub fn remove_answer(
    conn: &mut AnyConnection,
    row: &AnswerRow,
    change: &str,
    version: &str,
    user: i64,
) -> AppResult<()> {
    diesel::delete(answers::table.find(row.id)).execute(conn)?;
    history(
        conn,
        row.submission_id,
        &row.criterion_id,
        change,
        Some(&row.value),
        row.not_applicable_reason.as_deref(),
        row.comment.as_deref(),
        version,
        user,
    )
}

/// Renames an answer's criterion (a carried-over answer under a renamed id).
pub fn rename_answer(conn: &mut AnyConnection, id: i64, criterion: &str) -> AppResult<()> {
    diesel::update(answers::table.find(id))
        .set(answers::criterion_id.eq(criterion))
        .execute(conn)?;
    Ok(())
}

#[expect(clippy::too_many_arguments)]
fn history(
    conn: &mut AnyConnection,
    submission_id: i64,
    criterion: &str,
    change: &str,
    value: Option<&str>,
    na: Option<&str>,
    comment: Option<&str>,
    version: &str,
    user: i64,
) -> AppResult<()> {
    let insert = diesel::insert_into(answer_history::table).values((
        answer_history::submission_id.eq(submission_id),
        answer_history::criterion_id.eq(criterion),
        answer_history::change.eq(change),
        answer_history::value.eq(value),
        answer_history::not_applicable_reason.eq(na),
        answer_history::comment.eq(comment),
        answer_history::schema_version.eq(version),
        answer_history::changed_by.eq(user),
        answer_history::changed_at.eq(now()),
    ));
    concrete!(conn, |c| insert.execute(c))?;
    Ok(())
}

pub fn answers_of(conn: &mut AnyConnection, submission_id: i64) -> AppResult<Vec<AnswerRow>> {
    Ok(answers::table
        .filter(answers::submission_id.eq(submission_id))
        .order(answers::id)
        .select(AnswerRow::as_select())
        .load(conn)?)
}

pub fn answer_of(
    conn: &mut AnyConnection,
    submission_id: i64,
    criterion: &str,
) -> AppResult<Option<AnswerRow>> {
    Ok(answers::table
        .filter(answers::submission_id.eq(submission_id))
        .filter(answers::criterion_id.eq(criterion))
        .select(AnswerRow::as_select())
        .first_row(conn)
        .optional()?)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = answer_history)]
pub struct HistoryRow {
    pub id: i64,
    pub submission_id: i64,
    pub criterion_id: String,
    pub change: String,
    pub value: Option<String>,
    pub not_applicable_reason: Option<String>,
    pub comment: Option<String>,
    pub schema_version: String,
    pub changed_by: i64,
    pub changed_at: NaiveDateTime,
}

/// Up to `limit` history rows of a submission after row `after`, oldest first.
pub fn history_of(
    conn: &mut AnyConnection,
    submission_id: i64,
    after: i64,
    limit: i64,
) -> AppResult<Vec<HistoryRow>> {
    Ok(answer_history::table
        .filter(answer_history::submission_id.eq(submission_id))
        .filter(answer_history::id.gt(after))
        .limit(limit)
        .order(answer_history::id)
        .select(HistoryRow::as_select())
        .load(conn)?)
}
