//! Checking an answer against its criterion before it is stored.

use serde_json::Value as Json;

use super::schema::{Criterion, Kind};
use super::scoring::{Answer, Value};

/// The longest free-text answer, not-applicable reason or comment accepted, in characters (see
/// docs/SCHEMAS.md): a report with every such field at this length renders in well under 100 ms.
pub const MAX_TEXT_CHARS: usize = 5_000;

/// Turns a submitted JSON value (and N/A reason) into an engine answer, or explains why it does
/// not fit the criterion.
pub fn parse(c: &Criterion, value: &Json, na_reason: Option<&str>) -> Result<Answer, String> {
    if value.is_null() {
        if !c.not_applicable_allowed {
            return Err("this criterion cannot be answered not applicable".into());
        }
        return match na_reason.map(str::trim) {
            Some(r) if !r.is_empty() && r.chars().count() <= MAX_TEXT_CHARS => {
                Ok(Answer::NotApplicable)
            }
            Some(r) if !r.is_empty() => Err(format!(
                "the reason is longer than {MAX_TEXT_CHARS} characters"
            )),
            _ => Err("not applicable needs a not_applicable_reason".into()),
        };
    }
    if na_reason.is_some() {
        return Err("not_applicable_reason goes with a null value only".into());
    }
    let v = match c.kind {
        Kind::YesNo => Value::Bool(value.as_bool().ok_or("expected true or false")?),
        Kind::Maturity => {
            let n = value
                .as_u64()
                .filter(|n| *n <= 4)
                .ok_or("expected an integer from 0 (none) to 4 (measured and improved)")?;
            Value::Number(n as f64)
        }
        Kind::SingleChoice => {
            let id = value.as_str().ok_or("expected one option id")?;
            check_option(c, id)?;
            Value::Text(id.to_owned())
        }
        Kind::MultipleChoice => {
            let items = value.as_array().ok_or("expected an array of option ids")?;
            let mut ids = Vec::with_capacity(items.len());
            for item in items {
                let id = item.as_str().ok_or("expected an array of option ids")?;
                check_option(c, id)?;
                if ids.iter().any(|x: &String| x == id) {
                    return Err(format!("option {id:?} is given twice"));
                }
                ids.push(id.to_owned());
            }
            Value::Choices(ids)
        }
        Kind::Measured => {
            let x = value
                .as_f64()
                .filter(|x| x.is_finite())
                .ok_or("expected a number")?;
            if x < 0.0 {
                return Err("expected a number of 0 or more".into());
            }
            Value::Number(x)
        }
        Kind::FreeText => {
            let text = value.as_str().ok_or("expected text")?;
            if text.chars().count() > MAX_TEXT_CHARS {
                return Err(format!("expected at most {MAX_TEXT_CHARS} characters"));
            }
            Value::Text(text.to_owned())
        }
    };
    Ok(Answer::Given(v))
}

fn check_option(c: &Criterion, id: &str) -> Result<(), String> {
    if c.options.iter().any(|o| o.id == id) {
        Ok(())
    } else {
        let ids: Vec<&str> = c.options.iter().map(|o| o.id.as_str()).collect();
        Err(format!(
            "{id:?} is not an option; use one of {}",
            ids.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::schema::SchemaDoc;
    use serde_json::json;

    fn c(id: &str) -> Criterion {
        let d: SchemaDoc =
            serde_json::from_str(include_str!("../../schemas/cca-good-enterprise/2024.json"))
                .expect("2024");
        d.criterion(id).cloned().expect(id)
    }

    #[test]
    fn values_must_fit_the_kind() {
        assert!(parse(&c("lawful.no_unfair_conditions"), &json!(true), None).is_ok());
        assert!(parse(&c("lawful.no_unfair_conditions"), &json!("yes"), None).is_err());
        assert!(parse(&c("lawful.compliance_system"), &json!(4), None).is_ok());
        assert!(parse(&c("lawful.compliance_system"), &json!(5), None).is_err());
        assert!(parse(&c("lawful.compliance_system"), &json!(2.5), None).is_err());
        assert!(parse(&c("disputes.complaint_channel"), &json!("multi"), None).is_ok());
        assert!(
            parse(
                &c("disputes.complaint_channel"),
                &json!("carrier pigeon"),
                None
            )
            .is_err()
        );
        assert!(
            parse(
                &c("fair_trade.prepaid_rules"),
                &json!(["balance_query"]),
                None
            )
            .is_ok()
        );
        assert!(
            parse(
                &c("fair_trade.prepaid_rules"),
                &json!(["balance_query", "balance_query"]),
                None
            )
            .is_err()
        );
        assert!(parse(&c("disputes.response_time"), &json!(97.5), None).is_ok());
        assert!(parse(&c("disputes.response_time"), &json!(-1), None).is_err());
        assert!(parse(&c("sustainability.report"), &json!("我们……"), None).is_ok());
    }

    #[test]
    fn not_applicable_needs_permission_and_a_reason() {
        let na_ok = c("safety.venue_safety");
        assert_eq!(
            parse(&na_ok, &json!(null), Some("no premises")),
            Ok(Answer::NotApplicable)
        );
        assert!(parse(&na_ok, &json!(null), None).is_err());
        assert!(parse(&na_ok, &json!(null), Some("  ")).is_err());
        assert!(parse(&na_ok, &json!(true), Some("why")).is_err());
        assert!(parse(&c("lawful.no_fraud_penalty"), &json!(null), Some("because")).is_err());
    }
}
