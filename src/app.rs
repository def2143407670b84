//! The running application: configuration, store, catalog and registry, built once and
//! shared by every transport and session. This is where capabilities are wired in.
//!
//! It must not speak any protocol: transports and the MCP surface sit on top of it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;

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
    pub in_flight: InFlight,
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
            in_flight: InFlight::default(),
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

/// Counts the tool calls running now, so a shutdown can let them finish first.
#[derive(Default)]
pub struct InFlight {
    running: AtomicUsize,
    idle: Notify,
}

/// Held while one call runs.
pub struct InFlightGuard<'a>(&'a InFlight);

impl InFlight {
    pub fn start(&self) -> InFlightGuard<'_> {
        self.running.fetch_add(1, Ordering::SeqCst);
        InFlightGuard(self)
    }

    pub fn running(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }

    /// Waits until no call runs, or `deadline` passes; says which.
    pub async fn drained(&self, deadline: Duration) -> bool {
        let wait = async {
            loop {
                let idle = self.idle.notified();
                if self.running() == 0 {
                    return;
                }
                idle.await;
            }
        };
        tokio::time::timeout(deadline, wait).await.is_ok()
    }
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        if self.0.running.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
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
