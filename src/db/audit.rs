//! The append-only audit log: every state change is recorded with who, what and when.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::audit_log;
use super::{AnyConnection, now};
use crate::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    pub id: i64,
    pub occurred_at: NaiveDateTime,
    pub actor_user_id: Option<i64>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub enterprise_id: Option<i64>,
    pub request_id: Option<String>,
    pub details: String,
}

/// One event to append; `details` is a JSON object.
#[derive(Debug)]
pub struct Event<'a> {
    pub actor_user_id: Option<i64>,
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: String,
    pub enterprise_id: Option<i64>,
    pub request_id: Option<&'a str>,
    pub details: serde_json::Value,
}

pub fn append(conn: &mut AnyConnection, event: Event<'_>) -> AppResult<()> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::occurred_at.eq(now()),
            audit_log::actor_user_id.eq(event.actor_user_id),
            audit_log::action.eq(event.action),
            audit_log::entity_type.eq(event.entity_type),
            audit_log::entity_id.eq(event.entity_id),
            audit_log::enterprise_id.eq(event.enterprise_id),
            audit_log::request_id.eq(event.request_id),
            audit_log::details.eq(event.details.to_string()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Entries about one entity, oldest first.
pub fn for_entity(
    conn: &mut AnyConnection,
    entity_type: &str,
    entity_id: &str,
) -> AppResult<Vec<AuditEntry>> {
    Ok(audit_log::table
        .filter(audit_log::entity_type.eq(entity_type))
        .filter(audit_log::entity_id.eq(entity_id))
        .order(audit_log::id)
        .select(AuditEntry::as_select())
        .load(conn)?)
}
