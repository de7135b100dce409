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
    let n = (svc.actions.end - base) as usize;
    let mut is_kept = vec![false; n];
    for id in kept {
        is_kept[(id.0 - base) as usize] = true;
    }
    let svc_prefix = format!("{}:", svc.prefix);
    if is_kept.iter().all(|k| *k) && shape.covers_all_starting_with(&svc_prefix) {
        out.push(format!("{svc_prefix}*"));
        return;
    }
    // Nearest action that is not kept, on each side of every position.
    let mut prev_bad = vec![None; n];
    let mut last = None;
    for k in 0..n {
        prev_bad[k] = last;
        if !is_kept[k] {
            last = Some(k);
        }
    }
    let mut next_bad = vec![None; n];
    let mut last = None;
    for k in (0..n).rev() {
        next_bad[k] = last;
        if !is_kept[k] {
            last = Some(k);
        }
    }
    let lower = |k: usize| cat.actions()[base as usize + k].lower.as_bytes();
    let lcp = |a: usize, b: Option<usize>| b.map_or(0, |b| common_prefix(lower(a), lower(b)));
    let mut covered_until = base;
    for id in remaining {
        if id.0 < covered_until {
            continue;
        }
        let k = (id.0 - base) as usize;
        let action = cat.action(*id);
        // A prefix longer than what `k` shares with any action that is not kept
        // covers only kept actions; it must be no longer than what `k` shares
        // with a neighbour, or it would cover `k` alone.
        let shortest = lcp(k, prev_bad[k]).max(lcp(k, next_bad[k])) + 1;
        let longest = lcp(k, k.checked_sub(1)).max(lcp(k, (k + 1 < n).then_some(k + 1)));
        // Names are ASCII in every AWS catalogue; anything else is listed by name.
        let longest = if action.name.is_ascii() {
            longest.min(action.name.len())
        } else {
            0
        };
        let mut emitted = false;
        for l in shortest..=longest {
            let prefix = format!("{svc_prefix}{}", &action.name[..l]);
            if shape.covers_all_starting_with(&prefix) {
                out.push(format!("{prefix}*"));
                covered_until = cat
                    .range_with_prefix(service, &action.lower.as_bytes()[..l])
                    .end;
                emitted = true;
                break;
            }
        }
        if !emitted {
            out.push(format!("{svc_prefix}{}", action.name));
            covered_until = id.0 + 1;
        }
    }
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}
