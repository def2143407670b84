//! The controls each report kind maps to, and the status the evidence supports.
//!
//! Control ids and section names come from: 45 CFR 164.312 (HIPAA Security Rule, technical
//! safeguards) and 164.514(b)(2) (Safe Harbor de-identification); AICPA, 2017 Trust
//! Services Criteria for Security, Availability, Processing Integrity, Confidentiality, and
//! Privacy (with revised points of focus, 2022); FDA, "Artificial Intelligence-Enabled
//! Device Software Functions: Lifecycle Management and Marketing Submission
//! Recommendations" (draft guidance, January 2025) and "Marketing Submission
//! Recommendations for a Predetermined Change Control Plan for Artificial
//! Intelligence-Enabled Device Software Functions" (final guidance, December 2024).
//!
//! Pure: it reads the evidence it is given and judges nothing it cannot see.

use super::evidence::Evidence;
use super::{Fact, ReportKind, Section, Status};
use crate::config::Config;
use crate::evaluation::packs::Pack;

fn fact(label: &str, value: impl ToString) -> Fact {
    Fact {
        label: label.to_string(),
        value: value.to_string(),
    }
}

fn section(
    control: &str,
    title: &str,
    status: Status,
    finding: String,
    evidence: Vec<Fact>,
) -> Section {
    Section {
        control: control.to_string(),
        title: title.to_string(),
        status,
        finding,
        evidence,
    }
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(
        || "n/a (no evaluations)".to_string(),
        |r| format!("{:.1}%", r * 100.0),
    )
}

fn or_none(value: &Option<String>) -> String {
    value.clone().unwrap_or_else(|| "none".to_string())
}

fn count(e: &Evidence, action: &str) -> u64 {
    e.audit.by_action.get(action).copied().unwrap_or(0)
}

/// The framework, the title and the sections of `kind`.
pub fn sections(
    kind: ReportKind,
    e: &Evidence,
    packs: &[&Pack],
    config: &Config,
) -> (&'static str, &'static str, Vec<Section>) {
    match kind {
        ReportKind::AuditTrail => (
            "45 CFR 164.312(b); AICPA TSC 2017 CC7.2",
            "Audit trail",
            vec![audit_controls(
                "Audit log integrity",
                "164.312(b) / CC7.2",
                e,
            )],
        ),
        ReportKind::Hipaa => (
            "HIPAA Security Rule, 45 CFR 164.312 (technical safeguards); 164.514(b)(2)",
            "HIPAA technical safeguards",
            hipaa(e),
        ),
        ReportKind::Soc2 => (
            "AICPA 2017 Trust Services Criteria (revised points of focus, 2022)",
            "SOC 2 controls evidence",
            soc2(e, packs),
        ),
        ReportKind::FdaLifecycle => (
            "FDA draft guidance on AI-enabled device software functions (January 2025); FDA PCCP guidance for AI-enabled device software functions (December 2024)",
            "AI-enabled device software lifecycle evidence",
            fda(e, packs, config),
        ),
        ReportKind::Usage => ("Usage and cost statement", "Usage statement", usage(e)),
    }
}

fn audit_controls(title: &str, control: &str, e: &Evidence) -> Section {
    let a = &e.audit;
    let (status, finding) = if !a.intact {
        (
            Status::Gap,
            format!(
                "The audit log failed verification ({} problem(s)); investigate before relying on it.",
                a.problems.len()
            ),
        )
    } else if !a.checkpoint_file_found || a.anchored_through.is_none() {
        (
            Status::Partial,
            "The hash chain is intact, but no signed checkpoint anchors it, so a wholesale rewrite would not show; keep the checkpoint file on separate storage.".to_string(),
        )
    } else {
        (
            Status::Met,
            "Every security-relevant action is recorded in a hash-chained log, and the chain verifies against signed checkpoints.".to_string(),
        )
    };
    let mut facts = vec![
        fact(
            "Chain verification",
            if a.intact { "intact" } else { "FAILED" },
        ),
        fact("Entries in the log", a.entries),
        fact("Last sequence number", a.last_seq),
        fact(
            "Anchored by a signed checkpoint through",
            a.anchored_through
                .map_or("none".to_string(), |s| s.to_string()),
        ),
        fact("Entries after the last checkpoint", a.unanchored_entries),
        fact("Entries in the period", a.in_period),
    ];
    for problem in a.problems.iter().take(10) {
        facts.push(fact("Problem", problem));
    }
    for (action, n) in a.by_action.iter().take(30) {
        facts.push(fact(&format!("Recorded: {action}"), n));
    }
    section(control, title, status, finding, facts)
}

