//! Text hygiene at the boundary. Identifiers (credit codes, industry and region codes, e-mail
//! addresses) are NFKC-normalised, so full-width input such as `９１３３…` is the same code as its
//! ASCII form. Names are NFC-normalised for storage, so a letter typed with a combining accent
//! equals the precomposed one, and may not carry control or invisible formatting characters:
//! bidirectional overrides in particular can make a name display as something it is not.

use unicode_normalization::UnicodeNormalization;

/// An identifier as typed, NFKC-normalised and trimmed.
pub fn identifier(input: &str) -> String {
    input.nfkc().collect::<String>().trim().to_owned()
}

/// Whether `c` must not appear in a name: control characters, bidirectional embeddings,
/// overrides, isolates and marks, zero-width characters, the byte-order mark and the
/// line and paragraph separators.
fn forbidden_in_name(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// A name (of an enterprise or a person): NFC, trimmed, 1 to `max` characters, without
/// control or invisible formatting characters.
pub fn name(input: &str, max: usize) -> Result<String, String> {
    let name = input.nfc().collect::<String>().trim().to_owned();
    if let Some(c) = name.chars().find(|c| forbidden_in_name(*c)) {
        return Err(format!(
            "must not contain control or invisible formatting characters (found U+{:04X})",
            c as u32
        ));
    }
    let count = name.chars().count();
    if count == 0 || count > max {
        return Err(format!("must be 1 to {max} characters"));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_fold_full_width_forms() {
        assert_eq!(identifier(" ９１３３０１０６ＭＡ "), "91330106MA");
        assert_eq!(identifier("Ｃ１４９１"), "C1491");
    }

    #[test]
    fn names_are_composed_and_clean() {
        assert_eq!(
            name(" Cafe\u{301} 有限公司 ", 200).unwrap(),
            "Café 有限公司"
        );
        assert_eq!(
            name("杭州放心食品有限公司", 200).unwrap(),
            "杭州放心食品有限公司"
        );
        for bad in [
            "a\u{202E}b",
            "a\u{2067}b",
            "a\u{7}b",
            "a\nb",
            "a\u{200B}b",
            "\u{FEFF}a",
        ] {
            assert!(name(bad, 200).is_err(), "{bad:?}");
        }
        assert!(name("   ", 200).is_err());
        assert!(name(&"名".repeat(201), 200).is_err());
        assert!(name(&"名".repeat(200), 200).is_ok());
    }
}
