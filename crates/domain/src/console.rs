//! The console's rules for people (API.md §8): what a password must be, how long invitations
//! and sessions last, when sign-ins are locked out, and which scopes each role carries.

use time::Duration;

use crate::Timestamp;
use crate::directory::{OrgUser, Role, Scope, Scopes};
use crate::tenant::Environment;

/// An invitation to set a password works this long, once.
pub const INVITATION_LIFETIME: Duration = Duration::hours(72);
/// A console session ends after this long without a request.
pub const SESSION_IDLE: Duration = Duration::minutes(30);
/// A console session ends this long after sign-in, whatever its use.
pub const SESSION_ABSOLUTE: Duration = Duration::hours(12);
/// Failed sign-ins within [`LOCKOUT_WINDOW`] that lock an account (or a client address).
pub const LOCKOUT_FAILURES: i64 = 5;
/// The window failures are counted in, and how long a lock lasts.
pub const LOCKOUT_WINDOW: Duration = Duration::minutes(15);
/// The shortest password.
pub const PASSWORD_MIN: usize = 12;
/// The longest password (argon2 takes any length; this bounds the work per attempt).
pub const PASSWORD_MAX: usize = 1024;

/// Passwords that are too common to protect anything, compared case-insensitively.
const COMMON: &[&str] = &[
    "123456789012",
    "1234567890123",
    "12345678901234",
    "password1234",
    "password12345",
    "passwordpassword",
    "qwertyuiopas",
    "qwerty123456",
    "123qwe123qwe",
    "iloveyou1234",
    "adminadmin12",
    "administrator",
    "welcome12345",
    "letmein12345",
    "changeme1234",
    "111111111111",
    "000000000000",
    "abcdefghijkl",
    "abc123abc123",
    "qwertyqwerty",
    "1q2w3e4r5t6y",
    "football1234",
    "baseball1234",
    "trustno1trustno1",
    "sunshine1234",
    "princess1234",
    "dragon123456",
    "monkey123456",
    "superman1234",
    "starwars1234",
    "passw0rdpassw0rd",
    "p@ssw0rd1234",
    "password!234",
    "correcthorsebatterystaple",
    "aaaaaaaaaaaa",
];

/// Why a password is refused.
pub fn check_password(password: &str) -> Result<(), &'static str> {
    let length = password.chars().count();
    if length < PASSWORD_MIN {
        return Err("must be at least 12 characters");
    }
    if length > PASSWORD_MAX {
        return Err("must be at most 1024 characters");
    }
    if password.contains('\0') {
        return Err("must not contain the character U+0000");
    }
    let lowered = password.to_lowercase();
    let distinct: std::collections::BTreeSet<char> = lowered.chars().collect();
    if COMMON.contains(&lowered.as_str()) || distinct.len() < 4 {
        return Err("is too common: choose another");
    }
    Ok(())
}

/// The scopes a person has in the console, by role.
pub fn role_scopes(role: Role) -> Scopes {
    use Scope::{CasesDecide, CasesRead, CasesWrite, SessionsRead, VerificationsRead};
    let reviewer = [CasesRead, CasesWrite, CasesDecide, SessionsRead, VerificationsRead];
    match role {
        Role::Reviewer => reviewer.into_iter().collect(),
        Role::SeniorReviewer => reviewer.into_iter().chain([Scope::CasesAdmin]).collect(),
        Role::Admin => Scopes::all(),
    }
}

/// A signed-in person's console session.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsoleSession {
    /// The session (the cookie holds a token naming it).
    pub id: uuid::Uuid,
    /// The person, as of this request (an inactive one has no session).
    pub user: OrgUser,
    /// The environment the console works in.
    pub environment: Environment,
    /// The token every form must echo.
    pub csrf_token: String,
    /// When it ends at the latest.
    pub expires_at: Timestamp,
}

string_enum! {
    /// What became of a sign-in attempt.
    SignInOutcome {
        /// Signed in.
        Succeeded = "succeeded",
        /// Wrong email or password.
        Failed = "failed",
        /// Refused while the account or the address was locked.
        Locked = "locked",
    }
}

/// One sign-in attempt, as admins list them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInAttempt {
    /// Its number.
    pub id: i64,
    /// The person, when the email named one.
    pub org_user_id: Option<crate::id::OrgUserId>,
    /// The email given.
    pub email: String,
    /// The client's address.
    pub client: String,
    /// What became of it.
    pub outcome: SignInOutcome,
    /// When.
    pub at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_must_be_long_and_uncommon() {
        assert!(check_password("short").is_err());
        assert!(check_password("Password1234").is_err(), "common, whatever the case");
        assert!(check_password("aaaaaaaaaaaaaaaa").is_err());
        assert!(check_password("amber-kestrel-79-lantern").is_ok());
    }

    #[test]
    fn roles_carry_their_scopes() {
        assert!(!role_scopes(Role::Reviewer).allows(Scope::CasesAdmin));
        assert!(role_scopes(Role::SeniorReviewer).allows(Scope::CasesAdmin));
        assert!(role_scopes(Role::Admin).allows(Scope::ApiKeysWrite));
        assert!(role_scopes(Role::Reviewer).allows(Scope::VerificationsRead));
    }
}
