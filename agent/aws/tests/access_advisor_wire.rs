//! The SDK adapter against AWS's real XML wire format: access advisor above all
//! (moto has none), plus paging, URL-encoded documents and error answers.
//!
//! A small HTTP server on 127.0.0.1 answers the IAM Query-protocol requests
//! with recorded answers (`tests/data/`) and records what was asked.

// A test binary: helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/wire.rs"]
mod wire;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use whittle_aws::{
    AccessAdvisor, ErrorKind, Iam, PollPolicy, RetryPolicy, SdkAws, SdkSettings, StaticCredentials,
    fetch_usage,
};
use whittle_policy::model::{Granularity, ServiceUsage};
use wire::{RecordedIam, error, ok};

const GENERATE: &str = "GenerateServiceLastAccessedDetails";
const GET: &str = "GetServiceLastAccessedDetails";
const ROLE: &str = "arn:aws:iam::111122223333:role/ci-deployer";
const JOB: &str = "7c1f0b9e-3a4d-4e7b-9c55-0d2f6a8e41b3";

fn settings(server: &RecordedIam) -> SdkSettings {
    SdkSettings {
        endpoint_url: Some(server.endpoint.clone()),
        retry: RetryPolicy::fast(),
        ..settings_without_server()
    }
}

async fn adapter(server: &RecordedIam) -> SdkAws {
    SdkAws::new(settings(server)).await
}

fn t(text: &str) -> Option<DateTime<Utc>> {
    Some(
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc),
    )
}

fn service(last: Option<DateTime<Utc>>, actions: &[(&str, Option<DateTime<Utc>>)]) -> ServiceUsage {
    ServiceUsage {
        last_authenticated: last,
        actions: actions
            .iter()
            .map(|(a, when)| (a.to_string(), *when))
            .collect(),
    }
}

#[tokio::test]
async fn a_paged_report_is_polled_and_merged() {
    let server = RecordedIam::start(vec![
        ok(GENERATE, "generate-service-last-accessed-details.xml"),
        ok(GET, "get-service-last-accessed-details-in-progress.xml"),
        ok(GET, "get-service-last-accessed-details-page1.xml"),
        ok(GET, "get-service-last-accessed-details-page2.xml"),
    ])
    .await;
    let aws = adapter(&server).await;
    let usage = fetch_usage(&aws, ROLE, &PollPolicy::fast()).await.unwrap();

    assert_eq!(usage.observed_at, t("2026-11-18T18:30:07.129Z").unwrap());
    assert_eq!(usage.granularity, Granularity::Action);
    let expected = BTreeMap::from([
        ("ec2".to_string(), service(None, &[])),
        (
            "ecr".to_string(),
            service(
                t("2026-05-04T13:52:09Z"),
                &[
                    ("batchchecklayeravailability", t("2026-05-04T13:50:40Z")),
                    ("batchdeleteimage", None),
                    ("putimage", t("2026-05-04T13:52:09Z")),
                ],
            ),
        ),
        (
            "cloudformation".to_string(),
            service(
                t("2026-11-17T16:40:03Z"),
                &[
                    ("createchangeset", t("2026-11-17T16:36:41Z")),
                    ("deletestack", t("2026-03-12T10:18:27Z")),
                    ("liststacksets", None),
                ],
            ),
        ),
        ("iam".to_string(), service(None, &[])),
    ]);
    assert_eq!(usage.services, expected);

    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    let generate = &requests[0];
    assert_eq!(generate["Action"], GENERATE);
    assert_eq!(generate["Arn"], ROLE);
    assert_eq!(generate["Granularity"], "ACTION_LEVEL");
    for get in &requests[1..] {
        assert_eq!(get["Action"], GET);
        assert_eq!(get["JobId"], JOB, "the job id from the generate answer");
    }
    assert!(!requests[1].contains_key("Marker") && !requests[2].contains_key("Marker"));
    assert_eq!(
        requests[3]["Marker"], "AAIAATVmYzI1NmE0LTBkNzUtNGE2NC1iNzA2LTM1YjE4ZTU5Njc2Ng==",
        "the second page is asked for with the first page's marker"
    );
    assert_eq!(server.unused(), 0);
}

