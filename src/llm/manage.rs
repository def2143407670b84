//! Managing provider keys, each operation checked and audited in one place so the MCP
//! tools and `consilium providers …` behave the same. Admins manage the shared pool (and
//! may list or delete users' own keys, seen masked); every user manages their own keys.
//!
//! The audit entries carry key ids and masked keys, never a secret.

use serde_json::json;
use zeroize::Zeroizing;

use super::pool::{KeyScope, KeyStatus, KeyView, NewKey, PoolError, normalised_base_url};
use super::providers::ProviderKind;
use crate::accounts::Requester;
use crate::accounts::keys::record;
use crate::app::App;

#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Invalid(String),
    #[error("no provider key of yours has that id")]
    NotFound,
    #[error("this key is already stored (as {0})")]
    Duplicate(String),
    /// The test call before adding failed; the key was not stored.
    #[error("the test call failed, so the key was not stored: {0}")]
    TestFailed(String),
    #[error("{0}")]
    Unavailable(String),
}

impl From<PoolError> for ManageError {
    fn from(error: PoolError) -> Self {
        match error {
            PoolError::Invalid(message) => ManageError::Invalid(message),
            PoolError::Duplicate(id) => ManageError::Duplicate(id),
            PoolError::NotFound => ManageError::NotFound,
            other => ManageError::Unavailable(other.to_string()),
        }
    }
}

/// A key to add, as a tool or the command line received it.
pub struct KeyToAdd {
    pub provider: String,
    pub label: String,
    pub secret: Zeroizing<String>,
    pub base_url: Option<String>,
    pub models: Vec<String>,
    pub features: Vec<String>,
    pub priority: i64,
    /// Store without the test call (offline set-up).
    pub skip_test: bool,
}

/// Whose key it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    Shared,
    Own,
}

fn require_admin(requester: &Requester) -> Result<(), ManageError> {
    if requester.principal.acts_as_admin() {
        Ok(())
    } else {
        Err(ManageError::Forbidden(
            "the shared key pool is managed by admins".into(),
        ))
    }
}

pub async fn add(
    app: &App,
    requester: &Requester,
    pool: Pool,
    key: KeyToAdd,
) -> Result<KeyView, ManageError> {
    if pool == Pool::Shared {
        require_admin(requester)?;
    }
    let provider: ProviderKind = key.provider.parse().map_err(ManageError::Invalid)?;
    let new = NewKey {
        owner: match pool {
            Pool::Shared => None,
            Pool::Own => Some(requester.principal.user_id.clone()),
        },
        provider,
        label: key.label,
        secret: Zeroizing::new(key.secret.trim().to_string()),
        base_url: key.base_url,
        models: key.models,
        features: if pool == Pool::Own {
            Vec::new()
        } else {
            key.features
        },
        priority: key.priority,
    };
    let keys = app.llm.pool();
    keys.validate(&new)?;
    if !key.skip_test {
        let Some(model) = new.models.first() else {
            return Err(ManageError::Invalid(
                "name at least one model so the key can be tested (or skip the test)".into(),
            ));
        };
        let base_url = match &new.base_url {
            Some(url) => normalised_base_url(url)?,
            None => provider.default_base_url().to_string(),
        };
        app.llm
            .test_secret(
                provider,
                &base_url,
                model,
                new.secret.as_str(),
                !new.features.is_empty()
                    && new
                        .features
                        .iter()
                        .all(|f| f == super::pool::EMBEDDING_FEATURE),
            )
            .await
            .map_err(|failure| ManageError::TestFailed(failure.to_string()))?;
    }
    let view = keys.add(new).await?;
    record(
        app,
        requester
            .audit("provider.key.added")
            .target(format!("provider_key:{}", view.id))
            .details(json!({
                "pool": view.pool, "provider": view.provider, "label": view.label,
                "key": view.key, "models": view.models, "features": view.features,
                "priority": view.priority, "tested": !key.skip_test, "via": requester.via(),
            })),
    )
    .await;
    Ok(view)
}

