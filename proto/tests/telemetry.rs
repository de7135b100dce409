//! Telemetry: the trace context injected on the caller's side is the parent of the
//! callee's span; `init` without an endpoint exports nothing; an invalid endpoint is
//! refused with its name; spans reach an OTLP/gRPC collector and are flushed when the
//! guard is dropped.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use std::sync::{Arc, Mutex};

use opentelemetry::trace::{SpanId, TraceContextExt, TracerProvider as _};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use tonic::metadata::MetadataMap;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use whittle_proto::telemetry::{
    self, LogFormat, TelemetryError, TelemetrySettings, extract_context, inject_context, propagate,
};

/// A subscriber that records spans in memory, and the exporter to read them from.
fn recording() -> (
    impl tracing::Subscriber + Send + Sync,
    SdkTracerProvider,
    InMemorySpanExporter,
) {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    (subscriber, provider, exporter)
}

fn span_named<'a>(
    spans: &'a [opentelemetry_sdk::trace::SpanData],
    name: &str,
) -> &'a opentelemetry_sdk::trace::SpanData {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name} in {spans:?}"))
}

#[test]
fn a_directive_carries_its_trace_context_and_the_agent_span_joins_it() {
    let (subscriber, provider, exporter) = recording();
    tracing::subscriber::with_default(subscriber, || {
        let carried = {
            let call = tracing::info_span!("operator_call");
            let _entered = call.enter();
            telemetry::inject_map()
        };
        assert!(carried.contains_key("traceparent"), "{carried:?}");
        let work = tracing::info_span!("directive_work");
        telemetry::join_trace(&work, &carried);
        drop(work.enter());
        // No context, no parent: the span stays a root.
        let alone = tracing::info_span!("alone");
        telemetry::join_trace(&alone, &Default::default());
        drop(alone.enter());
    });
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    let call = span_named(&spans, "operator_call");
    let work = span_named(&spans, "directive_work");
    assert_eq!(work.span_context.trace_id(), call.span_context.trace_id());
    assert_eq!(work.parent_span_id, call.span_context.span_id());
    assert_eq!(span_named(&spans, "alone").parent_span_id, SpanId::INVALID);
    assert!(telemetry::inject_map().is_empty(), "no span, no context");
}

#[test]
fn the_injected_context_is_the_parent_of_the_server_span() {
    let (subscriber, provider, exporter) = recording();
    tracing::subscriber::with_default(subscriber, || {
        let mut metadata = MetadataMap::new();
        {
            let call = tracing::info_span!("client_call");
            let _entered = call.enter();
            inject_context(&mut metadata);
        }
        let traceparent = metadata.get("traceparent").unwrap().to_str().unwrap();
        // version-traceid-spanid-flags, sampled.
        let parts: Vec<&str> = traceparent.split('-').collect();
        assert_eq!(parts.len(), 4, "{traceparent}");
        assert_eq!(parts[0], "00");
        assert_eq!(parts[3], "01");

        let handle = tracing::info_span!("server_handle");
        handle.set_parent(extract_context(&metadata)).unwrap();
        drop(handle.enter());
    });
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    let call = span_named(&spans, "client_call");
    let handle = span_named(&spans, "server_handle");
    assert_eq!(
        handle.span_context.trace_id(),
        call.span_context.trace_id(),
        "same trace"
    );
    assert_eq!(handle.parent_span_id, call.span_context.span_id());
    assert_eq!(
        call.parent_span_id,
        SpanId::INVALID,
        "the client span is a root"
    );
}

#[test]
fn the_interceptor_injects_the_current_context() {
    let (subscriber, provider, exporter) = recording();
    tracing::subscriber::with_default(subscriber, || {
        let request = {
            let call = tracing::info_span!("client_call");
            let _entered = call.enter();
            propagate(Request::new(())).unwrap()
        };
        let cx = extract_context(request.metadata());
        assert!(cx.span().span_context().is_remote());
        let handle = tracing::info_span!("server_handle");
        handle.set_parent(cx).unwrap();
        drop(handle.enter());
    });
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    let call = span_named(&spans, "client_call");
    let handle = span_named(&spans, "server_handle");
    assert_eq!(handle.span_context.trace_id(), call.span_context.trace_id());
    assert_eq!(handle.parent_span_id, call.span_context.span_id());
}

