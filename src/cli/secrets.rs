//! `consilium secrets rotate-master-key`: moves every sealed value to a new master key.
//!
//! Order matters so that no crash can leave values sealed under a key nobody has: the new
//! key is written to `<key file>.new` first, then the store re-seals everything in one
//! transaction, then the new file replaces the old one. A key from `CONSILIUM_MASTER_KEY`
//! cannot be replaced by us: the new one is printed once for the operator to store.

use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;
use serde_json::json;

use crate::accounts::Requester;
use crate::accounts::keys::record;
use crate::app::App;
use crate::secrets::MasterKey;

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Re-encrypt everything the master key protects under a new key. Stop the server
    /// first; back up the database and the key file before.
    RotateMasterKey,
}

pub async fn secrets(app: Arc<App>, command: SecretsCommand) -> anyhow::Result<i32> {
    let SecretsCommand::RotateMasterKey = command;
    let new = Arc::new(MasterKey::generate()?);
    let old_fingerprint = app.master_key.fingerprint().to_string();
    let from_environment = app.config.secrets.master_key.is_some();
    let key_file = match &app.config.secrets.master_key_file {
        Some(path) => path.clone(),
        None => crate::secrets::default_key_file(&app.config.database_path()?),
    };
    let staged = key_file.with_extension("key.new");
    if !from_environment {
        let (key, path) = (new.clone(), staged.clone());
        tokio::task::spawn_blocking(move || key.write_key_file(&path))
            .await?
            .with_context(|| {
                format!(
                    "writing the new key to {} (if a previous rotation left it there, check which key the database uses before removing it)",
                    staged.display()
                )
            })?;
    }
    let report = match app.reseal_under(new.clone()).await {
        Ok(report) => report,
        Err(error) => {
            if !from_environment {
                let _ = std::fs::remove_file(&staged);
            }
            return Err(error).context("nothing was re-encrypted; the old key stays in use");
        }
    };
    if from_environment {
        eprintln!(
            "every value is now sealed under the new key below; set CONSILIUM_MASTER_KEY to it before the next start (it is printed once):"
        );
        println!("{}", new.export_base64().as_str());
    } else {
        std::fs::rename(&staged, &key_file).with_context(|| {
            format!(
                "the values are sealed under the new key in {}, but it could not replace {}; move it there by hand",
                staged.display(),
                key_file.display()
            )
        })?;
        eprintln!("the new key replaced {}", key_file.display());
    }
    let counts: serde_json::Map<String, serde_json::Value> = report
        .iter()
        .map(|(name, count)| (name.to_string(), json!(count)))
        .collect();
    record(
        &app,
        Requester::local(app.local_principal())
            .audit("secrets.master_key.rotated")
            .details(
                json!({ "from": old_fingerprint, "to": new.fingerprint(), "resealed": counts }),
            ),
    )
    .await;
    eprintln!(
        "master key {} -> {}; re-sealed: {}",
        old_fingerprint,
        new.fingerprint(),
        report
            .iter()
            .map(|(name, count)| format!("{count} {name}(s)"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(0)
}
