//! The admin tools: a thin MCP layer over [`super::ops`]. Their specs carry the `admin`
//! scope, so they are absent from everyone else's `tools/list` and refused if called.

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ops;
use crate::accounts::UserView;
use crate::accounts::requester;
use crate::audit::{AuditFilter, StoredAuditEntry};
use crate::identity::{Plan, Role, Timestamp, UserFilter};
use crate::mcp::{RegistryBuilder, ToolContext, ToolError, ToolOutput};

pub fn register(builder: &mut RegistryBuilder<'_>) {
    builder.tool("admin_list_users", list_users);
    builder.tool("admin_set_plan", set_plan);
    builder.tool("admin_set_user_disabled", set_disabled);
    builder.tool("admin_unlock_user", unlock);
    builder.tool("admin_reset_usage", reset_usage);
    builder.tool("admin_query_audit", query_audit);
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListUsersArguments {
    /// Only users with this role: `admin` or `user`.
    #[serde(default)]
    pub role: Option<String>,
    /// Only users on this plan.
    #[serde(default)]
    pub plan: Option<String>,
    /// Only disabled (true) or only enabled (false) users.
    #[serde(default)]
    pub disabled: Option<bool>,
    /// Only users whose email contains this text (case-insensitive).
    #[serde(default)]
    pub email_contains: Option<String>,
    /// At most this many (default 100, at most 1000).
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub offset: u32,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct UserList {
    pub users: Vec<UserView>,
}

impl ToolOutput for UserList {
    fn to_text(&self) -> String {
        if self.users.is_empty() {
            return "No users match.".into();
        }
        self.users
            .iter()
            .map(|u| {
                format!(
                    "{} {} <{}> {} plan={}{}{}",
                    u.id,
                    u.display_name,
                    u.email,
                    u.role,
                    u.plan,
                    if u.disabled { " DISABLED" } else { "" },
                    if u.locked { " LOCKED" } else { "" }
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

async fn list_users(ctx: ToolContext, args: ListUsersArguments) -> Result<UserList, ToolError> {
    let filter = UserFilter {
        role: args
            .role
            .as_deref()
            .map(Role::from_str)
            .transpose()
            .map_err(|e| ToolError::invalid_arguments(e.to_string()))?,
        plan: args
            .plan
            .as_deref()
            .map(Plan::new)
            .transpose()
            .map_err(|e| ToolError::invalid_arguments(e.to_string()))?,
        disabled: args.disabled,
        email_contains: args.email_contains,
        limit: args.limit,
        offset: args.offset,
    };
    let users = ops::list_users(&ctx.app, &requester(&ctx), &filter).await?;
    Ok(UserList {
        users: users.iter().map(UserView::from).collect(),
    })
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ChangedUser {
    /// What was done, in a few words.
    pub done: String,
    pub user: UserView,
}

impl ToolOutput for ChangedUser {
    fn to_text(&self) -> String {
        format!(
            "{}: {} <{}>",
            self.done, self.user.display_name, self.user.email
        )
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPlanArguments {
    /// The user, by email or id.
    pub user: String,
    /// A configured plan: by default free, student, pro, enterprise, admin or unlimited.
    pub plan: String,
}

async fn set_plan(ctx: ToolContext, args: SetPlanArguments) -> Result<ChangedUser, ToolError> {
    let user = ops::set_plan(&ctx.app, &requester(&ctx), &args.user, &args.plan).await?;
    Ok(ChangedUser {
        done: format!("plan set to {}", user.plan),
        user: UserView::from(&user),
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetDisabledArguments {
    /// The user, by email or id.
    pub user: String,
    /// true disables the account (every credential stops working); false enables it.
    pub disabled: bool,
}

async fn set_disabled(
    ctx: ToolContext,
    args: SetDisabledArguments,
) -> Result<ChangedUser, ToolError> {
    let user = ops::set_disabled(&ctx.app, &requester(&ctx), &args.user, args.disabled).await?;
    Ok(ChangedUser {
        done: if args.disabled { "disabled" } else { "enabled" }.into(),
        user: UserView::from(&user),
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserArgument {
    /// The user, by email or id.
    pub user: String,
}

async fn unlock(ctx: ToolContext, args: UserArgument) -> Result<ChangedUser, ToolError> {
    let user = ops::unlock(&ctx.app, &requester(&ctx), &args.user).await?;
    Ok(ChangedUser {
        done: "unlocked".into(),
        user: UserView::from(&user),
    })
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct UsageReset {
    pub user: UserView,
    /// What had been used today before the reset.
    pub before: serde_json::Value,
}

impl ToolOutput for UsageReset {
    fn to_text(&self) -> String {
        format!(
            "Reset today's usage of {} <{}>; before: {}",
            self.user.display_name, self.user.email, self.before
        )
    }
}

async fn reset_usage(ctx: ToolContext, args: UserArgument) -> Result<UsageReset, ToolError> {
    let (user, before) = ops::reset_usage(&ctx.app, &requester(&ctx), &args.user).await?;
    Ok(UsageReset {
        user: UserView::from(&user),
        before,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditQueryArguments {
    /// Exactly this actor (a user id, or a pseudonym for unknown accounts).
    #[serde(default)]
    pub actor: Option<String>,
    /// Actions starting with this, e.g. `auth.` or `admin.plan`.
    #[serde(default)]
    pub action_prefix: Option<String>,
    /// At or after this time (RFC 3339).
    #[serde(default)]
    pub since: Option<String>,
    /// Before this time (RFC 3339).
    #[serde(default)]
    pub until: Option<String>,
    /// At most this many entries, newest first (default 100, at most 1000).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Only entries older than this sequence number: the last `seq` of a page gets the next.
    #[serde(default)]
    pub before_seq: Option<u64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntryView>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AuditEntryView {
    pub seq: u64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub details: serde_json::Value,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl From<StoredAuditEntry> for AuditEntryView {
    fn from(e: StoredAuditEntry) -> Self {
        Self {
            seq: e.seq,
            at: e.at,
            actor: e.actor,
            action: e.action,
            target: e.target,
            details: e.details,
            ip: e.ip,
            user_agent: e.user_agent,
        }
    }
}

impl ToolOutput for AuditPage {
    fn to_text(&self) -> String {
        if self.entries.is_empty() {
            return "No audit entries match.".into();
        }
        self.entries
            .iter()
            .map(|e| {
                format!(
                    "#{} {} {} {}{}",
                    e.seq,
                    e.at,
                    e.actor,
                    e.action,
                    e.target
                        .as_deref()
                        .map(|t| format!(" → {t}"))
                        .unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn system_time(field: &str, text: Option<&str>) -> Result<Option<SystemTime>, ToolError> {
    text.map(|text| {
        let stamp = Timestamp::parse_rfc3339(text.trim()).ok_or_else(|| {
            ToolError::invalid_arguments(format!(
                "{field} must be an RFC 3339 time such as 2026-01-31T00:00:00Z"
            ))
        })?;
        let seconds = u64::try_from(stamp.unix_seconds()).unwrap_or(0);
        Ok(UNIX_EPOCH + Duration::from_secs(seconds))
    })
    .transpose()
}

async fn query_audit(ctx: ToolContext, args: AuditQueryArguments) -> Result<AuditPage, ToolError> {
    let filter = AuditFilter {
        actor: args.actor,
        action_prefix: args.action_prefix,
        since: system_time("since", args.since.as_deref())?,
        until: system_time("until", args.until.as_deref())?,
        limit: args.limit,
        before_seq: args.before_seq,
    };
    let entries = ops::query_audit(&ctx.app, &requester(&ctx), filter).await?;
    Ok(AuditPage {
        entries: entries.into_iter().map(AuditEntryView::from).collect(),
    })
}
