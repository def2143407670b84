//! The running application: configuration, store, catalog and registry, built once and
//! shared by every transport and session. This is where capabilities are wired in.
//!
//! It must not speak any protocol: transports and the MCP surface sit on top of it.

use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::catalog::{Catalog, CatalogError};
use crate::config::{Config, ConfigError};
use crate::mcp::registry::{Registry, RegistryBuilder, RegistryError};
use crate::mcp::subscriptions::SubscriptionHub;
use crate::store::{Store, StoreError, StoreOptions};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("catalog: {0}")]
    Catalog(#[from] CatalogError),
    #[error("registry: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Registry(Vec<RegistryError>),
    #[error("start-up task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Switches that change what the server offers, set from the command line.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppOptions {
    /// Serve the official conformance suite's fixtures. Test builds only.
    pub conformance_fixtures: bool,
}

pub struct App {
    pub config: Config,
    pub store: Store,
    pub catalog: Catalog,
    pub registry: Registry,
    pub subscriptions: SubscriptionHub,
    started: Instant,
    started_unix: u64,
    transports: Mutex<Vec<String>>,
}

impl App {
    /// Opens the store (migrating it), loads the catalog and builds the registry.
    pub async fn start(config: Config, options: AppOptions) -> Result<Arc<App>, AppError> {
        let path = config.database_path()?;
        let store =
            tokio::task::spawn_blocking(move || Store::open(&path, StoreOptions::default()))
                .await??;
        let catalog = Catalog::load(
            config.catalog.tools_dir.as_deref(),
            config.catalog.prompts_dir.as_deref(),
        )?;
        let registry = build_registry(&catalog, options).map_err(AppError::Registry)?;
        Ok(Arc::new(App {
            config,
            store,
            catalog,
            registry,
            subscriptions: SubscriptionHub::default(),
            started: Instant::now(),
            started_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            transports: Mutex::new(Vec::new()),
        }))
    }

    pub fn uptime_seconds(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    pub fn started_unix(&self) -> u64 {
        self.started_unix
    }

    /// Records a transport that now accepts clients, e.g. `streamable-http http://127.0.0.1:8787/mcp`.
    pub fn transport_up(&self, description: impl Into<String>) {
        self.transports
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(description.into());
    }

    pub fn transports(&self) -> Vec<String> {
        self.transports
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Flushes and closes the store. Call once, after the transports have drained.
    pub async fn shutdown(&self) -> Result<(), StoreError> {
        self.store.shutdown().await
    }
}

/// Every capability, in the order its tools are listed. Adding one is one line here.
fn build_registry(catalog: &Catalog, options: AppOptions) -> Result<Registry, Vec<RegistryError>> {
    let mut builder = RegistryBuilder::new(catalog);
    crate::status::register(&mut builder);
    #[cfg(feature = "conformance")]
    if options.conformance_fixtures {
        crate::conformance::register(&mut builder);
    }
    #[cfg(not(feature = "conformance"))]
    let _ = options;
    builder.build()
}
