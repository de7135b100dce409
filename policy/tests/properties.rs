//! Properties of the algebra, checked on generated policies and usage:
//! - a rewrite never allows an action, on any resource, under any condition,
//!   that the old document did not (invariant 2);
//! - planning is deterministic;
//! - applying a diff then its inverse gives back the original;
//! - expansion agrees with IAM's case-insensitive wildcard matching.

#![allow(clippy::unwrap_used)] // test code: a failed set-up should fail the test

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use serde_json::{Value, json};
use whittle_policy::diff::{Diff, RoleState};
use whittle_policy::model::{Granularity, ServiceUsage};
use whittle_policy::{Catalogue, Planner, Role, Settings, Usage};

const SERVICES: [&str; 6] = ["s3", "sqs", "logs", "athena", "cloudformation", "sts"];
const RESOURCES: [&str; 3] = ["*", "arn:aws:s3:::a/*", "arn:aws:sqs:*:*:q"];

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-20T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// A pattern drawn from real names: whole names, prefixes with `*`, `svc:*`, `*`, odd case, `?`.
fn pattern() -> impl Strategy<Value = String> {
    let cat = Catalogue::embedded();
    (
        0..SERVICES.len(),
        any::<prop::sample::Index>(),
        0u8..10,
        any::<bool>(),
    )
        .prop_map(move |(s, idx, kind, upper)| {
            let svc = cat.service(SERVICES[s]).unwrap();
            let ids: Vec<_> = cat.service_actions(svc).collect();
            let name = cat.action(ids[idx.index(ids.len())]).name.clone();
            let p = match kind {
                0 => "*".to_string(),
                1 => format!("{}:*", SERVICES[s]),
                2 | 3 => {
                    let cut = (name.len() / 2).max(1);
                    format!("{}:{}*", SERVICES[s], &name[..cut])
                }
                4 => format!("{}:*{}*", SERVICES[s], &name[name.len() / 2..]),
                5 => format!("{}:?{}", SERVICES[s], &name[1..]),
                6 => format!("{}:{}Future", SERVICES[s], name),
                _ => format!("{}:{}", SERVICES[s], name),
            };
            if upper { p.to_ascii_uppercase() } else { p }
        })
}

fn statement() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(pattern(), 1..5),
        any::<bool>(),
        0u8..6,
        prop::collection::vec(0..RESOURCES.len(), 1..3),
        any::<bool>(),
    )
        .prop_map(|(actions, not_action, effect, res, cond)| {
            let key = if not_action { "NotAction" } else { "Action" };
            let mut st = json!({
                "Effect": if effect == 0 { "Deny" } else { "Allow" },
                key: actions,
                "Resource": res.iter().map(|i| RESOURCES[*i]).collect::<Vec<_>>(),
            });
            if cond {
                st["Condition"] = json!({"Bool": {"aws:SecureTransport": "true"}});
            }
            if effect == 1 {
                st["Sid"] = json!("NOREPOKeep");
            }
            st
        })
}

fn usage() -> impl Strategy<Value = Usage> {
    prop::collection::vec(
        (
            prop::option::of(0i64..300),
            prop::collection::vec(
                (any::<prop::sample::Index>(), prop::option::of(0i64..300)),
                0..6,
            ),
        ),
        SERVICES.len(),
    )
    .prop_map(|per_service| {
        let cat = Catalogue::embedded();
        let ago = |d: Option<i64>| d.map(|d| now() - Duration::days(d));
        let services = SERVICES
            .iter()
            .zip(per_service)
            .map(|(s, (last, actions))| {
                let ids: Vec<_> = cat.service_actions(cat.service(s).unwrap()).collect();
                let actions = actions
                    .into_iter()
                    .map(|(i, d)| (cat.action(ids[i.index(ids.len())]).lower.clone(), ago(d)))
                    .collect();
                (
                    s.to_string(),
                    ServiceUsage {
                        last_authenticated: ago(last),
                        actions,
                    },
                )
            })
            .collect();
        Usage {
            observed_at: now() - Duration::hours(3),
            granularity: Granularity::Action,
            services,
        }
    })
}

fn role(doc: &Value) -> Role {
    Role {
        arn: "arn:aws:iam::111122223333:role/r".into(),
        role_id: "AROA1".into(),
        name: "r".into(),
        path: "/".into(),
        create_date: now() - Duration::days(400),
        tags: BTreeMap::new(),
        permissions_boundary: None,
        last_used: None,
        inline_policies: [("p".to_string(), doc.to_string())].into_iter().collect(),
        attached_policies: vec![],
    }
}

/// Reference matcher: recursive, on chars, case-insensitive (unlike the production one).
fn reference_match(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') => (0..=t.len()).any(|k| reference_match(&p[1..], &t[k..])),
        Some('?') => !t.is_empty() && reference_match(&p[1..], &t[1..]),
        Some(c) => {
            !t.is_empty()
                && c.to_lowercase().eq(t[0].to_lowercase())
                && reference_match(&p[1..], &t[1..])
        }
    }
}

