//! Data-driven tests of the planner: each case builds a role, its usage and a
//! `now`, and checks what a user would read in the plan.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::*;
use crate::model::{Granularity, ServiceUsage};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

const NOW: &str = "2026-11-20T12:00:00Z";

fn role(inline: &[(&str, Value)], attached: &[&str]) -> Role {
    Role {
        arn: "arn:aws:iam::111122223333:role/app".into(),
        role_id: "AROAEXAMPLE".into(),
        name: "app".into(),
        path: "/".into(),
        create_date: t("2024-01-01T00:00:00Z"),
        tags: BTreeMap::new(),
        permissions_boundary: None,
        last_used: None,
        inline_policies: inline
            .iter()
            .map(|(n, d)| (n.to_string(), d.to_string()))
            .collect(),
        attached_policies: attached.iter().map(|a| a.to_string()).collect(),
    }
}

/// (action, days since last use or never).
type ActionUse<'a> = (&'a str, Option<i64>);
/// (service prefix, days since last use or never, tracked actions).
type ServiceUse<'a> = (&'a str, Option<i64>, &'a [ActionUse<'a>]);
/// (action, reason code) as the report shows them.
type Coded = Vec<(String, &'static str)>;

fn usage(services: &[ServiceUse<'_>]) -> Usage {
    let now = t(NOW);
    let ago = |d: Option<i64>| d.map(|d| now - Duration::days(d));
    Usage {
        observed_at: now - Duration::hours(30),
        granularity: Granularity::Action,
        services: services
            .iter()
            .map(|(s, last, actions)| {
                (
                    s.to_string(),
                    ServiceUsage {
                        last_authenticated: ago(*last),
                        actions: actions
                            .iter()
                            .map(|(a, d)| (a.to_ascii_lowercase(), ago(*d)))
                            .collect(),
                    },
                )
            })
            .collect(),
    }
}

fn allow(actions: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]})
}

fn plan(role: &Role, usage: Option<&Usage>) -> RolePlan {
    plan_with(role, &BTreeMap::new(), usage, &Settings::default())
}

fn plan_with(
    role: &Role,
    managed: &BTreeMap<String, ManagedPolicy>,
    usage: Option<&Usage>,
    s: &Settings,
) -> RolePlan {
    let planner = Planner::new(Catalogue::embedded(), s).unwrap();
    planner.plan_role(role, managed, usage, t(NOW))
}

/// (action, code) pairs, removable first then kept, as the report shows them.
fn codes(p: &RolePlan) -> (Coded, Coded) {
    let r = p.report(Catalogue::embedded(), &Settings::default());
    let f = |l: &[crate::report::DecisionReport]| {
        l.iter().map(|d| (d.action.clone(), d.code)).collect()
    };
    (f(&r.removable), f(&r.kept))
}

fn new_doc(p: &RolePlan, name: &str) -> Option<Value> {
    p.new_inline_policies.get(name).map(|d| {
        d.as_ref()
            .map(|d| serde_json::from_str(d).unwrap())
            .unwrap_or(Value::Null)
    })
}

#[test]
fn decides_each_rule_with_its_reason() {
    let r = role(
        &[(
            "p",
            allow(json!([
                "dynamodb:GetItem",      // service never used
                "sqs:SendMessage",       // service used 200 days ago
                "s3:GetObject",          // s3 used, action not tracked
                "s3:PutBucketPolicy",    // tracked, used 3 days ago
                "s3:CreateBucket",       // tracked, used 120 days ago
                "s3:DeleteBucket",       // tracked, never used
                "lambda:InvokeFunction"  // service not in the report
            ])),
        )],
        &[],
    );
    let u = usage(&[
        ("dynamodb", None, &[]),
        ("sqs", Some(200), &[]),
        (
            "s3",
            Some(1),
            &[("PutBucketPolicy", Some(3)), ("CreateBucket", Some(120))],
        ),
    ]);
    let (removable, kept) = codes(&plan(&r, Some(&u)));
    assert_eq!(
        removable,
        vec![
            ("dynamodb:GetItem".into(), "service_never_used"),
            ("s3:CreateBucket".into(), "action_unused"),
            ("s3:DeleteBucket".into(), "action_never_used"),
            ("sqs:SendMessage".into(), "service_unused"),
        ]
    );
    assert_eq!(
        kept,
        vec![
            (
                "lambda:InvokeFunction".into(),
                "service_not_in_usage_report"
            ),
            ("s3:GetObject".into(), "service_used_action_not_tracked"),
            ("s3:PutBucketPolicy".into(), "action_used"),
        ]
    );
}

