//! Exclusion rules and their version.

use super::*;

#[test]
fn every_addition_and_removal_raises_the_version_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    assert_eq!(s.rules_at_version().unwrap(), (0, vec![]));
    let (r1, v1) = s.add_rule(new_rule("iam:*"), t(0)).unwrap();
    let (r2, v2) = s.add_rule(new_rule("s3:Get*"), t(0)).unwrap();
    assert_eq!((v1, v2), (1, 2));
    assert!(r2.id > r1.id, "ids made in the same millisecond still sort");
    assert_eq!(r1.created_at, t(0));
    assert_eq!(
        s.rules_at_version().unwrap(),
        (2, vec![r1.clone(), r2.clone()])
    );
    let (removed, v3) = s.remove_rule(&r1.id).unwrap();
    assert_eq!((removed, v3), (r1.clone(), 3));
    assert_eq!(s.rules().unwrap(), vec![r2]);
    assert_eq!(s.exclusion_version().unwrap(), 3);
    let err = s.remove_rule(&r1.id).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("exclusion rule {} is not in the store", r1.id)
    );
    assert_eq!(
        s.exclusion_version().unwrap(),
        3,
        "a failed removal changes nothing"
    );
}

#[test]
fn a_rule_keeps_its_whole_selector() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let selector = Selector {
        accounts: vec![A.into(), B.into()],
        role_name_glob: Some("break-glass-*".into()),
        path_prefix: Some("/admin/".into()),
        tags: BTreeMap::from([("team".to_string(), "sec".to_string())]),
        action_patterns: vec!["*".into(), "ec2:Describe*".into()],
        sid_prefix: Some("KEEP".into()),
    };
    let new = NewRule {
        selector: selector.clone(),
        reason: "incident response".into(),
        author: "bob".into(),
        expires_at: Some(t(3600)),
    };
    let (rule, _) = s.add_rule(new, t(0)).unwrap();
    assert_eq!(rule.selector, selector);
    assert_eq!(s.rules().unwrap(), vec![rule.clone()]);
    assert!(rule.is_active(t(3599)));
    assert!(!rule.is_active(t(3600)));
}

#[test]
fn a_malformed_rule_is_refused_naming_the_field_and_the_version_stays() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let with = |edit: fn(&mut NewRule)| {
        let mut r = new_rule("s3:*");
        edit(&mut r);
        s.add_rule(r, t(10)).unwrap_err().to_string()
    };
    assert_eq!(
        with(|r| r.reason = " ".into()),
        "invalid rule reason \" \": it is empty"
    );
    assert_eq!(
        with(|r| r.author.clear()),
        "invalid rule author \"\": it is empty"
    );
    assert_eq!(
        with(|r| r.selector.accounts = vec!["123".into()]),
        "invalid account id \"123\": expected 12 digits"
    );
    assert_eq!(
        with(|r| r.selector.action_patterns = vec!["s3".into()]),
        "invalid action pattern \"s3\": expected \"service:action\" (wildcards allowed) or \"*\""
    );
    assert_eq!(
        with(|r| r.selector.path_prefix = Some("admin/".into())),
        "invalid path prefix \"admin/\": it must start with '/'"
    );
    let expired = with(|r| r.expires_at = Some(t(10)));
    assert!(
        expired.starts_with("invalid rule expiry") && expired.contains("it is not after now"),
        "{expired}"
    );
    assert_eq!(s.rules_at_version().unwrap(), (0, vec![]));
}