/// The keys the requester may see: an admin every key, a user their own.
pub fn list(
    app: &App,
    requester: &Requester,
    pool: Option<Pool>,
) -> Result<Vec<KeyView>, ManageError> {
    let scope = match pool {
        Some(Pool::Own) => KeyScope::OwnedBy(requester.principal.user_id.clone()),
        Some(Pool::Shared) => {
            require_admin(requester)?;
            KeyScope::Shared
        }
        None => {
            require_admin(requester)?;
            KeyScope::All
        }
    };
    Ok(app.llm.pool().views(&scope))
}

/// Finds a key the requester may manage: their own, or any key for an admin.
fn managed(app: &App, requester: &Requester, id: &str) -> Result<KeyView, ManageError> {
    let view = app
        .llm
        .pool()
        .view(id.trim())
        .ok_or(ManageError::NotFound)?;
    let own = view.owner.as_deref() == Some(requester.principal.user_id.as_str());
    if own || requester.principal.acts_as_admin() {
        Ok(view)
    } else {
        // Someone else's key is reported as absent, so ids cannot be probed.
        Err(ManageError::NotFound)
    }
}

pub async fn delete(app: &App, requester: &Requester, id: &str) -> Result<KeyView, ManageError> {
    let view = managed(app, requester, id)?;
    app.llm.pool().delete(&view.id).await?;
    record(
        app,
        requester
            .audit("provider.key.deleted")
            .target(format!("provider_key:{}", view.id))
            .details(json!({ "pool": view.pool, "provider": view.provider, "key": view.key, "via": requester.via() })),
    )
    .await;
    Ok(view)
}

pub async fn set_status(
    app: &App,
    requester: &Requester,
    id: &str,
    status: &str,
) -> Result<KeyView, ManageError> {
    require_admin(requester)?;
    let status = KeyStatus::parse(status).ok_or_else(|| {
        ManageError::Invalid("status must be active, degraded or disabled".into())
    })?;
    let before = managed(app, requester, id)?;
    let view = app.llm.pool().set_status(&before.id, status).await?;
    record(
        app,
        requester
            .audit("provider.key.status_set")
            .target(format!("provider_key:{}", view.id))
            .details(json!({ "from": before.status, "to": view.status, "via": requester.via() })),
    )
    .await;
    app.notifier.notify(
        "admin_override",
        format!(
            "an admin set provider key {} to {}",
            view.id,
            status.as_str()
        ),
        json!({ "key_id": view.id, "key": view.key, "status": view.status }),
    );
    Ok(view)
}

pub async fn set_priority(
    app: &App,
    requester: &Requester,
    id: &str,
    priority: i64,
) -> Result<KeyView, ManageError> {
    require_admin(requester)?;
    let before = managed(app, requester, id)?;
    let view = app.llm.pool().set_priority(&before.id, priority).await?;
    record(
        app,
        requester
            .audit("provider.key.priority_set")
            .target(format!("provider_key:{}", view.id))
            .details(
                json!({ "from": before.priority, "to": view.priority, "via": requester.via() }),
            ),
    )
    .await;
    Ok(view)
}

/// Probes a stored key now; the outcome counts toward its health like any call.
pub async fn test(
    app: &App,
    requester: &Requester,
    id: &str,
) -> Result<(KeyView, Result<u64, String>), ManageError> {
    let view = managed(app, requester, id)?;
    let key = app.llm.pool().find(&view.id).ok_or(ManageError::NotFound)?;
    let outcome = app
        .llm
        .probe(&key)
        .await
        .map(|latency| latency.as_millis() as u64)
        .map_err(|failure| failure.to_string());
    let view = app.llm.pool().view(&view.id).ok_or(ManageError::NotFound)?;
    Ok((view, outcome))
}

pub async fn set_shared_fallback(
    app: &App,
    requester: &Requester,
    allowed: bool,
) -> Result<(), ManageError> {
    app.llm
        .pool()
        .set_shared_fallback(&requester.principal.user_id, allowed)
        .await?;
    record(
        app,
        requester
            .audit("provider.preferences_set")
            .details(json!({ "shared_pool_fallback": allowed, "via": requester.via() })),
    )
    .await;
    Ok(())
}
