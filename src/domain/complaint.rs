//! Complaints and their reconciliation (协商和解): categories, channels, the states a complaint
//! goes through and which action moves it where, and the consumer's contact as accepted.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

macro_rules! labelled {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $id:literal, $zh:literal, $en:literal;)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $id)] $variant,)*
        }

        impl $name {
            pub const ALL: &[Self] = &[$(Self::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $id,)* }
            }

            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }

            /// The label in Chinese and in English.
            pub fn label(self) -> (&'static str, &'static str) {
                match self { $(Self::$variant => ($zh, $en),)* }
            }
        }
    };
}

labelled! {
    /// What a complaint is about: the categories a 12315-style intake uses, each mapped to the
    /// guideline's theme it bears on ([`Category::theme`]).
    Category {
        Quality = "quality", "商品质量", "Quality of goods";
        Safety = "safety", "人身财产安全", "Safety of person or property";
        Price = "price", "价格", "Price";
        FalseAdvertising = "false_advertising", "虚假宣传", "False or misleading advertising";
        Measurement = "measurement", "计量", "Measurement";
        Counterfeit = "counterfeit", "假冒伪劣", "Counterfeit goods";
        Contract = "contract", "合同", "Contract";
        StandardTerms = "standard_terms", "格式条款", "Standard terms";
        Prepaid = "prepaid", "预付式消费", "Prepaid cards and memberships";
        AfterSales = "after_sales", "售后服务", "After-sales service";
        DistanceReturn = "distance_return", "七日无理由退货", "Seven-day return of distance sales";
        PersonalInformation = "personal_information", "个人信息", "Personal information";
        Dignity = "dignity", "人格尊严", "Dignity";
        Service = "service", "服务质量", "Quality of service";
        Other = "other", "其他", "Other";
    }
}

impl Category {
    /// The guideline theme (schema theme id) the complaint bears on.
    pub fn theme(self) -> &'static str {
        match self {
            Self::Quality | Self::Safety => "safety",
            Self::Price | Self::FalseAdvertising => "information",
            Self::Measurement | Self::Counterfeit => "lawful",
            Self::Contract | Self::StandardTerms | Self::Prepaid => "fair_trade",
            Self::AfterSales | Self::DistanceReturn | Self::Service => "after_sales",
            Self::PersonalInformation | Self::Dignity => "dignity_privacy",
            Self::Other => "disputes",
        }
    }
}

labelled! {
    /// How the consumer complained.
    Channel {
        Hotline = "hotline", "热线电话", "Telephone hotline";
        Online = "online", "网络平台", "Online";
        PartnerPlatform = "partner_platform", "合作投诉平台", "Partner complaint platform";
        Letter = "letter", "信函", "Letter";
        Visit = "visit", "来访", "In person";
    }
}

labelled! {
    /// Where a complaint stands.
    State {
        /// Sent to the enterprise; it must acknowledge by `acknowledge_due`.
        Forwarded = "forwarded", "已转送", "Forwarded";
        /// The enterprise took it up; it must propose a settlement by `proposal_due`.
        Acknowledged = "acknowledged", "已受理", "Acknowledged";
        /// The enterprise proposed a settlement; staff record the consumer's answer.
        Proposed = "proposed", "已提出方案", "Settlement proposed";
        /// The consumer accepted the proposal.
        Reconciled = "reconciled", "和解成功", "Reconciled";
        /// The consumer rejected it; referred to mediation.
        NotReconciled = "not_reconciled", "和解不成", "Not reconciled";
        /// Closed by staff; may be reopened until `reopen_until`.
        Closed = "closed", "已结案", "Closed";
    }
}

/// A deadline a complaint runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The enterprise acknowledges the complaint.
    Acknowledge,
    /// The enterprise proposes a settlement.
    Proposal,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Acknowledge => "acknowledge",
            Self::Proposal => "proposal",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Acknowledge, Self::Proposal]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

impl State {
    /// The deadline the complaint runs against in this state, if any.
    pub fn stage(self) -> Option<Stage> {
        match self {
            Self::Forwarded => Some(Stage::Acknowledge),
            Self::Acknowledged => Some(Stage::Proposal),
            _ => None,
        }
    }
}

/// What moves a complaint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Acknowledge,
    Propose,
    Accept,
    Reject,
    Close,
    Reopen,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Acknowledge => "acknowledge",
            Self::Propose => "propose",
            Self::Accept => "accept",
            Self::Reject => "reject",
            Self::Close => "close",
            Self::Reopen => "reopen",
        }
    }
}

/// The state `action` leads to from `from`, or why it cannot be taken.
pub fn next(from: State, action: Action) -> Result<State, String> {
    use Action as A;
    use State as S;
    match (from, action) {
        (S::Forwarded, A::Acknowledge) => Ok(S::Acknowledged),
        // A new proposal after a rejected one is made on a reopened complaint.
        (S::Acknowledged, A::Propose) => Ok(S::Proposed),
        (S::Proposed, A::Accept) => Ok(S::Reconciled),
        (S::Proposed, A::Reject) => Ok(S::NotReconciled),
        (S::Reconciled | S::NotReconciled, A::Close) => Ok(S::Closed),
        (S::Closed, A::Reopen) => Ok(S::Acknowledged),
        _ => Err(format!(
            "a complaint that is {} cannot be {}",
            from.as_str(),
            match action {
                A::Acknowledge => "acknowledged",
                A::Propose => "given a proposal",
                A::Accept => "accepted",
                A::Reject => "rejected",
                A::Close => "closed",
                A::Reopen => "reopened",
            }
        )),
    }
}

