//! What the agent sends on its stream: [`AgentMessage`] with [`Hello`], [`Report`] and
//! [`DirectiveOutcome`].

use chrono::{DateTime, Utc};
use whittle_policy::change::{ChangeId, ChangeRecord};

use super::error::{
    ConvertError, Problem, account_id, change_id, key, nested, non_empty, time, time_text,
};
use super::plan::PlanSummary;
use crate::agent::v1 as pb;

/// One message from an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentMessage {
    Hello(Hello),
    Report(Report),
    Outcome(DirectiveOutcome),
}

/// The first message of every stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    pub agent_version: String,
    /// The account of the agent's AWS credentials; never an identity (the
    /// certificate is), only checked against it.
    pub account_id: String,
    pub exclusion_version: u64,
    pub journal_empty: bool,
}

/// Something to store, acknowledged by its `report_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub report_id: String,
    pub body: ReportBody,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportBody {
    Inventory(Inventory),
    Plan(Box<PlanSummary>),
    Change(Box<ChangeRecord>),
}

/// The account at a glance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inventory {
    pub roles: u32,
    pub actions_granted: u64,
    pub removable: u64,
    pub observed_at: DateTime<Utc>,
}

/// The answer to one directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectiveOutcome {
    pub directive_id: String,
    pub ok: bool,
    pub message: String,
    pub change_ids: Vec<ChangeId>,
    /// Why it was not carried out, when that matters to the coordinator.
    pub refusal: Option<Refusal>,
}

/// Why an agent did not carry out a directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// An exclusion rule (or the agent's protection) covers the role now.
    Excluded,
    /// The plan would remove actions that were not announced.
    PlanGrew,
}

impl From<AgentMessage> for pb::AgentMessage {
    fn from(message: AgentMessage) -> Self {
        use pb::agent_message::Kind;
        let kind = match message {
            AgentMessage::Hello(hello) => Kind::Hello(hello.into()),
            AgentMessage::Report(report) => Kind::Report(report.into()),
            AgentMessage::Outcome(outcome) => Kind::Outcome(outcome.into()),
        };
        pb::AgentMessage { kind: Some(kind) }
    }
}

impl TryFrom<pb::AgentMessage> for AgentMessage {
    type Error = ConvertError;

    fn try_from(message: pb::AgentMessage) -> Result<Self, ConvertError> {
        use pb::agent_message::Kind;
        const MESSAGE: &str = "AgentMessage";
        let pb::AgentMessage { kind } = message;
        match kind {
            None => Err(ConvertError::new(MESSAGE, "kind", Problem::Missing)),
            Some(Kind::Hello(h)) => Ok(AgentMessage::Hello(nested(MESSAGE, "hello", h)?)),
            Some(Kind::Report(r)) => Ok(AgentMessage::Report(nested(MESSAGE, "report", r)?)),
            Some(Kind::Outcome(o)) => Ok(AgentMessage::Outcome(nested(MESSAGE, "outcome", o)?)),
        }
    }
}

impl From<Hello> for pb::Hello {
    fn from(hello: Hello) -> Self {
        let Hello {
            agent_version,
            account_id,
            exclusion_version,
            journal_empty,
        } = hello;
        pb::Hello {
            agent_version,
            account_id,
            exclusion_version,
            journal_empty,
        }
    }
}

impl TryFrom<pb::Hello> for Hello {
    type Error = ConvertError;

    fn try_from(hello: pb::Hello) -> Result<Self, ConvertError> {
        let pb::Hello {
            agent_version,
            account_id: account,
            exclusion_version,
            journal_empty,
        } = hello;
        Ok(Hello {
            agent_version,
            account_id: account_id("Hello", "account_id", account)?,
            exclusion_version,
            journal_empty,
        })
    }
}

impl From<Report> for pb::Report {
    fn from(report: Report) -> Self {
        use pb::report::Body;
        let Report { report_id, body } = report;
        let body = match body {
            ReportBody::Inventory(inventory) => Body::Inventory(inventory.into()),
            ReportBody::Plan(plan) => Body::Plan((*plan).into()),
            ReportBody::Change(change) => Body::Change((*change).into()),
        };
        pb::Report {
            report_id,
            body: Some(body),
        }
    }
}

