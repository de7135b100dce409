//! One stream to the coordinator: dial, Hello, reports with their acks, the
//! periodic plan, and directives, until the stream ends.

use std::collections::HashMap;
use std::time::Duration;

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
        AgentServiceClient::with_interceptor(channel, whittle_proto::telemetry::propagate)
            .max_decoding_message_size(whittle_proto::MAX_MESSAGE_BYTES)
            .max_encoding_message_size(whittle_proto::MAX_MESSAGE_BYTES);
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
    // The first plan follows the Welcome (or the newer rules it announces); then one per
    // interval.
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::now() + settings.plan_interval,
        settings.plan_interval,
    );
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Rules newer than ours, announced in the Welcome: the plans wait for them, so that
    // no plan is made (and reported) without a rule the coordinator already holds.
    let mut rules_awaited: Option<u64> = None;
    // A plan of the account is due: at the start, and soon after a directive changed roles
    // (so that the coordinator's figures follow the changes, not the plan interval).
    let mut plan_due = true;
    let replan = tokio::time::sleep(REPLAN_AFTER_CHANGE);
    tokio::pin!(replan);
    let mut replan_armed = false;
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
                        if w.exclusion_version > rules.current().version {
                            rules_awaited = Some(w.exclusion_version);
                        } else if plan_due {
                            report_plans(account, rules, &mut out).await?;
                            plan_due = false;
                        }
                    }
                    CoordinatorMessage::Ack { report_id } => out.acked(journal, &report_id)?,
                    CoordinatorMessage::Directive(d) => {
                        let key = outcome_key(&d.directive_id);
                        let outcome = match state.outcomes.get(&key) {
                            Some(done) => DirectiveOutcome {
                                directive_id: d.directive_id.clone(),
                                ..done.clone()
                            },
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
                                state.outcomes.insert(key, outcome.clone());
                                outcome
                            }
                        };
                        if !outcome.change_ids.is_empty() {
                            plan_due = true;
                            replan.as_mut().reset(tokio::time::Instant::now() + REPLAN_AFTER_CHANGE);
                            replan_armed = true;
                        }
                        out.report_changes(journal).await?;
                        out.send(AgentMessage::Outcome(outcome)).await?;
                        if rules_awaited.is_some_and(|v| rules.current().version >= v) {
                            rules_awaited = None;
                            if plan_due {
                                report_plans(account, rules, &mut out).await?;
                                plan_due = false;
                            }
                        }
                    }
                }
            }
            _ = ticker.tick() => {
                // Also catches records changed outside a directive (a reconcile).
                out.report_changes(journal).await?;
                // Rules announced but never sent must not stop the plans for longer.
                rules_awaited = None;
                report_plans(account, rules, &mut out).await?;
                plan_due = false;
            }
            () = &mut replan, if replan_armed => {
                replan_armed = false;
                if plan_due && rules_awaited.is_none() {
                    report_plans(account, rules, &mut out).await?;
                    plan_due = false;
                }
            }
        }
    }
}

/// How long after a directive changed roles the account is planned again: a quiet time, so
/// that a burst of applies (a campaign wave) makes one plan, not one per apply.
const REPLAN_AFTER_CHANGE: Duration = Duration::from_secs(5);

/// The key an outcome is remembered by. A rollback request may come as a rollback from the
/// journal or as a restore from the coordinator's history (the agent's journal was empty when
/// it was first sent); both are the same request, carried out once.
fn outcome_key(directive_id: &str) -> String {
    match directive_id.split_once(':') {
        Some(("rollback" | "restore", id)) => format!("request:{id}"),
        _ => directive_id.to_string(),
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
