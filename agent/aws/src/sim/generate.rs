//! Generated simulated accounts: realistic accounts in the folder layout of
//! `deploy/examples/account-111122223333`, for fleet demos and scale runs.
//!
//! [`write_account`] writes `authorization-details.json` (the shape of `aws iam
//! get-account-authorization-details`) and `last-accessed/<RoleName>.json` (one
//! completed `ACTION_LEVEL` access advisor job per role), which
//! [`SimAccount::load`](super::SimAccount::load) reads back. [`generate_org`]
//! writes several accounts, `<out>/account-<id>/`.
//!
//! Everything comes from the seed and `now`: the same options give the same
//! bytes. Action names come from the embedded catalogue. Each account holds a
//! mix of what real accounts hold: application roles that use a few of the
//! services they are granted, wildcard operations roles, an administrator
//! (`"Action": "*"`), a `NotAction` read-only role, CI roles, break-glass roles,
//! service-linked roles, young roles; `Deny`, `Condition` and `NOREPO`
//! statements; customer managed policies shared by several roles and AWS managed
//! policies (their documents abridged, so they stay under IAM's size limit).
//! Usage is relative to `now`: services used recently, long ago or never, and
//! tracked actions with and without a last access. Every access advisor job
//! completed an hour before `now`.
//!
//! The parts: `tables` (the data accounts are made of), `roles` (the kinds of
//! role), `policies` (managed policies and their documents), `usage` (access
//! advisor reports), `rng` (the seeded randomness).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use whittle_policy::Catalogue;

use rng::{Rng, mix};
use roles::{RoleSpec, dedupe_names, fit_inline, kinds};
use tables::{Kit, REGIONS};

mod policies;
mod rng;
mod roles;
mod tables;
mod usage;

/// What to generate for one account.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// The 12-digit account id (the caller checks it).
    pub account_id: String,
    /// How many roles, at least one.
    pub roles: usize,
    /// The same seed gives the same account; the accounts of one organisation
    /// share a seed (each account mixes in its id).
    pub seed: u64,
    /// Dates and usage are relative to this time.
    pub now: DateTime<Utc>,
}

/// The files of one generated account, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFiles {
    /// `authorization-details.json`.
    pub authorization_details: String,
    /// `last-accessed/<RoleName>.json`, by role name.
    pub last_accessed: BTreeMap<String, String>,
    /// How many managed policies `authorization-details.json` lists.
    pub managed_policies: usize,
}

/// One account written to disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedAccount {
    pub account_id: String,
    pub dir: PathBuf,
    pub roles: usize,
    pub managed_policies: usize,
}

/// Why an account could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("account {account_id}: an account needs at least one role, not 0")]
    NoRoles { account_id: String },
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The folder of one account of an organisation: `<out_dir>/account-<id>`.
pub fn account_dir(out_dir: &Path, account_id: &str) -> PathBuf {
    out_dir.join(format!("account-{account_id}"))
}

/// `count` distinct 12-digit account ids, the same for the same seed.
pub fn account_ids(count: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(mix(seed, "account-ids"));
    let mut ids = BTreeSet::new();
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let id = format!("{:012}", 100_000_000_000 + rng.below(900_000_000_000));
        if ids.insert(id.clone()) {
            out.push(id);
        }
    }
    out
}

/// Writes one account per id under `out_dir` (see [`account_dir`]), each with
/// `roles_per_account` roles, all from one seed.
pub fn generate_org(
    out_dir: &Path,
    accounts: &[String],
    roles_per_account: usize,
    seed: u64,
    now: DateTime<Utc>,
) -> Result<Vec<GeneratedAccount>, GenerateError> {
    accounts
        .iter()
        .map(|account_id| {
            let options = GenerateOptions {
                account_id: account_id.clone(),
                roles: roles_per_account,
                seed,
                now,
            };
            write_account(&account_dir(out_dir, account_id), &options)
        })
        .collect()
}

/// Writes one account into `dir` (created if missing). Files already there are
/// overwritten, and usage files of roles the account no longer has are removed,
/// so the folder stays loadable.
pub fn write_account(
    dir: &Path,
    options: &GenerateOptions,
) -> Result<GeneratedAccount, GenerateError> {
    let files = generate(options)?;
    let usage_dir = dir.join("last-accessed");
    std::fs::create_dir_all(&usage_dir).map_err(|source| io(&usage_dir, source))?;
    let stale = std::fs::read_dir(&usage_dir).map_err(|source| io(&usage_dir, source))?;
    for entry in stale {
        let path = entry.map_err(|source| io(&usage_dir, source))?.path();
        let role = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let is_json = path.extension().and_then(|e| e.to_str()) == Some("json");
        if is_json && !files.last_accessed.contains_key(role) {
            std::fs::remove_file(&path).map_err(|source| io(&path, source))?;
        }
    }
    let details = dir.join("authorization-details.json");
    std::fs::write(&details, &files.authorization_details).map_err(|s| io(&details, s))?;
    for (role, text) in &files.last_accessed {
        let path = usage_dir.join(format!("{role}.json"));
        std::fs::write(&path, text).map_err(|source| io(&path, source))?;
    }
    Ok(GeneratedAccount {
        account_id: options.account_id.clone(),
        dir: dir.to_path_buf(),
        roles: files.last_accessed.len(),
        managed_policies: files.managed_policies,
    })
}

