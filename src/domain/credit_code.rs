//! The unified social credit code (统一社会信用代码, GB 32100-2015) that identifies an enterprise.

use std::fmt;

/// The 31 characters a credit code may use (no I, O, Z, S, V).
pub const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// An 18-character credit code whose check character is correct.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CreditCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    #[error("must be 18 characters, found {0}")]
    Length(usize),
    #[error(
        "character {position} ({found:?}) is not allowed; use digits and the letters ABCDEFGHJKLMNPQRTUWXY"
    )]
    Character { position: usize, found: char },
    #[error("check character is {found:?}, expected {expected:?}")]
    Check { found: char, expected: char },
}

fn value_of(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// The check character for the first 17 characters, which must be in [`ALPHABET`].
fn check_char(body: &[u8]) -> Option<char> {
    let mut sum = 0;
    for (c, w) in body.iter().zip(WEIGHTS) {
        sum += value_of(*c)? * w;
    }
    let check = (31 - sum % 31) % 31;
    Some(ALPHABET[check as usize] as char)
}

impl CreditCode {
    /// Parses a code; lower-case letters and surrounding blanks are accepted and normalised.
    pub fn parse(input: &str) -> Result<Self, CreditCodeError> {
        let code = super::text::identifier(input).to_ascii_uppercase();
        let count = code.chars().count();
        if count != 18 {
            return Err(CreditCodeError::Length(count));
        }
        if let Some((i, c)) = code
            .chars()
            .enumerate()
            .find(|(_, c)| !c.is_ascii() || value_of(*c as u8).is_none())
        {
            return Err(CreditCodeError::Character {
                position: i + 1,
                found: c,
            });
        }
        let bytes = code.as_bytes();
        let expected = check_char(&bytes[..17]).ok_or(CreditCodeError::Length(count))?;
        let found = bytes[17] as char;
        if found != expected {
            return Err(CreditCodeError::Check { found, expected });
        }
        Ok(Self(code))
    }

    /// Completes 17 valid characters with their check character (for fixtures and demo data).
    pub fn complete(body: &str) -> Result<Self, CreditCodeError> {
        let body = body.to_ascii_uppercase();
        if body.len() != 17 {
            return Err(CreditCodeError::Length(body.len() + 1));
        }
        let check = check_char(body.as_bytes()).ok_or(CreditCodeError::Length(18))?;
        Self::parse(&format!("{body}{check}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_published_examples() {
        // The example code of the GB 32100 explanatory material.
        let code = "91350100M000100Y43";
        CreditCode::parse(code).unwrap_or_else(|e| panic!("{code}: {e}"));
    }

    #[test]
    fn explains_what_is_wrong() {
        assert_eq!(CreditCode::parse("123"), Err(CreditCodeError::Length(3)));
        assert!(matches!(
            CreditCode::parse("91350100M000100YI3"),
            Err(CreditCodeError::Character {
                position: 17,
                found: 'I'
            })
        ));
        assert!(matches!(
            CreditCode::parse("91350100M000100Y44"),
            Err(CreditCodeError::Check {
                found: '4',
                expected: '3'
            })
        ));
    }

    #[test]
    fn check_value_31_means_zero() {
        // Find a body whose sum is a multiple of 31 and check that its check character is '0'.
        let body = (0..ALPHABET.len())
            .map(|i| format!("9111000010000444{}", ALPHABET[i] as char))
            .find(|b| {
                let sum: u32 = b
                    .bytes()
                    .zip(WEIGHTS)
                    .map(|(c, w)| value_of(c).unwrap_or(0) * w)
                    .sum();
                sum.is_multiple_of(31)
            })
            .expect("the weight 28 is invertible mod 31, so one last character fits");
        assert!(CreditCode::complete(&body).unwrap().as_str().ends_with('0'));
    }

    fn body() -> impl Strategy<Value = String> {
        proptest::collection::vec(0..31usize, 17)
            .prop_map(|v| v.into_iter().map(|i| ALPHABET[i] as char).collect())
    }

    proptest! {
        #[test]
        fn completed_codes_parse(b in body()) {
            let code = CreditCode::complete(&b).unwrap();
            prop_assert_eq!(CreditCode::parse(code.as_str()), Ok(code.clone()));
            prop_assert_eq!(CreditCode::parse(&code.as_str().to_ascii_lowercase()), Ok(code));
        }

        #[test]
        fn any_single_substitution_is_rejected(b in body(), pos in 0..18usize, delta in 1..31usize) {
            let code = CreditCode::complete(&b).unwrap();
            let mut bytes = code.as_str().as_bytes().to_vec();
            let old = value_of(bytes[pos]).unwrap() as usize;
            bytes[pos] = ALPHABET[(old + delta) % 31];
            let mutated = String::from_utf8(bytes).unwrap();
            prop_assert!(CreditCode::parse(&mutated).is_err());
        }
    }
}
