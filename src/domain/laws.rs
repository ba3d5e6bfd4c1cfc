//! The law catalogue (`schemas/reference/laws.json`): every law and regulation a criterion may
//! cite, by edition, with the dates the edition was in force and its article range. References
//! print as laws are cited in Chinese legal writing: 《消费者权益保护法》（2013年修正）第二十五条.

use std::sync::LazyLock;

use chrono::NaiveDate;
use serde::Deserialize;

/// One edition of a law or regulation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Law {
    pub id: String,
    pub title: Names,
    pub edition: Names,
    pub in_force: NaiveDate,
    /// The last day this was the edition in force; absent while it is.
    #[serde(default)]
    pub until: Option<NaiveDate>,
    /// The edition to cite instead once this one is no longer in force.
    #[serde(default)]
    pub superseded_by: Option<String>,
    /// First and last article.
    pub articles: (u32, u32),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Names {
    pub zh: String,
    pub en: String,
}

#[derive(Deserialize)]
struct Catalogue {
    #[allow(dead_code)]
    description: String,
    laws: Vec<Law>,
}

static CATALOGUE: LazyLock<Vec<Law>> = LazyLock::new(|| {
    let c: Catalogue = serde_json::from_str(include_str!("../../schemas/reference/laws.json"))
        .expect("the law catalogue compiled into the binary parses");
    c.laws
});

/// Every edition in the catalogue.
pub fn all() -> &'static [Law] {
    &CATALOGUE
}

pub fn find(id: &str) -> Option<&'static Law> {
    CATALOGUE.iter().find(|l| l.id == id)
}

impl Law {
    /// Whether this was the edition in force on `day`.
    pub fn in_force_on(&self, day: NaiveDate) -> bool {
        self.in_force <= day && self.until.is_none_or(|u| day <= u)
    }

    /// Why the edition cannot be cited for a version effective on `day`, if it cannot.
    pub fn not_in_force(&self, day: NaiveDate) -> Option<String> {
        if self.in_force > day {
            return Some(format!(
                "{} takes effect on {}, after {day}",
                self.cite_zh(None, None),
                self.in_force
            ));
        }
        let until = self.until.filter(|u| *u < day)?;
        let instead = self
            .superseded_by
            .as_deref()
            .map(|s| format!("; cite {s}"))
            .unwrap_or_default();
        Some(format!(
            "{} was in force until {until}{instead}",
            self.cite_zh(None, None)
        ))
    }

    /// 《消费者权益保护法》（2013年修正）第二十五条第二款
    pub fn cite_zh(&self, article: Option<u32>, paragraph: Option<u32>) -> String {
        self.cite_all_zh(article.map(|a| (a, paragraph)))
    }

    /// Consumer Rights Protection Law (2013 amendment), art. 25(2)
    pub fn cite_en(&self, article: Option<u32>, paragraph: Option<u32>) -> String {
        self.cite_all_en(article.map(|a| (a, paragraph)))
    }

    /// Several places in this law: 《…》（2024年）第十四条、第九条第一款.
    pub fn cite_all_zh(&self, places: impl IntoIterator<Item = (u32, Option<u32>)>) -> String {
        let places: Vec<String> = places
            .into_iter()
            .map(|(a, p)| {
                let para = p.map(|p| format!("第{}款", chinese_numeral(p)));
                format!("第{}条{}", chinese_numeral(a), para.unwrap_or_default())
            })
            .collect();
        format!(
            "《{}》（{}）{}",
            self.title.zh,
            self.edition.zh,
            places.join("、")
        )
    }

    /// Several places in this law: Implementing Regulation … (2024), arts. 14, 9(1).
    pub fn cite_all_en(&self, places: impl IntoIterator<Item = (u32, Option<u32>)>) -> String {
        let places: Vec<String> = places
            .into_iter()
            .map(|(a, p)| format!("{a}{}", p.map(|p| format!("({p})")).unwrap_or_default()))
            .collect();
        let head = format!("{} ({})", self.title.en, self.edition.en);
        match places.len() {
            0 => head,
            1 => format!("{head}, art. {}", places[0]),
            _ => format!("{head}, arts. {}", places.join(", ")),
        }
    }
}

