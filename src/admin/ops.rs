//! Admin actions, each checked (the requester must act as admin) and audited.

use serde_json::json;

use crate::accounts::Requester;
use crate::accounts::keys::{AccountError, record, resolve_user};
use crate::app::App;
use crate::audit::{AuditFilter, StoredAuditEntry};
use crate::identity::{Email, Plan, Role, User, UserFilter};

fn require_admin(requester: &Requester) -> Result<(), AccountError> {
    if requester.principal.acts_as_admin() {
        Ok(())
    } else {
        Err(AccountError::Forbidden(
            "this needs an admin with the admin scope".into(),
        ))
    }
}

pub async fn list_users(
    app: &App,
    requester: &Requester,
    filter: &UserFilter,
) -> Result<Vec<User>, AccountError> {
    require_admin(requester)?;
    Ok(app.users.list(filter).await?)
}

pub async fn create_user(
    app: &App,
    requester: &Requester,
    email: &str,
    display_name: &str,
    role: Role,
    plan: &str,
) -> Result<User, AccountError> {
    require_admin(requester)?;
    let plan = known_plan(app, plan)?;
    let email = Email::parse(email)?;
    let user = app.users.create(email, display_name, role, plan).await?;
    record(
        app,
        requester
            .audit("admin.user.created")
            .target(format!("user:{}", user.id))
            .details(json!({ "role": user.role, "plan": user.plan, "via": requester.via() })),
    )
    .await;
    Ok(user)
}

/// Sets a password (checked against the policy). Ends no session by itself.
pub async fn set_password(
    app: &App,
    requester: &Requester,
    who: &str,
    password: &str,
) -> Result<User, AccountError> {
    let user = resolve_user(app, who).await?;
    if user.id != requester.principal.user_id {
        require_admin(requester)?;
    }
    app.users.set_password(&user.id, password).await?;
    record(
        app,
        requester
            .audit("admin.user.password_set")
            .target(format!("user:{}", user.id))
            .details(json!({ "via": requester.via() })),
    )
    .await;
    Ok(user)
}

fn known_plan(app: &App, plan: &str) -> Result<Plan, AccountError> {
    let plan = Plan::new(plan.trim())?;
    if app.config.plans.0.contains_key(plan.as_str()) {
        Ok(plan)
    } else {
        Err(AccountError::Invalid(format!(
            "no plan named {:?}; configured plans: {}",
            plan.as_str(),
            app.config.plans.names().collect::<Vec<_>>().join(", ")
        )))
    }
}

pub async fn set_plan(
    app: &App,
    requester: &Requester,
    who: &str,
    plan: &str,
) -> Result<User, AccountError> {
    require_admin(requester)?;
    let plan = known_plan(app, plan)?;
    let before = resolve_user(app, who).await?;
    let user = app.users.set_plan(&before.id, plan).await?;
    record(
        app,
        requester
            .audit("admin.plan.changed")
            .target(format!("user:{}", user.id))
            .details(json!({ "from": before.plan, "to": user.plan, "via": requester.via() })),
    )
    .await;
    Ok(user)
}

pub async fn set_disabled(
    app: &App,
    requester: &Requester,
    who: &str,
    disabled: bool,
) -> Result<User, AccountError> {
    require_admin(requester)?;
    let target = resolve_user(app, who).await?;
    let user = app.users.set_disabled(&target.id, disabled).await?;
    let action = if disabled {
        "admin.user.disabled"
    } else {
        "admin.user.enabled"
    };
    record(
        app,
        requester
            .audit(action)
            .target(format!("user:{}", user.id))
            .details(json!({ "via": requester.via() })),
    )
    .await;
    Ok(user)
}

pub async fn unlock(app: &App, requester: &Requester, who: &str) -> Result<User, AccountError> {
    require_admin(requester)?;
    let target = resolve_user(app, who).await?;
    let user = app.users.unlock(&target.id).await?;
    record(
        app,
        requester
            .audit("admin.user.unlocked")
            .target(format!("user:{}", user.id))
            .details(json!({ "via": requester.via() })),
    )
    .await;
    Ok(user)
}

/// Zeroes the user's counters for today; returns the user and what had been used.
pub async fn reset_usage(
    app: &App,
    requester: &Requester,
    who: &str,
) -> Result<(User, serde_json::Value), AccountError> {
    require_admin(requester)?;
    let user = resolve_user(app, who).await?;
    let before = app
        .meter
        .reset_usage(&user.id)
        .await
        .map_err(|e| AccountError::Unavailable(e.to_string()))?;
    let before = serde_json::to_value(&before).unwrap_or(serde_json::Value::Null);
    record(
        app,
        requester
            .audit("admin.usage.reset")
            .target(format!("user:{}", user.id))
            .details(json!({ "before": before, "via": requester.via() })),
    )
    .await;
    Ok((user, before))
}

pub async fn query_audit(
    app: &App,
    requester: &Requester,
    filter: AuditFilter,
) -> Result<Vec<StoredAuditEntry>, AccountError> {
    require_admin(requester)?;
    let entries = app
        .audit
        .query(filter)
        .await
        .map_err(|e| AccountError::Unavailable(e.to_string()))?;
    // Reading the trail is itself an admin action worth a record.
    record(
        app,
        requester
            .audit("admin.audit.queried")
            .details(json!({ "returned": entries.len(), "via": requester.via() })),
    )
    .await;
    Ok(entries)
}
