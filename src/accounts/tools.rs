//! The account tools, a thin MCP layer over [`super::keys`] and the usage reports.

use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::keys::{self, AccountError, Requester};
use super::views::{ApiKeyView, CreatedKey, UserView};
use crate::identity::{IdentityError, KeyError, Scope};
use crate::mcp::tool::codes;
use crate::mcp::{RegistryBuilder, ToolContext, ToolError, ToolOutput};

/// The longest lifetime a key may be given when it is made, in days (ten years).
const MAX_KEY_DAYS: u32 = 3650;

pub fn register(builder: &mut RegistryBuilder<'_>) {
    builder.tool("whoami", whoami);
    builder.tool("api_key_create", api_key_create);
    builder.tool("api_key_list", api_key_list);
    builder.tool("api_key_revoke", api_key_revoke);
    builder.tool("api_key_rotate", api_key_rotate);
    super::usage::register(builder);
}

impl From<AccountError> for ToolError {
    fn from(error: AccountError) -> Self {
        let code = match &error {
            AccountError::Key(KeyError::Unknown) | AccountError::Key(KeyError::UserNotFound) => {
                codes::NOT_FOUND
            }
            AccountError::Identity(IdentityError::UserNotFound) => codes::NOT_FOUND,
            AccountError::Key(KeyError::NotYours) | AccountError::Forbidden(_) => codes::FORBIDDEN,
            AccountError::Key(KeyError::ScopeNotAllowed { .. }) => codes::FORBIDDEN,
            AccountError::Key(KeyError::Store(_)) | AccountError::Key(KeyError::Randomness) => {
                codes::UNAVAILABLE
            }
            AccountError::Identity(IdentityError::Store(_)) | AccountError::Unavailable(_) => {
                codes::UNAVAILABLE
            }
            _ => codes::INVALID_ARGUMENTS,
        };
        ToolError::new(code, error.to_string())
    }
}

