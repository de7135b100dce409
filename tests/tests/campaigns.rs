//! Campaigns, scheduled approvals, opt-outs and the org report, end to end: a real
//! coordinator (its campaign driver ticking every 100 ms) and three in-process agents on
//! simulated accounts, over mutual TLS on loopback. Every scenario asserts what an operator
//! observes through the AdminService and what IAM holds.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use std::collections::BTreeMap;

use chrono::{Duration as Span, Utc};
use tonic::transport::Channel;
use whittle_aws::ErrorKind;
use whittle_policy::change::{ChangeKind, ChangeRecord, ChangeState};
use whittle_policy::diff::RoleState;
use whittle_proto::admin::v1 as pb;
use whittle_proto::admin::v1::admin_service_client::AdminServiceClient;
use whittle_proto::convert::PlanSummary;
use whittle_proto::identity::OperatorRole;
use whittle_tests::{ACCOUNTS, Fleet, eventually};

type Admin = AdminServiceClient<Channel>;

/// Roles of the example account with something removable.
const PIPELINE: &str = "data-pipeline";
const FRONTEND: &str = "app-web-frontend";

/// Waits until every account reported its plans.
async fn ready(admin: &Admin) {
    eventually("every account reported its plans", || async {
        for account in ACCOUNTS {
            let roles = admin
                .clone()
                .list_roles(pb::ListRolesRequest {
                    account_id: account.into(),
                })
                .await
                .unwrap()
                .into_inner()
                .roles;
            if roles.len() != 8 {
                return None;
            }
        }
        let accounts = admin
            .clone()
            .list_accounts(pb::ListAccountsRequest {})
            .await
            .unwrap()
            .into_inner()
            .accounts;
        (accounts.len() == ACCOUNTS.len()
            && accounts
                .iter()
                .all(|a| a.connected && a.last_report.is_some() && a.roles == 8))
        .then_some(())
    })
    .await;
}

fn wave(spec: &str) -> pb::WaveSize {
    use pb::wave_size::Size;
    let size = match spec.strip_suffix('%') {
        Some(p) => Size::Percent(p.parse().unwrap()),
        None => Size::Accounts(spec.parse().unwrap()),
    };
    pb::WaveSize { size: Some(size) }
}

fn campaign_request(waves: &[&str], soak_seconds: u64) -> pb::CreateCampaignRequest {
    pb::CreateCampaignRequest {
        accounts: Vec::new(),
        unused_days: None,
        waves: waves.iter().map(|w| wave(w)).collect(),
        max_roles_per_wave: None,
        not_before: None,
        soak_seconds: Some(soak_seconds),
        description: "test".into(),
    }
}

async fn create(admin: &Admin, request: pb::CreateCampaignRequest) -> pb::Campaign {
    admin
        .clone()
        .create_campaign(request)
        .await
        .unwrap()
        .into_inner()
        .campaign
        .unwrap()
}

async fn campaign(admin: &Admin, id: &str) -> pb::Campaign {
    admin
        .clone()
        .get_campaign(pb::GetCampaignRequest {
            campaign_id: id.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .campaign
        .unwrap()
}

/// Waits until the campaign is in `state`.
async fn campaign_in(admin: &Admin, id: &str, state: &str) -> pb::Campaign {
    eventually(&format!("campaign {id} {state}"), || async {
        let c = campaign(admin, id).await;
        (c.state == state).then_some(c)
    })
    .await
}

fn role<'a>(c: &'a pb::Campaign, account: &str, name: &str) -> &'a pb::CampaignRole {
    c.waves
        .iter()
        .flat_map(|w| &w.roles)
        .find(|r| r.account_id == account && r.role_name == name)
        .unwrap_or_else(|| panic!("{account}/{name} is not in the campaign"))
}

async fn history(admin: &Admin, account: &str) -> Vec<ChangeRecord> {
    admin
        .clone()
        .history(pb::HistoryRequest {
            account_id: Some(account.into()),
            ..pb::HistoryRequest::default()
        })
        .await
        .unwrap()
        .into_inner()
        .changes
        .into_iter()
        .map(|c| ChangeRecord::try_from(c).unwrap())
        .collect()
}

