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

/// Whether `c` must not appear in a name because it shows as nothing or as something else:
/// Unicode's `Default_Ignorable_Code_Point` (zero-width characters, bidirectional controls,
/// Hangul fillers, variation selectors, tag characters, the soft hyphen …), every other control
/// or format character, line and paragraph separators, private-use, surrogate and unassigned
/// code points, and the braille pattern blank, which renders as an empty cell.
fn forbidden_in_name(c: char) -> bool {
    use icu_properties::props::{
        BinaryProperty, DefaultIgnorableCodePoint, EnumeratedProperty, GeneralCategory as Gc,
    };
    DefaultIgnorableCodePoint::for_char(c)
        || c == '\u{2800}'
        || matches!(
            Gc::for_char(c),
            Gc::Control
                | Gc::Format
                | Gc::LineSeparator
                | Gc::ParagraphSeparator
                | Gc::PrivateUse
                | Gc::Surrogate
                | Gc::Unassigned
        )
}

/// A name (of an enterprise or a person): NFC, spaces of every kind (no-break, ideographic …)
/// as U+0020, trimmed, 1 to `max` characters, without invisible or formatting characters.
pub fn name(input: &str, max: usize) -> Result<String, String> {
    let name = input
        .nfc()
        .map(|c| {
            if c.is_whitespace() && !c.is_control() {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .trim()
        .to_owned();
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

/// Free text over several lines (a complaint, a proposal, a reason): NFC, line breaks kept as
/// `\n`, other control and invisible formatting characters refused, trimmed, 1 to `max`
/// characters.
pub fn paragraph(input: &str, max: usize) -> Result<String, String> {
    let text = input
        .replace("\r\n", "\n")
        .nfc()
        .map(|c| {
            if c.is_whitespace() && c != '\n' && !c.is_control() {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .trim()
        .to_owned();
    if let Some(c) = text.chars().find(|c| *c != '\n' && forbidden_in_name(*c)) {
        return Err(format!(
            "must not contain control or invisible formatting characters (found U+{:04X})",
            c as u32
        ));
    }
    let count = text.chars().count();
    if count == 0 || count > max {
        return Err(format!("must be 1 to {max} characters"));
    }
    Ok(text)
}

/// An uploaded file's name as stored and shown: its last path component (no `/` or `\\`),
/// without invisible, control or bidirectional characters (so `发票\u{202E}gpj.pdf` cannot pass
/// for a picture), spaces folded as in names, trimmed; `evidence` when nothing is left.
pub fn filename(input: &str) -> String {
    let base = input.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base
        .nfc()
        .filter(|c| !forbidden_in_name(*c))
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    let clean = clean.trim().trim_start_matches('.').trim();
    if clean.is_empty() {
        "evidence".to_owned()
    } else {
        clean.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_lose_paths_and_invisible_characters() {
        for (given, stored) in [
            ("../../../../etc/cron.d/x.pdf", "x.pdf"),
            ("C:\\Windows\\x.pdf", "x.pdf"),
            ("发票 \u{202E}gpj.pdf", "发票 gpj.pdf"),
            ("a\tb.pdf", "ab.pdf"),
            ("..", "evidence"),
            ("/", "evidence"),
            ("营业执照.png", "营业执照.png"),
        ] {
            assert_eq!(filename(given), stored, "{given:?}");
        }
    }

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
            // What the December review found accepted.
            "a\u{00AD}b",
            "a\u{034F}b",
            "a\u{115F}b",
            "a\u{180E}b",
            "a\u{2800}b",
            "Beta\u{3164}食品有限公司",
            "a\u{FE0F}b",
            "a\u{E0041}b",
            "a\u{FFA0}b",
            "a\u{E000}b",
        ] {
            assert!(name(bad, 200).is_err(), "{bad:?}");
        }
        assert_eq!(
            name("杭州\u{3000}放心\u{A0}食品", 200).unwrap(),
            "杭州 放心 食品"
        );
        assert!(name("   ", 200).is_err());
        assert!(name(&"名".repeat(201), 200).is_err());
        assert!(name(&"名".repeat(200), 200).is_ok());
    }
}
