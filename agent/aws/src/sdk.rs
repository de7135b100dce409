//! The adapter on the AWS SDK: [`SdkAws`] implements [`Iam`](crate::Iam),
//! [`AccessAdvisor`] and [`Sts`].
//!
//! Configuration comes from `aws-config`'s defaults: the default credential
//! chain and the standard settings (`AWS_REGION`, `AWS_PROFILE`,
//! `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_IAM`, ...), so the same binary runs
//! against AWS or an emulator. IAM is global: with no region set anywhere, the
//! region is `us-east-1`. [`SdkSettings`] can override endpoint, region and
//! credentials (tests point it at moto or a recorded server on 127.0.0.1).
//!
//! The SDK's own retries are off ([`RetryConfig::disabled`]): every request
//! (each page of a list) goes through [`crate::retry::retry`] with the
//! adapter's [`RetryPolicy`], so backon is the single retry layer.

mod convert;
mod iam;

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_iam::config::Credentials;
use aws_sdk_iam::types::AccessAdvisorUsageGranularityType;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use tracing::Instrument;

use crate::api::{AccessAdvisor, Sts};
use crate::error::AwsError;
use crate::ops;
use crate::retry::{RetryPolicy, retry};
use crate::trace::{CallFields, aws_call_span};
use crate::types::{CallerIdentity, LastAccessedJob};

/// IAM's home region, used when nothing else names one.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Static credentials, for tests and emulators; production uses the default chain.
#[derive(Clone, PartialEq, Eq)]
pub struct StaticCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "** redacted **"),
            )
            .finish()
    }
}

/// Overrides of the SDK's defaults. `SdkSettings::default()` keeps the
/// standard endpoint, region and credentials, and sets the retry policy and
/// timeouts for production.
#[derive(Debug, Clone)]
pub struct SdkSettings {
    /// One endpoint for IAM and STS (an emulator); `None`: the standard settings.
    pub endpoint_url: Option<String>,
    /// `None`: the standard settings, else [`DEFAULT_REGION`].
    pub region: Option<String>,
    /// `None`: the default credential chain.
    pub credentials: Option<StaticCredentials>,
    /// How each request is retried.
    pub retry: RetryPolicy,
    /// `MaxItems` of each list page; `None`: the service's default (100).
    pub page_size: Option<i32>,
    /// Limit on one HTTP attempt (a timeout is a transient, retryable error).
    pub attempt_timeout: Duration,
    /// Limit on opening a connection.
    pub connect_timeout: Duration,
}

