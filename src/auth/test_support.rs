//! Helpers for the auth tests: a real store in a scratch folder, the identity, secrets and
//! audit services on a clock the test moves, a cheap password hasher, and ways to forge
//! tokens as an attacker (or a buggy client) would. Test-only.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::Value;
use tempfile::TempDir;

use super::{AuthParts, AuthService, JWT_KEY_PURPOSE, Tokens};
use crate::audit::{AuditFilter, AuditLog, AuditLogConfig, StoredAuditEntry};
use crate::config::AuthConfig;
use crate::identity::{
    ApiKeys, Email, ManualClock, PasswordHasher, Plan, Role, Timestamp, User, Users,
};
use crate::secrets::{MasterKey, SigningKeys};
use crate::store::{Store, StoreOptions};

/// 2025-01-01T00:00:00Z, where every test's clock starts.
pub(crate) const START: i64 = 1_735_689_600;

pub(crate) const PASSWORD: &str = "correct horse battery staple";

pub(crate) struct Fixture {
    /// Held so the folder outlives the store.
    _dir: TempDir,
    pub(crate) store: Store,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) users: Users,
    pub(crate) api_keys: ApiKeys,
    pub(crate) signing_keys: SigningKeys,
    pub(crate) audit: AuditLog,
    pub(crate) config: AuthConfig,
}

impl Fixture {
    pub(crate) async fn new() -> Fixture {
        Fixture::with_config(AuthConfig::default()).await
    }

    pub(crate) async fn with_config(config: AuthConfig) -> Fixture {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("consilium.sqlite");
        let store =
            tokio::task::spawn_blocking(move || Store::open(&path, StoreOptions::default()))
                .await
                .unwrap()
                .unwrap();
        let clock = Arc::new(ManualClock::at(
            Timestamp::from_unix_seconds(START).unwrap(),
        ));
        // Cheap argon2 costs for speed; production costs have their own test in identity.
        let hasher = PasswordHasher::with_costs(8, 1, 1).unwrap();
        let users = Users::with_parts(store.clone(), hasher, clock.clone());
        let api_keys = ApiKeys::with_clock(store.clone(), clock.clone());
        let signing_keys = SigningKeys::new(
            store.clone(),
            Arc::new(MasterKey::generate().unwrap()),
            clock.clone(),
        );
        let audit = AuditLog::new(
            store.clone(),
            AuditLogConfig::new(
                dir.path().join("audit-checkpoints.jsonl"),
                SigningKey::from_bytes(&[7; 32]),
            ),
        );
        Fixture {
            _dir: dir,
            store,
            clock,
            users,
            api_keys,
            signing_keys,
            audit,
            config,
        }
    }

    pub(crate) async fn tokens(&self) -> Tokens {
        self.tokens_with(&self.config).await
    }

    /// Another token service over the same store and keys, e.g. with another issuer.
    pub(crate) async fn tokens_with(&self, config: &AuthConfig) -> Tokens {
        Tokens::new(
            config,
            self.store.clone(),
            self.users.clone(),
            self.signing_keys.clone(),
            self.clock.clone(),
        )
        .await
        .unwrap()
    }

    pub(crate) async fn service(&self) -> Arc<AuthService> {
        Arc::new(
            AuthService::new(AuthParts {
                config: self.config.clone(),
                store: self.store.clone(),
                users: self.users.clone(),
                api_keys: self.api_keys.clone(),
                signing_keys: self.signing_keys.clone(),
                audit: self.audit.clone(),
                clock: self.clock.clone(),
            })
            .await
            .unwrap(),
        )
    }

    /// A user with [`PASSWORD`].
    pub(crate) async fn user(&self, email: &str) -> User {
        let user = self
            .users
            .create(
                Email::parse(email).unwrap(),
                "Someone",
                Role::User,
                Plan::free(),
            )
            .await
            .unwrap();
        self.users.set_password(&user.id, PASSWORD).await.unwrap();
        self.users.get(&user.id).await.unwrap().unwrap()
    }

    /// Every audit entry so far, oldest first, once queued writes have committed.
    pub(crate) async fn audit_entries(&self) -> Vec<StoredAuditEntry> {
        self.store.write(|_| Ok(())).await.unwrap();
        let mut entries = self.audit.query(AuditFilter::default()).await.unwrap();
        entries.reverse();
        entries
    }

    /// A token with `claims`, signed EdDSA with the real active `jwt` key under `kid`.
    pub(crate) async fn forge_with_real_key(&self, kid: &str, claims: &Value) -> String {
        let active = self
            .signing_keys
            .load_or_create(JWT_KEY_PURPOSE)
            .await
            .unwrap();
        let der = super::keyring::pkcs8_der(active.signing_key());
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(&der[..])).unwrap()
    }
}

/// The claims part of `token`, decoded without any check.
pub(crate) fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// The header part of `token`, decoded without any check.
pub(crate) fn header_of(token: &str) -> Value {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

/// `token` with its header or claims replaced by `json`, the other parts kept.
pub(crate) fn with_part(token: &str, index: usize, json: &Value) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[index] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(json).unwrap());
    parts.join(".")
}
