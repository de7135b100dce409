//! The acceptance test against moto: plan, apply and roll back real IAM calls
//! through the SDK adapter, and check that IAM ends exactly as planned, then
//! exactly as before (every inline document byte for byte, every attachment,
//! every attached policy's default version and document), with the journal
//! telling the same story.
//!
//! Three roles in a fresh account cover what an apply does:
//! - `app`: an inline policy with wildcards (`s3:Get*`, `sqs:*`), a `Deny`, a
//!   `NOREPO` statement and a statement with a `Condition` (trimmed), and a second
//!   inline policy whose every action is unused (deleted);
//! - `batch`: a customer-managed policy attached only to it (trimmed: a new
//!   default version) and an unused one (detached);
//! - `web`: a customer-managed policy it shares with `worker` (replaced by a
//!   trimmed copy under `/whittle/`, attached before the original is detached).
//!
//! One test rolls back role by role, the other the whole account with
//! `rollback_since`. Moto has no access advisor: the usage is built here.
//!
//! Needs `WHITTLE_MOTO_SERVER` (see `scripts/ensure-moto`):
//! `WHITTLE_MOTO_SERVER=$(scripts/ensure-moto) cargo test -p whittle-agent --test moto_apply`

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod moto_support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use moto_support::{Account, Fixed};
use serde_json::Value;
use whittle_agent::engine::{Applied, Engine};
use whittle_agent::journal::{ChangeFilter, ChangeId, ChangeKind, ChangeState, Journal};
use whittle_aws::{ErrorKind, Iam, inventory};
use whittle_policy::diff::Change;
use whittle_policy::model::Granularity;
use whittle_policy::plan::{ManagedOutcome, role_state};
use whittle_policy::{Catalogue, Planner, Reason, RolePlan, RoleState, ServiceUsage, Usage};

const APP: &str = "app";
const BATCH: &str = "batch";
const WEB: &str = "web";
/// Shares `shared-access` with `web`; never planned, never changed.
const WORKER: &str = "worker";
const PLANNED: [&str; 3] = [APP, BATCH, WEB];

/// Pretty-printed on purpose: a rollback must put back this very text.
const APP_MAIN: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "ReadData",
      "Effect": "Allow",
      "Action": ["s3:Get*", "sqs:*"],
      "Resource": "*"
    },
    {
      "Sid": "NeverDeleteBuckets",
      "Effect": "Deny",
      "Action": "s3:DeleteBucket",
      "Resource": "*"
    },
    {
      "Sid": "NOREPOBreakGlass",
      "Effect": "Allow",
      "Action": "ec2:*",
      "Resource": "*"
    },
    {
      "Sid": "FromTheVpc",
      "Effect": "Allow",
      "Action": ["dynamodb:GetItem", "sns:Publish"],
      "Resource": "*",
      "Condition": {"StringEquals": {"aws:SourceVpc": "vpc-0123456789abcdef0"}}
    }
  ]
}"#;

const APP_LEGACY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Legacy","Effect":"Allow","Action":["kinesis:PutRecord","sns:Publish"],"Resource":"*"}]}"#;

