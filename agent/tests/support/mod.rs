//! Shared set-up: the example account as a simulated account, a journal in a
//! temporary folder, a fixed clock, and plans made from the example's usage.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use whittle_agent::engine::{Clock, Engine};
use whittle_agent::journal::Journal;
use whittle_aws::{Iam, RetryPolicy, Retrying, SimAccount, inventory};
use whittle_policy::{Catalogue, Planner, RolePlan, Settings};

pub fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/examples/account-111122223333")
}

pub fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-20T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

#[derive(Debug)]
pub struct Fixed(pub DateTime<Utc>);

impl Clock for Fixed {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

pub struct World {
    pub sim: SimAccount,
    pub iam: Arc<dyn Iam>,
    pub engine: Engine,
    pub dir: tempfile::TempDir,
}

impl World {
    pub fn new() -> World {
        let sim = SimAccount::load(&example()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let world_iam: Arc<dyn Iam> = Arc::new(Retrying::new(sim.clone(), RetryPolicy::fast()));
        let engine = engine(&world_iam, dir.path());
        World {
            sim,
            iam: world_iam,
            engine,
            dir,
        }
    }

    /// A new engine on the same journal, as after a restart.
    pub fn restart(&mut self) {
        // The old engine holds the journal open: drop it first.
        self.engine = engine(&self.iam, &self.dir.path().join("unused"));
        self.engine = engine(&self.iam, self.dir.path());
    }

    pub async fn plan(&self, role: &str) -> RolePlan {
        let usage = whittle_agent::exports::load(
            &example().join("authorization-details.json"),
            &example().join("last-accessed"),
            &[role.to_string()],
        )
        .unwrap()
        .usage;
        let (r, managed) = inventory::read_role(self.iam.as_ref(), role).await.unwrap();
        let planner = Planner::new(Catalogue::embedded(), &Settings::default()).unwrap();
        planner.plan_role(&r, &managed, usage.get(role), now())
    }

    /// The role as IAM has it: inline documents, attachments, attached documents.
    pub async fn state(&self, role: &str) -> whittle_policy::RoleState {
        let (r, managed) = inventory::read_role(self.iam.as_ref(), role).await.unwrap();
        whittle_policy::plan::role_state(&r, &managed)
    }
}

fn engine(iam: &Arc<dyn Iam>, dir: &std::path::Path) -> Engine {
    let journal = Arc::new(Journal::open(dir).unwrap());
    Engine::new(iam.clone(), journal, "111122223333", Arc::new(Fixed(now())))
}

pub fn none() -> BTreeMap<String, String> {
    BTreeMap::new()
}