impl TryFrom<pb::Report> for Report {
    type Error = ConvertError;

    fn try_from(report: pb::Report) -> Result<Self, ConvertError> {
        use pb::report::Body;
        const MESSAGE: &str = "Report";
        let pb::Report { report_id, body } = report;
        let report_id = non_empty(MESSAGE, "report_id", report_id)?;
        let body = match body {
            None => return Err(ConvertError::new(MESSAGE, "body", Problem::Missing)),
            Some(Body::Inventory(i)) => ReportBody::Inventory(nested(MESSAGE, "inventory", i)?),
            Some(Body::Plan(p)) => ReportBody::Plan(Box::new(nested(MESSAGE, "plan", p)?)),
            Some(Body::Change(c)) => ReportBody::Change(Box::new(nested(MESSAGE, "change", c)?)),
        };
        Ok(Report { report_id, body })
    }
}

impl From<Inventory> for pb::InventorySummary {
    fn from(inventory: Inventory) -> Self {
        let Inventory {
            roles,
            actions_granted,
            removable,
            observed_at,
        } = inventory;
        pb::InventorySummary {
            roles,
            actions_granted,
            removable,
            observed_at: time_text(observed_at),
        }
    }
}

impl TryFrom<pb::InventorySummary> for Inventory {
    type Error = ConvertError;

    fn try_from(inventory: pb::InventorySummary) -> Result<Self, ConvertError> {
        let pb::InventorySummary {
            roles,
            actions_granted,
            removable,
            observed_at,
        } = inventory;
        if removable > actions_granted {
            let problem = Problem::Invalid(format!(
                "{removable} is more than actions_granted ({actions_granted})"
            ));
            return Err(ConvertError::new("InventorySummary", "removable", problem));
        }
        Ok(Inventory {
            roles,
            actions_granted,
            removable,
            observed_at: time("InventorySummary", "observed_at", &observed_at)?,
        })
    }
}

impl From<DirectiveOutcome> for pb::DirectiveOutcome {
    fn from(outcome: DirectiveOutcome) -> Self {
        let DirectiveOutcome {
            directive_id,
            ok,
            message,
            change_ids,
            refusal,
        } = outcome;
        let refusal = match refusal {
            None => pb::Refusal::Unspecified,
            Some(Refusal::Excluded) => pb::Refusal::Excluded,
            Some(Refusal::PlanGrew) => pb::Refusal::PlanGrew,
        };
        pb::DirectiveOutcome {
            directive_id,
            ok,
            message,
            change_ids: change_ids.iter().map(ChangeId::to_string).collect(),
            refusal: refusal.into(),
        }
    }
}

impl TryFrom<pb::DirectiveOutcome> for DirectiveOutcome {
    type Error = ConvertError;

    fn try_from(outcome: pb::DirectiveOutcome) -> Result<Self, ConvertError> {
        const MESSAGE: &str = "DirectiveOutcome";
        let pb::DirectiveOutcome {
            directive_id,
            ok,
            message,
            change_ids,
            refusal,
        } = outcome;
        let refusal = match pb::Refusal::try_from(refusal) {
            Ok(pb::Refusal::Unspecified) => None,
            Ok(pb::Refusal::Excluded) => Some(Refusal::Excluded),
            Ok(pb::Refusal::PlanGrew) => Some(Refusal::PlanGrew),
            Err(_) => {
                return Err(ConvertError::new(
                    MESSAGE,
                    "refusal",
                    Problem::UnknownEnum {
                        name: "Refusal",
                        value: refusal,
                    },
                ));
            }
        };
        let change_ids = change_ids
            .iter()
            .enumerate()
            .map(|(i, id)| change_id(MESSAGE, &key("change_ids", i), id))
            .collect::<Result<_, _>>()?;
        Ok(DirectiveOutcome {
            directive_id: non_empty(MESSAGE, "directive_id", directive_id)?,
            ok,
            message,
            change_ids,
            refusal,
        })
    }
}
