//! A fake coordinator for the link's tests: a real tonic `AgentService` over mutual
//! TLS on loopback, with certificates from a throwaway CA. Each stream the agent
//! opens is handed to the test as a [`Conn`] it drives by hand.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use tokio::sync::mpsc;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status, Streaming};
use whittle_agent::engine::Engine;
use whittle_agent::link::{LinkAccount, LinkSettings, Reconnect};
use whittle_aws::{AccessAdvisor, PollPolicy, RetryPolicy, Retrying, SimAccount};
use whittle_policy::Settings;
use whittle_proto::agent::v1 as pb;
use whittle_proto::agent::v1::agent_service_server::{AgentService, AgentServiceServer};
use whittle_proto::convert::{AgentMessage, CoordinatorMessage, ReportBody};
use whittle_proto::tls::{TlsPem, tonic_server_tls};

/// Every wait in these tests is bounded by this.
pub const WAIT: Duration = Duration::from_secs(20);

type ToAgent = mpsc::Sender<Result<pb::CoordinatorMessage, Status>>;

/// One stream opened by the agent.
pub struct Conn {
    from_agent: Streaming<pb::AgentMessage>,
    to_agent: ToAgent,
}

impl Conn {
    /// The agent's next message.
    pub async fn recv(&mut self) -> AgentMessage {
        let message = tokio::time::timeout(WAIT, self.from_agent.next())
            .await
            .expect("the agent sent nothing in time")
            .expect("the agent closed the stream")
            .expect("the stream failed");
        AgentMessage::try_from(message).unwrap()
    }

    /// The agent's next message that is not a plan or inventory report.
    pub async fn recv_kept(&mut self) -> AgentMessage {
        loop {
            let m = self.recv().await;
            if let AgentMessage::Report(r) = &m
                && matches!(r.body, ReportBody::Plan(_) | ReportBody::Inventory(_))
            {
                continue;
            }
            return m;
        }
    }

    /// The next message that is not a plan or inventory report, if one comes within `wait`.
    pub async fn try_recv_kept(&mut self, wait: Duration) -> Option<AgentMessage> {
        tokio::time::timeout(wait, self.recv_kept()).await.ok()
    }

    /// Messages up to and including the next directive outcome.
    pub async fn until_outcome(&mut self) -> Vec<AgentMessage> {
        let mut out = Vec::new();
        loop {
            let m = self.recv_kept().await;
            let done = matches!(m, AgentMessage::Outcome(_));
            out.push(m);
            if done {
                return out;
            }
        }
    }

    pub async fn send(&self, message: CoordinatorMessage) {
        self.to_agent.send(Ok(message.into())).await.unwrap();
    }

    /// Ends the stream from the coordinator's side.
    pub fn close(self) {}
}

struct Fake {
    conns: mpsc::UnboundedSender<Conn>,
    /// Refuse every stream with this code, as a coordinator that does not know the agent.
    refuse: Option<tonic::Code>,
}

#[tonic::async_trait]
impl AgentService for Fake {
    type ConnectStream = ReceiverStream<Result<pb::CoordinatorMessage, Status>>;

    async fn connect(
        &self,
        request: Request<Streaming<pb::AgentMessage>>,
    ) -> Result<Response<Self::ConnectStream>, Status> {
        if let Some(code) = self.refuse {
            return Err(Status::new(code, "refused by the fake coordinator"));
        }
        let (tx, rx) = mpsc::channel(64);
        let conn = Conn {
            from_agent: request.into_inner(),
            to_agent: tx,
        };
        self.conns
            .send(conn)
            .map_err(|_| Status::unavailable("test over"))?;
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}

/// The fake coordinator, serving until dropped.
pub struct Coordinator {
    pub url: String,
    /// What the agent needs to reach it.
    pub agent_tls: TlsPem,
    conns: mpsc::UnboundedReceiver<Conn>,
    serving: tokio::task::JoinHandle<()>,
}

impl Drop for Coordinator {
    fn drop(&mut self) {
        self.serving.abort();
    }
}

struct Leaf {
    cert: String,
    key: String,
}

fn issue(issuer: &Issuer<'_, KeyPair>, uri: &str, eku: ExtendedKeyUsagePurpose) -> Leaf {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params
        .subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    params
        .subject_alt_names
        .push(SanType::URI(uri.try_into().unwrap()));
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![eku];
    let cert = params.signed_by(&key, issuer).unwrap().pem();
    Leaf {
        cert,
        key: key.serialize_pem(),
    }
}

impl Coordinator {
    pub async fn start() -> Coordinator {
        Coordinator::serve(None).await
    }

    /// A coordinator that refuses every stream with `code`.
    pub async fn refusing(code: tonic::Code) -> Coordinator {
        Coordinator::serve(Some(code)).await
    }

    async fn serve(refuse: Option<tonic::Code>) -> Coordinator {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::default();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        let ca_pem = ca_params.self_signed(&ca_key).unwrap().pem();
        let ca = Issuer::new(ca_params, ca_key);
        let server = issue(
            &ca,
            "whittle://coordinator",
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let agent = issue(
            &ca,
            "whittle://account/111122223333",
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        let server_tls = tonic_server_tls(
            ca_pem.as_bytes(),
            server.cert.as_bytes(),
            server.key.as_bytes(),
        )
        .unwrap();
        let incoming = TcpIncoming::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let port = incoming.local_addr().unwrap().port();
        let (tx, conns) = mpsc::unbounded_channel();
        let router = Server::builder()
            .tls_config(server_tls)
            .unwrap()
            .add_service(AgentServiceServer::new(Fake { conns: tx, refuse }));
        let serving = tokio::spawn(async move {
            let _ = router.serve_with_incoming(incoming).await;
        });
        Coordinator {
            url: format!("https://127.0.0.1:{port}"),
            agent_tls: TlsPem {
                ca_cert: ca_pem.into_bytes(),
                cert: agent.cert.into_bytes(),
                key: agent.key.into_bytes(),
            },
            conns,
            serving,
        }
    }

    /// The next stream the agent opens.
    pub async fn accept(&mut self) -> Conn {
        tokio::time::timeout(WAIT, self.conns.recv())
            .await
            .expect("the agent did not connect in time")
            .expect("the fake server stopped")
    }

    /// Link settings for this coordinator: quick reconnects, bounded attempts,
    /// plans only at the start of each stream.
    pub fn settings(&self) -> LinkSettings {
        LinkSettings {
            coordinator: self.url.clone(),
            tls: self.agent_tls.clone(),
            plan_interval: Duration::from_secs(3600),
            reconnect: Reconnect {
                min_delay: Duration::from_millis(20),
                max_delay: Duration::from_millis(200),
                max_attempts: Some(50),
            },
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// The simulated example account as the link sees it.
pub fn account(sim: &SimAccount, engine: &Engine, data_dir: &std::path::Path) -> LinkAccount {
    let wrapped = Arc::new(Retrying::new(sim.clone(), RetryPolicy::fast()));
    let advisor: Arc<dyn AccessAdvisor> = wrapped.clone();
    LinkAccount {
        account_id: "111122223333".to_string(),
        iam: wrapped,
        advisor,
        engine: engine.clone(),
        settings: Settings::default(),
        protected: Default::default(),
        poll: PollPolicy::fast(),
        data_dir: data_dir.to_path_buf(),
        after_change: None,
    }
}
