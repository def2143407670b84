//! The small validated values identity is made of: [`UserId`], [`Role`],
//! [`Plan`] and [`Scope`]. Each can only be built through its checks, so a
//! value of these types is always well-formed.
//!
//! This file must not touch the store or decide who may do what beyond
//! which scopes a role can ever hold.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::IdentityError;

/// A user's id: a UUID, kept as its lowercase hyphenated text (the form
/// stored in `users.id`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct UserId(String);

impl UserId {
    /// A fresh random (v4) id.
    pub fn new_random() -> UserId {
        UserId(uuid::Uuid::new_v4().hyphenated().to_string())
    }

    /// Accepts any UUID spelling and keeps the canonical one.
    pub fn parse(text: &str) -> Result<UserId, IdentityError> {
        uuid::Uuid::parse_str(text.trim())
            .map(|id| UserId(id.hyphenated().to_string()))
            .map_err(|_| IdentityError::InvalidUserId)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for UserId {
    type Error = IdentityError;

    fn try_from(text: String) -> Result<UserId, IdentityError> {
        UserId::parse(&text)
    }
}

impl From<UserId> for String {
    fn from(id: UserId) -> String {
        id.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a user is to the server as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    User,
}

impl Role {
    /// The text stored in `users.role`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }

    /// Every scope a principal of this role can hold: an admin everything,
    /// a user everything but `admin`.
    pub fn allows(self, scope: Scope) -> bool {
        match self {
            Role::Admin => true,
            Role::User => scope != Scope::Admin,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = IdentityError;

    fn from_str(text: &str) -> Result<Role, IdentityError> {
        match text {
            "admin" => Ok(Role::Admin),
            "user" => Ok(Role::User),
            _ => Err(IdentityError::InvalidRole),
        }
    }
}

/// The name of a billing plan: 1–32 of `a-z`, `0-9` and `-`. Which plans
/// exist, and what they allow, is metering's business; identity only
/// records the name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Plan(String);

const PLAN_MAX_CHARS: usize = 32;

impl Plan {
    pub fn new(name: &str) -> Result<Plan, IdentityError> {
        let well_formed = (1..=PLAN_MAX_CHARS).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if well_formed {
            Ok(Plan(name.to_owned()))
        } else {
            Err(IdentityError::InvalidPlan)
        }
    }

    /// The plan a new user gets unless told otherwise (the column default).
    pub fn free() -> Plan {
        Plan("free".to_owned())
    }

    /// The local owner's plan: the operator is not metered on their own
    /// server.
    pub fn unlimited() -> Plan {
        Plan("unlimited".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Plan {
    type Error = IdentityError;

    fn try_from(name: String) -> Result<Plan, IdentityError> {
        Plan::new(&name)
    }
}

impl From<Plan> for String {
    fn from(plan: Plan) -> String {
        plan.0
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a credential may be used for, one per family of tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Health,
    Study,
    Consensus,
    Eval,
    Chat,
    Admin,
}

impl Scope {
    /// Every scope, in the order they are listed to people.
    pub const ALL: [Scope; 6] = [
        Scope::Health,
        Scope::Study,
        Scope::Consensus,
        Scope::Eval,
        Scope::Chat,
        Scope::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Health => "health",
            Scope::Study => "study",
            Scope::Consensus => "consensus",
            Scope::Eval => "eval",
            Scope::Chat => "chat",
            Scope::Admin => "admin",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = IdentityError;

    fn from_str(text: &str) -> Result<Scope, IdentityError> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == text)
            .ok_or_else(|| IdentityError::UnknownScope {
                valid: Scope::ALL.map(Scope::as_str).join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_are_kept_in_canonical_uuid_form() {
        let id = UserId::parse("  67E55044-10B1-426F-9247-BB680E5FE0C8 ").unwrap();
        assert_eq!(id.as_str(), "67e55044-10b1-426f-9247-bb680e5fe0c8");
        assert!(UserId::parse("not-a-uuid").is_err());
        assert_ne!(UserId::new_random(), UserId::new_random());
    }

    #[test]
    fn plan_names_are_short_lowercase_words() {
        for good in ["free", "pro-2025", "a", &"x".repeat(32)] {
            assert!(Plan::new(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Pro",
            "pro plan",
            "pro_plan",
            "ünlimited",
            &"x".repeat(33),
        ] {
            assert!(Plan::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scopes_read_and_write_as_lowercase_words() {
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>().unwrap(), scope);
            let json = serde_json::to_string(&scope).unwrap();
            assert_eq!(json, format!("\"{}\"", scope.as_str()));
            assert_eq!(serde_json::from_str::<Scope>(&json).unwrap(), scope);
        }
    }

    #[test]
    fn an_unknown_scope_is_refused_with_the_list_of_valid_ones() {
        let message = "Health".parse::<Scope>().unwrap_err().to_string();
        assert!(
            message.contains("health, study, consensus, eval, chat, admin"),
            "{message}"
        );
    }

    #[test]
    fn only_admins_can_hold_the_admin_scope() {
        assert!(Role::Admin.allows(Scope::Admin));
        assert!(!Role::User.allows(Scope::Admin));
        assert!(Role::User.allows(Scope::Health));
        assert_eq!("admin".parse::<Role>().unwrap(), Role::Admin);
        assert!("root".parse::<Role>().is_err());
    }
}
