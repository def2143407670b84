//! What the benchmarks share: percentiles of sorted samples, the metering request the
//! server builds for a call, and the real app on a SQLite file in a temporary folder.

use std::sync::Arc;
use std::time::Duration;

use consilium::app::{App, AppParts};
use consilium::config::Config;

use consilium::identity::{AuthMethod, Principal};
use consilium::metering::CallRequest;

/// The `p` percentile (0–1) of `sorted`, in microseconds.
pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)].as_secs_f64() * 1e6
}

/// The metering request of one call of `tool` by `principal`, as the server's gate makes it.
pub fn call_request(
    principal: &Principal,
    tool: &str,
    feature: Option<&str>,
    token_estimate: u64,
) -> CallRequest {
    CallRequest {
        user_id: principal.user_id.clone(),
        api_key_id: match &principal.via {
            AuthMethod::ApiKey { key_id } => Some(key_id.clone()),
            _ => None,
        },
        plan: principal.plan.clone(),
        bypass_limits: false,
        tool: tool.into(),
        feature: feature.map(str::to_string),
        feature_units: 0,
        token_estimate,
    }
}

/// The app with production's defaults on a fresh SQLite file inside `dir`.
pub async fn app_in(dir: &tempfile::TempDir) -> anyhow::Result<Arc<App>> {
    let mut config = Config::default();
    config.store.path = Some(dir.path().join("consilium.sqlite"));
    App::assemble(config, AppParts::default())
        .await
        .map_err(|e| anyhow::anyhow!("the app did not start: {e}"))
}