/// How a consumer can be reached: a name and at least one of a telephone number and an e-mail
/// address, nothing more (no identity number, no address: data minimisation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// How the consumer wishes to be addressed.
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

impl Contact {
    /// The contact as stored, or the first problem with each field (`field`, message).
    pub fn parse(self) -> Result<Self, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let name = super::text::name(&self.name, 50)
            .map_err(|e| errors.push(("contact.name", e)))
            .unwrap_or_default();
        let phone = self
            .phone
            .as_deref()
            .map(phone)
            .transpose()
            .unwrap_or_else(|e| {
                errors.push(("contact.phone", e));
                None
            });
        let email = self
            .email
            .as_deref()
            .map(|e| super::Email::parse(e).map(|e| e.as_str().to_owned()))
            .transpose()
            .unwrap_or_else(|e| {
                errors.push(("contact.email", e));
                None
            });
        if self.phone.is_none() && self.email.is_none() {
            errors.push((
                "contact",
                "give a telephone number or an e-mail address".into(),
            ));
        }
        if errors.is_empty() {
            Ok(Self { name, phone, email })
        } else {
            Err(errors)
        }
    }
}

/// A telephone number: digits with an optional leading `+` and `-` or spaces between groups,
/// 5 to 20 digits.
fn phone(input: &str) -> Result<String, String> {
    let s = super::text::identifier(input);
    let digits = s.chars().filter(char::is_ascii_digit).count();
    let allowed = s
        .char_indices()
        .all(|(i, c)| c.is_ascii_digit() || c == '-' || c == ' ' || (c == '+' && i == 0));
    if allowed && (5..=20).contains(&digits) {
        Ok(s)
    } else {
        Err("must be a telephone number of 5 to 20 digits".into())
    }
}

/// What the enterprise must do, per [`State`], for the reminder and escalation messages.
pub fn duty(stage: Stage) -> (&'static str, &'static str) {
    match stage {
        Stage::Acknowledge => ("受理投诉", "acknowledge the complaint"),
        Stage::Proposal => ("提出和解方案", "propose a settlement"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_through_the_workflow() {
        use Action as A;
        use State as S;
        let walk = |actions: &[A]| actions.iter().try_fold(S::Forwarded, |s, a| next(s, *a));
        assert_eq!(
            walk(&[A::Acknowledge, A::Propose, A::Accept, A::Close]),
            Ok(S::Closed)
        );
        assert_eq!(
            walk(&[A::Acknowledge, A::Propose, A::Reject]),
            Ok(S::NotReconciled)
        );
        assert_eq!(
            walk(&[
                A::Acknowledge,
                A::Propose,
                A::Reject,
                A::Close,
                A::Reopen,
                A::Propose
            ]),
            Ok(S::Proposed)
        );
        // No skipping: a proposal needs an acknowledgement, closing needs an answer.
        assert!(walk(&[A::Propose]).is_err());
        assert!(walk(&[A::Acknowledge, A::Close]).is_err());
        assert!(walk(&[A::Acknowledge, A::Acknowledge]).is_err());
        assert!(walk(&[A::Reopen]).is_err());
        let e = next(S::Closed, A::Accept).unwrap_err();
        assert_eq!(e, "a complaint that is closed cannot be accepted");
    }

    #[test]
    fn every_category_names_a_theme_of_the_guideline() {
        let themes = [
            "lawful",
            "safety",
            "information",
            "fair_trade",
            "after_sales",
            "dignity_privacy",
            "disputes",
            "supervision",
            "education",
            "sustainability",
        ];
        for c in Category::ALL {
            assert!(themes.contains(&c.theme()), "{c:?}");
            assert_eq!(Category::parse(c.as_str()), Some(*c));
        }
        assert_eq!(Category::parse("Quality"), None);
    }

    #[test]
    fn contacts_are_minimal_and_checked() {
        let ok = Contact {
            name: " 王女士 ".into(),
            phone: Some("１３８-0000-0000".into()),
            email: None,
        }
        .parse()
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(ok.name, "王女士");
        assert_eq!(ok.phone.as_deref(), Some("138-0000-0000"));
        let bad = Contact {
            name: String::new(),
            phone: Some("call me".into()),
            email: Some("nobody".into()),
        }
        .parse()
        .unwrap_err();
        let fields: Vec<_> = bad.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["contact.name", "contact.phone", "contact.email"]);
        let none = Contact {
            name: "李".into(),
            phone: None,
            email: None,
        }
        .parse()
        .unwrap_err();
        assert_eq!(none[0].0, "contact");
    }
}
