//! The change between two states of a role, and its inverse.
//!
//! A [`RoleState`] is everything an apply may touch: inline documents, the
//! attached managed policies, and the documents of the managed policies the role
//! uses. A [`Diff`] is an ordered list of keyed changes, each holding the value
//! before and after; its [`Diff::inverse`] swaps them and reverses the order, so
//! applying a diff and then its inverse gives back the before-image exactly. A
//! rollback is the inverse of the change it undoes.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// What an apply may change in one role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleState {
    /// Inline policies: name to document text.
    pub inline: BTreeMap<String, String>,
    /// Attached managed policy ARNs.
    pub attached: BTreeSet<String>,
    /// Default-version documents of managed policies, by ARN.
    pub managed_documents: BTreeMap<String, String>,
}

/// One keyed change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// Put (`after` is `Some`) or delete an inline policy.
    Inline {
        name: String,
        before: Option<String>,
        after: Option<String>,
    },
    /// Attach or detach a managed policy.
    Attachment {
        arn: String,
        before: bool,
        after: bool,
    },
    /// Create, update (new default version) or delete a managed policy.
    ManagedDocument {
        arn: String,
        before: Option<String>,
        after: Option<String>,
    },
}

/// An ordered list of changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    pub changes: Vec<Change>,
}

/// A diff that does not fit the state it is applied to.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DiffError {
    #[error("{what} is not in the state the change expects (it changed since)")]
    Conflict { what: String },
}

impl Diff {
    /// The changes that turn `before` into `after`, in a safe order for IAM:
    /// create or update managed documents, attach, put inline, delete inline,
    /// detach, delete managed documents. A copy is attached before the original
    /// is detached, and a trimmed inline document is put before an emptied one
    /// is deleted.
    pub fn between(before: &RoleState, after: &RoleState) -> Diff {
        let mut changes = Vec::new();
        let docs = keyed_changes(&before.managed_documents, &after.managed_documents);
        let inline = keyed_changes(&before.inline, &after.inline);
        let attach: Vec<_> = after
            .attached
            .difference(&before.attached)
            .cloned()
            .collect();
        let detach: Vec<_> = before
            .attached
            .difference(&after.attached)
            .cloned()
            .collect();

        for (arn, b, a) in docs.iter().filter(|c| c.2.is_some()) {
            changes.push(Change::ManagedDocument {
                arn: arn.clone(),
                before: b.clone(),
                after: a.clone(),
            });
        }
        for arn in attach {
            changes.push(Change::Attachment {
                arn,
                before: false,
                after: true,
            });
        }
        for (name, b, a) in inline.iter().filter(|c| c.2.is_some()) {
            changes.push(Change::Inline {
                name: name.clone(),
                before: b.clone(),
                after: a.clone(),
            });
        }
        for (name, b, a) in inline.iter().filter(|c| c.2.is_none()) {
            changes.push(Change::Inline {
                name: name.clone(),
                before: b.clone(),
                after: a.clone(),
            });
        }
        for arn in detach {
            changes.push(Change::Attachment {
                arn,
                before: true,
                after: false,
            });
        }
        for (arn, b, a) in docs.iter().filter(|c| c.2.is_none()) {
            changes.push(Change::ManagedDocument {
                arn: arn.clone(),
                before: b.clone(),
                after: a.clone(),
            });
        }
        Diff { changes }
    }

    /// The diff that undoes this one.
    pub fn inverse(&self) -> Diff {
        let changes = self
            .changes
            .iter()
            .rev()
            .map(|c| match c {
                Change::Inline {
                    name,
                    before,
                    after,
                } => Change::Inline {
                    name: name.clone(),
                    before: after.clone(),
                    after: before.clone(),
                },
                Change::Attachment { arn, before, after } => Change::Attachment {
                    arn: arn.clone(),
                    before: *after,
                    after: *before,
                },
                Change::ManagedDocument { arn, before, after } => Change::ManagedDocument {
                    arn: arn.clone(),
                    before: after.clone(),
                    after: before.clone(),
                },
            })
            .collect();
        Diff { changes }
    }

    /// `state` with every key this diff touches set back to its `before`
    /// value, and everything else left as it is: what a forced rollback
    /// restores when the role was edited after the change.
    pub fn revert_onto(&self, state: &RoleState) -> RoleState {
        let mut s = state.clone();
        for c in &self.changes {
            match c {
                Change::Inline { name, before, .. } => put(&mut s.inline, name, before),
                Change::Attachment { arn, before, .. } => {
                    if *before {
                        s.attached.insert(arn.clone());
                    } else {
                        s.attached.remove(arn);
                    }
                }
                Change::ManagedDocument { arn, before, .. } => {
                    put(&mut s.managed_documents, arn, before)
                }
            }
        }
        s
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Applies the diff, checking that every changed key holds its `before` value.
    pub fn apply(&self, state: &RoleState) -> Result<RoleState, DiffError> {
        let mut s = state.clone();
        for c in &self.changes {
            match c {
                Change::Inline {
                    name,
                    before,
                    after,
                } => {
                    set(&mut s.inline, name, before, after, "inline policy")?;
                }
                Change::Attachment { arn, before, after } => {
                    if s.attached.contains(arn) != *before {
                        return Err(DiffError::Conflict {
                            what: format!("attachment of {arn}"),
                        });
                    }
                    if *after {
                        s.attached.insert(arn.clone());
                    } else {
                        s.attached.remove(arn);
                    }
                }
                Change::ManagedDocument { arn, before, after } => {
                    set(
                        &mut s.managed_documents,
                        arn,
                        before,
                        after,
                        "managed policy",
                    )?;
                }
            }
        }
        Ok(s)
    }
}

impl RoleState {
    /// What can be observed in IAM of this state: managed documents only for
    /// attached policies (a detached original is not the role's any more).
    pub fn observable(&self) -> RoleState {
        RoleState {
            inline: self.inline.clone(),
            attached: self.attached.clone(),
            managed_documents: self
                .managed_documents
                .iter()
                .filter(|(arn, _)| self.attached.contains(*arn))
                .map(|(a, d)| (a.clone(), d.clone()))
                .collect(),
        }
    }

