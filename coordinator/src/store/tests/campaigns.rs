//! Campaigns, opt-outs and scheduled decisions.

use super::*;

fn wave(number: u32, roles: &[(&str, &str)]) -> Wave {
    Wave {
        number,
        accounts: roles.iter().map(|(a, _)| a.to_string()).collect(),
        state: WaveState::Waiting,
        started_at: None,
        finished_at: None,
        roles: roles
            .iter()
            .map(|(a, r)| CampaignRole {
                account_id: a.to_string(),
                role_name: r.to_string(),
                plan_fingerprint: "fp".into(),
                announced: vec!["s3:PutObject".into()],
                announced_at: t(0),
                due: t(10),
                state: CampaignRoleState::Announced,
                decision_id: None,
                detail: None,
            })
            .collect(),
    }
}

fn new_campaign(waves: Vec<Wave>) -> NewCampaign {
    NewCampaign {
        description: "q4".into(),
        created_by: "ada".into(),
        not_before: t(10),
        notice_seconds: 10,
        unused_days: Some(60),
        soak_seconds: 5,
        max_roles_per_wave: None,
        waves,
    }
}

#[test]
fn a_campaign_is_kept_across_a_reopen_and_updated_until_it_is_finished() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let c = s
        .create_campaign(
            new_campaign(vec![wave(1, &[(A, "app")]), wave(2, &[(B, "db")])]),
            t(0),
        )
        .unwrap();
    assert_eq!(c.state, CampaignState::Scheduled);
    assert_eq!(c.current_wave(), Some(0));
    let second = s
        .create_campaign(new_campaign(vec![wave(1, &[(A, "web")])]), t(0))
        .unwrap();
    assert!(second.campaign_id > c.campaign_id, "ids sort by creation");
    drop(s);

    let s = open(dir.path());
    assert_eq!(s.get_campaign(&c.campaign_id).unwrap(), Some(c.clone()));
    let listed = s.list_campaigns().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].campaign_id, c.campaign_id);

    let mut running = c.clone();
    running.state = CampaignState::Running;
    running.waves[0].state = WaveState::Running;
    s.update_campaign(&running).unwrap();
    assert_eq!(
        s.get_campaign(&c.campaign_id).unwrap(),
        Some(running.clone())
    );
    let mut cancelled = running.clone();
    cancelled.state = CampaignState::Cancelled;
    s.update_campaign(&cancelled).unwrap();
    let err = s.update_campaign(&running).unwrap_err();
    assert!(err.to_string().contains("is cancelled"), "{err}");
    assert_eq!(s.get_campaign("nope").unwrap(), None);
    let err = s
        .create_campaign(new_campaign(Vec::new()), t(0))
        .unwrap_err();
    assert!(err.to_string().contains("no roles"), "{err}");
}

#[test]
fn the_earliest_start_of_a_wave_adds_a_soak_per_wave_before_it() {
    let mut c = Campaign {
        campaign_id: "c".into(),
        description: String::new(),
        created_by: "ada".into(),
        created_at: t(0),
        not_before: t(10),
        notice_seconds: 10,
        unused_days: None,
        soak_seconds: 5,
        max_roles_per_wave: None,
        state: CampaignState::Scheduled,
        detail: None,
        updated_at: t(0),
        waves: vec![wave(1, &[]), wave(2, &[]), wave(3, &[])],
    };
    assert_eq!(c.earliest_start(0, t(0)), t(10));
    assert_eq!(c.earliest_start(2, t(0)), t(20));
    c.waves[0].started_at = Some(t(12));
    c.waves[0].finished_at = Some(t(30));
    c.waves[0].state = WaveState::Done;
    assert_eq!(c.earliest_start(1, t(31)), t(35));
    assert_eq!(c.earliest_start(2, t(31)), t(40));
}

#[test]
fn opt_outs_are_added_listed_and_removed_and_must_end_later() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let o = OptOut {
        account_id: A.into(),
        role_name: "app".into(),
        reason: "quarter end".into(),
        until: t(100),
        owner: "data-team".into(),
        created_by: "ada".into(),
        created_at: t(0),
    };
    s.add_opt_out(o.clone(), t(0)).unwrap();
    assert!(o.is_active(t(99)) && !o.is_active(t(100)));
    assert_eq!(s.get_opt_out(A, "app").unwrap(), Some(o.clone()));
    assert_eq!(s.list_opt_outs().unwrap(), vec![o.clone()]);
    let err = s.add_opt_out(o.clone(), t(100)).unwrap_err();
    assert!(err.to_string().contains("not after now"), "{err}");
    let err = s
        .add_opt_out(
            OptOut {
                owner: " ".into(),
                ..o.clone()
            },
            t(0),
        )
        .unwrap_err();
    assert!(err.to_string().contains("owner"), "{err}");
    assert_eq!(s.remove_opt_out(A, "app").unwrap(), o);
    let err = s.remove_opt_out(A, "app").unwrap_err();
    assert!(err.to_string().contains("not in the store"), "{err}");
}

#[test]
fn a_decision_for_later_is_scheduled_and_can_be_announced_again() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.put_plan(&plan(A, "app", "fp-1", t(0))).unwrap();
    let d = s
        .create_decision(
            NewDecision {
                not_before: Some(t(50)),
                announced: vec!["s3:PutObject".into()],
                ..new_decision(A, "app", "fp-1")
            },
            t(1),
        )
        .unwrap();
    assert_eq!(d.state, DecisionState::Scheduled);
    assert!(d.state.is_open());
    // A scheduled decision is open: no second one for the role.
    let err = s
        .create_decision(new_decision(A, "app", "fp-1"), t(2))
        .unwrap_err();
    assert!(matches!(err, StoreError::DecisionOpen { .. }), "{err}");

    s.put_plan(&plan(A, "app", "fp-2", t(3))).unwrap();
    let again = s
        .reannounce(
            &d.decision_id,
            "fp-2".into(),
            vec!["s3:PutObject".into(), "s3:GetObject".into()],
            t(60),
            "grew".into(),
            t(4),
        )
        .unwrap();
    assert_eq!(
        (
            again.plan_fingerprint.as_str(),
            again.not_before,
            again.announced.len()
        ),
        ("fp-2", Some(t(60)), 2)
    );
    let err = s
        .reannounce(
            &d.decision_id,
            "fp-1".into(),
            Vec::new(),
            t(60),
            "x".into(),
            t(5),
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::PlanMismatch { .. }), "{err}");

    let pending = s
        .transition_decision(&d.decision_id, DecisionState::Pending, None, None, t(60))
        .unwrap();
    assert_eq!(pending.state, DecisionState::Pending);
    let grew = s
        .cancel_plan_grew(&d.decision_id, "the plan grew".into(), t(61))
        .unwrap();
    assert_eq!(grew.state, DecisionState::Cancelled);
    assert!(grew.plan_grew);
    assert_eq!(s.get_decision(&d.decision_id).unwrap(), Some(grew));
    // A decision made now is Pending straight away.
    let now = s
        .create_decision(
            NewDecision {
                not_before: Some(t(62)),
                ..new_decision(A, "app", "fp-2")
            },
            t(62),
        )
        .unwrap();
    assert_eq!(now.state, DecisionState::Pending);
}
