//! Access advisor jobs in the simulated account, and `fetch_usage` on them.

use super::*;

const CI: &str = "arn:aws:iam::111122223333:role/ci-deployer";

#[tokio::test]
async fn jobs_complete_after_the_set_number_of_polls() {
    let sim = example();
    sim.set_advisor_polls(2);
    let job = sim
        .generate_service_last_accessed_details(CI)
        .await
        .unwrap();
    assert_eq!(
        sim.get_service_last_accessed_details(&job).await,
        Ok(LastAccessedJob::InProgress)
    );
    assert_eq!(
        sim.get_service_last_accessed_details(&job).await,
        Ok(LastAccessedJob::InProgress)
    );
    let done = sim.get_service_last_accessed_details(&job).await.unwrap();
    let LastAccessedJob::Completed(usage) = done else {
        panic!("{done:?}")
    };
    assert_eq!(usage.observed_at, sim.clock().now());
    assert!(usage.services.contains_key("ecr"));
    // Later polls answer the same report.
    sim.clock().advance(chrono::Duration::hours(1));
    let again = sim.get_service_last_accessed_details(&job).await.unwrap();
    assert_eq!(again, LastAccessedJob::Completed(usage));
}

#[tokio::test]
async fn fetch_usage_reports_the_seeded_usage_observed_now() {
    let sim = example();
    let seeded = whittle_policy::exports::parse_last_accessed(
        &std::fs::read_to_string(format!("{EXAMPLE}/last-accessed/ci-deployer.json")).unwrap(),
    )
    .unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap();
    sim.clock().set(now);
    sim.set_advisor_polls(3);
    let usage = fetch_usage(&sim, CI, &PollPolicy::fast()).await.unwrap();
    assert_eq!(usage.observed_at, now);
    assert_eq!(
        usage.granularity,
        whittle_policy::model::Granularity::Action
    );
    assert_eq!(usage.services, seeded.services);
    assert_eq!(sim.calls(ops::GENERATE_SERVICE_LAST_ACCESSED_DETAILS), 1);
    assert_eq!(sim.calls(ops::GET_SERVICE_LAST_ACCESSED_DETAILS), 4);
}

#[tokio::test]
async fn a_role_without_usage_reports_no_service() {
    let sim = example();
    let role = sim.create_role("quiet", "/").unwrap();
    let usage = fetch_usage(&sim, &role.arn, &PollPolicy::fast())
        .await
        .unwrap();
    assert!(usage.services.is_empty());
}

#[tokio::test]
async fn a_failed_job_is_an_error_naming_the_role() {
    let sim = example();
    sim.fail_advisor_jobs("ci-deployer", "InternalError: report generation failed");
    let err = fetch_usage(&sim, CI, &PollPolicy::fast())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Other);
    assert!(err.message.contains(CI) && err.message.contains("report generation failed"));
}

#[tokio::test]
async fn an_unknown_role_is_not_found() {
    let sim = example();
    let err = fetch_usage(
        &sim,
        "arn:aws:iam::111122223333:role/nope",
        &PollPolicy::fast(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
}

#[tokio::test(start_paused = true)]
async fn polling_stops_at_the_deadline() {
    let sim = example();
    sim.set_advisor_polls(u32::MAX);
    let poll = PollPolicy {
        first_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(20),
        deadline: Duration::from_secs(120),
    };
    let started = tokio::time::Instant::now();
    let err = fetch_usage(&sim, CI, &poll).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient, "worth asking again later");
    assert!(err.message.contains("still in progress"), "{}", err.message);
    assert!(
        started.elapsed() <= Duration::from_secs(121),
        "{:?}",
        started.elapsed()
    );
    let polls = sim.calls(ops::GET_SERVICE_LAST_ACCESSED_DETAILS);
    assert!((5..=20).contains(&polls), "{polls} polls in two minutes");
}

#[tokio::test]
async fn throttled_polls_are_waited_out_but_other_errors_end_the_wait() {
    let sim = example();
    sim.throttle_next(ops::GET_SERVICE_LAST_ACCESSED_DETAILS, 3);
    fetch_usage(&sim, CI, &PollPolicy::fast()).await.unwrap();
    sim.fail_next(
        ops::GET_SERVICE_LAST_ACCESSED_DETAILS,
        ErrorKind::AccessDenied,
        1,
    );
    let err = fetch_usage(&sim, CI, &PollPolicy::fast())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::AccessDenied);
}
