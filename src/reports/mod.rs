//! PDF rendering: self-assessment reports and certificates, in Chinese (default) or English,
//! with an embedded, subset CJK font. Rendering is pure: the same data gives the same bytes.

pub mod certificate;
pub mod data;
mod documents;
pub mod layout;
pub mod report;

pub use documents::*;

/// Report language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some(l) if l.starts_with("en") => Self::En,
            _ => Self::Zh,
        }
    }

    /// Picks the text for this language.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Self::Zh => zh,
            Self::En => en,
        }
    }
}
