//! The command line: `consilium tools`, `call`, `config show` and `db backup`; refusing a
//! non-loopback address without authentication; the database file created owner-only.

mod common;

use std::process::Output;

use common::{fresh_db, run_cli};
use serde_json::Value;

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn describe(output: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        stdout(output),
        stderr(output)
    )
}

#[test]
fn tools_prints_a_json_list_that_includes_server_status() {
    let (_dir, db) = fresh_db();
    let output = run_cli(&db, &["tools"]);
    assert!(output.status.success(), "{}", describe(&output));
    let tools: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "`consilium tools` must print JSON ({e}): {}",
            describe(&output)
        )
    });
    let names: Vec<&str> = tools
        .as_array()
        .expect("`consilium tools` prints a list")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(
        names.contains(&"server_status"),
        "server_status is listed: {names:?}"
    );
}

#[test]
fn call_server_status_exits_0_and_prints_structured_content() {
    let (_dir, db) = fresh_db();
    let output = run_cli(&db, &["call", "server_status", "{}"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let result: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "`consilium call` must print JSON ({e}): {}",
            describe(&output)
        )
    });
    assert_eq!(
        result["structuredContent"]["name"], "consilium",
        "the result has structuredContent: {result}"
    );
}

#[test]
fn call_server_status_with_an_unexpected_field_exits_1_with_an_error_result() {
    let (_dir, db) = fresh_db();
    let output = run_cli(&db, &["call", "server_status", r#"{"bogus":1}"#]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let result: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "the error result is still printed as JSON ({e}): {}",
            describe(&output)
        )
    });
    assert_eq!(result["isError"], true, "{result}");
    assert_eq!(
        result["structuredContent"]["code"], "INVALID_ARGUMENTS",
        "{result}"
    );
}

#[test]
fn call_of_an_unknown_tool_exits_non_zero_and_says_why_on_stderr() {
    let (_dir, db) = fresh_db();
    let output = run_cli(&db, &["call", "nope", "{}"]);
    assert!(
        !output.status.success(),
        "an unknown tool must fail: {}",
        describe(&output)
    );
    assert!(
        stderr(&output).contains("nope"),
        "stderr must name the unknown tool: {}",
        describe(&output)
    );
}

#[test]
fn config_show_prints_toml_with_the_http_table_and_the_database_path() {
    let (_dir, db) = fresh_db();
    let output = run_cli(&db, &["config", "show"]);
    assert!(output.status.success(), "{}", describe(&output));
    let text = stdout(&output);
    assert!(
        text.lines().any(|l| l.trim() == "[http]"),
        "the configuration has an [http] table:\n{text}"
    );
    let db_line = format!("# database: {}", db.display());
    assert!(
        text.lines().any(|l| l == db_line),
        "the configuration names the database with {db_line:?}:\n{text}"
    );
    let without_comments: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    toml::from_str::<toml::Value>(&without_comments)
        .unwrap_or_else(|e| panic!("`config show` must print TOML ({e}):\n{text}"));
    assert!(
        !text.contains("****"),
        "there are no secrets yet, so nothing may be masked:\n{text}"
    );
}

#[test]
fn db_backup_writes_a_copy_and_refuses_to_overwrite_an_existing_file() {
    let (dir, db) = fresh_db();
    let out = dir.path().join("backup.db");
    let output = run_cli(&db, &["db", "backup", &out.to_string_lossy()]);
    assert!(output.status.success(), "{}", describe(&output));
    let copy = std::fs::read(&out).expect("the backup file exists");
    assert!(
        copy.starts_with(b"SQLite format 3\0"),
        "the backup is an SQLite database"
    );

    let again = run_cli(&db, &["db", "backup", &out.to_string_lossy()]);
    assert!(
        !again.status.success(),
        "backing up onto an existing file must fail: {}",
        describe(&again)
    );
    assert!(
        !stderr(&again).trim().is_empty(),
        "the refusal must say why on stderr: {}",
        describe(&again)
    );
    assert_eq!(
        std::fs::read(&out).expect("the first backup is still there"),
        copy,
        "a refused backup must leave the existing file untouched"
    );
}

#[test]
fn serving_a_non_loopback_address_without_authentication_exits_non_zero_mentioning_authentication()
{
    let (_dir, db) = fresh_db();
    let output = run_cli(&db, &["serve", "--http", "0.0.0.0:0", "--insecure-no-auth"]);
    assert!(
        !output.status.success(),
        "serving 0.0.0.0 without authentication must fail: {}",
        describe(&output)
    );
    assert!(
        stderr(&output).contains("authentication"),
        "the message must mention authentication: {}",
        describe(&output)
    );
}

#[cfg(unix)]
#[test]
fn the_database_and_its_backups_are_created_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{} exists: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    let (dir, db) = fresh_db();
    assert!(
        !db.exists(),
        "the database must not exist before the first run"
    );
    let output = run_cli(&db, &["tools"]);
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(
        mode(&db),
        0o600,
        "the database file must be created with mode 0600"
    );

    let out = dir.path().join("backup.db");
    let output = run_cli(&db, &["db", "backup", &out.to_string_lossy()]);
    assert!(output.status.success(), "{}", describe(&output));
    assert_eq!(mode(&out), 0o600, "a backup must be created with mode 0600");
}
