//! The command line: argument parsing and one function per command. This is the binary's
//! edge, where errors become messages and exit codes; the work itself is done by the
//! library's modules.

mod accounts;
mod commands;
mod data;
mod in_process;
mod providers;
mod secrets;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use commands::run;

#[derive(Debug, Parser)]
#[command(name = "consilium", version, about = "An MCP server for health AI", long_about = None)]
pub struct Cli {
    /// A TOML configuration file; `CONSILIUM_*` variables and flags override it.
    #[arg(long, global = true, env = "CONSILIUM_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The SQLite database file (default: consilium.db in the platform's data folder).
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Act as this user (by email) over stdio and in `tools`/`call`, instead of the local owner.
    #[arg(long, global = true, env = "CONSILIUM_USER", value_name = "EMAIL")]
    pub user: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve MCP over stdio (the default), or over HTTP with --http.
    Serve(ServeArgs),
    /// List the tools with their input and output schemas, as JSON.
    Tools,
    /// Run one tool through the same handler clients use and print its result as JSON.
    /// Exits with status 1 when the result is an error.
    Call {
        /// The tool's name, as `consilium tools` lists it.
        tool: String,
        /// The arguments as a JSON object.
        #[arg(default_value = "{}")]
        arguments: String,
    },
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Maintain the database.
    #[command(subcommand)]
    Db(DbCommand),
    /// Manage the API keys clients connect with (not the language-model provider keys).
    #[command(subcommand, name = "api-keys")]
    ApiKeys(accounts::ApiKeysCommand),
    /// Administer users and plans, acting as the local owner.
    #[command(subcommand)]
    Admin(accounts::AdminCommand),
    /// Verify, export or query the tamper-evident audit log.
    #[command(subcommand)]
    Audit(accounts::AuditCommand),
    /// Manage the language-model provider keys of the shared pool.
    #[command(subcommand)]
    Providers(providers::ProvidersCommand),
    /// Enter or leave maintenance, switch features on or off.
    #[command(subcommand)]
    Maintenance(providers::MaintenanceCommand),
    /// Rotate the master key that encrypts secrets at rest.
    #[command(subcommand)]
    Secrets(secrets::SecretsCommand),
    /// Import reference data (the USDA food database).
    #[command(subcommand)]
    Data(data::DataCommand),
}

#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// Serve streamable HTTP at /mcp and legacy SSE at /sse on this address
    /// (default 127.0.0.1:8787, or http.bind from the configuration).
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "")]
    pub http: Option<String>,
    /// Serve HTTP without authentication, every request acting as the local owner. For
    /// development on a loopback address only; refused on any other.
    #[arg(long)]
    pub insecure_no_auth: bool,
    /// Serve the official MCP conformance suite's fixtures (test builds only).
    #[cfg(feature = "conformance")]
    #[arg(long, hide = true)]
    pub conformance_fixtures: bool,
}

impl ServeArgs {
    pub fn conformance_fixtures(&self) -> bool {
        #[cfg(feature = "conformance")]
        return self.conformance_fixtures;
        #[cfg(not(feature = "conformance"))]
        false
    }

    pub fn http_addr(&self, default: SocketAddr) -> Result<Option<SocketAddr>, String> {
        match self.http.as_deref() {
            None => Ok(None),
            Some("") => Ok(Some(default)),
            Some(text) => text.parse().map(Some).map_err(|e| {
                format!("--http {text:?}: {e} (expected an address such as 127.0.0.1:8787)")
            }),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration as TOML, secrets masked.
    Show,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Copy the database to PATH with SQLite's online backup, safe while the server runs.
    Backup {
        /// Where to write the copy; must not exist yet.
        path: PathBuf,
    },
}