    /// Equal as IAM sees it: the same inline policies, attachments and attached
    /// documents, documents compared as JSON values (IAM may hand a document
    /// back re-encoded or reformatted).
    pub fn same_as(&self, other: &RoleState) -> bool {
        let (a, b) = (self.observable(), other.observable());
        a.attached == b.attached
            && same_documents(&a.inline, &b.inline)
            && same_documents(&a.managed_documents, &b.managed_documents)
    }

    /// A one-line account of how `other` differs, for error messages.
    pub fn difference(&self, other: &RoleState) -> String {
        let (a, b) = (self.observable(), other.observable());
        let mut parts = Vec::new();
        for name in a
            .inline
            .keys()
            .chain(b.inline.keys())
            .collect::<BTreeSet<_>>()
        {
            match (a.inline.get(name), b.inline.get(name)) {
                (Some(x), Some(y)) if same_document(x, y) => {}
                (Some(_), Some(_)) => parts.push(format!("inline policy {name} differs")),
                (Some(_), None) => parts.push(format!("inline policy {name} is gone")),
                (None, _) => parts.push(format!("inline policy {name} was added")),
            }
        }
        for arn in a.attached.symmetric_difference(&b.attached) {
            let what = if a.attached.contains(arn) {
                "detached"
            } else {
                "attached"
            };
            parts.push(format!("{arn} was {what}"));
        }
        for (arn, doc) in &a.managed_documents {
            if b.managed_documents
                .get(arn)
                .is_some_and(|d| !same_document(doc, d))
            {
                parts.push(format!("the default version of {arn} differs"));
            }
        }
        parts.join("; ")
    }
}

/// Two policy documents with the same JSON value.
pub fn same_document(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let parse = |t: &str| {
        serde_json::from_str::<serde_json::Value>(&crate::document::decode_document_text(t)).ok()
    };
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

fn same_documents(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|((ka, va), (kb, vb))| ka == kb && same_document(va, vb))
}

fn put(map: &mut BTreeMap<String, String>, key: &str, value: &Option<String>) {
    match value {
        Some(v) => map.insert(key.to_string(), v.clone()),
        None => map.remove(key),
    };
}

type Keyed = (String, Option<String>, Option<String>);

fn keyed_changes(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> Vec<Keyed> {
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter_map(|k| {
            let (b, a) = (before.get(k), after.get(k));
            (b != a).then(|| (k.clone(), b.cloned(), a.cloned()))
        })
        .collect()
}

fn set(
    map: &mut BTreeMap<String, String>,
    key: &str,
    before: &Option<String>,
    after: &Option<String>,
    what: &str,
) -> Result<(), DiffError> {
    if map.get(key) != before.as_ref() {
        return Err(DiffError::Conflict {
            what: format!("{what} {key}"),
        });
    }
    match after {
        Some(v) => map.insert(key.to_string(), v.clone()),
        None => map.remove(key),
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(inline: &[(&str, &str)], attached: &[&str]) -> RoleState {
        RoleState {
            inline: inline
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            attached: attached.iter().map(|a| a.to_string()).collect(),
            managed_documents: BTreeMap::new(),
        }
    }

    #[test]
    fn orders_attach_before_detach_and_put_before_delete() {
        let before = state(&[("a", "1"), ("b", "2")], &["orig"]);
        let mut after = state(&[("a", "1x")], &["copy"]);
        after.managed_documents.insert("copy".into(), "doc".into());
        let d = Diff::between(&before, &after);
        let kinds: Vec<String> = d
            .changes
            .iter()
            .map(|c| match c {
                Change::Inline { name, after, .. } => format!("inline {name} {}", after.is_some()),
                Change::Attachment { arn, after, .. } => format!("attach {arn} {after}"),
                Change::ManagedDocument { arn, after, .. } => {
                    format!("doc {arn} {}", after.is_some())
                }
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "doc copy true",
                "attach copy true",
                "inline a true",
                "inline b false",
                "attach orig false"
            ]
        );
        assert_eq!(d.apply(&before).unwrap(), after);
        assert_eq!(d.inverse().apply(&after).unwrap(), before);
    }

    #[test]
    fn a_diff_on_a_changed_state_is_a_conflict() {
        let before = state(&[("a", "1")], &[]);
        let after = state(&[("a", "2")], &[]);
        let d = Diff::between(&before, &after);
        let drifted = state(&[("a", "other")], &[]);
        assert!(matches!(d.apply(&drifted), Err(DiffError::Conflict { .. })));
    }
}
