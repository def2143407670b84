//! The server's effective configuration: built-in defaults, then a TOML file, then
//! `CONSILIUM_*` environment variables, then command-line flags, each overriding the last.
//!
//! This module only reads and validates settings; it must not open the store, bind
//! sockets or start anything. Anything secret is masked by [`Config::to_masked_toml`]
//! before it is shown.

mod access;
mod consensus;
mod env;
mod llm;
mod mask;
mod study;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use access::{AuditConfig, AuthConfig, FALLBACK_PLAN, FeaturesConfig, PlanLimits, PlansConfig};
pub use consensus::{ConsensusConfig, ModelChoice};
pub use env::{VARIABLES, apply_env_overrides};
pub use llm::{LlmConfig, MaintenanceConfig, ModelPrice, NotificationsConfig, WebhookTarget};
pub use study::StudyConfig;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the configuration file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {name}: {message}")]
    Env { name: String, message: String },
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error(
        "no platform data folder could be determined for the default database; pass --db PATH or set CONSILIUM_DB"
    )]
    NoDataDir,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub store: StoreConfig,
    pub http: HttpConfig,
    pub logging: LoggingConfig,
    pub catalog: CatalogConfig,
    pub secrets: SecretsConfig,
    pub auth: AuthConfig,
    pub plans: PlansConfig,
    pub features: FeaturesConfig,
    pub audit: AuditConfig,
    pub llm: LlmConfig,
    pub maintenance: MaintenanceConfig,
    pub notifications: NotificationsConfig,
    pub consensus: ConsensusConfig,
    pub study: StudyConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// The SQLite database file. `None` means the platform's data folder.
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    pub bind: SocketAddr,
    /// Host names (without port) accepted in the `Host` header. Guards against DNS rebinding.
    pub allowed_hosts: Vec<String>,
    /// Origins (`scheme://host`, any port, or `scheme://host:port`) accepted in the `Origin`
    /// header. A request without `Origin` (not from a browser) is accepted.
    pub allowed_origins: Vec<String>,
    pub max_body_bytes: usize,
    /// Time allowed to produce a response's head; streams then run under the session's own limits.
    pub request_timeout_secs: u64,
    pub session_idle_timeout_secs: u64,
    pub max_sessions: usize,
    /// Serving a non-loopback address without authentication must be asked for by name.
    pub insecure_no_auth: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8787)),
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "[::1]".into()],
            allowed_origins: vec![
                "http://localhost".into(),
                "http://127.0.0.1".into(),
                "http://[::1]".into(),
            ],
            max_body_bytes: 4 * 1024 * 1024,
            request_timeout_secs: 60,
            session_idle_timeout_secs: 30 * 60,
            max_sessions: 1024,
            insecure_no_auth: false,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoggingConfig {
    pub format: LogFormat,
    /// A `tracing` env-filter directive, e.g. `info` or `consilium=debug,rmcp=warn`.
    pub filter: String,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Human,
            // rmcp narrates every session's start and end at info; keep that for debugging.
            filter: "info,rmcp=warn".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct CatalogConfig {
    /// A folder laid out like the built-in `tools/`; its files replace or add to the built-in ones.
    pub tools_dir: Option<PathBuf>,
    /// A folder laid out like the built-in `prompts/`; likewise.
    pub prompts_dir: Option<PathBuf>,
}

/// Where the master key that seals secrets at rest comes from (see `crate::secrets`).
#[derive(Clone, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct SecretsConfig {
    /// The master key file. `None` means `master.key` beside the database.
    pub master_key_file: Option<PathBuf>,
    /// The master key itself: base64 of exactly 32 bytes. Wins over the file. Best given as
    /// `CONSILIUM_MASTER_KEY` from a secret store rather than written into a file.
    pub master_key: Option<String>,
}

// By hand rather than derived: `Config` is `Debug`, and a `{:?}` in a log line must not
// print the master key.
impl std::fmt::Debug for SecretsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsConfig")
            .field("master_key_file", &self.master_key_file)
            .field("master_key", &self.master_key.as_ref().map(|_| "****"))
            .finish()
    }
}

impl Config {
    /// Defaults, then the file (when given), then the environment.
    pub fn load(
        file: Option<&Path>,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut config = match file {
            Some(path) => Self::from_file(path)?,
            None => Self::default(),
        };
        apply_env_overrides(&mut config, env)?;
        config.validate()?;
        Ok(config)
    }

    fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.plans.validate()?;
        self.llm.validate()?;
        self.notifications.validate()?;
        self.consensus.validate()?;
        self.study.validate()?;
        if self.auth.access_token_ttl_secs == 0 || self.auth.refresh_token_ttl_secs == 0 {
            return Err(ConfigError::Invalid {
                field: "auth token lifetimes",
                message: "must be at least one second".into(),
            });
        }
        if self.auth.login_attempts_per_ip == 0 || self.auth.login_window_secs == 0 {
            return Err(ConfigError::Invalid {
                field: "auth.login_attempts_per_ip / auth.login_window_secs",
                message: "must be at least 1".into(),
            });
        }
        let http = &self.http;
        if http.max_body_bytes < 1024 {
            return Err(ConfigError::Invalid {
                field: "http.max_body_bytes",
                message: "must be at least 1024".into(),
            });
        }
        if http.max_sessions == 0 {
            return Err(ConfigError::Invalid {
                field: "http.max_sessions",
                message: "must be at least 1".into(),
            });
        }
        if http.request_timeout_secs == 0 || http.session_idle_timeout_secs == 0 {
            return Err(ConfigError::Invalid {
                field: "http timeouts",
                message: "must be at least one second".into(),
            });
        }
        for origin in &http.allowed_origins {
            if !(origin.starts_with("http://") || origin.starts_with("https://")) {
                return Err(ConfigError::Invalid {
                    field: "http.allowed_origins",
                    message: format!("{origin:?} must start with http:// or https://"),
                });
            }
        }
        Ok(())
    }

    /// The database file: the configured one or `consilium.db` in the platform's data folder
    /// (XDG data home on Linux, Application Support on macOS).
    pub fn database_path(&self) -> Result<PathBuf, ConfigError> {
        match &self.store.path {
            Some(path) => Ok(path.clone()),
            None => directories::ProjectDirs::from("org", "Consilium", "consilium")
                .map(|dirs| dirs.data_dir().join("consilium.db"))
                .ok_or(ConfigError::NoDataDir),
        }
    }

    /// Where the audit log's signed checkpoints go: the configured file, or
    /// `audit-checkpoints.jsonl` beside the database.
    pub fn audit_checkpoint_path(&self) -> Result<PathBuf, ConfigError> {
        match &self.audit.checkpoint_file {
            Some(path) => Ok(path.clone()),
            None => {
                let db = self.database_path()?;
                let dir = db.parent().map(Path::to_path_buf).unwrap_or_default();
                Ok(dir.join("audit-checkpoints.jsonl"))
            }
        }
    }

    /// The effective configuration as TOML with every secret-looking value masked.
    pub fn to_masked_toml(&self) -> String {
        let mut value = match toml::Value::try_from(self) {
            Ok(value) => value,
            Err(e) => return format!("# configuration could not be rendered: {e}\n"),
        };
        mask::mask_secrets(&mut value);
        toml::to_string_pretty(&value)
            .unwrap_or_else(|e| format!("# configuration could not be rendered: {e}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_bind_loopback_only() {
        let config = Config::default();
        assert!(config.http.bind.ip().is_loopback());
        assert!(!config.http.insecure_no_auth);
    }

    #[test]
    fn a_file_overrides_defaults_and_the_environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("consilium.toml");
        std::fs::write(
            &file,
            "[http]\nbind = \"127.0.0.1:9000\"\nmax_sessions = 5\n[logging]\nformat = \"json\"\n",
        )
        .unwrap();
        let env = vec![("CONSILIUM_HTTP_MAX_SESSIONS".to_string(), "7".to_string())];
        let config = Config::load(Some(&file), env.into_iter()).unwrap();
        assert_eq!(config.http.bind.port(), 9000);
        assert_eq!(config.http.max_sessions, 7);
        assert_eq!(config.logging.format, LogFormat::Json);
    }

    #[test]
    fn an_unknown_key_in_the_file_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "[http]\nbnd = \"x\"\n").unwrap();
        let err = Config::load(Some(&file), std::iter::empty()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("bad.toml") && text.contains("bnd"), "{text}");
    }

    #[test]
    fn the_master_key_settings_come_from_the_environment() {
        let env = [
            ("CONSILIUM_MASTER_KEY".to_string(), " a2V5 ".to_string()),
            (
                "CONSILIUM_MASTER_KEY_FILE".to_string(),
                "keys/m.key".to_string(),
            ),
        ];
        let config = Config::load(None, env.into_iter()).unwrap();
        assert_eq!(config.secrets.master_key.as_deref(), Some("a2V5"));
        assert_eq!(
            config.secrets.master_key_file.as_deref(),
            Some(Path::new("keys/m.key"))
        );
    }

    #[test]
    fn the_shown_configuration_reveals_no_part_of_the_master_key() {
        // base64 of 32 bytes: 44 characters, like a real key.
        let key = "q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k=";
        let mut config = Config::default();
        config.secrets.master_key = Some(key.to_string());
        let shown = config.to_masked_toml();
        assert!(shown.contains("master_key = \"****\""), "{shown}");
        let chars: Vec<char> = key.chars().collect();
        for window in chars.windows(4) {
            let piece: String = window.iter().collect();
            assert!(!shown.contains(&piece), "{piece:?} shown in {shown}");
        }
    }

    #[test]
    fn debug_output_hides_the_master_key() {
        let mut config = Config::default();
        config.secrets.master_key = Some("c2VjcmV0LW1hc3Rlci1rZXk=".to_string());
        let debug = format!("{config:?}");
        assert!(!debug.contains("c2VjcmV0"), "{debug}");
        assert!(debug.contains("master_key: Some(\"****\")"), "{debug}");
    }

    #[test]
    fn origins_without_a_scheme_are_refused() {
        let mut config = Config::default();
        config.http.allowed_origins = vec!["localhost".into()];
        assert!(config.validate().is_err());
    }
}
