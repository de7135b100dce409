//! Moto for the agent's acceptance tests: one server per test binary on
//! 127.0.0.1, an isolated account per test, the SDK adapter pointed at it, and a
//! count of every IAM call the engine makes.
//!
//! The same approach as `whittle-aws`'s own moto tests (`agent/aws/tests/support`),
//! which this crate cannot import. Moto is found through `WHITTLE_MOTO_SERVER`
//! (the path of `moto_server`, as printed by `scripts/ensure-moto`); without it
//! the tests fail and say so. The server runs under a small `bash` guard that
//! kills it when this process's end of its stdin closes. Each test assumes a
//! role in an account of its own (moto runs every call made with an assumed
//! role's credentials in that role's account), so tests share the server but no
//! state. The agent does not depend on the AWS SDK, so the two set-up calls the
//! adapter does not make (`AssumeRole`, `CreateRole`) are sent as plain query
//! API requests; moto does not check signatures, only the access key id.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{TcpListener, TcpStream};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use whittle_agent::engine::Clock;
use whittle_aws::types::{PolicyInfo, PolicyVersionInfo, RoleInfo};
use whittle_aws::{AwsError, Iam, RetryPolicy, SdkAws, SdkSettings, StaticCredentials};

pub struct Moto {
    pub port: u16,
    pub endpoint: String,
    _guard: Child,
}

/// Kills moto when its stdin reaches end of file, i.e. when the test process is gone.
const GUARD: &str = r#"
"$0" -H 127.0.0.1 -p "$1" >/dev/null 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null' EXIT
read -r _ || true
"#;

pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(start)
}

fn start() -> Moto {
    let Ok(server) = std::env::var("WHITTLE_MOTO_SERVER") else {
        panic!(
            "WHITTLE_MOTO_SERVER is not set: the agent's moto tests need moto. Run \
             `WHITTLE_MOTO_SERVER=$(scripts/ensure-moto) cargo test -p whittle-agent --test moto_apply` \
             from the repository root"
        );
    };
    assert!(
        std::path::Path::new(&server).is_file(),
        "WHITTLE_MOTO_SERVER={server} is not a file: run scripts/ensure-moto"
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let guard = Command::new("bash")
        .args(["-c", GUARD, &server, &port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "moto_server ({server}) did not listen on 127.0.0.1:{port} within 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Moto {
        port,
        endpoint: format!("http://127.0.0.1:{port}"),
        _guard: guard,
    }
}

/// A fresh 12-digit account id for each caller.
fn next_account() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{}", 500_000_000_000 + NEXT.fetch_add(1, Ordering::Relaxed))
}

/// `application/x-www-form-urlencoded` value encoding (RFC 3986 unreserved kept).
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One query API request to moto as `access_key` (moto reads the account from
/// the access key id in the credential scope). Answers the XML body of a 200.
async fn query(access_key: &str, service: &str, params: &[(&str, &str)]) -> String {
    let moto = moto();
    let body = params
        .iter()
        .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let request = format!(
        "POST / HTTP/1.1\r\n\
         Host: 127.0.0.1:{port}\r\n\
         Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential={access_key}/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {len}\r\n\
         Connection: close\r\n\r\n{body}",
        port = moto.port,
        len = body.len(),
    );
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", moto.port))
            .await
            .unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        String::from_utf8(response).unwrap()
    };
    let response = tokio::time::timeout(Duration::from_secs(30), exchange)
        .await
        .expect("moto answers within 30 s");
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    let status = head.lines().next().unwrap_or_default();
    assert!(
        status.split_whitespace().nth(1) == Some("200"),
        "{service} {params:?}: moto answered {status}: {body}"
    );
    body.to_string()
}

/// The text of the first `<tag>` element of `xml`.
fn element<'x>(xml: &'x str, tag: &str) -> &'x str {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no <{tag}> in {xml}"))
        + open.len();
    let end = start + xml[start..].find(&close).unwrap();
    &xml[start..end]
}

pub const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// An isolated account: its id, the adapter behind a call counter, and the
/// access key for the set-up calls the adapter does not make.
pub struct Account {
    pub id: String,
    pub iam: std::sync::Arc<Counting>,
    access_key: String,
}

