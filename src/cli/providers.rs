//! `consilium providers …` (the language-model provider keys, distinct from the client API
//! keys of `consilium api-keys …`) and `consilium maintenance …`, acting as the local owner
//! through the same audited operations as the admin tools. A key is read from standard
//! input, never from the command line, where shell history and process lists would keep it.

use std::io::BufRead;
use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;
use zeroize::Zeroizing;

use crate::accounts::Requester;
use crate::app::App;
use crate::llm::manage::{self, KeyToAdd, Pool};
use crate::maintenance::MaintenanceMode;

#[derive(Debug, Subcommand)]
pub enum ProvidersCommand {
    /// Add a shared key; the key itself is read from the first line of standard input.
    Add {
        /// openai (OpenAI or any compatible server), anthropic or gemini.
        #[arg(long)]
        provider: String,
        #[arg(long)]
        label: String,
        /// The API's base URL; the provider's public endpoint by default.
        #[arg(long)]
        base_url: Option<String>,
        /// Comma-separated model ids; the first is the default and the test call's.
        #[arg(long, value_delimiter = ',', required = true)]
        models: Vec<String>,
        /// Comma-separated feature tags (chat, consensus, judge, embedding…); default every feature but embedding.
        #[arg(long, value_delimiter = ',')]
        features: Vec<String>,
        /// Higher is tried first.
        #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
        priority: i64,
        /// Store without the minimal test call (offline set-up).
        #[arg(long)]
        skip_test: bool,
    },
    /// List every key, masked, with its health.
    List,
    /// Set a key's status: active, degraded or disabled.
    SetStatus { key_id: String, status: String },
    /// Set a key's priority.
    SetPriority {
        key_id: String,
        #[arg(allow_hyphen_values = true)]
        priority: i64,
    },
    /// Delete a key.
    Delete { key_id: String },
    /// Make a minimal call with a key now.
    Test { key_id: String },
}

#[derive(Debug, Subcommand)]
pub enum MaintenanceCommand {
    /// Show the maintenance state and the switched-off features.
    Status,
    /// Enter or leave maintenance: off, soft or hard.
    Set {
        mode: String,
        #[arg(long)]
        message: Option<String>,
        #[arg(long)]
        eta: Option<String>,
    },
    /// Switch a feature on or off for everyone.
    Feature { feature: String, state: String },
}

fn owner(app: &App) -> Requester {
    Requester::local(app.local_principal())
}

fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn read_key() -> anyhow::Result<Zeroizing<String>> {
    let mut line = Zeroizing::new(String::new());
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the key from standard input")?;
    let key = Zeroizing::new(line.trim().to_string());
    Ok(key)
}

pub async fn providers(app: Arc<App>, command: ProvidersCommand) -> anyhow::Result<i32> {
    let requester = owner(&app);
    match command {
        ProvidersCommand::Add {
            provider,
            label,
            base_url,
            models,
            features,
            priority,
            skip_test,
        } => {
            let key = KeyToAdd {
                provider,
                label,
                secret: read_key()?,
                base_url,
                models,
                features,
                priority,
                skip_test,
            };
            let view = manage::add(&app, &requester, Pool::Shared, key).await?;
            eprintln!("added {} ({})", view.id, view.key);
            print_json(&view)?;
        }
        ProvidersCommand::List => print_json(&manage::list(&app, &requester, None)?)?,
        ProvidersCommand::SetStatus { key_id, status } => {
            print_json(&manage::set_status(&app, &requester, &key_id, &status).await?)?;
        }
        ProvidersCommand::SetPriority { key_id, priority } => {
            print_json(&manage::set_priority(&app, &requester, &key_id, priority).await?)?;
        }
        ProvidersCommand::Delete { key_id } => {
            let view = manage::delete(&app, &requester, &key_id).await?;
            eprintln!("deleted {}", view.id);
        }
        ProvidersCommand::Test { key_id } => {
            let (view, outcome) = manage::test(&app, &requester, &key_id).await?;
            match outcome {
                Ok(ms) => eprintln!("{} answered in {ms} ms", view.id),
                Err(failure) => {
                    eprintln!("{} failed: {failure}", view.id);
                    return Ok(1);
                }
            }
        }
    }
    Ok(0)
}

pub async fn maintenance(app: Arc<App>, command: MaintenanceCommand) -> anyhow::Result<i32> {
    let requester = owner(&app);
    match command {
        MaintenanceCommand::Status => {}
        MaintenanceCommand::Set { mode, message, eta } => {
            let mode =
                MaintenanceMode::parse(&mode).context("the mode must be off, soft or hard")?;
            app.maintenance
                .set_by_admin(mode, message, eta, requester.audit("admin.maintenance.set"))
                .await?;
        }
        MaintenanceCommand::Feature { feature, state } => {
            let enabled = match state.as_str() {
                "on" => true,
                "off" => false,
                _ => anyhow::bail!("the state must be on or off"),
            };
            app.maintenance
                .set_feature(&feature, enabled, requester.audit("admin.feature.set"))
                .await?;
        }
    }
    print_json(&serde_json::json!({
        "maintenance": *app.maintenance.state(),
        "disabled_features": app.maintenance.disabled_features(),
    }))?;
    Ok(0)
}
