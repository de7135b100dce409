//! The planner: one role's plan from its policies, its usage and the settings.
//!
//! For every action an Allow statement grants, a decision (removable or kept,
//! with a [`Reason`]); the new inline documents; an outcome per attached managed
//! policy; the before- and after-state and their [`Diff`]; and fingerprints of
//! the inputs. Same inputs, same plan: nothing here reads a clock or does I/O.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use sha2::{Digest as _, Sha256};

pub use crate::fingerprint::{role_state, state_digest};
pub use types::{
    ActionDecision, ActionRef, ManagedOutcome, ManagedPlan, PolicyKind, PolicySource, RolePlan,
};

mod types;
use crate::fingerprint::Digest;

use crate::catalogue::{ActionId, Catalogue};
use crate::decision::{Reason, RoleContext, UnknownKind, decide_usage};
use crate::document::{Effect, Grant, PolicyDocument, Statement, iam_size};
use crate::model::{ManagedPolicy, Role, Usage};
use crate::rewrite::{GrantShape, compact};
use crate::settings::{Settings, SettingsError};

/// AWS's limit on the inline policies of one role, whitespace not counted.
pub const INLINE_LIMIT: usize = 10_240;
/// AWS's limit on one managed policy document, whitespace not counted.
pub const MANAGED_LIMIT: usize = 6_144;
/// Path under which role-specific copies of shared managed policies are created.
pub const COPY_PATH: &str = "/whittle/";

/// Plans roles with one catalogue and one set of settings.
///
/// Holds a cache of pattern expansions shared by every role it plans.
#[derive(Debug)]
pub struct Planner<'c> {
    catalogue: &'c Catalogue,
    settings: Settings,
    never_remove_ids: Vec<Arc<[ActionId]>>,
    exclusion_ids: Vec<Arc<[ActionId]>>,
    cache: Mutex<HashMap<String, Arc<[ActionId]>, BuildFnv>>,
    /// Digest of the settings and catalogue version, computed once.
    settings_digest: [u8; 32],
}

/// FNV-1a: a fast hasher for the short pattern strings of the expansion cache.
#[derive(Debug, Clone, Copy, Default)]
struct BuildFnv;

#[derive(Debug)]
struct Fnv(u64);

impl std::hash::BuildHasher for BuildFnv {
    type Hasher = Fnv;
    fn build_hasher(&self) -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

const CACHE_LIMIT: usize = 200_000;

enum DocOutcome {
    Unchanged,
    Rewritten(String),
    Emptied,
}

impl<'c> Planner<'c> {
    pub fn new(catalogue: &'c Catalogue, settings: &Settings) -> Result<Self, SettingsError> {
        settings.validate()?;
        let never_remove_ids = settings
            .never_remove
            .iter()
            .map(|p| catalogue.expand(p).into())
            .collect();
        let exclusion_ids = settings
            .exclusions
            .iter()
            .map(|p| catalogue.expand(p).into())
            .collect();
        Ok(Planner {
            catalogue,
            settings: settings.clone(),
            never_remove_ids,
            exclusion_ids,
            cache: Mutex::new(HashMap::with_hasher(BuildFnv)),
            settings_digest: {
                let mut d = Digest::new();
                d.str(catalogue.version());
                // Plain data serializes infallibly.
                d.str(&serde_json::to_string(settings).unwrap_or_default());
                d.finish_raw()
            },
        })
    }

    pub fn catalogue(&self) -> &'c Catalogue {
        self.catalogue
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The catalogue actions `pattern` grants (cached).
    pub fn expand(&self, pattern: &str) -> Arc<[ActionId]> {
        let key = pattern.trim();
        if let Some(ids) = self.cache.lock().ok().and_then(|c| c.get(key).cloned()) {
            return ids;
        }
        let ids: Arc<[ActionId]> = self.catalogue.expand(key).into();
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(key.to_string(), ids.clone());
        }
        ids
    }

    /// A plan that changes nothing, for a role left alone as a whole.
    pub fn skipped_plan(
        &self,
        role: &Role,
        managed: &BTreeMap<String, ManagedPolicy>,
        usage: Option<&Usage>,
        now: DateTime<Utc>,
        reason: String,
    ) -> RolePlan {
        let mut plan = self.empty_plan(role, managed, usage, now);
        plan.skipped = Some(reason);
        plan
    }

