//! Exclusion rules: globs, coverage of roles, persistence.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use whittle_policy::Role;
use whittle_proto::convert::{ExclusionRule, ExclusionRules, Selector};

use super::{RuleStore, coverage};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-20T12:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

fn role(name: &str, path: &str, tags: &[(&str, &str)]) -> Role {
    Role {
        arn: format!("arn:aws:iam::111122223333:role{path}{name}"),
        role_id: "AROAEXAMPLE".into(),
        name: name.into(),
        path: path.into(),
        create_date: now(),
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        permissions_boundary: None,
        last_used: None,
        inline_policies: BTreeMap::new(),
        attached_policies: Vec::new(),
    }
}

fn rules(list: Vec<(&str, Selector, Option<DateTime<Utc>>)>) -> ExclusionRules {
    ExclusionRules {
        version: 7,
        rules: list
            .into_iter()
            .map(|(id, selector, expires_at)| ExclusionRule {
                id: id.into(),
                selector,
                reason: format!("reason {id}"),
                author: "alice".into(),
                expires_at,
                created_at: now(),
            })
            .collect(),
    }
}

#[test]
fn rules_cover_whole_roles_or_actions_by_selector() {
    let r = rules(vec![
        (
            "whole",
            Selector {
                role_name_glob: Some("ci-*".into()),
                ..Selector::default()
            },
            None,
        ),
        (
            "actions",
            Selector {
                path_prefix: Some("/app/".into()),
                tags: [("team".to_string(), "web".to_string())].into(),
                action_patterns: vec!["s3:Get*".into()],
                ..Selector::default()
            },
            None,
        ),
        (
            "expired",
            Selector::default(),
            Some(now() - Duration::days(1)),
        ),
        (
            "elsewhere",
            Selector {
                accounts: ["999999999999".to_string()].into(),
                ..Selector::default()
            },
            None,
        ),
        (
            "sid",
            Selector {
                role_name_glob: Some("legacy".into()),
                action_patterns: vec!["ec2:*".into()],
                sid_prefix: Some("Keep".into()),
                ..Selector::default()
            },
            None,
        ),
    ]);
    let cover = |role: &Role| coverage(&r, "111122223333", role, now());
    let ci = cover(&role("ci-deployer", "/", &[]));
    assert_eq!(
        ci.whole_role.as_deref(),
        Some("exclusion rule whole: reason whole")
    );
    let web = cover(&role("web", "/app/", &[("team", "web")]));
    assert_eq!(web.whole_role, None);
    assert_eq!(web.actions, vec!["s3:Get*".to_string()]);
    assert_eq!(
        cover(&role("web", "/app/", &[("team", "data")])),
        Default::default()
    );
    assert_eq!(
        cover(&role("web", "/", &[("team", "web")])),
        Default::default()
    );
    assert!(cover(&role("legacy", "/", &[])).whole_role.is_some());
}

#[test]
fn rules_are_kept_on_disk_and_never_go_back_a_version() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = RuleStore::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(store.current().version, 0);
    let follow = store.subscribe();
    let newer = rules(vec![("whole", Selector::default(), Some(now()))]);
    assert_eq!(store.replace(newer.clone()).ok(), Some(7));
    assert!(follow.has_changed().unwrap_or(false));
    let older = ExclusionRules {
        version: 2,
        rules: Vec::new(),
    };
    assert_eq!(store.replace(older).ok(), Some(7));
    drop(store);
    let reopened = RuleStore::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reopened.current(), newer);
}
