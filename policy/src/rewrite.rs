//! Rewrite: the shortest action list that grants exactly the kept actions.
//!
//! Given the statement's original grant and the catalogue actions it keeps, the
//! list is built as follows:
//! - an original pattern whose every catalogue action is kept stays verbatim
//!   (so does a pattern that matches nothing in the catalogue: when in doubt, keep);
//! - the other kept actions are merged per service into `svc:*` or the shortest
//!   `svc:Prefix*` patterns whose catalogue actions are all kept, or listed by name.
//!
//! A merged wildcard is emitted only when the original grant already covered
//! every string it can match, future AWS actions included (see
//! [`Glob::covers_all_starting_with`]); otherwise the actions are listed. So the
//! new statement never grants anything the old one did not (invariant 2).

use crate::catalogue::{ActionId, Catalogue};
use crate::document::Grant;
use crate::glob::Glob;

/// The grant of one statement, compiled for containment checks.
pub(crate) struct GrantShape {
    allow: Vec<Glob>,
    except: Vec<Glob>,
    is_not_action: bool,
}

impl GrantShape {
    pub fn new(grant: &Grant) -> Self {
        match grant {
            Grant::Action(ps) => GrantShape {
                allow: ps.iter().map(|p| Glob::new(p.trim())).collect(),
                except: Vec::new(),
                is_not_action: false,
            },
            Grant::NotAction(ps) => GrantShape {
                allow: Vec::new(),
                except: ps.iter().map(|p| Glob::new(p.trim())).collect(),
                is_not_action: true,
            },
        }
    }

    /// Did the original grant cover every action name starting with `prefix`?
    fn covers_all_starting_with(&self, prefix: &str) -> bool {
        if self.is_not_action {
            self.except
                .iter()
                .all(|g| !g.may_match_starting_with(prefix))
        } else {
            self.allow
                .iter()
                .any(|g| g.covers_all_starting_with(prefix))
        }
    }
}

/// The new action list of a statement that keeps `kept` (sorted, deduplicated).
///
/// `verbatim` are the original patterns to keep as written, in order: those the
/// caller found fully kept or unknown to the catalogue; `covered` are the kept
/// actions they already grant.
pub(crate) fn compact(
    cat: &Catalogue,
    shape: &GrantShape,
    kept: &[ActionId],
    verbatim: Vec<String>,
    covered: &[ActionId],
) -> Vec<String> {
    let mut out = verbatim;
    let mut i = 0;
    while i < kept.len() {
        let service = cat.action(kept[i]).service;
        let end = i + kept[i..].partition_point(|id| cat.action(*id).service == service);
        let remaining: Vec<ActionId> = kept[i..end]
            .iter()
            .copied()
            .filter(|id| covered.binary_search(id).is_err())
            .collect();
        if !remaining.is_empty() {
            compact_service(cat, shape, service, &kept[i..end], &remaining, &mut out);
        }
        i = end;
    }
    out
}

fn compact_service(
    cat: &Catalogue,
    shape: &GrantShape,
    service: u16,
    kept: &[ActionId],
    remaining: &[ActionId],
    out: &mut Vec<String>,
) {
    let svc = &cat.services()[service as usize];
    let base = svc.actions.start;
    let len = (svc.actions.end - base) as usize;
    // missing[k] = how many of the first k actions of the service are not kept.
    let mut missing = vec![0u32; len + 1];
    let mut j = 0;
    for k in 0..len {
        let id = ActionId(base + k as u32);
        while j < kept.len() && kept[j] < id {
            j += 1;
        }
        let is_kept = j < kept.len() && kept[j] == id;
        missing[k + 1] = missing[k] + u32::from(!is_kept);
    }
    let all_kept = |r: std::ops::Range<u32>| {
        missing[(r.end - base) as usize] == missing[(r.start - base) as usize]
    };
    let svc_prefix = format!("{}:", svc.prefix);
    if missing[len] == 0 && shape.covers_all_starting_with(&svc_prefix) {
        out.push(format!("{}*", svc_prefix));
        return;
    }
    let mut covered_until = base;
    for id in remaining {
        if id.0 < covered_until {
            continue;
        }
        let action = cat.action(*id);
        let lower = action.lower.as_bytes();
        let mut emitted = false;
        // Names are ASCII in every AWS catalogue; anything else is listed by name.
        let max = if action.name.is_ascii() {
            lower.len()
        } else {
            1
        };
        for l in 1..max {
            let range = cat.range_with_prefix(service, &lower[..l]);
            if range.len() < 2 || !all_kept(range.clone()) {
                continue;
            }
            let prefix = format!("{}{}", svc_prefix, &action.name[..l]);
            if shape.covers_all_starting_with(&prefix) {
                out.push(format!("{prefix}*"));
                covered_until = range.end;
                emitted = true;
                break;
            }
        }
        if !emitted {
            out.push(format!("{}{}", svc_prefix, action.name));
            covered_until = id.0 + 1;
        }
    }
}
