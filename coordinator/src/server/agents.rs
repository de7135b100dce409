//! AgentService: each agent's one long-lived stream.
//!
//! Hello first (its account must be the certificate's); then Welcome, the rules if the
//! agent's are older, open decisions and queued rollbacks; then every Report is stored
//! and acknowledged (the Ack only after the store committed it), and every
//! DirectiveOutcome finishes its decision or rollback. When the stream ends, the account
//! is marked disconnected and its unanswered rollbacks go back to the queue.

use chrono::Utc;
use tokio::sync::oneshot;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};
use whittle_policy::change::{ChangeKind, ChangeRecord, ChangeState};
use whittle_proto::agent::v1 as pb;
use whittle_proto::agent::v1::agent_service_server::AgentService;
use whittle_proto::convert::{
    AgentMessage, CoordinatorMessage, DirectiveOutcome, Hello, Refusal, Report as WireReport,
    ReportBody, Welcome,
};
use whittle_proto::identity::Identity;

use super::auth::{self, Need, ServerError, status};
use super::deliver::{self, DirectiveKind};
use super::fleet::Outbound;
use super::{Shared, VERSION, campaigns, wire};
use crate::store::{AccountSummary, DecisionFilter, DecisionState, NewAuditEntry, Report};

/// The AgentService handler.
#[derive(Debug)]
pub struct Agents {
    shared: Shared,
}

impl Agents {
    pub fn new(shared: Shared) -> Agents {
        Agents { shared }
    }
}

#[tonic::async_trait]
impl AgentService for Agents {
    type ConnectStream = ReceiverStream<Result<pb::CoordinatorMessage, Status>>;

    async fn connect(
        &self,
        request: Request<Streaming<pb::AgentMessage>>,
    ) -> Result<Response<Self::ConnectStream>, Status> {
        let identity =
            auth::authorize(&request, Need::Agent, "use AgentService").map_err(status)?;
        let Identity::Agent { account_id } = identity else {
            return Err(status(ServerError::Protocol("not an agent".into())));
        };
        let mut inbound = request.into_inner();
        let hello = match hello(&mut inbound, &account_id).await {
            Ok(hello) => hello,
            Err(e) => {
                if let ServerError::Denied { who, what } = &e {
                    let entry = NewAuditEntry {
                        who: who.clone(),
                        action: "connect".into(),
                        target: format!("account {account_id}"),
                        result: format!("error: {who} may not {what}"),
                    };
                    self.shared.audit(entry).await;
                }
                return Err(status(e));
            }
        };
        let stream = start(&self.shared, &account_id, &hello, inbound)
            .await
            .map_err(status)?;
        Ok(Response::new(stream))
    }
}

/// Reads the first message, which must be a Hello for the certificate's account.
async fn hello(
    inbound: &mut Streaming<pb::AgentMessage>,
    account_id: &str,
) -> Result<Hello, ServerError> {
    let first = inbound
        .message()
        .await
        .map_err(|e| ServerError::Protocol(format!("stream failed before hello: {e}")))?
        .ok_or_else(|| ServerError::Protocol("stream ended before hello".into()))?;
    let AgentMessage::Hello(hello) = AgentMessage::try_from(first)? else {
        return Err(ServerError::Protocol(
            "the first message must be a hello".into(),
        ));
    };
    if hello.account_id != account_id {
        return Err(ServerError::Denied {
            who: format!("agent of account {account_id}"),
            what: format!("speak for account {}", hello.account_id),
        });
    }
    Ok(hello)
}

