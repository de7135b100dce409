//! Access advisor in the simulated account: jobs that complete after a set
//! number of polls, reporting the usage seeded for the role.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use whittle_policy::Usage;
use whittle_policy::model::Granularity;

use crate::error::{AwsError, ErrorKind};
use crate::ops;
use crate::types::LastAccessedJob;

#[derive(Debug)]
struct Job {
    role_name: String,
    polls: u32,
    outcome: Option<LastAccessedJob>,
}

#[derive(Debug)]
pub(super) struct AdvisorState {
    /// Usage by role name.
    pub usage: BTreeMap<String, Usage>,
    /// Jobs answer `IN_PROGRESS` to this many polls, then complete.
    pub polls_to_complete: u32,
    /// Jobs for these roles fail, with this reason.
    pub failing: BTreeMap<String, String>,
    jobs: BTreeMap<String, Job>,
    next_job: u64,
}

impl AdvisorState {
    pub fn new(usage: BTreeMap<String, Usage>) -> AdvisorState {
        AdvisorState {
            usage,
            polls_to_complete: 1,
            failing: BTreeMap::new(),
            jobs: BTreeMap::new(),
            next_job: 1,
        }
    }

    /// Starts a job for an existing role (found by name by the caller).
    pub fn generate(&mut self, role_name: &str) -> String {
        let id = format!("sim-job-{:08}", self.next_job);
        self.next_job += 1;
        let job = Job {
            role_name: role_name.to_string(),
            polls: 0,
            outcome: None,
        };
        self.jobs.insert(id.clone(), job);
        id
    }

    /// One poll of a job. The report is made when the job completes, with the
    /// usage held for the role at that moment and `observed_at` = `now`.
    pub fn get(&mut self, job_id: &str, now: DateTime<Utc>) -> Result<LastAccessedJob, AwsError> {
        let Some(job) = self.jobs.get_mut(job_id) else {
            return Err(AwsError::new(
                ErrorKind::NotFound,
                ops::GET_SERVICE_LAST_ACCESSED_DETAILS,
                format!("NoSuchEntity: The job {job_id} cannot be found."),
            ));
        };
        job.polls += 1;
        if let Some(outcome) = &job.outcome {
            return Ok(outcome.clone());
        }
        if job.polls <= self.polls_to_complete {
            return Ok(LastAccessedJob::InProgress);
        }
        let outcome = match self.failing.get(&job.role_name) {
            Some(reason) => LastAccessedJob::Failed(reason.clone()),
            None => LastAccessedJob::Completed(Usage {
                observed_at: now,
                granularity: Granularity::Action,
                services: self
                    .usage
                    .get(&job.role_name)
                    .map(|u| u.services.clone())
                    .unwrap_or_default(),
            }),
        };
        job.outcome = Some(outcome.clone());
        Ok(outcome)
    }
}
