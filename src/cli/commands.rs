//! One function per command. Errors are `anyhow` here and only here: this is the edge.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rmcp::model::CallToolRequestParams;

use super::{Cli, Command, ConfigCommand, DbCommand, ServeArgs, in_process};
use crate::app::{App, AppOptions};
use crate::config::Config;
use crate::store::{Store, StoreOptions};
use crate::transport;
use crate::transport::shutdown::Shutdown;

/// How long a shutdown lets running tool calls finish before it ends them.
const DRAIN_DEADLINE: Duration = Duration::from_secs(10);
/// How long connections may stay open after their sessions have ended.
const CLOSE_DEADLINE: Duration = Duration::from_secs(3);

/// Runs the command and returns the process exit code.
pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    let mut config = Config::load(cli.config.as_deref(), std::env::vars())?;
    if let Some(db) = &cli.db {
        config.store.path = Some(db.clone());
    }
    crate::observability::init(&config.logging)?;
    let user = cli.user.as_deref();
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => serve(config, args, user).await,
        Command::Tools => list_tools(config, user).await,
        Command::Call { tool, arguments } => call_tool(config, user, &tool, &arguments).await,
        Command::Config(ConfigCommand::Show) => {
            let path = config.database_path()?;
            println!("# database: {}", path.display());
            print!("{}", config.to_masked_toml());
            println!("\n# Environment variables that override these settings:");
            for (name, meaning) in crate::config::VARIABLES {
                println!("#   {name}: {meaning}");
            }
            Ok(0)
        }
        Command::Db(DbCommand::Backup { path }) => backup(config, path).await,
        Command::ApiKeys(command) => {
            let app = start_quietly(config).await?;
            let outcome = super::accounts::api_keys(app.clone(), command).await;
            app.shutdown().await?;
            outcome
        }
        Command::Admin(command) => {
            let app = start_quietly(config).await?;
            let outcome = super::accounts::admin(app.clone(), command).await;
            app.shutdown().await?;
            outcome
        }
        Command::Audit(command) => {
            let app = start_quietly(config).await?;
            let outcome = super::accounts::audit(app.clone(), command).await;
            app.shutdown().await?;
            outcome
        }
        Command::Providers(command) => {
            let app = start_quietly(config).await?;
            let outcome = super::providers::providers(app.clone(), command).await;
            app.shutdown().await?;
            outcome
        }
        Command::Data(command) => {
            let app = start_quietly(config).await?;
            let outcome = super::data::data(app.clone(), command).await;
            app.shutdown().await?;
            outcome
        }
        Command::Secrets(command) => {
            let app = start_quietly(config).await?;
            let outcome = super::secrets::secrets(app.clone(), command).await;
            app.shutdown().await?;
            outcome
        }
        Command::Maintenance(command) => {
            let app = start_quietly(config).await?;
            let outcome = super::providers::maintenance(app.clone(), command).await;
            app.shutdown().await?;
            outcome
        }
    }
}

async fn serve(mut config: Config, args: ServeArgs, user: Option<&str>) -> anyhow::Result<i32> {
    let http = args
        .http_addr(config.http.bind)
        .map_err(anyhow::Error::msg)?;
    config.http.insecure_no_auth |= args.insecure_no_auth;
    let options = AppOptions {
        conformance_fixtures: args.conformance_fixtures(),
    };
    let app = App::start(config, options).await?;
    let principal = app
        .local_principal_for(user)
        .await
        .context("--user must name an enabled account")?;
    let shutdown = Shutdown::on_signal(app.clone(), DRAIN_DEADLINE);
    let served = match http {
        Some(addr) => {
            let serving = transport::http::serve(app.clone(), addr, shutdown.clone());
            tokio::pin!(serving);
            // Connections that outlive their sessions must not hold the process forever.
            tokio::select! {
                result = &mut serving => result.map_err(anyhow::Error::from),
                _ = async { shutdown.sessions.cancelled().await; tokio::time::sleep(CLOSE_DEADLINE).await } => {
                    tracing::warn!("connections still open {CLOSE_DEADLINE:?} after the sessions ended; stopping anyway");
                    Ok(())
                }
            }
        }
        None => transport::stdio::serve(app.clone(), principal, shutdown.sessions.clone())
            .await
            .map_err(anyhow::Error::from),
    };
    let flushed = app.shutdown().await.context("flushing the store");
    served?;
    flushed?;
    Ok(0)
}

async fn start_quietly(config: Config) -> anyhow::Result<Arc<App>> {
    Ok(App::start(config, AppOptions::default()).await?)
}

async fn list_tools(config: Config, user: Option<&str>) -> anyhow::Result<i32> {
    let app = start_quietly(config).await?;
    let principal = app
        .local_principal_for(user)
        .await
        .context("--user must name an enabled account")?;
    let client = in_process::connect(app.clone(), principal).await?;
    let tools = client.list_all_tools().await?;
    println!("{}", serde_json::to_string_pretty(&tools)?);
    let _ = client.cancel().await;
    app.shutdown().await?;
    Ok(0)
}

async fn call_tool(
    config: Config,
    user: Option<&str>,
    tool: &str,
    arguments: &str,
) -> anyhow::Result<i32> {
    let arguments: serde_json::Value =
        serde_json::from_str(arguments).context("the arguments are not valid JSON")?;
    let serde_json::Value::Object(arguments) = arguments else {
        anyhow::bail!("the arguments must be a JSON object, e.g. '{{\"weight_kg\": 70}}'");
    };
    let app = start_quietly(config).await?;
    let principal = app
        .local_principal_for(user)
        .await
        .context("--user must name an enabled account")?;
    let client = in_process::connect(app.clone(), principal).await?;
    let result = client
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(arguments))
        .await;
    let _ = client.cancel().await;
    app.shutdown().await?;
    let result = result?;
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(if result.is_error == Some(true) { 1 } else { 0 })
}

async fn backup(config: Config, destination: std::path::PathBuf) -> anyhow::Result<i32> {
    let path = config.database_path()?;
    let store =
        tokio::task::spawn_blocking(move || Store::open(&path, StoreOptions::default())).await??;
    store
        .backup_to(&destination)
        .await
        .with_context(|| format!("backing up to {}", destination.display()))?;
    store.shutdown().await?;
    eprintln!("backed up to {}", destination.display());
    Ok(0)
}
