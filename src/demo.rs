//! Synthetic demonstration data: enterprises with valid credit codes and real GB/T 4754 and
//! GB/T 2260 codes, scored self-assessments on the 2024 schema, and certificates for the best
//! of them. Deterministic for a given seed.

use std::collections::HashMap;
use std::sync::Arc;

use diesel::prelude::*;
use futures_util::StreamExt;

use crate::db::schema::{enterprises, submissions};
use crate::db::sql::FirstRow;
use crate::db::{AnyConnection, now};
use crate::domain::schema::{Criterion, Kind};
use crate::domain::scoring::{self, Answer, NOT_CERTIFIED, Value};
use crate::domain::{CreditCode, SubmissionStatus};
use crate::error::{AppError, AppResult};
use crate::schemas::ResolvedSchema;
use crate::state::AppState;

/// A small, fast, deterministic generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Industries the demonstration spreads enterprises over: the profiled sectors and a few others.
const INDUSTRIES: [&str; 16] = [
    "C1310", "C1491", "C1512", "F5221", "C2710", "F5251", "K7010", "C3610", "J6621", "J6810",
    "G5411", "I6311", "D4420", "C3851", "F5292", "H6210",
];
const PROVINCES: [&str; 12] = [
    "11", "31", "32", "33", "35", "37", "42", "44", "50", "51", "61", "65",
];

/// A valid unified social credit code of a Zhejiang enterprise (`9133`), city `city` (10–99),
/// with `serial` in its organisation part.
pub fn credit_code(city: u64, serial: u64) -> String {
    CreditCode::complete(&format!("9133{city:02}01MA{:07}", serial % 10_000_000))
        .map(|c| c.to_string())
        .unwrap_or_default()
}

/// An answer drawn so that enterprises differ but most do reasonably well.
fn answer(c: &Criterion, quality: u64, rng: &mut Rng) -> Option<Answer> {
    if c.not_applicable_allowed && rng.below(10) == 0 {
        return Some(Answer::NotApplicable);
    }
    let good = rng.below(100) < quality;
    let v = match c.kind {
        Kind::YesNo => Value::Bool(good || rng.below(3) == 0),
        Kind::Maturity => Value::Number(if good {
            2.0 + rng.below(3) as f64
        } else {
            rng.below(3) as f64
        }),
        Kind::SingleChoice => Value::Text(rng.pick(&c.options).id.clone()),
        Kind::MultipleChoice => Value::Choices(
            c.options
                .iter()
                .filter(|_| good || rng.below(2) == 0)
                .map(|o| o.id.clone())
                .collect(),
        ),
        Kind::Measured => {
            let m = c.measure.as_ref()?;
            let best = m.bands.first().map_or(0.0, |b| b.threshold);
            Value::Number(if good { best } else { best * 0.5 })
        }
        Kind::FreeText => return None,
    };
    Some(Answer::Given(v))
}