    fn empty_plan(
        &self,
        role: &Role,
        managed: &BTreeMap<String, ManagedPolicy>,
        usage: Option<&Usage>,
        now: DateTime<Utc>,
    ) -> RolePlan {
        let before = role_state(role, managed);
        let state_fingerprint = state_digest(&role.arn, &role.role_id, &before);
        let fingerprint = {
            let mut d = Digest::new();
            d.str(&state_fingerprint);
            d.str(&role.path);
            d.time(Some(role.create_date));
            d.usage(usage);
            // Who else uses a managed policy decides trim versus copy.
            for arn in &role.attached_policies {
                if let Some(m) = managed.get(arn) {
                    d.str(arn);
                    d.len(m.attachment_count as usize);
                    d.len(m.permissions_boundary_usage_count as usize);
                }
            }
            d.0.update(self.settings_digest);
            d.time(Some(now));
            d.finish()
        };
        RolePlan {
            role_arn: role.arn.clone(),
            role_id: role.role_id.clone(),
            role_name: role.name.clone(),
            role_created: role.create_date,
            usage_observed_at: usage.map(|u| u.observed_at),
            planned_at: now,
            skipped: None,
            policies: Vec::new(),
            decisions: Vec::new(),
            names: Vec::new(),
            new_inline_policies: BTreeMap::new(),
            managed: Vec::new(),
            after: before.clone(),
            before,
            diagnostics: Vec::new(),
            fingerprint,
            state_fingerprint,
            catalogue_version: self.catalogue.version().to_string(),
        }
    }

    /// Plans one role. `managed` holds the account's managed policies by ARN;
    /// `usage` is `None` when access advisor data is missing (everything kept).
    pub fn plan_role(
        &self,
        role: &Role,
        managed: &BTreeMap<String, ManagedPolicy>,
        usage: Option<&Usage>,
        now: DateTime<Utc>,
    ) -> RolePlan {
        let mut plan = self.empty_plan(role, managed, usage, now);
        if role.is_service_linked() {
            plan.skipped = Some(format!(
                "service-linked role (path {}): AWS manages it",
                role.path
            ));
            return plan;
        }
        let ctx = RoleContext::new(role.create_date, usage, now, &self.settings);
        for (name, text) in &role.inline_policies {
            let idx = self.add_source(&mut plan, PolicyKind::Inline, name, None);
            match self.plan_document(text, idx, &ctx, &mut plan) {
                DocOutcome::Unchanged => {}
                DocOutcome::Rewritten(doc) => {
                    plan.after.inline.insert(name.clone(), doc.clone());
                    plan.new_inline_policies.insert(name.clone(), Some(doc));
                }
                DocOutcome::Emptied => {
                    plan.after.inline.remove(name);
                    plan.new_inline_policies.insert(name.clone(), None);
                }
            }
        }
        for arn in &role.attached_policies {
            let outcome = self.plan_managed(role, arn, managed.get(arn), &ctx, &mut plan);
            plan.managed.push(ManagedPlan {
                arn: arn.clone(),
                outcome,
            });
        }
        if let Some(reason) = self.size_problem(&plan) {
            refuse(&mut plan, reason);
        }
        plan
    }

    fn add_source(
        &self,
        plan: &mut RolePlan,
        kind: PolicyKind,
        name: &str,
        arn: Option<&str>,
    ) -> u16 {
        plan.policies.push(PolicySource {
            kind,
            name: name.to_string(),
            arn: arn.map(str::to_string),
        });
        u16::try_from(plan.policies.len() - 1).unwrap_or(u16::MAX)
    }

    fn plan_managed(
        &self,
        role: &Role,
        arn: &str,
        policy: Option<&ManagedPolicy>,
        ctx: &RoleContext<'_>,
        plan: &mut RolePlan,
    ) -> ManagedOutcome {
        let Some(policy) = policy else {
            self.add_source(plan, PolicyKind::Managed, arn, Some(arn));
            plan.diagnostics.push(format!(
                "attached policy {arn} is not in the inventory: left alone"
            ));
            return ManagedOutcome::NotInInventory;
        };
        let idx = self.add_source(plan, PolicyKind::Managed, &policy.name, Some(arn));
        match self.plan_document(&policy.document, idx, ctx, plan) {
            DocOutcome::Unchanged => ManagedOutcome::LeftAlone,
            DocOutcome::Emptied => {
                plan.after.attached.remove(arn);
                ManagedOutcome::Detach
            }
            DocOutcome::Rewritten(document) if policy.is_exclusive() => {
                plan.after
                    .managed_documents
                    .insert(arn.to_string(), document.clone());
                ManagedOutcome::Trim { document }
            }
            DocOutcome::Rewritten(document) => {
                let copy_name = copy_name(&role.name, &policy.name);
                let partition = role.arn.split(':').nth(1).unwrap_or("aws");
                let account = role.account_id().unwrap_or("000000000000");
                let copy_arn =
                    format!("arn:{partition}:iam::{account}:policy{COPY_PATH}{copy_name}");
                plan.after.attached.remove(arn);
                plan.after.attached.insert(copy_arn.clone());
                plan.after
                    .managed_documents
                    .insert(copy_arn.clone(), document.clone());
                ManagedOutcome::ReplaceWithCopy {
                    copy_arn,
                    copy_name,
                    document,
                }
            }
        }
    }