fn authentication_status(e: &Evidence) -> (Status, String) {
    if !e.access.authentication_required {
        return (
            Status::Gap,
            "Authentication is switched off (--insecure-no-auth): every local request acts as the owner. Allowed on loopback only; turn it on before any PHI is processed.".into(),
        );
    }
    (
        Status::Met,
        "Every HTTP request carries a bearer credential (an API key or a signed access token) tied to one user; stdio runs as the local owner of the machine.".into(),
    )
}

fn hipaa(e: &Evidence) -> Vec<Section> {
    let a = &e.access;
    let p = &e.protection;
    let (auth_status, auth_finding) = authentication_status(e);
    let access_status = match auth_status {
        Status::Met if a.api_keys_without_expiry > 0 => Status::Partial,
        other => other,
    };
    let access_finding = if access_status == Status::Partial {
        format!(
            "{auth_finding} {} active API key(s) never expire; give keys an expiry or rotate them on a schedule.",
            a.api_keys_without_expiry
        )
    } else {
        auth_finding.clone()
    };
    let mut sections = vec![section(
        "164.312(a)(1)",
        "Access control",
        access_status,
        access_finding,
        vec![
            fact(
                "Unique user identification",
                "every user has a UUID; every call is attributed to one",
            ),
            fact("Active users", a.users_active),
            fact("Disabled users", a.users_disabled),
            fact("Administrators", a.admins),
            fact("Active API keys", a.api_keys_active),
            fact("Active API keys without expiry", a.api_keys_without_expiry),
            fact(
                "API keys revoked in the period",
                a.api_keys_revoked_in_period,
            ),
            fact(
                "Access denied for missing scope (period)",
                count(e, "authz.denied"),
            ),
            fact(
                "Automatic logoff: access token lifetime (s)",
                a.access_token_ttl_secs,
            ),
            fact(
                "Automatic logoff: idle HTTP session (s)",
                a.session_idle_timeout_secs,
            ),
            fact(
                "Encryption of stored traces (164.312(a)(2)(iv))",
                &p.traces_at_rest,
            ),
        ],
    )];
    sections.push(audit_controls("Audit controls", "164.312(b)", e));
    let integrity_status = if e.audit.intact {
        Status::Met
    } else {
        Status::Gap
    };
    sections.push(section(
        "164.312(c)(1)",
        "Integrity",
        integrity_status,
        if e.audit.intact {
            "Stored traces and provider keys are sealed with an authenticated cipher, so any alteration fails to open; the audit log's hash chain verifies.".into()
        } else {
            "The audit log failed verification: records may have been altered.".into()
        },
        vec![
            fact("Traces at rest", &p.traces_at_rest),
            fact("Provider keys at rest", &p.provider_keys_at_rest),
            fact("Audit chain", if e.audit.intact { "intact" } else { "FAILED" }),
            fact("Master key last rotated", or_none(&p.master_key_last_rotated)),
        ],
    ));
    sections.push(section(
        "164.312(d)",
        "Person or entity authentication",
        auth_status,
        auth_finding,
        vec![
            fact("Passwords", &p.password_hashing),
            fact("API keys", &p.api_key_storage),
            fact(
                "Login attempts allowed per IP",
                format!("{} per {} s", a.login_attempts_per_ip, a.login_window_secs),
            ),
            fact("Failed logins (period)", count(e, "auth.login.failed")),
            fact(
                "Accounts locked after failures (period)",
                count(e, "auth.account.locked"),
            ),
            fact(
                "Refresh-token reuse detected (period)",
                count(e, "auth.refresh.reuse_detected"),
            ),
            fact("Locked accounts now", a.users_locked),
            fact(
                "Self sign-up",
                if a.self_signup {
                    "on"
                } else {
                    "off (accounts made by an admin)"
                },
            ),
            fact(
                "Token signing keys in use",
                a.signing_keys
                    .iter()
                    .map(|k| format!("{} since {}", k.purpose, k.created_at))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        ],
    ));
    sections.push(transmission("164.312(e)(1)", "Transmission security", e));
    let phi = &e.evaluations.phi;
    let deid_status = if p.tenants_keeping_phi > 0 || phi.kept_traces > 0 {
        Status::Partial
    } else {
        Status::Met
    };
    sections.push(section(
        "164.514(b)(2)",
        "De-identification of traces (Safe Harbor identifiers)",
        deid_status,
        if deid_status == Status::Met {
            "Identifiers found in traces were replaced before storage and before any judge saw them.".into()
        } else {
            format!(
                "{} tenant(s) chose to keep PHI in stored traces ({} trace(s) in the period); those traces hold ePHI and fall under every safeguard above.",
                p.tenants_keeping_phi, phi.kept_traces
            )
        },
        {
            let mut facts = vec![
                fact("Traces in the period", e.evaluations.traces),
                fact("Traces with identifiers", phi.traces_with_phi),
                fact("Identifiers found", phi.identifiers),
                fact("Traces stored redacted", phi.redacted_traces),
                fact("Traces stored with PHI kept", phi.kept_traces),
            ];
            for (kind, n) in &phi.by_kind {
                facts.push(fact(&format!("Identifiers: {kind}"), n));
            }
            facts
        },
    ));
    sections
}

fn transmission(control: &str, title: &str, e: &Evidence) -> Section {
    let p = &e.protection;
    let (status, finding) = if p.provider_endpoints_plain_http > 0 {
        (
            Status::Gap,
            format!(
                "{} provider endpoint(s) are reached over plain HTTP off this machine: prompts would cross the network unencrypted. Use https base URLs.",
                p.provider_endpoints_plain_http
            ),
        )
    } else if !p.http_loopback_only {
        (
            Status::Partial,
            "The server listens beyond loopback and speaks plain HTTP: terminate TLS in front of it (a reverse proxy or load balancer) and record that configuration here.".into(),
        )
    } else {
        (
            Status::Met,
            "Clients reach the server on this machine only (stdio or loopback HTTP); every provider is called over TLS.".into(),
        )
    };
    section(
        control,
        title,
        status,
        finding,
        vec![
            fact("HTTP listens on", &p.http_bind),
            fact("Loopback only", p.http_loopback_only),
            fact("Allowed Host headers", p.allowed_hosts.join(", ")),
            fact("Allowed browser origins", p.allowed_origins.join(", ")),
            fact("Provider endpoints over HTTPS", p.provider_endpoints_https),
            fact(
                "Provider endpoints over plain HTTP (off-machine)",
                p.provider_endpoints_plain_http,
            ),
            fact(
                "Provider endpoints over plain HTTP (this machine)",
                p.provider_endpoints_plain_http_loopback,
            ),
            fact("Outbound TLS", "rustls, certificate verification on"),
        ],
    )
}

fn soc2(e: &Evidence, packs: &[&Pack]) -> Vec<Section> {
    let a = &e.access;
    let ev = &e.evaluations;
    let (auth_status, auth_finding) = authentication_status(e);
    let critical = ev
        .findings_by_severity
        .get("critical")
        .copied()
        .unwrap_or(0);
    let high = ev.findings_by_severity.get("high").copied().unwrap_or(0);
    let degraded: u64 = e.providers.iter().map(|p| p.degraded + p.disabled).sum();
    vec![
        section(
            "CC6.1",
            "Logical access security over protected information assets",
            auth_status,
            auth_finding,
            vec![
                fact("Authentication required", a.authentication_required),
                fact("Passwords", &e.protection.password_hashing),
                fact("API keys", &e.protection.api_key_storage),
                fact("Traces at rest", &e.protection.traces_at_rest),
                fact("Provider keys at rest", &e.protection.provider_keys_at_rest),
                fact("Master key last rotated", or_none(&e.protection.master_key_last_rotated)),
            ],
        ),
        section(
            "CC6.2",
            "Registration and authorization of new users",
            if a.self_signup { Status::Partial } else { Status::Met },
            if a.self_signup {
                "Anyone may register: accounts are not authorized by an administrator first.".into()
            } else {
                "Accounts are created by administrators; each creation is audited.".into()
            },
            vec![
                fact("Users created by an admin (period)", count(e, "admin.user.created")),
                fact("Self-registrations (period)", count(e, "auth.register")),
                fact("API keys created (period)", count(e, "api_key.created")),
            ],
        ),
        section(
            "CC6.3",
            "Role-based access; modification and removal of access",
            Status::Met,
            "Access is granted per credential by scope (health, study, consensus, eval, chat, admin) and role; changes and removals are audited.".into(),
            vec![
                fact("Administrators", a.admins),
                fact("Users disabled (period)", count(e, "admin.user.disabled")),
                fact("Plan changes (period)", count(e, "admin.plan.changed")),
                fact("API keys revoked (period)", a.api_keys_revoked_in_period),
                fact("API keys rotated (period)", count(e, "api_key.rotated")),
                fact("Denied for missing scope (period)", count(e, "authz.denied")),
            ],
        ),
        section(
            "CC6.6",
            "Logical access from outside the system boundary",
            auth_status,
            "Requests are checked for Host and Origin (DNS rebinding, cross-site requests) and authenticated; logins are rate-limited per address.".into(),
            vec![
                fact("Allowed Host headers", e.protection.allowed_hosts.join(", ")),
                fact("Allowed browser origins", e.protection.allowed_origins.join(", ")),
                fact("Failed logins (period)", count(e, "auth.login.failed")),
                fact("Logins rate-limited (period)", count(e, "auth.login.rate_limited")),
            ],
        ),
        transmission("CC6.7", "Restriction of information in transmission", e),
        section(
            "CC7.1",
            "Detection of configuration changes and vulnerabilities",
            Status::Met,
            "Configuration changes made through the server (features, maintenance, provider keys, plans) are audited; rule packs carry versions.".into(),
            vec![
                fact("Feature switches (period)", count(e, "admin.feature.set")),
                fact("Maintenance changes (period)", count(e, "admin.maintenance.set")),
                fact("Provider keys added (period)", count(e, "provider.key.added")),
                fact("Provider keys removed (period)", count(e, "provider.key.deleted")),
                fact(
                    "Rule packs",
                    packs.iter().map(|p| format!("{} v{}", p.id, p.version)).collect::<Vec<_>>().join(", "),
                ),
            ],
        ),
        audit_controls("Monitoring of system components for anomalies", "CC7.2", e),
        section(
            "CC7.3",
            "Evaluation of security events",
            if ev.judge.failed > 0 { Status::Partial } else { Status::Met },
            format!(
                "Every trace is screened by its domain's rules and the PHI detector; {critical} critical and {high} high finding(s) in the period.{}",
                if ev.judge.failed > 0 {
                    format!(" {} judge run(s) failed and were recorded as undetermined, not as passes; review them.", ev.judge.failed)
                } else {
                    String::new()
                }
            ),
            {
                let mut facts = vec![
                    fact("Traces evaluated", ev.traces),
                    fact("Pass rate", percent(ev.pass_rate)),
                    fact("Critical findings", critical),
                    fact("High findings", high),
                    fact("Judge asked / judged / failed", format!("{} / {} / {}", ev.judge.asked, ev.judge.judged, ev.judge.failed)),
                ];
                for rule in ev.top_rules.iter().take(10) {
                    facts.push(fact(&format!("Rule {} ({})", rule.rule_id, rule.severity), rule.count));
                }
                facts
            },
        ),
        section(
            "CC7.4",
            "Response to identified security incidents",
            Status::Met,
            "Operators can put the server into maintenance (read-only or full) and revoke keys; suspected refresh-token theft revokes the token family.".into(),
            vec![
                fact("Maintenance entered (period)", count(e, "maintenance.entered") + count(e, "admin.maintenance.set")),
                fact("Refresh-token reuse detected (period)", count(e, "auth.refresh.reuse_detected")),
                fact("API keys revoked (period)", a.api_keys_revoked_in_period),
            ],
        ),
        section(
            "CC7.5",
            "Recovery from identified security incidents",
            if degraded > 0 { Status::Partial } else { Status::Met },
            if degraded > 0 {
                format!("{degraded} provider key(s) are degraded or disabled; calls fail over to the others by priority.")
            } else {
                "Every provider key is active; calls fail over between keys by priority.".into()
            },
            provider_facts(e),
        ),
        section(
            "CC8.1",
            "Change management",
            Status::Met,
            "Changes to keys, plans, features and rule packs are versioned or audited; the database schema moves only by numbered migrations.".into(),
            e.audit
                .security_events
                .iter()
                .rev()
                .take(20)
                .map(|event| fact(&format!("{} {}", event.at, event.action), event.target.clone().unwrap_or_default()))
                .collect(),
        ),
        section(
            "PI1.1–PI1.5",
            "Processing integrity: definitions, inputs, processing, outputs, storage",
            if ev.judge.failed > 0 { Status::Partial } else { Status::Met },
            "Traces are validated whole before any is stored (all or none), screened deterministically by versioned rule packs, and stored sealed with their evaluations in one transaction.".into(),
            {
                let mut facts = vec![fact("Traces by source", format!("{:?}", ev.by_source))];
                for (status, n) in &ev.by_status {
                    facts.push(fact(&format!("Evaluations {status}"), n));
                }
                for (verdict, n) in &ev.by_verdict {
                    facts.push(fact(&format!("Verdict {verdict}"), n));
                }
                facts
            },
        ),
        section(
            "C1.1–C1.2",
            "Confidential information: identification, protection and disposal",
            if e.protection.tenants_keeping_phi > 0 { Status::Partial } else { Status::Met },
            "PHI in traces is identified by the detector and replaced before storage unless the tenant opts in; each tenant sees only its own traces. Stored traces are removed with their owner's account; there is no time-based retention yet.".into(),
            vec![
                fact("Identifiers found (period)", ev.phi.identifiers),
                fact("Traces stored redacted", ev.phi.redacted_traces),
                fact("Traces stored with PHI kept", ev.phi.kept_traces),
                fact("Tenants keeping PHI", e.protection.tenants_keeping_phi),
            ],
        ),
        section(
            "A1.1–A1.3",
            "Availability: capacity, environmental protections, recovery",
            if degraded > 0 { Status::Partial } else { Status::Met },
            "Usage is metered per call with quotas per plan; provider keys are health-checked and fail over. Back up the SQLite file and the master key together; restores are not exercised by the server itself.".into(),
            {
                let calls: u64 = e.usage.iter().map(|t| t.calls).sum();
                let mut facts = vec![fact("Calls metered (period)", calls)];
                facts.extend(provider_facts(e));
                facts
            },
        ),
    ]
}

fn provider_facts(e: &Evidence) -> Vec<Fact> {
    if e.providers.is_empty() {
        return vec![fact("Provider keys", "none configured")];
    }
    e.providers
        .iter()
        .map(|p| {
            fact(
                &format!("Provider {}", p.provider),
                format!(
                    "{} key(s): {} active, {} degraded, {} disabled; {} calls ok, {} failed ({} failure rate); last failure {}; newest key added {}",
                    p.keys,
                    p.active,
                    p.degraded,
                    p.disabled,
                    p.successes,
                    p.failures,
                    percent(p.failure_rate),
                    or_none(&p.last_failure_at),
                    or_none(&p.newest_key_added_at),
                ),
            )
        })
        .collect()
}

fn fda(e: &Evidence, packs: &[&Pack], config: &Config) -> Vec<Section> {
    let ev = &e.evaluations;
    let evidence_status = if ev.traces == 0 {
        Status::Gap
    } else {
        Status::Informational
    };
    let no_traces =
        "No traces were evaluated in the period: there is no evidence to describe.".to_string();
    let models: Vec<Fact> = ev
        .models
        .iter()
        .map(|m| {
            fact(
                &format!(
                    "{} ({})",
                    m.model,
                    m.provider.as_deref().unwrap_or("provider not given")
                ),
                format!(
                    "{} trace(s), pass rate {}, median latency {}, seen {} to {}",
                    m.traces,
                    percent(m.pass_rate),
                    m.median_latency_ms
                        .map_or("n/a".into(), |l| format!("{l} ms")),
                    m.first_seen,
                    m.last_seen
                ),
            )
        })
        .collect();
    let domains: Vec<Fact> = ev
        .by_domain
        .iter()
        .map(|d| {
            fact(
                &format!("Domain {}", d.domain),
                format!(
                    "{} trace(s): {} pass, {} warn, {} fail, {} undetermined; rule pack version(s) {}",
                    d.traces, d.pass, d.warn, d.fail, d.undetermined, d.pack_versions.join(", ")
                ),
            )
        })
        .collect();
    let pack_facts: Vec<Fact> = packs
        .iter()
        .map(|p| {
            fact(
                &format!("Rule pack {} v{}", p.id, p.version),
                format!(
                    "{} rule(s); LLM judge {:?}, sample rate {}",
                    p.rules.len(),
                    p.judge,
                    p.judge_sample_rate
                ),
            )
        })
        .collect();
    let with = |status: Status, finding: String| {
        if ev.traces == 0 {
            (evidence_status, no_traces.clone())
        } else {
            (status, finding)
        }
    };
    let mut sections = Vec::new();
    let (s, f) = with(
        Status::Informational,
        format!(
            "The AI function observed: {} model(s) across {} domain(s), {} trace(s) in the period, received by {}.",
            ev.models.len(),
            ev.by_domain.len(),
            ev.traces,
            ev.by_source
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(" and ")
        ),
    );
    let mut device = domains.clone();
    device.push(fact("Traces by source", format!("{:?}", ev.by_source)));
    sections.push(section(
        "Device description",
        "Device description",
        s,
        f,
        device,
    ));
    let (s, f) = with(
        Status::Informational,
        format!(
            "Hazards are screened by the domain rule packs; findings by severity: {:?}.",
            ev.findings_by_severity
        ),
    );
    let mut risk: Vec<Fact> = ev
        .top_rules
        .iter()
        .map(|r| fact(&format!("{} ({})", r.rule_id, r.severity), r.count))
        .collect();
    risk.extend(pack_facts.clone());
    sections.push(section("Risk assessment", "Risk assessment", s, f, risk));
    sections.push(section(
        "Data management",
        "Data management",
        if e.protection.tenants_keeping_phi > 0 { Status::Partial } else { Status::Met },
        "Traces are kept per tenant, sealed under the master key, with PHI replaced before storage unless the tenant opted in; evaluations hold rule ids and offsets, never text.".into(),
        vec![
            fact("Traces (period)", ev.traces),
            fact("Traces with identifiers", ev.phi.traces_with_phi),
            fact("Stored redacted", ev.phi.redacted_traces),
            fact("Stored with PHI kept", ev.phi.kept_traces),
            fact("Storage", &e.protection.traces_at_rest),
        ],
    ));
    let (s, f) = with(
        Status::Informational,
        "The models behind the function, as reported in its traces, with their observed performance.".into(),
    );
    sections.push(section(
        "Model description",
        "Model description",
        s,
        f,
        models.clone(),
    ));
    let (s, f) = with(
        Status::Informational,
        format!(
            "Each output is checked against the domain's rules (tier 1) and, where the pack asks, an LLM judge with a rubric (tier 3). Overall pass rate {}; the judge read {} and failed on {}.",
            percent(ev.pass_rate),
            ev.judge.asked,
            ev.judge.failed
        ),
    );
    let mut validation = domains.clone();
    validation.push(fact(
        "Judge asked / judged / failed / awaiting",
        format!(
            "{} / {} / {} / {}",
            ev.judge.asked, ev.judge.judged, ev.judge.failed, ev.judge.awaiting
        ),
    ));
    sections.push(section("Validation", "Validation", s, f, validation));
    let (s, f) = with(
        Status::Informational,
        "Performance over time, week by week; a fall in the pass rate is the signal to investigate.".into(),
    );
    sections.push(section(
        "Device performance monitoring",
        "Performance monitoring",
        s,
        f,
        ev.weekly
            .iter()
            .map(|w| {
                fact(
                    &format!("Week of {}", w.week_of),
                    format!("{} trace(s), pass rate {}", w.traces, percent(w.pass_rate)),
                )
            })
            .collect(),
    ));
    let mut cyber = transmission("Cybersecurity", "Cybersecurity", e);
    let audit = audit_controls("", "", e);
    cyber.evidence.extend(audit.evidence.into_iter().take(5));
    if audit.status == Status::Gap {
        cyber.status = Status::Gap;
        cyber.finding = audit.finding;
    }
    cyber.evidence.push(fact(
        "Authentication required",
        e.access.authentication_required,
    ));
    cyber.evidence.push(fact(
        "Master key last rotated",
        or_none(&e.protection.master_key_last_rotated),
    ));
    sections.push(cyber);

    // The predetermined change control plan: what may change, how, and with what effect.
    let versions_seen: Vec<String> = ev
        .by_domain
        .iter()
        .filter(|d| d.pack_versions.len() > 1)
        .map(|d| format!("{}: {}", d.domain, d.pack_versions.join(" → ")))
        .collect();
    let (s, f) = with(
        Status::Informational,
        format!(
            "{} model version(s) and {} rule pack version change(s) were observed in the period.",
            ev.models.len(),
            versions_seen.len()
        ),
    );
    let mut modifications = models;
    modifications.extend(versions_seen.iter().map(|v| fact("Rule pack versions", v)));
    sections.push(section(
        "PCCP: Description of modifications",
        "Description of modifications",
        s,
        f,
        modifications,
    ));
    let mut protocol = pack_facts;
    protocol.push(fact(
        "Judge sampling",
        "per pack: never, when a rule is uncertain, always, or a sample rate",
    ));
    protocol.push(fact(
        "Provider routing",
        format!(
            "up to {} attempt(s) per call across keys by priority",
            config.llm.max_attempts
        ),
    ));
    sections.push(section(
        "PCCP: Modification protocol",
        "Modification protocol",
        Status::Informational,
        "Rule packs are data with versions, validated at start; a model change shows as a new model string in traces and is evaluated by the same packs, so before and after are compared on the same rules.".into(),
        protocol,
    ));
    let (s, f) = with(
        Status::Informational,
        "Pass rate per model version: the effect of each change on the same rules.".into(),
    );
    sections.push(section(
        "PCCP: Impact assessment",
        "Impact assessment",
        s,
        f,
        ev.models
            .iter()
            .map(|m| {
                fact(
                    &m.model,
                    format!(
                        "pass rate {} over {} trace(s), {} to {}",
                        percent(m.pass_rate),
                        m.traces,
                        m.first_seen,
                        m.last_seen
                    ),
                )
            })
            .collect(),
    ));
    sections
}

fn usage(e: &Evidence) -> Vec<Section> {
    if e.usage.is_empty() {
        return vec![section(
            "Statement",
            "No usage",
            Status::Informational,
            "No calls were metered in the period.".into(),
            Vec::new(),
        )];
    }
    e.usage
        .iter()
        .map(|t| {
            let mut facts: Vec<Fact> = t
                .lines
                .iter()
                .map(|l| {
                    fact(
                        &l.tool,
                        format!(
                            "{} call(s) ({} ok, {} failed, {} refused), {} unit(s), {} tokens in, {} tokens out, {}",
                            l.calls,
                            l.succeeded,
                            l.failed,
                            l.refused,
                            l.feature_units,
                            l.tokens_in,
                            l.tokens_out,
                            dollars(l.cost_micro_usd)
                        ),
                    )
                })
                .collect();
            facts.push(fact("Total", dollars(t.cost_micro_usd)));
            section(
                &format!("Statement: {}", t.email.as_deref().unwrap_or(&t.user_id)),
                &format!("Usage of {} (plan {})", t.email.as_deref().unwrap_or(&t.user_id), t.plan),
                Status::Informational,
                format!(
                    "{} call(s), {} tokens in, {} tokens out, provider cost {}.",
                    t.calls,
                    t.tokens_in,
                    t.tokens_out,
                    dollars(t.cost_micro_usd)
                ),
                facts,
            )
        })
        .collect()
}

/// Micro-dollars as dollars with cents, rounded half up.
pub fn dollars(micro: u64) -> String {
    let cents = micro.saturating_add(5_000) / 10_000;
    format!("${}.{:02}", cents / 100, cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_round_to_the_cent() {
        assert_eq!(dollars(0), "$0.00");
        assert_eq!(dollars(4_999), "$0.00");
        assert_eq!(dollars(5_000), "$0.01");
        assert_eq!(dollars(12_345_678), "$12.35");
    }
}
