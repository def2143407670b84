//! What account tools show: users and keys as plain, schema-described records. A view never
//! holds a password hash or a key secret; [`CreatedKey`] carries the one secret a client is
//! ever shown, at creation or rotation.

use schemars::JsonSchema;
use serde::Serialize;

use crate::identity::{ApiKeyInfo, PlaintextApiKey, User};

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub display_name: String,
    /// `admin` or `user`.
    pub role: String,
    pub plan: String,
    pub disabled: bool,
    /// Locked by repeated failed logins until an admin unlocks it.
    pub locked: bool,
    pub has_password: bool,
    pub is_local_owner: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.to_string(),
            email: user.email.to_string(),
            display_name: user.display_name.clone(),
            role: user.role.to_string(),
            plan: user.plan.to_string(),
            disabled: user.disabled,
            locked: user.is_locked(),
            has_password: user.has_password,
            is_local_owner: user.is_local_owner,
            created_at: user.created_at.to_rfc3339(),
            updated_at: user.updated_at.to_rfc3339(),
        }
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ApiKeyView {
    /// The public id of the key (the part after `csk_`), used to revoke or rotate it.
    pub key_id: String,
    pub user_id: String,
    pub name: String,
    pub scopes: Vec<String>,
    /// `active`, `revoked` or `expired`.
    pub status: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    /// The key that replaced this one when it was rotated.
    pub replaced_by: Option<String>,
}

impl ApiKeyView {
    pub fn new(key: &ApiKeyInfo, now: crate::identity::Timestamp) -> Self {
        let status = if key.is_revoked() {
            "revoked"
        } else if key.is_expired_at(now) {
            "expired"
        } else {
            "active"
        };
        Self {
            key_id: key.key_id.clone(),
            user_id: key.user_id.to_string(),
            name: key.name.clone(),
            scopes: key.scopes.iter().map(ToString::to_string).collect(),
            status: status.to_string(),
            created_at: key.created_at.to_rfc3339(),
            last_used_at: key.last_used_at.map(|t| t.to_rfc3339()),
            expires_at: key.expires_at.map(|t| t.to_rfc3339()),
            revoked_at: key.revoked_at.map(|t| t.to_rfc3339()),
            replaced_by: key.replaced_by.clone(),
        }
    }
}

/// A key just made: the only time its secret is shown.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CreatedKey {
    /// The whole key, `csk_…`. Shown once: store it now; the server keeps only a digest.
    pub api_key: String,
    pub key: ApiKeyView,
}

impl CreatedKey {
    pub fn new(
        info: &ApiKeyInfo,
        plaintext: &PlaintextApiKey,
        now: crate::identity::Timestamp,
    ) -> Self {
        Self {
            api_key: plaintext.expose().to_string(),
            key: ApiKeyView::new(info, now),
        }
    }
}
