//! Entity tags as `If-Match` carries them (RFC 9110, section 13.1.1).

/// The entity tags of an `If-Match` value: `["*"]` for `*`, otherwise each `"…"` or `W/"…"`
/// of the comma-separated list, quotes and prefix included (a tag may itself contain a comma);
/// `None` when the value is neither.
pub fn if_match_tags(value: &str) -> Option<Vec<&str>> {
    let v = value.trim_matches([' ', '\t']);
    if v == "*" {
        return Some(vec!["*"]);
    }
    let bytes = v.as_bytes();
    let mut tags = Vec::new();
    let mut i = 0;
    loop {
        // Whitespace and empty list elements ("a", , "b") between tags.
        while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b',') {
            i += 1;
        }
        if i == bytes.len() {
            break;
        }
        let start = i;
        if v[i..].starts_with("W/") {
            i += 2;
        }
        if bytes.get(i) != Some(&b'"') {
            return None;
        }
        i += 1;
        while i < bytes.len() && bytes[i] != b'"' {
            if !(bytes[i] == 0x21 || (0x23..=0x7e).contains(&bytes[i])) {
                return None;
            }
            i += 1;
        }
        if i == bytes.len() {
            return None;
        }
        i += 1;
        tags.push(&v[start..i]);
        while i < bytes.len() && matches!(bytes[i], b' ' | b'\t') {
            i += 1;
        }
        if i < bytes.len() && bytes[i] != b',' {
            return None;
        }
    }
    (!tags.is_empty()).then_some(tags)
}

#[cfg(test)]
mod tests {
    use super::if_match_tags;

    #[test]
    fn if_match_is_a_star_or_a_list_of_quoted_tags() {
        let cases: [(&str, Option<Vec<&str>>); 8] = [
            ("*", Some(vec!["*"])),
            ("\"4-1\"", Some(vec!["\"4-1\""])),
            ("W/\"4-1\"", Some(vec!["W/\"4-1\""])),
            ("\"4-1\", \"4-2\"", Some(vec!["\"4-1\"", "\"4-2\""])),
            (" \"a\" ,W/\"b\" ", Some(vec!["\"a\"", "W/\"b\""])),
            // A comma inside a tag belongs to the tag.
            ("\"x,y\" \t,\tW/\",z\"", Some(vec!["\"x,y\"", "W/\",z\""])),
            ("\"a\", , \"b\"", Some(vec!["\"a\"", "\"b\""])),
            ("\"a\"\"b\"", None),
        ];
        for (value, tags) in cases {
            assert_eq!(if_match_tags(value), tags, "{value}");
        }
        for bad in [
            "",
            "4-1",
            "\"4-1",
            "4-1\"",
            "\"4 1\"",
            "*, \"4-1\"",
            "w/\"4-1\"",
            ",",
        ] {
            assert_eq!(if_match_tags(bad), None, "{bad}");
        }
    }

    proptest::proptest! {
        /// Whatever the form the OpenAPI document promises, the service reads.
        #[test]
        fn every_value_the_document_allows_is_read(
            tags in proptest::collection::vec(("(W/)?", "[!#-~]{0,8}"), 1..4),
            space in "[ \t]{0,2}",
        ) {
            let value = tags
                .iter()
                .map(|(weak, body)| format!("{weak}\"{body}\""))
                .collect::<Vec<_>>()
                .join(&format!("{space},{space}"));
            let read = if_match_tags(&value).expect("read");
            proptest::prop_assert_eq!(read.len(), tags.len());
        }
    }
}
