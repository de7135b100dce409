//! Logs and traces for Whittle's binaries: `tracing` to stderr, and spans exported
//! with OpenTelemetry (OTLP over gRPC) when an endpoint is configured, with the trace
//! context carried between processes in gRPC metadata (W3C `traceparent`).
//!
//! # Setting up
//!
//! A binary calls [`init`] first thing in `main`, and keeps the returned
//! [`TelemetryGuard`] alive until it exits: dropping the guard flushes the spans not
//! yet exported.
//!
//! ```no_run
//! use whittle_proto::telemetry::{self, TelemetrySettings};
//!
//! let _telemetry = match telemetry::init("whittle-agent", TelemetrySettings::from_env()) {
//!     Ok(guard) => Some(guard),
//!     Err(err) => {
//!         eprintln!("warning: {err}; continuing without telemetry");
//!         None
//!     }
//! };
//! ```
//!
//! [`init`] needs no async runtime, and may be called inside one or outside: the OTLP
//! exporter brings its own. Spans are batched and exported from a background thread,
//! over a gRPC channel driven by a small runtime (one worker thread, `whittle-otlp`)
//! that the guard owns, so the binaries may start and stop their own runtimes as they
//! like. The guard must be dropped outside an async context only if the binary wants to
//! be sure the last spans were sent before exit (it blocks for up to
//! [`SHUTDOWN_TIMEOUT`] while flushing).
//!
//! # Configuration
//!
//! - `RUST_LOG`: the [`EnvFilter`] directives (default `info`); invalid directives are
//!   ignored. The filter applies to the logs and to the exported spans alike.
//! - `WHITTLE_LOG_FORMAT=json`: logs as JSON lines, rather than for humans.
//! - `OTEL_EXPORTER_OTLP_ENDPOINT`: export spans to this OTLP/gRPC collector (for
//!   example `http://localhost:4317`, a collector on the host or a sidecar). Unset (the
//!   default) or empty: nothing is exported. `https://` gets rustls, but the
//!   workspace's tonic is built without a root-certificate store, so no server
//!   certificate is trusted yet: use plain `http://` to a local collector. The usual
//!   `OTEL_EXPORTER_OTLP_HEADERS` is honoured by the exporter.
//!
//! # Carrying a trace from the coordinator to an agent
//!
//! The caller injects the current span's context into the request's metadata, with
//! [`inject_context`] or the interceptor [`propagate`]
//! (`AgentClient::with_interceptor(channel, propagate)`); the callee reads it with
//! [`extract_context`] and makes it the parent of its own span:
//!
//! ```no_run
//! use tracing_opentelemetry::OpenTelemetrySpanExt;
//! # fn handle(request: tonic::Request<()>) {
//! let span = tracing::info_span!("handle");
//! // Fails only when no OpenTelemetry layer is installed: nothing to link then.
//! let _ = span.set_parent(whittle_proto::telemetry::extract_context(request.metadata()));
//! # }
//! ```
//!
//! Without an endpoint no OpenTelemetry layer is installed, spans carry no trace
//! context, and nothing is injected: the callee then starts its own traces.

use std::time::Duration;

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tonic::metadata::{KeyRef, MetadataKey, MetadataMap, MetadataValue};
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::filter::{EnvFilter, FilterFn, LevelFilter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

/// The environment variable naming the OTLP/gRPC collector.
pub const ENDPOINT_ENV: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// The environment variable choosing the log format (`json`, or anything else for
/// human-readable lines).
pub const LOG_FORMAT_ENV: &str = "WHITTLE_LOG_FORMAT";

/// How long one export may take, and how long dropping the guard waits for the last
/// spans to be exported.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// How the logs on stderr are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Lines for people.
    #[default]
    Human,
    /// One JSON object per line.
    Json,
}

/// What [`init`] sets up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TelemetrySettings {
    /// The OTLP/gRPC collector to export spans to (`http://host:4317`); `None`: no
    /// export.
    pub otlp_endpoint: Option<String>,
    /// The format of the logs on stderr.
    pub log_format: LogFormat,
}

impl TelemetrySettings {
    /// The settings from `OTEL_EXPORTER_OTLP_ENDPOINT` (unset or blank: no export) and
    /// `WHITTLE_LOG_FORMAT` (`json`, case-insensitive, or human).
    pub fn from_env() -> Self {
        let otlp_endpoint = std::env::var(ENDPOINT_ENV)
            .ok()
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty());
        let log_format = match std::env::var(LOG_FORMAT_ENV) {
            Ok(f) if f.trim().eq_ignore_ascii_case("json") => LogFormat::Json,
            _ => LogFormat::Human,
        };
        Self {
            otlp_endpoint,
            log_format,
        }
    }
}