/// The first version of `batch-access`, no longer the default.
const BATCH_ACCESS_V1: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::batch-input/*"}]}"#;
const BATCH_ACCESS_V2: &str = r#"{"Version": "2012-10-17", "Statement": [{"Sid": "Batch", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "sqs:SendMessage"], "Resource": "*"}]}"#;
const BATCH_UNUSED: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kinesis:*","Resource":"*"}]}"#;
const SHARED: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Shared","Effect":"Allow","Action":["s3:ListBucket","sqs:ReceiveMessage","sns:Publish"],"Resource":"*"}]}"#;

/// The most IAM calls one test may make, set-up included (167 are made).
const CALL_BUDGET: u64 = 300;

/// An account on moto with the four roles, an engine with its journal, and `now`.
struct World {
    account: Account,
    engine: Engine,
    now: DateTime<Utc>,
    _dir: tempfile::TempDir,
}

/// A role as read from IAM, with each attached policy's default version.
#[derive(Debug, Clone)]
struct Snapshot {
    role: String,
    role_id: String,
    state: RoleState,
    /// Attached policy ARN to (default version id, its document).
    versions: BTreeMap<String, (String, String)>,
}

impl World {
    async fn new() -> World {
        let account = Account::new().await;
        populate(&account).await;
        // Moto dates the roles with the real time: plan just after it, with no
        // minimum role age (see `snapshot_and_plan`).
        let now = Utc::now().trunc_subsecs(0) + Duration::minutes(1);
        let dir = tempfile::tempdir().unwrap();
        let journal = Arc::new(Journal::open(dir.path()).unwrap());
        let iam: Arc<dyn Iam> = account.iam.clone();
        let engine = Engine::new(iam, journal, &account.id, Arc::new(Fixed(now)));
        World {
            account,
            engine,
            now,
            _dir: dir,
        }
    }

    fn iam(&self) -> &dyn Iam {
        self.account.iam.as_ref()
    }

    fn policy_arn(&self, path_and_name: &str) -> String {
        format!("arn:aws:iam::{}:policy/{path_and_name}", self.account.id)
    }

    fn copy_arn(&self) -> String {
        self.policy_arn("whittle/whittle-web-shared-access")
    }

    /// Reads the role; answers what it is now and its plan.
    async fn snapshot_and_plan(&self, role: &str) -> (Snapshot, RolePlan) {
        let (r, managed) = inventory::read_role(self.iam(), role).await.unwrap();
        let snapshot = Snapshot {
            role: role.to_string(),
            role_id: r.role_id.clone(),
            state: role_state(&r, &managed),
            versions: managed
                .values()
                .map(|m| {
                    let v = (m.default_version_id.clone(), m.document.clone());
                    (m.arn.clone(), v)
                })
                .collect(),
        };
        let settings = whittle_policy::Settings {
            min_role_age_days: 0,
            ..whittle_policy::Settings::default()
        };
        let planner = Planner::new(Catalogue::embedded(), &settings).unwrap();
        let plan = planner.plan_role(&r, &managed, Some(&usage(self.now)), self.now);
        (snapshot, plan)
    }

    async fn snapshot(&self, role: &str) -> Snapshot {
        self.snapshot_and_plan(role).await.0
    }

    /// Applies the plan and checks IAM and the journal; answers the change.
    async fn apply(&self, before: &Snapshot, plan: &RolePlan) -> ChangeId {
        let role = &before.role;
        let calls = self.account.iam.total();
        let Applied::Changed(id) = self
            .engine
            .apply_plan(plan, &BTreeMap::new())
            .await
            .unwrap()
        else {
            panic!("{role}: the apply changed nothing")
        };
        let calls = self.account.iam.total() - calls;
        eprintln!("{role}: the apply made {calls} IAM calls");
        let now = self.snapshot(role).await;
        assert!(
            now.state.same_as(&plan.after),
            "{role}: IAM holds the planned after-image: {}",
            plan.after.difference(&now.state)
        );
        let rec = self.engine.journal().get(id).unwrap();
        assert_eq!(rec.state, ChangeState::Applied, "{role}");
        assert_eq!(rec.kind, ChangeKind::Apply, "{role}");
        assert_eq!(rec.before, before.state, "{role}: the full before-image");
        assert_eq!(rec.after, plan.after, "{role}: the intended after-image");
        assert_eq!(rec.diff, plan.diff(), "{role}");
        assert_eq!(rec.steps_done as usize, rec.diff.changes.len(), "{role}");
        assert_eq!(rec.role_id, before.role_id, "{role}");
        assert_eq!(rec.account_id, self.account.id, "{role}");
        self.check_applied(
            before,
            &now,
            &rec.managed_versions_before,
            &rec.created_versions,
        )
        .await;
        id
    }

    /// What each role's apply did in IAM beyond its own state.
    async fn check_applied(
        &self,
        before: &Snapshot,
        now: &Snapshot,
        versions_before: &BTreeMap<String, String>,
        created: &BTreeMap<String, String>,
    ) {
        match before.role.as_str() {
            APP => {
                assert_eq!(
                    self.iam().list_role_policies(APP).await.unwrap(),
                    ["main"],
                    "the unused inline policy is deleted"
                );
                assert!(versions_before.is_empty() && created.is_empty());
            }
            BATCH => {
                let access = self.policy_arn("batch-access");
                let info = self.iam().get_policy(&access).await.unwrap();
                assert_eq!(before.versions[&access].0, "v2");
                assert_eq!(info.default_version_id, "v3", "a new default version");
                assert_eq!(now.versions[&access].0, "v3");
                assert_eq!(
                    versions_before,
                    &BTreeMap::from([(access.clone(), "v2".to_string())]),
                    "the journal names the default version to go back to"
                );
                assert_eq!(
                    created,
                    &BTreeMap::from([(access.clone(), "v3".to_string())])
                );
                assert_eq!(
                    self.iam()
                        .list_policy_versions(&access)
                        .await
                        .unwrap()
                        .len(),
                    3
                );
                let unused = self
                    .iam()
                    .get_policy(&self.policy_arn("batch-unused"))
                    .await;
                assert_eq!(unused.unwrap().attachment_count, 0, "detached, not deleted");
            }
            WEB => {
                let copy = self.iam().get_policy(&self.copy_arn()).await.unwrap();
                assert_eq!(copy.path, "/whittle/");
                assert_eq!(copy.name, "whittle-web-shared-access");
                assert_eq!(copy.attachment_count, 1);
                assert_eq!(copy.default_version_id, "v1");
                let shared = self.policy_arn("shared-access");
                let original = self.iam().get_policy(&shared).await.unwrap();
                assert_eq!(original.attachment_count, 1, "still attached to worker");
                assert_eq!(
                    original.default_version_id, "v1",
                    "the original is untouched"
                );
                assert!(created.is_empty() && versions_before.is_empty());
            }
            other => panic!("unexpected role {other}"),
        }
    }

    /// The role is exactly as in `before`: same role, same inline documents
    /// (text), attachments, default versions and their documents (text).
    async fn assert_restored(&self, before: &Snapshot) {
        let role = &before.role;
        let now = self.snapshot(role).await;
        assert_eq!(now.role_id, before.role_id, "{role}");
        assert_eq!(now.state, before.state, "{role}: back byte for byte");
        assert_eq!(
            now.versions, before.versions,
            "{role}: the same default versions"
        );
        match role.as_str() {
            WEB => {
                let gone = self.iam().get_policy(&self.copy_arn()).await.unwrap_err();
                assert_eq!(
                    gone.kind,
                    ErrorKind::NotFound,
                    "the copy is deleted: {gone}"
                );
                let shared = self.policy_arn("shared-access");
                let original = self.iam().get_policy(&shared).await.unwrap();
                assert_eq!(original.attachment_count, 2);
            }
            BATCH => {
                let unused = self
                    .iam()
                    .get_policy(&self.policy_arn("batch-unused"))
                    .await;
                assert_eq!(unused.unwrap().attachment_count, 1);
            }
            _ => {}
        }
    }

    /// Checks that `id` is rolled back by `by`, an applied rollback of it.
    fn assert_rolled_back(&self, id: ChangeId, by: ChangeId, before: &Snapshot) {
        let journal = self.engine.journal();
        let rec = journal.get(id).unwrap();
        assert_eq!(rec.state, ChangeState::RolledBack, "{}", before.role);
        assert_eq!(rec.rolled_back_by, Some(by), "{}", before.role);
        let undo = journal.get(by).unwrap();
        assert_eq!(undo.kind, ChangeKind::Rollback { of: id });
        assert_eq!(undo.state, ChangeState::Applied);
        assert_eq!(undo.role_name, before.role);
        assert_eq!(
            undo.after, before.state,
            "the rollback's after is the before-image"
        );
        assert_eq!(undo.diff, rec.diff.inverse(), "the exact inverse");
    }

    fn report(&self, test: &str, started: Instant) {
        let calls = self.account.iam.calls();
        let total = self.account.iam.total();
        eprintln!(
            "{test}: {total} IAM/STS calls ({} writes) in {:.1} s: {calls:?}",
            self.account.iam.writes(),
            started.elapsed().as_secs_f64()
        );
        assert!(total <= CALL_BUDGET, "{test}: {total} calls: {calls:?}");
    }
}

/// Creates the roles and policies (about 20 calls).
async fn populate(account: &Account) {
    let iam = account.iam.as_ref();
    for role in [APP, BATCH, WEB, WORKER] {
        account.create_role(role).await;
    }
    iam.put_role_policy(APP, "main", APP_MAIN).await.unwrap();
    iam.put_role_policy(APP, "legacy", APP_LEGACY)
        .await
        .unwrap();

    let access = iam
        .create_policy("batch-access", "/", BATCH_ACCESS_V1, None)
        .await
        .unwrap();
    let v2 = iam
        .create_policy_version(&access, BATCH_ACCESS_V2, true)
        .await
        .unwrap();
    assert_eq!(v2, "v2");
    let unused = iam
        .create_policy(
            "batch-unused",
            "/",
            BATCH_UNUSED,
            Some("nothing in it is used"),
        )
        .await
        .unwrap();
    iam.attach_role_policy(BATCH, &access).await.unwrap();
    iam.attach_role_policy(BATCH, &unused).await.unwrap();

    let shared = iam
        .create_policy("shared-access", "/", SHARED, None)
        .await
        .unwrap();
    iam.attach_role_policy(WEB, &shared).await.unwrap();
    iam.attach_role_policy(WORKER, &shared).await.unwrap();
}

/// What access advisor would report for every role, observed three hours ago:
/// S3 and DynamoDB in use (S3's tracked `GetBucketLocation` used, its other
/// tracked actions not), SQS, SNS, Kinesis and EC2 never used.
fn usage(now: DateTime<Utc>) -> Usage {
    let ago = |days| Some(now - Duration::days(days));
    let mut services = BTreeMap::new();
    services.insert(
        "s3".to_string(),
        ServiceUsage {
            last_authenticated: ago(1),
            actions: BTreeMap::from([
                ("getbucketlocation".to_string(), ago(1)),
                ("getbucketacl".to_string(), ago(200)),
                ("getbucketpolicy".to_string(), None),
            ]),
        },
    );
    services.insert(
        "dynamodb".to_string(),
        ServiceUsage {
            last_authenticated: ago(2),
            actions: BTreeMap::from([("describetable".to_string(), ago(2))]),
        },
    );
    for never in ["sqs", "sns", "kinesis", "ec2"] {
        services.insert(never.to_string(), ServiceUsage::default());
    }
    Usage {
        observed_at: now - Duration::hours(3),
        granularity: Granularity::Action,
        services,
    }
}

/// The statement with this Sid.
fn statement(doc: &str, sid: &str) -> Value {
    let doc: Value = serde_json::from_str(doc).unwrap();
    let found = doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == sid);
    found
        .unwrap_or_else(|| panic!("no statement {sid} in {doc}"))
        .clone()
}

/// The catalogue actions a statement grants, as `service:Action` names.
fn granted(statement: &Value) -> BTreeSet<String> {
    let cat = Catalogue::embedded();
    let patterns: Vec<&str> = match &statement["Action"] {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().map(|v| v.as_str().unwrap()).collect(),
        other => panic!("no Action in {other}"),
    };
    patterns
        .iter()
        .flat_map(|p| cat.expand(p))
        .map(|id| cat.full_name(id))
        .collect()
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// IAM hands every document back as written: the texts a rollback must restore.
fn check_as_written(w: &World, before: &Snapshot) {
    // (name, document) of each inline policy; (name, default version, its
    // document) of each attached policy.
    type Expected = (&'static [(&'static str, &'static str)], &'static [Version]);
    type Version = (&'static str, &'static str, &'static str);
    let (inline, managed): Expected = match before.role.as_str() {
        APP => (&[("main", APP_MAIN), ("legacy", APP_LEGACY)], &[]),
        BATCH => (
            &[],
            &[
                ("batch-access", "v2", BATCH_ACCESS_V2),
                ("batch-unused", "v1", BATCH_UNUSED),
            ],
        ),
        WEB | WORKER => (&[], &[("shared-access", "v1", SHARED)]),
        other => panic!("unexpected role {other}"),
    };
    let inline: BTreeMap<String, String> = inline
        .iter()
        .map(|(n, d)| (n.to_string(), d.to_string()))
        .collect();
    assert_eq!(before.state.inline, inline, "{}", before.role);
    let managed: BTreeMap<String, (String, String)> = managed
        .iter()
        .map(|(n, v, d)| (w.policy_arn(n), (v.to_string(), d.to_string())))
        .collect();
    assert_eq!(before.versions, managed, "{}", before.role);
    assert_eq!(
        before.state.attached,
        managed.keys().cloned().collect::<BTreeSet<_>>()
    );
}

/// What the plan of each role must do.
fn check_plan(w: &World, role: &str, plan: &RolePlan) {
    assert!(plan.has_changes(), "{role}: {:?}", plan.skipped);
    assert_eq!(plan.skipped, None, "{role}");
    match role {
        APP => {
            assert!(plan.managed.is_empty());
            assert_eq!(
                plan.new_inline_policies.get("legacy"),
                Some(&None),
                "every action of `legacy` is unused: deleted"
            );
            let main = &plan.after.inline["main"];
            let read = granted(&statement(main, "ReadData"));
            assert!(read.iter().all(|a| a.starts_with("s3:Get")), "{read:?}");
            for kept in ["s3:GetObject", "s3:GetBucketLocation"] {
                assert!(read.contains(kept), "{kept} is kept: {read:?}");
            }
            for gone in ["s3:GetBucketAcl", "s3:GetBucketPolicy"] {
                assert!(!read.contains(gone), "{gone} is unused: {read:?}");
            }
            for sid in ["NeverDeleteBuckets", "NOREPOBreakGlass"] {
                assert_eq!(
                    statement(main, sid),
                    statement(APP_MAIN, sid),
                    "{sid} is left as written"
                );
            }
            assert!(plan.decisions.iter().any(|d| d.reason == Reason::Norepo));
            let vpc = statement(main, "FromTheVpc");
            assert_eq!(
                vpc["Condition"],
                statement(APP_MAIN, "FromTheVpc")["Condition"]
            );
            assert_eq!(granted(&vpc), names(&["dynamodb:GetItem"]));
            assert!(!main.contains("sqs:") && !main.contains("sns:"), "{main}");
        }
        BATCH => {
            let access = w.policy_arn("batch-access");
            let unused = w.policy_arn("batch-unused");
            let outcomes: BTreeMap<&str, &ManagedOutcome> = plan
                .managed
                .iter()
                .map(|m| (m.arn.as_str(), &m.outcome))
                .collect();
            let ManagedOutcome::Trim { document } = outcomes[access.as_str()] else {
                panic!("batch-access is trimmed in place: {outcomes:?}")
            };
            assert_eq!(
                granted(&statement(document, "Batch")),
                names(&["s3:GetObject", "s3:PutObject"])
            );
            assert_eq!(outcomes[unused.as_str()], &ManagedOutcome::Detach);
            assert_eq!(plan.after.attached, BTreeSet::from([access]));
        }
        WEB => {
            let shared = w.policy_arn("shared-access");
            let [m] = plan.managed.as_slice() else {
                panic!("{:?}", plan.managed)
            };
            let ManagedOutcome::ReplaceWithCopy {
                copy_arn, document, ..
            } = &m.outcome
            else {
                panic!("the shared policy is replaced by a copy: {:?}", m.outcome)
            };
            assert_eq!(copy_arn, &w.copy_arn());
            assert_eq!(
                granted(&statement(document, "Shared")),
                names(&["s3:ListBucket"])
            );
            assert_eq!(plan.after.attached, BTreeSet::from([copy_arn.clone()]));
            let diff = plan.diff();
            let step =
                |wanted: &dyn Fn(&Change) -> bool| diff.changes.iter().position(wanted).unwrap();
            let create = step(
                &|c| matches!(c, Change::ManagedDocument { arn, before: None, .. } if arn == copy_arn),
            );
            let attach = step(
                &|c| matches!(c, Change::Attachment { arn, after: true, .. } if arn == copy_arn),
            );
            let detach = step(
                &|c| matches!(c, Change::Attachment { arn, after: false, .. } if *arn == shared),
            );
            assert!(
                create < attach && attach < detach,
                "copy created, attached, then the original detached: {diff:?}"
            );
        }
        other => panic!("unexpected role {other}"),
    }
}

#[tokio::test]
async fn apply_then_rollback_role_by_role_restores_everything() {
    let started = Instant::now();
    let w = World::new().await;
    let worker = w.snapshot(WORKER).await;
    check_as_written(&w, &worker);
    for role in PLANNED {
        let (before, plan) = w.snapshot_and_plan(role).await;
        check_as_written(&w, &before);
        assert_eq!(plan.before, before.state, "{role}");
        check_plan(&w, role, &plan);
        let id = w.apply(&before, &plan).await;

        let calls = w.account.iam.total();
        let back = w.engine.rollback_role(role, false).await.unwrap();
        let calls = w.account.iam.total() - calls;
        eprintln!("{role}: the rollback made {calls} IAM calls");
        assert_eq!(back.change, id, "{role}");
        assert_eq!(back.role, role);
        w.assert_restored(&before).await;
        w.assert_rolled_back(id, back.by, &before);
    }
    w.assert_restored(&worker).await;
    let all = w.engine.journal().list(&ChangeFilter::default()).unwrap();
    assert_eq!(all.len(), 6, "three applies and their rollbacks");
    w.report("role by role", started);
}

#[tokio::test]
async fn rollback_since_restores_the_whole_account() {
    let started = Instant::now();
    let w = World::new().await;
    let worker = w.snapshot(WORKER).await;
    check_as_written(&w, &worker);
    let mut applied = Vec::new();
    for role in PLANNED {
        let (before, plan) = w.snapshot_and_plan(role).await;
        check_as_written(&w, &before);
        check_plan(&w, role, &plan);
        let id = w.apply(&before, &plan).await;
        applied.push((id, before));
    }
    let calls = w.account.iam.total();
    let results = w
        .engine
        .rollback_since(w.now - Duration::hours(1), false)
        .await
        .unwrap();
    let calls = w.account.iam.total() - calls;
    eprintln!("rollback_since made {calls} IAM calls");
    assert_eq!(results.len(), PLANNED.len());
    let results: Vec<_> = results.into_iter().map(Result::unwrap).collect();
    let undone: Vec<ChangeId> = results.iter().map(|r| r.change).collect();
    let newest_first: Vec<ChangeId> = applied.iter().rev().map(|(id, _)| *id).collect();
    assert_eq!(undone, newest_first, "newest first");
    for ((id, before), back) in applied.iter().zip(results.iter().rev()) {
        assert_eq!(back.role, before.role);
        w.assert_restored(before).await;
        w.assert_rolled_back(*id, back.by, before);
    }
    w.assert_restored(&worker).await;
    let still_applied = ChangeFilter {
        states: vec![ChangeState::Applied],
        ..ChangeFilter::default()
    };
    let still_applied = w.engine.journal().list(&still_applied).unwrap();
    assert_eq!(still_applied.len(), PLANNED.len());
    assert!(
        still_applied
            .iter()
            .all(|r| matches!(r.kind, ChangeKind::Rollback { .. })),
        "only the rollbacks remain applied"
    );
    w.report("rollback_since", started);
}
