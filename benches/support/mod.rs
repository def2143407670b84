//! What the benchmarks share: percentiles of sorted samples, and the real app on a SQLite
//! file in a temporary folder. (The metering request of a call is `CallRequest::by`, as
//! the server's gate makes it.)

use std::sync::Arc;
use std::time::Duration;

use consilium::app::{App, AppParts};
use consilium::config::Config;

/// The `p` percentile (0–1) of `sorted`, in microseconds.
pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)].as_secs_f64() * 1e6
}

/// The app with production's defaults on a fresh SQLite file inside `dir`.
pub async fn app_in(dir: &tempfile::TempDir) -> anyhow::Result<Arc<App>> {
    let mut config = Config::default();
    config.store.path = Some(dir.path().join("consilium.sqlite"));
    App::assemble(config, AppParts::default())
        .await
        .map_err(|e| anyhow::anyhow!("the app did not start: {e}"))
}