/// A number in Chinese numerals as laws print article numbers (1–9999): 九, 十六, 一百零八,
/// 一百一十, 一千二百六十.
pub fn chinese_numeral(n: u32) -> String {
    const DIGITS: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    const UNITS: [&str; 4] = ["千", "百", "十", ""];
    if n == 0 || n > 9999 {
        return n.to_string();
    }
    if (10..20).contains(&n) {
        // 十, 十六: a leading "一十" is not written.
        return format!(
            "十{}",
            if n == 10 {
                ""
            } else {
                DIGITS[(n % 10) as usize]
            }
        );
    }
    let digits = [n / 1000, n / 100 % 10, n / 10 % 10, n % 10];
    let mut out = String::new();
    let mut pending_zero = false;
    for (d, unit) in digits.iter().zip(UNITS) {
        if *d == 0 {
            pending_zero = !out.is_empty();
            continue;
        }
        if pending_zero {
            out.push('零');
            pending_zero = false;
        }
        out.push_str(DIGITS[*d as usize]);
        out.push_str(unit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numerals_read_as_laws_print_them() {
        for (n, zh) in [
            (1, "一"),
            (10, "十"),
            (16, "十六"),
            (20, "二十"),
            (25, "二十五"),
            (100, "一百"),
            (108, "一百零八"),
            (110, "一百一十"),
            (154, "一百五十四"),
            (1000, "一千"),
            (1005, "一千零五"),
            (1060, "一千零六十"),
            (1260, "一千二百六十"),
        ] {
            assert_eq!(chinese_numeral(n), zh, "{n}");
        }
    }

    #[test]
    fn the_catalogue_is_consistent() {
        let mut ids = std::collections::HashSet::new();
        for l in all() {
            assert!(ids.insert(&l.id), "duplicate {}", l.id);
            assert!(
                l.articles.0 >= 1 && l.articles.0 <= l.articles.1,
                "{}",
                l.id
            );
            if let Some(u) = l.until {
                assert!(l.in_force <= u, "{}", l.id);
            }
            if let Some(next) = &l.superseded_by {
                let next = find(next).unwrap_or_else(|| panic!("{} names {next}", l.id));
                let until = l.until.expect("a superseded edition says until when");
                assert!(until < next.in_force, "{} overlaps {}", l.id, next.id);
            }
        }
    }

    #[test]
    fn editions_follow_each_other() {
        let (old, new) = (find("crpl-1993").unwrap(), find("crpl-2013").unwrap());
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert!(old.in_force_on(day("2007-03-15")));
        assert!(!new.in_force_on(day("2007-03-15")));
        assert!(old.not_in_force(day("2014-03-15")).is_some());
        assert!(new.in_force_on(day("2014-03-15")));
        assert_eq!(
            new.cite_zh(Some(25), None),
            "《消费者权益保护法》（2013年修正）第二十五条"
        );
        assert_eq!(
            find("crpl-regulation-2024")
                .unwrap()
                .cite_en(Some(9), Some(2)),
            "Implementing Regulation of the Consumer Rights Protection Law (2024), art. 9(2)"
        );
        let reg = find("crpl-regulation-2024").unwrap();
        assert_eq!(
            reg.cite_all_zh([(14, None), (9, Some(1))]),
            "《消费者权益保护法实施条例》（2024年）第十四条、第九条第一款"
        );
        assert_eq!(
            reg.cite_all_en([(14, None), (9, Some(1))]),
            "Implementing Regulation of the Consumer Rights Protection Law (2024), arts. 14, 9(1)"
        );
    }
}
