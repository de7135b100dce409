//! Opening the account a command acts on: configuration, AWS (or a simulated
//! account), the identity check, the journal, and reconcile of any change a
//! crash interrupted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use whittle_aws::{
    AccessAdvisor, Iam, PollPolicy, RateLimited, RetryPolicy, Retrying, SdkAws, SimAccount, Sts,
    WriteRate,
};
use whittle_policy::Settings;

use super::{AccountArgs, DecisionArgs};
use crate::config::{Config, is_account_id};
use crate::engine::{Clock, Engine, SystemClock};
use crate::journal::Journal;

/// Everything a command needs to act on one account.
pub(crate) struct AccountContext {
    pub account_id: String,
    pub iam: Arc<dyn Iam>,
    pub advisor: Arc<dyn AccessAdvisor>,
    pub engine: Engine,
    pub settings: Settings,
    /// Roles never changed (the agent's own role), with the reason.
    pub protected: BTreeMap<String, String>,
    pub poll: PollPolicy,
    pub now: DateTime<Utc>,
    simulated: Option<(SimAccount, PathBuf)>,
}

#[derive(Debug)]
struct Fixed(DateTime<Utc>);

impl Clock for Fixed {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// The three AWS doors, the simulated account (and its folder) if any, and
/// how to poll access advisor.
type Connection = (
    Arc<dyn Iam>,
    Arc<dyn AccessAdvisor>,
    Arc<dyn Sts>,
    Option<(SimAccount, PathBuf)>,
    PollPolicy,
);

const SIMULATED: &str = "simulated-account";
const DETAILS: &str = "authorization-details.json";

impl AccountContext {
    pub async fn open(
        args: &AccountArgs,
        decision: &DecisionArgs,
    ) -> anyhow::Result<AccountContext> {
        let config = match &args.config {
            Some(path) => Config::load(path)?,
            None => Config::default(),
        };
        let settings = decision.settings(&config.planning);
        settings.validate().context("invalid planning settings")?;
        let data_dir = args
            .data_dir
            .clone()
            .or(config.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from(".whittle"));
        let rate = args
            .iam_writes_per_second
            .unwrap_or(config.iam_writes_per_second);
        // One limiter per account, shared by every task of this command: IAM
        // throttles the account as a whole.
        let (iam, advisor, sts, simulated, poll): Connection = match &args.simulate {
            Some(seed) => {
                let dir = data_dir.join(SIMULATED);
                seed_simulation(seed, &dir)?;
                let sim = SimAccount::load(&dir)?;
                // The limiter sits inside `Retrying`, so each attempt takes a
                // slot: the retry of a throttled write is spaced like any other
                // write, instead of adding to the load that throttled it.
                let wrapped = Arc::new(Retrying::new(
                    RateLimited::new(sim.clone(), rate),
                    RetryPolicy::default(),
                ));
                (
                    wrapped.clone(),
                    wrapped.clone(),
                    wrapped,
                    Some((sim, dir)),
                    PollPolicy::fast(),
                )
            }
            None => {
                // The SDK adapter retries each request itself (each page of a
                // list, with backoff), so the limiter can only sit outside it:
                // every logical write waits for a slot, and a retry of a
                // throttled write is spaced by the adapter's backoff (100 ms
                // doubling, with jitter) rather than by a slot of its own.
                // Moving the retries out of the adapter would cost the per-page
                // retries of the lists.
                let sdk = Arc::new(RateLimited::new(SdkAws::from_env().await, rate));
                (sdk.clone(), sdk.clone(), sdk, None, PollPolicy::default())
            }
        };
        let identity = sts.get_caller_identity().await.context(
            "cannot tell which account the AWS credentials belong to (sts:GetCallerIdentity)",
        )?;
        let account_id = match args.account.clone().or(config.account_id.clone()) {
            Some(a) => a,
            None if simulated.is_some() => identity.account.clone(),
            None => bail!(
                "no account to act on: give --account ID or account_id in the configuration file"
            ),
        };
        if !is_account_id(&account_id) {
            bail!("--account {account_id:?} is not a 12-digit AWS account id");
        }
        if identity.account != account_id {
            bail!(
                "the AWS credentials ({}) belong to account {}, not {account_id}: refusing to act on the wrong account",
                identity.arn,
                identity.account
            );
        }
        let mut protected = BTreeMap::new();
        if let Some(own) = own_role(&identity.arn) {
            protected.insert(own, "the agent runs as this role".to_string());
        }
        let journal = Arc::new(Journal::open(&data_dir)?);
        let now = decision.now();
        let clock: Arc<dyn Clock> = match decision.now {
            Some(t) => Arc::new(Fixed(t)),
            None => Arc::new(SystemClock),
        };
        let engine = Engine::new(iam.clone(), journal, &account_id, clock);
        let ctx = AccountContext {
            account_id,
            iam,
            advisor,
            engine,
            settings,
            protected,
            poll,
            now,
            simulated,
        };
        for r in ctx
            .engine
            .reconcile()
            .await
            .context("reconciling changes a crash interrupted")?
        {
            eprintln!(
                "note: change {} on role {} was interrupted; reconcile {} it",
                r.change, r.role, r.outcome
            );
        }
        ctx.save()?;
        Ok(ctx)
    }

