//! The unused-permission decision: for one action granted by one Allow
//! statement, removable or kept, and why.
//!
//! The rules, in order (the first that applies wins):
//! 1. a never-remove pattern matches (default `iam:PassRole`): kept;
//! 2. an exclusion pattern matches: kept;
//! 3. the statement's `Sid` starts with the NOREPO prefix: kept;
//! 4. the role is younger than `min_role_age_days`: kept;
//! 5. there is no usage data, or it is older than `max_usage_age_days`: kept;
//! 6. the service is not in the usage report: kept (the data cannot tell);
//! 7. the service was never used, or not within `unused_days`: removable;
//! 8. the service was used and access advisor tracks the action: removable when
//!    the action was not used within `unused_days`, else kept;
//! 9. the service was used and the action is not tracked: kept.

use chrono::{DateTime, Duration, Utc};

use crate::catalogue::{ActionId, Catalogue, Tracking, Unknown};
use crate::model::{Granularity, Usage};

/// Why an action is removable or kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Removable: the service was never used.
    ServiceNeverUsed,
    /// Removable: the service was last used before the window.
    ServiceUnused { last: DateTime<Utc> },
    /// Removable: a tracked action never used while its service was.
    ActionNeverUsed,
    /// Removable: a tracked action last used before the window.
    ActionUnused { last: DateTime<Utc> },
    /// Kept: a tracked action used within the window.
    ActionUsed { last: DateTime<Utc> },
    /// Kept: the service was used and the action is not tracked at action level.
    ServiceUsedNotTracked { last: DateTime<Utc> },
    /// Kept: matches `never_remove[pattern]`.
    NeverRemove { pattern: u16 },
    /// Kept: matches `exclusions[pattern]`.
    Excluded { pattern: u16 },
    /// Kept: the statement's Sid starts with the NOREPO prefix.
    Norepo,
    /// Kept: the role is younger than `min_role_age_days`.
    RoleTooYoung,
    /// Kept: the usage data is older than `max_usage_age_days` (or from the future).
    UsageStale,
    /// Kept: the role has no usage data at all.
    NoUsageData,
    /// Kept: the service is missing from the usage report.
    ServiceNotInReport,
    /// Kept: the name is not in the catalogue.
    NotInCatalogue(UnknownKind),
    /// Kept: removable, but the role's plan was refused (see its `skipped`).
    PlanRefused,
}

/// Why a policy's action name is not in the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownKind {
    Retired,
    UnknownAction,
    UnknownService,
    Malformed,
}

impl From<Unknown> for UnknownKind {
    fn from(u: Unknown) -> Self {
        match u {
            Unknown::Retired => UnknownKind::Retired,
            Unknown::UnknownAction => UnknownKind::UnknownAction,
            Unknown::UnknownService => UnknownKind::UnknownService,
            Unknown::Malformed => UnknownKind::Malformed,
        }
    }
}

impl Reason {
    pub fn is_removable(self) -> bool {
        matches!(
            self,
            Reason::ServiceNeverUsed
                | Reason::ServiceUnused { .. }
                | Reason::ActionNeverUsed
                | Reason::ActionUnused { .. }
        )
    }

    /// A stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            Reason::ServiceNeverUsed => "service_never_used",
            Reason::ServiceUnused { .. } => "service_unused",
            Reason::ActionNeverUsed => "action_never_used",
            Reason::ActionUnused { .. } => "action_unused",
            Reason::ActionUsed { .. } => "action_used",
            Reason::ServiceUsedNotTracked { .. } => "service_used_action_not_tracked",
            Reason::NeverRemove { .. } => "never_remove",
            Reason::Excluded { .. } => "excluded",
            Reason::Norepo => "norepo_statement",
            Reason::RoleTooYoung => "role_too_young",
            Reason::UsageStale => "usage_data_stale",
            Reason::NoUsageData => "no_usage_data",
            Reason::ServiceNotInReport => "service_not_in_usage_report",
            Reason::NotInCatalogue(UnknownKind::Retired) => "retired_action",
            Reason::NotInCatalogue(UnknownKind::UnknownAction) => "unknown_action",
            Reason::NotInCatalogue(UnknownKind::UnknownService) => "unknown_service",
            Reason::NotInCatalogue(UnknownKind::Malformed) => "malformed_action",
            Reason::PlanRefused => "plan_refused",
        }
    }
}

/// Whether the role's usage data can be acted on.
#[derive(Debug, Clone, Copy)]
pub(crate) enum UsageState<'u> {
    Missing,
    Stale,
    Fresh(&'u Usage),
}

/// Everything about the role that does not depend on the action.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RoleContext<'u> {
    pub too_young: bool,
    pub usage: UsageState<'u>,
    /// Used at or after this instant counts as used.
    pub cutoff: DateTime<Utc>,
}

impl<'u> RoleContext<'u> {
    pub fn new(
        created: DateTime<Utc>,
        usage: Option<&'u Usage>,
        now: DateTime<Utc>,
        settings: &crate::Settings,
    ) -> Self {
        let too_young = now - created < Duration::days(i64::from(settings.min_role_age_days));
        let usage = match usage {
            None => UsageState::Missing,
            Some(u)
                if u.observed_at > now
                    || now - u.observed_at
                        > Duration::days(i64::from(settings.max_usage_age_days)) =>
            {
                UsageState::Stale
            }
            Some(u) => UsageState::Fresh(u),
        };
        RoleContext {
            too_young,
            usage,
            cutoff: now - Duration::days(i64::from(settings.unused_days)),
        }
    }
}

/// Rules 4 to 9 for one catalogue action (rules 1 to 3 are the planner's).
pub(crate) fn decide_usage(cat: &Catalogue, id: ActionId, ctx: &RoleContext<'_>) -> Reason {
    if ctx.too_young {
        return Reason::RoleTooYoung;
    }
    let usage = match ctx.usage {
        UsageState::Missing => return Reason::NoUsageData,
        UsageState::Stale => return Reason::UsageStale,
        UsageState::Fresh(u) => u,
    };
    let action = cat.action(id);
    let prefix = &cat.services()[action.service as usize].prefix;
    let Some(service) = usage.services.get(prefix.as_str()) else {
        return Reason::ServiceNotInReport;
    };
    match service.last_authenticated {
        None => Reason::ServiceNeverUsed,
        Some(last) if last < ctx.cutoff => Reason::ServiceUnused { last },
        Some(last) => {
            if usage.granularity == Granularity::Action && action.tracking == Tracking::Tracked {
                match service.actions.get(action.lower.as_str()) {
                    Some(Some(t)) if *t >= ctx.cutoff => Reason::ActionUsed { last: *t },
                    Some(Some(t)) => Reason::ActionUnused { last: *t },
                    _ => Reason::ActionNeverUsed,
                }
            } else {
                Reason::ServiceUsedNotTracked { last }
            }
        }
    }
}