impl Account {
    pub async fn new() -> Account {
        let id = next_account();
        let assumed = query(
            "testing",
            "sts",
            &[
                ("Action", "AssumeRole"),
                ("Version", "2011-06-15"),
                ("RoleArn", &format!("arn:aws:iam::{id}:role/whittle-test")),
                ("RoleSessionName", "whittle-test"),
            ],
        )
        .await;
        let credentials = StaticCredentials {
            access_key_id: element(&assumed, "AccessKeyId").to_string(),
            secret_access_key: element(&assumed, "SecretAccessKey").to_string(),
            session_token: Some(element(&assumed, "SessionToken").to_string()),
        };
        let access_key = credentials.access_key_id.clone();
        let aws = SdkAws::new(SdkSettings {
            endpoint_url: Some(moto().endpoint.clone()),
            region: Some("us-east-1".into()),
            credentials: Some(credentials),
            retry: RetryPolicy::fast(),
            ..SdkSettings::default()
        })
        .await;
        let iam = std::sync::Arc::new(Counting::new(aws));
        iam.count("AssumeRole");
        Account {
            id,
            iam,
            access_key,
        }
    }

    /// Creates a role (`CreateRole`, sent directly) and answers its ARN.
    pub async fn create_role(&self, name: &str) -> String {
        let out = query(
            &self.access_key,
            "iam",
            &[
                ("Action", "CreateRole"),
                ("Version", "2010-05-08"),
                ("RoleName", name),
                ("Path", "/"),
                ("AssumeRolePolicyDocument", TRUST),
            ],
        )
        .await;
        self.iam.count("CreateRole");
        element(&out, "Arn").to_string()
    }
}

/// A fixed clock.
#[derive(Debug)]
pub struct Fixed(pub DateTime<Utc>);

impl Clock for Fixed {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

type Answer<'a, T> = Pin<Box<dyn Future<Output = Result<T, AwsError>> + Send + 'a>>;

/// The SDK adapter with every logical IAM call counted by operation.
pub struct Counting {
    inner: SdkAws,
    calls: Mutex<BTreeMap<&'static str, u64>>,
}

impl Counting {
    pub fn new(inner: SdkAws) -> Counting {
        Counting {
            inner,
            calls: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn count(&self, operation: &'static str) {
        *self.calls.lock().unwrap().entry(operation).or_default() += 1;
    }

    /// Calls so far, by operation.
    pub fn calls(&self) -> BTreeMap<&'static str, u64> {
        self.calls.lock().unwrap().clone()
    }

    pub fn total(&self) -> u64 {
        self.calls.lock().unwrap().values().sum()
    }

    /// Calls that write to IAM.
    pub fn writes(&self) -> u64 {
        const WRITES: [&str; 10] = [
            "PutRolePolicy",
            "DeleteRolePolicy",
            "AttachRolePolicy",
            "DetachRolePolicy",
            "CreatePolicyVersion",
            "DeletePolicyVersion",
            "SetDefaultPolicyVersion",
            "CreatePolicy",
            "DeletePolicy",
            "CreateRole",
        ];
        let calls = self.calls.lock().unwrap();
        WRITES.iter().filter_map(|op| calls.get(op)).sum()
    }
}

// `Iam` is an `async_trait`; written out by hand here because this crate does
// not depend on `async-trait`. Each method counts, then forwards.
impl Iam for Counting {
    fn list_roles<'life0, 'async_trait>(&'life0 self) -> Answer<'async_trait, Vec<RoleInfo>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        self.count("ListRoles");
        self.inner.list_roles()
    }

    fn get_role<'life0, 'life1, 'async_trait>(
        &'life0 self,
        role_name: &'life1 str,
    ) -> Answer<'async_trait, RoleInfo>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        self.count("GetRole");
        self.inner.get_role(role_name)
    }