/// Creates `enterprises` enterprises with `per_enterprise` submitted self-assessments each, and a
/// certificate for the latest one where it reaches a level. Calls `progress(done, total)`.
pub async fn seed(
    state: Arc<AppState>,
    enterprises: u64,
    per_enterprise: u64,
    seed: u64,
    progress: impl Fn(u64, u64),
) -> AppResult<()> {
    const BATCH: u64 = 200;
    let mut rng = Rng::new(seed);
    let admin = state
        .db
        .read(|conn| {
            use crate::db::schema::users::dsl::*;
            Ok(users
                .filter(role.eq("admin"))
                .select(id)
                .first_row::<i64, _>(conn)?)
        })
        .await?;
    let existing: i64 = state
        .db
        .read(|conn| Ok(enterprises::table.count().get_result(conn)?))
        .await?;
    // The plans are drawn one after the other (the same for the same seed); two batches are
    // written at a time, so that PostgreSQL works on both cores while one batch waits for its
    // certificates' number lock. SQLite takes them in turn.
    let mut planned = 0;
    let plans = std::iter::from_fn(|| {
        if planned >= enterprises {
            return None;
        }
        let n = BATCH.min(enterprises - planned);
        let plan: Plan = (0..n)
            .map(|i| {
                let serial = existing as u64 + planned + i + 1;
                let code = credit_code(rng.below(90) + 10, serial);
                let industry = rng.pick(&INDUSTRIES).to_string();
                let region = format!(
                    "{}0{}0{}",
                    rng.pick(&PROVINCES),
                    rng.below(9) + 1,
                    rng.below(9) + 1
                );
                let quality = 40 + rng.below(60);
                let seeds = (0..per_enterprise).map(|_| rng.next_u64()).collect();
                (code, industry, region, quality, seeds)
            })
            .collect();
        planned += n;
        Some((n, plan))
    });
    let mut writes = futures_util::stream::iter(plans)
        .map(|(n, plan)| {
            let st = state.clone();
            async move {
                let db = st.db.clone();
                db.write(move |conn| write_batch(conn, &st, admin, plan))
                    .await
                    .map(|()| n)
            }
        })
        .buffer_unordered(2);
    let mut done = 0;
    while let Some(n) = writes.next().await {
        done += n?;
        progress(done, enterprises);
    }
    // The multi-row inserts bypassed the per-criterion and per-quarter figures: count them
    // once, at the end.
    state.db.write(crate::db::rollups::rebuild).await?;
    state
        .db
        .write(move |conn| {
            crate::db::audit::append(
                conn,
                crate::db::audit::Event {
                    actor_user_id: Some(admin),
                    action: "demo.seeded",
                    entity_type: "demo",
                    entity_id: seed.to_string(),
                    enterprise_id: None,
                    request_id: None,
                    details: serde_json::json!({ "enterprises": enterprises, "submissions_per_enterprise": per_enterprise }),
                },
            )
        })
        .await
}

type Plan = Vec<(String, String, String, u64, Vec<u64>)>;

/// Bind parameters per multi-row insert statement, below SQLite's limit of 32,766 and
/// PostgreSQL's of 65,535.
const BINDS: usize = 30_000;

/// Inserts `rows` (each `columns` values): on SQLite in multi-row inserts of at most [`BINDS`]
/// parameters, on PostgreSQL in one `COPY` (several times faster than multi-row inserts, whose
/// statements the server parses and plans one by one). Runs on the concrete connection:
/// neither has a multi-backend form.
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr, $columns:expr) => {
        match &mut *$conn {
            AnyConnection::Sqlite(c) => {
                for chunk in $rows.chunks(BINDS / $columns) {
                    diesel::insert_into($table).values(chunk).execute(c)?;
                }
            }
            AnyConnection::Postgresql(c) => {
                diesel::copy_from($table)
                    .from_insertable(&$rows)
                    .execute(c)?;
            }
        }
    };
}

/// [`insert_rows!`] returning column `$id` of every row, in the order of `rows`.
macro_rules! insert_rows_returning {
    ($conn:expr, $table:expr, $rows:expr, $columns:expr, $id:expr) => {{
        let mut ids: Vec<i64> = Vec::with_capacity($rows.len());
        for chunk in $rows.chunks(BINDS / $columns) {
            let insert = diesel::insert_into($table).values(chunk).returning($id);
            ids.extend(match &mut *$conn {
                AnyConnection::Sqlite(c) => insert.get_results::<i64>(c)?,
                AnyConnection::Postgresql(c) => insert.get_results::<i64>(c)?,
            });
        }
        ids
    }};
}

