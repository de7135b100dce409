//! The SDK adapter against moto: every IAM and STS call it makes, paging,
//! decoding and error mapping. Each test works in an account of its own.
//!
//! Needs `WHITTLE_MOTO_SERVER` (see `scripts/ensure-moto`).

// A test binary: helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/moto.rs"]
mod support;

use std::collections::BTreeMap;

use serde_json::{Value, json};
use support::account;
use whittle_aws::inventory::{read_account, read_role};
use whittle_aws::{AccessAdvisor, ErrorKind, Iam, RetryPolicy, Sts};

fn doc(actions: &[&str]) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "Data",
            "Effect": "Allow",
            "Action": actions,
            "Resource": "arn:aws:s3:::example bucket/a+b/*",
        }]
    })
    .to_string()
}

fn same_json(a: &str, b: &str) -> bool {
    serde_json::from_str::<Value>(a).unwrap() == serde_json::from_str::<Value>(b).unwrap()
}

#[tokio::test]
async fn caller_identity_is_the_isolated_account() {
    let account = account(None).await;
    assert_eq!(account.aws.account_id(), None);
    let me = account.aws.get_caller_identity().await.unwrap();
    assert_eq!(me.account, account.id);
    assert!(
        me.arn
            .starts_with(&format!("arn:aws:sts::{}:assumed-role/", account.id))
    );
    assert!(!me.user_id.is_empty());
    assert_eq!(account.aws.account_id(), Some(account.id.as_str()));
}

#[tokio::test]
async fn roles_are_listed_across_pages_and_read_in_full() {
    let account = account(Some(2)).await;
    for i in 0..5 {
        account
            .create_role(&format!("role-{i}"), "/team/", &[("n", &i.to_string())])
            .await;
    }
    let roles = account.aws.list_roles().await.unwrap();
    let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names.len(), 5, "three pages of at most two: {names:?}");
    for i in 0..5 {
        assert!(names.contains(&format!("role-{i}").as_str()));
    }
    let boundary = account
        .aws
        .create_policy(
            "boundary",
            "/",
            &doc(&["s3:*"]),
            Some("the most a role may do"),
        )
        .await
        .unwrap();
    account
        .iam
        .put_role_permissions_boundary()
        .role_name("role-3")
        .permissions_boundary(&boundary)
        .send()
        .await
        .unwrap();
    let role = account.aws.get_role("role-3").await.unwrap();
    assert_eq!(
        role.arn,
        format!("arn:aws:iam::{}:role/team/role-3", account.id)
    );
    assert_eq!(role.path, "/team/");
    assert!(role.role_id.starts_with("AROA"), "{}", role.role_id);
    assert_eq!(
        role.tags,
        BTreeMap::from([("n".to_string(), "3".to_string())])
    );
    assert_eq!(
        role.permissions_boundary.as_deref(),
        Some(boundary.as_str())
    );
    assert_eq!(role.last_used, None);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let age = now.as_secs() as i64 - role.create_date.timestamp();
    assert!(age.abs() < 3600, "created just now: {}", role.create_date);
}

#[tokio::test]
async fn inline_policies_round_trip_decoded() {
    let account = account(None).await;
    account.create_role("app", "/", &[]).await;
    let first = doc(&["s3:GetObject", "s3:PutObject"]);
    let second = doc(&["s3:GetObject"]);
    account
        .aws
        .put_role_policy("app", "data", &first)
        .await
        .unwrap();
    account
        .aws
        .put_role_policy("app", "other", &second)
        .await
        .unwrap();
    assert_eq!(
        account.aws.list_role_policies("app").await.unwrap(),
        ["data", "other"]
    );
    // IAM sends documents URL-encoded; the adapter hands them back decoded.
    let got = account.aws.get_role_policy("app", "data").await.unwrap();
    assert!(!got.contains('%'), "{got}");
    assert!(same_json(&got, &first), "{got}");
    account
        .aws
        .put_role_policy("app", "data", &second)
        .await
        .unwrap();
    assert!(same_json(
        &account.aws.get_role_policy("app", "data").await.unwrap(),
        &second
    ));
    account.aws.delete_role_policy("app", "data").await.unwrap();
    assert_eq!(
        account.aws.list_role_policies("app").await.unwrap(),
        ["other"]
    );
    let err = account
        .aws
        .get_role_policy("app", "data")
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind, err.operation),
        (ErrorKind::NotFound, "GetRolePolicy")
    );
}

