//! Enterprise attributes: GB/T 4754-2017 industry code, GB/T 2260 region code, size class.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// GB/T 4754-2017 sections and divisions, shipped as data in `schemas/reference/`.
pub const INDUSTRIES_JSON: &str = include_str!("../../schemas/reference/gbt4754-2017.json");
/// GB/T 2260 province-level codes, shipped as data in `schemas/reference/`.
pub const PROVINCES_JSON: &str = include_str!("../../schemas/reference/gbt2260-provinces.json");

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Named {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Section {
    pub code: String,
    pub name: super::label::Text,
    pub divisions: Vec<Named>,
}

#[derive(Debug, Deserialize)]
struct IndustryData {
    sections: Vec<Section>,
}

#[derive(Debug, Deserialize)]
struct ProvinceData {
    provinces: Vec<Named>,
}

/// The GB/T 4754-2017 sections with their divisions.
pub fn industry_sections() -> &'static [Section] {
    static DATA: OnceLock<Vec<Section>> = OnceLock::new();
    DATA.get_or_init(|| {
        serde_json::from_str::<IndustryData>(INDUSTRIES_JSON)
            .map(|d| d.sections)
            .unwrap_or_default()
    })
}

/// The GB/T 2260 provinces.
pub fn provinces() -> &'static [Named] {
    static DATA: OnceLock<Vec<Named>> = OnceLock::new();
    DATA.get_or_init(|| {
        serde_json::from_str::<ProvinceData>(PROVINCES_JSON)
            .map(|d| d.provinces)
            .unwrap_or_default()
    })
}

/// An industry code: a section letter followed by a division (2 digits), group (3) or class (4),
/// e.g. `C`, `C14`, `C149`, `C1491`. The division must belong to the section.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IndustryCode(String);

impl IndustryCode {
    pub fn parse(input: &str) -> Result<Self, String> {
        let code = super::text::identifier(input).to_ascii_uppercase();
        let mut chars = code.chars();
        let section = chars.next().ok_or("must not be empty")?;
        let digits = chars.as_str();
        let entry = industry_sections()
            .iter()
            .find(|s| s.code.starts_with(section))
            .ok_or("must start with a GB/T 4754 section letter A–T")?;
        if digits.is_empty() {
            return Ok(Self(code));
        }
        if !(2..=4).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be a section letter followed by 2 to 4 digits, e.g. C1491".into());
        }
        let division = &digits[..2];
        if !entry.divisions.iter().any(|d| d.code == division) {
            let first = entry.divisions.first().map_or("", |d| d.code.as_str());
            let last = entry.divisions.last().map_or("", |d| d.code.as_str());
            return Err(format!(
                "division {division} is not in section {section} ({first}–{last})"
            ));
        }
        Ok(Self(code))
    }

    /// A class-level code (section letter and four digits), as an enterprise registers with:
    /// industry profiles are chosen by class, so a coarser code would silently match none.
    pub fn parse_class(input: &str) -> Result<Self, String> {
        let code = Self::parse(input)?;
        if code.0.len() == 5 {
            return Ok(code);
        }
        let example = if code.0.len() == 1 {
            format!("{}xxxx", code.0)
        } else {
            format!("{}{}", code.0, "x".repeat(5 - code.0.len()))
        };
        Err(format!(
            "must be a GB/T 4754-2017 class code of four digits, {example} (e.g. C3811): \
             the assessment's industry profile is chosen by class"
        ))
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
        let code = super::text::identifier(input);
        let code = code.as_str();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be a six-digit GB/T 2260 code, e.g. 330106".into());
        }
        Self::check_province(code)?;
        Ok(Self(code.to_owned()))
    }

    /// A region prefix for scopes: 2, 4 or 6 digits starting with a valid province.
    pub fn parse_prefix(input: &str) -> Result<String, String> {
        let code = super::text::identifier(input);
        let code = code.as_str();
        if ![2, 4, 6].contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be a GB/T 2260 prefix of 2, 4 or 6 digits, e.g. 33".into());
        }
        Self::check_province(code)?;
        Ok(code.to_owned())
    }

    fn check_province(code: &str) -> Result<(), String> {
        if provinces().iter().any(|p| p.code == code[..2]) {
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
    fn reference_data_is_complete() {
        assert_eq!(industry_sections().len(), 20);
        assert_eq!(
            industry_sections()
                .iter()
                .map(|s| s.divisions.len())
                .sum::<usize>(),
            97
        );
        assert_eq!(provinces().len(), 34);
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