    fn list_role_policies<'life0, 'life1, 'async_trait>(
        &'life0 self,
        role_name: &'life1 str,
    ) -> Answer<'async_trait, Vec<String>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        self.count("ListRolePolicies");
        self.inner.list_role_policies(role_name)
    }

    fn get_role_policy<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        role_name: &'life1 str,
        policy_name: &'life2 str,
    ) -> Answer<'async_trait, String>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        self.count("GetRolePolicy");
        self.inner.get_role_policy(role_name, policy_name)
    }

    fn put_role_policy<'life0, 'life1, 'life2, 'life3, 'async_trait>(
        &'life0 self,
        role_name: &'life1 str,
        policy_name: &'life2 str,
        document: &'life3 str,
    ) -> Answer<'async_trait, ()>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        'life3: 'async_trait,
        Self: 'async_trait,
    {
        self.count("PutRolePolicy");
        self.inner.put_role_policy(role_name, policy_name, document)
    }

    fn delete_role_policy<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        role_name: &'life1 str,
        policy_name: &'life2 str,
    ) -> Answer<'async_trait, ()>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        self.count("DeleteRolePolicy");
        self.inner.delete_role_policy(role_name, policy_name)
    }

    fn list_attached_role_policies<'life0, 'life1, 'async_trait>(
        &'life0 self,
        role_name: &'life1 str,
    ) -> Answer<'async_trait, Vec<String>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        self.count("ListAttachedRolePolicies");
        self.inner.list_attached_role_policies(role_name)
    }

    fn attach_role_policy<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        role_name: &'life1 str,
        policy_arn: &'life2 str,
    ) -> Answer<'async_trait, ()>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        self.count("AttachRolePolicy");
        self.inner.attach_role_policy(role_name, policy_arn)
    }

    fn detach_role_policy<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        role_name: &'life1 str,
        policy_arn: &'life2 str,
    ) -> Answer<'async_trait, ()>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        self.count("DetachRolePolicy");
        self.inner.detach_role_policy(role_name, policy_arn)
    }

    fn get_policy<'life0, 'life1, 'async_trait>(
        &'life0 self,
        policy_arn: &'life1 str,
    ) -> Answer<'async_trait, PolicyInfo>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        self.count("GetPolicy");
        self.inner.get_policy(policy_arn)
    }

    fn get_policy_version<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        policy_arn: &'life1 str,
        version_id: &'life2 str,
    ) -> Answer<'async_trait, String>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        self.count("GetPolicyVersion");
        self.inner.get_policy_version(policy_arn, version_id)
    }

    fn list_policy_versions<'life0, 'life1, 'async_trait>(
        &'life0 self,
        policy_arn: &'life1 str,
    ) -> Answer<'async_trait, Vec<PolicyVersionInfo>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        self.count("ListPolicyVersions");
        self.inner.list_policy_versions(policy_arn)
    }

    fn create_policy_version<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        policy_arn: &'life1 str,
        document: &'life2 str,
        set_as_default: bool,
    ) -> Answer<'async_trait, String>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        self.count("CreatePolicyVersion");
        self.inner
            .create_policy_version(policy_arn, document, set_as_default)
    }

    fn delete_policy_version<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        policy_arn: &'life1 str,
        version_id: &'life2 str,
    ) -> Answer<'async_trait, ()>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        self.count("DeletePolicyVersion");
        self.inner.delete_policy_version(policy_arn, version_id)
    }

    fn set_default_policy_version<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        policy_arn: &'life1 str,
        version_id: &'life2 str,
    ) -> Answer<'async_trait, ()>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        self.count("SetDefaultPolicyVersion");
        self.inner
            .set_default_policy_version(policy_arn, version_id)
    }

    fn create_policy<'life0, 'life1, 'life2, 'life3, 'life4, 'async_trait>(
        &'life0 self,
        policy_name: &'life1 str,
        path: &'life2 str,
        document: &'life3 str,
        description: Option<&'life4 str>,
    ) -> Answer<'async_trait, String>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        'life3: 'async_trait,
        'life4: 'async_trait,
        Self: 'async_trait,
    {
        self.count("CreatePolicy");
        self.inner
            .create_policy(policy_name, path, document, description)
    }

    fn delete_policy<'life0, 'life1, 'async_trait>(
        &'life0 self,
        policy_arn: &'life1 str,
    ) -> Answer<'async_trait, ()>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        self.count("DeletePolicy");
        self.inner.delete_policy(policy_arn)
    }
}