#[tokio::test]
async fn managed_policies_and_their_versions() {
    let account = account(Some(1)).await;
    account.create_role("app", "/", &[]).await;
    let v1 = doc(&["s3:GetObject"]);
    let arn = account
        .aws
        .create_policy("scoped", "/whittle/", &v1, None)
        .await
        .unwrap();
    assert_eq!(
        arn,
        format!("arn:aws:iam::{}:policy/whittle/scoped", account.id)
    );
    let other = account
        .aws
        .create_policy("other", "/", &v1, Some("d"))
        .await
        .unwrap();
    account.aws.attach_role_policy("app", &arn).await.unwrap();
    account.aws.attach_role_policy("app", &other).await.unwrap();
    let mut attached = account
        .aws
        .list_attached_role_policies("app")
        .await
        .unwrap();
    attached.sort();
    let mut expected = vec![arn.clone(), other.clone()];
    expected.sort();
    assert_eq!(attached, expected, "two pages of one");

    let info = account.aws.get_policy(&arn).await.unwrap();
    assert_eq!(info.name, "scoped");
    assert_eq!(info.path, "/whittle/");
    assert_eq!(info.default_version_id, "v1");
    assert_eq!(info.attachment_count, 1);
    assert!(same_json(
        &account.aws.get_policy_version(&arn, "v1").await.unwrap(),
        &v1
    ));

    for n in 2..=5 {
        let id = account
            .aws
            .create_policy_version(&arn, &doc(&["s3:ListBucket"]), n == 3)
            .await
            .unwrap();
        assert_eq!(id, format!("v{n}"));
    }
    let sixth = account
        .aws
        .create_policy_version(&arn, &v1, false)
        .await
        .unwrap_err();
    assert_eq!(
        (sixth.kind, sixth.operation),
        (ErrorKind::LimitExceeded, "CreatePolicyVersion")
    );
    let versions = account.aws.list_policy_versions(&arn).await.unwrap();
    assert_eq!(versions.len(), 5, "five pages of one");
    let default: Vec<&str> = versions
        .iter()
        .filter(|v| v.is_default)
        .map(|v| v.version_id.as_str())
        .collect();
    assert_eq!(default, ["v3"]);
    assert!(versions.iter().all(|v| v.create_date.is_some()));

    account
        .aws
        .set_default_policy_version(&arn, "v5")
        .await
        .unwrap();
    assert_eq!(
        account
            .aws
            .get_policy(&arn)
            .await
            .unwrap()
            .default_version_id,
        "v5"
    );
    for old in ["v1", "v2", "v3", "v4"] {
        account.aws.delete_policy_version(&arn, old).await.unwrap();
    }
    let err = account
        .aws
        .get_policy_version(&arn, "v1")
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    account.aws.detach_role_policy("app", &arn).await.unwrap();
    assert_eq!(
        account
            .aws
            .list_attached_role_policies("app")
            .await
            .unwrap(),
        [other]
    );
    account.aws.delete_policy(&arn).await.unwrap();
    let err = account.aws.get_policy(&arn).await.unwrap_err();
    assert_eq!(
        (err.kind, err.operation),
        (ErrorKind::NotFound, "GetPolicy")
    );
}

#[tokio::test]
async fn service_errors_are_mapped() {
    let account = account(None).await;
    let err = account.aws.get_role("nope").await.unwrap_err();
    assert_eq!((err.kind, err.operation), (ErrorKind::NotFound, "GetRole"));
    assert!(err.message.starts_with("NoSuchEntity: "), "{}", err.message);
    account.create_role("app", "/", &[]).await;
    for bad in [
        "not json",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow"}]}"#,
    ] {
        let err = account
            .aws
            .put_role_policy("app", "bad", bad)
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::MalformedPolicy, "{bad}: {err}");
    }
    let missing = format!("arn:aws:iam::{}:policy/nope", account.id);
    let err = account
        .aws
        .create_policy_version(&missing, &doc(&["s3:A"]), true)
        .await;
    assert_eq!(err.unwrap_err().kind, ErrorKind::NotFound);
    account
        .aws
        .create_policy("dup", "/", &doc(&["s3:A"]), None)
        .await
        .unwrap();
    let err = account
        .aws
        .create_policy("dup", "/", &doc(&["s3:A"]), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::AlreadyExists);
    let err = account
        .aws
        .attach_role_policy("nope", &missing)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
}

#[tokio::test]
async fn a_garbled_5xx_answer_is_transient_and_retried() {
    // Moto answers access advisor calls with an HTML error page (HTTP 500).
    let policy = RetryPolicy {
        max_attempts: 2,
        ..RetryPolicy::fast()
    };
    let account = support::account_with(None, policy).await;
    let role = account.create_role("app", "/", &[]).await;
    let err = account
        .aws
        .generate_service_last_accessed_details(&role)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient, "{err}");
    assert!(
        err.message.contains("gave up after 2 attempts"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn the_inventory_reads_through_the_adapter() {
    let account = account(Some(1)).await;
    account.create_role("web", "/", &[("team", "web")]).await;
    account.create_role("batch", "/jobs/", &[]).await;
    let shared = account
        .aws
        .create_policy("shared", "/", &doc(&["s3:GetObject"]), None)
        .await;
    let shared = shared.unwrap();
    account
        .aws
        .put_role_policy("web", "inline", &doc(&["sqs:SendMessage"]))
        .await
        .unwrap();
    account
        .aws
        .attach_role_policy("web", &shared)
        .await
        .unwrap();
    account
        .aws
        .attach_role_policy("batch", &shared)
        .await
        .unwrap();
    account
        .aws
        .create_policy_version(&shared, &doc(&["s3:ListBucket"]), true)
        .await
        .unwrap();

    let (web, managed) = read_role(&account.aws, "web").await.unwrap();
    assert_eq!(web.tags.get("team").map(String::as_str), Some("web"));
    assert!(same_json(
        &web.inline_policies["inline"],
        &doc(&["sqs:SendMessage"])
    ));
    assert_eq!(web.attached_policies, std::slice::from_ref(&shared));
    assert_eq!(managed[&shared].default_version_id, "v2");
    assert!(same_json(
        &managed[&shared].document,
        &doc(&["s3:ListBucket"])
    ));
    assert_eq!(managed[&shared].attachment_count, 2);

    let export = read_account(&account.aws).await.unwrap();
    let names: Vec<&str> = export.roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"web") && names.contains(&"batch"));
    assert_eq!(export.managed_policies.len(), 1);
    assert_eq!(export.managed_policies[&shared], managed[&shared]);
}
