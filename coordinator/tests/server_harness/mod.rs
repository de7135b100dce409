//! A coordinator on loopback over real mutual TLS, with certificates from a fresh CA, and
//! the fake agents and operators that talk to it.

#![allow(dead_code)] // each test file uses part of the harness

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tempfile::TempDir;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;
use tonic::transport::{Channel, Endpoint};
use ulid::Ulid;
use whittle_coordinator::ca::{Ca, IssueRequest, IssuedCert};
use whittle_coordinator::server::Coordinator;
use whittle_coordinator::store::Store;
use whittle_policy::change::{ChangeId, ChangeKind, ChangeRecord, ChangeState, NewChange};
use whittle_policy::diff::{Diff, RoleState};
use whittle_policy::{Role, Settings};
use whittle_proto::admin::v1::admin_service_client::AdminServiceClient;
use whittle_proto::agent::v1 as pb;
use whittle_proto::agent::v1::agent_service_client::AgentServiceClient;
use whittle_proto::convert::{
    AgentMessage, CoordinatorMessage, Hello, Inventory, PlanInputs, PlanSummary, Report, ReportBody,
};
use whittle_proto::identity::OperatorRole;
use whittle_proto::tls::{TlsFiles, tonic_client_tls};

/// How long any single wait of a test may take.
pub const WAIT: Duration = Duration::from_secs(10);

pub const A: &str = "111122223333";
pub const B: &str = "444455556666";

/// A CA and a data directory that outlive coordinator restarts.
pub struct Fixture {
    pub tmp: TempDir,
    pub ca: Ca,
    pub server_cert: IssuedCert,
}

impl Fixture {
    pub fn new() -> Fixture {
        let tmp = TempDir::new().unwrap();
        let ca = Ca::init(&tmp.path().join("ca"), Utc::now()).unwrap();
        let server_cert = ca
            .issue(IssueRequest::server(vec!["localhost".into()]), Utc::now())
            .unwrap();
        Fixture {
            tmp,
            ca,
            server_cert,
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.tmp.path().join("data")
    }

    pub fn agent_cert(&self, account: &str) -> IssuedCert {
        self.ca
            .issue(IssueRequest::agent(account).unwrap(), Utc::now())
            .unwrap()
    }

    pub fn operator_cert(&self, name: &str, role: OperatorRole) -> IssuedCert {
        self.ca
            .issue(IssueRequest::operator(name, role).unwrap(), Utc::now())
            .unwrap()
    }

    /// Opens the store in the data directory and serves on 127.0.0.1:0. The store may still
    /// be held by a server that is stopping: retry for a bounded time.
    pub async fn start(&self) -> Server {
        let tls = TlsFiles {
            ca_cert: self.ca.cert_path(),
            cert: self.server_cert.path_cert.clone(),
            key: self.server_cert.path_key.clone(),
        };
        let deadline = tokio::time::Instant::now() + WAIT;
        let coordinator = loop {
            match Coordinator::open(&self.data_dir(), tls.clone()) {
                Ok(c) => break c,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("cannot open the coordinator: {e}"),
            }
        };
        let store = Arc::clone(coordinator.store());
        let fleet = coordinator.fleet().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let (addr, serving) = coordinator
            .bind("127.0.0.1:0".parse().unwrap(), shutdown)
            .unwrap();
        let task = tokio::spawn(async move { serving.await.unwrap() });
        Server {
            port: addr.port(),
            fleet,
            store: Some(store),
            stop: Some(stop),
            task: Some(task),
        }
    }
}

/// A running coordinator.
pub struct Server {
    pub port: u16,
    fleet: whittle_coordinator::server::Fleet,
    store: Option<Arc<Store>>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    pub fn store(&self) -> &Store {
        self.store.as_ref().unwrap()
    }

    /// How many agents the server holds a stream of.
    pub fn fleet_len(&self) -> usize {
        self.fleet.len()
    }

    /// Shuts the server down and waits until it stopped.
    pub async fn stop(mut self) {
        self.store = None;
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(WAIT, self.task.take().unwrap())
            .await
            .expect("the server did not stop in time")
            .unwrap();
    }

    pub fn endpoint(&self) -> Endpoint {
        Endpoint::from_shared(format!("https://localhost:{}", self.port))
            .unwrap()
            .connect_timeout(WAIT)
            .timeout(WAIT)
    }

    /// A channel presenting `cert` (or no client certificate), trusting `ca_pem`.
    pub async fn channel(
        &self,
        ca_pem: &[u8],
        cert: Option<&IssuedCert>,
    ) -> Result<Channel, tonic::transport::Error> {
        let tls = match cert {
            Some(c) => {
                tonic_client_tls(ca_pem, c.cert_pem.as_bytes(), c.key_pem.as_bytes()).unwrap()
            }
            None => tonic::transport::ClientTlsConfig::new()
                .ca_certificate(tonic::transport::Certificate::from_pem(ca_pem)),
        };
        self.endpoint().tls_config(tls)?.connect().await
    }

    pub async fn admin(&self, fx: &Fixture, cert: &IssuedCert) -> AdminServiceClient<Channel> {
        let channel = self
            .channel(fx.ca.cert_pem().as_bytes(), Some(cert))
            .await
            .unwrap();
        AdminServiceClient::new(channel)
    }

