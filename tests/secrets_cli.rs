//! `consilium secrets rotate-master-key` end to end: after rotation the key file holds a new
//! key, the stored provider key still opens (a live test call through it succeeds) and the
//! audit log still verifies under its re-sealed checkpoint key.

mod common;
#[path = "support/upstream.rs"]
mod upstream;

use common::{fresh_db, run_cli, run_cli_with_input};
use upstream::Upstream;

fn ok(output: &std::process::Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

// Multi-threaded: the command line blocks this thread while the scripted provider answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_reseals_every_secret_and_replaces_the_key_file() {
    let upstream = Upstream::start().await;
    let (dir, db) = fresh_db();
    let added = run_cli_with_input(
        &db,
        &[
            "providers",
            "add",
            "--provider",
            "anthropic",
            "--label",
            "main",
            "--base-url",
            &upstream.base_url("main", "anthropic"),
            "--models",
            "claude-test",
        ],
        "sk-ant-0123456789abcdefROTATE\n",
    );
    let listed: serde_json::Value =
        serde_json::from_str(&ok(&added, "providers add")).expect("json");
    let id = listed["id"].as_str().expect("an id").to_string();
    let key_file = dir.path().join("master.key");
    let before = std::fs::read(&key_file).expect("the key file exists");

    let rotated = run_cli(&db, &["secrets", "rotate-master-key"]);
    ok(&rotated, "secrets rotate-master-key");
    let after = std::fs::read(&key_file).expect("the key file exists");
    assert_ne!(before, after, "the key file holds a new key");
    assert!(
        !dir.path().join("master.key.new").exists(),
        "nothing staged is left behind"
    );
    let report = String::from_utf8_lossy(&rotated.stderr);
    assert!(report.contains("1 provider key(s)"), "{report}");

    ok(
        &run_cli(&db, &["providers", "test", &id]),
        "providers test after rotation",
    );
    assert_eq!(
        upstream.received("main").len(),
        2,
        "the test before adding and the one after rotating"
    );
    ok(
        &run_cli(&db, &["audit", "verify"]),
        "audit verify after rotation",
    );
}
