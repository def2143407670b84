//! The running application: configuration, store, catalog and registry, built once and
//! shared by every transport and session. This is where capabilities are wired in.
//!
//! It must not speak any protocol: transports and the MCP surface sit on top of it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::audit::{AuditLog, AuditLogConfig};
use crate::auth::{AuthParts, AuthService};
use crate::catalog::{Catalog, CatalogError};
use crate::chat::Chats;
use crate::config::{Config, ConfigError};
use crate::health::history::Analyses;
use crate::identity::{
    ApiKeys, AuthMethod, Clock, IdentityError, Principal, SystemClock, User, Users,
};
use crate::llm::{KeyPool, Router, RouterParts, Upstream, UpstreamLimits};
use crate::maintenance::{Maintenance, MaintenanceParts};
use crate::mcp::registry::{Registry, RegistryBuilder, RegistryError};
use crate::mcp::subscriptions::SubscriptionHub;
use crate::metering::Meter;
use crate::notify::Notifier;
use crate::secrets::{MasterKey, SigningKeys};
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
    #[error("identity: {0}")]
    Identity(#[from] IdentityError),
    #[error("master key: {0}")]
    Secrets(#[from] crate::secrets::SecretsError),
    #[error("signing keys: {0}")]
    SigningKeys(#[from] crate::secrets::SigningKeyError),
    #[error("sign-in service: {0}")]
    Auth(#[from] crate::auth::AuthError),
    #[error("audit log: {0}")]
    Audit(#[from] crate::audit::AuditError),
    #[error("provider keys: {0}")]
    Pool(#[from] crate::llm::PoolError),
    #[error("maintenance state: {0}")]
    Maintenance(#[from] crate::maintenance::MaintenanceError),
    #[error("{0}")]
    Upstream(#[from] crate::llm::upstream::UpstreamBuildError),
}

/// The signing-key purpose of the audit log's checkpoints.
pub const AUDIT_KEY_PURPOSE: &str = "audit";

/// Switches that change what the server offers, set from the command line.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppOptions {
    /// Serve the official conformance suite's fixtures. Test builds only.
    pub conformance_fixtures: bool,
}

/// How the app is assembled; the defaults are production's.
#[derive(Clone, Default)]
pub struct AppParts {
    pub options: AppOptions,
    /// Where every service reads the time. `None`: the system clock. Tests pass a
    /// `ManualClock` to cross a UTC midnight or an expiry without waiting.
    pub clock: Option<Arc<dyn Clock>>,
}

pub struct App {
    pub config: Config,
    pub clock: Arc<dyn Clock>,
    pub store: Store,
    pub users: Users,
    pub api_keys: ApiKeys,
    /// The admin made on first run; stdio and the command line act as it by default.
    pub local_owner: User,
    pub signing_keys: SigningKeys,
    pub audit: AuditLog,
    pub auth: Arc<AuthService>,
    pub meter: Meter,
    /// Saved health analyses, sealed at rest.
    pub analyses: Analyses,
    /// Foods imported from USDA SR28, cached until the next import.
    pub imported_foods: crate::health::nutrition::ImportedFoods,
    /// The LLM router over the provider key pool.
    pub llm: Router,
    pub maintenance: Maintenance,
    pub notifier: Notifier,
    /// Chat sessions and their messages, sealed at rest.
    pub chats: Chats,
    /// Consensus panels and their stored runs.
    pub consensus: crate::consensus::Consensus,
    /// Decks, cards and reviews of the study tools.
    pub decks: crate::study::Decks,
    /// MCQ quizzes and answers.
    pub quizzes: crate::study::Quizzes,
    /// Students' own documents and their chunks.
    pub documents: crate::study::Documents,
    /// Case and OSCE practice sessions.
    pub sessions: crate::study::Sessions,
    /// Trace evaluation: rule packs, the PHI detector, the judge's rubrics, stored traces.
    pub evaluation: crate::evaluation::Evaluation,
    /// The master key, for rotation; every other use goes through a service.
    pub master_key: Arc<MasterKey>,
    /// Cancelled at shutdown: stops the background tasks (the health monitor).
    pub background: CancellationToken,
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
        App::assemble(
            config,
            AppParts {
                options,
                ..AppParts::default()
            },
        )
        .await
    }

    /// [`App::start`] with chosen parts.
    pub async fn assemble(config: Config, parts: AppParts) -> Result<Arc<App>, AppError> {
        let options = parts.options;
        let clock = parts.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let path = config.database_path()?;
        let store =
            tokio::task::spawn_blocking(move || Store::open(&path, StoreOptions::default()))
                .await??;
        let users = Users::with_parts(
            store.clone(),
            crate::identity::PasswordHasher::owasp(),
            clock.clone(),
        );
        let api_keys = ApiKeys::with_clock(store.clone(), clock.clone());
        let master_key = {
            let secrets = config.secrets.clone();
            let key_file = crate::secrets::default_key_file(&config.database_path()?);
            Arc::new(
                tokio::task::spawn_blocking(move || MasterKey::load(&secrets, &key_file)).await??,
            )
        };
        let signing_keys = SigningKeys::new(store.clone(), master_key.clone(), clock.clone());
        let analyses = Analyses::new(store.clone(), master_key.clone(), clock.clone());
        let chats = Chats::new(store.clone(), master_key.clone(), clock.clone());
        let audit_key = signing_keys.load_or_create(AUDIT_KEY_PURPOSE).await?;
        let audit = AuditLog::new(
            store.clone(),
            AuditLogConfig {
                checkpoint_file: config.audit_checkpoint_path()?,
                signing_key: audit_key.signing_key().clone(),
                checkpoint_every: config.audit.checkpoint_every,
            },
        );
        let auth = Arc::new(
            AuthService::new(AuthParts {
                config: config.auth.clone(),
                store: store.clone(),
                users: users.clone(),
                api_keys: api_keys.clone(),
                signing_keys: signing_keys.clone(),
                audit: audit.clone(),
                clock: clock.clone(),
            })
            .await?,
        );
        let meter = Meter::new(
            store.clone(),
            config.plans.clone(),
            config.features.clone(),
            clock.clone(),
        );
        let notifier = Notifier::start(&config.notifications, clock.clone());
        let maintenance = Maintenance::load(MaintenanceParts {
            store: store.clone(),
            audit: audit.clone(),
            notifier: notifier.clone(),
            config: config.maintenance.clone(),
            clock: clock.clone(),
            switches: meter.switches().clone(),
        })
        .await?;
        let pool = KeyPool::load(store.clone(), master_key.clone(), clock.clone()).await?;
        let upstream = Upstream::new(UpstreamLimits {
            connect: Duration::from_secs(config.llm.connect_timeout_secs),
            first_byte: Duration::from_secs(config.llm.first_byte_timeout_secs),
            total: Duration::from_secs(config.llm.total_timeout_secs),
            max_reply_bytes: config.llm.max_reply_bytes,
        })?;
        let llm = Router::new(RouterParts {
            pool,
            upstream,
            config: config.llm.clone(),
            notifier: notifier.clone(),
            maintenance: maintenance.clone(),
        });
        let background = CancellationToken::new();
        llm.start_monitor(background.clone());
        let (local_owner, created) = users.ensure_local_owner().await?;
        if created {
            tracing::info!(
                email = %local_owner.email,
                "first run: created the local owner, an admin without a password; set one with `consilium admin set-password {}` to sign in over HTTP",
                local_owner.email
            );
        }
        let catalog = Catalog::load(
            config.catalog.tools_dir.as_deref(),
            config.catalog.prompts_dir.as_deref(),
        )?;
        let registry = build_registry(&catalog, options).map_err(AppError::Registry)?;
        let imported_foods = crate::health::nutrition::ImportedFoods::new(store.clone());
        let consensus = crate::consensus::Consensus::new(
            llm.clone(),
            signing_keys.clone(),
            clock.clone(),
            config.consensus.clone(),
            crate::consensus::ConsensusRuns::new(store.clone(), master_key.clone(), clock.clone()),
        );
        let decks = crate::study::Decks::new(store.clone(), clock.clone());
        let quizzes = crate::study::Quizzes::new(store.clone(), clock.clone());
        let documents = crate::study::Documents::new(store.clone(), clock.clone());
        let sessions = crate::study::Sessions::new(store.clone(), clock.clone());
        let evaluation = crate::evaluation::Evaluation::load(
            &catalog,
            store.clone(),
            master_key.clone(),
            clock.clone(),
        )?;
        let app = Arc::new(App {
            config,
            clock,
            store,
            users,
            api_keys,
            local_owner,
            signing_keys,
            audit,
            auth,
            meter,
            analyses,
            imported_foods,
            llm,
            maintenance,
            notifier,
            chats,
            consensus,
            decks,
            quizzes,
            documents,
            sessions,
            evaluation,
            master_key,
            background,
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
        });
        crate::study::due::watch(&app);
        Ok(app)
    }

    /// The principal of the server's own operator: the local owner, acting locally.
    pub fn local_principal(&self) -> Principal {
        Principal::session(&self.local_owner, AuthMethod::Local)
    }

    /// The principal a local process acts as: the local owner, or the user `email` names.
    pub async fn local_principal_for(&self, email: Option<&str>) -> Result<Principal, AppError> {
        let Some(email) = email else {
            return Ok(self.local_principal());
        };
        let email = crate::identity::Email::parse(email)?;
        let user = self
            .users
            .find_by_email(&email)
            .await?
            .ok_or(IdentityError::UserNotFound)?;
        if !user.may_authenticate() {
            return Err(AppError::Identity(IdentityError::UserNotFound));
        }
        Ok(Principal::session(&user, AuthMethod::Local))
    }

    /// The keys whose checkpoint signatures `consilium audit verify` trusts: the audit key
    /// whose private half opens under this server's master key, so a key planted in the
    /// database by someone without the master key is not trusted.
    pub async fn audit_trusted_keys(&self) -> Result<Vec<ed25519_dalek::VerifyingKey>, AppError> {
        let active = self.signing_keys.load_or_create(AUDIT_KEY_PURPOSE).await?;
        Ok(vec![active.verifying_key()])
    }

    /// Re-seals every sealed value in the store (signing keys, saved analyses, provider
    /// keys, chat messages) under `new`, in one transaction: all of them move or none does.
    /// The caller then puts `new` where the next start will load it. Stop the server first:
    /// a running one still holds the old key.
    pub async fn reseal_under(
        &self,
        new: Arc<MasterKey>,
    ) -> Result<Vec<(&'static str, usize)>, StoreError> {
        let old = self.master_key.clone();
        self.store
            .write(move |tx| {
                let columns = [
                    crate::secrets::SEALED_SIGNING_KEYS,
                    crate::health::history::SEALED_ANALYSES,
                    crate::llm::pool::SEALED_PROVIDER_KEYS,
                    crate::chat::SEALED_CHAT_MESSAGES,
                    crate::consensus::SEALED_CONSENSUS_RUNS,
                    crate::evaluation::store::SEALED_TRACES,
                ];
                crate::secrets::rotation::reseal_columns(tx, &columns, &old, &new)
                    .map_err(|e| StoreError::Rejected(e.to_string()))
            })
            .await
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

    /// Anchors the audit log with a last checkpoint, then flushes and closes the store. Call
    /// once, after the transports have drained.
    pub async fn shutdown(&self) -> Result<(), StoreError> {
        self.background.cancel();
        self.llm.pool().flush();
        if let Err(error) = self.meter.flush().await {
            tracing::warn!(%error, "usage records were lost at shutdown");
        }
        if let Err(error) = self.audit.checkpoint_if_recorded().await {
            tracing::warn!(%error, "no final audit checkpoint was written");
        }
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
    crate::accounts::register(&mut builder);
    crate::admin::register(&mut builder);
    crate::health::history::register(&mut builder);
    crate::health::calculators::register(&mut builder);
    crate::health::bloodwork::register(&mut builder);
    crate::health::risk::register(&mut builder);
    crate::health::nutrition::register(&mut builder);
    crate::health::fitness::register(&mut builder);
    crate::health::dna::register(&mut builder);
    crate::chat::register(&mut builder);
    crate::consensus::register(&mut builder);
    crate::study::register(&mut builder);
    crate::evaluation::register(&mut builder);
    crate::compliance::register(&mut builder);
    crate::llm::tools::register(&mut builder);
    #[cfg(feature = "conformance")]
    if options.conformance_fixtures {
        crate::conformance::register(&mut builder);
    }
    #[cfg(not(feature = "conformance"))]
    let _ = options;
    builder.build()
}