    /// Connects a fake agent with `cert` that says `hello`.
    pub async fn agent(
        &self,
        fx: &Fixture,
        cert: &IssuedCert,
        hello: Hello,
    ) -> Result<FakeAgent, tonic::Status> {
        let channel = self
            .channel(fx.ca.cert_pem().as_bytes(), Some(cert))
            .await
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        FakeAgent::connect(channel, hello).await
    }
}

/// An agent's end of the stream, driven by the test.
pub struct FakeAgent {
    tx: mpsc::Sender<pb::AgentMessage>,
    rx: Streaming<pb::CoordinatorMessage>,
}

impl FakeAgent {
    pub async fn connect(channel: Channel, hello: Hello) -> Result<FakeAgent, tonic::Status> {
        let (tx, rx) = mpsc::channel(16);
        tx.send(AgentMessage::Hello(hello).into()).await.unwrap();
        let mut client = AgentServiceClient::new(channel)
            .max_decoding_message_size(whittle_proto::MAX_MESSAGE_BYTES)
            .max_encoding_message_size(whittle_proto::MAX_MESSAGE_BYTES);
        let call = client.connect(ReceiverStream::new(rx));
        let response = tokio::time::timeout(WAIT, call)
            .await
            .expect("connect did not answer in time")?;
        Ok(FakeAgent {
            tx,
            rx: response.into_inner(),
        })
    }

    pub async fn send(&self, message: AgentMessage) {
        self.tx.send(message.into()).await.unwrap();
    }

    /// The next message from the coordinator, or the status that ended the stream.
    pub async fn next(&mut self) -> Result<Option<CoordinatorMessage>, tonic::Status> {
        let message = tokio::time::timeout(WAIT, self.rx.message())
            .await
            .expect("no message from the coordinator in time")?;
        Ok(message.map(|m| CoordinatorMessage::try_from(m).unwrap()))
    }

    /// The next message, which must be there.
    pub async fn expect(&mut self) -> CoordinatorMessage {
        self.next().await.unwrap().expect("the stream ended")
    }

    /// Sends a report and waits for its ack.
    pub async fn report(&mut self, report_id: &str, body: ReportBody) {
        self.send(AgentMessage::Report(Report {
            report_id: report_id.into(),
            body,
        }))
        .await;
        match self.expect().await {
            CoordinatorMessage::Ack { report_id: acked } => assert_eq!(acked, report_id),
            other => panic!("expected an ack of {report_id}, got {other:?}"),
        }
    }
}

pub fn hello(account: &str, exclusion_version: u64, journal_empty: bool) -> Hello {
    Hello {
        agent_version: "0.1.0-test".into(),
        account_id: account.into(),
        exclusion_version,
        journal_empty,
    }
}

pub fn arn(account: &str, role: &str) -> String {
    format!("arn:aws:iam::{account}:role/{role}")
}

pub fn inventory(roles: u32, granted: u64, removable: u64) -> ReportBody {
    ReportBody::Inventory(Inventory {
        roles,
        actions_granted: granted,
        removable,
        observed_at: Utc::now(),
    })
}

/// The fixed time the harness's plans are made for.
fn plan_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-20T12:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap()
}

/// The inputs of the harness's plan of `role`: a role with no policies.
fn plan_inputs(account: &str, role: &str) -> PlanInputs {
    let now = plan_time();
    PlanInputs {
        role: Role {
            arn: arn(account, role),
            role_id: format!("AROA{}", role.to_uppercase()),
            name: role.into(),
            path: "/".into(),
            create_date: now,
            tags: BTreeMap::new(),
            permissions_boundary: None,
            last_used: None,
            inline_policies: BTreeMap::new(),
            attached_policies: Vec::new(),
        },
        managed: BTreeMap::new(),
        usage: None,
        settings: Settings::default(),
        now,
    }
}

/// The real fingerprint of the harness's plan of `role` (the coordinator
/// recomputes it before an approval).
pub fn fingerprint(account: &str, role: &str) -> String {
    let inputs = plan_inputs(account, role);
    inputs
        .plan(whittle_policy::Catalogue::embedded())
        .unwrap()
        .fingerprint
}

/// A plan of `role` that says it removes `removable` actions; `fp` names it in
/// the state fingerprint (`state-<fp>`). Its fingerprint is the real one.
pub fn plan(account: &str, role: &str, fp: &str, removable: u32) -> PlanSummary {
    let inputs = plan_inputs(account, role);
    let real = inputs.plan(whittle_policy::Catalogue::embedded()).unwrap();
    PlanSummary {
        role_arn: inputs.role.arn.clone(),
        role_id: inputs.role.role_id.clone(),
        role_name: role.into(),
        fingerprint: real.fingerprint,
        state_fingerprint: format!("state-{fp}"),
        catalogue_version: real.catalogue_version,
        planned_at: inputs.now,
        skipped: None,
        removable,
        kept: 2,
        before: RoleState::default(),
        after: RoleState::default(),
        report_json: "{}".into(),
        inputs,
    }
}

/// An applied change of `role` carrying out plan `fp`.
pub fn change(account: &str, role: &str, fp: &str, state: ChangeState) -> ChangeRecord {
    let mut record = ChangeRecord::new(
        ChangeId::from_ulid(Ulid::new()),
        NewChange {
            kind: ChangeKind::Apply,
            account_id: account.into(),
            role_arn: arn(account, role),
            role_id: format!("AROA{}", role.to_uppercase()),
            role_name: role.into(),
            // The plan this change carries out: the harness's plan of the role.
            plan_fingerprint: Some({
                let _ = fp;
                fingerprint(account, role)
            }),
            before: RoleState::default(),
            after: RoleState::default(),
            diff: Diff::default(),
            managed_versions_before: BTreeMap::new(),
        },
        Utc::now(),
    );
    record.state = state;
    record
}

/// Waits until `check` holds, for a bounded time.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