/// The requester of a tool call: its principal and, over HTTP, the client's address.
pub fn requester(ctx: &ToolContext) -> Requester {
    let client = ctx.client();
    Requester {
        principal: ctx.principal.clone(),
        ip: client.ip,
        user_agent: client.user_agent,
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArguments {}

#[derive(Debug, Serialize, JsonSchema)]
pub struct WhoAmI {
    pub user: UserView,
    /// The scopes this credential may use now.
    pub scopes: Vec<String>,
    /// `password`, `access_token`, `api_key` or `local`.
    pub signed_in_with: String,
    /// The API key this request came with, if any.
    pub api_key_id: Option<String>,
}

impl ToolOutput for WhoAmI {
    fn to_text(&self) -> String {
        format!(
            "{} <{}>, {} on the {} plan, signed in with {}; scopes: {}",
            self.user.display_name,
            self.user.email,
            self.user.role,
            self.user.plan,
            self.signed_in_with,
            self.scopes.join(", ")
        )
    }
}

async fn whoami(ctx: ToolContext, _: NoArguments) -> Result<WhoAmI, ToolError> {
    let requester = requester(&ctx);
    let user = ctx
        .app
        .users
        .get(&ctx.principal.user_id)
        .await
        .map_err(AccountError::from)?
        .ok_or_else(|| ToolError::not_found("this account no longer exists"))?;
    Ok(WhoAmI {
        user: UserView::from(&user),
        scopes: ctx
            .principal
            .effective_scopes()
            .iter()
            .map(ToString::to_string)
            .collect(),
        signed_in_with: requester.via().to_string(),
        api_key_id: match &ctx.principal.via {
            crate::identity::AuthMethod::ApiKey { key_id } => Some(key_id.clone()),
            _ => None,
        },
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyArguments {
    /// A name to recognise the key by, e.g. "laptop" or "ci".
    pub name: String,
    /// What the key may be used for: any of health, study, consensus, eval, chat, admin.
    /// A key can only get scopes its creator holds.
    pub scopes: Vec<String>,
    /// Days until the key stops working (1–3650). Left out: it never expires.
    #[serde(default)]
    pub expires_in_days: Option<u32>,
    /// Admins only: the user (email or id) to make the key for. Left out: yourself.
    #[serde(default)]
    pub user: Option<String>,
}

impl ToolOutput for CreatedKey {
    fn to_text(&self) -> String {
        format!(
            "Created API key {:?} ({}), scopes: {}. The key is shown this once; store it now:\n{}",
            self.key.name,
            self.key.key_id,
            self.key.scopes.join(", "),
            self.api_key
        )
    }
}

fn parse_scopes(names: &[String]) -> Result<Vec<Scope>, ToolError> {
    names
        .iter()
        .map(|name| {
            Scope::from_str(name.trim()).map_err(|_| {
                ToolError::invalid_arguments(format!(
                    "unknown scope {name:?}; valid scopes are: {}",
                    Scope::ALL.map(|s| s.as_str()).join(", ")
                ))
            })
        })
        .collect()
}

async fn api_key_create(
    ctx: ToolContext,
    args: CreateKeyArguments,
) -> Result<CreatedKey, ToolError> {
    let requester = requester(&ctx);
    let scopes = parse_scopes(&args.scopes)?;
    let now = ctx.app.clock.now();
    let expires_at = match args.expires_in_days {
        None => None,
        Some(days) if (1..=MAX_KEY_DAYS).contains(&days) => {
            Some(now.plus_seconds(i64::from(days) * 86_400))
        }
        Some(_) => {
            return Err(ToolError::invalid_arguments(format!(
                "expires_in_days must be between 1 and {MAX_KEY_DAYS}"
            )));
        }
    };
    let owner = keys::target_user(&ctx.app, &requester, args.user.as_deref()).await?;
    let (info, plaintext) = keys::create_key(
        &ctx.app, &requester, &owner, &args.name, &scopes, expires_at,
    )
    .await?;
    Ok(CreatedKey::new(&info, &plaintext, now))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListKeysArguments {
    /// Admins only: whose keys to list (email or id). Left out: your own.
    #[serde(default)]
    pub user: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct KeyList {
    pub keys: Vec<ApiKeyView>,
}

impl ToolOutput for KeyList {
    fn to_text(&self) -> String {
        if self.keys.is_empty() {
            return "No API keys.".into();
        }
        self.keys
            .iter()
            .map(|k| {
                format!(
                    "{} {:?} [{}] {}, created {}{}",
                    k.key_id,
                    k.name,
                    k.scopes.join(","),
                    k.status,
                    k.created_at,
                    k.last_used_at
                        .as_deref()
                        .map(|t| format!(", last used {t}"))
                        .unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

async fn api_key_list(ctx: ToolContext, args: ListKeysArguments) -> Result<KeyList, ToolError> {
    let requester = requester(&ctx);
    let owner = keys::target_user(&ctx.app, &requester, args.user.as_deref()).await?;
    let now = ctx.app.clock.now();
    let keys = keys::list_keys(&ctx.app, &requester, &owner).await?;
    Ok(KeyList {
        keys: keys.iter().map(|k| ApiKeyView::new(k, now)).collect(),
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyIdArguments {
    /// The key's public id, as `api_key_list` shows it.
    pub key_id: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RevokedKey {
    pub key: ApiKeyView,
}

impl ToolOutput for RevokedKey {
    fn to_text(&self) -> String {
        format!("Revoked API key {} ({:?}).", self.key.key_id, self.key.name)
    }
}

async fn api_key_revoke(ctx: ToolContext, args: KeyIdArguments) -> Result<RevokedKey, ToolError> {
    let requester = requester(&ctx);
    let info = keys::revoke_key(&ctx.app, &requester, &args.key_id).await?;
    Ok(RevokedKey {
        key: ApiKeyView::new(&info, ctx.app.clock.now()),
    })
}

async fn api_key_rotate(ctx: ToolContext, args: KeyIdArguments) -> Result<CreatedKey, ToolError> {
    let requester = requester(&ctx);
    let (info, plaintext) = keys::rotate_key(&ctx.app, &requester, &args.key_id).await?;
    Ok(CreatedKey::new(&info, &plaintext, ctx.app.clock.now()))
}
