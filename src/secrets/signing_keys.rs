//! [`SigningKeys`]: the server's Ed25519 signing keys, kept in the store's `signing_keys`
//! table (migration 4), one active key per purpose (`jwt`, `audit`, later `certificate`).
//!
//! A key is named by its `kid`, the RFC 7638 thumbprint of its public half (RFC 8037's OKP
//! form), so the name cannot drift from the key. The private half (the 32-byte seed) is
//! stored only [`seal`]ed under the [`MasterKey`], bound by associated data to its purpose
//! and kid, so a sealed seed copied into another row or purpose does not open. Rotating
//! retires the active key (kept, to verify what it signed) and makes a new one.
//!
//! This file owns that table and nothing else. It must not decide what a key signs or for
//! how long its signatures stay acceptable (the callers do), must not run SQLite on an
//! async thread (everything goes through `Store::read`/`Store::write`), and must never
//! show key material: [`ActiveSigningKey`]'s `Debug` names the kid only, errors carry at
//! most a kid, and seeds live in buffers wiped on drop.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{SigningKey, VerifyingKey};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::key::fill_random;
use super::{MasterKey, SecretsError, open, seal};
use crate::identity::{Clock, Timestamp};
use crate::store::{Store, StoreError};

/// The longest purpose name, matching the table's CHECK.
const PURPOSE_MAX_CHARS: usize = 32;
const SEED_LEN: usize = 32;

/// What can go wrong with the signing keys. No variant carries key material.
#[derive(Debug, thiserror::Error)]
pub enum SigningKeyError {
    #[error("a signing key purpose is 1 to 32 characters of a-z, 0-9, '_' and '-'")]
    InvalidPurpose,

    /// The sealed private half did not open: the master key is not the one that sealed it,
    /// or the row was altered. Nothing is created in its place.
    #[error(
        "the private half of signing key {kid} could not be opened (wrong master key, or the row was altered)"
    )]
    Sealed {
        kid: String,
        #[source]
        source: SecretsError,
    },

    /// The row opened but does not describe one consistent key (seed, public key and kid
    /// disagree, or a column does not parse).
    #[error("signing key {kid} is damaged: {problem}")]
    Damaged { kid: String, problem: &'static str },

    #[error("a new signing key could not be made: {0}")]
    Secrets(#[source] SecretsError),

    #[error("the signing key store failed")]
    Store(#[source] StoreError),
}

impl From<StoreError> for SigningKeyError {
    fn from(error: StoreError) -> Self {
        SigningKeyError::Store(error)
    }
}

/// The key that signs for one purpose now. `Clone` copies the private key; share it
/// behind an `Arc` where possible.
#[derive(Clone)]
pub struct ActiveSigningKey {
    kid: String,
    purpose: String,
    created_at: Timestamp,
    signing_key: SigningKey,
}

impl ActiveSigningKey {
    /// The RFC 7638 thumbprint naming this key (a JWS `kid`).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn purpose(&self) -> &str {
        &self.purpose
    }

    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }

    /// The private key, for signing. Never log or store it.
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing_key
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing_key.verifying_key()
    }
}

impl fmt::Debug for ActiveSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActiveSigningKey")
            .field("kid", &self.kid)
            .field("purpose", &self.purpose)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// The public half of a key, active or retired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicSigningKey {
    pub kid: String,
    pub purpose: String,
    pub verifying_key: VerifyingKey,
    pub created_at: Timestamp,
    /// When it stopped signing; `None` for the active key.
    pub retired_at: Option<Timestamp>,
}

impl PublicSigningKey {
    pub fn is_active(&self) -> bool {
        self.retired_at.is_none()
    }

    /// This key as an RFC 8037 JWK (`kty` OKP, `crv` Ed25519, `alg` EdDSA, `use` sig).
    pub fn to_jwk(&self) -> Value {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(self.verifying_key.as_bytes()),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        })
    }
}

/// `{"keys": [...]}`, a JWK Set (RFC 7517 §5) of `keys`, in the order given.
pub fn jwks(keys: &[PublicSigningKey]) -> Value {
    json!({ "keys": keys.iter().map(PublicSigningKey::to_jwk).collect::<Vec<_>>() })
}

