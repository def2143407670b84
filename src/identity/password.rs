//! Password hashing: argon2id with the OWASP parameters, PHC strings, the
//! password policy, and the dummy hash that makes a login for an unknown
//! email cost the same as one for a known email.
//!
//! Hashing and verifying take tens of milliseconds of CPU and 19 MiB of
//! memory, so they run only on tokio's blocking pool, never on an async
//! worker thread. This file must not touch the store or log a password or a
//! hash; passwords are copied only into buffers that are wiped on drop.

use std::fmt;
use std::sync::{Arc, OnceLock};

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, PasswordHash, Version};
use rand::TryRng;
use rand::rngs::SysRng;
use zeroize::Zeroizing;

use super::IdentityError;

// argon2id parameters from the OWASP Password Storage Cheat Sheet, section
// "Argon2id": "Use Argon2id with a minimum configuration of 19 MiB of memory,
// an iteration count of 2, and 1 degree of parallelism."
// https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html#argon2id
/// Memory cost in KiB: 19 MiB.
pub(crate) const OWASP_MEMORY_KIB: u32 = 19 * 1024;
/// Time cost: passes over the memory.
pub(crate) const OWASP_ITERATIONS: u32 = 2;
/// Lanes.
pub(crate) const OWASP_PARALLELISM: u32 = 1;
/// A 256-bit tag, argon2's default.
const HASH_OUTPUT_BYTES: usize = 32;
/// 128-bit salts, as the PHC string format recommends.
const SALT_BYTES: usize = 16;

/// Evaluated by the compiler, so a typo in the constants fails the build
/// instead of a login.
const OWASP_PARAMS: Params = match Params::new(
    OWASP_MEMORY_KIB,
    OWASP_ITERATIONS,
    OWASP_PARALLELISM,
    Some(HASH_OUTPUT_BYTES),
) {
    Ok(params) => params,
    Err(_) => panic!("the OWASP argon2id parameters are invalid"),
};

/// Fewest characters a password may have.
pub const PASSWORD_MIN_CHARS: usize = 12;
/// Most characters a password may have: long passphrases are welcome, but
/// hashing megabytes on request would be a denial of service.
pub const PASSWORD_MAX_CHARS: usize = 1024;

/// Checks a new password against the policy: 12 to 1024 characters, not
/// only whitespace. No composition rules (NIST SP 800-63B advises against
/// them).
pub fn check_password_policy(password: &str) -> Result<(), IdentityError> {
    let characters = password.chars().count();
    if characters < PASSWORD_MIN_CHARS {
        return Err(IdentityError::PasswordTooShort {
            min: PASSWORD_MIN_CHARS,
        });
    }
    if characters > PASSWORD_MAX_CHARS {
        return Err(IdentityError::PasswordTooLong {
            max: PASSWORD_MAX_CHARS,
        });
    }
    if password.chars().all(char::is_whitespace) {
        return Err(IdentityError::PasswordBlank);
    }
    Ok(())
}

/// Hashes and verifies passwords. Cheap to clone; clones share the dummy
/// hash.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    /// A hash of a random password made with `params`, verified against
    /// when there is no real hash, so that path costs the same. Made on first
    /// need, on the blocking pool.
    dummy_hash: Arc<OnceLock<String>>,
}

impl PasswordHasher {
    /// The production hasher: argon2id, m = 19456 KiB, t = 2, p = 1.
    pub fn owasp() -> PasswordHasher {
        PasswordHasher::with_params(OWASP_PARAMS)
    }

    /// A hasher with other costs; tests use cheap ones for speed.
    #[cfg(test)]
    pub(crate) fn with_costs(
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
    ) -> Result<PasswordHasher, IdentityError> {
        let params = Params::new(memory_kib, iterations, parallelism, Some(HASH_OUTPUT_BYTES))
            .map_err(|_| IdentityError::Hashing)?;
        Ok(PasswordHasher::with_params(params))
    }

    fn with_params(params: Params) -> PasswordHasher {
        PasswordHasher {
            params,
            dummy_hash: Arc::new(OnceLock::new()),
        }
    }

    /// (memory KiB, iterations, parallelism) new hashes are made with.
    pub fn costs(&self) -> (u32, u32, u32) {
        (
            self.params.m_cost(),
            self.params.t_cost(),
            self.params.p_cost(),
        )
    }

    /// Hashes `password` with a fresh random salt into a PHC string
    /// (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`).
    pub async fn hash(&self, password: &str) -> Result<String, IdentityError> {
        let password = Zeroizing::new(password.to_owned());
        let params = self.params.clone();
        run_blocking(move || hash_blocking(&params, &password)).await?
    }

    /// Whether `password` matches `stored`. With `None` (no such user, or no
    /// password set) it verifies against the dummy hash and answers `false`,
    /// doing the same work as a real check.
    pub async fn verify(
        &self,
        password: &str,
        stored: Option<String>,
    ) -> Result<bool, IdentityError> {
        let password = Zeroizing::new(password.to_owned());
        let hasher = self.clone();
        run_blocking(move || match stored {
            Some(stored) => verify_blocking(&password, &stored),
            None => {
                let dummy = hasher.dummy_hash_blocking()?;
                verify_blocking(&password, dummy).map(|_| false)
            }
        })
        .await?
    }

