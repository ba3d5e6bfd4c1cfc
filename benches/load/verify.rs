//! After a SIGKILL: every acknowledged write is in the database, which is intact, and the audit chain verifies.

use super::*;

pub(crate) fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

pub(crate) fn verify(db: &FreshDatabase, ack: &Acknowledged) -> Res<()> {
    use csr_assess::db::schema::{answers, certificates, submissions};
    let mut conn = db.connect()?;
    let stored: Vec<(i64, String, String)> = answers::table
        .select((
            answers::submission_id,
            answers::criterion_id,
            answers::value,
        ))
        .load(&mut conn)?;
    let stored: HashMap<(i64, String), Value> = stored
        .into_iter()
        .map(|(s, c, v)| ((s, c), serde_json::from_str(&v).unwrap_or(Value::Null)))
        .collect();
    let mut lost = Vec::new();
    for (key, value) in &ack.answers {
        match stored.get(key) {
            Some(v) if same(v, value) => {}
            other => lost.push(format!(
                "answer {key:?}: acknowledged {value}, stored {other:?}"
            )),
        }
    }
    for (id, number) in &ack.certificates {
        let status: Option<String> = submissions::table
            .find(id)
            .select(submissions::status)
            .first(&mut conn)
            .optional()?;
        let cert: i64 = certificates::table
            .filter(certificates::number.eq(number))
            .filter(certificates::submission_id.eq(id))
            .count()
            .get_result(&mut conn)?;
        if status.as_deref() != Some("approved") || cert != 1 {
            lost.push(format!(
                "submission {id}: status {status:?}, certificate {number} rows {cert}"
            ));
        }
    }
    if lost.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} acknowledged writes missing:\n{}",
            lost.len(),
            lost.join("\n")
        )
        .into())
    }
}

/// `PRAGMA integrity_check` on a SQLite database (PostgreSQL keeps its own consistency).
pub(crate) fn integrity(db: &FreshDatabase) -> Res<()> {
    #[derive(QueryableByName)]
    struct Check {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    if db.is_postgres() {
        return Ok(());
    }
    let mut conn = db.connect()?;
    let rows: Vec<Check> = diesel::sql_query("PRAGMA integrity_check").load(&mut conn)?;
    let text: Vec<String> = rows.into_iter().map(|r| r.integrity_check).collect();
    if text == ["ok"] {
        Ok(())
    } else {
        Err(format!("integrity_check: {}", text.join("; ")).into())
    }
}

/// The audit chain verifies from the first entry to the last.
pub(crate) async fn audit_verifies(http: &Http, admin: &str) -> Res<i64> {
    let report = http
        .send(
            "audit_verify",
            Req::new(Method::GET, "/api/v1/audit/verify").token(admin),
        )
        .await?
        .expect("audit_verify", 200)?
        .json();
    if report["ok"] != true {
        return Err(format!("audit chain broken: {report}").into());
    }
    Ok(report["entries"].as_i64().unwrap_or_default())
}
