//! Certificate numbers: `CSR-<year>-<six-digit sequence>-<check character>`. The check
//! character uses the credit-code alphabet and a mod-31 weighted sum over the digits, so a
//! mistyped or transposed digit is caught before any lookup.

use super::credit_code::ALPHABET;

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
