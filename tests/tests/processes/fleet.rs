//! A fleet of real processes for the process-level scenarios: a CA, a simulated
//! organisation, `whittle-coordinator serve` and one `whittle-agent run` per account on
//! loopback, the `whittle` CLI to drive them, and bounded waits.
//!
//! The binaries are not built here: they are looked up under the target directory
//! (`CARGO_TARGET_DIR` or the workspace's `target/`), where `cargo build --bins` (or a
//! workspace test run) puts them.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;
use whittle_aws::{Iam, SimAccount, inventory};

/// The longest any single wait may take.
pub const WAIT: Duration = Duration::from_secs(60);

/// Every role of the generated accounts that grants (nearly) every AWS action. The fleet keeps
/// them out of campaigns with exclusion rules added before any agent connects, as an
/// organisation reviews administrator roles by hand (`scripts/fleet-demo` does the same).
pub const ADMIN_ROLES: [&str; 3] = [
    "OrganizationAccountAccessRole",
    "platform-admin",
    "ops-readonly-except-secrets",
];

/// A compiled binary of the workspace, or a panic that says how to build it.
pub fn binary(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join("debug").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --bins` first",
        path.display()
    );
    path
}

/// Polls `check` every 100 ms until it gives a value, for at most `limit`.
pub fn wait_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    for _ in 0..100_000 {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("gave up waiting until {what}");
}

/// Runs a command to its end, killing it after [`WAIT`]. Its output goes to files, not
/// pipes, so a large output cannot block it while it is being waited for.
pub fn run(mut command: Command) -> Output {
    use std::io::{Read, Seek};
    let shown = format!("{command:?}");
    let (mut stdout, mut stderr) = (tempfile::tempfile().unwrap(), tempfile::tempfile().unwrap());
    let mut child = command
        .stdin(Stdio::null())
        .stdout(stdout.try_clone().unwrap())
        .stderr(stderr.try_clone().unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {shown}: {e}"));
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("{shown} did not finish within {WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |f: &mut std::fs::File| {
        let mut bytes = Vec::new();
        f.rewind().unwrap();
        f.read_to_end(&mut bytes).unwrap();
        bytes
    };
    Output {
        status,
        stdout: read(&mut stdout),
        stderr: read(&mut stderr),
    }
}

/// A free port on loopback (bound, then released for the coordinator to take).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A simulated organisation with its coordinator and agents, all real processes. Every
/// process is killed when the fleet is dropped.
#[derive(Debug)]
pub struct Fleet {
    pub dir: Option<TempDir>,
    pub accounts: Vec<String>,
    port: u16,
    coordinator: Option<Child>,
    agents: BTreeMap<String, Child>,
    data_dirs: BTreeMap<String, PathBuf>,
    restarts: u32,
    /// `--iam-writes-per-second` of every agent.
    write_rate: u32,
}

impl Fleet {
    /// `accounts` generated with `roles` roles each, the coordinator (tick 200 ms, soak
    /// 1 s) and an agent per account writing at most `write_rate` IAM writes per second,
    /// once every account has reported its plans.
    pub fn start(accounts: &[&str], roles: u32, write_rate: u32) -> Fleet {
        let mut fleet = Fleet {
            dir: Some(TempDir::new().unwrap()),
            accounts: accounts.iter().map(|a| a.to_string()).collect(),
            port: free_port(),
            coordinator: None,
            agents: BTreeMap::new(),
            data_dirs: BTreeMap::new(),
            restarts: 0,
            write_rate,
        };
        fleet.make_certificates();
        fleet.generate(roles);
        fleet.write_config();
        fleet.start_coordinator();
        for role in ADMIN_ROLES {
            fleet.ok(&[
                "exclusions",
                "add",
                "--role-glob",
                role,
                "--reason",
                "administrator role: trimmed by hand",
            ]);
        }
        for account in fleet.accounts.clone() {
            let data = fleet.path(&format!("data-{account}"));
            fleet.data_dirs.insert(account.clone(), data);
            fleet.start_agent(&account);
        }
        fleet.wait_until_reported(roles);
        fleet
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    fn root(&self) -> &Path {
        self.dir.as_ref().unwrap().path()
    }

    fn make_certificates(&self) {
        let coordinator = binary("whittle-coordinator");
        let ca = self.path("ca");
        let ca = ca.to_str().unwrap();
        let mut steps: Vec<Vec<&str>> = vec![
            vec!["ca", "init", "--dir", ca],
            vec![
                "ca",
                "issue",
                "server",
                "--dir",
                ca,
                "--dns",
                "localhost",
                "--dns",
                "127.0.0.1",
            ],
            vec![
                "ca", "issue", "operator", "--dir", ca, "--name", "ada", "--role", "admin",
            ],
        ];
        for account in &self.accounts {
            steps.push(vec![
                "ca",
                "issue",
                "agent",
                "--dir",
                ca,
                "--account",
                account,
            ]);
        }
        for step in steps {
            let mut command = Command::new(&coordinator);
            command.args(&step);
            expect_success(&format!("whittle-coordinator {step:?}"), &run(command));
        }
    }

    fn generate(&self, roles: u32) {
        let mut command = Command::new(binary("whittle-agent"));
        command
            .args(["simulate", "generate", "--out"])
            .arg(self.path("org"))
            .args(["--accounts", &self.accounts.join(",")])
            .args(["--roles", &roles.to_string(), "--seed", "7"]);
        expect_success("whittle-agent simulate generate", &run(command));
    }

    fn write_config(&self) {
        let file = |rel: &str| self.path(rel).display().to_string();
        let config = format!(
            "listen = \"127.0.0.1:{port}\"\n\
             data_dir = {data:?}\n\
             [tls]\n\
             ca_cert = {ca:?}\n\
             cert = {cert:?}\n\
             key = {key:?}\n\
             [campaigns]\n\
             tick_ms = 200\n\
             default_soak_seconds = 1\n",
            port = self.port,
            data = file("coordinator"),
            ca = file("ca/ca.pem"),
            cert = file("ca/issued/coordinator.pem"),
            key = file("ca/issued/coordinator.key"),
        );
        std::fs::write(self.path("coordinator.toml"), config).unwrap();
    }

    fn log(&mut self, name: &str) -> std::fs::File {
        self.restarts += 1;
        std::fs::File::create(self.path(&format!("{name}.{}.log", self.restarts))).unwrap()
    }

    /// Starts the coordinator and waits until it answers.
    pub fn start_coordinator(&mut self) {
        assert!(self.coordinator.is_none(), "the coordinator already runs");
        let log = self.log("coordinator");
        let child = Command::new(binary("whittle-coordinator"))
            .arg("serve")
            .arg("--config")
            .arg(self.path("coordinator.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.coordinator = Some(child);
        wait_for("the coordinator answers", WAIT, || {
            self.whittle(&["accounts"]).status.success().then_some(())
        });
    }

    /// `kill -9` of the coordinator.
    pub fn kill_coordinator(&mut self) {
        let mut child = self.coordinator.take().expect("the coordinator runs");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Starts the agent of `account` on its data directory.
    pub fn start_agent(&mut self, account: &str) {
        assert!(!self.agents.contains_key(account), "{account} already runs");
        let log = self.log(&format!("agent-{account}"));
        let cert = |ext: &str| self.path(&format!("ca/issued/agent-{account}.{ext}"));
        let child = Command::new(binary("whittle-agent"))
            .arg("run")
            .arg("--simulate")
            .arg(self.seed(account))
            .args(["--account", account])
            .arg("--data-dir")
            .arg(self.data_dir(account))
            .args(["--coordinator", &format!("https://127.0.0.1:{}", self.port)])
            .arg("--tls-ca")
            .arg(self.path("ca/ca.pem"))
            .arg("--tls-cert")
            .arg(cert("pem"))
            .arg("--tls-key")
            .arg(cert("key"))
            .args(["--iam-writes-per-second", &self.write_rate.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.agents.insert(account.to_string(), child);
    }

    /// `kill -9` of the agent of `account`.
    pub fn kill_agent(&mut self, account: &str) {
        let mut child = self.agents.remove(account).expect("the agent runs");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Gives `account` a new, empty data directory holding only the simulated account's
    /// current state (the agent re-deployed on a new machine, IAM unchanged). The agent
    /// must be stopped.
    pub fn redeploy(&mut self, account: &str) {
        assert!(!self.agents.contains_key(account), "{account} still runs");
        let old = self.sim_dir(account);
        let fresh = self.path(&format!("data-{account}-redeployed"));
        copy_dir(&old, &fresh.join("simulated-account"));
        self.data_dirs.insert(account.to_string(), fresh);
    }

    /// The export files the account was generated from.
    pub fn seed(&self, account: &str) -> PathBuf {
        self.path(&format!("org/account-{account}"))
    }

    pub fn data_dir(&self, account: &str) -> PathBuf {
        self.data_dirs[account].clone()
    }

    /// Where the agent keeps the simulated account's state between runs.
    pub fn sim_dir(&self, account: &str) -> PathBuf {
        self.data_dir(account).join("simulated-account")
    }

    /// The operator CLI with the fleet's connection settings.
    pub fn whittle(&self, args: &[&str]) -> Output {
        let mut command = Command::new(binary("whittle"));
        for var in ["WHITTLE_CONFIG", "WHITTLE_OUTPUT"] {
            command.env_remove(var);
        }
        command
            .env(
                "WHITTLE_COORDINATOR",
                format!("https://127.0.0.1:{}", self.port),
            )
            .env("WHITTLE_CA", self.path("ca/ca.pem"))
            .env("WHITTLE_CERT", self.path("ca/issued/operator-ada.pem"))
            .env("WHITTLE_KEY", self.path("ca/issued/operator-ada.key"))
            .args(args);
        run(command)
    }

    /// `whittle ARGS` must succeed; its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.whittle(args);
        expect_success(&format!("whittle {args:?}"), &out);
        String::from_utf8(out.stdout).unwrap()
    }

    /// `whittle ARGS --output json`, parsed.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        let text = self.ok(&all);
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("whittle {args:?} printed no JSON ({e}): {text}"))
    }

    /// Waits until every account is connected and the coordinator holds a plan for each
    /// of its roles.
    pub fn wait_until_reported(&self, roles: u32) {
        wait_for("every account reported its roles", WAIT, || {
            let accounts = self.json(&["accounts"]);
            let ready = self.accounts.iter().all(|a| {
                accounts.as_array().unwrap().iter().any(|x| {
                    x["account_id"] == a.as_str()
                        && x["connected"] == true
                        && x["roles"] == roles
                        && self
                            .json(&["roles", "--account", a])
                            .as_array()
                            .unwrap()
                            .len()
                            == roles as usize
                })
            });
            ready.then_some(())
        });
    }

    /// Creates a campaign; its JSON.
    pub fn create_campaign(&self, args: &[&str]) -> Value {
        let mut all = vec!["campaign", "create"];
        all.extend(args);
        self.json(&all)
    }

    /// Waits until campaign `id` is in `state`; its JSON.
    pub fn wait_campaign(&self, id: &str, state: &str) -> Value {
        wait_for(&format!("campaign {id} is {state}"), WAIT, || {
            let c = self.json(&["campaign", "show", id]);
            (c["state"] == state).then_some(c)
        })
    }

    /// The coordinator's history of `account`.
    pub fn history(&self, account: &str) -> Vec<Value> {
        self.json(&["history", "--account", account])
            .as_array()
            .unwrap()
            .clone()
    }

    /// The role as the simulated account holds it now, in the JSON shape of the
    /// history's before- and after-images.
    pub fn role_state(&self, account: &str, role: &str) -> Value {
        role_state_in(&self.sim_dir(account), role)
    }

    /// Every role of the account as generated.
    pub fn seed_state(&self, account: &str, role: &str) -> Value {
        role_state_in(&self.seed(account), role)
    }

    /// `whittle-agent ARGS` (the agent's own commands), to its end.
    pub fn agent_cli(&self, args: &[&str]) -> Output {
        let mut command = Command::new(binary("whittle-agent"));
        command.args(args);
        run(command)
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let children = self.coordinator.iter_mut().chain(self.agents.values_mut());
        for child in children {
            let _ = child.kill();
            let _ = child.wait();
        }
        // A failed test keeps its directory (logs, stores, journals) to look at.
        if std::thread::panicking()
            && let Some(dir) = self.dir.take()
        {
            eprintln!("the fleet's files are kept in {}", dir.keep().display());
        }
    }
}

/// The role's state in the simulated account stored in `dir`.
pub fn role_state_in(dir: &Path, role: &str) -> Value {
    let sim = SimAccount::load(dir).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (r, managed) = runtime
        .block_on(inventory::read_role(&sim as &dyn Iam, role))
        .unwrap();
    attached_only(&serde_json::to_value(whittle_policy::plan::role_state(&r, &managed)).unwrap())
}

/// A role state (JSON of `RoleState`) with the documents of the managed policies it no
/// longer has attached left out: an after-image keeps the documents of the policies a
/// change detached, while the live role has no reason to.
pub fn attached_only(state: &Value) -> Value {
    let attached = state["attached"].as_array().unwrap();
    let documents: serde_json::Map<String, Value> = state["managed_documents"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(arn, _)| attached.iter().any(|a| a == arn.as_str()))
        .map(|(arn, doc)| (arn.clone(), doc.clone()))
        .collect();
    let mut out = state.clone();
    out["managed_documents"] = Value::Object(documents);
    out
}

pub fn expect_success(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The roles of every wave of a campaign, as `(wave number, role JSON)`.
pub fn campaign_roles(campaign: &Value) -> Vec<(u64, Value)> {
    campaign["waves"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|w| {
            let n = w["number"].as_u64().unwrap();
            w["roles"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |r| (n, r.clone()))
        })
        .collect()
}

/// The changes of `kind` (`apply`, `rollback`, ...) to `role` in a history.
pub fn changes<'h>(history: &'h [Value], role: &str, kind: &str) -> Vec<&'h Value> {
    history
        .iter()
        .filter(|c| c["role_name"] == role && c["kind"]["type"] == kind)
        .collect()
}
