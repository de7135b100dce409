//! The fleet as processes: `whittle-coordinator serve`, one `whittle-agent run` per
//! simulated account and the `whittle` CLI, over mutual TLS on loopback. Campaigns,
//! halts, opt-outs, exclusions pushed mid-campaign, emergency rollbacks in every agent
//! situation, and `kill -9` of an agent and of the coordinator mid-campaign.
//!
//! Needs the binaries built (`cargo build --bins`); each test has its own directory and
//! port, and every wait is bounded.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

#[path = "processes/fleet.rs"]
mod fleet;

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use fleet::{Fleet, WAIT, attached_only, campaign_roles, changes, expect_success, wait_for};
use serde_json::{Value, json};

const ACCOUNTS: [&str; 3] = ["111111111111", "222222222222", "333333333333"];
const ROLES: u32 = 12;

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap()
}

/// Every role the campaign applied has exactly one applied Apply change in its account's
/// history, and IAM now holds that change's after-image; every other role is as generated.
fn assert_applied_exactly_once(fleet: &Fleet, campaign: &Value) -> usize {
    let mut applied = 0;
    for account in &fleet.accounts {
        let history = fleet.history(account);
        for (_, role) in campaign_roles(campaign)
            .into_iter()
            .filter(|(_, r)| r["account_id"] == account.as_str())
        {
            let name = text(&role["role_name"]);
            let done: Vec<&Value> = changes(&history, name, "apply")
                .into_iter()
                .filter(|c| c["state"] == "applied")
                .collect();
            let now = fleet.role_state(account, name);
            if role["state"] == "applied" {
                applied += 1;
                assert_eq!(done.len(), 1, "{account}/{name}: applied once: {done:?}");
                assert_eq!(
                    now,
                    attached_only(&done[0]["after"]),
                    "{account}/{name} is fully after"
                );
                assert_eq!(
                    attached_only(&done[0]["before"]),
                    fleet.seed_state(account, name),
                    "{account}/{name}: the change started from the generated state"
                );
            } else {
                assert!(done.is_empty(), "{account}/{name} ({role}) was applied");
                assert_eq!(
                    now,
                    fleet.seed_state(account, name),
                    "{account}/{name} is fully before"
                );
            }
        }
    }
    applied
}

#[test]
fn a_campaign_runs_a_canary_wave_then_the_rest_to_completion() {
    let fleet = Fleet::start(&ACCOUNTS, ROLES, 20);
    let created =
        fleet.create_campaign(&["--accounts", "all", "--waves", "1,100%", "--soak", "1s"]);
    let id = text(&created["campaign_id"]);
    let canary = created["waves"][0]["accounts"].as_array().unwrap();
    assert_eq!(canary.len(), 1, "one canary account: {created}");
    assert_eq!(created["waves"][1]["accounts"].as_array().unwrap().len(), 2);

    let done = fleet.wait_campaign(id, "completed");
    let waves = done["waves"].as_array().unwrap();
    assert!(waves.iter().all(|w| w["state"] == "done"), "{done}");
    let soak_end = time(&waves[0]["finished_at"]) + chrono::Duration::seconds(1);
    assert!(
        time(&waves[1]["started_at"]) >= soak_end,
        "wave 2 started after wave 1 and the soak: {done}"
    );
    let applied = assert_applied_exactly_once(&fleet, &done);
    assert!(applied > 0, "the campaign applied something: {done}");

    let report = fleet.json(&["report"]);
    assert!(
        report["totals"]["removed"].as_u64().unwrap() > 0,
        "the report counts removed permissions: {report}"
    );
    assert!(fleet.ok(&["report"]).contains("REMOVED"));
}

/// Makes `role`'s next apply refuse: the simulated account of a stopped agent gets an
/// extra inline policy (a `Deny`, so the plan removes the same actions), the way a team
/// editing the role by hand would. The agent re-reads the role before writing, sees that it
/// is no longer the state the decision was planned on, and refuses: a failed decision.
/// (Faults of `whittle_aws::sim` cannot be set in a running `whittle-agent` process.)
fn edit_by_hand(fleet: &Fleet, account: &str, role: &str) {
    let path = fleet.sim_dir(account).join("authorization-details.json");
    let mut details: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let entry = details["RoleDetailList"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["RoleName"] == role)
        .unwrap();
    entry["RolePolicyList"].as_array_mut().unwrap().push(json!({
        "PolicyName": "hand-edit",
        "PolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]
        }
    }));
    std::fs::write(&path, serde_json::to_string_pretty(&details).unwrap()).unwrap();
}