#[test]
fn the_window_boundary_counts_as_used() {
    let r = role(&[("p", allow(json!("sqs:SendMessage")))], &[]);
    let (removable, _) = codes(&plan(&r, Some(&usage(&[("sqs", Some(90), &[])]))));
    assert!(removable.is_empty());
    let (removable, _) = codes(&plan(&r, Some(&usage(&[("sqs", Some(91), &[])]))));
    assert_eq!(removable.len(), 1);
}

#[test]
fn role_level_guards_keep_everything() {
    let never = usage(&[("sqs", None, &[])]);
    let doc = allow(json!("sqs:SendMessage"));
    let mut young = role(&[("p", doc.clone())], &[]);
    young.create_date = t(NOW) - Duration::days(10);
    let mut stale = never.clone();
    stale.observed_at = t(NOW) - Duration::days(6);
    let mut future = never.clone();
    future.observed_at = t(NOW) + Duration::hours(1);
    let old = role(&[("p", doc)], &[]);
    for (r, u, code) in [
        (&young, Some(&never), "role_too_young"),
        (&old, Some(&stale), "usage_data_stale"),
        (&old, Some(&future), "usage_data_stale"),
        (&old, None, "no_usage_data"),
    ] {
        let p = plan(r, u);
        let (removable, kept) = codes(&p);
        assert!(removable.is_empty(), "{code}");
        assert_eq!(kept, vec![("sqs:SendMessage".to_string(), code)]);
        assert!(!p.has_changes());
    }
}

#[test]
fn norepo_never_remove_and_exclusions_keep_actions() {
    let doc = json!({"Statement": [
        {"Sid": "NOREPOLegacy", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"},
        {"Effect": "Allow", "Action": ["iam:PassRole", "sns:Publish", "kinesis:PutRecord"], "Resource": "*"}
    ]});
    let r = role(&[("p", doc)], &[]);
    let u = usage(&[
        ("sqs", None, &[]),
        ("iam", None, &[]),
        ("sns", None, &[]),
        ("kinesis", None, &[]),
    ]);
    let s = Settings {
        exclusions: vec!["SNS:*".into()],
        ..Settings::default()
    };
    let p = plan_with(&r, &BTreeMap::new(), Some(&u), &s);
    let (removable, kept) = codes(&p);
    assert_eq!(
        removable,
        vec![("kinesis:PutRecord".to_string(), "service_never_used")]
    );
    assert_eq!(
        kept,
        vec![
            ("iam:PassRole".to_string(), "never_remove"),
            ("sns:Publish".to_string(), "excluded"),
            ("sqs:SendMessage".to_string(), "norepo_statement"),
        ]
    );
    let doc = new_doc(&p, "p").unwrap();
    assert_eq!(doc["Statement"][0]["Sid"], "NOREPOLegacy");
    assert_eq!(
        doc["Statement"][1]["Action"],
        json!(["iam:PassRole", "sns:Publish"])
    );
}

#[test]
fn deny_conditions_and_resources_are_kept_verbatim() {
    let doc = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Data", "Effect": "Allow", "Action": ["s3:GetObject", "dynamodb:Query"],
         "Resource": ["arn:aws:s3:::b/*", "arn:aws:dynamodb:*:*:table/t"],
         "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
        {"Effect": "Deny", "Action": "dynamodb:*", "Resource": "*"},
        {"Effect": "Allow", "Action": "dynamodb:Scan", "NotResource": "arn:aws:dynamodb:*:*:table/secret"}
    ]});
    let r = role(&[("p", doc)], &[]);
    let p = plan(
        &r,
        Some(&usage(&[("s3", Some(1), &[]), ("dynamodb", None, &[])])),
    );
    assert_eq!(
        new_doc(&p, "p").unwrap(),
        json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "Data", "Effect": "Allow", "Action": ["s3:GetObject"],
             "Resource": ["arn:aws:s3:::b/*", "arn:aws:dynamodb:*:*:table/t"],
             "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
            {"Effect": "Deny", "Action": "dynamodb:*", "Resource": "*"}
        ]})
    );
}

