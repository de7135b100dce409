//! What the coordinator sends on an agent's stream: [`CoordinatorMessage`] with
//! [`Welcome`], acks and [`Directive`]s (rules, apply, rollback, restore).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use whittle_policy::change::{ChangeId, ChangeRecord};

use super::error::{
    ConvertError, Problem, change_id, each, key, nested, non_empty, time, time_text,
};
use super::exclusion::ExclusionRules;
use crate::agent::v1 as pb;

/// One message from the coordinator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoordinatorMessage {
    Welcome(Welcome),
    /// The report with this id is stored.
    Ack {
        report_id: String,
    },
    Directive(Directive),
}

/// The answer to an agent's hello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Welcome {
    pub coordinator_version: String,
    pub exclusion_version: u64,
}

/// Work for the agent, answered by an outcome with the same id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub directive_id: String,
    pub action: DirectiveAction,
    /// The W3C trace context (`traceparent`, `tracestate`) of the operation that caused
    /// it; empty when there is none. See [`crate::telemetry::inject_map`].
    pub trace_context: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectiveAction {
    /// The full new set of exclusion rules.
    Rules(ExclusionRules),
    Apply(ApplyDecision),
    Rollback(RollbackOrder),
    /// Restore these changes' before-images (newest first), from the history.
    Restore {
        request_id: String,
        changes: Vec<ChangeRecord>,
    },
}

/// Apply one approved plan, if the role's live state still has `state_fingerprint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyDecision {
    pub decision_id: String,
    pub role_name: String,
    pub role_arn: String,
    pub plan_fingerprint: String,
    pub state_fingerprint: String,
    /// The actions announced for removal (`service:Action`); the agent refuses to remove
    /// any other. Empty: no announcement, the agent applies its plan.
    pub announced_removals: Vec<String>,
    /// Days without use after which a permission is removable, for this decision.
    pub unused_days: Option<u32>,
}

/// Restore before-images from the agent's journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackOrder {
    pub request_id: String,
    pub target: RollbackTarget,
    /// Restore even when the role was edited after the change.
    pub force: bool,
}

/// What a rollback undoes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackTarget {
    /// One change.
    Change(ChangeId),
    /// Every applied change of one role.
    Role(String),
    /// Every change of the whole account made at or after this time.
    Since(DateTime<Utc>),
}

impl From<CoordinatorMessage> for pb::CoordinatorMessage {
    fn from(message: CoordinatorMessage) -> Self {
        use pb::coordinator_message::Kind;
        let kind = match message {
            CoordinatorMessage::Welcome(Welcome {
                coordinator_version,
                exclusion_version,
            }) => Kind::Welcome(pb::Welcome {
                coordinator_version,
                exclusion_version,
            }),
            CoordinatorMessage::Ack { report_id } => Kind::Ack(pb::Ack { report_id }),
            CoordinatorMessage::Directive(directive) => Kind::Directive(directive.into()),
        };
        pb::CoordinatorMessage { kind: Some(kind) }
    }
}

impl TryFrom<pb::CoordinatorMessage> for CoordinatorMessage {
    type Error = ConvertError;

    fn try_from(message: pb::CoordinatorMessage) -> Result<Self, ConvertError> {
        use pb::coordinator_message::Kind;
        const MESSAGE: &str = "CoordinatorMessage";
        let pb::CoordinatorMessage { kind } = message;
        match kind {
            None => Err(ConvertError::new(MESSAGE, "kind", Problem::Missing)),
            Some(Kind::Welcome(pb::Welcome {
                coordinator_version,
                exclusion_version,
            })) => Ok(CoordinatorMessage::Welcome(Welcome {
                coordinator_version,
                exclusion_version,
            })),
            Some(Kind::Ack(pb::Ack { report_id })) => Ok(CoordinatorMessage::Ack {
                report_id: non_empty(MESSAGE, "ack.report_id", report_id)?,
            }),
            Some(Kind::Directive(d)) => Ok(CoordinatorMessage::Directive(nested(
                MESSAGE,
                "directive",
                d,
            )?)),
        }
    }
}

impl From<Directive> for pb::Directive {
    fn from(directive: Directive) -> Self {
        use pb::directive::Action;
        let Directive {
            directive_id,
            action,
            trace_context,
        } = directive;
        let action = match action {
            DirectiveAction::Rules(rules) => Action::Rules(rules.into()),
            DirectiveAction::Apply(ApplyDecision {
                decision_id,
                role_name,
                role_arn,
                plan_fingerprint,
                state_fingerprint,
                announced_removals,
                unused_days,
            }) => Action::Apply(pb::ApplyDecision {
                decision_id,
                role_name,
                role_arn,
                plan_fingerprint,
                state_fingerprint,
                announced_removals,
                unused_days,
            }),
            DirectiveAction::Rollback(order) => Action::Rollback(order.into()),
            DirectiveAction::Restore {
                request_id,
                changes,
            } => Action::Restore(pb::RestoreFromHistory {
                request_id,
                changes: changes.into_iter().map(Into::into).collect(),
            }),
        };
        pb::Directive {
            directive_id,
            action: Some(action),
            trace_context: trace_context.into_iter().collect(),
        }
    }
}

