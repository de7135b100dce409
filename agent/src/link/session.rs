//! One stream to the coordinator: dial, Hello, reports with their acks, the
//! periodic plan, and directives, until the stream ends.

use std::collections::HashMap;

use tokio::sync::mpsc;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Channel, Endpoint};
use whittle_proto::agent::v1 as pb;
use whittle_proto::agent::v1::agent_service_client::AgentServiceClient;
use whittle_proto::convert::{
    AgentMessage, CoordinatorMessage, DirectiveOutcome, Hello, PlanSummary, Report, ReportBody,
};

use super::{LinkAccount, LinkError, LinkSettings, RuleStore, directives, planning};
use crate::journal::{ChangeFilter, ChangeId, ChangeRecord, Journal};

/// What outlives one stream.
#[derive(Debug, Default)]
pub(super) struct LinkState {
    /// How many streams were welcomed.
    pub welcomed: u64,
    /// Outcomes by directive id: a directive received again is answered, not redone.
    pub outcomes: HashMap<String, DirectiveOutcome>,
}

/// The most directive outcomes remembered.
const OUTCOMES_KEPT: usize = 4096;

/// The report id of a journal record as it is now: a record reported again
/// after a state change is a new report.
pub fn change_report_id(record: &ChangeRecord) -> String {
    format!("change:{}:{}", record.id, record.state)
}

/// Runs one stream until it ends; `Ok` never comes back while it is up.
pub(super) async fn run(
    account: &LinkAccount,
    settings: &LinkSettings,
    rules: &RuleStore,
    state: &mut LinkState,
) -> Result<(), LinkError> {
    let channel = dial(settings).await?;
    // The stream carries the trace context of the span that opens it.
    let mut client =
        AgentServiceClient::with_interceptor(channel, whittle_proto::telemetry::propagate);
    let (tx, rx) = mpsc::channel::<pb::AgentMessage>(64);
    let mut out = Outbox {
        tx,
        pending: HashMap::new(),
    };
    let journal = account.engine.journal();
    let hello = Hello {
        agent_version: env!("CARGO_PKG_VERSION").to_string(),
        account_id: account.account_id.clone(),
        exclusion_version: rules.current().version,
        journal_empty: journal.list(&ChangeFilter::default())?.is_empty(),
    };
    out.send(AgentMessage::Hello(hello)).await?;
    let mut inbound = client.connect(ReceiverStream::new(rx)).await?.into_inner();
    out.report_changes(journal).await?;
    let mut ticker = tokio::time::interval(settings.plan_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            message = inbound.next() => {
                let Some(message) = message else {
                    return Err(LinkError::Closed);
                };
                match CoordinatorMessage::try_from(message?)? {
                    CoordinatorMessage::Welcome(w) => {
                        state.welcomed += 1;
                        tracing::info!(
                            coordinator_version = %w.coordinator_version,
                            exclusion_version = w.exclusion_version,
                            "welcomed by the coordinator"
                        );
                    }
                    CoordinatorMessage::Ack { report_id } => out.acked(journal, &report_id)?,
                    CoordinatorMessage::Directive(d) => {
                        let outcome = match state.outcomes.get(&d.directive_id) {
                            Some(done) => done.clone(),
                            None => {
                                let carried = directives::carry_out(account, rules, d).await;
                                if let Some(plan) = carried.plan {
                                    out.send(AgentMessage::Report(Report {
                                        report_id: plan_report_id(&plan),
                                        body: ReportBody::Plan(Box::new(plan)),
                                    }))
                                    .await?;
                                }
                                let outcome = carried.outcome;
                                if state.outcomes.len() >= OUTCOMES_KEPT {
                                    state.outcomes.clear();
                                }
                                state
                                    .outcomes
                                    .insert(outcome.directive_id.clone(), outcome.clone());
                                outcome
                            }
                        };
                        out.report_changes(journal).await?;
                        out.send(AgentMessage::Outcome(outcome)).await?;
                    }
                }
            }
            _ = ticker.tick() => {
                // Also catches records changed outside a directive (a reconcile).
                out.report_changes(journal).await?;
                report_plans(account, rules, &mut out).await?;
            }
        }
    }
}

async fn dial(settings: &LinkSettings) -> Result<Channel, LinkError> {
    let address = |problem: String| LinkError::Address {
        url: settings.coordinator.clone(),
        problem,
    };
    let tls = settings
        .tls
        .tonic_client_tls()
        .map_err(|e| address(e.to_string()))?;
    let endpoint = Endpoint::from_shared(settings.coordinator.clone())
        .map_err(|e| address(e.to_string()))?
        .connect_timeout(settings.connect_timeout)
        .tls_config(tls)?;
    Ok(endpoint.connect().await?)
}

/// The idempotency key of a plan report: a plan reported twice is stored once.
fn plan_report_id(plan: &PlanSummary) -> String {
    format!("plan:{}:{}", plan.role_name, plan.fingerprint)
}

/// Plans the account and reports it; a failed plan is logged, the stream stays.
async fn report_plans(
    account: &LinkAccount,
    rules: &RuleStore,
    out: &mut Outbox,
) -> Result<(), LinkError> {
    let now = account.engine.now();
    let (inventory, plans) = match planning::plan_account(account, &rules.current(), now).await {
        Ok(done) => done,
        Err(e) => {
            tracing::warn!(error = %e, "cannot plan the account");
            return Ok(());
        }
    };
    let stamp = now.timestamp_millis();
    out.send(AgentMessage::Report(Report {
        report_id: format!("inventory:{stamp}"),
        body: ReportBody::Inventory(inventory),
    }))
    .await?;
    for plan in plans {
        out.send(AgentMessage::Report(Report {
            report_id: plan_report_id(&plan),
            body: ReportBody::Plan(Box::new(plan)),
        }))
        .await?;
    }
    Ok(())
}

/// The sending half of a stream, with the change reports awaiting their Ack.
struct Outbox {
    tx: mpsc::Sender<pb::AgentMessage>,
    pending: HashMap<String, ChangeId>,
}

impl Outbox {
    async fn send(&self, message: AgentMessage) -> Result<(), LinkError> {
        self.tx
            .send(message.into())
            .await
            .map_err(|_| LinkError::Closed)
    }

    /// Sends every journal record not acknowledged and not already sent on this stream.
    async fn report_changes(&mut self, journal: &Journal) -> Result<(), LinkError> {
        for record in journal.unreported()? {
            let report_id = change_report_id(&record);
            if self.pending.contains_key(&report_id) {
                continue;
            }
            self.pending.insert(report_id.clone(), record.id);
            self.send(AgentMessage::Report(Report {
                report_id,
                body: ReportBody::Change(Box::new(record)),
            }))
            .await?;
        }
        Ok(())
    }

    /// Marks the record reported when the Ack is for its current state (an Ack
    /// of an older state leaves the newer one to be reported).
    fn acked(&mut self, journal: &Journal, report_id: &str) -> Result<(), LinkError> {
        let Some(id) = self.pending.remove(report_id) else {
            return Ok(());
        };
        let record = journal.get(id)?;
        if change_report_id(&record) == report_id {
            journal.mark_reported(id)?;
            tracing::debug!(change_id = %id, "change reported");
        }
        Ok(())
    }
}