/// Why telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The endpoint is not an `http://` or `https://` URL with a host.
    #[error("invalid OTLP endpoint '{endpoint}': {reason}")]
    InvalidEndpoint {
        /// The endpoint as configured.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The OTLP exporter refused its configuration.
    #[error("cannot set up the OTLP exporter for '{endpoint}': {source}")]
    Exporter {
        /// The endpoint as configured.
        endpoint: String,
        /// The exporter's error.
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
    /// The exporter's runtime could not be started.
    #[error("cannot start the OTLP exporter's runtime for '{endpoint}': {source}")]
    Runtime {
        /// The endpoint as configured.
        endpoint: String,
        /// The runtime's error.
        #[source]
        source: std::io::Error,
    },
    /// A global `tracing` subscriber (or `log` logger) is already installed.
    #[error("telemetry is already initialised: {0}")]
    AlreadyInitialized(String),
}

/// Keeps the exporter alive; dropping it flushes the spans not yet exported and stops
/// the exporter (see [`SHUTDOWN_TIMEOUT`]).
#[derive(Debug)]
pub struct TelemetryGuard {
    exporter: Option<Exporter>,
}

#[derive(Debug)]
struct Exporter {
    endpoint: String,
    provider: SdkTracerProvider,
    runtime: tokio::runtime::Runtime,
}

impl TelemetryGuard {
    /// The endpoint spans are exported to, if any.
    pub fn otlp_endpoint(&self) -> Option<&str> {
        self.exporter.as_ref().map(|e| e.endpoint.as_str())
    }

    /// The OpenTelemetry tracer provider spans are exported through, if any.
    pub fn tracer_provider(&self) -> Option<&SdkTracerProvider> {
        self.exporter.as_ref().map(|e| &e.provider)
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(exporter) = self.exporter.take() {
            if let Err(err) = exporter.provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT) {
                eprintln!(
                    "warning: cannot flush the last spans to '{}': {err}",
                    exporter.endpoint
                );
            }
            // Does not block, nor panic inside an async context.
            exporter.runtime.shutdown_background();
        }
    }
}

/// Installs the global `tracing` subscriber: logs to stderr filtered by `RUST_LOG`
/// (default `info`) and, when `settings.otlp_endpoint` is set, spans exported to it
/// with OTLP/gRPC under the service name `service_name`.
///
/// Needs no async runtime (see the [module documentation](self)). Calling it again
/// returns [`TelemetryError::AlreadyInitialized`] and changes nothing.
pub fn init(
    service_name: &str,
    settings: TelemetrySettings,
) -> Result<TelemetryGuard, TelemetryError> {
    let (subscriber, guard) = subscriber(service_name, settings)?;
    // On failure the guard is dropped here, stopping the exporter just built.
    subscriber
        .try_init()
        .map_err(|e| TelemetryError::AlreadyInitialized(e.to_string()))?;
    if let Some(provider) = guard.tracer_provider() {
        opentelemetry::global::set_tracer_provider(provider.clone());
    }
    Ok(guard)
}

/// The subscriber [`init`] installs, without installing it: for tests and for
/// `tracing::subscriber::with_default`. The guard must outlive the subscriber's use.
pub fn subscriber(
    service_name: &str,
    settings: TelemetrySettings,
) -> Result<(impl Subscriber + Send + Sync + 'static, TelemetryGuard), TelemetryError> {
    let exporter = match settings.otlp_endpoint {
        Some(endpoint) => Some(build_exporter(service_name, endpoint)?),
        None => None,
    };
    let otel = exporter.as_ref().map(|e| {
        tracing_opentelemetry::layer()
            .with_tracer(e.provider.tracer(service_name.to_owned()))
            .with_filter(FilterFn::new(|meta| !is_exporter_internal(meta.target())))
    });
    let filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .from_env_lossy();
    let (human, json) = match settings.log_format {
        LogFormat::Human => (
            Some(tracing_subscriber::fmt::layer().with_writer(std::io::stderr)),
            None,
        ),
        LogFormat::Json => (
            None,
            Some(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr),
            ),
        ),
    };
    let subscriber = Registry::default()
        .with(filter)
        .with(human)
        .with(json)
        .with(otel);
    Ok((subscriber, TelemetryGuard { exporter }))
}

