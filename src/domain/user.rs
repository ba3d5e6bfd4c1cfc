//! User credentials: normalised e-mail addresses and the password policy.

use unicode_normalization::UnicodeNormalization;

/// An e-mail address normalised with NFKC and lower-cased, so that visually equal addresses
/// (full-width letters, different case) name one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, String> {
        let email: String = input.nfkc().collect::<String>().trim().to_lowercase();
        if email.len() > 254 {
            return Err("must be at most 254 characters".into());
        }
        let (local, domain) = email
            .split_once('@')
            .ok_or("must be an e-mail address like name@example.com")?;
        let valid = !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if !valid {
            return Err("must be an e-mail address like name@example.com".into());
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password that satisfies the policy. Its `Debug` never prints it.
#[derive(Clone)]
pub struct Password(String);

pub const PASSWORD_MIN_CHARS: usize = 12;
/// Bounds the work a single login can cause.
pub const PASSWORD_MAX_BYTES: usize = 1024;

impl Password {
    pub fn parse(input: &str) -> Result<Self, String> {
        if input.chars().count() < PASSWORD_MIN_CHARS {
            return Err(format!("must be at least {PASSWORD_MIN_CHARS} characters"));
        }
        if input.len() > PASSWORD_MAX_BYTES {
            return Err(format!("must be at most {PASSWORD_MAX_BYTES} bytes"));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised() {
        let full_width = Email::parse(" Ａｄｍｉｎ@Example.COM ").unwrap();
        assert_eq!(full_width.as_str(), "admin@example.com");
        for bad in ["", "a", "a@b", "@b.cn", "a b@c.cn", "a@b@c.cn", "a@.cn"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn password_policy() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("十二个汉字的密码足够长了吗").is_ok());
        assert!(Password::parse(&"x".repeat(2000)).is_err());
        assert_eq!(
            format!("{:?}", Password::parse("correct horse battery").unwrap()),
            "Password(***)"
        );
    }
}
