//! The coordinator's gRPC server: AgentService for the agents' streams and AdminService for
//! operators, both over mutual TLS with client certificates from the fleet's CA.
//!
//! [`Coordinator::open`] opens the store and marks every account disconnected (no stream
//! survives a restart); [`Coordinator::serve`] serves until the shutdown future completes.
//! The store is synchronous: every call goes through [`Shared::blocking`], so no redb
//! transaction is ever held across an `.await`.

mod actions;
mod admin;
mod agents;
mod announce;
pub mod auth;
mod campaigns;
mod config;
mod deliver;
mod fleet;
mod org;
mod wire;

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use whittle_proto::admin::v1::admin_service_server::AdminServiceServer;
use whittle_proto::agent::v1::agent_service_server::AgentServiceServer;
use whittle_proto::tls::TlsFiles;

use crate::store::{NewAuditEntry, Store, StoreError};
pub use auth::ServerError;
pub use campaigns::CampaignSettings;
pub use config::{Config, ConfigError};
pub use fleet::Fleet;

/// The version the coordinator announces in its Welcome.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Why the coordinator cannot start or stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Tls(#[from] whittle_proto::tls::TlsError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// What every handler shares: the store, the registry of connected agents, and the lock
/// that lets one campaign step (or operator's control of a campaign) run at a time.
#[derive(Debug, Clone)]
pub struct Shared {
    store: Arc<Store>,
    fleet: Fleet,
    campaigns: Arc<tokio::sync::Mutex<()>>,
    campaign_settings: CampaignSettings,
}

impl Shared {
    /// Runs a store call on the blocking pool.
    async fn blocking<T, F>(&self, f: F) -> Result<T, ServerError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        Ok(tokio::task::spawn_blocking(move || f(&store)).await??)
    }

    /// The stored plan of one role.
    async fn plan(
        &self,
        account_id: &str,
        role_name: &str,
    ) -> Result<Option<crate::store::StoredPlan>, ServerError> {
        let (account_id, role_name) = (account_id.to_string(), role_name.to_string());
        self.blocking(move |s| s.get_plan(&account_id, &role_name))
            .await
    }

    /// Appends an entry to the audit log. A failure is logged (by [`auth::status`]) and
    /// otherwise ignored: the call it records has already happened or been refused.
    async fn audit(&self, entry: NewAuditEntry) {
        let appended = self
            .blocking(move |s| s.append_audit(entry, chrono::Utc::now()))
            .await;
        if let Err(e) = appended {
            drop(auth::status(e));
        }
    }
}

/// The coordinator: its store, its connected agents and its TLS identity.
#[derive(Debug)]
pub struct Coordinator {
    shared: Shared,
    tls: TlsFiles,
}

impl Coordinator {
    /// Opens the store in `data_dir` and marks every account disconnected.
    pub fn open(data_dir: &Path, tls: TlsFiles) -> Result<Coordinator, StartError> {
        let store = Store::open(data_dir)?;
        let was_connected = store.disconnect_all()?;
        tracing::info!(
            path = %store.path().display(),
            was_connected,
            "coordinator store opened"
        );
        Ok(Coordinator {
            shared: Shared {
                store: Arc::new(store),
                fleet: Fleet::default(),
                campaigns: Arc::default(),
                campaign_settings: CampaignSettings::default(),
            },
            tls,
        })
    }

    /// How campaigns run (the driver's tick, the default soak time).
    pub fn with_campaign_settings(mut self, settings: CampaignSettings) -> Coordinator {
        self.shared.campaign_settings = settings;
        self
    }

    /// The store, for reading (tests, tools).
    pub fn store(&self) -> &Arc<Store> {
        &self.shared.store
    }

    /// The connected agents.
    pub fn fleet(&self) -> &Fleet {
        &self.shared.fleet
    }

    /// Binds `addr` (port 0 picks a free port) and returns the address bound with the
    /// serving future, which runs until `shutdown` completes, then drains the calls in flight.
    pub fn bind(
        self,
        addr: SocketAddr,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(SocketAddr, impl Future<Output = Result<(), StartError>>), StartError> {
        let tls = self.tls.load()?.tonic_server_tls()?;
        let incoming =
            TcpIncoming::bind(addr).map_err(|source| StartError::Bind { addr, source })?;
        let local = incoming
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        let agents = AgentServiceServer::new(agents::Agents::new(self.shared.clone()))
            .max_decoding_message_size(whittle_proto::MAX_MESSAGE_BYTES)
            .max_encoding_message_size(whittle_proto::MAX_MESSAGE_BYTES);
        let fleet = self.shared.fleet.clone();
        let (stop_driver, driver_stopped) = tokio::sync::watch::channel(false);
        let driver = campaigns::drive(
            self.shared.clone(),
            self.shared.campaign_settings.tick,
            driver_stopped,
        );
        let admin = AdminServiceServer::new(admin::Admin::new(self.shared))
            .max_decoding_message_size(whittle_proto::MAX_MESSAGE_BYTES)
            .max_encoding_message_size(whittle_proto::MAX_MESSAGE_BYTES);
        // Agents' streams never end on their own: close them, so that the drain can finish.
        let shutdown = async move {
            shutdown.await;
            let _ = stop_driver.send(true);
            fleet.close_all();
        };
        let router = Server::builder()
            .trace_fn(whittle_proto::telemetry::rpc_span)
            .tls_config(tls)?
            .add_service(agents)
            .add_service(admin);
        tracing::info!(addr = %local, "coordinator listening");
        let serving = async move {
            let driver = tokio::spawn(driver);
            router
                .serve_with_incoming_shutdown(incoming, shutdown)
                .await?;
            let _ = driver.await;
            tracing::info!("coordinator stopped");
            Ok(())
        };
        Ok((local, serving))
    }

    /// Serves on `addr` until `shutdown` completes.
    pub async fn serve(
        self,
        addr: SocketAddr,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let (_, serving) = self.bind(addr, shutdown)?;
        serving.await
    }
}
