//! JWT (HS256) tokens: the claims the server expects, issuing them for tests and demos, and
//! checking them at the handshake.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// What a user may do in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Sees everything, sends presence, may not write values (`pricing-update` is `forbidden`).
    Viewer,
    /// May write values.
    Editor,
    /// May write values (same rights as an editor in this server).
    Owner,
}

impl Role {
    /// True for roles that may send `pricing-update`.
    pub fn can_write(self) -> bool {
        matches!(self, Role::Editor | Role::Owner)
    }
}

/// The token claims: `sub`, `name`, `role`, optional `rooms`, `exp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Display name.
    pub name: String,
    /// Role in every room.
    pub role: Role,
    /// Rooms the user may join; absent means any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rooms: Option<Vec<String>>,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
}

impl Claims {
    /// True if these claims allow joining `room`.
    pub fn may_join(&self, room: &str) -> bool {
        self.rooms.as_ref().is_none_or(|rooms| rooms.iter().any(|r| r == room))
    }
}

/// Why a handshake token was refused. `Display` is the CONNECT_ERROR message:
/// `unauthorized: <why>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `token` in the CONNECT auth payload.
    #[error("unauthorized: missing token (send {{\"token\": \"<jwt>\"}} as the auth payload)")]
    MissingToken,
    /// The auth payload is not an object with a string `token`.
    #[error("unauthorized: auth payload must be {{\"token\": \"<jwt>\"}}")]
    BadPayload,
    /// The token's `exp` has passed.
    #[error("unauthorized: token expired")]
    Expired,
    /// The signature does not match the server's secret.
    #[error("unauthorized: bad signature")]
    BadSignature,
    /// Not HS256.
    #[error("unauthorized: token must be signed with HS256")]
    WrongAlgorithm,
    /// Not a JWT at all.
    #[error("unauthorized: malformed token")]
    Malformed,
    /// A JWT whose claims are missing or of the wrong type.
    #[error("unauthorized: invalid claims ({0})")]
    InvalidClaims(String),
}

/// Signs `claims` with `secret` (HS256).
pub fn encode_claims(secret: &str, claims: &Claims) -> String {
    // HMAC signing of a plain serializable struct has no failure path in jsonwebtoken.
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signing of serializable claims cannot fail")
}

/// Issues a token for `user_id` valid for `ttl` from now (for tests and the demo).
///
/// ```
/// use std::time::Duration;
/// use tether_reference_server::{issue_token, verify_token, Role};
/// let token = issue_token("a-long-test-secret", "u1", "Ana", Role::Editor, None, Duration::from_secs(60));
/// assert_eq!(verify_token("a-long-test-secret", &token).unwrap().sub, "u1");
/// ```
pub fn issue_token(
    secret: &str,
    user_id: &str,
    name: &str,
    role: Role,
    rooms: Option<Vec<String>>,
    ttl: Duration,
) -> String {
    let exp = unix_now().saturating_add(ttl).as_secs();
    let claims = Claims { sub: user_id.to_owned(), name: name.to_owned(), role, rooms, exp };
    encode_claims(secret, &claims)
}

/// Checks `token` against `secret`: HS256 only, `exp` required and in the future (no leeway,
/// so tests of expiry need no waiting beyond the expiry itself).
pub fn verify_token(secret: &str, token: &str) -> Result<Claims, AuthError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "sub"]);
    jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(secret.as_bytes()), &validation)
        .map(|data| data.claims)
        .map_err(|err| match err.kind() {
            ErrorKind::ExpiredSignature => AuthError::Expired,
            ErrorKind::InvalidSignature => AuthError::BadSignature,
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                AuthError::WrongAlgorithm
            }
            ErrorKind::Json(inner) => AuthError::InvalidClaims(inner.to_string()),
            ErrorKind::MissingRequiredClaim(claim) => {
                AuthError::InvalidClaims(format!("missing {claim}"))
            }
            _ => AuthError::Malformed,
        })
}

/// Time since the Unix epoch (zero if the clock is before 1970).
pub(crate) fn unix_now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// Milliseconds since the Unix epoch, the unit of `lastSeen` and `timestamp`.
pub(crate) fn unix_now_ms() -> u64 {
    u64::try_from(unix_now().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef-test";

    fn claims(exp: u64) -> Claims {
        Claims {
            sub: "u1".into(),
            name: "Ana".into(),
            role: Role::Viewer,
            rooms: Some(vec!["doc-1".into()]),
            exp,
        }
    }

    #[test]
    fn issued_token_round_trips() {
        let token = issue_token(SECRET, "u1", "Ana", Role::Owner, None, Duration::from_secs(60));
        let claims = verify_token(SECRET, &token).expect("valid token");
        assert_eq!(claims.sub, "u1");
        assert_eq!(claims.role, Role::Owner);
        assert_eq!(claims.rooms, None);
        assert!(claims.may_join("anything"));
    }

    #[test]
    fn expired_token_is_refused_as_expired() {
        let past = unix_now().as_secs() - 10;
        let token = encode_claims(SECRET, &claims(past));
        assert_eq!(verify_token(SECRET, &token), Err(AuthError::Expired));
    }

    #[test]
    fn token_signed_with_another_secret_is_refused() {
        let token = issue_token(
            "another-secret-0123",
            "u1",
            "Ana",
            Role::Editor,
            None,
            Duration::from_secs(60),
        );
        assert_eq!(verify_token(SECRET, &token), Err(AuthError::BadSignature));
    }

    #[test]
    fn garbage_is_malformed() {
        assert_eq!(verify_token(SECRET, "not-a-jwt"), Err(AuthError::Malformed));
        assert_eq!(verify_token(SECRET, ""), Err(AuthError::Malformed));
    }

    #[test]
    fn wrong_algorithm_is_refused() {
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &claims(unix_now().as_secs() + 60),
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .expect("signing");
        assert_eq!(verify_token(SECRET, &token), Err(AuthError::WrongAlgorithm));
    }

    #[test]
    fn missing_or_mistyped_claims_are_invalid_claims() {
        #[derive(Serialize)]
        struct NoRole {
            sub: &'static str,
            name: &'static str,
            exp: u64,
        }
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &NoRole { sub: "u1", name: "Ana", exp: unix_now().as_secs() + 60 },
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .expect("signing");
        assert!(matches!(verify_token(SECRET, &token), Err(AuthError::InvalidClaims(_))));
    }

    #[test]
    fn rooms_claim_restricts_joins() {
        let claims = claims(0);
        assert!(claims.may_join("doc-1"));
        assert!(!claims.may_join("doc-2"));
    }

    #[test]
    fn error_messages_start_with_unauthorized() {
        for err in [AuthError::MissingToken, AuthError::Expired, AuthError::Malformed] {
            assert!(err.to_string().starts_with("unauthorized: "), "{err}");
        }
    }

    #[test]
    fn only_editors_and_owners_write() {
        assert!(!Role::Viewer.can_write());
        assert!(Role::Editor.can_write());
        assert!(Role::Owner.can_write());
    }
}