#[test]
fn a_failed_apply_halts_the_campaign_until_resumed() {
    let mut fleet = Fleet::start(&ACCOUNTS, ROLES, 20);
    let not_before = rfc3339(Utc::now() + chrono::Duration::seconds(4));
    let created = fleet.create_campaign(&[
        "--accounts",
        "all",
        "--waves",
        "1,100%",
        "--soak",
        "1s",
        "--not-before",
        &not_before,
    ]);
    let id = text(&created["campaign_id"]).to_string();
    let canary = text(&created["waves"][0]["accounts"][0]).to_string();
    fleet.kill_agent(&canary);

    // Wave 1 starts: its decisions wait for the canary's agent.
    let started = wait_for("wave 1 made its decisions", WAIT, || {
        let c = fleet.json(&["campaign", "show", &id]);
        let roles = c["waves"][0]["roles"].as_array().unwrap().clone();
        roles
            .iter()
            .any(|r| r["state"] == "approved")
            .then_some(roles)
    });
    let victim = started
        .iter()
        .find(|r| r["state"] == "approved")
        .map(|r| text(&r["role_name"]).to_string())
        .unwrap();
    edit_by_hand(&fleet, &canary, &victim);
    fleet.start_agent(&canary);

    let halted = fleet.wait_campaign(&id, "halted");
    let roles = campaign_roles(&halted);
    let failed: Vec<&Value> = roles
        .iter()
        .filter(|(_, r)| r["state"] == "failed")
        .map(|(_, r)| r)
        .collect();
    assert_eq!(failed.len(), 1, "{halted}");
    assert_eq!(failed[0]["role_name"], victim.as_str());
    assert_eq!(halted["waves"][1]["state"], "waiting", "{halted}");
    let wave2: Vec<&Value> = roles
        .iter()
        .filter(|(n, _)| *n == 2)
        .map(|(_, r)| r)
        .collect();
    assert!(!wave2.is_empty());
    assert!(
        wave2.iter().all(|r| r["state"] == "announced"),
        "wave 2 never started: {halted}"
    );
    std::thread::sleep(Duration::from_secs(2));
    for account in created["waves"][1]["accounts"].as_array().unwrap() {
        let history = fleet.history(text(account));
        assert!(
            history.is_empty(),
            "nothing applied in {account}: {history:?}"
        );
    }

    fleet.ok(&["campaign", "resume", &id]);
    let done = fleet.wait_campaign(&id, "completed");
    let wave2 = &done["waves"][1]["roles"];
    assert!(
        wave2
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["state"] == "applied"),
        "wave 2 ran after the resume: {done}"
    );
    let history = fleet.history(&canary);
    assert!(
        changes(&history, &victim, "apply")
            .iter()
            .all(|c| c["state"] != "applied"),
        "the refused role was not changed"
    );
}

#[test]
fn an_opted_out_role_is_left_untouched() {
    let fleet = Fleet::start(&ACCOUNTS, ROLES, 20);
    let account = ACCOUNTS[1];
    let roles = fleet.json(&["roles", "--account", account]);
    let role = roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["removable"].as_u64().unwrap() > 0 && r["skipped"].is_null())
        .map(|r| text(&r["role_name"]).to_string())
        .expect("a role with something to remove");
    let until = rfc3339(Utc::now() + chrono::Duration::days(30));
    fleet.ok(&[
        "optout",
        "add",
        "--account",
        account,
        "--role",
        &role,
        "--reason",
        "quarter-end freeze",
        "--until",
        &until,
        "--owner",
        "team-payments",
    ]);
    let listed = fleet.json(&["optout", "list"]);
    assert!(listed.to_string().contains(&role), "{listed}");

    let created = fleet.create_campaign(&["--accounts", "all", "--waves", "100%"]);
    let done = fleet.wait_campaign(text(&created["campaign_id"]), "completed");
    let (_, entry) = campaign_roles(&done)
        .into_iter()
        .find(|(_, r)| r["account_id"] == account && r["role_name"] == role.as_str())
        .expect("the role is in the campaign");
    assert_eq!(entry["state"], "opted out", "{entry}");
    assert!(changes(&fleet.history(account), &role, "apply").is_empty());
    assert_eq!(
        fleet.role_state(account, &role),
        fleet.seed_state(account, &role)
    );
    assert!(assert_applied_exactly_once(&fleet, &done) > 0);
}

