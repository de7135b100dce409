//! One role of a running wave: skipped, announced again, or made a decision and followed
//! to its end.

use super::*;

/// A role whose time came: skip it, announce it again, or make its decision.
pub(crate) async fn start_role(
    shared: &Shared,
    c: &Campaign,
    mut role: CampaignRole,
    rules: &whittle_proto::convert::ExclusionRules,
    notice: chrono::Duration,
    now: DateTime<Utc>,
) -> Result<CampaignRole, ServerError> {
    let (account, name) = (role.account_id.clone(), role.role_name.clone());
    let opt_out = shared
        .blocking(move |s| s.get_opt_out(&account, &name))
        .await?;
    if let Some(o) = opt_out.filter(|o| o.is_active(now)) {
        super::opt_out(&mut role, &o);
        return Ok(role);
    }
    let Some(plan) = shared.plan(&role.account_id, &role.role_name).await? else {
        role.state = CampaignRoleState::Skipped;
        role.detail = Some("the coordinator has no plan for the role any more".into());
        return Ok(role);
    };
    let a = match announcement(&plan, c.unused_days) {
        Ok(a) => a,
        Err(e) => {
            role.state = CampaignRoleState::Skipped;
            role.detail = Some(e.to_string());
            return Ok(role);
        }
    };
    if let Some(reason) = a.skipped {
        role.state = CampaignRoleState::Skipped;
        role.detail = Some(format!("the role is left alone: {reason}"));
        return Ok(role);
    }
    if let Some(reason) = coverage(rules, &role.account_id, &a.role, now).whole_role {
        role.state = CampaignRoleState::Excluded;
        role.detail = Some(reason);
        return Ok(role);
    }
    if a.removals.is_empty() {
        role.state = CampaignRoleState::NothingToRemove;
        role.detail = Some("the plan removes nothing now".into());
        return Ok(role);
    }
    let extra = unannounced(&a.removals, &role.announced);
    if !extra.is_empty() {
        return Ok(reannounced(
            role,
            plan.fingerprint,
            a.removals.clone(),
            &extra,
            notice,
            now,
        ));
    }
    let new = NewDecision {
        account_id: role.account_id.clone(),
        role_name: role.role_name.clone(),
        plan_fingerprint: plan.fingerprint.clone(),
        author: format!("campaign {}", c.campaign_id),
        detail: None,
        not_before: None,
        campaign_id: Some(c.campaign_id.clone()),
        announced: role.announced.clone(),
        unused_days: c.unused_days,
    };
    match shared.blocking(move |s| s.create_decision(new, now)).await {
        Ok(d) => {
            role.state = CampaignRoleState::Approved;
            role.decision_id = Some(d.decision_id.clone());
            role.detail = None;
            deliver::send_decision(shared, &d).await?;
        }
        Err(ServerError::Store(StoreError::DecisionOpen { decision_id, .. })) => {
            // Made by this campaign before a restart: adopt it. Otherwise an operator's
            // own decision is open for the role: leave the role to it.
            let id = decision_id.clone();
            let open = shared.blocking(move |s| s.get_decision(&id)).await?;
            if open.is_some_and(|d| d.campaign_id.as_deref() == Some(&c.campaign_id)) {
                role.state = CampaignRoleState::Approved;
                role.decision_id = Some(decision_id);
            } else {
                role.state = CampaignRoleState::Skipped;
                role.detail = Some(format!("decision {decision_id} is already open for it"));
            }
        }
        Err(ServerError::Store(e)) if !e.is_retryable() => {
            role.state = CampaignRoleState::Skipped;
            role.detail = Some(e.to_string());
        }
        Err(e) => return Err(e),
    }
    Ok(role)
}

/// A role whose plan grew: announced again with the new removals, due after the notice.
pub(crate) fn reannounced(
    mut role: CampaignRole,
    fingerprint: String,
    removals: Vec<String>,
    extra: &[&str],
    notice: chrono::Duration,
    now: DateTime<Utc>,
) -> CampaignRole {
    let due = now + notice;
    let examples: Vec<&str> = extra.iter().take(3).copied().collect();
    role.detail = Some(format!(
        "the plan grew by {} action(s) ({}{}): announced again, due {}",
        extra.len(),
        examples.join(", "),
        if extra.len() > 3 { ", ..." } else { "" },
        wire::time_text(due)
    ));
    tracing::info!(account_id = %role.account_id, role_name = %role.role_name, added = extra.len(), "role announced again");
    role.plan_fingerprint = fingerprint;
    role.announced = removals;
    role.announced_at = now;
    role.due = due;
    role.state = CampaignRoleState::Announced;
    role.decision_id = None;
    role
}

/// An approved role: follow its decision to its end.
pub(crate) async fn follow_role(
    shared: &Shared,
    c: &Campaign,
    mut role: CampaignRole,
    notice: chrono::Duration,
    now: DateTime<Utc>,
) -> Result<CampaignRole, ServerError> {
    let Some(id) = role.decision_id.clone() else {
        role.state = CampaignRoleState::Announced;
        return Ok(role);
    };
    let Some(d) = shared.blocking(move |s| s.get_decision(&id)).await? else {
        role.state = CampaignRoleState::Failed;
        role.detail = Some("its decision is missing from the store".into());
        return Ok(role);
    };
    match d.state {
        DecisionState::Applied => {
            role.state = CampaignRoleState::Applied;
            role.detail = d.detail;
        }
        DecisionState::Failed => {
            role.state = CampaignRoleState::Failed;
            role.detail = d.detail;
        }
        DecisionState::Cancelled if d.plan_grew => {
            let plan = shared.plan(&role.account_id, &role.role_name).await?;
            let Some(plan) = plan else {
                role.state = CampaignRoleState::Skipped;
                role.detail = Some("the coordinator has no plan for the role any more".into());
                return Ok(role);
            };
            let removals = announcement(&plan, c.unused_days)
                .map(|a| a.removals)
                .unwrap_or_default();
            let extra = unannounced(&removals, &role.announced);
            let extra: Vec<&str> = if extra.is_empty() {
                vec!["actions the agent saw"]
            } else {
                extra
            };
            return Ok(reannounced(
                role,
                plan.fingerprint.clone(),
                removals.clone(),
                &extra,
                notice,
                now,
            ));
        }
        DecisionState::Cancelled => {
            role.state = CampaignRoleState::Cancelled;
            role.detail = d.detail;
        }
        DecisionState::Scheduled | DecisionState::Pending | DecisionState::Sent => {}
    }
    Ok(role)
}

/// Cancels the campaign's decisions that no agent has yet (Scheduled or Pending).
pub(crate) async fn cancel_unsent(
    shared: &Shared,
    campaign_id: &str,
    why: &str,
) -> Result<(), ServerError> {
    let filter = DecisionFilter {
        campaign_id: Some(campaign_id.to_string()),
        states: vec![DecisionState::Scheduled, DecisionState::Pending],
        ..DecisionFilter::default()
    };
    let open = shared.blocking(move |s| s.list_decisions(&filter)).await?;
    for d in open {
        let why = why.to_string();
        shared
            .blocking(move |s| {
                s.transition_decision(
                    &d.decision_id,
                    DecisionState::Cancelled,
                    Some(why),
                    None,
                    Utc::now(),
                )
            })
            .await?;
    }
    Ok(())
}
