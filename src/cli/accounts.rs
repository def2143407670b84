//! `consilium api-keys …`, `consilium admin …` and `consilium audit …`: account
//! administration from a terminal. Whoever can run the binary against the database holds
//! the local owner's rights, so these act as the local owner; every change goes through the
//! same audited functions the MCP tools use.
//!
//! Provider keys (for the language models) are a different thing with their own command;
//! nothing here touches them.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;

use crate::accounts::keys as key_ops;
use crate::accounts::{ApiKeyView, Requester, UserView};
use crate::admin::ops;
use crate::app::App;
use crate::audit::AuditFilter;
use crate::identity::{Plan, Role, Scope, UserFilter};

#[derive(Debug, Subcommand)]
pub enum ApiKeysCommand {
    /// Create a key and print it once.
    Create {
        /// Whose key (email or id); default: the local owner.
        #[arg(long)]
        user: Option<String>,
        /// A name to recognise the key by.
        #[arg(long)]
        name: String,
        /// Comma-separated scopes: health, study, consensus, eval, chat, admin.
        #[arg(long, value_delimiter = ',', required = true)]
        scopes: Vec<String>,
        /// Days until it expires; default never.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List a user's keys (never their secrets).
    List {
        /// Whose keys (email or id); default: the local owner.
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a key by its id.
    Revoke { key_id: String },
    /// Replace a key with a new one (same name, scopes, expiry) and print it once.
    Rotate { key_id: String },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// List users, optionally filtered.
    Users {
        #[arg(long)]
        role: Option<String>,
        #[arg(long)]
        plan: Option<String>,
        /// Only users whose email contains this.
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        disabled: Option<bool>,
    },
    /// Create a user (without a password; set one with set-password).
    CreateUser {
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "user")]
        role: String,
        #[arg(long, default_value = "free")]
        plan: String,
    },
    /// Set a user's password, read from the first line of standard input.
    SetPassword { user: String },
    /// Move a user to another plan.
    SetPlan { user: String, plan: String },
    /// Disable a user: every credential of theirs stops working.
    Disable { user: String },
    /// Enable a disabled user.
    Enable { user: String },
    /// Unlock a user locked by failed logins.
    Unlock { user: String },
    /// Zero a user's usage counters for today. A running server keeps its own counters
    /// until restarted; on a live server use the admin_reset_usage tool.
    ResetUsage { user: String },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit log's hash chain and signed checkpoints; exits 1 on any tampering.
    Verify {
        /// The checkpoint file; default: the configured one.
        #[arg(long)]
        checkpoints: Option<PathBuf>,
    },
    /// Print entries as JSON lines, oldest first.
    Export {
        /// Only entries at or after this RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        /// Only actions starting with this.
        #[arg(long)]
        action: Option<String>,
    },
    /// Print the newest entries, filtered.
    Query {
        #[arg(long)]
        actor: Option<String>,
        #[arg(long)]
        action: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

fn owner(app: &App) -> Requester {
    Requester::local(app.local_principal())
}

fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub async fn api_keys(app: Arc<App>, command: ApiKeysCommand) -> anyhow::Result<i32> {
    let requester = owner(&app);
    let now = app.clock.now();
    match command {
        ApiKeysCommand::Create {
            user,
            name,
            scopes,
            expires_in_days,
        } => {
            let scopes = scopes
                .iter()
                .map(|s| Scope::from_str(s.trim()))
                .collect::<Result<Vec<_>, _>>()?;
            let target = key_ops::target_user(&app, &requester, user.as_deref()).await?;
            let expires_at = expires_in_days.map(|d| now.plus_seconds(i64::from(d) * 86_400));
            let (info, plaintext) =
                key_ops::create_key(&app, &requester, &target, &name, &scopes, expires_at).await?;
            eprintln!(
                "created key {} for {}; it is printed once, on standard output:",
                info.key_id, info.user_id
            );
            println!("{}", plaintext.expose());
        }
        ApiKeysCommand::List { user } => {
            let target = key_ops::target_user(&app, &requester, user.as_deref()).await?;
            let keys = key_ops::list_keys(&app, &requester, &target).await?;
            let views: Vec<ApiKeyView> = keys.iter().map(|k| ApiKeyView::new(k, now)).collect();
            print_json(&views)?;
        }
        ApiKeysCommand::Revoke { key_id } => {
            let info = key_ops::revoke_key(&app, &requester, &key_id).await?;
            eprintln!("revoked {}", info.key_id);
        }
        ApiKeysCommand::Rotate { key_id } => {
            let (info, plaintext) = key_ops::rotate_key(&app, &requester, &key_id).await?;
            eprintln!(
                "{key_id} is revoked; its replacement {} is printed once:",
                info.key_id
            );
            println!("{}", plaintext.expose());
        }
    }
    Ok(0)
}

pub async fn admin(app: Arc<App>, command: AdminCommand) -> anyhow::Result<i32> {
    let requester = owner(&app);
    match command {
        AdminCommand::Users {
            role,
            plan,
            email,
            disabled,
        } => {
            let filter = UserFilter {
                role: role.as_deref().map(Role::from_str).transpose()?,
                plan: plan.as_deref().map(Plan::new).transpose()?,
                disabled,
                email_contains: email,
                limit: Some(1000),
                offset: 0,
            };
            let users = ops::list_users(&app, &requester, &filter).await?;
            print_json(&users.iter().map(UserView::from).collect::<Vec<_>>())?;
        }
        AdminCommand::CreateUser {
            email,
            name,
            role,
            plan,
        } => {
            let role = Role::from_str(&role)?;
            let user = ops::create_user(&app, &requester, &email, &name, role, &plan).await?;
            print_json(&UserView::from(&user))?;
        }
        AdminCommand::SetPassword { user } => {
            eprintln!("reading the new password from the first line of standard input");
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the password")?;
            let password = line.trim_end_matches(['\r', '\n']);
            let user = ops::set_password(&app, &requester, &user, password).await?;
            eprintln!("password set for {}", user.email);
        }
        AdminCommand::SetPlan { user, plan } => {
            let user = ops::set_plan(&app, &requester, &user, &plan).await?;
            print_json(&UserView::from(&user))?;
        }
        AdminCommand::Disable { user } => {
            let user = ops::set_disabled(&app, &requester, &user, true).await?;
            print_json(&UserView::from(&user))?;
        }
        AdminCommand::Enable { user } => {
            let user = ops::set_disabled(&app, &requester, &user, false).await?;
            print_json(&UserView::from(&user))?;
        }
        AdminCommand::Unlock { user } => {
            let user = ops::unlock(&app, &requester, &user).await?;
            print_json(&UserView::from(&user))?;
        }
        AdminCommand::ResetUsage { user } => {
            let (user, before) = ops::reset_usage(&app, &requester, &user).await?;
            eprintln!("reset today's usage of {}", user.email);
            print_json(&before)?;
        }
    }
    Ok(0)
}

pub async fn audit(app: Arc<App>, command: AuditCommand) -> anyhow::Result<i32> {
    match command {
        AuditCommand::Verify { checkpoints } => {
            let file = match checkpoints {
                Some(file) => file,
                None => app.config.audit_checkpoint_path()?,
            };
            let trusted = app.audit_trusted_keys().await?;
            let report = crate::audit::verify(&app.store, &file, &trusted).await?;
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "entries: {}; checkpoints: {}; anchored through: {}; unanchored entries: {}",
                report.entries,
                report.checkpoints,
                report
                    .anchored_through
                    .map_or("none".to_string(), |s| s.to_string()),
                report.unanchored_entries()
            )?;
            if !report.checkpoint_file_found {
                writeln!(out, "checkpoint file {} not found", file.display())?;
            }
            for problem in &report.problems {
                writeln!(out, "PROBLEM: {problem}")?;
            }
            if report.is_intact() {
                writeln!(out, "audit log intact")?;
                Ok(0)
            } else {
                writeln!(
                    out,
                    "audit log TAMPERED: {} problem(s)",
                    report.problems.len()
                )?;
                Ok(1)
            }
        }
        AuditCommand::Export { since, action } => {
            let since = since
                .map(|text| {
                    crate::identity::Timestamp::parse_rfc3339(&text)
                        .map(|t| {
                            std::time::UNIX_EPOCH
                                + std::time::Duration::from_secs(
                                    u64::try_from(t.unix_seconds()).unwrap_or(0),
                                )
                        })
                        .ok_or_else(|| anyhow::anyhow!("--since must be an RFC 3339 time"))
                })
                .transpose()?;
            let mut pages = Vec::new();
            let mut before_seq = None;
            loop {
                let page = app
                    .audit
                    .query(AuditFilter {
                        action_prefix: action.clone(),
                        since,
                        limit: Some(crate::audit::MAX_QUERY_LIMIT),
                        before_seq,
                        ..AuditFilter::default()
                    })
                    .await?;
                let Some(last) = page.last() else { break };
                before_seq = Some(last.seq);
                pages.push(page);
            }
            let mut out = std::io::stdout().lock();
            for entry in pages
                .into_iter()
                .rev()
                .flat_map(|page| page.into_iter().rev())
            {
                writeln!(out, "{}", serde_json::to_string(&entry)?)?;
            }
            Ok(0)
        }
        AuditCommand::Query {
            actor,
            action,
            limit,
        } => {
            let requester = owner(&app);
            let entries = ops::query_audit(
                &app,
                &requester,
                AuditFilter {
                    actor,
                    action_prefix: action,
                    limit: Some(limit),
                    ..AuditFilter::default()
                },
            )
            .await?;
            print_json(&entries)?;
            Ok(0)
        }
    }
}