#[test]
fn an_emptied_policy_is_deleted_and_an_untouched_one_left_out() {
    let r = role(
        &[
            ("gone", allow(json!("sns:Publish"))),
            ("same", allow(json!("s3:GetObject"))),
        ],
        &[],
    );
    let p = plan(
        &r,
        Some(&usage(&[("sns", None, &[]), ("s3", Some(1), &[])])),
    );
    assert_eq!(p.new_inline_policies.len(), 1);
    assert_eq!(new_doc(&p, "gone"), Some(Value::Null));
    assert!(!p.after.inline.contains_key("gone"));
    assert_eq!(p.after.inline["same"], p.before.inline["same"]);
}

#[test]
fn fully_used_wildcards_stay_and_partial_ones_are_merged() {
    let r = role(&[("p", allow(json!(["glue:*", "s3:Get*"])))], &[]);
    // s3 used; tracked s3 Get actions never used: only untracked s3:Get* stay.
    let p = plan(
        &r,
        Some(&usage(&[("glue", Some(1), &[]), ("s3", Some(1), &[])])),
    );
    let doc = new_doc(&p, "p").unwrap();
    let actions: Vec<String> =
        serde_json::from_value(doc["Statement"][0]["Action"].clone()).unwrap();
    assert_eq!(
        actions[0], "glue:*",
        "a fully kept pattern stays as written"
    );
    // Every kept s3 action is still granted, no removable one is.
    let cat = Catalogue::embedded();
    let granted = |a: &str| actions.iter().any(|p| crate::glob::Glob::new(p).matches(a));
    for id in cat.expand("s3:Get*") {
        let name = cat.full_name(id);
        let tracked = cat.action(id).tracking == crate::catalogue::Tracking::Tracked;
        assert_eq!(granted(&name), !tracked, "{name}");
    }
    assert!(actions.len() < 30, "merged into prefixes: {actions:?}");
}

#[test]
fn explicit_lists_are_never_widened_into_wildcards() {
    // Every s3:GetObject* action listed by name: merging them into
    // `s3:GetObject*` would grant actions AWS adds later, so they stay listed.
    let cat = Catalogue::embedded();
    let mut names: Vec<String> = cat
        .expand("s3:GetObject*")
        .into_iter()
        .map(|i| cat.full_name(i))
        .collect();
    names.push("sns:Publish".into());
    let r = role(&[("p", allow(json!(names)))], &[]);
    let p = plan(
        &r,
        Some(&usage(&[("s3", Some(1), &[]), ("sns", None, &[])])),
    );
    let doc = new_doc(&p, "p").unwrap();
    let actions: Vec<String> =
        serde_json::from_value(doc["Statement"][0]["Action"].clone()).unwrap();
    assert!(actions.iter().all(|a| !a.contains('*')), "{actions:?}");
}

#[test]
fn not_action_becomes_an_explicit_action_list() {
    let doc = json!({"Statement": [{"Effect": "Allow", "NotAction": ["s3:Delete*", "iam:*"], "Resource": "*"}]});
    let r = role(&[("p", doc)], &[]);
    // Only s3 was used; every other service is in the report as never used.
    let cat = Catalogue::embedded();
    let mut u = usage(&[("s3", Some(1), &[])]);
    for s in cat.services() {
        u.services.entry(s.prefix.clone()).or_default();
    }
    let p = plan(&r, Some(&u));
    let doc = new_doc(&p, "p").unwrap();
    let st = &doc["Statement"][0];
    assert!(st.get("NotAction").is_none());
    let actions: Vec<String> = serde_json::from_value(st["Action"].clone()).unwrap();
    let granted = |a: &str| actions.iter().any(|p| crate::glob::Glob::new(p).matches(a));
    assert!(granted("s3:GetObject"));
    assert!(
        !granted("s3:DeleteObject"),
        "NotAction exclusions stay excluded"
    );
    assert!(
        !granted("s3:DeleteSomethingNew"),
        "no wildcard reaches into excluded names"
    );
    assert!(!granted("iam:PassRole"));
    assert!(!granted("ec2:RunInstances"));
}