impl Default for SdkSettings {
    fn default() -> Self {
        SdkSettings {
            endpoint_url: None,
            region: None,
            credentials: None,
            retry: RetryPolicy::default(),
            page_size: None,
            attempt_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// IAM, access advisor and STS through the AWS SDK, with one set of credentials.
#[derive(Debug, Clone)]
pub struct SdkAws {
    iam: aws_sdk_iam::Client,
    sts: aws_sdk_sts::Client,
    retry: RetryPolicy,
    page_size: Option<i32>,
    /// Learnt from the first successful `GetCallerIdentity`, for trace spans.
    account_id: std::sync::Arc<OnceLock<String>>,
}

impl SdkAws {
    /// The adapter with the SDK's standard configuration.
    pub async fn from_env() -> SdkAws {
        SdkAws::new(SdkSettings::default()).await
    }

    /// The adapter with some settings overridden. Nothing is called yet:
    /// credentials are resolved on the first request.
    pub async fn new(settings: SdkSettings) -> SdkAws {
        let region = RegionProviderChain::first_try(settings.region.map(Region::new))
            .or_default_provider()
            .or_else(Region::from_static(DEFAULT_REGION));
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(settings.connect_timeout)
            .operation_attempt_timeout(settings.attempt_timeout)
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(region)
            .retry_config(RetryConfig::disabled())
            .timeout_config(timeouts);
        if let Some(url) = settings.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(c) = settings.credentials {
            let provider = Credentials::new(
                c.access_key_id,
                c.secret_access_key,
                c.session_token,
                None,
                "whittle-static",
            );
            loader = loader.credentials_provider(provider);
        }
        let config = loader.load().await;
        SdkAws {
            iam: aws_sdk_iam::Client::new(&config),
            sts: aws_sdk_sts::Client::new(&config),
            retry: settings.retry,
            page_size: settings.page_size,
            account_id: Default::default(),
        }
    }

    /// The account of the credentials, once `GetCallerIdentity` has answered.
    pub fn account_id(&self) -> Option<&str> {
        self.account_id.get().map(String::as_str)
    }

    /// The span of one logical call; the account comes from STS or the policy ARN.
    fn span(&self, fields: CallFields<'_>) -> tracing::Span {
        let account = self.account_id().or_else(|| {
            fields
                .policy_arn
                .and_then(whittle_policy::model::account_of_arn)
        });
        aws_call_span(account, fields)
    }

    /// Sends one request with the retry policy, mapping SDK errors.
    async fn send<O, E, F, Fut>(
        &self,
        operation: &'static str,
        mut request: F,
    ) -> Result<O, AwsError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<O, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + StdError + 'static,
    {
        retry(&self.retry, || {
            let sent = request();
            async move { sent.await.map_err(|e| AwsError::from_sdk(operation, e)) }
        })
        .await
    }

    /// Sends every page of a list call, following `Marker`.
    async fn paged<T, P, F, Fut>(
        &self,
        operation: &'static str,
        mut page: F,
        mut items: impl FnMut(&P, &mut Vec<T>) -> Result<(), AwsError>,
    ) -> Result<Vec<T>, AwsError>
    where
        F: FnMut(Option<String>) -> Fut,
        Fut: Future<Output = Result<P, AwsError>>,
        P: convert::Page,
    {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let answer = page(marker.clone()).await?;
            items(&answer, &mut out)?;
            match convert::next_marker(operation, &answer, marker.as_deref())? {
                Some(next) => marker = Some(next),
                None => return Ok(out),
            }
        }
    }
}

#[async_trait]
impl Sts for SdkAws {
    async fn get_caller_identity(&self) -> Result<CallerIdentity, AwsError> {
        let op = ops::GET_CALLER_IDENTITY;
        let span = self.span(CallFields::new(op));
        async {
            let out = self
                .send(op, || self.sts.get_caller_identity().send())
                .await?;
            let field = |value: Option<&str>, name: &str| {
                value
                    .map(str::to_string)
                    .ok_or_else(|| convert::missing(op, name))
            };
            let identity = CallerIdentity {
                account: field(out.account(), "Account")?,
                arn: field(out.arn(), "Arn")?,
                user_id: field(out.user_id(), "UserId")?,
            };
            let _ = self.account_id.set(identity.account.clone());
            Ok(identity)
        }
        .instrument(span)
        .await
    }
}

#[async_trait]
impl AccessAdvisor for SdkAws {
    async fn generate_service_last_accessed_details(
        &self,
        role_arn: &str,
    ) -> Result<String, AwsError> {
        let op = ops::GENERATE_SERVICE_LAST_ACCESSED_DETAILS;
        let role_name = role_arn.rsplit('/').next();
        let mut fields = CallFields::new(op);
        fields.role_name = role_name;
        async {
            let out = self
                .send(op, || {
                    self.iam
                        .generate_service_last_accessed_details()
                        .arn(role_arn)
                        .granularity(AccessAdvisorUsageGranularityType::ActionLevel)
                        .send()
                })
                .await?;
            out.job_id()
                .map(str::to_string)
                .ok_or_else(|| convert::missing(op, "JobId"))
        }
        .instrument(self.span(fields))
        .await
    }

    async fn get_service_last_accessed_details(
        &self,
        job_id: &str,
    ) -> Result<LastAccessedJob, AwsError> {
        let op = ops::GET_SERVICE_LAST_ACCESSED_DETAILS;
        async {
            let mut report = convert::ReportBuilder::default();
            let mut marker: Option<String> = None;
            loop {
                let page = self
                    .send(op, || {
                        self.iam
                            .get_service_last_accessed_details()
                            .job_id(job_id)
                            .set_marker(marker.clone())
                            .set_max_items(self.page_size)
                            .send()
                    })
                    .await?;
                if let Some(done) = report.add_page(op, &page)? {
                    return Ok(done);
                }
                match convert::next_marker(op, &page, marker.as_deref())? {
                    Some(next) => marker = Some(next),
                    None => return report.finish(op),
                }
            }
        }
        .instrument(self.span(CallFields::new(op)))
        .await
    }
}
