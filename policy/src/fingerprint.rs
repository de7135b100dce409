//! Fingerprints of a plan's inputs: SHA-256 over length-prefixed fields, so
//! that equal inputs give equal fingerprints and any change gives another.
//!
//! `state_digest` covers the role's live state alone (what a drift check
//! compares); the plan fingerprint adds usage, settings, catalogue and `now`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sha2::{Digest as _, Sha256};

use crate::diff::RoleState;
use crate::model::{ManagedPolicy, Role, Usage};

/// What an apply may touch in a role, as it is: inline documents, attachments,
/// and the documents of the attached managed policies found in `managed`.
pub fn role_state(role: &Role, managed: &BTreeMap<String, ManagedPolicy>) -> RoleState {
    RoleState {
        inline: role.inline_policies.clone(),
        attached: role.attached_policies.iter().cloned().collect(),
        managed_documents: role
            .attached_policies
            .iter()
            .filter_map(|arn| managed.get(arn).map(|m| (arn.clone(), m.document.clone())))
            .collect(),
    }
}

/// The fingerprint of a role's live state: what a drift check compares.
pub fn state_digest(role_arn: &str, role_id: &str, state: &RoleState) -> String {
    let mut d = Digest::new();
    d.str(role_arn);
    d.str(role_id);
    d.len(state.inline.len());
    for (name, doc) in &state.inline {
        d.str(name);
        d.str(doc);
    }
    d.len(state.attached.len());
    for arn in &state.attached {
        d.str(arn);
    }
    d.len(state.managed_documents.len());
    for (arn, doc) in &state.managed_documents {
        d.str(arn);
        d.str(doc);
    }
    d.finish()
}

/// SHA-256 over length-prefixed fields: unambiguous and stable across versions.
pub(crate) struct Digest(pub(crate) Sha256);

impl Digest {
    pub(crate) fn new() -> Self {
        Digest(Sha256::new())
    }

    pub(crate) fn len(&mut self, n: usize) {
        self.0.update((n as u64).to_le_bytes());
    }

    pub(crate) fn str(&mut self, s: &str) {
        self.len(s.len());
        self.0.update(s.as_bytes());
    }

    pub(crate) fn time(&mut self, t: Option<DateTime<Utc>>) {
        match t {
            None => self.0.update([0u8]),
            Some(t) => {
                self.0.update([1u8]);
                self.0.update(t.timestamp().to_le_bytes());
                self.0.update(t.timestamp_subsec_nanos().to_le_bytes());
            }
        }
    }

    pub(crate) fn usage(&mut self, usage: Option<&Usage>) {
        let Some(u) = usage else {
            self.0.update([0u8]);
            return;
        };
        self.0.update([1u8, u.granularity as u8]);
        self.time(Some(u.observed_at));
        self.len(u.services.len());
        for (name, s) in &u.services {
            self.str(name);
            self.time(s.last_authenticated);
            self.len(s.actions.len());
            for (action, t) in &s.actions {
                self.str(action);
                self.time(*t);
            }
        }
    }

    pub(crate) fn finish_raw(self) -> [u8; 32] {
        self.0.finalize().into()
    }

    pub(crate) fn finish(self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let digest = self.finish_raw();
        let mut out = String::with_capacity(32);
        for b in digest.iter().take(16) {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
        out
    }
}
