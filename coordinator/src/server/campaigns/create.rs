//! A new campaign: its accounts, its waves and every role's announcement.

use super::*;

/// Creates a campaign: its accounts, waves and every role's announcement.
pub(crate) async fn create(
    shared: &Shared,
    req: pb::CreateCampaignRequest,
    author: String,
    settings: CampaignSettings,
) -> Result<(Campaign, String), ServerError> {
    let now = Utc::now();
    let pb::CreateCampaignRequest {
        accounts,
        unused_days,
        waves,
        max_roles_per_wave,
        not_before,
        soak_seconds,
        description,
    } = req;
    let not_before = match not_before {
        Some(t) => wire::parse_time("not_before", &t)?,
        None => now,
    };
    if unused_days == Some(0) {
        return Err(ServerError::Protocol(
            "unused_days must be at least 1".into(),
        ));
    }
    if max_roles_per_wave == Some(0) {
        return Err(ServerError::Protocol(
            "max_roles_per_wave must be at least 1".into(),
        ));
    }
    let soak_seconds = soak_seconds.unwrap_or(settings.default_soak.as_secs());
    let accounts = campaign_accounts(shared, accounts).await?;
    let groups = wave_groups(&accounts, &waves)?;
    let rules = shared.blocking(|s| s.rules()).await?;
    let rules = wire::rules_to_wire(0, rules);
    let opt_outs = shared.blocking(|s| s.list_opt_outs()).await?;
    let mut waves = Vec::new();
    for group in groups {
        let mut roles = Vec::new();
        for account in &group {
            let id = account.clone();
            let plans = shared.blocking(move |s| s.list_plans(&id)).await?;
            for plan in plans {
                if plan.skipped.is_some() {
                    continue;
                }
                let a = announcement(&plan, unused_days)?;
                if a.removals.is_empty() {
                    continue;
                }
                let mut role = CampaignRole {
                    account_id: plan.account_id.clone(),
                    role_name: plan.role_name.clone(),
                    plan_fingerprint: plan.fingerprint.clone(),
                    announced: a.removals,
                    announced_at: now,
                    due: not_before,
                    state: CampaignRoleState::Announced,
                    decision_id: None,
                    detail: None,
                };
                if let Some(o) = opt_outs
                    .iter()
                    .find(|o| o.keeps_out(&role.account_id, &role.role_name, now))
                {
                    opt_out(&mut role, o);
                } else if let Some(reason) =
                    coverage(&rules, &role.account_id, &a.role, now).whole_role
                {
                    role.state = CampaignRoleState::Excluded;
                    role.detail = Some(reason);
                }
                roles.push(role);
            }
        }
        for chunk in split_roles(roles, max_roles_per_wave) {
            let mut accounts: Vec<String> = chunk.iter().map(|r| r.account_id.clone()).collect();
            accounts.dedup();
            waves.push(Wave {
                number: u32::try_from(waves.len() + 1).unwrap_or(u32::MAX),
                accounts,
                state: WaveState::Waiting,
                started_at: None,
                finished_at: None,
                roles: chunk,
            });
        }
    }
    let announced: usize = waves.iter().map(|w| w.roles.len()).sum();
    if announced == 0 {
        return Err(ServerError::Protocol(format!(
            "no role of account(s) {} has anything to remove: no campaign made",
            accounts.join(",")
        )));
    }
    let lead = (not_before - now).max(chrono::Duration::zero());
    let notice_seconds = u64::try_from(lead.num_seconds())
        .unwrap_or(0)
        .max(soak_seconds);
    let new = NewCampaign {
        description,
        created_by: author,
        not_before,
        notice_seconds,
        unused_days,
        soak_seconds,
        max_roles_per_wave,
        waves,
    };
    let _guard = shared.campaigns.lock().await;
    let campaign = shared
        .blocking(move |s| s.create_campaign(new, now))
        .await?;
    let summary = format!(
        "ok: campaign {}, {} waves, {announced} roles",
        campaign.campaign_id,
        campaign.waves.len()
    );
    Ok((campaign, summary))
}

/// The campaign's accounts: those named (each must be known), or every known account.
pub(crate) async fn campaign_accounts(
    shared: &Shared,
    named: Vec<String>,
) -> Result<Vec<String>, ServerError> {
    let known: Vec<String> = shared
        .blocking(|s| s.list_accounts())
        .await?
        .into_iter()
        .map(|a| a.account_id)
        .collect();
    if named.is_empty() {
        if known.is_empty() {
            return Err(ServerError::Protocol(
                "the coordinator knows no account yet: no campaign made".into(),
            ));
        }
        return Ok(known);
    }
    let mut out = Vec::new();
    for a in named {
        crate::server::admin::account(&a)?;
        if !known.contains(&a) {
            return Err(ServerError::NotFound(format!(
                "account {a} is not known to the coordinator (no agent has reported it)"
            )));
        }
        if !out.contains(&a) {
            out.push(a);
        }
    }
    Ok(out)
}

