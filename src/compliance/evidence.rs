//! The facts a report cites, read from the store in one pass: evaluations and their
//! findings, PHI counts, the audit log (verified), accounts, keys and signing keys, the
//! provider pool's health, usage and cost, and the settings that govern access and
//! transport.
//!
//! Read-only, and only counts, dates, names of rules and models, and settings: never a
//! secret, a key digest, trace text, or another tenant's identity when one tenant asks.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::Period;
use crate::app::App;
use crate::identity::UserId;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("the store could not be read: {0}")]
    Store(#[from] StoreError),
    #[error("the audit log could not be verified: {0}")]
    Audit(String),
}

/// Everything a report may cite, for one tenant (or all) over one period.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Evidence {
    pub evaluations: EvaluationEvidence,
    pub audit: AuditEvidence,
    pub access: AccessEvidence,
    pub protection: ProtectionEvidence,
    pub providers: Vec<ProviderHealth>,
    pub usage: Vec<TenantUsage>,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct EvaluationEvidence {
    pub traces: u64,
    pub by_source: BTreeMap<String, u64>,
    /// `pass`, `warn`, `fail`, `undetermined`.
    pub by_verdict: BTreeMap<String, u64>,
    /// `complete`, `awaiting_judge`, `judge_failed`.
    pub by_status: BTreeMap<String, u64>,
    /// Passes over evaluations with a verdict; `None` when there were none.
    pub pass_rate: Option<f64>,
    pub by_domain: Vec<DomainStats>,
    pub findings_by_severity: BTreeMap<String, u64>,
    /// The rules that fired most, with their severity.
    pub top_rules: Vec<RuleCount>,
    pub phi: PhiEvidence,
    pub models: Vec<ModelStats>,
    pub judge: JudgeStats,
    /// Traces and pass rate per ISO week (Monday).
    pub weekly: Vec<WeekStats>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DomainStats {
    pub domain: String,
    pub pack_versions: Vec<String>,
    pub traces: u64,
    pub pass: u64,
    pub warn: u64,
    pub fail: u64,
    pub undetermined: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RuleCount {
    pub rule_id: String,
    pub severity: String,
    pub count: u64,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct PhiEvidence {
    pub traces_with_phi: u64,
    pub identifiers: u64,
    /// Traces whose identifiers were replaced before they were stored.
    pub redacted_traces: u64,
    /// Traces stored with their identifiers because the tenant chose to keep them.
    pub kept_traces: u64,
    pub by_kind: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ModelStats {
    pub model: String,
    pub provider: Option<String>,
    pub traces: u64,
    pub pass_rate: Option<f64>,
    pub first_seen: String,
    pub last_seen: String,
    pub median_latency_ms: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct JudgeStats {
    /// Evaluations the judge was asked to read.
    pub asked: u64,
    pub judged: u64,
    pub failed: u64,
    pub awaiting: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WeekStats {
    pub week_of: String,
    pub traces: u64,
    pub pass_rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AuditEvidence {
    /// The whole log's verification, hash chain and signed checkpoints.
    pub intact: bool,
    pub entries: u64,
    pub last_seq: u64,
    pub anchored_through: Option<u64>,
    pub unanchored_entries: u64,
    pub checkpoint_file_found: bool,
    pub problems: Vec<String>,
    /// Entries in the period (those the tenant made, when one tenant asks).
    pub in_period: u64,
    pub by_action: BTreeMap<String, u64>,
    /// Rotations and changes of keys and security settings in the period.
    pub security_events: Vec<AuditEvent>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AuditEvent {
    pub seq: u64,
    pub at: String,
    pub actor: String,
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub details: Value,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AccessEvidence {
    pub authentication_required: bool,
    pub users_active: u64,
    pub users_disabled: u64,
    pub users_locked: u64,
    pub admins: u64,
    pub api_keys_active: u64,
    pub api_keys_without_expiry: u64,
    pub api_keys_revoked_in_period: u64,
    pub oldest_active_api_key_created_at: Option<String>,
    pub newest_active_api_key_created_at: Option<String>,
    /// Signing keys in use (tokens, audit checkpoints, certificates), by purpose.
    pub signing_keys: Vec<SigningKeyAge>,
    pub signing_keys_retired: u64,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    pub self_signup: bool,
    pub login_attempts_per_ip: u32,
    pub login_window_secs: u64,
    pub session_idle_timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SigningKeyAge {
    pub purpose: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ProtectionEvidence {
    pub password_hashing: String,
    pub api_key_storage: String,
    pub provider_keys_at_rest: String,
    pub traces_at_rest: String,
    /// The last rotation of the master key recorded in the audit log.
    pub master_key_last_rotated: Option<String>,
    pub http_bind: String,
    pub http_loopback_only: bool,
    pub allowed_hosts: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub provider_endpoints_https: u64,
    pub provider_endpoints_plain_http: u64,
    pub provider_endpoints_plain_http_loopback: u64,
    /// Tenants that chose to keep PHI in stored traces.
    pub tenants_keeping_phi: u64,
}

/// One provider's keys, in aggregate: never labels, addresses or digests.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ProviderHealth {
    pub provider: String,
    pub keys: u64,
    pub active: u64,
    pub degraded: u64,
    pub disabled: u64,
    pub successes: u64,
    pub failures: u64,
    pub failure_rate: Option<f64>,
    pub last_failure_at: Option<String>,
    pub newest_key_added_at: Option<String>,
    pub oldest_key_added_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TenantUsage {
    pub user_id: String,
    pub email: Option<String>,
    pub plan: String,
    pub lines: Vec<UsageLine>,
    pub calls: u64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_micro_usd: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct UsageLine {
    pub tool: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature: Option<String>,
    pub calls: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub refused: u64,
    pub feature_units: u64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_micro_usd: u64,
    pub median_latency_ms: u64,
}

/// Audit actions that record a key rotation or a change to security settings.
const SECURITY_ACTIONS: &[&str] = &[
    "secrets.master_key.rotated",
    "api_key.created",
    "api_key.rotated",
    "api_key.revoked",
    "provider.key.added",
    "provider.key.deleted",
    "provider.key.status_set",
    "provider.key.priority_set",
    "admin.user.created",
    "admin.user.disabled",
    "admin.user.enabled",
    "admin.user.password_set",
    "admin.plan.changed",
    "admin.feature.set",
    "admin.maintenance.set",
    "maintenance.entered",
    "maintenance.left",
    "evaluation.keep_phi.changed",
    "auth.refresh.reuse_detected",
    "auth.account.locked",
];
const MAX_SECURITY_EVENTS: usize = 200;

pub async fn gather(
    app: &App,
    tenant: Option<&UserId>,
    period: &Period,
) -> Result<Evidence, EvidenceError> {
    let file = app
        .config
        .audit_checkpoint_path()
        .map_err(|e| EvidenceError::Audit(e.to_string()))?;
    let trusted = app
        .audit_trusted_keys()
        .await
        .map_err(|e| EvidenceError::Audit(e.to_string()))?;
    let verified = crate::audit::verify(&app.store, &file, &trusted)
        .await
        .map_err(|e| EvidenceError::Audit(e.to_string()))?;
    let tenant_id = tenant.map(ToString::to_string);
    let (from, to) = (period.from.to_rfc3339(), period.to.to_rfc3339());
    let read = app
        .store
        .read(move |c| {
            let t = tenant_id.as_deref();
            Ok((
                evaluations(c, t, &from, &to)?,
                audit_in_period(c, t, &from, &to)?,
                accounts(c, t, &from, &to)?,
                providers(c, t)?,
                usage(c, t, &from, &to)?,
                keeping_phi(c, t)?,
            ))
        })
        .await?;
    let (
        evaluations,
        (in_period, by_action, security_events, master_rotated),
        accounts,
        (provider_health, endpoints),
        usage,
        tenants_keeping_phi,
    ) = read;
    let config = &app.config;
    let http = &config.http;
    let auth = &config.auth;
    Ok(Evidence {
        evaluations,
        audit: AuditEvidence {
            intact: verified.is_intact(),
            entries: verified.entries,
            last_seq: verified.last_seq,
            anchored_through: verified.anchored_through,
            unanchored_entries: verified.unanchored_entries(),
            checkpoint_file_found: verified.checkpoint_file_found,
            problems: verified.problems.iter().map(ToString::to_string).collect(),
            in_period,
            by_action,
            security_events,
        },
        access: AccessEvidence {
            authentication_required: !http.insecure_no_auth,
            users_active: accounts.users_active,
            users_disabled: accounts.users_disabled,
            users_locked: accounts.users_locked,
            admins: accounts.admins,
            api_keys_active: accounts.keys_active,
            api_keys_without_expiry: accounts.keys_without_expiry,
            api_keys_revoked_in_period: accounts.keys_revoked,
            oldest_active_api_key_created_at: accounts.oldest_key,
            newest_active_api_key_created_at: accounts.newest_key,
            signing_keys: accounts.signing_keys,
            signing_keys_retired: accounts.signing_retired,
            access_token_ttl_secs: auth.access_token_ttl_secs,
            refresh_token_ttl_secs: auth.refresh_token_ttl_secs,
            self_signup: auth.allow_self_signup,
            login_attempts_per_ip: auth.login_attempts_per_ip,
            login_window_secs: auth.login_window_secs,
            session_idle_timeout_secs: http.session_idle_timeout_secs,
        },
        protection: ProtectionEvidence {
            password_hashing: "argon2id (PHC string per user)".into(),
            api_key_storage: "SHA-256 digest of the secret; the secret is shown once".into(),
            provider_keys_at_rest: "AES-256-GCM under the master key, bound to the key's id".into(),
            traces_at_rest: "AES-256-GCM under the master key, bound to the trace and tenant"
                .into(),
            master_key_last_rotated: master_rotated,
            http_bind: http.bind.to_string(),
            http_loopback_only: http.bind.ip().is_loopback(),
            allowed_hosts: http.allowed_hosts.clone(),
            allowed_origins: http.allowed_origins.clone(),
            provider_endpoints_https: endpoints.https,
            provider_endpoints_plain_http: endpoints.plain,
            provider_endpoints_plain_http_loopback: endpoints.plain_loopback,
            tenants_keeping_phi,
        },
        providers: provider_health,
        usage,
    })
}

fn rate(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0)
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn median(mut values: Vec<i64>) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    Some(to_u64(values[values.len() / 2]))
}

type ModelTally = (ModelStats, u64, Vec<i64>);
type LineTally = (UsageLine, Vec<i64>);
/// A tenant's lines by (tool, feature).
type TenantLines = BTreeMap<(String, Option<String>), LineTally>;

const TRACES_IN_PERIOD: &str =
    "(?1 IS NULL OR t.user_id = ?1) AND t.received_at >= ?2 AND t.received_at < ?3";

fn evaluations(
    c: &Connection,
    tenant: Option<&str>,
    from: &str,
    to: &str,
) -> Result<EvaluationEvidence, StoreError> {
    let mut evidence = EvaluationEvidence::default();
    let join =
        format!("FROM traces t JOIN evaluations e ON e.trace_id = t.id WHERE {TRACES_IN_PERIOD}");
    let grouped = |column: &str| -> Result<BTreeMap<String, u64>, StoreError> {
        let sql = format!("SELECT {column}, COUNT(*) {join} GROUP BY 1");
        let mut statement = c.prepare(&sql)?;
        let rows = statement.query_map(params![tenant, from, to], |r| {
            Ok((r.get::<_, String>(0)?, to_u64(r.get(1)?)))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    };
    evidence.by_source = grouped("t.source")?;
    evidence.by_verdict = grouped("e.verdict")?;
    evidence.by_status = grouped("e.status")?;
    evidence.traces = evidence.by_source.values().sum();
    let verdicts = |name: &str| evidence.by_verdict.get(name).copied().unwrap_or(0);
    evidence.pass_rate = rate(verdicts("pass"), evidence.traces);

    let mut statement = c.prepare(&format!(
        "SELECT e.domain, e.pack_version, e.verdict, COUNT(*) {join} GROUP BY 1, 2, 3 ORDER BY 1, 2"
    ))?;
    let rows = statement.query_map(params![tenant, from, to], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            to_u64(r.get(3)?),
        ))
    })?;
    let mut domains: BTreeMap<String, DomainStats> = BTreeMap::new();
    for row in rows {
        let (domain, version, verdict, n) = row?;
        let stats = domains.entry(domain.clone()).or_insert(DomainStats {
            domain,
            pack_versions: Vec::new(),
            traces: 0,
            pass: 0,
            warn: 0,
            fail: 0,
            undetermined: 0,
        });
        if !stats.pack_versions.contains(&version) {
            stats.pack_versions.push(version);
        }
        stats.traces += n;
        match verdict.as_str() {
            "pass" => stats.pass += n,
            "warn" => stats.warn += n,
            "fail" => stats.fail += n,
            _ => stats.undetermined += n,
        }
    }
    evidence.by_domain = domains.into_values().collect();

    let mut statement = c.prepare(&format!(
        "SELECT json_extract(f.value, '$.rule_id'), json_extract(f.value, '$.severity'), COUNT(*)
         FROM traces t JOIN evaluations e ON e.trace_id = t.id, json_each(e.findings) f
         WHERE {TRACES_IN_PERIOD} GROUP BY 1, 2 ORDER BY 3 DESC, 1"
    ))?;
    let rows = statement.query_map(params![tenant, from, to], |r| {
        Ok(RuleCount {
            rule_id: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
            severity: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            count: to_u64(r.get(2)?),
        })
    })?;
    for row in rows {
        let rule = row?;
        *evidence
            .findings_by_severity
            .entry(rule.severity.clone())
            .or_default() += rule.count;
        if evidence.top_rules.len() < 20 {
            evidence.top_rules.push(rule);
        }
    }

    let mut statement = c.prepare(&format!(
        "SELECT COALESCE(SUM(t.phi_found > 0), 0), COALESCE(SUM(t.phi_found), 0),
                COALESCE(SUM(t.phi_found > 0 AND t.phi_redacted = 1), 0),
                COALESCE(SUM(t.phi_found > 0 AND t.phi_redacted = 0), 0)
         FROM traces t WHERE {TRACES_IN_PERIOD}"
    ))?;
    let (with_phi, identifiers, redacted, kept) =
        statement.query_row(params![tenant, from, to], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get(2)?,
                r.get(3)?,
            ))
        })?;
    let mut statement = c.prepare(&format!(
        "SELECT k.key, SUM(k.value)
         FROM traces t JOIN evaluations e ON e.trace_id = t.id, json_each(e.phi) k
         WHERE {TRACES_IN_PERIOD} GROUP BY 1"
    ))?;
    let by_kind = statement
        .query_map(params![tenant, from, to], |r| {
            Ok((r.get::<_, String>(0)?, to_u64(r.get(1)?)))
        })?
        .collect::<Result<_, _>>()?;
    evidence.phi = PhiEvidence {
        traces_with_phi: to_u64(with_phi),
        identifiers: to_u64(identifiers),
        redacted_traces: to_u64(redacted),
        kept_traces: to_u64(kept),
        by_kind,
    };

    let mut statement = c.prepare(&format!(
        "SELECT t.model, t.provider, e.verdict, t.received_at, t.latency_ms {join} ORDER BY t.received_at"
    ))?;
    let rows = statement.query_map(params![tenant, from, to], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<i64>>(4)?,
        ))
    })?;
    // Per model: its stats, how many passed, and its latencies.
    let mut models: BTreeMap<(String, Option<String>), ModelTally> = BTreeMap::new();
    let mut weeks: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for row in rows {
        let (model, provider, verdict, at, latency) = row?;
        let passed = u64::from(verdict == "pass");
        let entry = models
            .entry((model.clone(), provider.clone()))
            .or_insert_with(|| {
                (
                    ModelStats {
                        model,
                        provider,
                        traces: 0,
                        pass_rate: None,
                        first_seen: at.clone(),
                        last_seen: at.clone(),
                        median_latency_ms: None,
                    },
                    0,
                    Vec::new(),
                )
            });
        entry.0.traces += 1;
        entry.0.last_seen = at.clone();
        entry.1 += passed;
        entry.2.extend(latency);
        let week = week_of(&at);
        let w = weeks.entry(week).or_default();
        w.0 += 1;
        w.1 += passed;
    }
    evidence.models = models
        .into_values()
        .map(|(mut stats, passed, latencies)| {
            stats.pass_rate = rate(passed, stats.traces);
            stats.median_latency_ms = median(latencies);
            stats
        })
        .collect();
    evidence.weekly = weeks
        .into_iter()
        .map(|(week_of, (traces, passed))| WeekStats {
            week_of,
            traces,
            pass_rate: rate(passed, traces),
        })
        .collect();

    let mut statement = c.prepare(&format!(
        "SELECT COALESCE(SUM(e.judge IS NOT NULL OR e.status = 'awaiting_judge'), 0),
                COALESCE(SUM(e.status = 'complete' AND e.judge IS NOT NULL), 0),
                COALESCE(SUM(e.status = 'judge_failed'), 0),
                COALESCE(SUM(e.status = 'awaiting_judge'), 0) {join}"
    ))?;
    evidence.judge = statement.query_row(params![tenant, from, to], |r| {
        Ok(JudgeStats {
            asked: to_u64(r.get(0)?),
            judged: to_u64(r.get(1)?),
            failed: to_u64(r.get(2)?),
            awaiting: to_u64(r.get(3)?),
        })
    })?;
    Ok(evidence)
}

/// The Monday of the ISO week of an RFC 3339 stamp (its date part when unreadable).
fn week_of(at: &str) -> String {
    let date = at.get(..10).unwrap_or(at);
    match chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d") {
        Ok(day) => {
            use chrono::Datelike;
            let back = i64::from(day.weekday().num_days_from_monday());
            (day - chrono::Duration::days(back)).to_string()
        }
        Err(_) => date.to_string(),
    }
}

/// The audit log's stamps carry microseconds; the period's bounds are written the same way
/// so text order is time order.
fn audit_bound(stamp: &str) -> String {
    stamp.trim_end_matches('Z').to_string() + ".000000Z"
}

type AuditInPeriod = (u64, BTreeMap<String, u64>, Vec<AuditEvent>, Option<String>);

fn audit_in_period(
    c: &Connection,
    tenant: Option<&str>,
    from: &str,
    to: &str,
) -> Result<AuditInPeriod, StoreError> {
    let (from, to) = (audit_bound(from), audit_bound(to));
    let scope = "(?1 IS NULL OR actor = ?1) AND at >= ?2 AND at < ?3";
    let mut statement = c.prepare(&format!(
        "SELECT action, COUNT(*) FROM audit_log WHERE {scope} GROUP BY 1"
    ))?;
    let by_action: BTreeMap<String, u64> = statement
        .query_map(params![tenant, from, to], |r| {
            Ok((r.get::<_, String>(0)?, to_u64(r.get(1)?)))
        })?
        .collect::<Result<_, _>>()?;
    let in_period = by_action.values().sum();
    let placeholders = SECURITY_ACTIONS
        .iter()
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut statement = c.prepare(&format!(
        "SELECT seq, at, actor, action, target, details FROM audit_log
         WHERE {scope} AND action IN ({placeholders}) ORDER BY seq DESC LIMIT {MAX_SECURITY_EVENTS}"
    ))?;
    let mut security_events = statement
        .query_map(params![tenant, from, to], |r| {
            Ok(AuditEvent {
                seq: to_u64(r.get(0)?),
                at: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                target: r.get(4)?,
                details: serde_json::from_str(&r.get::<_, String>(5)?).unwrap_or(Value::Null),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    security_events.reverse();
    // The master key is the platform's: its last rotation is reported whoever asks.
    let master_rotated = c
        .query_row(
            "SELECT MAX(at) FROM audit_log WHERE action = 'secrets.master_key.rotated'",
            [],
            |r| r.get::<_, Option<String>>(0),
        )
        .optional()?
        .flatten();
    Ok((in_period, by_action, security_events, master_rotated))
}

struct Accounts {
    users_active: u64,
    users_disabled: u64,
    users_locked: u64,
    admins: u64,
    keys_active: u64,
    keys_without_expiry: u64,
    keys_revoked: u64,
    oldest_key: Option<String>,
    newest_key: Option<String>,
    signing_keys: Vec<SigningKeyAge>,
    signing_retired: u64,
}

fn accounts(
    c: &Connection,
    tenant: Option<&str>,
    from: &str,
    to: &str,
) -> Result<Accounts, StoreError> {
    let (users_active, users_disabled, users_locked, admins) = c.query_row(
        "SELECT COALESCE(SUM(disabled = 0), 0), COALESCE(SUM(disabled = 1), 0),
                COALESCE(SUM(locked_at IS NOT NULL), 0), COALESCE(SUM(role = 'admin'), 0)
         FROM users WHERE ?1 IS NULL OR id = ?1",
        params![tenant],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
            ))
        },
    )?;
    let (keys_active, keys_without_expiry, oldest_key, newest_key) = c.query_row(
        "SELECT COUNT(*), COALESCE(SUM(expires_at IS NULL), 0), MIN(created_at), MAX(created_at)
         FROM api_keys
         WHERE (?1 IS NULL OR user_id = ?1) AND revoked_at IS NULL
           AND (expires_at IS NULL OR expires_at > ?2)",
        params![tenant, to],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get(2)?,
                r.get(3)?,
            ))
        },
    )?;
    let keys_revoked: i64 = c.query_row(
        "SELECT COUNT(*) FROM api_keys WHERE (?1 IS NULL OR user_id = ?1)
           AND revoked_at >= ?2 AND revoked_at < ?3",
        params![tenant, from, to],
        |r| r.get(0),
    )?;
    let mut statement = c.prepare(
        "SELECT purpose, created_at FROM signing_keys WHERE retired_at IS NULL ORDER BY purpose",
    )?;
    let signing_keys = statement
        .query_map([], |r| {
            Ok(SigningKeyAge {
                purpose: r.get(0)?,
                created_at: r.get(1)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let signing_retired: i64 = c.query_row(
        "SELECT COUNT(*) FROM signing_keys WHERE retired_at IS NOT NULL",
        [],
        |r| r.get(0),
    )?;
    Ok(Accounts {
        users_active: to_u64(users_active),
        users_disabled: to_u64(users_disabled),
        users_locked: to_u64(users_locked),
        admins: to_u64(admins),
        keys_active: to_u64(keys_active),
        keys_without_expiry: to_u64(keys_without_expiry),
        keys_revoked: to_u64(keys_revoked),
        oldest_key,
        newest_key,
        signing_keys,
        signing_retired: to_u64(signing_retired),
    })
}

#[derive(Debug, Default)]
struct Endpoints {
    https: u64,
    plain: u64,
    plain_loopback: u64,
}

/// The shared pool and (when one tenant asks) their own keys; another tenant's keys never.
fn providers(
    c: &Connection,
    tenant: Option<&str>,
) -> Result<(Vec<ProviderHealth>, Endpoints), StoreError> {
    let mut statement = c.prepare(
        "SELECT provider, status, successes, failures, last_failure_at, created_at, base_url
         FROM provider_keys
         WHERE ?1 IS NULL OR owner_user_id IS NULL OR owner_user_id = ?1
         ORDER BY provider",
    )?;
    let rows = statement.query_map(params![tenant], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, String>(6)?,
        ))
    })?;
    let mut by_provider: BTreeMap<String, ProviderHealth> = BTreeMap::new();
    let mut endpoints = Endpoints::default();
    for row in rows {
        let (provider, status, successes, failures, last_failure, created, base_url) = row?;
        let health = by_provider
            .entry(provider.clone())
            .or_insert(ProviderHealth {
                provider,
                keys: 0,
                active: 0,
                degraded: 0,
                disabled: 0,
                successes: 0,
                failures: 0,
                failure_rate: None,
                last_failure_at: None,
                newest_key_added_at: None,
                oldest_key_added_at: None,
            });
        health.keys += 1;
        match status.as_str() {
            "active" => health.active += 1,
            "degraded" => health.degraded += 1,
            _ => health.disabled += 1,
        }
        health.successes += to_u64(successes);
        health.failures += to_u64(failures);
        health.last_failure_at = health.last_failure_at.clone().max(last_failure);
        health.newest_key_added_at = health
            .newest_key_added_at
            .clone()
            .max(Some(created.clone()));
        health.oldest_key_added_at = Some(match health.oldest_key_added_at.take() {
            Some(oldest) if oldest < created => oldest,
            _ => created,
        });
        match reqwest::Url::parse(&base_url) {
            Ok(url) if url.scheme() == "https" => endpoints.https += 1,
            Ok(url)
                if url.host_str().is_some_and(|h| {
                    h == "localhost"
                        || h.trim_matches(['[', ']'])
                            .parse::<std::net::IpAddr>()
                            .is_ok_and(|ip| ip.is_loopback())
                }) =>
            {
                endpoints.plain_loopback += 1
            }
            _ => endpoints.plain += 1,
        }
    }
    let providers = by_provider
        .into_values()
        .map(|mut p| {
            p.failure_rate = rate(p.failures, p.successes + p.failures);
            p
        })
        .collect();
    Ok((providers, endpoints))
}

fn usage(
    c: &Connection,
    tenant: Option<&str>,
    from: &str,
    to: &str,
) -> Result<Vec<TenantUsage>, StoreError> {
    let mut statement = c.prepare(
        "SELECT u.user_id, us.email, u.plan, u.tool, u.feature, u.outcome, u.feature_units,
                u.tokens_in, u.tokens_out, u.cost_micro_usd, u.latency_ms
         FROM usage_events u LEFT JOIN users us ON us.id = u.user_id
         WHERE (?1 IS NULL OR u.user_id = ?1) AND u.at >= ?2 AND u.at < ?3
         ORDER BY u.user_id, u.tool, u.feature, u.id",
    )?;
    let rows = statement.query_map(params![tenant, from, to], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, i64>(6)?,
            r.get::<_, i64>(7)?,
            r.get::<_, i64>(8)?,
            r.get::<_, i64>(9)?,
            r.get::<_, i64>(10)?,
        ))
    })?;
    let mut tenants: BTreeMap<String, (TenantUsage, TenantLines)> = BTreeMap::new();
    for row in rows {
        let (user, email, plan, tool, feature, outcome, units, t_in, t_out, cost, latency) = row?;
        let (usage, lines) = tenants.entry(user.clone()).or_insert_with(|| {
            (
                TenantUsage {
                    user_id: user,
                    email,
                    plan: plan.clone(),
                    lines: Vec::new(),
                    calls: 0,
                    tokens_in: 0,
                    tokens_out: 0,
                    cost_micro_usd: 0,
                },
                BTreeMap::new(),
            )
        });
        // The plan of the latest call is the one billed.
        usage.plan = plan;
        let (line, latencies) = lines
            .entry((tool.clone(), feature.clone()))
            .or_insert_with(|| {
                (
                    UsageLine {
                        tool,
                        feature: feature.clone(),
                        calls: 0,
                        succeeded: 0,
                        failed: 0,
                        refused: 0,
                        feature_units: 0,
                        tokens_in: 0,
                        tokens_out: 0,
                        cost_micro_usd: 0,
                        median_latency_ms: 0,
                    },
                    Vec::new(),
                )
            });
        line.calls += 1;
        if outcome == "ok" {
            line.succeeded += 1;
        } else if outcome.starts_with("refused:") {
            line.refused += 1;
        } else {
            line.failed += 1;
        }
        line.feature_units += to_u64(units);
        line.tokens_in += to_u64(t_in);
        line.tokens_out += to_u64(t_out);
        line.cost_micro_usd += to_u64(cost);
        latencies.push(latency);
    }
    Ok(tenants
        .into_values()
        .map(|(mut usage, lines)| {
            for (mut line, latencies) in lines.into_values() {
                line.median_latency_ms = median(latencies).unwrap_or(0);
                usage.calls += line.calls;
                usage.tokens_in += line.tokens_in;
                usage.tokens_out += line.tokens_out;
                usage.cost_micro_usd += line.cost_micro_usd;
                usage.lines.push(line);
            }
            usage
        })
        .collect())
}

fn keeping_phi(c: &Connection, tenant: Option<&str>) -> Result<u64, StoreError> {
    let n: i64 = c.query_row(
        "SELECT COUNT(*) FROM evaluation_settings WHERE keep_phi = 1 AND (?1 IS NULL OR user_id = ?1)",
        params![tenant],
        |r| r.get(0),
    )?;
    Ok(to_u64(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday_and_bounds_match_the_audit_stamps() {
        assert_eq!(week_of("2026-12-06T10:00:00Z"), "2026-11-30");
        assert_eq!(week_of("2026-11-30T00:00:00Z"), "2026-11-30");
        assert_eq!(week_of("garbage"), "garbage");
        assert_eq!(
            audit_bound("2026-12-01T00:00:00Z"),
            "2026-12-01T00:00:00.000000Z"
        );
        assert_eq!(rate(1, 3), Some(0.3333));
        assert_eq!(rate(0, 0), None);
        assert_eq!(median(vec![5, 1, 9]), Some(5));
    }
}
