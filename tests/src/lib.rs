//! End-to-end scenarios for Whittle. The fleet harness: a real coordinator and many
//! in-process agents over real mutual TLS on loopback, each agent on its own simulated
//! account. The command-line scenarios of the standalone agent live in `agent/tests/`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test harness: failing loudly is the point

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};
use whittle_agent::engine::{Clock, Engine};
use whittle_agent::journal::Journal;
use whittle_agent::link::{LinkAccount, LinkError, LinkSettings, Reconnect, run_link};
use whittle_aws::{AccessAdvisor, Iam, PollPolicy, RetryPolicy, Retrying, SimAccount, inventory};
use whittle_coordinator::ca::{Ca, IssueRequest, IssuedCert};
use whittle_coordinator::server::{CampaignSettings, Coordinator};
use whittle_coordinator::store::Store;
use whittle_policy::{RoleState, Settings};
use whittle_proto::admin::v1::admin_service_client::AdminServiceClient;
use whittle_proto::identity::OperatorRole;
use whittle_proto::tls::{TlsFiles, TlsPem, tonic_client_tls};

/// How long any single wait may take.
pub const WAIT: Duration = Duration::from_secs(15);

/// The example account's id, as its export names it.
pub const EXAMPLE_ACCOUNT: &str = "111122223333";

/// The accounts of a fleet, one agent each.
pub const ACCOUNTS: [&str; 3] = ["111122223333", "444455556666", "777788889999"];

/// The recorded example account.
pub fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/examples/account-111122223333")
}

/// The agents' clock: the example's usage data is fresh at this time.
pub fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-20T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

#[derive(Debug)]
struct Fixed(DateTime<Utc>);

impl Clock for Fixed {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// Polls `check` until it gives a value, for at most [`WAIT`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The example account copied under `dir` with every ARN naming `account_id`, loaded.
pub fn simulated_account(account_id: &str, dir: &Path) -> SimAccount {
    let src = example();
    let usage = dir.join("last-accessed");
    std::fs::create_dir_all(&usage).unwrap();
    let rewrite = |from: &Path, to: &Path| {
        let text = std::fs::read_to_string(from).unwrap();
        std::fs::write(to, text.replace(EXAMPLE_ACCOUNT, account_id)).unwrap();
    };
    rewrite(
        &src.join("authorization-details.json"),
        &dir.join("authorization-details.json"),
    );
    for entry in std::fs::read_dir(src.join("last-accessed")).unwrap() {
        let path = entry.unwrap().path();
        rewrite(&path, &usage.join(path.file_name().unwrap()));
    }
    let sim = SimAccount::load(dir).unwrap();
    assert_eq!(sim.account_id(), account_id);
    sim
}

/// One agent: its simulated account, its journal and rules, and its link when up.
pub struct Agent {
    pub account_id: String,
    /// The account as the agent sees it (faults, call counts).
    pub sim: SimAccount,
    iam: Arc<dyn Iam>,
    engine: Engine,
    dir: TempDir,
    link: Option<JoinHandle<Result<(), LinkError>>>,
}

impl Agent {
    fn new(account_id: &str) -> Agent {
        let dir = TempDir::new().unwrap();
        let seed = dir.path().join("seed");
        std::fs::create_dir_all(&seed).unwrap();
        let sim = simulated_account(account_id, &seed);
        let iam: Arc<dyn Iam> = Arc::new(Retrying::new(sim.clone(), RetryPolicy::fast()));
        let journal_dir = dir.path().join("journal");
        std::fs::create_dir_all(&journal_dir).unwrap();
        let journal = Arc::new(Journal::open(&journal_dir).unwrap());
        let engine = Engine::new(iam.clone(), journal, account_id, Arc::new(Fixed(now())));
        Agent {
            account_id: account_id.to_string(),
            sim,
            iam,
            engine,
            dir,
            link: None,
        }
    }

    /// Where the journal and `exclusions.json` are kept.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("journal")
    }