/// Splits `accounts` into waves: each size is a count of accounts, or a cumulative share
/// of them; accounts left after the last size make one more wave.
pub fn wave_groups(
    accounts: &[String],
    sizes: &[pb::WaveSize],
) -> Result<Vec<Vec<String>>, ServerError> {
    use pb::wave_size::Size;
    let total = accounts.len();
    let mut groups = Vec::new();
    let mut taken = 0usize;
    for (i, size) in sizes.iter().enumerate() {
        let target = match size.size {
            Some(Size::Accounts(0)) | None => {
                return Err(ServerError::Protocol(format!(
                    "wave {} has no size: give a number of accounts (at least 1) or a \
                     percentage",
                    i + 1
                )));
            }
            Some(Size::Accounts(n)) => taken + n as usize,
            Some(Size::Percent(p)) if p == 0 || p > 100 => {
                return Err(ServerError::Protocol(format!(
                    "wave {} is {p}%: a percentage must be 1 to 100",
                    i + 1
                )));
            }
            Some(Size::Percent(p)) => (total * p as usize).div_ceil(100),
        };
        let target = target.min(total);
        if target > taken {
            groups.push(accounts[taken..target].to_vec());
            taken = target;
        }
    }
    if taken < total {
        groups.push(accounts[taken..].to_vec());
    }
    Ok(groups)
}

/// Splits a wave's roles so that no wave applies more than `max` roles (roles that will
/// not be applied, opted out or excluded, go with the first part).
pub(crate) fn split_roles(roles: Vec<CampaignRole>, max: Option<u32>) -> Vec<Vec<CampaignRole>> {
    if roles.is_empty() {
        return Vec::new();
    }
    let Some(max) = max.map(|m| m.max(1) as usize) else {
        return vec![roles];
    };
    let (active, idle): (Vec<_>, Vec<_>) = roles
        .into_iter()
        .partition(|r| r.state == CampaignRoleState::Announced);
    let mut parts: Vec<Vec<CampaignRole>> = active.chunks(max).map(<[_]>::to_vec).collect();
    if parts.is_empty() {
        parts.push(Vec::new());
    }
    parts[0].extend(idle);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::CampaignRoleState;

    fn accounts(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("{:012}", 100_000_000_000 + i))
            .collect()
    }

    fn sizes(spec: &[(bool, u32)]) -> Vec<pb::WaveSize> {
        use pb::wave_size::Size;
        spec.iter()
            .map(|&(pct, n)| pb::WaveSize {
                size: Some(if pct {
                    Size::Percent(n)
                } else {
                    Size::Accounts(n)
                }),
            })
            .collect()
    }

    #[test]
    fn waves_are_a_canary_then_shares_of_the_rest() {
        let a = accounts(8);
        let g = wave_groups(&a, &sizes(&[(false, 2), (true, 50), (true, 100)])).unwrap();
        let lens: Vec<usize> = g.iter().map(Vec::len).collect();
        assert_eq!(lens, vec![2, 2, 4]);
        assert_eq!(g.concat(), a);
    }

    #[test]
    fn accounts_left_after_the_last_size_make_one_more_wave() {
        let a = accounts(5);
        let g = wave_groups(&a, &sizes(&[(false, 1), (true, 40)])).unwrap();
        let lens: Vec<usize> = g.iter().map(Vec::len).collect();
        assert_eq!(lens, vec![1, 1, 3]);
    }

    #[test]
    fn a_share_already_reached_makes_no_empty_wave() {
        let a = accounts(3);
        let g = wave_groups(&a, &sizes(&[(false, 2), (true, 25), (true, 100)])).unwrap();
        let lens: Vec<usize> = g.iter().map(Vec::len).collect();
        assert_eq!(lens, vec![2, 1]);
    }

    #[test]
    fn bad_sizes_are_refused_with_the_wave_named() {
        let a = accounts(3);
        let e = wave_groups(&a, &sizes(&[(false, 0)])).unwrap_err();
        assert!(e.to_string().contains("wave 1"), "{e}");
        let e = wave_groups(&a, &sizes(&[(false, 1), (true, 101)])).unwrap_err();
        assert!(e.to_string().contains("wave 2 is 101%"), "{e}");
    }

    fn role(n: usize, state: CampaignRoleState) -> CampaignRole {
        CampaignRole {
            account_id: "111122223333".into(),
            role_name: format!("r{n}"),
            plan_fingerprint: "f".into(),
            announced: vec!["s3:GetObject".into()],
            announced_at: DateTime::<Utc>::MIN_UTC,
            due: DateTime::<Utc>::MIN_UTC,
            state,
            decision_id: None,
            detail: None,
        }
    }

    #[test]
    fn a_wave_with_too_many_roles_is_split() {
        let roles: Vec<CampaignRole> = (0..5)
            .map(|i| role(i, CampaignRoleState::Announced))
            .chain([role(9, CampaignRoleState::OptedOut)])
            .collect();
        let parts = split_roles(roles, Some(2));
        let lens: Vec<usize> = parts.iter().map(Vec::len).collect();
        assert_eq!(lens, vec![3, 2, 1]);
        assert_eq!(parts[0][2].state, CampaignRoleState::OptedOut);
    }
}