/// Writes one batch of the plan: enterprises, their submitted self-assessments with theme
/// scores and criterion results, and the latest self-assessment of each, in multi-row inserts
/// (the per-statement round trips were most of the seeding time on PostgreSQL); then a
/// certificate for each enterprise whose latest self-assessment reaches a level, issued as an
/// approval issues it. The statistics' per-criterion and per-quarter figures are counted once
/// at the end of the seeding ([`crate::db::rollups::rebuild`]).
fn write_batch(conn: &mut AnyConnection, st: &AppState, admin: i64, plan: Plan) -> AppResult<()> {
    use crate::db::schema::{
        latest_self_assessments as lsa, latest_theme_scores as lts,
        submission_criterion_results as scr, submission_theme_scores as sts,
    };
    use crate::db::submissions::{recorded_criteria, recorded_themes};
    let hash = crate::db::schema_versions::head(conn, "cca-good-enterprise", "2024")?
        .ok_or(AppError::NotFound)?
        .content_hash;
    let at = now();
    let mut schemas: HashMap<String, Arc<ResolvedSchema>> = HashMap::new();
    // Score every self-assessment first; the rest is writing.
    let mut scored = Vec::with_capacity(plan.len());
    for (code, industry, region, quality, seeds) in &plan {
        let schema = match schemas.get(industry) {
            Some(s) => s.clone(),
            None => {
                let s =
                    st.schemas
                        .get(conn, "cca-good-enterprise", "2024", Some(&hash), industry)?;
                schemas.insert(industry.clone(), s.clone());
                s
            }
        };
        let scores: Vec<scoring::Score> = seeds
            .iter()
            .map(|s| {
                let mut rng = Rng::new(*s);
                let answers: HashMap<String, Answer> = schema
                    .criteria
                    .iter()
                    .filter_map(|c| answer(c, *quality, &mut rng).map(|a| (c.id.clone(), a)))
                    .collect();
                let evidence = schema.criteria.iter().map(|c| c.id.clone()).collect();
                let r = &schema.resolved;
                scoring::score(&r.themes, &schema.criteria, &r.levels, &answers, &evidence)
            })
            .collect();
        let certified = scores.last().is_some_and(|s| s.level != NOT_CERTIFIED);
        let name = format!("示例企业{}有限公司", &code[10..17]);
        scored.push((code, industry, region, schema, scores, certified, name));
    }

    // Synthetic enterprises count as checked by the administrator (they have no licence file).
    let rows: Vec<_> = scored
        .iter()
        .enumerate()
        .map(|(i, (code, industry, region, _, _, certified, name))| {
            (
                enterprises::credit_code.eq(code.as_str()),
                enterprises::name.eq(name.as_str()),
                enterprises::industry_code.eq(industry.as_str()),
                enterprises::region_code.eq(region.as_str()),
                enterprises::size.eq(["large", "medium", "small", "micro"][i % 4]),
                enterprises::contact_email.eq("demo@example.com"),
                enterprises::created_at.eq(at),
                enterprises::verified_at.eq(certified.then_some(at)),
                enterprises::verified_by.eq(certified.then_some(admin)),
            )
        })
        .collect();
    let enterprise_ids = insert_rows_returning!(conn, enterprises::table, rows, 9, enterprises::id);

    let approved = SubmissionStatus::Approved.as_str();
    let submitted = SubmissionStatus::Submitted.as_str();
    let mut rows = Vec::new();
    for ((_, industry, _, schema, scores, certified, _), &enterprise_id) in
        scored.iter().zip(&enterprise_ids)
    {
        for (j, score) in scores.iter().enumerate() {
            let latest = j + 1 == scores.len();
            rows.push((
                (
                    submissions::enterprise_id.eq(enterprise_id),
                    submissions::schema_id.eq("cca-good-enterprise"),
                    submissions::version.eq("2024"),
                    submissions::schema_hash.eq(hash.as_str()),
                    submissions::industry_code.eq(industry.as_str()),
                    submissions::profile_id.eq(schema
                        .resolved
                        .profile
                        .as_ref()
                        .map(|p| p.id.as_str())),
                    submissions::status.eq(if latest && *certified {
                        approved
                    } else {
                        submitted
                    }),
                ),
                (
                    submissions::revision.eq(2),
                    submissions::created_by.eq(admin),
                    submissions::created_at.eq(at),
                    submissions::updated_at.eq(at),
                    submissions::submitted_at.eq(at),
                    submissions::score_total.eq(score.total),
                    submissions::score_level.eq(score.level.as_str()),
                ),
            ));
        }
    }
    let submission_ids =
        insert_rows_returning!(conn, submissions::table, rows, 14, submissions::id);

    let mut ids = submission_ids.iter();
    let (mut themes, mut criteria, mut latest, mut latest_themes) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for ((_, industry, region, _, scores, _, _), &enterprise_id) in
        scored.iter().zip(&enterprise_ids)
    {
        for (j, score) in scores.iter().enumerate() {
            let id = *ids
                .next()
                .ok_or_else(|| AppError::internal("fewer ids than rows"))?;
            themes.extend(recorded_themes(score).map(|t| {
                (
                    sts::submission_id.eq(id),
                    sts::theme_id.eq(t.id.as_str()),
                    sts::score.eq(t.score),
                )
            }));
            criteria.extend(recorded_criteria(score).map(|c| {
                (
                    scr::submission_id.eq(id),
                    scr::criterion_id.eq(c.id.as_str()),
                    scr::fraction.eq(c.fraction),
                )
            }));
            if j + 1 == scores.len() {
                latest.push((
                    lsa::enterprise_id.eq(enterprise_id),
                    lsa::submission_id.eq(id),
                    lsa::industry_code.eq(industry.as_str()),
                    lsa::region_code.eq(region.as_str()),
                    lsa::score_total.eq(score.total),
                ));
                latest_themes.extend(recorded_themes(score).map(|t| {
                    (
                        lts::industry_code.eq(industry.as_str()),
                        lts::enterprise_id.eq(enterprise_id),
                        lts::theme_id.eq(t.id.as_str()),
                        lts::region_code.eq(region.as_str()),
                        lts::score.eq(t.score),
                    )
                }));
            }
        }
    }
    insert_rows!(conn, sts::table, themes, 3);
    insert_rows!(conn, scr::table, criteria, 3);
    insert_rows!(conn, lsa::table, latest, 5);
    insert_rows!(conn, lts::table, latest_themes, 5);

    let mut last = 0;
    for ((_, _, _, _, scores, certified, _), &enterprise_id) in scored.iter().zip(&enterprise_ids) {
        last += scores.len();
        let Some(score) = scores.last().filter(|_| *certified) else {
            continue;
        };
        let s = crate::db::submissions::find(conn, submission_ids[last - 1])?
            .ok_or(AppError::NotFound)?;
        let e = crate::db::enterprises::find(conn, enterprise_id)?.ok_or(AppError::NotFound)?;
        let schema = st.schemas.of(conn, &s)?;
        crate::certification::issue(
            conn,
            &st.signing,
            &st.settings.issuer(),
            crate::certification::Approved {
                submission: &s,
                enterprise: &e,
                schema: &schema,
                score,
            },
            admin,
        )?;
    }
    Ok(())
}