async fn plan(admin: &Admin, account: &str, role: &str) -> pb::GetPlanResponse {
    admin
        .clone()
        .get_plan(pb::GetPlanRequest {
            account_id: account.into(),
            role_name: role.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn report(admin: &Admin) -> pb::ReportResponse {
    admin
        .clone()
        .report(pb::ReportRequest { top: 5 })
        .await
        .unwrap()
        .into_inner()
}

/// Every role's state in every account.
async fn states(fleet: &Fleet) -> Vec<BTreeMap<String, RoleState>> {
    let mut out = Vec::new();
    for agent in &fleet.agents {
        let mut roles = BTreeMap::new();
        for name in [PIPELINE, FRONTEND, "ci-deployer", "reporting-lambda"] {
            roles.insert(name.to_string(), agent.state(name).await);
        }
        out.push(roles);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_applies_a_canary_wave_then_the_rest_after_the_soak() {
    let fleet = Fleet::start().await;
    let admin = fleet.admin("ada", OperatorRole::Operator).await;
    ready(&admin).await;
    let before = states(&fleet).await;
    let report_before = report(&admin).await;
    assert_eq!(report_before.totals.as_ref().unwrap().removed, 0);
    assert!(report_before.totals.as_ref().unwrap().removable_now > 0);

    // Announced two seconds ahead: until then the plan says what will go, and when.
    let mut request = campaign_request(&["1", "100%"], 1);
    request.not_before = Some((Utc::now() + Span::seconds(2)).to_rfc3339());
    let created = create(&admin, request).await;
    assert_eq!(created.state, "scheduled");
    assert_eq!(created.waves.len(), 2);
    assert_eq!(created.waves[0].accounts, vec![ACCOUNTS[0].to_string()]);
    assert_eq!(created.waves[1].accounts.len(), 2);
    let shown = plan(&admin, ACCOUNTS[1], PIPELINE).await;
    let announced = shown
        .announcements
        .iter()
        .find(|a| a.campaign_id.as_deref() == Some(&created.campaign_id))
        .expect("the campaign is announced on the role's plan");
    assert_eq!(announced.wave, Some(2));
    assert!(!announced.removals.is_empty());
    assert!(
        fleet.agents[0]
            .state(PIPELINE)
            .await
            .same_as(&before[0][PIPELINE]),
        "nothing is removed before not_before"
    );

    let done = campaign_in(&admin, &created.campaign_id, "completed").await;
    let (w1, w2) = (&done.waves[0], &done.waves[1]);
    assert_eq!((w1.state.as_str(), w2.state.as_str()), ("done", "done"));
    let w1_end = chrono::DateTime::parse_from_rfc3339(w1.finished_at.as_ref().unwrap()).unwrap();
    let w2_start = chrono::DateTime::parse_from_rfc3339(w2.started_at.as_ref().unwrap()).unwrap();
    assert!(
        w2_start >= w1_end + Span::seconds(1),
        "wave 2 waited the soak"
    );
    for (i, account) in ACCOUNTS.iter().enumerate() {
        let applied = history(&admin, account).await;
        for name in [PIPELINE, FRONTEND] {
            assert_eq!(role(&done, account, name).state, "applied");
            let changes: Vec<&ChangeRecord> = applied
                .iter()
                .filter(|c| c.role_name == name && c.kind == ChangeKind::Apply)
                .collect();
            assert_eq!(changes.len(), 1, "{account}/{name}: one apply");
            assert_eq!(changes[0].state, ChangeState::Applied);
            let now = fleet.agents[i].state(name).await;
            assert!(
                now.same_as(&changes[0].after),
                "{account}/{name} is as after"
            );
            assert!(!now.same_as(&before[i][name]));
        }
    }
    let after = report(&admin).await;
    let totals = after.totals.unwrap();
    assert!(totals.removed > 0, "{totals:?}");
    assert_eq!(after.accounts.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_apply_halts_the_campaign_and_resume_goes_on() {
    let fleet = Fleet::start().await;
    let admin = fleet.admin("ada", OperatorRole::Operator).await;
    ready(&admin).await;
    let before = states(&fleet).await;
    // Every inline policy write fails in the canary account.
    fleet.agents[0]
        .sim
        .fail_always("PutRolePolicy", ErrorKind::AccessDenied);

    let created = create(&admin, campaign_request(&["1", "100%"], 0)).await;
    let halted = campaign_in(&admin, &created.campaign_id, "halted").await;
    assert_eq!(halted.waves[0].state, "failed");
    assert!(halted.detail.contains("failed"), "{}", halted.detail);
    assert_eq!(
        halted.waves[1].state, "waiting",
        "the next wave never starts"
    );
    assert!(halted.waves[1].roles.iter().all(|r| r.state == "announced"));
    for (i, account) in ACCOUNTS.iter().enumerate().skip(1) {
        assert!(
            history(&admin, account).await.is_empty(),
            "{account} untouched"
        );
        assert!(
            fleet.agents[i]
                .state(PIPELINE)
                .await
                .same_as(&before[i][PIPELINE])
        );
    }
    // The failed apply left its role as it was.
    assert!(
        fleet.agents[0]
            .state(PIPELINE)
            .await
            .same_as(&before[0][PIPELINE])
    );

    // Wait until the canary's other decisions have their outcomes (they fail too).
    eventually("the canary's decisions are finished", || async {
        let open = admin
            .clone()
            .list_decisions(pb::ListDecisionsRequest {
                campaign_id: Some(created.campaign_id.clone()),
                states: vec![
                    pb::DecisionState::Pending.into(),
                    pb::DecisionState::Sent.into(),
                ],
                ..pb::ListDecisionsRequest::default()
            })
            .await
            .unwrap()
            .into_inner()
            .decisions;
        open.is_empty().then_some(())
    })
    .await;
    fleet.agents[0].sim.clear_faults();
    let resumed = admin
        .clone()
        .control_campaign(pb::ControlCampaignRequest {
            campaign_id: created.campaign_id.clone(),
            control: pb::CampaignControl::Resume.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .campaign
        .unwrap();
    assert_eq!(resumed.state, "running");
    let done = campaign_in(&admin, &created.campaign_id, "completed").await;
    assert!(
        done.waves[0]
            .roles
            .iter()
            .any(|r| r.state == "skipped" && r.detail.contains("resumed past by ada")),
        "{:?}",
        done.waves[0].roles
    );
    assert_eq!(role(&done, ACCOUNTS[1], PIPELINE).state, "applied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opted_out_role_is_left_alone_by_campaigns() {
    let fleet = Fleet::start().await;
    let admin = fleet.admin("ada", OperatorRole::Operator).await;
    ready(&admin).await;
    let before = fleet.agents[1].state(PIPELINE).await;
    let until = (Utc::now() + Span::days(30)).to_rfc3339();
    admin
        .clone()
        .add_opt_out(pb::AddOptOutRequest {
            account_id: ACCOUNTS[1].into(),
            role_name: PIPELINE.into(),
            reason: "quarter-end batch".into(),
            until: until.clone(),
            owner: "data-team".into(),
        })
        .await
        .unwrap();
    // An opt-out in the past is refused with the reason.
    let refused = admin
        .clone()
        .add_opt_out(pb::AddOptOutRequest {
            account_id: ACCOUNTS[1].into(),
            role_name: FRONTEND.into(),
            reason: "x".into(),
            until: "2020-01-01T00:00:00Z".into(),
            owner: "web".into(),
        })
        .await
        .unwrap_err();
    assert!(refused.message().contains("not after now"), "{refused:?}");

    let created = create(&admin, campaign_request(&["100%"], 0)).await;
    let done = campaign_in(&admin, &created.campaign_id, "completed").await;
    let opted = role(&done, ACCOUNTS[1], PIPELINE);
    assert_eq!(opted.state, "opted out");
    assert!(opted.detail.contains("data-team"), "{}", opted.detail);
    assert!(fleet.agents[1].state(PIPELINE).await.same_as(&before));
    assert!(
        !history(&admin, ACCOUNTS[1])
            .await
            .iter()
            .any(|c| c.role_name == PIPELINE)
    );
    assert_eq!(role(&done, ACCOUNTS[1], FRONTEND).state, "applied");
    let listed = admin
        .clone()
        .list_opt_outs(pb::ListOptOutsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .opt_outs;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].created_by, "ada");
    let r = report(&admin).await;
    let account = r
        .accounts
        .iter()
        .find(|a| a.account_id == ACCOUNTS[1])
        .unwrap();
    assert_eq!(account.excluded, 1, "the opted-out role counts as excluded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_approval_is_announced_then_applied_when_due() {
    let fleet = Fleet::start().await;
    let admin = fleet.admin("ada", OperatorRole::Operator).await;
    ready(&admin).await;
    let before = fleet.agents[0].state(PIPELINE).await;
    let at = Utc::now() + Span::seconds(2);
    let decisions = admin
        .clone()
        .approve(pb::ApproveRequest {
            account_id: ACCOUNTS[0].into(),
            role_names: vec![PIPELINE.into()],
            all_removable: false,
            not_before: Some(at.to_rfc3339()),
        })
        .await
        .unwrap()
        .into_inner()
        .decisions;
    assert_eq!(decisions[0].state(), pb::DecisionState::Scheduled);
    let shown = plan(&admin, ACCOUNTS[0], PIPELINE).await;
    assert_eq!(shown.announcements.len(), 1);
    assert_eq!(shown.announcements[0].status, "scheduled approval");
    assert!(!shown.announcements[0].removals.is_empty());
    assert!(fleet.agents[0].state(PIPELINE).await.same_as(&before));

    let id = decisions[0].decision_id.clone();
    let applied = eventually("the scheduled decision is applied", || async {
        let listed = admin
            .clone()
            .list_decisions(pb::ListDecisionsRequest {
                account_id: Some(ACCOUNTS[0].into()),
                ..pb::ListDecisionsRequest::default()
            })
            .await
            .unwrap()
            .into_inner()
            .decisions;
        listed
            .into_iter()
            .find(|d| d.decision_id == id && d.state() == pb::DecisionState::Applied)
    })
    .await;
    assert!(Utc::now() >= at);
    assert!(applied.change_id.is_some());
    assert!(!fleet.agents[0].state(PIPELINE).await.same_as(&before));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_whose_plan_grew_is_announced_again_not_widened() {
    let fleet = Fleet::start().await;
    let admin = fleet.admin("ada", OperatorRole::Operator).await;
    ready(&admin).await;
    // The role stops using everything after its plan was reported: its live plan grows.
    let shown = eventually("the role's plan is reported", || async {
        admin
            .clone()
            .get_plan(pb::GetPlanRequest {
                account_id: ACCOUNTS[0].into(),
                role_name: FRONTEND.into(),
            })
            .await
            .ok()
            .map(|r| r.into_inner())
    })
    .await;
    let summary = PlanSummary::try_from(shown.plan.unwrap()).unwrap();
    let mut usage = summary
        .inputs
        .usage
        .clone()
        .expect("the role has usage data");
    for service in usage.services.values_mut() {
        service.last_authenticated = None;
        for used in service.actions.values_mut() {
            *used = None;
        }
    }
    // The coordinator announces from the plan the agent reported before the change.
    fleet.agents[0].sim.set_usage(FRONTEND, usage);
    let mut request = campaign_request(&["100%"], 1);
    request.accounts = vec![ACCOUNTS[0].into()];
    let created = create(&admin, request).await;
    let announced_first = role(&created, ACCOUNTS[0], FRONTEND).announced;

    let done = campaign_in(&admin, &created.campaign_id, "completed").await;
    let grown = role(&done, ACCOUNTS[0], FRONTEND);
    assert_eq!(grown.state, "applied", "{grown:?}");
    assert!(grown.announced > announced_first, "announced again, wider");
    let decisions = admin
        .clone()
        .list_decisions(pb::ListDecisionsRequest {
            account_id: Some(ACCOUNTS[0].into()),
            role_name: Some(FRONTEND.into()),
            ..pb::ListDecisionsRequest::default()
        })
        .await
        .unwrap()
        .into_inner()
        .decisions;
    // Newest first: the applied one, then the one the agent refused.
    assert_eq!(decisions.len(), 2, "{decisions:?}");
    assert_eq!(decisions[1].state(), pb::DecisionState::Cancelled);
    assert!(
        decisions[1].detail.contains("did not announce"),
        "{decisions:?}"
    );
    assert_eq!(decisions[0].state(), pb::DecisionState::Applied);
    let applies = history(&admin, ACCOUNTS[0])
        .await
        .into_iter()
        .filter(|c| c.role_name == FRONTEND && c.kind == ChangeKind::Apply)
        .count();
    assert_eq!(applies, 1);
}
