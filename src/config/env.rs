//! `CONSILIUM_*` environment overrides. Every variable maps to one field; an unknown
//! `CONSILIUM_` variable is ignored (other tools share the prefix), a malformed value is an
//! error naming the variable.

use std::path::PathBuf;
use std::str::FromStr;

use super::{Config, ConfigError, LogFormat};

/// The variables this build understands, for `--help` texts and the README.
pub const VARIABLES: &[(&str, &str)] = &[
    ("CONSILIUM_DB", "store.path: the SQLite database file"),
    (
        "CONSILIUM_HTTP_BIND",
        "http.bind: address for `serve --http`",
    ),
    (
        "CONSILIUM_HTTP_ALLOWED_HOSTS",
        "http.allowed_hosts, comma-separated",
    ),
    (
        "CONSILIUM_HTTP_ALLOWED_ORIGINS",
        "http.allowed_origins, comma-separated",
    ),
    ("CONSILIUM_HTTP_MAX_BODY_BYTES", "http.max_body_bytes"),
    (
        "CONSILIUM_HTTP_REQUEST_TIMEOUT_SECS",
        "http.request_timeout_secs",
    ),
    (
        "CONSILIUM_HTTP_SESSION_IDLE_TIMEOUT_SECS",
        "http.session_idle_timeout_secs",
    ),
    ("CONSILIUM_HTTP_MAX_SESSIONS", "http.max_sessions"),
    (
        "CONSILIUM_LOG",
        "logging.filter, a tracing env-filter directive",
    ),
    ("CONSILIUM_LOG_FORMAT", "logging.format: human or json"),
    ("CONSILIUM_TOOLS_DIR", "catalog.tools_dir"),
    ("CONSILIUM_PROMPTS_DIR", "catalog.prompts_dir"),
    (
        "CONSILIUM_MASTER_KEY",
        "secrets.master_key: base64 of the 32-byte master key; wins over the key file",
    ),
    (
        "CONSILIUM_MASTER_KEY_FILE",
        "secrets.master_key_file: default master.key beside the database",
    ),
];

pub fn apply_env_overrides(
    config: &mut Config,
    env: impl Iterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    for (name, value) in env {
        if !name.starts_with("CONSILIUM_") {
            continue;
        }
        let value = value.trim().to_string();
        // An empty variable means "not set": launchers such as MCP bundles pass every
        // configurable variable, blank when the user left it blank.
        if value.is_empty() {
            continue;
        }
        match name.as_str() {
            "CONSILIUM_DB" => config.store.path = Some(PathBuf::from(value)),
            "CONSILIUM_HTTP_BIND" => config.http.bind = parse(&name, &value)?,
            "CONSILIUM_HTTP_ALLOWED_HOSTS" => config.http.allowed_hosts = list(&value),
            "CONSILIUM_HTTP_ALLOWED_ORIGINS" => config.http.allowed_origins = list(&value),
            "CONSILIUM_HTTP_MAX_BODY_BYTES" => config.http.max_body_bytes = parse(&name, &value)?,
            "CONSILIUM_HTTP_REQUEST_TIMEOUT_SECS" => {
                config.http.request_timeout_secs = parse(&name, &value)?
            }
            "CONSILIUM_HTTP_SESSION_IDLE_TIMEOUT_SECS" => {
                config.http.session_idle_timeout_secs = parse(&name, &value)?
            }
            "CONSILIUM_HTTP_MAX_SESSIONS" => config.http.max_sessions = parse(&name, &value)?,
            "CONSILIUM_LOG" => config.logging.filter = value,
            "CONSILIUM_LOG_FORMAT" => {
                config.logging.format = match value.as_str() {
                    "human" => LogFormat::Human,
                    "json" => LogFormat::Json,
                    _ => {
                        return Err(ConfigError::Env {
                            name,
                            message: "must be `human` or `json`".into(),
                        });
                    }
                }
            }
            "CONSILIUM_TOOLS_DIR" => config.catalog.tools_dir = Some(PathBuf::from(value)),
            "CONSILIUM_PROMPTS_DIR" => config.catalog.prompts_dir = Some(PathBuf::from(value)),
            "CONSILIUM_MASTER_KEY" => config.secrets.master_key = Some(value),
            "CONSILIUM_MASTER_KEY_FILE" => {
                config.secrets.master_key_file = Some(PathBuf::from(value))
            }
            _ => {}
        }
    }
    Ok(())
}

fn parse<T: FromStr>(name: &str, value: &str) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|e: T::Err| ConfigError::Env {
        name: name.to_string(),
        message: format!("{value:?}: {e}"),
    })
}

fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_number_names_the_variable() {
        let mut config = Config::default();
        let env = [(
            "CONSILIUM_HTTP_MAX_SESSIONS".to_string(),
            "many".to_string(),
        )];
        let err = apply_env_overrides(&mut config, env.into_iter()).unwrap_err();
        assert!(err.to_string().contains("CONSILIUM_HTTP_MAX_SESSIONS"));
    }

    #[test]
    fn an_empty_variable_leaves_the_setting_alone() {
        let mut config = Config::default();
        let env = [("CONSILIUM_DB".to_string(), "  ".to_string())];
        apply_env_overrides(&mut config, env.into_iter()).unwrap();
        assert!(config.store.path.is_none());
    }

    #[test]
    fn lists_are_split_on_commas() {
        let mut config = Config::default();
        let env = [(
            "CONSILIUM_HTTP_ALLOWED_HOSTS".to_string(),
            "a.example, b.example,".to_string(),
        )];
        apply_env_overrides(&mut config, env.into_iter()).unwrap();
        assert_eq!(config.http.allowed_hosts, vec!["a.example", "b.example"]);
    }
}