/// Registers the stream, sends what the agent needs first, and starts the reader.
async fn start(
    shared: &Shared,
    account_id: &str,
    hello: &Hello,
    inbound: Streaming<pb::AgentMessage>,
) -> Result<ReceiverStream<Result<pb::CoordinatorMessage, Status>>, ServerError> {
    let account = account_id.to_string();
    let version = hello.agent_version.clone();
    shared
        .blocking(move |s| {
            s.set_connected(&account, true, Some(&version), Utc::now())?;
            // Requests sent on an earlier stream of this account were never answered.
            s.requeue_sent(&account)
        })
        .await?;
    let welcome = CoordinatorMessage::Welcome(Welcome {
        coordinator_version: VERSION.to_string(),
        exclusion_version: shared.blocking(|s| s.exclusion_version()).await?,
    });
    let registered = shared
        .fleet
        .register(account_id, hello.journal_empty, welcome);
    tracing::info!(account_id, agent_version = %hello.agent_version, "agent connected");
    let reader = Reader {
        shared: shared.clone(),
        account_id: account_id.to_string(),
        conn: registered.id,
        tx: registered.tx,
    };
    // Greeting may send more than the stream's queue holds: it runs in the stream's task,
    // after the stream is handed to tonic, which drains it.
    let (shared, account_id, hello) = (shared.clone(), account_id.to_string(), hello.clone());
    tokio::spawn(async move {
        if let Err(e) = greet(&shared, &account_id, &hello, &reader.tx).await {
            let _ = reader.tx.send(Err(status(e))).await;
            reader.finish().await;
            return;
        }
        reader.run(inbound, registered.replaced).await;
    });
    Ok(ReceiverStream::new(registered.rx))
}

/// Sends what the agent needs after the Welcome: newer rules, open decisions, queued
/// rollbacks. The version is read again now that the stream is registered, so that a rule
/// added in between reaches the agent one way or the other.
async fn greet(
    shared: &Shared,
    account_id: &str,
    hello: &Hello,
    tx: &Outbound,
) -> Result<(), ServerError> {
    let current = shared.blocking(|s| s.exclusion_version()).await?;
    if hello.exclusion_version < current {
        let rules = deliver::rules_message(shared).await?;
        // A failed send means the agent went away; the reader then sees the stream end.
        let _ = tx.send(Ok(rules.into())).await;
    }
    deliver::decisions(shared, account_id).await?;
    deliver::rollbacks(shared, account_id).await?;
    Ok(())
}

/// Reads an agent's messages until its stream ends or a newer connection replaces it.
struct Reader {
    shared: Shared,
    account_id: String,
    conn: u64,
    tx: Outbound,
}

impl Reader {
    async fn run(self, mut inbound: Streaming<pb::AgentMessage>, replaced: oneshot::Receiver<()>) {
        tokio::pin!(replaced);
        loop {
            let next = tokio::select! {
                next = inbound.message() => next,
                _ = &mut replaced => {
                    tracing::info!(account_id = %self.account_id, "old agent stream closed");
                    break;
                }
            };
            let message = match next {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(e) => {
                    tracing::info!(account_id = %self.account_id, error = %e, "agent stream failed");
                    break;
                }
            };
            if let Err(e) = self.handle(message).await {
                // The agent learns why its stream ends; it reconnects and sends again.
                let _ = self.tx.send(Err(status(e))).await;
                break;
            }
        }
        self.finish().await;
    }

    async fn handle(&self, message: pb::AgentMessage) -> Result<(), ServerError> {
        match AgentMessage::try_from(message)? {
            AgentMessage::Hello(_) => Err(ServerError::Protocol(
                "hello may only be the first message of a stream".into(),
            )),
            AgentMessage::Report(report) => self.report(report).await,
            AgentMessage::Outcome(outcome) => self.outcome(outcome).await,
        }
    }

    /// Stores a report (once, by its id), then acknowledges it.
    async fn report(&self, report: WireReport) -> Result<(), ServerError> {
        let WireReport { report_id, body } = report;
        let now = Utc::now();
        let mut change = None;
        let stored = match body {
            ReportBody::Inventory(i) => Report {
                summary: Some(AccountSummary {
                    roles: i.roles,
                    actions_granted: i.actions_granted,
                    removable: i.removable,
                }),
                ..Report::default()
            },
            ReportBody::Plan(plan) => Report {
                plans: vec![wire::stored_plan(&self.account_id, *plan, now)?],
                ..Report::default()
            },
            ReportBody::Change(record) => {
                change = Some((*record).clone());
                Report {
                    changes: vec![*record],
                    ..Report::default()
                }
            }
        };
        let (account, id) = (self.account_id.clone(), report_id.clone());
        self.shared
            .blocking(move |s| s.ingest_report(&account, &id, &stored, now))
            .await?;
        if let Some(change) = change {
            // The agent's journal holds a change now: rollbacks go to it, not to history.
            self.shared.fleet.journal_not_empty(&self.account_id);
            self.advance_decisions(&change).await?;
        }
        let ack = CoordinatorMessage::Ack { report_id };
        let _ = self.tx.send(Ok(ack.into())).await;
        Ok(())
    }