#[test]
fn no_context_no_traceparent() {
    // Outside any span, or with no OpenTelemetry layer, nothing is injected ...
    let mut metadata = MetadataMap::new();
    inject_context(&mut metadata);
    assert!(metadata.is_empty(), "{metadata:?}");
    tracing::subscriber::with_default(tracing_subscriber::registry(), || {
        let _entered = tracing::info_span!("untraced").entered();
        inject_context(&mut metadata);
    });
    assert!(metadata.is_empty(), "{metadata:?}");
    // ... and extracting from nothing, or from garbage, gives no parent.
    assert!(!extract_context(&metadata).span().span_context().is_valid());
    metadata.insert("traceparent", "00-garbage".parse().unwrap());
    assert!(!extract_context(&metadata).span().span_context().is_valid());
}

#[test]
fn init_without_an_endpoint_exports_nothing_and_twice_is_an_error() {
    let guard = telemetry::init("whittle-test", TelemetrySettings::default()).unwrap();
    assert_eq!(guard.otlp_endpoint(), None);
    assert!(guard.tracer_provider().is_none());
    // Logging works, and spans carry no trace context to propagate.
    tracing::info!("logged through the global subscriber");
    let mut metadata = MetadataMap::new();
    {
        let _entered = tracing::info_span!("untraced").entered();
        inject_context(&mut metadata);
    }
    assert!(metadata.is_empty(), "{metadata:?}");

    let again = telemetry::init("whittle-test", TelemetrySettings::default());
    assert!(
        matches!(again, Err(TelemetryError::AlreadyInitialized(_))),
        "{again:?}"
    );
    drop(guard);
}

#[test]
fn an_invalid_endpoint_is_refused_with_its_name() {
    for endpoint in [
        "localhost:4317",
        "ftp://collector:4317",
        "not a url",
        "http://",
    ] {
        let settings = TelemetrySettings {
            otlp_endpoint: Some(endpoint.to_owned()),
            log_format: LogFormat::Human,
        };
        let err = match telemetry::init("whittle-test", settings) {
            Ok(_) => panic!("{endpoint} accepted"),
            Err(err) => err,
        };
        assert!(
            matches!(err, TelemetryError::InvalidEndpoint { .. }),
            "{endpoint}: {err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains(&format!("invalid OTLP endpoint '{endpoint}'")),
            "{message}"
        );
    }
}

/// An OTLP/gRPC collector that keeps what it receives.
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<ExportTraceServiceRequest>>>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.0.lock().unwrap().push(request.into_inner());
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_the_collector_and_dropping_the_guard_flushes_them() {
    let collector = Collector::default();
    let incoming = TcpIncoming::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = incoming.local_addr().unwrap().port();
    let serving = tokio::spawn(
        Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming(incoming),
    );

    let settings = TelemetrySettings {
        otlp_endpoint: Some(format!("http://127.0.0.1:{port}")),
        log_format: LogFormat::Json,
    };
    let (subscriber, guard) = telemetry::subscriber("whittle-test", settings).unwrap();
    assert_eq!(
        guard.otlp_endpoint(),
        Some(format!("http://127.0.0.1:{port}").as_str())
    );
    tracing::subscriber::with_default(subscriber, || {
        let _entered = tracing::info_span!("exported_span", answer = 42).entered();
        tracing::info!("inside");
    });
    // Dropping the guard blocks until the batch is exported: not on a runtime thread.
    tokio::task::spawn_blocking(move || drop(guard))
        .await
        .unwrap();

    let requests = collector.0.lock().unwrap().clone();
    let resource_spans: Vec<_> = requests.iter().flat_map(|r| &r.resource_spans).collect();
    let names: Vec<&str> = resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names, ["exported_span"]);
    let service = resource_spans[0]
        .resource
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .find(|kv| kv.key == "service.name")
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.clone());
    assert_eq!(service, Some(Value::StringValue("whittle-test".to_owned())));
    serving.abort();
}

#[test]
fn an_incoming_rpc_span_joins_the_callers_trace() {
    let (subscriber, provider, exporter) = recording();
    tracing::subscriber::with_default(subscriber, || {
        let mut metadata = MetadataMap::new();
        {
            let call = tracing::info_span!("client_call");
            let _entered = call.enter();
            inject_context(&mut metadata);
        }
        let mut request = tonic::codegen::http::Request::builder()
            .uri("/whittle.admin.v1.AdminService/ListAccounts")
            .body(())
            .unwrap();
        *request.headers_mut() = metadata.into_headers();
        let span = telemetry::rpc_span(&request);
        drop(span.enter());
    });
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    let call = span_named(&spans, "client_call");
    let rpc = span_named(&spans, "rpc");
    assert_eq!(rpc.span_context.trace_id(), call.span_context.trace_id());
    assert_eq!(rpc.parent_span_id, call.span_context.span_id());
}