fn matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    reference_match(&p, &t)
}

fn list(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    }
}

/// The conditions under which `doc` allows `action` on `resource` (Allow statements only).
fn allowed(doc: &Value, action: &str, resource: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let sts = match &doc["Statement"] {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    for st in sts {
        if st["Effect"] != "Allow" {
            continue;
        }
        let action_ok = match st.get("Action") {
            Some(a) => list(a).iter().any(|p| matches(p, action)),
            None => !list(&st["NotAction"]).iter().any(|p| matches(p, action)),
        };
        let resource_ok = list(&st["Resource"]).iter().any(|p| matches(p, resource));
        if action_ok && resource_ok {
            out.insert(
                st.get("Condition")
                    .map(Value::to_string)
                    .unwrap_or_default(),
            );
        }
    }
    out
}

/// Every catalogue action of the test services, plus names AWS might add later.
fn probes() -> Vec<String> {
    let cat = Catalogue::embedded();
    let mut out = Vec::new();
    for s in SERVICES {
        for id in cat.service_actions(cat.service(s).unwrap()) {
            let name = cat.full_name(id);
            out.push(format!("{name}Future"));
            out.push(name);
        }
        out.push(format!("{s}:BrandNewAction"));
    }
    out.push("newservice:Anything".into());
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn a_rewrite_never_allows_more(statements in prop::collection::vec(statement(), 1..4), u in usage()) {
        let before = json!({"Version": "2012-10-17", "Statement": statements});
        let planner = Planner::new(Catalogue::embedded(), &Settings::default()).unwrap();
        let plan = planner.plan_role(&role(&before), &BTreeMap::new(), Some(&u), now());
        let after = match plan.new_inline_policies.get("p") {
            None => return Ok(()),
            Some(None) => json!({"Statement": []}),
            Some(Some(text)) => serde_json::from_str(text).unwrap(),
        };
        for action in probes() {
            for resource in RESOURCES {
                let old = allowed(&before, &action, resource);
                let new = allowed(&after, &action, resource);
                prop_assert!(new.is_subset(&old), "{action} on {resource}: new {new:?} old {old:?}\nafter: {after}");
            }
        }
        // Deny statements are carried over unchanged.
        let denies = |d: &Value| d["Statement"].as_array().map(|a| a.iter().filter(|s| s["Effect"] == "Deny").cloned().collect::<Vec<_>>()).unwrap_or_default();
        prop_assert_eq!(denies(&before), denies(&after));
    }

    #[test]
    fn planning_is_deterministic(statements in prop::collection::vec(statement(), 1..4), u in usage()) {
        let doc = json!({"Statement": statements});
        let planner = Planner::new(Catalogue::embedded(), &Settings::default()).unwrap();
        let a = planner.plan_role(&role(&doc), &BTreeMap::new(), Some(&u), now());
        let fresh = Planner::new(Catalogue::embedded(), &Settings::default()).unwrap();
        let b = fresh.plan_role(&role(&doc), &BTreeMap::new(), Some(&u), now());
        prop_assert_eq!(&a.after, &b.after);
        prop_assert_eq!(&a.fingerprint, &b.fingerprint);
        prop_assert_eq!(a.decisions, b.decisions);
    }

    #[test]
    fn diff_then_inverse_restores(
        a in prop::collection::btree_map("[a-c]", "[x-z]{1,2}", 0..4),
        b in prop::collection::btree_map("[a-c]", "[x-z]{1,2}", 0..4),
        at_a in prop::collection::btree_set("[p-r]", 0..3),
        at_b in prop::collection::btree_set("[p-r]", 0..3),
        m_a in prop::collection::btree_map("[p-s]", "[x-z]", 0..3),
        m_b in prop::collection::btree_map("[p-s]", "[x-z]", 0..3),
    ) {
        let before = RoleState { inline: a, attached: at_a, managed_documents: m_a };
        let after = RoleState { inline: b, attached: at_b, managed_documents: m_b };
        let d = Diff::between(&before, &after);
        prop_assert_eq!(d.apply(&before).unwrap(), after.clone());
        prop_assert_eq!(d.inverse().apply(&after).unwrap(), before.clone());
        prop_assert_eq!(d.inverse().inverse(), d);
    }

    #[test]
    fn expansion_agrees_with_wildcard_matching(p in pattern()) {
        let cat = Catalogue::embedded();
        let got: BTreeSet<String> = cat.expand(&p).into_iter().map(|i| cat.full_name(i)).collect();
        let svc = p.split(':').next().unwrap().to_ascii_lowercase();
        let candidates: Vec<String> = if svc == "*" {
            let all = cat.expand("*");
            all.iter().step_by(7).map(|i| cat.full_name(*i)).collect()
        } else {
            cat.service_actions(cat.service(&svc).unwrap()).map(|i| cat.full_name(i)).collect()
        };
        for name in candidates {
            prop_assert_eq!(got.contains(&name), matches(&p, &name), "{} vs {}", p, name);
        }
    }
}
