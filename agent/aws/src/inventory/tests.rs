use std::path::Path;

use super::*;
use crate::sim::SimAccount;

const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../deploy/examples/account-111122223333"
);

fn example() -> SimAccount {
    SimAccount::load(Path::new(EXAMPLE)).unwrap()
}

#[tokio::test]
async fn read_role_fills_policies_and_attached_documents() {
    let sim = example();
    let (role, managed) = read_role(&sim, "reporting-lambda").await.unwrap();
    assert_eq!(role.path, "/service-role/");
    assert!(role.inline_policies.is_empty());
    assert_eq!(role.attached_policies.len(), 4);
    let arns: Vec<&String> = managed.keys().collect();
    let mut expected: Vec<&String> = role.attached_policies.iter().collect();
    expected.sort();
    assert_eq!(arns, expected);
    let access = &managed["arn:aws:iam::111122223333:policy/reporting-lambda-access"];
    assert_eq!(access.default_version_id, "v2");
    assert!(access.document.contains("dynamodb:DescribeTable"));

    let (ci, managed) = read_role(&sim, "ci-deployer").await.unwrap();
    assert!(managed.is_empty());
    assert!(ci.inline_policies["ci-deploy"].starts_with('{'), "decoded");
    assert_eq!(ci.tags.get("team").map(String::as_str), Some("platform"));
}

#[tokio::test]
async fn read_role_follows_a_new_default_version() {
    let sim = example();
    let arn = "arn:aws:iam::111122223333:policy/legacy-kinesis-access";
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kinesis:ListStreams","Resource":"*"}]}"#;
    sim.create_policy_version(arn, doc, true).await.unwrap();
    let (_, managed) = read_role(&sim, "reporting-lambda").await.unwrap();
    assert_eq!(managed[arn].default_version_id, "v2");
    assert_eq!(managed[arn].document, doc);
}

#[tokio::test]
async fn read_account_matches_the_account() {
    let sim = example();
    let read = read_account(&sim).await.unwrap();
    let truth = sim.export();
    assert_eq!(read.roles, truth.roles);
    // Only attached policies are read: the boundary-only one is not.
    let mut attached = truth.managed_policies.clone();
    attached.remove("arn:aws:iam::111122223333:policy/workload-boundary");
    assert_eq!(read.managed_policies, attached);
    // One GetPolicy per distinct policy, however many roles share it.
    assert_eq!(sim.calls(ops::GET_POLICY), 5);
    assert_eq!(sim.calls(ops::GET_ROLE), 8);
    assert_eq!(sim.write_calls(), 0);
}

#[tokio::test]
async fn read_account_leaves_out_a_role_deleted_meanwhile() {
    let sim = example();
    // GetRole of the first role read answers NoSuchEntity, as if deleted after ListRoles.
    sim.fail_next(ops::GET_ROLE, ErrorKind::NotFound, 1);
    let read = read_account(&sim).await.unwrap();
    assert_eq!(read.roles.len(), 7);
}

#[tokio::test]
async fn read_account_rereads_a_role_whose_policy_vanished() {
    let sim = example();
    sim.fail_next(ops::GET_ROLE_POLICY, ErrorKind::NotFound, 1);
    let read = read_account(&sim).await.unwrap();
    assert_eq!(read.roles.len(), 8);
}

#[tokio::test]
async fn read_account_stops_at_the_first_hard_error() {
    let sim = example();
    sim.fail_always(ops::GET_POLICY_VERSION, ErrorKind::AccessDenied);
    let err = read_account(&sim).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::AccessDenied);
    assert!(sim.calls(ops::GET_POLICY_VERSION) <= READ_CONCURRENCY as u64);
}

#[tokio::test(start_paused = true)]
async fn read_account_reads_a_few_roles_at_once() {
    let sim = example();
    sim.set_latency(ops::GET_ROLE, std::time::Duration::from_secs(1));
    let started = tokio::time::Instant::now();
    read_account(&sim).await.unwrap();
    // 8 roles, 4 at a time: two rounds of one second.
    assert_eq!(started.elapsed().as_secs(), 2);
}

#[tokio::test]
async fn works_through_a_shared_trait_object() {
    let sim = example();
    let iam: std::sync::Arc<dyn Iam> = std::sync::Arc::new(sim.clone());
    let export = read_account(&*iam).await.unwrap();
    assert_eq!(export.roles.len(), 8);
}
