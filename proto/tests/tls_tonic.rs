//! The tonic side of mutual TLS: a tonic server and channel built with
//! `tonic_server_tls` / `tonic_client_tls` on loopback, and a handler that answers with
//! `peer_identity` of the call, as the coordinator's authorisation layer will.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use std::convert::Infallible;
use std::task::{Context, Poll};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use tonic::codegen::{BoxFuture, Service, http};
use tonic::server::{NamedService, UnaryService};
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Endpoint, Server};
use tonic::{Request, Response, Status};
use tonic_prost::ProstCodec;
use whittle_proto::tls::{peer_identity, tonic_client_tls, tonic_server_tls};

/// A gRPC service with one method, `/whittle.test.WhoAmI/Get`, that returns the caller's
/// identity URI, or `unauthenticated` with the reason.
#[derive(Debug, Clone)]
struct WhoAmI;

impl NamedService for WhoAmI {
    const NAME: &'static str = "whittle.test.WhoAmI";
}

impl UnaryService<()> for WhoAmI {
    type Response = String;
    type Future = BoxFuture<Response<String>, Status>;

    fn call(&mut self, request: Request<()>) -> Self::Future {
        let answer = peer_identity(&request)
            .map(|identity| Response::new(identity.to_uri()))
            .map_err(|e| Status::unauthenticated(e.to_string()));
        Box::pin(async move { answer })
    }
}

impl Service<http::Request<tonic::body::Body>> for WhoAmI {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(ProstCodec::<String, ()>::default());
            Ok(grpc.unary(WhoAmI, request).await)
        })
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
        .push(SanType::URI(uri.try_into().unwrap()));
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![eku];
    let cert = params.signed_by(&key, issuer).unwrap().pem();
    Leaf {
        cert,
        key: key.serialize_pem(),
    }
}

#[tokio::test]
async fn a_tonic_handler_reads_the_callers_identity() {
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
        "whittle://account/123456789012",
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
    let serving = tokio::spawn(
        Server::builder()
            .tls_config(server_tls)
            .unwrap()
            .add_service(WhoAmI)
            .serve_with_incoming(incoming),
    );

    let client_tls = tonic_client_tls(
        ca_pem.as_bytes(),
        agent.cert.as_bytes(),
        agent.key.as_bytes(),
    )
    .unwrap();
    let channel = Endpoint::from_shared(format!("https://localhost:{port}"))
        .unwrap()
        .tls_config(client_tls)
        .unwrap()
        .connect_timeout(Duration::from_secs(10))
        .connect()
        .await
        .unwrap();
    let mut client = tonic::client::Grpc::new(channel);
    client.ready().await.unwrap();
    let path = http::uri::PathAndQuery::from_static("/whittle.test.WhoAmI/Get");
    let answer: Response<String> = client
        .unary(Request::new(()), path, ProstCodec::<(), String>::default())
        .await
        .unwrap();
    assert_eq!(answer.into_inner(), "whittle://account/123456789012");

    // Without a client certificate, no call gets through.
    let anonymous = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(&ca_pem));
    let endpoint = Endpoint::from_shared(format!("https://localhost:{port}"))
        .unwrap()
        .tls_config(anonymous)
        .unwrap()
        .connect_timeout(Duration::from_secs(10));
    if let Ok(channel) = endpoint.connect().await {
        let mut client = tonic::client::Grpc::new(channel);
        let path = http::uri::PathAndQuery::from_static("/whittle.test.WhoAmI/Get");
        let refused = match client.ready().await {
            Ok(()) => client
                .unary::<(), String, _>(Request::new(()), path, ProstCodec::default())
                .await
                .is_err(),
            Err(_) => true,
        };
        assert!(refused, "a client without a certificate was answered");
    }
    serving.abort();
}