#[test]
fn unknown_and_retired_names_are_reported_and_kept() {
    let r = role(
        &[(
            "p",
            allow(json!([
                "s3:GetObjcet",
                "codestar:ListProjects",
                "sns:Publish"
            ])),
        )],
        &[],
    );
    let p = plan(&r, Some(&usage(&[("sns", None, &[])])));
    let (_, kept) = codes(&p);
    assert_eq!(
        kept,
        vec![
            ("codestar:ListProjects".to_string(), "retired_action"),
            ("s3:GetObjcet".to_string(), "unknown_action")
        ]
    );
    assert_eq!(p.diagnostics.len(), 2);
    let doc = new_doc(&p, "p").unwrap();
    assert_eq!(
        doc["Statement"][0]["Action"],
        json!(["s3:GetObjcet", "codestar:ListProjects"])
    );
}

#[test]
fn opaque_statements_and_documents_are_kept_and_reported() {
    let doc = json!({"Statement": [
        {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*", "Unknown": 1},
        {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}
    ]});
    let r = role(&[("p", doc), ("broken", json!("not a policy"))], &[]);
    let p = plan(&r, Some(&usage(&[("sns", None, &[])])));
    let doc = new_doc(&p, "p").unwrap();
    assert_eq!(doc["Statement"].as_array().unwrap().len(), 1);
    assert!(doc["Statement"][0].get("Unknown").is_some());
    assert!(!p.new_inline_policies.contains_key("broken"));
    assert_eq!(p.diagnostics.len(), 2, "{:?}", p.diagnostics);
}

fn managed(name: &str, doc: Value, count: u32) -> (String, ManagedPolicy) {
    let arn = format!("arn:aws:iam::111122223333:policy/{name}");
    (
        arn.clone(),
        ManagedPolicy {
            arn,
            name: name.into(),
            path: "/".into(),
            policy_id: "ANPA".into(),
            default_version_id: "v1".into(),
            attachment_count: count,
            permissions_boundary_usage_count: 0,
            document: doc.to_string(),
        },
    )
}

#[test]
fn managed_policies_are_trimmed_copied_detached_or_left_alone() {
    let mut m: BTreeMap<String, ManagedPolicy> = [
        managed("mine", allow(json!(["s3:GetObject", "sns:Publish"])), 1),
        managed("shared", allow(json!(["s3:GetObject", "sns:Publish"])), 3),
        managed("unused", allow(json!("sns:Publish")), 1),
        managed(
            "unused-deny",
            json!({"Statement": [
            {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]}),
            1,
        ),
        managed("used", allow(json!("s3:GetObject")), 1),
    ]
    .into_iter()
    .collect();
    let (aws_arn, mut aws) = managed("AWSThing", allow(json!(["s3:GetObject", "sns:Publish"])), 9);
    aws.arn = "arn:aws:iam::aws:policy/AWSThing".into();
    m.insert(aws.arn.clone(), aws);
    let _ = aws_arn;
    let arns: Vec<String> = ["mine", "shared", "unused", "unused-deny", "used"]
        .iter()
        .map(|n| format!("arn:aws:iam::111122223333:policy/{n}"))
        .chain(["arn:aws:iam::aws:policy/AWSThing".to_string()])
        .collect();
    let r = role(&[], &arns.iter().map(String::as_str).collect::<Vec<_>>());
    let p = plan_with(
        &r,
        &m,
        Some(&usage(&[("s3", Some(1), &[]), ("sns", None, &[])])),
        &Settings::default(),
    );
    let labels: Vec<&str> = p.managed.iter().map(|x| x.outcome.label()).collect();
    assert_eq!(
        labels,
        [
            "trim",
            "replace_with_copy",
            "detach",
            "trim",
            "left_alone",
            "replace_with_copy"
        ]
    );
    let ManagedOutcome::ReplaceWithCopy { copy_arn, .. } = &p.managed[5].outcome else {
        panic!()
    };
    assert_eq!(
        copy_arn,
        "arn:aws:iam::111122223333:policy/whittle/whittle-app-AWSThing"
    );
    assert!(p.after.attached.contains(copy_arn));
    assert!(
        !p.after
            .attached
            .contains("arn:aws:iam::aws:policy/AWSThing")
    );
    assert!(
        !p.after.attached.contains(&arns[2]),
        "unused policy detached"
    );
    // The diff attaches copies before detaching originals, and its inverse restores.
    let d = p.diff();
    assert_eq!(d.apply(&p.before).unwrap(), p.after);
    assert_eq!(d.inverse().apply(&p.after).unwrap(), p.before);
}

#[test]
fn plans_over_the_size_limit_are_refused_with_the_reason() {
    let resources: Vec<String> = (0..400)
        .map(|i| format!("arn:aws:s3:::bucket-number-{i:04}/*"))
        .collect();
    let doc = json!({"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "sns:Publish"], "Resource": resources}]});
    let r = role(&[("big", doc)], &[]);
    let p = plan(
        &r,
        Some(&usage(&[("s3", Some(1), &[]), ("sns", None, &[])])),
    );
    let skipped = p.skipped.clone().unwrap();
    assert!(skipped.contains("10240"), "{skipped}");
    assert!(!p.has_changes());
    let (removable, kept) = codes(&p);
    assert!(removable.is_empty());
    assert!(kept.contains(&("sns:Publish".to_string(), "plan_refused")));
}

#[test]
fn service_linked_roles_are_skipped() {
    let mut r = role(&[("p", allow(json!("sns:Publish")))], &[]);
    r.path = "/aws-service-role/autoscaling.amazonaws.com/".into();
    let p = plan(&r, Some(&usage(&[("sns", None, &[])])));
    assert!(p.skipped.unwrap().contains("service-linked"));
    assert!(p.decisions.is_empty());
}

#[test]
fn same_inputs_same_plan_and_fingerprints_track_inputs() {
    let r = role(&[("p", allow(json!(["s3:*", "sns:Publish"])))], &[]);
    let u = usage(&[("s3", Some(1), &[]), ("sns", None, &[])]);
    let a = plan(&r, Some(&u));
    let b = plan(&r, Some(&u));
    assert_eq!(a.fingerprint, b.fingerprint);
    assert_eq!(a.after, b.after);
    let planner = Planner::new(Catalogue::embedded(), &Settings::default()).unwrap();
    let later = planner.plan_role(&r, &BTreeMap::new(), Some(&u), t(NOW) + Duration::hours(1));
    assert_ne!(later.fingerprint, a.fingerprint, "now is an input");
    assert_eq!(
        later.state_fingerprint, a.state_fingerprint,
        "the live state is the same"
    );
    // Who else uses a managed policy is an input too: it decides trim or copy.
    let (arn, shared) = managed("p", allow(json!("sns:Publish")), 1);
    let mut with_policy = r.clone();
    with_policy.attached_policies.push(arn.clone());
    let mut m: BTreeMap<String, ManagedPolicy> = [(arn.clone(), shared)].into_iter().collect();
    let once = plan_with(&with_policy, &m, Some(&u), &Settings::default()).fingerprint;
    m.get_mut(&arn).unwrap().attachment_count = 2;
    let twice = plan_with(&with_policy, &m, Some(&u), &Settings::default()).fingerprint;
    assert_ne!(once, twice);
    let mut edited = r.clone();
    edited
        .inline_policies
        .insert("p".into(), allow(json!("s3:*")).to_string());
    assert_ne!(
        plan(&edited, Some(&u)).state_fingerprint,
        a.state_fingerprint
    );
}