fn io(path: &Path, source: std::io::Error) -> GenerateError {
    GenerateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One account's files, in memory.
pub fn generate(options: &GenerateOptions) -> Result<GeneratedFiles, GenerateError> {
    if options.roles == 0 {
        return Err(GenerateError::NoRoles {
            account_id: options.account_id.clone(),
        });
    }
    let mut g = Generator::new(options);
    let mut roles: Vec<RoleSpec> = kinds(options.roles, &mut g.rng)
        .into_iter()
        .enumerate()
        .map(|(i, kind)| g.role(kind, i))
        .collect();
    dedupe_names(&mut roles);
    roles.sort_by(|a, b| a.name.cmp(&b.name));
    for role in &mut roles {
        fit_inline(role);
    }
    let mut role_json = Vec::with_capacity(roles.len());
    let mut last_accessed = BTreeMap::new();
    for role in &roles {
        let (report, last_used) = g.usage_report(role);
        role_json.push(g.role_json(role, last_used));
        last_accessed.insert(role.name.clone(), pretty(&report));
    }
    let policies = g.policies_json(&roles);
    let managed_policies = policies.len();
    let details = json!({
        "UserDetailList": [],
        "GroupDetailList": [],
        "RoleDetailList": role_json,
        "Policies": policies,
        "IsTruncated": false
    });
    Ok(GeneratedFiles {
        authorization_details: pretty(&details),
        last_accessed,
        managed_policies,
    })
}

/// JSON as the AWS CLI prints it (four-space indent), with a final newline.
fn pretty(value: &Value) -> String {
    use serde::Serialize as _;
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    // A `Value` always serialises into a `Vec`; the compact form is a fallback
    // that cannot be reached.
    if value.serialize(&mut ser).is_err() {
        return value.to_string();
    }
    let mut text = String::from_utf8_lossy(&out).into_owned();
    text.push('\n');
    text
}

// ---------------------------------------------------------------------------
// Helpers shared by the parts

fn policy_document(statements: &[Value]) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// One statement; a single action is written as a string, as people do.
fn statement(
    sid: &str,
    effect: &str,
    key: &str,
    actions: &[String],
    resource: Value,
    condition: Option<Value>,
) -> Value {
    let mut s = Map::new();
    if !sid.is_empty() {
        s.insert("Sid".into(), json!(sid));
    }
    s.insert("Effect".into(), json!(effect));
    let actions = match actions {
        [one] => json!(one),
        many => json!(many),
    };
    s.insert(key.into(), actions);
    s.insert("Resource".into(), resource);
    if let Some(c) = condition {
        s.insert("Condition".into(), c);
    }
    Value::Object(s)
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// `PascalCase` of a service prefix, for statement ids (`secretsmanager` -> `Secretsmanager`).
fn sid_part(prefix: &str) -> String {
    prefix
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, false)
}

// ---------------------------------------------------------------------------
// The generator

#[derive(Debug)]
struct Generator {
    catalogue: &'static Catalogue,
    rng: Rng,
    seed: u64,
    account: String,
    region: &'static str,
    /// The organisation's management account (trusted by OrganizationAccountAccessRole).
    management: String,
    now: DateTime<Utc>,
    /// When every access advisor job completed.
    completed: DateTime<Utc>,
}

impl Generator {
    fn new(options: &GenerateOptions) -> Generator {
        let mut rng = Rng::new(mix(options.seed, &options.account_id));
        let region = rng.pick(REGIONS);
        let management = account_ids(1, mix(options.seed, "management"))
            .pop()
            .unwrap_or_default();
        Generator {
            catalogue: Catalogue::embedded(),
            rng,
            seed: options.seed,
            account: options.account_id.clone(),
            region,
            management,
            now: options.now,
            completed: options.now - Duration::hours(1),
        }
    }

    fn fill(&self, template: &str, app: &str) -> String {
        template
            .replace("{account}", &self.account)
            .replace("{region}", self.region)
            .replace("{app}", app)
    }

    fn resources(&self, kit: &Kit, app: &str) -> Value {
        match kit.resources {
            [] => json!("*"),
            [one] => json!(self.fill(one, app)),
            many => json!(many.iter().map(|t| self.fill(t, app)).collect::<Vec<_>>()),
        }
    }
}

#[cfg(test)]
mod tests;