    fn plan_document(
        &self,
        text: &str,
        policy: u16,
        ctx: &RoleContext<'_>,
        plan: &mut RolePlan,
    ) -> DocOutcome {
        let doc = PolicyDocument::parse(text);
        let source = plan.policies[policy as usize].name.clone();
        if let Some(reason) = &doc.opaque_reason {
            plan.diagnostics
                .push(format!("policy {source}: {reason}; kept unchanged"));
            return DocOutcome::Unchanged;
        }
        let mut changed = false;
        let mut statements = Vec::with_capacity(doc.statements.len());
        for (si, st) in doc.statements.iter().enumerate() {
            let si = u16::try_from(si).unwrap_or(u16::MAX);
            match &st.meaning {
                Some((Effect::Allow, grant)) => {
                    match self.plan_statement(st, grant, policy, si, ctx, plan) {
                        None => statements.push(st.raw.clone()),
                        Some(actions) => {
                            changed = true;
                            if !actions.is_empty() {
                                statements.push(st.with_actions(&actions));
                            }
                        }
                    }
                }
                Some((Effect::Deny, _)) => statements.push(st.raw.clone()),
                None => {
                    let why = st.opaque_reason.as_deref().unwrap_or("not understood");
                    plan.diagnostics.push(format!(
                        "policy {source} statement {si}: {why}; kept unchanged"
                    ));
                    statements.push(st.raw.clone());
                }
            }
        }
        if !changed {
            DocOutcome::Unchanged
        } else if statements.is_empty() {
            DocOutcome::Emptied
        } else {
            match doc.with_statements(statements) {
                Some(text) => DocOutcome::Rewritten(text),
                None => DocOutcome::Unchanged,
            }
        }
    }

    /// Decides every action of one Allow statement. `None`: keep it as it is;
    /// `Some(list)`: its new action list (empty: drop the statement).
    fn plan_statement(
        &self,
        st: &Statement,
        grant: &Grant,
        policy: u16,
        statement: u16,
        ctx: &RoleContext<'_>,
        plan: &mut RolePlan,
    ) -> Option<Vec<String>> {
        let prefix = &self.settings.norepo_sid_prefix;
        let norepo = !prefix.is_empty()
            && st
                .sid
                .as_deref()
                .is_some_and(|s| s.starts_with(prefix.as_str()));
        let expanded: Vec<Arc<[ActionId]>> = match grant {
            Grant::Action(patterns) => patterns.iter().map(|p| self.expand(p)).collect(),
            Grant::NotAction(_) => Vec::new(),
        };
        let granted = match grant {
            Grant::Action(patterns) => {
                let mut all = Vec::new();
                for (p, ids) in patterns.iter().zip(&expanded) {
                    if ids.is_empty() {
                        self.record_unknown(p, policy, statement, plan);
                    }
                    all.extend_from_slice(ids);
                }
                all.sort_unstable();
                all.dedup();
                all
            }
            Grant::NotAction(patterns) => {
                let mut except: Vec<ActionId> = patterns
                    .iter()
                    .flat_map(|p| self.expand(p).to_vec())
                    .collect();
                except.sort_unstable();
                except.dedup();
                (0..self.catalogue.actions().len() as u32)
                    .map(ActionId)
                    .filter(|id| except.binary_search(id).is_err())
                    .collect()
            }
        };
        let mut kept = Vec::with_capacity(granted.len());
        for id in granted {
            let reason = self.decide(id, norepo, ctx);
            plan.decisions.push(ActionDecision {
                action: ActionRef::Known(id),
                policy,
                statement,
                reason,
            });
            if !reason.is_removable() {
                kept.push(id);
            }
        }
        let removable = plan
            .decisions
            .iter()
            .rev()
            .take_while(|d| d.policy == policy && d.statement == statement)
            .any(|d| d.reason.is_removable());
        if !removable {
            return None;
        }
        let mut verbatim = Vec::new();
        let mut covered = Vec::new();
        if let Grant::Action(patterns) = grant {
            for (p, ids) in patterns.iter().zip(&expanded) {
                if ids.is_empty() || ids.iter().all(|i| kept.binary_search(i).is_ok()) {
                    verbatim.push(p.clone());
                    covered.extend_from_slice(ids);
                }
            }
        }
        covered.sort_unstable();
        covered.dedup();
        Some(compact(
            self.catalogue,
            &GrantShape::new(grant),
            &kept,
            verbatim,
            &covered,
        ))
    }

