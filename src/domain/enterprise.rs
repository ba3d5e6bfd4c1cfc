//! Enterprise attributes: GB/T 4754-2017 industry code, GB/T 2260 region code, size class.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// GB/T 4754-2017 sections with the first and last of their two-digit divisions.
const SECTIONS: [(char, u8, u8); 20] = [
    ('A', 1, 5),
    ('B', 6, 12),
    ('C', 13, 43),
    ('D', 44, 46),
    ('E', 47, 50),
    ('F', 51, 52),
    ('G', 53, 60),
    ('H', 61, 62),
    ('I', 63, 65),
    ('J', 66, 69),
    ('K', 70, 70),
    ('L', 71, 72),
    ('M', 73, 75),
    ('N', 76, 79),
    ('O', 80, 82),
    ('P', 83, 83),
    ('Q', 84, 85),
    ('R', 86, 90),
    ('S', 91, 96),
    ('T', 97, 97),
];

/// GB/T 2260 province-level codes (the first two digits of a region code).
const PROVINCES: [&str; 34] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
    "81", "82",
];

/// An industry code: a section letter followed by a division (2 digits), group (3) or class (4),
/// e.g. `C`, `C14`, `C149`, `C1491`. The division must belong to the section.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IndustryCode(String);

impl IndustryCode {
    pub fn parse(input: &str) -> Result<Self, String> {
        let code = input.trim().to_ascii_uppercase();
        let mut chars = code.chars();
        let section = chars.next().ok_or("must not be empty")?;
        let digits = chars.as_str();
        let &(_, first, last) = SECTIONS
            .iter()
            .find(|(s, ..)| *s == section)
            .ok_or("must start with a GB/T 4754 section letter A–T")?;
        if digits.is_empty() {
            return Ok(Self(code));
        }
        if !(2..=4).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be a section letter followed by 2 to 4 digits, e.g. C1491".into());
        }
        let division: u8 = digits[..2].parse().map_err(|_| "invalid division")?;
        if !(first..=last).contains(&division) {
            return Err(format!(
                "division {division:02} is not in section {section} ({first:02}–{last:02})"
            ));
        }
        Ok(Self(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this code lies under `prefix` (a code or a shorter prefix of one).
    pub fn is_under(&self, prefix: &str) -> bool {
        self.0.starts_with(&prefix.to_ascii_uppercase())
    }
}

/// A six-digit GB/T 2260 administrative division code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegionCode(String);

impl RegionCode {
    pub fn parse(input: &str) -> Result<Self, String> {
        let code = input.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be a six-digit GB/T 2260 code, e.g. 330106".into());
        }
        Self::check_province(code)?;
        Ok(Self(code.to_owned()))
    }

    /// A region prefix for scopes: 2, 4 or 6 digits starting with a valid province.
    pub fn parse_prefix(input: &str) -> Result<String, String> {
        let code = input.trim();
        if ![2, 4, 6].contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be a GB/T 2260 prefix of 2, 4 or 6 digits, e.g. 33".into());
        }
        Self::check_province(code)?;
        Ok(code.to_owned())
    }

    fn check_province(code: &str) -> Result<(), String> {
        if PROVINCES.contains(&&code[..2]) {
            Ok(())
        } else {
            Err(format!("{} is not a GB/T 2260 province code", &code[..2]))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Enterprise size class (大型 / 中型 / 小型 / 微型).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Size {
    Large,
    Medium,
    Small,
    Micro,
}

impl Size {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Large => "large",
            Self::Medium => "medium",
            Self::Small => "small",
            Self::Micro => "micro",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Large, Self::Medium, Self::Small, Self::Micro]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn industry_codes() {
        for ok in ["C", "c14", "C1491", "K70", "F5292", "J66", "D44", "C385"] {
            assert!(IndustryCode::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Z", "C12", "K71", "C1", "C14911", "C1A"] {
            assert!(IndustryCode::parse(bad).is_err(), "{bad}");
        }
        assert!(IndustryCode::parse("C1491").unwrap().is_under("C14"));
    }

    #[test]
    fn region_codes() {
        assert!(RegionCode::parse("330106").is_ok());
        assert!(RegionCode::parse("990106").is_err());
        assert!(RegionCode::parse("33010").is_err());
        assert_eq!(RegionCode::parse_prefix("33").as_deref(), Ok("33"));
        assert!(RegionCode::parse_prefix("333").is_err());
    }
}