    /// Keeps a simulated account's state for the next command.
    pub fn save(&self) -> anyhow::Result<()> {
        let Some((sim, dir)) = &self.simulated else {
            return Ok(());
        };
        let text = serde_json::to_string_pretty(
            &whittle_policy::exports::to_authorization_details(&sim.export()),
        )?;
        let tmp = dir.join(format!("{DETAILS}.tmp"));
        std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, dir.join(DETAILS))
            .with_context(|| format!("cannot replace {}", dir.join(DETAILS).display()))?;
        Ok(())
    }
}

/// `--iam-writes-per-second`: a number of writes per second, validated.
pub(crate) fn parse_write_rate(text: &str) -> Result<WriteRate, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of writes per second"))?;
    WriteRate::new(value).map_err(|e| e.to_string())
}

/// The role name in an assumed-role ARN (`arn:aws:sts::1:assumed-role/NAME/session`).
fn own_role(caller_arn: &str) -> Option<String> {
    let resource = caller_arn.split(':').nth(5)?;
    let rest = resource.strip_prefix("assumed-role/")?;
    rest.split('/').next().map(str::to_string)
}

/// Copies the seed (export files) into `dir` the first time; later commands
/// keep working on the copy.
fn seed_simulation(seed: &Path, dir: &Path) -> anyhow::Result<()> {
    if dir.join(DETAILS).is_file() {
        return Ok(());
    }
    let details = seed.join(DETAILS);
    if !details.is_file() {
        bail!(
            "{} has no {DETAILS}: --simulate takes a folder of export files",
            seed.display()
        );
    }
    let usage = dir.join("last-accessed");
    std::fs::create_dir_all(&usage)
        .with_context(|| format!("cannot create {}", usage.display()))?;
    let seed_usage = seed.join("last-accessed");
    if seed_usage.is_dir() {
        for entry in std::fs::read_dir(&seed_usage)
            .with_context(|| format!("cannot read {}", seed_usage.display()))?
        {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "json")
                && let Some(name) = path.file_name()
            {
                std::fs::copy(&path, usage.join(name))
                    .with_context(|| format!("cannot copy {}", path.display()))?;
            }
        }
    }
    std::fs::copy(&details, dir.join(DETAILS))
        .with_context(|| format!("cannot copy {}", details.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{own_role, parse_write_rate};

    #[test]
    fn the_write_rate_flag_is_validated() {
        assert_eq!(parse_write_rate("5").unwrap().per_second(), 5.0);
        assert_eq!(parse_write_rate("0.25").unwrap().per_second(), 0.25);
        for bad in ["0", "-1", "101", "fast"] {
            let e = parse_write_rate(bad).unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn the_agent_role_comes_from_the_caller_arn() {
        assert_eq!(
            own_role("arn:aws:sts::111122223333:assumed-role/whittle-agent/i-123"),
            Some("whittle-agent".into())
        );
        assert_eq!(own_role("arn:aws:iam::111122223333:user/alice"), None);
    }
}