    /// A finished apply finishes the open decision for the same role and plan.
    async fn advance_decisions(&self, change: &ChangeRecord) -> Result<(), ServerError> {
        let to = match (&change.kind, change.state) {
            (ChangeKind::Apply, ChangeState::Applied) => DecisionState::Applied,
            (ChangeKind::Apply, ChangeState::Failed) => DecisionState::Failed,
            _ => return Ok(()),
        };
        let filter = DecisionFilter {
            account_id: Some(self.account_id.clone()),
            role_name: Some(change.role_name.clone()),
            states: vec![DecisionState::Pending, DecisionState::Sent],
            ..DecisionFilter::default()
        };
        let (fingerprint, change_id, error) = (
            change.plan_fingerprint.clone(),
            change.id,
            change.error.clone(),
        );
        self.shared
            .blocking(move |s| {
                for d in s.list_decisions(&filter)? {
                    if fingerprint.as_deref() == Some(d.plan_fingerprint.as_str()) {
                        s.transition_decision(
                            &d.decision_id,
                            to,
                            error.clone(),
                            Some(change_id),
                            Utc::now(),
                        )?;
                    }
                }
                Ok(())
            })
            .await
    }

    /// Records the agent's answer to a directive.
    async fn outcome(&self, outcome: DirectiveOutcome) -> Result<(), ServerError> {
        let DirectiveOutcome {
            directive_id,
            ok,
            message,
            change_ids,
            refusal,
        } = outcome;
        let detail = (!message.is_empty()).then_some(message);
        let account = self.account_id.clone();
        let result = match DirectiveKind::parse(&directive_id) {
            Some(DirectiveKind::Decision(id)) => {
                let to = match (ok, refusal) {
                    (true, _) => DecisionState::Applied,
                    // Covered by a rule now: nothing failed, the work is called off.
                    (false, Some(Refusal::Excluded)) => DecisionState::Cancelled,
                    (false, _) => DecisionState::Failed,
                };
                let grew = !ok && refusal == Some(Refusal::PlanGrew);
                let change = change_ids.first().copied();
                let now = Utc::now();
                let decided = self
                    .shared
                    .blocking(move |s| {
                        match s.get_decision(&id)? {
                            Some(d) if d.account_id == account => {}
                            _ => return Ok(None),
                        }
                        if grew {
                            let detail = detail.unwrap_or_else(|| "the plan grew".into());
                            return s.cancel_plan_grew(&id, detail, now).map(Some);
                        }
                        s.transition_decision(&id, to, detail, change, now)
                            .map(Some)
                    })
                    .await;
                match decided {
                    Ok(Some(d)) if grew => {
                        campaigns::reannounce_refused(&self.shared, &d, now).await
                    }
                    Ok(_) => Ok(()),
                    Err(e) => Err(e),
                }
            }
            Some(DirectiveKind::Rollback(id) | DirectiveKind::Restore(id)) => {
                self.shared
                    .blocking(move |s| {
                        s.finish_rollback(&account, &id, ok, detail, change_ids)
                            .map(drop)
                    })
                    .await
            }
            Some(DirectiveKind::Rules(_)) => Ok(()),
            None => Err(ServerError::Protocol(format!(
                "directive id {directive_id:?} was never sent"
            ))),
        };
        // An answer that does not fit its record (given twice, or too late) is logged and
        // dropped: the agent cannot do anything about it.
        if let Err(e) = result {
            tracing::warn!(account_id = %self.account_id, directive_id, error = %e, "outcome not recorded");
        }
        Ok(())
    }

    /// The stream ended: unless a newer connection replaced it, the agent is gone.
    async fn finish(self) {
        if !self.shared.fleet.remove(&self.account_id, self.conn) {
            return;
        }
        let account = self.account_id.clone();
        let result = self
            .shared
            .blocking(move |s| {
                s.set_connected(&account, false, None, Utc::now())?;
                s.requeue_sent(&account)
            })
            .await;
        match result {
            Ok(requeued) => {
                tracing::info!(account_id = %self.account_id, requeued, "agent disconnected");
            }
            Err(e) => drop(status(e)),
        }
    }
}
