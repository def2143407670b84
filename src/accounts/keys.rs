//! API-key management on behalf of a [`Requester`], audited: the one path by which the MCP
//! tools, the admin tools and `consilium api-keys …` create, list, revoke and rotate keys.
//!
//! Who may touch which key is decided by `crate::identity` (a user their own keys, an admin
//! anyone's); this file adds the audit record and the resolution of "which user" from an
//! email or an id. It must not put a key's secret into the audit log or a log line.

use serde_json::json;

use crate::app::App;
use crate::audit::AuditEntry;
use crate::identity::{
    ApiKeyInfo, AuthMethod, Email, IdentityError, KeyError, PlaintextApiKey, Principal, Scope,
    Timestamp, User, UserId,
};

/// Who asks, and from where: what the audit log records about an action's origin.
#[derive(Debug, Clone)]
pub struct Requester {
    pub principal: Principal,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Requester {
    /// A request from this machine (the command line, stdio).
    pub fn local(principal: Principal) -> Self {
        Self {
            principal,
            ip: None,
            user_agent: None,
        }
    }

    /// An audit entry for `action` with this requester as its actor.
    pub fn audit(&self, action: &str) -> AuditEntry {
        let mut entry = AuditEntry::new(self.principal.user_id.to_string(), action);
        if let Some(ip) = &self.ip {
            entry = entry.ip(ip.clone());
        }
        if let Some(user_agent) = &self.user_agent {
            entry = entry.user_agent(user_agent.clone());
        }
        entry
    }

    /// How the requester signed in, for the audit details.
    pub fn via(&self) -> &'static str {
        match self.principal.via {
            AuthMethod::Password => "password",
            AuthMethod::Jwt => "access_token",
            AuthMethod::ApiKey { .. } => "api_key",
            AuthMethod::Local => "local",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Unavailable(String),
}

/// Records `entry`, waiting for the commit. An action that already happened is not undone
/// when its record fails; the failure is logged loudly instead.
pub async fn record(app: &App, entry: AuditEntry) {
    let action = entry.action.clone();
    if let Err(error) = app.audit.record(entry).await {
        tracing::error!(%error, %action, "an audit record could not be written");
    }
}

/// The user an admin names by email or id.
pub async fn resolve_user(app: &App, who: &str) -> Result<User, AccountError> {
    let who = who.trim();
    let found = if who.contains('@') {
        app.users.find_by_email(&Email::parse(who)?).await?
    } else {
        let id = UserId::parse(who)?;
        app.users.get(&id).await?
    };
    found.ok_or(AccountError::Identity(IdentityError::UserNotFound))
}

/// The user whose keys a request is about: the requester, or (admins only) the one named.
pub async fn target_user(
    app: &App,
    requester: &Requester,
    named: Option<&str>,
) -> Result<UserId, AccountError> {
    match named {
        None => Ok(requester.principal.user_id.clone()),
        Some(who) => {
            let user = resolve_user(app, who).await?;
            if user.id != requester.principal.user_id && !requester.principal.acts_as_admin() {
                return Err(AccountError::Forbidden(
                    "only an admin may manage another user's keys".into(),
                ));
            }
            Ok(user.id)
        }
    }
}

pub async fn create_key(
    app: &App,
    requester: &Requester,
    owner: &UserId,
    name: &str,
    scopes: &[Scope],
    expires_at: Option<Timestamp>,
) -> Result<(ApiKeyInfo, PlaintextApiKey), AccountError> {
    let (info, plaintext) = app
        .api_keys
        .create_as(&requester.principal, owner, name, scopes, expires_at)
        .await?;
    record(
        app,
        requester
            .audit("api_key.created")
            .target(format!("api_key:{}", info.key_id))
            .details(json!({
                "owner": info.user_id.to_string(),
                "name": info.name,
                "scopes": info.scopes,
                "expires_at": info.expires_at.map(|t| t.to_rfc3339()),
                "via": requester.via(),
            })),
    )
    .await;
    Ok((info, plaintext))
}

pub async fn list_keys(
    app: &App,
    requester: &Requester,
    owner: &UserId,
) -> Result<Vec<ApiKeyInfo>, AccountError> {
    if *owner != requester.principal.user_id && !requester.principal.acts_as_admin() {
        return Err(AccountError::Forbidden(
            "only an admin may list another user's keys".into(),
        ));
    }
    Ok(app.api_keys.list(owner).await?)
}

pub async fn revoke_key(
    app: &App,
    requester: &Requester,
    key_id: &str,
) -> Result<ApiKeyInfo, AccountError> {
    let key_id = strip_key_id(key_id);
    let info = app.api_keys.revoke(key_id, &requester.principal).await?;
    record(
        app,
        requester
            .audit("api_key.revoked")
            .target(format!("api_key:{}", info.key_id))
            .details(json!({ "owner": info.user_id.to_string(), "via": requester.via() })),
    )
    .await;
    Ok(info)
}

pub async fn rotate_key(
    app: &App,
    requester: &Requester,
    key_id: &str,
) -> Result<(ApiKeyInfo, PlaintextApiKey), AccountError> {
    let key_id = strip_key_id(key_id);
    let (info, plaintext) = app.api_keys.rotate(key_id, &requester.principal).await?;
    record(
        app,
        requester
            .audit("api_key.rotated")
            .target(format!("api_key:{key_id}"))
            .details(json!({
                "owner": info.user_id.to_string(),
                "replaced_by": info.key_id,
                "via": requester.via(),
            })),
    )
    .await;
    Ok((info, plaintext))
}

/// Accepts a key id with or without the `csk_` prefix, so a pasted listing works. Never a
/// whole key: a secret has no business in a revoke request.
fn strip_key_id(key_id: &str) -> &str {
    let key_id = key_id.trim();
    key_id
        .strip_prefix(crate::identity::KEY_PREFIX)
        .unwrap_or(key_id)
}