#[test]
fn an_exclusion_added_while_wave_one_soaks_covers_wave_two() {
    let fleet = Fleet::start(&ACCOUNTS, ROLES, 20);
    let created =
        fleet.create_campaign(&["--accounts", "all", "--waves", "1,100%", "--soak", "8s"]);
    let id = text(&created["campaign_id"]);
    let wave2 = created["waves"][1]["roles"].as_array().unwrap();
    let covered = text(&wave2[0]["role_name"]).to_string();
    let glob = format!("{covered}*");

    wait_for("wave 1 is done and soaking", WAIT, || {
        let c = fleet.json(&["campaign", "show", id]);
        (c["waves"][0]["state"] == "done").then_some(())
    });
    let c = fleet.json(&["campaign", "show", id]);
    assert_eq!(c["waves"][1]["state"], "waiting", "still soaking: {c}");
    fleet.ok(&[
        "exclusions",
        "add",
        "--role-glob",
        &glob,
        "--reason",
        "owned by another team",
    ]);
    let rules = fleet.json(&["exclusions", "list"]);
    assert!(rules.to_string().contains(&glob), "{rules}");

    let done = fleet.wait_campaign(id, "completed");
    let mut excluded = 0;
    for (_, role) in campaign_roles(&done).into_iter().filter(|(n, _)| *n == 2) {
        let name = text(&role["role_name"]);
        let account = text(&role["account_id"]);
        if name.starts_with(&covered) {
            excluded += 1;
            assert_eq!(role["state"], "excluded", "{role}");
            assert!(changes(&fleet.history(account), name, "apply").is_empty());
            assert_eq!(
                fleet.role_state(account, name),
                fleet.seed_state(account, name)
            );
        }
    }
    assert!(excluded > 0);
    assert!(assert_applied_exactly_once(&fleet, &done) > 0);
}

/// The roles a rollback answer says it restored.
fn restored(answer: &Value) -> BTreeSet<String> {
    answer["restored"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| text(&r["role_name"]).to_string())
        .collect()
}

/// The roles of `account` the campaign applied.
fn applied_roles(campaign: &Value, account: &str) -> BTreeSet<String> {
    campaign_roles(campaign)
        .into_iter()
        .filter(|(_, r)| r["account_id"] == account && r["state"] == "applied")
        .map(|(_, r)| text(&r["role_name"]).to_string())
        .collect()
}

fn assert_as_generated(fleet: &Fleet, account: &str, roles: &BTreeSet<String>) {
    for role in roles {
        assert_eq!(
            fleet.role_state(account, role),
            fleet.seed_state(account, role),
            "{account}/{role} is back as it was"
        );
    }
}

/// Waits until the coordinator's history holds an applied change of `kind` (`rollback`, or
/// `restore` for one made from the coordinator's history) to every role in `roles`.
fn wait_rolled_back(fleet: &Fleet, account: &str, roles: &BTreeSet<String>, kind: &str) {
    let mut last = Vec::new();
    let found = (0..150).any(|_| {
        last = fleet.history(account);
        let all = roles.iter().all(|r| {
            changes(&last, r, kind)
                .iter()
                .any(|c| c["state"] == "applied")
        });
        if !all {
            std::thread::sleep(Duration::from_millis(200));
        }
        all
    });
    let seen: Vec<(&Value, &Value, &Value)> = last
        .iter()
        .map(|c| (&c["role_name"], &c["kind"], &c["state"]))
        .collect();
    assert!(
        found,
        "{account}: a {kind} of each of {roles:?} in the history; it holds {seen:?}"
    );
}

