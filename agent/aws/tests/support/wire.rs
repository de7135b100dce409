//! A tiny HTTP/1.1 server on 127.0.0.1 that answers IAM Query-protocol POSTs
//! from a script of recorded answers (files under `tests/data/`), in order,
//! and records every request's form parameters.
//!
//! One request per connection (`Connection: close`); the server task ends with
//! the test's runtime.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

/// One scripted answer: the action it answers, its HTTP status and body file.
#[derive(Debug, Clone)]
pub struct Reply {
    pub action: &'static str,
    pub status: u16,
    pub file: &'static str,
}

pub fn ok(action: &'static str, file: &'static str) -> Reply {
    Reply {
        action,
        status: 200,
        file,
    }
}

pub fn error(action: &'static str, status: u16, file: &'static str) -> Reply {
    Reply {
        action,
        status,
        file,
    }
}

type Params = BTreeMap<String, String>;

pub struct RecordedIam {
    pub endpoint: String,
    requests: Arc<Mutex<Vec<Params>>>,
    script: Arc<Mutex<VecDeque<Reply>>>,
}

impl RecordedIam {
    pub async fn start(script: Vec<Reply>) -> RecordedIam {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let (seen, todo) = (Arc::clone(&requests), Arc::clone(&script));
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (seen, todo) = (Arc::clone(&seen), Arc::clone(&todo));
                tokio::spawn(async move { answer(socket, &seen, &todo).await });
            }
        });
        RecordedIam {
            endpoint,
            requests,
            script,
        }
    }

    /// The form parameters of every request so far.
    pub fn requests(&self) -> Vec<Params> {
        self.requests.lock().unwrap().clone()
    }

    /// How many scripted answers were not asked for.
    pub fn unused(&self) -> usize {
        self.script.lock().unwrap().len()
    }
}

async fn answer(mut socket: TcpStream, seen: &Mutex<Vec<Params>>, todo: &Mutex<VecDeque<Reply>>) {
    let Some(body) = read_request(&mut socket).await else {
        return;
    };
    let params = parse_form(&body);
    seen.lock().unwrap().push(params.clone());
    let next = todo.lock().unwrap().pop_front();
    let action = params.get("Action").cloned().unwrap_or_default();
    let (status, text) = match next {
        Some(reply) if reply.action == action => {
            let path = format!("{DATA}/{}", reply.file);
            (reply.status, std::fs::read_to_string(&path).unwrap())
        }
        Some(reply) => (
            500,
            format!("script expected {}, got {action}", reply.action),
        ),
        None => (500, format!("script exhausted, got {action}")),
    };
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        _ => "Internal Server Error",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\
         x-amzn-RequestId: 00000000-0000-0000-0000-000000000000\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = socket.write_all(response.as_bytes()).await;
    let _ = socket.shutdown().await;
}

/// Reads one request and answers its body.
async fn read_request(socket: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let length: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(String::from_utf8_lossy(&buf[head_end..head_end + length]).to_string())
}

/// `application/x-www-form-urlencoded` to a map.
fn parse_form(body: &str) -> Params {
    body.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}