#[tokio::test]
async fn a_failed_job_says_why() {
    let server = RecordedIam::start(vec![
        ok(GENERATE, "generate-service-last-accessed-details.xml"),
        ok(GET, "get-service-last-accessed-details-failed.xml"),
    ])
    .await;
    let aws = adapter(&server).await;
    let err = fetch_usage(&aws, ROLE, &PollPolicy::fast())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Other);
    assert!(err.message.contains("InternalError"), "{}", err.message);
    assert!(
        err.message.contains("could not be generated"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn throttling_is_retried_by_the_adapter() {
    let server = RecordedIam::start(vec![
        error(GENERATE, 400, "error-throttling.xml"),
        error(GENERATE, 400, "error-throttling.xml"),
        ok(GENERATE, "generate-service-last-accessed-details.xml"),
    ])
    .await;
    let aws = adapter(&server).await;
    let job = aws
        .generate_service_last_accessed_details(ROLE)
        .await
        .unwrap();
    assert_eq!(job, JOB);
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn an_unknown_job_is_not_found_and_not_retried() {
    let server = RecordedIam::start(vec![error(GET, 404, "error-no-such-entity.xml")]).await;
    let aws = adapter(&server).await;
    let err = aws
        .get_service_last_accessed_details("nope")
        .await
        .unwrap_err();
    assert_eq!((err.kind, err.operation), (ErrorKind::NotFound, GET));
    assert!(err.message.starts_with("NoSuchEntity: "), "{}", err.message);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn url_encoded_policy_documents_are_decoded() {
    let server = RecordedIam::start(vec![ok(
        "GetPolicyVersion",
        "get-policy-version-encoded.xml",
    )])
    .await;
    let aws = adapter(&server).await;
    let arn = "arn:aws:iam::111122223333:policy/reporting-lambda-access";
    let document = aws.get_policy_version(arn, "v2").await.unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&document).unwrap();
    assert_eq!(parsed["Statement"][0]["Action"][1], "dynamodb:GetItem");
    assert_eq!(
        parsed["Statement"][0]["Resource"],
        "arn:aws:dynamodb:eu-west-1:111122223333:table/reports"
    );
    let request = &server.requests()[0];
    assert_eq!(
        (request["PolicyArn"].as_str(), request["VersionId"].as_str()),
        (arn, "v2")
    );
}

#[tokio::test]
async fn list_roles_follows_markers_with_the_page_size() {
    let server = RecordedIam::start(vec![
        ok("ListRoles", "list-roles-page1.xml"),
        ok("ListRoles", "list-roles-page2.xml"),
    ])
    .await;
    let aws = SdkAws::new(SdkSettings {
        page_size: Some(2),
        ..settings(&server)
    })
    .await;
    let roles = aws.list_roles().await.unwrap();
    let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        ["app-web-frontend", "ci-deployer", "reporting-lambda"]
    );
    assert_eq!(roles[2].path, "/service-role/");
    assert_eq!(
        roles[2].arn,
        "arn:aws:iam::111122223333:role/service-role/reporting-lambda"
    );
    assert_eq!(roles[0].create_date, t("2023-05-16T08:44:31Z").unwrap());
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0]["MaxItems"], "2");
    assert!(!requests[0].contains_key("Marker"));
    assert_eq!(requests[1]["MaxItems"], "2");
    assert_eq!(
        requests[1]["Marker"],
        "AAEAAXsiTWFya2VyIjoiY2ktZGVwbG95ZXIifQ=="
    );
}

#[tokio::test]
async fn a_truncated_page_without_a_marker_is_an_error_not_a_loop() {
    let server = RecordedIam::start(vec![ok(
        "ListRoles",
        "list-roles-truncated-without-marker.xml",
    )])
    .await;
    let aws = adapter(&server).await;
    let err = aws.list_roles().await.unwrap_err();
    assert_eq!((err.kind, err.operation), (ErrorKind::Other, "ListRoles"));
    assert!(err.message.contains("Marker"), "{}", err.message);
}

#[tokio::test]
async fn a_refused_connection_is_transient_and_retried() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let aws = SdkAws::new(SdkSettings {
        endpoint_url: Some(endpoint),
        retry: RetryPolicy {
            max_attempts: 2,
            ..RetryPolicy::fast()
        },
        ..settings_without_server()
    })
    .await;
    let err = aws.list_roles().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient, "{err}");
    assert!(
        err.message.contains("gave up after 2 attempts"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_as_transient() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let aws = SdkAws::new(SdkSettings {
        endpoint_url: Some(endpoint),
        retry: RetryPolicy::none(),
        attempt_timeout: std::time::Duration::from_millis(300),
        ..settings_without_server()
    })
    .await;
    let started = std::time::Instant::now();
    let err = aws
        .get_policy("arn:aws:iam::111122223333:policy/p")
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind, err.operation),
        (ErrorKind::Transient, "GetPolicy"),
        "{err}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

fn settings_without_server() -> SdkSettings {
    SdkSettings {
        region: Some("us-east-1".into()),
        credentials: Some(StaticCredentials {
            access_key_id: "testing".into(),
            secret_access_key: "testing".into(),
            session_token: None,
        }),
        ..SdkSettings::default()
    }
}
