//! `consilium data import-usda DIR`: loads the USDA SR28 ASCII release into the store, so all
//! its foods and household measures become available to `nutrition_analysis`.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Subcommand;

use crate::app::App;
use crate::health::nutrition::usda;

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Import the USDA SR28 ASCII release (FOOD_DES, NUT_DATA, NUTR_DEF, WEIGHT, FD_GROUP)
    /// from DIR, replacing any earlier import.
    ImportUsda { dir: PathBuf },
}

fn open(dir: &Path, name: &str) -> anyhow::Result<BufReader<File>> {
    let path = dir.join(name);
    let file = File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    Ok(BufReader::with_capacity(1 << 16, file))
}

pub async fn data(app: Arc<App>, command: DataCommand) -> anyhow::Result<i32> {
    let DataCommand::ImportUsda { dir } = command;
    let started = Instant::now();
    let release = tokio::task::spawn_blocking(move || -> anyhow::Result<usda::Release> {
        let [food_des, nut_data, nutr_def, weight, fd_group] = usda::FILES;
        Ok(usda::parse(
            open(&dir, food_des)?,
            open(&dir, nut_data)?,
            open(&dir, nutr_def)?,
            open(&dir, weight)?,
            open(&dir, fd_group)?,
        )?)
    })
    .await??;
    let skipped = release.skipped_lines;
    let foods = usda::store_release(&app.store, release, app.clock.now().to_rfc3339()).await?;
    eprintln!(
        "imported {foods} foods from USDA SR28 in {:.1} s{}",
        started.elapsed().as_secs_f64(),
        if skipped > 0 {
            format!(" ({skipped} unreadable lines skipped)")
        } else {
            String::new()
        }
    );
    Ok(0)
}