#[test]
fn an_emergency_rollback_reaches_every_agent_situation() {
    let accounts = [
        "111111111111",
        "222222222222",
        "333333333333",
        "444444444444",
    ];
    let [connected, offline, redeployed, breakglass] = accounts;
    let mut fleet = Fleet::start(&accounts, ROLES, 20);
    let since = rfc3339(Utc::now() - chrono::Duration::seconds(1));
    let created = fleet.create_campaign(&["--accounts", "all", "--waves", "100%"]);
    let done = fleet.wait_campaign(text(&created["campaign_id"]), "completed");

    // Connected: the agent answers while the operator waits.
    let applied = applied_roles(&done, connected);
    assert!(!applied.is_empty());
    let answer = fleet.json(&[
        "rollback",
        "--account",
        connected,
        "--since",
        &since,
        "--wait",
        "60",
    ]);
    assert_eq!(answer["state"], "done", "{answer}");
    assert_eq!(restored(&answer), applied, "{answer}");
    assert_as_generated(&fleet, connected, &applied);

    // Disconnected: the request is queued, and runs when the agent is back.
    let applied = applied_roles(&done, offline);
    fleet.kill_agent(offline);
    let answer = fleet.json(&["rollback", "--account", offline, "--since", &since]);
    assert_eq!(answer["delivery"], "queued", "{answer}");
    fleet.start_agent(offline);
    wait_rolled_back(&fleet, offline, &applied, "rollback");
    assert_as_generated(&fleet, offline, &applied);

    // Re-deployed with an empty journal: the before-images come from the coordinator.
    let applied = applied_roles(&done, redeployed);
    fleet.kill_agent(redeployed);
    fleet.redeploy(redeployed);
    fleet.start_agent(redeployed);
    // Wait until the re-deployed agent holds the rules and has reported every role, so
    // that the rollback goes out on a settled stream.
    let rules = fleet.data_dir(redeployed).join("exclusions.json");
    wait_for("the re-deployed agent keeps the rules", WAIT, || {
        rules.is_file().then_some(())
    });
    std::thread::sleep(Duration::from_secs(3));
    fleet.wait_until_reported(ROLES);
    let answer = fleet.json(&[
        "rollback",
        "--account",
        redeployed,
        "--since",
        &since,
        "--wait",
        "60",
    ]);
    assert_eq!(answer["state"], "done", "{answer}");
    assert_eq!(restored(&answer), applied, "{answer}");
    assert_as_generated(&fleet, redeployed, &applied);

    // Break-glass: the coordinator is down; the agent's own journal is enough.
    let applied = applied_roles(&done, breakglass);
    fleet.kill_coordinator();
    fleet.kill_agent(breakglass);
    let seed = fleet.seed(breakglass);
    let data = fleet.data_dir(breakglass);
    let out = fleet.agent_cli(&[
        "rollback",
        "--all",
        "--since",
        &since,
        "--simulate",
        seed.to_str().unwrap(),
        "--account",
        breakglass,
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    expect_success("whittle-agent rollback --all", &out);
    assert_as_generated(&fleet, breakglass, &applied);

    // Every rollback is in the history, and those the operator asked for in the audit log.
    fleet.start_coordinator();
    fleet.start_agent(breakglass);
    wait_rolled_back(&fleet, breakglass, &applied, "rollback");
    let applied = applied_roles(&done, connected);
    wait_rolled_back(&fleet, connected, &applied, "rollback");
    // An agent with an empty journal restores the before-images the coordinator sent.
    let applied = applied_roles(&done, redeployed);
    wait_rolled_back(&fleet, redeployed, &applied, "restore");
    let audit = fleet.json(&["audit"]);
    for account in [connected, offline, redeployed] {
        assert!(
            audit
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == "rollback" && text(&e["target"]).contains(account)),
            "the rollback of {account} is audited: {audit}"
        );
    }
}

/// The changes of `account` as `(id, kind, state)`.
fn change_set(changes: &Value) -> BTreeSet<(String, String, String)> {
    changes
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                text(&c["id"]).to_string(),
                text(&c["kind"]["type"]).to_string(),
                text(&c["state"]).to_string(),
            )
        })
        .collect()
}

#[test]
fn a_campaign_survives_kill_9_of_an_agent_and_of_the_coordinator() {
    // A slow write rate, so that the kills land while applies are under way.
    let mut fleet = Fleet::start(&ACCOUNTS, 16, 4);
    let created =
        fleet.create_campaign(&["--accounts", "all", "--waves", "1,100%", "--soak", "1s"]);
    let id = text(&created["campaign_id"]).to_string();
    let late = text(&created["waves"][1]["accounts"][0]).to_string();

    wait_for("wave 1 applied a role", WAIT, || {
        let c = fleet.json(&["campaign", "show", &id]);
        campaign_roles(&c)
            .iter()
            .any(|(_, r)| r["state"] == "applied")
            .then_some(())
    });
    fleet.kill_coordinator();
    std::thread::sleep(Duration::from_millis(500));
    fleet.start_coordinator();

    wait_for(&format!("wave 2 applied a role in {late}"), WAIT, || {
        let c = fleet.json(&["campaign", "show", &id]);
        campaign_roles(&c)
            .iter()
            .any(|(n, r)| *n == 2 && r["account_id"] == late.as_str() && r["state"] == "applied")
            .then_some(())
    });
    fleet.kill_agent(&late);
    std::thread::sleep(Duration::from_millis(500));
    fleet.start_agent(&late);

    let done = fleet.wait_campaign(&id, "completed");
    assert!(assert_applied_exactly_once(&fleet, &done) > 0);

    // The agent's journal and the coordinator's history agree.
    for account in ACCOUNTS {
        fleet.kill_agent(account);
        let data = fleet.data_dir(account);
        let out = fleet.agent_cli(&[
            "history",
            "--data-dir",
            data.to_str().unwrap(),
            "--output",
            "json",
        ]);
        expect_success("whittle-agent history", &out);
        let journal = change_set(&serde_json::from_slice(&out.stdout).unwrap());
        assert!(!journal.is_empty(), "{account} journaled its changes");
        fleet.start_agent(account);
        wait_for(
            &format!("{account}'s history matches its journal"),
            WAIT,
            || {
                let history = change_set(&Value::Array(fleet.history(account)));
                (history == journal).then_some(())
            },
        );
    }
}