/// Adds `per_enterprise` complaints to every enterprise, received over the two years before
/// today, in every state of the workflow, for the scale benchmarks: the narrow rows, their
/// cases (without personal data) and their terms, in multi-row inserts, then the monthly
/// figures. Returns how many.
pub async fn seed_complaints(
    state: &AppState,
    per_enterprise: u64,
    seed: u64,
    progress: impl Fn(u64, u64),
) -> AppResult<u64> {
    use crate::db::complaints::{Case, Complaint};
    use crate::db::schema::{complaint_cases, complaint_terms, complaints, enterprises as e};
    const BATCH: usize = 1000;
    let (admin, firms) = state
        .db
        .read(|conn| {
            use crate::db::schema::users::dsl::*;
            let admin: i64 = users.filter(role.eq("admin")).select(id).first_row(conn)?;
            let firms: Vec<(i64, String, String)> = e::table
                .select((e::id, e::industry_code, e::region_code))
                .order(e::id)
                .load(conn)?;
            Ok((admin, firms))
        })
        .await?;
    let total = firms.len() as u64 * per_enterprise;
    let today = crate::complaints::today();
    let calendar = state.calendar.clone();
    let mut rng = Rng::new(seed ^ 0xC0FFEE);
    let mut pending: Vec<(Complaint, Case)> = Vec::with_capacity(BATCH);
    let mut done = 0u64;
    let states = [
        "forwarded",
        "acknowledged",
        "proposed",
        "reconciled",
        "not_reconciled",
        "closed",
    ];
    let categories = crate::domain::complaint::Category::ALL;
    let channels = crate::domain::complaint::Channel::ALL;
    let flush = |batch: Vec<(Complaint, Case)>| async move {
        state
            .db
            .write(move |conn| {
                let (rows, cases): (Vec<Complaint>, Vec<Case>) = batch.into_iter().unzip();
                // Multi-row inserts have no multi-backend form: run them on the concrete
                // connection.
                macro_rules! insert_all {
                    ($c:expr) => {{
                        let ids: Vec<i64> = diesel::insert_into(complaints::table)
                            .values(&rows)
                            .returning(complaints::id)
                            .get_results($c)?;
                        let cases: Vec<Case> = cases
                            .into_iter()
                            .zip(&ids)
                            .map(|(c, id)| Case {
                                complaint_id: *id,
                                ..c
                            })
                            .collect();
                        diesel::insert_into(complaint_cases::table)
                            .values(&cases)
                            .execute($c)?;
                        let terms: Vec<_> = ids
                            .iter()
                            .map(|id| {
                                (
                                    complaint_terms::complaint_id.eq(*id),
                                    complaint_terms::acknowledge_days.eq(3),
                                    complaint_terms::proposal_days.eq(10),
                                )
                            })
                            .collect();
                        diesel::insert_into(complaint_terms::table)
                            .values(&terms)
                            .execute($c)?;
                        ids
                    }};
                }
                let ids = match conn {
                    AnyConnection::Sqlite(c) => insert_all!(c),
                    AnyConnection::Postgresql(c) => insert_all!(c),
                };
                Ok(ids.len() as u64)
            })
            .await
    };
    for (enterprise, industry, region) in firms {
        for _ in 0..per_enterprise {
            let received = today - chrono::Duration::days(rng.below(730) as i64);
            let state = *rng.pick(&states);
            let acknowledge_due = calendar.add_working_days(received, 3);
            let acknowledged = (state != "forwarded")
                .then(|| calendar.add_working_days(received, 1 + rng.below(5) as u32));
            let closed = (state == "closed")
                .then(|| received + chrono::Duration::days(5 + rng.below(40) as i64));
            let outcome = (state == "closed").then(|| {
                if rng.below(10) < 7 {
                    "reconciled"
                } else {
                    "not_reconciled"
                }
                .to_owned()
            });
            let at = now();
            pending.push((
                Complaint {
                    id: 0,
                    reference: format!("TSDEMO{}", uuid::Uuid::new_v4().simple()),
                    enterprise_id: enterprise,
                    industry_code: industry.clone(),
                    region_code: region.clone(),
                    category: rng.pick(categories).as_str().to_owned(),
                    channel: rng.pick(channels).as_str().to_owned(),
                    amount_fen: Some(rng.below(1_000_000) as i64),
                    received_on: received,
                    state: state.to_owned(),
                    outcome,
                    acknowledge_due,
                    acknowledged_on: acknowledged,
                    proposal_due: acknowledged.map(|a| calendar.add_working_days(a, 10)),
                    closed_on: closed,
                    incident_id: None,
                },
                Case {
                    complaint_id: 0,
                    personal: None,
                    proposal: None,
                    proposed_on: None,
                    rejection_reason: None,
                    reopen_until: closed,
                    reopened: 0,
                    reminded_stage: None,
                    escalated_stage: None,
                    escalated_at: None,
                    recorded_by: admin,
                    officer_id: None,
                    external_ref: None,
                    erased_at: Some(at),
                    created_at: at,
                    updated_at: at,
                },
            ));
            if pending.len() == BATCH {
                done += flush(std::mem::take(&mut pending)).await?;
                progress(done, total);
            }
        }
    }
    if !pending.is_empty() {
        done += flush(pending).await?;
        progress(done, total);
    }
    // The multi-row inserts bypassed the monthly figures: count them once, at the end.
    state.db.write(crate::db::complaint_months::rebuild).await?;
    Ok(done)
}
