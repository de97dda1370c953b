//! Which new passwords we accept: length bounds, a breached-password list and
//! a zxcvbn strength score.
//!
//! The breached list is the top 100,000 passwords of Mark Burnett's public
//! domain "10 million passwords" set (xato.net, 2015), gzip-compressed and
//! embedded at build time; see `BREACHED_PASSWORDS.md` for provenance.

use std::collections::HashSet;
use std::io::Read as _;
use std::sync::OnceLock;

use flate2::read::GzDecoder;

/// Newline-separated, most common first; see `BREACHED_PASSWORDS.md`.
static BREACHED_GZ: &[u8] = include_bytes!("breached_passwords.txt.gz");

/// Rules a new password must satisfy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Minimum length in Unicode characters.
    pub min_length: usize,
    /// Maximum length in Unicode characters (bounds hashing and zxcvbn work).
    pub max_length: usize,
    /// Minimum zxcvbn score, 0 (anything) to 4 (strongest).
    pub min_strength: u8,
    /// Refuse passwords found in the embedded breached-password list.
    pub reject_breached: bool,
}

/// Why a password was refused. Never contains the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyViolation {
    /// Fewer than `min` characters.
    #[error("password must be at least {min} characters long")]
    TooShort {
        /// The policy's minimum length.
        min: usize,
    },
    /// More than `max` characters.
    #[error("password must be at most {max} characters long")]
    TooLong {
        /// The policy's maximum length.
        max: usize,
    },
    /// In the list of commonly used, breached passwords.
    #[error("password is in a list of commonly used, breached passwords")]
    Pwned,
    /// zxcvbn scored it below the policy's minimum.
    #[error("password is too easy to guess (strength {score} of 4, at least {min} required)")]
    NotStrongEnough {
        /// zxcvbn score of the password, 0 to 4.
        score: u8,
        /// The policy's minimum score.
        min: u8,
    },
}

impl PasswordPolicy {
    /// Checks `password` against the policy.
    ///
    /// `user_inputs` (email, name, username...) make passwords built from
    /// them score lower. With `skip_strength_checks` (e.g. admin imports) only
    /// the length bounds apply.
    pub fn check(
        &self,
        password: &str,
        user_inputs: &[&str],
        skip_strength_checks: bool,
    ) -> Result<(), PolicyViolation> {
        let length = password.chars().count();
        if length < self.min_length {
            return Err(PolicyViolation::TooShort {
                min: self.min_length,
            });
        }
        if length > self.max_length {
            return Err(PolicyViolation::TooLong {
                max: self.max_length,
            });
        }
        if skip_strength_checks {
            return Ok(());
        }
        if self.reject_breached && is_breached(password) {
            return Err(PolicyViolation::Pwned);
        }
        if self.min_strength > 0 {
            let score = u8::from(zxcvbn::zxcvbn(password, user_inputs).score());
            if score < self.min_strength {
                return Err(PolicyViolation::NotStrongEnough {
                    score,
                    min: self.min_strength,
                });
            }
        }
        Ok(())
    }
}

/// Exact match, or match of the lower-cased password ("PassWord" is as weak
/// as "password").
fn is_breached(password: &str) -> bool {
    let list = breached_list();
    list.contains(password)
        || (password.chars().any(char::is_uppercase)
            && list.contains(password.to_lowercase().as_str()))
}

/// The decompressed list, built on first use and kept for the process.
fn breached_list() -> &'static HashSet<&'static str> {
    // One String holds all entries; the set borrows from it (no per-entry allocation).
    static TEXT: OnceLock<String> = OnceLock::new();
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        let text = TEXT.get_or_init(|| {
            let mut text = String::new();
            GzDecoder::new(BREACHED_GZ)
                .read_to_string(&mut text)
                .expect("embedded breached-password list is valid gzip'd UTF-8");
            text
        });
        text.lines().filter(|line| !line.is_empty()).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict() -> PasswordPolicy {
        PasswordPolicy {
            min_length: 8,
            max_length: 64,
            min_strength: 3,
            reject_breached: true,
        }
    }

    #[test]
    fn embedded_list_has_100k_entries() {
        let list = breached_list();
        assert_eq!(list.len(), 100_000);
        assert!(list.contains("123456"));
    }

    #[test]
    fn common_passwords_are_pwned() {
        for password in [
            "password",
            "123456789",
            "qwertyuiop",
            "PASSWORD",
            "Qwertyuiop",
        ] {
            assert_eq!(
                strict().check(password, &[], false),
                Err(PolicyViolation::Pwned),
                "{password}"
            );
        }
    }

    #[test]
    fn long_random_passphrase_passes() {
        let policy = PasswordPolicy {
            min_strength: 4,
            ..strict()
        };
        assert_eq!(
            policy.check(
                "plinth-marigold-quasar-9-tundra",
                &["alice@example.com"],
                false
            ),
            Ok(())
        );
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        let policy = PasswordPolicy {
            min_length: 8,
            max_length: 10,
            min_strength: 0,
            reject_breached: false,
        };
        // 7 characters, 14 bytes.
        assert_eq!(
            policy.check("ééééééé", &[], false),
            Err(PolicyViolation::TooShort { min: 8 })
        );
        assert_eq!(policy.check("🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀", &[], false), Ok(()));
        assert_eq!(
            policy.check("🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀", &[], false),
            Err(PolicyViolation::TooLong { max: 10 })
        );
    }

    #[test]
    fn skip_strength_checks_only_checks_lengths() {
        assert_eq!(strict().check("password", &[], true), Ok(()));
        assert_eq!(
            strict().check("pass", &[], true),
            Err(PolicyViolation::TooShort { min: 8 })
        );
    }

    #[test]
    fn zxcvbn_threshold_is_honoured() {
        let password = "alicesmith1990";
        let inputs = ["alice", "smith"];
        let score = u8::from(zxcvbn::zxcvbn(password, &inputs).score());
        assert!(score < 4);
        let at = |min_strength| PasswordPolicy {
            min_strength,
            reject_breached: false,
            ..strict()
        };
        assert_eq!(at(score).check(password, &inputs, false), Ok(()));
        assert_eq!(
            at(score + 1).check(password, &inputs, false),
            Err(PolicyViolation::NotStrongEnough {
                score,
                min: score + 1
            })
        );
        // Personal inputs lower the score.
        let without = u8::from(zxcvbn::zxcvbn(password, &[]).score());
        assert!(score <= without);
    }

    #[test]
    fn breached_check_can_be_disabled() {
        let policy = PasswordPolicy {
            reject_breached: false,
            min_strength: 0,
            ..strict()
        };
        assert_eq!(policy.check("password", &[], false), Ok(()));
    }
}