/// Whether spans of this target come from the exporter's own machinery (the gRPC
/// client under it): exporting them would feed the exporter its own work.
fn is_exporter_internal(target: &str) -> bool {
    [
        "h2",
        "hyper",
        "hyper_util",
        "tower",
        "tonic",
        "opentelemetry",
    ]
    .iter()
    .any(|prefix| {
        target
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

fn build_exporter(service_name: &str, endpoint: String) -> Result<Exporter, TelemetryError> {
    check_endpoint(&endpoint)?;
    // The gRPC channel spawns its connection task on the current runtime when built:
    // give it one of its own, which lives as long as the guard.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("whittle-otlp")
        .enable_all()
        .build()
        .map_err(|source| TelemetryError::Runtime {
            endpoint: endpoint.clone(),
            source,
        })?;
    let span_exporter = {
        let _entered = runtime.enter();
        opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .with_timeout(SHUTDOWN_TIMEOUT)
            .build()
    }
    .map_err(|source| TelemetryError::Exporter {
        endpoint: endpoint.clone(),
        source,
    })?;
    // The batch processor exports from a thread of its own.
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(span_exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service_name.to_owned())
                .build(),
        )
        .build();
    Ok(Exporter {
        endpoint,
        provider,
        runtime,
    })
}

fn check_endpoint(endpoint: &str) -> Result<(), TelemetryError> {
    let invalid = |reason: String| TelemetryError::InvalidEndpoint {
        endpoint: endpoint.to_owned(),
        reason,
    };
    let uri: tonic::codegen::http::Uri = endpoint
        .parse()
        .map_err(|e| invalid(format!("not a URL ({e})")))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(other) => {
            return Err(invalid(format!(
                "the scheme must be http or https, not {other}"
            )));
        }
        None => {
            return Err(invalid(
                "no scheme: write it as http://host:4317 or https://host:4317".to_owned(),
            ));
        }
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid("no host".to_owned()));
    }
    Ok(())
}

/// Writes the current span's trace context into `metadata` as W3C `traceparent` (and
/// `tracestate`). Writes nothing when the span carries no trace context (no
/// OpenTelemetry layer installed, or no current span).
pub fn inject_context(metadata: &mut MetadataMap) {
    let cx = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&cx, &mut MetadataInjector(metadata));
}

/// The trace context the caller put in `metadata` (see [`inject_context`]), to make
/// the parent of a span with [`OpenTelemetrySpanExt::set_parent`]. An empty context
/// when there is none, or it is malformed.
pub fn extract_context(metadata: &MetadataMap) -> opentelemetry::Context {
    TraceContextPropagator::new().extract(&MetadataExtractor(metadata))
}

/// The current span's trace context as W3C `traceparent` (and `tracestate`) entries, to
/// carry inside a message (a directive on a long-lived stream, whose metadata was sent
/// once, when it opened). Empty when the span carries no trace context.
pub fn inject_map() -> std::collections::BTreeMap<String, String> {
    let cx = tracing::Span::current().context();
    let mut map = std::collections::HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut map);
    map.into_iter().collect()
}

/// The trace context in `map` (see [`inject_map`]); an empty context when there is
/// none, or it is malformed.
pub fn extract_map(map: &std::collections::BTreeMap<String, String>) -> opentelemetry::Context {
    let map: std::collections::HashMap<String, String> =
        map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    TraceContextPropagator::new().extract(&map)
}

/// Makes `span` a child of the trace in `map` (see [`inject_map`]); nothing when the map
/// holds no trace context or no OpenTelemetry layer is installed.
pub fn join_trace(span: &tracing::Span, map: &std::collections::BTreeMap<String, String>) {
    if map.is_empty() {
        return;
    }
    // Fails only when no OpenTelemetry layer is installed: then there is no trace to join.
    let _ = span.set_parent(extract_map(map));
}

/// The span of one incoming RPC, child of the caller's trace when the request
/// carries one: `tonic::transport::Server::builder().trace_fn(rpc_span)`.
pub fn rpc_span(request: &tonic::codegen::http::Request<()>) -> tracing::Span {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let span = tracing::info_span!("rpc", rpc.path = %request.uri().path());
    let metadata = MetadataMap::from_headers(request.headers().clone());
    // Fails only when no OpenTelemetry layer is installed: then there is no trace to join.
    let _ = span.set_parent(extract_context(&metadata));
    span
}

/// A tonic interceptor that injects the current span's trace context into every
/// request: `AgentClient::with_interceptor(channel, propagate)`. Never fails.
#[allow(clippy::result_large_err)] // The signature tonic's `Interceptor` requires.
pub fn propagate(mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
    inject_context(request.metadata_mut());
    Ok(request)
}

struct MetadataInjector<'a>(&'a mut MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        // The propagator writes only valid ASCII keys and values; skip any other.
        if let (Ok(key), Ok(value)) = (
            MetadataKey::from_bytes(key.as_bytes()),
            MetadataValue::try_from(value.as_str()),
        ) {
            self.0.insert(key, value);
        }
    }
}

struct MetadataExtractor<'a>(&'a MetadataMap);

impl Extractor for MetadataExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0
            .keys()
            .filter_map(|k| match k {
                KeyRef::Ascii(k) => Some(k.as_str()),
                KeyRef::Binary(_) => None,
            })
            .collect()
    }
}