    fn link_account(&self) -> LinkAccount {
        let wrapped = Arc::new(Retrying::new(self.sim.clone(), RetryPolicy::fast()));
        let advisor: Arc<dyn AccessAdvisor> = wrapped.clone();
        LinkAccount {
            account_id: self.account_id.clone(),
            iam: wrapped,
            advisor,
            engine: self.engine.clone(),
            settings: Settings::default(),
            protected: Default::default(),
            poll: PollPolicy::fast(),
            data_dir: self.data_dir(),
            after_change: None,
        }
    }

    /// Starts the link to `coordinator` (stopping the one running, if any).
    pub fn start(&mut self, settings: LinkSettings) {
        self.stop();
        self.link = Some(tokio::spawn(run_link(self.link_account(), settings)));
    }

    /// Takes the agent down: its link task is aborted.
    pub fn stop(&mut self) {
        if let Some(link) = self.link.take() {
            link.abort();
        }
    }

    /// Whether the link task still runs (it ends only on a fatal error).
    pub fn is_running(&self) -> bool {
        self.link.as_ref().is_some_and(|l| !l.is_finished())
    }

    /// The version of the exclusion rules the agent persisted (0: none yet).
    pub fn persisted_exclusion_version(&self) -> u64 {
        let path = self.data_dir().join(whittle_agent::link::rules::FILE_NAME);
        let Ok(text) = std::fs::read_to_string(path) else {
            return 0;
        };
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
            return 0; // being replaced
        };
        value["version"].as_u64().unwrap_or(0)
    }

    /// The role as IAM holds it.
    pub async fn state(&self, role: &str) -> RoleState {
        let (r, managed) = inventory::read_role(self.iam.as_ref(), role).await.unwrap();
        whittle_policy::plan::role_state(&r, &managed)
    }
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("account_id", &self.account_id)
            .field("dir", &self.dir.path())
            .field("running", &self.is_running())
            .finish_non_exhaustive()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A running coordinator.
#[derive(Debug)]
pub struct Server {
    pub port: u16,
    store: Option<Arc<Store>>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    /// The coordinator's store, for what the AdminService does not show (decision states).
    pub fn store(&self) -> &Store {
        self.store.as_ref().unwrap()
    }

    /// Shuts the server down and waits until it stopped and let go of its store.
    pub async fn stop(mut self) {
        self.store = None;
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(WAIT, self.task.take().unwrap())
            .await
            .expect("the coordinator did not stop in time")
            .unwrap();
    }

