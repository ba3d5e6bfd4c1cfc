//! Synthetic demonstration data: enterprises with valid credit codes and real GB/T 4754 and
//! GB/T 2260 codes, scored self-assessments on the 2024 schema, and certificates for the best
//! of them. Deterministic for a given seed.

use std::collections::HashMap;
use std::sync::Arc;

use diesel::prelude::*;

use crate::db::schema::{enterprises, submissions};
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
                .first::<i64>(conn)?)
        })
        .await?;
    let existing: i64 = state
        .db
        .read(|conn| Ok(enterprises::table.count().get_result(conn)?))
        .await?;
    let mut done = 0;
    while done < enterprises {
        let n = BATCH.min(enterprises - done);
        let plan: Vec<(String, String, String, u64, Vec<u64>)> = (0..n)
            .map(|i| {
                let serial = existing as u64 + done + i + 1;
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
        let st = state.clone();
        state
            .db
            .write(move |conn| write_batch(conn, &st, admin, plan))
            .await?;
        done += n;
        progress(done, enterprises);
    }
    let st = state.clone();
    state
        .db
        .write(move |conn| {
            let _ = &st;
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

fn write_batch(conn: &mut AnyConnection, st: &AppState, admin: i64, plan: Plan) -> AppResult<()> {
    let mut schemas: HashMap<String, Arc<ResolvedSchema>> = HashMap::new();
    let hash = crate::db::schema_versions::find(conn, "cca-good-enterprise", "2024")?
        .ok_or(AppError::NotFound)?
        .content_hash;
    for (i, (code, industry, region, quality, seeds)) in plan.into_iter().enumerate() {
        let at = now();
        let name = format!("示例企业{}有限公司", &code[10..17]);
        let enterprise_id = crate::db::enterprises::insert(
            conn,
            &crate::db::enterprises::NewEnterprise {
                credit_code: &code,
                name: &name,
                industry_code: &industry,
                region_code: &region,
                size: ["large", "medium", "small", "micro"][i % 4],
                contact_email: "demo@example.com",
                created_at: at,
            },
        )?;
        let schema = match schemas.get(&industry) {
            Some(s) => s.clone(),
            None => {
                let s =
                    st.schemas
                        .get(conn, "cca-good-enterprise", "2024", Some(&hash), &industry)?;
                schemas.insert(industry.clone(), s.clone());
                s
            }
        };
        let count = seeds.len();
        for (j, s) in seeds.into_iter().enumerate() {
            let mut rng = Rng::new(s);
            let answers: HashMap<String, Answer> = schema
                .criteria
                .iter()
                .filter_map(|c| answer(c, quality, &mut rng).map(|a| (c.id.clone(), a)))
                .collect();
            let evidence = schema.criteria.iter().map(|c| c.id.clone()).collect();
            let r = &schema.resolved;
            let score = scoring::score(&r.themes, &schema.criteria, &r.levels, &answers, &evidence);
            let id = crate::db::submissions::insert(
                conn,
                &crate::db::submissions::NewSubmission {
                    enterprise_id,
                    schema_id: "cca-good-enterprise",
                    version: "2024",
                    schema_hash: &hash,
                    industry_code: &industry,
                    profile_id: r.profile.as_ref().map(|p| p.id.as_str()),
                    status: SubmissionStatus::Draft.as_str(),
                    revision: 1,
                    created_by: admin,
                    created_at: at,
                    updated_at: at,
                },
            )?;
            crate::db::submissions::record_submitted(conn, id, &score)?;
            let latest = j + 1 == count;
            if latest {
                crate::db::submissions::refresh_latest(conn, id)?;
            }
            if latest && score.level != NOT_CERTIFIED {
                diesel::update(submissions::table.find(id))
                    .set(submissions::status.eq(SubmissionStatus::Approved.as_str()))
                    .execute(conn)?;
                let s = crate::db::submissions::find(conn, id)?.ok_or(AppError::NotFound)?;
                // Synthetic enterprises count as checked by the administrator (they have no
                // licence file).
                diesel::update(crate::db::schema::enterprises::table.find(enterprise_id))
                    .set((
                        crate::db::schema::enterprises::verified_at.eq(crate::db::now()),
                        crate::db::schema::enterprises::verified_by.eq(admin),
                    ))
                    .execute(conn)?;
                let e =
                    crate::db::enterprises::find(conn, enterprise_id)?.ok_or(AppError::NotFound)?;
                crate::certification::issue(
                    conn,
                    &st.signing,
                    &st.settings.issuer(),
                    &s,
                    &e,
                    &score,
                    admin,
                )?;
            }
        }
    }
    Ok(())
}
