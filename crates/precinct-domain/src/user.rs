//! Users and roles, and what each role may see.

use crate::error::DomainError;
use crate::ids::{OrganisationId, UnitId, UserId};
use crate::incident::PhoneNumber;
use crate::text::string_enum;
use serde::{Deserialize, Serialize};

string_enum! {
    pub enum Role {
        Admin = "admin",
        Dispatcher = "dispatcher",
        Officer = "officer",
        /// Volunteers, grid workers, security forces and property staff in the field.
        Volunteer = "volunteer",
        Mediator = "mediator",
        Analyst = "analyst",
    }
}

/// A login name: 3 to 32 of a-z, 0-9, '.', '_', '-'.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    pub fn parse(text: &str) -> Result<Username, DomainError> {
        let text = text.trim().to_ascii_lowercase();
        if !(3..=32).contains(&text.len()) {
            return Err(DomainError::invalid(
                "username",
                "must be 3 to 32 characters",
            ));
        }
        if !text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        {
            return Err(DomainError::invalid(
                "username",
                "only a-z, 0-9, '.', '_' and '-' are allowed",
            ));
        }
        Ok(Username(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub username: Username,
    pub display_name: String,
    pub role: Role,
    /// The unit a field user belongs to (their incidents are that unit's).
    pub unit_id: Option<UnitId>,
    /// The organisation a mediator or company staff member belongs to
    /// (they see the disputes it takes part in).
    pub organisation_id: Option<OrganisationId>,
    #[serde(default)]
    pub phone: Option<PhoneNumber>,
    /// A disabled account cannot log in (it left the station's roster).
    #[serde(default)]
    pub disabled: bool,
    /// Logged in with a one-time password: must set a new one before anything else.
    #[serde(default)]
    pub must_change_password: bool,
    /// A second factor (TOTP) is enrolled: logins need a code.
    #[serde(default)]
    pub second_factor: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_rules() {
        for (input, ok) in [
            ("dispatcher1", true),
            ("Li.Wei", true),
            ("ab", false),
            ("张三", false),
            ("a b c", false),
        ] {
            assert_eq!(Username::parse(input).is_ok(), ok, "{input}");
        }
        assert_eq!(Username::parse("Li.Wei").unwrap().as_str(), "li.wei");
    }
}
