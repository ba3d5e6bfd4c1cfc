//! Certificate numbers: `CSR-<year>-<six-digit sequence>-<check character>`. The check
//! character uses the credit-code alphabet and a mod-31 weighted sum over the digits, so a
//! mistyped or transposed digit is caught before any lookup. And a certificate's statuses, with
//! the one table of changes between them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::credit_code::ALPHABET;

/// A certificate's stored status (`certificates.status`). `expired` is not stored: it is what
/// an active certificate shows after its expiry date ([`CertificateStatus::shown`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CertificateStatus {
    Active,
    Suspended,
    Revoked,
    /// A newer certificate of the same enterprise replaced it.
    Superseded,
    /// Shown only: active and past its expiry date.
    Expired,
}

/// What changes a certificate's status; each is an event in its history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateChange {
    Suspend,
    Reinstate,
    Revoke,
    /// The enterprise was issued a newer certificate.
    Supersede,
}

/// Every allowed change: from, by, to.
const CHANGES: &[(CertificateStatus, CertificateChange, CertificateStatus)] = {
    use CertificateChange::*;
    use CertificateStatus::*;
    &[
        (Active, Suspend, Suspended),
        (Suspended, Reinstate, Active),
        (Active, Revoke, Revoked),
        (Suspended, Revoke, Revoked),
        (Active, Supersede, Superseded),
    ]
};

impl CertificateStatus {
    pub const ALL: [Self; 5] = [
        Self::Active,
        Self::Suspended,
        Self::Revoked,
        Self::Superseded,
        Self::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
            Self::Superseded => "superseded",
            Self::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The status `change` leads to from this one, if it is allowed here.
    pub fn after(self, change: CertificateChange) -> Option<Self> {
        CHANGES
            .iter()
            .find(|(from, by, _)| *from == self && *by == change)
            .map(|(_, _, to)| *to)
    }

    /// The statuses `change` applies to.
    pub fn before(change: CertificateChange) -> Vec<Self> {
        CHANGES
            .iter()
            .filter(|(_, by, _)| *by == change)
            .map(|(from, _, _)| *from)
            .collect()
    }

    /// The status shown to people on `today`: an active certificate past `expires_on` is
    /// expired.
    pub fn shown(self, expires_on: NaiveDate, today: NaiveDate) -> Self {
        if self == Self::Active && expires_on < today {
            Self::Expired
        } else {
            self
        }
    }
}

impl std::fmt::Display for CertificateStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The stored TEXT, read at the database boundary: an unknown value is a database error.
impl TryFrom<String> for CertificateStatus {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| format!("unknown CertificateStatus {s:?}"))
    }
}

impl CertificateChange {
    /// The status the change leads to (the same from every status it applies to).
    pub fn to(self) -> CertificateStatus {
        CHANGES
            .iter()
            .find(|(_, by, _)| *by == self)
            .map(|(_, _, to)| *to)
            .expect("every change is in the table")
    }

    /// The event's name in the certificate's history and the audit log (`certificate.<event>`).
    pub fn event(self) -> &'static str {
        match self {
            Self::Suspend => "suspended",
            Self::Reinstate => "reinstated",
            Self::Revoke => "revoked",
            Self::Supersede => "superseded",
        }
    }
}

fn check_char(digits: &str) -> Option<char> {
    let mut sum: u32 = 0;
    let mut weight: u32 = 1;
    for c in digits.chars() {
        sum += c.to_digit(10)? * weight;
        weight = weight * 3 % 31;
    }
    Some(ALPHABET[((31 - sum % 31) % 31) as usize] as char)
}

/// The number of the `seq`-th certificate issued in `year`.
pub fn number(year: i32, seq: u32) -> String {
    let digits = format!("{year:04}{seq:06}");
    let check = check_char(&digits).unwrap_or('0');
    format!("CSR-{year:04}-{seq:06}-{check}")
}

/// Checks the shape and check character of a number (case-insensitive); returns it normalised.
pub fn parse(input: &str) -> Option<String> {
    let n = input.trim().to_ascii_uppercase();
    let parts: Vec<&str> = n.split('-').collect();
    let [prefix, year, seq, check] = parts.as_slice() else {
        return None;
    };
    if *prefix != "CSR"
        || year.len() != 4
        || seq.len() != 6
        || check.len() != 1
        || !year.bytes().chain(seq.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let expected = check_char(&format!("{year}{seq}"))?;
    check.starts_with(expected).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_statuses_and_changes() {
        use CertificateChange::*;
        use CertificateStatus::*;
        for st in CertificateStatus::ALL {
            assert_eq!(CertificateStatus::parse(st.as_str()), Some(st));
        }
        // Revoked and superseded are final, and nothing stores or leaves `expired`.
        for end in [Revoked, Superseded, Expired] {
            for c in [Suspend, Reinstate, Revoke, Supersede] {
                assert_eq!(end.after(c), None, "{end} {c:?}");
            }
        }
        assert!(
            CHANGES
                .iter()
                .all(|(_, by, to)| *to != Expired && by.to() == *to)
        );
        assert_eq!(
            Active.after(Suspend).and_then(|s| s.after(Reinstate)),
            Some(Active)
        );
        assert_eq!(CertificateStatus::before(Revoke), [Active, Suspended]);
        let day = |d| NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
        assert_eq!(Active.shown(day(2), day(3)), Expired);
        assert_eq!(Active.shown(day(3), day(3)), Active);
        assert_eq!(Suspended.shown(day(2), day(3)), Suspended);
    }
    use proptest::prelude::*;

    #[test]
    fn numbers_round_trip() {
        let n = number(2026, 123);
        assert!(n.starts_with("CSR-2026-000123-"), "{n}");
        assert_eq!(parse(&n), Some(n.clone()));
        assert_eq!(parse(&n.to_lowercase()), Some(n));
        assert_eq!(parse("CSR-2026-000123"), None);
        assert_eq!(parse("XYZ-2026-000123-K"), None);
    }

    proptest! {
        #[test]
        fn one_changed_digit_is_caught(year in 2000..2100i32, seq in 1..999_999u32, pos in 0..10usize, delta in 1..10u32) {
            let n = number(year, seq);
            let mut digits: Vec<char> = format!("{year:04}{seq:06}").chars().collect();
            digits[pos] = char::from_digit((digits[pos].to_digit(10).unwrap_or(0) + delta) % 10, 10).unwrap_or('0');
            let s: String = digits.iter().collect();
            let forged = format!("CSR-{}-{}-{}", &s[..4], &s[4..], n.chars().last().unwrap_or('0'));
            prop_assert_eq!(parse(&forged), None);
        }
    }
}