    fn record_unknown(&self, pattern: &str, policy: u16, statement: u16, plan: &mut RolePlan) {
        let kind = UnknownKind::from(self.catalogue.classify_unknown(pattern.trim()));
        let idx = u32::try_from(plan.names.len()).unwrap_or(u32::MAX);
        plan.names.push(pattern.to_string());
        let reason = Reason::NotInCatalogue(kind);
        plan.decisions.push(ActionDecision {
            action: ActionRef::Named(idx),
            policy,
            statement,
            reason,
        });
        let source = &plan.policies[policy as usize].name;
        plan.diagnostics.push(format!(
            "policy {source} statement {statement}: {pattern:?} matches no action in the catalogue ({}); kept as written",
            reason.code().replace('_', " ")
        ));
    }

    fn decide(&self, id: ActionId, norepo: bool, ctx: &RoleContext<'_>) -> Reason {
        if let Some(pattern) = first_match(&self.never_remove_ids, id) {
            return Reason::NeverRemove { pattern };
        }
        if let Some(pattern) = first_match(&self.exclusion_ids, id) {
            return Reason::Excluded { pattern };
        }
        if norepo {
            return Reason::Norepo;
        }
        decide_usage(self.catalogue, id, ctx)
    }

    fn size_problem(&self, plan: &RolePlan) -> Option<String> {
        if !plan.has_changes() {
            return None;
        }
        let inline: usize = plan.after.inline.values().map(|d| iam_size(d)).sum();
        if inline > INLINE_LIMIT {
            return Some(format!(
                "the new inline policies would total {inline} characters, over AWS's limit of {INLINE_LIMIT} per role"
            ));
        }
        for m in &plan.managed {
            let doc = match &m.outcome {
                ManagedOutcome::Trim { document }
                | ManagedOutcome::ReplaceWithCopy { document, .. } => document,
                _ => continue,
            };
            let size = iam_size(doc);
            if size > MANAGED_LIMIT {
                return Some(format!(
                    "the new document for {} would be {size} characters, over AWS's limit of {MANAGED_LIMIT} per managed policy",
                    m.arn
                ));
            }
        }
        None
    }
}

/// The index of the first pattern (as its expansion) that grants `id`.
fn first_match(patterns: &[Arc<[ActionId]>], id: ActionId) -> Option<u16> {
    let p = patterns
        .iter()
        .position(|ids| ids.binary_search(&id).is_ok())?;
    Some(u16::try_from(p).unwrap_or(u16::MAX))
}

/// Leaves the role as it is, keeping the decisions for the record.
fn refuse(plan: &mut RolePlan, reason: String) {
    for d in &mut plan.decisions {
        if d.reason.is_removable() {
            d.reason = Reason::PlanRefused;
        }
    }
    plan.after = plan.before.clone();
    plan.new_inline_policies.clear();
    for m in &mut plan.managed {
        if m.outcome != ManagedOutcome::NotInInventory {
            m.outcome = ManagedOutcome::LeftAlone;
        }
    }
    plan.skipped = Some(format!("plan refused: {reason}"));
}

/// The name of a role-specific copy: `whittle-<role>-<policy>`, at most 128 characters.
fn copy_name(role: &str, policy: &str) -> String {
    let full = format!("whittle-{role}-{policy}");
    if full.len() <= 128 {
        return full;
    }
    let digest = Sha256::digest(full.as_bytes());
    let tag: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let keep: String = full.chars().take(119).collect();
    format!("{keep}-{tag}")
}

#[cfg(test)]
mod tests;