/// The RFC 7638 thumbprint of an Ed25519 public key: base64url (no padding) of the SHA-256
/// of `{"crv":"Ed25519","kty":"OKP","x":"<base64url x>"}`, members in that order.
pub fn jwk_thumbprint(public_key: &[u8; 32]) -> String {
    let canonical = format!(
        r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(public_key)
    );
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// The signing keys in the store. Cheap to clone.
#[derive(Clone)]
pub struct SigningKeys {
    store: Store,
    master: Arc<MasterKey>,
    clock: Arc<dyn Clock>,
}

impl SigningKeys {
    pub fn new(store: Store, master: Arc<MasterKey>, clock: Arc<dyn Clock>) -> SigningKeys {
        SigningKeys {
            store,
            master,
            clock,
        }
    }

    /// The active key for `purpose`, made (and stored) if there is none. Concurrent first
    /// calls agree on one key: the check and the insert happen in one write.
    pub async fn load_or_create(&self, purpose: &str) -> Result<ActiveSigningKey, SigningKeyError> {
        let purpose = check_purpose(purpose)?;
        // Most calls find the key: a read, without making a candidate or taking the writer.
        let wanted = purpose.clone();
        if let Some(row) = self
            .store
            .read(move |connection| Ok(select_active(connection, &wanted)?))
            .await?
        {
            return self.open_row(row);
        }
        let candidate = self.new_row(&purpose)?;
        let row = self
            .store
            .write(move |tx| {
                if let Some(existing) = select_active(tx, &purpose)? {
                    return Ok(existing);
                }
                insert(tx, &candidate)?;
                Ok(candidate)
            })
            .await?;
        self.open_row(row)
    }

    /// Retires the active key for `purpose` (it stays, for verification) and makes a new
    /// one, in one write. Works when there is no active key yet.
    pub async fn rotate(&self, purpose: &str) -> Result<ActiveSigningKey, SigningKeyError> {
        let purpose = check_purpose(purpose)?;
        let candidate = self.new_row(&purpose)?;
        let now = candidate.created_at.clone();
        let row = self
            .store
            .write(move |tx| {
                tx.execute(
                    "UPDATE signing_keys SET retired_at = ?2 WHERE purpose = ?1 AND retired_at IS NULL",
                    params![purpose, now],
                )?;
                insert(tx, &candidate)?;
                Ok(candidate)
            })
            .await?;
        self.open_row(row)
    }

    /// Every public key of `purpose`, retired ones included, oldest first.
    pub async fn public_keys(
        &self,
        purpose: &str,
    ) -> Result<Vec<PublicSigningKey>, SigningKeyError> {
        let purpose = check_purpose(purpose)?;
        let rows = self
            .store
            .read(move |connection| {
                let mut statement = connection.prepare(
                    "SELECT kid, purpose, public_key, created_at, retired_at FROM signing_keys
                     WHERE purpose = ?1 ORDER BY created_at, rowid",
                )?;
                let rows = statement
                    .query_map([purpose], |row| {
                        Ok(PublicRow {
                            kid: row.get(0)?,
                            purpose: row.get(1)?,
                            public_key: row.get(2)?,
                            created_at: row.get(3)?,
                            retired_at: row.get(4)?,
                        })
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await?;
        rows.into_iter().map(PublicRow::into_key).collect()
    }

    /// [`jwks`] of every key of `purpose`, retired ones included.
    pub async fn jwks(&self, purpose: &str) -> Result<Value, SigningKeyError> {
        Ok(jwks(&self.public_keys(purpose).await?))
    }

    /// A fresh key for `purpose`, sealed and ready to insert. Pure CPU; no I/O.
    fn new_row(&self, purpose: &str) -> Result<StoredKey, SigningKeyError> {
        let mut seed = Zeroizing::new([0u8; SEED_LEN]);
        fill_random(&mut seed[..]).map_err(SigningKeyError::Secrets)?;
        let public_key = SigningKey::from_bytes(&seed).verifying_key().to_bytes();
        let kid = jwk_thumbprint(&public_key);
        let private_sealed = seal(&self.master, &seed[..], &associated_data(purpose, &kid))
            .map_err(SigningKeyError::Secrets)?;
        Ok(StoredKey {
            kid,
            purpose: purpose.to_owned(),
            public_key: public_key.to_vec(),
            private_sealed,
            created_at: self.clock.now().to_rfc3339(),
        })
    }

    /// Opens a stored key and checks that seed, public key and kid agree.
    fn open_row(&self, row: StoredKey) -> Result<ActiveSigningKey, SigningKeyError> {
        let damaged = |problem| SigningKeyError::Damaged {
            kid: row.kid.clone(),
            problem,
        };
        let seed = open(
            &self.master,
            &row.private_sealed,
            &associated_data(&row.purpose, &row.kid),
        )
        .map_err(|source| SigningKeyError::Sealed {
            kid: row.kid.clone(),
            source,
        })?;
        let seed: &[u8; SEED_LEN] = seed
            .as_slice()
            .try_into()
            .map_err(|_| damaged("the private half is not 32 bytes"))?;
        let signing_key = SigningKey::from_bytes(seed);
        let public_key = signing_key.verifying_key().to_bytes();
        if public_key.as_slice() != row.public_key.as_slice() {
            return Err(damaged("the private half does not match the public key"));
        }
        if jwk_thumbprint(&public_key) != row.kid {
            return Err(damaged("the kid is not the public key's thumbprint"));
        }
        let created_at = Timestamp::parse_rfc3339(&row.created_at)
            .ok_or_else(|| damaged("created_at is not an RFC 3339 timestamp"))?;
        Ok(ActiveSigningKey {
            kid: row.kid,
            purpose: row.purpose,
            created_at,
            signing_key,
        })
    }
}

impl fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeys")
            .field("store", &self.store)
            .field("master", &self.master)
            .finish_non_exhaustive()
    }
}

/// A row of `signing_keys` as written or read for signing. Holds only the sealed seed.
struct StoredKey {
    kid: String,
    purpose: String,
    public_key: Vec<u8>,
    private_sealed: Vec<u8>,
    created_at: String,
}

/// A row as read for verification: no private half at all.
struct PublicRow {
    kid: String,
    purpose: String,
    public_key: Vec<u8>,
    created_at: String,
    retired_at: Option<String>,
}

impl PublicRow {
    fn into_key(self) -> Result<PublicSigningKey, SigningKeyError> {
        let kid = self.kid;
        let damaged = |problem| SigningKeyError::Damaged {
            kid: kid.clone(),
            problem,
        };
        let bytes: [u8; 32] = self
            .public_key
            .as_slice()
            .try_into()
            .map_err(|_| damaged("the public key is not 32 bytes"))?;
        let verifying_key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| damaged("the public key is not an Ed25519 point"))?;
        if jwk_thumbprint(&bytes) != kid {
            return Err(damaged("the kid is not the public key's thumbprint"));
        }
        let created_at = Timestamp::parse_rfc3339(&self.created_at)
            .ok_or_else(|| damaged("created_at is not an RFC 3339 timestamp"))?;
        let retired_at = match self.retired_at {
            None => None,
            Some(text) => Some(
                Timestamp::parse_rfc3339(&text)
                    .ok_or_else(|| damaged("retired_at is not an RFC 3339 timestamp"))?,
            ),
        };
        Ok(PublicSigningKey {
            kid,
            purpose: self.purpose,
            verifying_key,
            created_at,
            retired_at,
        })
    }
}

fn check_purpose(purpose: &str) -> Result<String, SigningKeyError> {
    let well_formed = (1..=PURPOSE_MAX_CHARS).contains(&purpose.len())
        && purpose
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if well_formed {
        Ok(purpose.to_owned())
    } else {
        Err(SigningKeyError::InvalidPurpose)
    }
}

/// Binds a sealed seed to its purpose and kid.
/// The sealed private halves, for master key rotation.
pub const SEALED_SIGNING_KEYS: super::rotation::SealedColumn = super::rotation::SealedColumn {
    name: "signing key",
    table: "signing_keys",
    column: "private_sealed",
    select: "SELECT rowid, private_sealed, purpose, kid FROM signing_keys",
    associated_data: |row| {
        Ok(associated_data(
            &row.get::<_, String>(2)?,
            &row.get::<_, String>(3)?,
        ))
    },
};

fn associated_data(purpose: &str, kid: &str) -> Vec<u8> {
    format!("signing_key:{purpose}:{kid}").into_bytes()
}

fn select_active(connection: &Connection, purpose: &str) -> rusqlite::Result<Option<StoredKey>> {
    connection
        .query_row(
            "SELECT kid, purpose, public_key, private_sealed, created_at FROM signing_keys
             WHERE purpose = ?1 AND retired_at IS NULL",
            [purpose],
            |row| {
                Ok(StoredKey {
                    kid: row.get(0)?,
                    purpose: row.get(1)?,
                    public_key: row.get(2)?,
                    private_sealed: row.get(3)?,
                    created_at: row.get(4)?,
                })
            },
        )
        .optional()
}

fn insert(connection: &Connection, key: &StoredKey) -> rusqlite::Result<()> {
    connection.execute(
        "INSERT INTO signing_keys (kid, purpose, public_key, private_sealed, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            key.kid,
            key.purpose,
            key.public_key,
            key.private_sealed,
            key.created_at
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use tempfile::TempDir;

    use super::*;
    use crate::identity::ManualClock;
    use crate::store::StoreOptions;

    /// 2025-01-01T00:00:00Z.
    const START: i64 = 1_735_689_600;

    struct Fixture {
        _dir: TempDir,
        store: Store,
        master: Arc<MasterKey>,
        clock: Arc<ManualClock>,
    }

    impl Fixture {
        async fn new() -> Fixture {
            let dir = TempDir::new().unwrap();
            let path = dir.path().join("consilium.sqlite");
            let store =
                tokio::task::spawn_blocking(move || Store::open(&path, StoreOptions::default()))
                    .await
                    .unwrap()
                    .unwrap();
            Fixture {
                _dir: dir,
                store,
                master: Arc::new(MasterKey::generate().unwrap()),
                clock: Arc::new(ManualClock::at(
                    Timestamp::from_unix_seconds(START).unwrap(),
                )),
            }
        }

        fn keys(&self) -> SigningKeys {
            SigningKeys::new(self.store.clone(), self.master.clone(), self.clock.clone())
        }

        fn keys_under(&self, master: MasterKey) -> SigningKeys {
            SigningKeys::new(self.store.clone(), Arc::new(master), self.clock.clone())
        }
    }

    #[test]
    fn the_thumbprint_matches_the_rfc_8037_example() {
        // RFC 8037 appendix A.1 (the key) and A.3 (its RFC 7638 thumbprint).
        let d = URL_SAFE_NO_PAD
            .decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
            .unwrap();
        let signing_key = SigningKey::from_bytes(&d.try_into().unwrap());
        let x = signing_key.verifying_key().to_bytes();
        assert_eq!(
            URL_SAFE_NO_PAD.encode(x),
            "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
        );
        assert_eq!(
            jwk_thumbprint(&x),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[tokio::test]
    async fn a_key_is_created_once_and_reloaded_with_the_same_kid() {
        let fixture = Fixture::new().await;
        let first = fixture.keys().load_or_create("jwt").await.unwrap();
        assert_eq!(
            first.kid(),
            jwk_thumbprint(first.verifying_key().as_bytes())
        );
        assert_eq!(first.purpose(), "jwt");
        let again = fixture.keys().load_or_create("jwt").await.unwrap();
        assert_eq!(again.kid(), first.kid());
        assert_eq!(
            again.signing_key().to_bytes(),
            first.signing_key().to_bytes()
        );
        let audit = fixture.keys().load_or_create("audit").await.unwrap();
        assert_ne!(audit.kid(), first.kid(), "each purpose has its own key");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_first_calls_agree_on_one_key() {
        let fixture = Fixture::new().await;
        let calls: Vec<_> = (0..16)
            .map(|_| {
                let keys = fixture.keys();
                tokio::spawn(async move { keys.load_or_create("jwt").await.unwrap() })
            })
            .collect();
        let mut kids = HashSet::new();
        for call in calls {
            kids.insert(call.await.unwrap().kid().to_owned());
        }
        assert_eq!(kids.len(), 1);
        assert_eq!(fixture.keys().public_keys("jwt").await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn rotating_keeps_the_old_public_key_for_verification() {
        let fixture = Fixture::new().await;
        let keys = fixture.keys();
        let old = keys.load_or_create("jwt").await.unwrap();
        fixture.clock.advance(3600);
        let new = keys.rotate("jwt").await.unwrap();
        assert_ne!(new.kid(), old.kid());
        assert_eq!(keys.load_or_create("jwt").await.unwrap().kid(), new.kid());
        let public = keys.public_keys("jwt").await.unwrap();
        assert_eq!(public.len(), 2);
        assert_eq!(public[0].kid, old.kid());
        assert_eq!(public[0].verifying_key, old.verifying_key());
        assert_eq!(
            public[0].retired_at,
            Some(Timestamp::from_unix_seconds(START + 3600).unwrap())
        );
        assert_eq!(public[1].kid, new.kid());
        assert!(public[1].is_active());
    }

    #[tokio::test]
    async fn a_wrong_master_key_cannot_open_the_private_half() {
        let fixture = Fixture::new().await;
        let made = fixture.keys().load_or_create("jwt").await.unwrap();
        let other = fixture.keys_under(MasterKey::generate().unwrap());
        let error = other.load_or_create("jwt").await.unwrap_err();
        assert!(
            matches!(&error, SigningKeyError::Sealed { kid, .. } if kid == made.kid()),
            "{error:?}"
        );
        // Nothing was made in its place.
        assert_eq!(fixture.keys().public_keys("jwt").await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_sealed_seed_moved_to_another_purpose_does_not_open() {
        let fixture = Fixture::new().await;
        fixture.keys().load_or_create("jwt").await.unwrap();
        fixture
            .store
            .write(|tx| {
                tx.execute(
                    "UPDATE signing_keys SET purpose = 'audit' WHERE purpose = 'jwt'",
                    [],
                )?;
                Ok(())
            })
            .await
            .unwrap();
        let error = fixture.keys().load_or_create("audit").await.unwrap_err();
        assert!(matches!(error, SigningKeyError::Sealed { .. }), "{error:?}");
    }

    #[tokio::test]
    async fn debug_output_and_the_jwks_show_no_private_key() {
        let fixture = Fixture::new().await;
        let keys = fixture.keys();
        let active = keys.load_or_create("jwt").await.unwrap();
        let seed = active.signing_key().to_bytes();
        let secret_forms = [
            URL_SAFE_NO_PAD.encode(seed),
            base64::engine::general_purpose::STANDARD.encode(seed),
            seed.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            format!("{:?}", seed),
        ];
        let jwks = keys.jwks("jwt").await.unwrap();
        let shown = format!("{active:?} {active:#?} {keys:?} {jwks}");
        for secret in &secret_forms {
            assert!(!shown.contains(secret.as_str()), "{shown}");
        }
        assert!(shown.contains(active.kid()));
        let key = &jwks["keys"][0];
        assert_eq!(key["kty"], "OKP");
        assert_eq!(key["crv"], "Ed25519");
        assert_eq!(key["alg"], "EdDSA");
        assert_eq!(key["use"], "sig");
        assert_eq!(key["kid"], active.kid());
        assert_eq!(
            key["x"],
            URL_SAFE_NO_PAD.encode(active.verifying_key().as_bytes())
        );
        assert!(key.get("d").is_none());
    }

    #[tokio::test]
    async fn malformed_purposes_are_refused() {
        let fixture = Fixture::new().await;
        for bad in ["", "JWT", "jwt key", &"x".repeat(33), "jwt:1"] {
            let error = fixture.keys().load_or_create(bad).await.unwrap_err();
            assert!(
                matches!(error, SigningKeyError::InvalidPurpose),
                "{bad}: {error:?}"
            );
        }
    }
}
