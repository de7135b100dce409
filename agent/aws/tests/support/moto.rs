//! One moto server per test binary, on 127.0.0.1, and an isolated account per test.
//!
//! Moto is found through `WHITTLE_MOTO_SERVER` (the path of `moto_server`, as
//! printed by `scripts/ensure-moto`); without it the tests fail and say so.
//! The server runs under a small `bash` guard that kills it when this process's
//! end of its stdin closes, so it never outlives the test binary, however that
//! ends. Each test assumes a role in an account of its own (moto runs every call
//! made with the credentials of an assumed role in that role's account), so
//! tests share the server but no state.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_sts::config::{BehaviorVersion, Credentials, Region};
use whittle_aws::{RetryPolicy, SdkAws, SdkSettings, StaticCredentials};

pub struct Moto {
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
            "WHITTLE_MOTO_SERVER is not set: the SDK adapter tests need moto. Run \
             `WHITTLE_MOTO_SERVER=$(scripts/ensure-moto) cargo test -p whittle-aws` \
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
        endpoint: format!("http://127.0.0.1:{port}"),
        _guard: guard,
    }
}

/// A fresh 12-digit account id for each caller.
fn next_account() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{}", 400_000_000_000 + NEXT.fetch_add(1, Ordering::Relaxed))
}

/// An isolated account: its id, the adapter, and a raw SDK client for set-up
/// calls the adapter does not make (creating roles).
pub struct Account {
    pub id: String,
    pub aws: SdkAws,
    pub iam: aws_sdk_iam::Client,
}

pub async fn account(page_size: Option<i32>) -> Account {
    account_with(page_size, RetryPolicy::fast()).await
}

pub async fn account_with(page_size: Option<i32>, retry: RetryPolicy) -> Account {
    let moto = moto();
    let id = next_account();
    let testing = Credentials::new("testing", "testing", None, None, "whittle-test");
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&moto.endpoint)
            .credentials_provider(testing)
            .build(),
    );
    let assumed = sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::{id}:role/whittle-test"))
        .role_session_name("whittle-test")
        .send()
        .await
        .unwrap();
    let c = assumed.credentials().unwrap();
    let credentials = StaticCredentials {
        access_key_id: c.access_key_id().to_string(),
        secret_access_key: c.secret_access_key().to_string(),
        session_token: Some(c.session_token().to_string()),
    };
    let iam = aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&moto.endpoint)
            .credentials_provider(Credentials::new(
                credentials.access_key_id.clone(),
                credentials.secret_access_key.clone(),
                credentials.session_token.clone(),
                None,
                "whittle-test",
            ))
            .build(),
    );
    let aws = SdkAws::new(SdkSettings {
        endpoint_url: Some(moto.endpoint.clone()),
        region: Some("us-east-1".into()),
        credentials: Some(credentials),
        retry,
        page_size,
        ..SdkSettings::default()
    })
    .await;
    Account { id, aws, iam }
}

pub const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

impl Account {
    /// Creates a role with tags through the raw SDK.
    pub async fn create_role(&self, name: &str, path: &str, tags: &[(&str, &str)]) -> String {
        let tags = tags
            .iter()
            .map(|(k, v)| {
                aws_sdk_iam::types::Tag::builder()
                    .key(*k)
                    .value(*v)
                    .build()
                    .unwrap()
            })
            .collect();
        let out = self
            .iam
            .create_role()
            .role_name(name)
            .path(path)
            .assume_role_policy_document(TRUST)
            .set_tags(Some(tags))
            .send()
            .await
            .unwrap();
        out.role().unwrap().arn().to_string()
    }
}