    pub fn url(&self) -> String {
        format!("https://localhost:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A CA, a coordinator data directory and the agents: everything but the coordinator
/// outlives a coordinator restart.
#[derive(Debug)]
pub struct Fleet {
    tmp: TempDir,
    pub ca: Ca,
    server_cert: IssuedCert,
    pub server: Option<Server>,
    pub agents: Vec<Agent>,
}

impl Fleet {
    /// A coordinator and one agent per account of [`ACCOUNTS`], all connected.
    pub async fn start() -> Fleet {
        let tmp = TempDir::new().unwrap();
        let ca = Ca::init(&tmp.path().join("ca"), Utc::now()).unwrap();
        let server_cert = ca
            .issue(IssueRequest::server(vec!["localhost".into()]), Utc::now())
            .unwrap();
        let mut fleet = Fleet {
            tmp,
            ca,
            server_cert,
            server: None,
            agents: ACCOUNTS.iter().map(|a| Agent::new(a)).collect(),
        };
        fleet.start_coordinator().await;
        for i in 0..fleet.agents.len() {
            fleet.agent_up(i);
        }
        fleet
    }

    pub fn server(&self) -> &Server {
        self.server.as_ref().expect("the coordinator is down")
    }

    /// Opens the store in the data directory (retrying while a stopping server still holds
    /// it) and serves on 127.0.0.1:0.
    pub async fn start_coordinator(&mut self) {
        assert!(self.server.is_none(), "the coordinator already runs");
        let tls = TlsFiles {
            ca_cert: self.ca.cert_path(),
            cert: self.server_cert.path_cert.clone(),
            key: self.server_cert.path_key.clone(),
        };
        let data_dir = self.tmp.path().join("data");
        let deadline = tokio::time::Instant::now() + WAIT;
        let coordinator = loop {
            match Coordinator::open(&data_dir, tls.clone()) {
                Ok(c) => {
                    break c.with_campaign_settings(CampaignSettings {
                        tick: Duration::from_millis(100),
                        default_soak: Duration::from_secs(1),
                    });
                }
                Err(e) => {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "cannot open the coordinator: {e}"
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        let store = Arc::clone(coordinator.store());
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let (addr, serving) = coordinator
            .bind("127.0.0.1:0".parse().unwrap(), shutdown)
            .unwrap();
        let task = tokio::spawn(async move { serving.await.unwrap() });
        self.server = Some(Server {
            port: addr.port(),
            store: Some(store),
            stop: Some(stop),
            task: Some(task),
        });
    }

    /// Stops the coordinator and waits until it let go of its store.
    pub async fn stop_coordinator(&mut self) {
        let server = self.server.take().expect("the coordinator is down");
        server.stop().await;
    }

    /// The link settings of the agent of `account_id` for the running coordinator.
    pub fn link_settings(&self, account_id: &str) -> LinkSettings {
        let cert = self.agent_cert(account_id);
        LinkSettings {
            coordinator: self.server().url(),
            tls: TlsPem {
                ca_cert: self.ca.cert_pem().as_bytes().to_vec(),
                cert: cert.cert_pem.into_bytes(),
                key: cert.key_pem.into_bytes(),
            },
            plan_interval: Duration::from_secs(3600),
            reconnect: Reconnect {
                min_delay: Duration::from_millis(20),
                max_delay: Duration::from_millis(200),
                max_attempts: None,
            },
            connect_timeout: Duration::from_secs(5),
        }
    }

    /// Brings agent `i` up against the running coordinator.
    pub fn agent_up(&mut self, i: usize) {
        let settings = self.link_settings(&self.agents[i].account_id.clone());
        self.agents[i].start(settings);
    }

    /// Takes agent `i` down.
    pub fn agent_down(&mut self, i: usize) {
        self.agents[i].stop();
    }

    pub fn agent_cert(&self, account_id: &str) -> IssuedCert {
        self.ca
            .issue(IssueRequest::agent(account_id).unwrap(), Utc::now())
            .unwrap()
    }

    pub fn operator_cert(&self, name: &str, role: OperatorRole) -> IssuedCert {
        self.ca
            .issue(IssueRequest::operator(name, role).unwrap(), Utc::now())
            .unwrap()
    }

    /// A channel to the coordinator presenting `cert`.
    pub async fn channel(&self, cert: &IssuedCert) -> Channel {
        let tls = tonic_client_tls(
            self.ca.cert_pem().as_bytes(),
            cert.cert_pem.as_bytes(),
            cert.key_pem.as_bytes(),
        )
        .unwrap();
        Endpoint::from_shared(self.server().url())
            .unwrap()
            .connect_timeout(WAIT)
            .timeout(WAIT)
            .tls_config(tls)
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    /// An AdminService client for operator `name` with `role`.
    pub async fn admin(&self, name: &str, role: OperatorRole) -> AdminServiceClient<Channel> {
        let cert = self.operator_cert(name, role);
        AdminServiceClient::new(self.channel(&cert).await)
    }
}

impl Agent {
    /// Waits for the link task to end, for at most [`WAIT`], and gives its result.
    pub async fn join(&mut self) -> Result<(), LinkError> {
        let link = self.link.take().expect("the agent is not running");
        tokio::time::timeout(WAIT, link)
            .await
            .expect("the link did not end in time")
            .expect("the link task panicked")
    }
}
