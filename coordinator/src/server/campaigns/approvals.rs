//! Scheduled approvals (not of a campaign): handed to the agent when due, announced again
//! when the plan grew.

use super::*;

/// Scheduled approvals (not of a campaign) that fell due: handed to the agent when their
/// announcement still holds, announced again when the plan grew.
pub(crate) async fn due_approvals(shared: &Shared, now: DateTime<Utc>) -> Result<(), ServerError> {
    let filter = DecisionFilter {
        states: vec![DecisionState::Scheduled],
        ..DecisionFilter::default()
    };
    let scheduled = shared.blocking(move |s| s.list_decisions(&filter)).await?;
    for d in scheduled {
        if d.campaign_id.is_some() || d.not_before.is_some_and(|t| t > now) {
            continue;
        }
        let plan = shared.plan(&d.account_id, &d.role_name).await?;
        let removals = plan
            .as_ref()
            .and_then(|p| announcement(p, d.unused_days).ok())
            .filter(|a| a.skipped.is_none())
            .map(|a| a.removals)
            .unwrap_or_default();
        let id = d.decision_id.clone();
        if removals.is_empty() {
            let why = "the plan removes nothing now".to_string();
            shared
                .blocking(move |s| {
                    s.transition_decision(&id, DecisionState::Cancelled, Some(why), None, now)
                })
                .await?;
            continue;
        }
        let extra = unannounced(&removals, &d.announced);
        if let (false, Some(plan)) = (extra.is_empty(), plan) {
            let notice = scheduled_notice(&d);
            let due = now + notice;
            let detail = format!(
                "the plan grew by {} action(s): announced again, due {}",
                extra.len(),
                wire::time_text(due)
            );
            shared
                .blocking(move |s| s.reannounce(&id, plan.fingerprint, removals, due, detail, now))
                .await?;
            continue;
        }
        let pending = shared
            .blocking(move |s| s.transition_decision(&id, DecisionState::Pending, None, None, now))
            .await?;
        deliver::send_decision(shared, &pending).await?;
    }
    Ok(())
}

/// The notice of a scheduled approval: the time between its approval and its due time.
pub(crate) fn scheduled_notice(d: &Decision) -> chrono::Duration {
    d.not_before
        .map(|t| t - d.created_at)
        .filter(|n| *n > chrono::Duration::zero())
        .unwrap_or_else(chrono::Duration::zero)
}

/// After the agent refused a scheduled approval because its plan grew: a new scheduled
/// decision announcing the newest plan, due after the same notice.
pub(crate) async fn reannounce_refused(
    shared: &Shared,
    refused: &Decision,
    now: DateTime<Utc>,
) -> Result<(), ServerError> {
    if refused.campaign_id.is_some() || refused.not_before.is_none() {
        return Ok(());
    }
    let Some(plan) = shared.plan(&refused.account_id, &refused.role_name).await? else {
        return Ok(());
    };
    let Ok(a) = announcement(&plan, refused.unused_days) else {
        return Ok(());
    };
    if a.removals.is_empty() {
        return Ok(());
    }
    let due = now + scheduled_notice(refused);
    let new = NewDecision {
        account_id: refused.account_id.clone(),
        role_name: refused.role_name.clone(),
        plan_fingerprint: plan.fingerprint,
        author: refused.author.clone(),
        detail: Some(format!(
            "announced again after decision {} found the plan grew",
            refused.decision_id
        )),
        // Never Pending at once: a grown plan waits its notice.
        not_before: Some(due.max(now + chrono::Duration::seconds(1))),
        campaign_id: None,
        announced: a.removals,
        unused_days: refused.unused_days,
    };
    shared
        .blocking(move |s| s.create_decision(new, now))
        .await?;
    Ok(())
}