const DIRECTIVE: &str = "Directive";

impl TryFrom<pb::Directive> for Directive {
    type Error = ConvertError;

    fn try_from(directive: pb::Directive) -> Result<Self, ConvertError> {
        use pb::directive::Action;
        let pb::Directive {
            directive_id,
            action,
            trace_context,
        } = directive;
        let directive_id = non_empty(DIRECTIVE, "directive_id", directive_id)?;
        let action = match action {
            None => return Err(ConvertError::new(DIRECTIVE, "action", Problem::Missing)),
            Some(Action::Rules(rules)) => {
                DirectiveAction::Rules(nested(DIRECTIVE, "rules", rules)?)
            }
            Some(Action::Apply(apply)) => DirectiveAction::Apply(apply_decision(apply)?),
            Some(Action::Rollback(r)) => {
                DirectiveAction::Rollback(nested(DIRECTIVE, "rollback", r)?)
            }
            Some(Action::Restore(pb::RestoreFromHistory {
                request_id,
                changes,
            })) => DirectiveAction::Restore {
                request_id: non_empty(DIRECTIVE, "restore.request_id", request_id)?,
                changes: each(DIRECTIVE, "restore.changes", changes)?,
            },
        };
        Ok(Directive {
            directive_id,
            action,
            trace_context: trace_context.into_iter().collect(),
        })
    }
}

fn apply_decision(apply: pb::ApplyDecision) -> Result<ApplyDecision, ConvertError> {
    let pb::ApplyDecision {
        decision_id,
        role_name,
        role_arn,
        plan_fingerprint,
        state_fingerprint,
        announced_removals,
        unused_days,
    } = apply;
    let field = |name: &str, value: String| non_empty(DIRECTIVE, &format!("apply.{name}"), value);
    for (i, action) in announced_removals.iter().enumerate() {
        if !action.contains(':') {
            return Err(ConvertError::new(
                DIRECTIVE,
                &key("apply.announced_removals", i),
                Problem::Invalid(format!("{action:?} is not a service:Action name")),
            ));
        }
    }
    if unused_days == Some(0) {
        return Err(ConvertError::new(
            DIRECTIVE,
            "apply.unused_days",
            Problem::Invalid("must be at least 1".into()),
        ));
    }
    Ok(ApplyDecision {
        decision_id: field("decision_id", decision_id)?,
        role_name: field("role_name", role_name)?,
        role_arn: field("role_arn", role_arn)?,
        plan_fingerprint: field("plan_fingerprint", plan_fingerprint)?,
        state_fingerprint: field("state_fingerprint", state_fingerprint)?,
        announced_removals,
        unused_days,
    })
}

impl From<RollbackOrder> for pb::RollbackRequest {
    fn from(order: RollbackOrder) -> Self {
        use pb::rollback_request::Target;
        let RollbackOrder {
            request_id,
            target,
            force,
        } = order;
        let target = match target {
            RollbackTarget::Change(id) => Target::ChangeId(id.to_string()),
            RollbackTarget::Role(name) => Target::RoleName(name),
            RollbackTarget::Since(t) => Target::Since(time_text(t)),
        };
        pb::RollbackRequest {
            request_id,
            target: Some(target),
            force,
        }
    }
}

impl TryFrom<pb::RollbackRequest> for RollbackOrder {
    type Error = ConvertError;

    fn try_from(request: pb::RollbackRequest) -> Result<Self, ConvertError> {
        use pb::rollback_request::Target;
        const MESSAGE: &str = "RollbackRequest";
        let pb::RollbackRequest {
            request_id,
            target,
            force,
        } = request;
        let target = match target {
            None => return Err(ConvertError::new(MESSAGE, "target", Problem::Missing)),
            Some(Target::ChangeId(id)) => WireTarget::Change(id),
            Some(Target::RoleName(name)) => WireTarget::Role(name),
            Some(Target::Since(since)) => WireTarget::Since(since),
        };
        Ok(RollbackOrder {
            request_id: non_empty(MESSAGE, "request_id", request_id)?,
            target: rollback_target(MESSAGE, target)?,
            force,
        })
    }
}

/// A rollback target as both protocols carry it: a oneof of three strings.
pub(crate) enum WireTarget {
    Change(String),
    Role(String),
    Since(String),
}

/// Reads a rollback target; `message` is the request it comes in.
pub(crate) fn rollback_target(
    message: &'static str,
    target: WireTarget,
) -> Result<RollbackTarget, ConvertError> {
    Ok(match target {
        WireTarget::Change(id) => RollbackTarget::Change(change_id(message, "change_id", &id)?),
        WireTarget::Role(name) => RollbackTarget::Role(non_empty(message, "role_name", name)?),
        WireTarget::Since(since) => RollbackTarget::Since(time(message, "since", &since)?),
    })
}