    /// Whether `stored` was made with other settings than this hasher's (or
    /// is not an argon2id PHC string at all), so it should be replaced the
    /// next time the password is known.
    pub fn needs_rehash(&self, stored: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return true;
        };
        let same_algorithm = parsed.algorithm.as_str() == Algorithm::Argon2id.as_str();
        let same_version = parsed.version == Some(Version::V0x13 as u32);
        let same_params = Params::try_from(&parsed).is_ok_and(|params| params == self.params);
        !(same_algorithm && same_version && same_params)
    }

    fn dummy_hash_blocking(&self) -> Result<&str, IdentityError> {
        if self.dummy_hash.get().is_none() {
            let mut random_password = Zeroizing::new([0u8; 32]);
            fill_random(random_password.as_mut())?;
            let hash = hash_bytes_blocking(&self.params, random_password.as_ref())?;
            // Two first logins may race here; either hash serves.
            let _ = self.dummy_hash.set(hash);
        }
        self.dummy_hash
            .get()
            .map(String::as_str)
            .ok_or(IdentityError::Hashing)
    }
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (memory_kib, iterations, parallelism) = self.costs();
        f.debug_struct("PasswordHasher")
            .field("algorithm", &"argon2id")
            .field("memory_kib", &memory_kib)
            .field("iterations", &iterations)
            .field("parallelism", &parallelism)
            .finish_non_exhaustive()
    }
}

/// Fills `buffer` from the operating system's CSPRNG.
pub(crate) fn fill_random(buffer: &mut [u8]) -> Result<(), IdentityError> {
    SysRng
        .try_fill_bytes(buffer)
        .map_err(|_| IdentityError::Randomness)
}

async fn run_blocking<T, F>(work: F) -> Result<T, IdentityError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| IdentityError::Hashing)
}

fn hash_blocking(params: &Params, password: &str) -> Result<String, IdentityError> {
    hash_bytes_blocking(params, password.as_bytes())
}

fn hash_bytes_blocking(params: &Params, password: &[u8]) -> Result<String, IdentityError> {
    let mut salt = [0u8; SALT_BYTES];
    fill_random(&mut salt)?;
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_with_salt(password, &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| IdentityError::Hashing)
}

/// The algorithm, version and costs come from the stored string, so hashes
/// made with older settings still verify.
fn verify_blocking(password: &str, stored: &str) -> Result<bool, IdentityError> {
    let parsed = PasswordHash::new(stored).map_err(|_| IdentityError::Hashing)?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, OWASP_PARAMS);
    match argon2.verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
        Err(_) => Err(IdentityError::Hashing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap costs for the tests; never for real passwords.
    fn cheap() -> PasswordHasher {
        PasswordHasher::with_costs(8, 1, 1).unwrap()
    }

    #[test]
    fn the_production_parameters_are_owasps_argon2id_minimum() {
        assert_eq!(PasswordHasher::owasp().costs(), (19_456, 2, 1));
        assert_eq!(OWASP_PARAMS.output_len(), Some(32));
    }

    #[tokio::test]
    async fn a_hash_is_an_argon2id_phc_string_that_verifies_only_its_password() {
        let hasher = cheap();
        let hash = hasher.hash("correct horse battery").await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{hash}");
        assert!(!hash.contains("correct horse"));
        let stored = Some(hash);
        assert!(
            hasher
                .verify("correct horse battery", stored.clone())
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("correct horse batterx", stored)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn the_production_hasher_writes_the_cited_parameters_into_its_hashes() {
        let hash = PasswordHasher::owasp()
            .hash("a production password")
            .await
            .unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(!PasswordHasher::owasp().needs_rehash(&hash));
    }

    #[tokio::test]
    async fn without_a_stored_hash_verification_still_works_and_fails() {
        let hasher = cheap();
        assert!(!hasher.verify("anything at all", None).await.unwrap());
        assert!(!hasher.verify("anything at all", None).await.unwrap());
    }

    #[tokio::test]
    async fn hashes_made_with_other_settings_need_rehashing() {
        let old = cheap().hash("a long enough password").await.unwrap();
        let current = PasswordHasher::with_costs(16, 1, 1).unwrap();
        assert!(current.needs_rehash(&old));
        assert!(!cheap().needs_rehash(&old));
        assert!(current.needs_rehash("not a phc string"));
        assert!(
            current
                .verify("a long enough password", Some(old))
                .await
                .unwrap(),
            "old hashes still verify"
        );
    }

    #[test]
    fn the_policy_wants_twelve_to_1024_characters_not_all_blank() {
        assert!(check_password_policy("elevenchars").is_err());
        assert!(check_password_policy("twelve chars").is_ok());
        assert!(
            check_password_policy("ééééééééééé").is_err(),
            "11 characters"
        );
        assert!(check_password_policy(&"x".repeat(1024)).is_ok());
        assert!(check_password_policy(&"x".repeat(1025)).is_err());
        assert!(matches!(
            check_password_policy(" \t\n            "),
            Err(IdentityError::PasswordBlank)
        ));
    }

    #[test]
    fn debug_shows_the_costs_only() {
        let shown = format!("{:?}", PasswordHasher::owasp());
        assert!(shown.contains("19456"), "{shown}");
    }
}
