//! What the secure port does with abusive clients, spoken raw over TLS: header size and count
//! limits (431), a declared body above 3 MiB (413 `Status`), silent connections after the
//! handshake (HTTP/1.1 and HTTP/2), and headers trickled a byte at a time (slowloris) — each
//! disconnected while other clients are served.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::client::TlsStream;

use support::*;

const RULES: &str = "rules: []\n";

fn adapter() -> Adapter {
    Adapter::start(RULES, &["--prometheus-url=http://127.0.0.1:1".to_string()])
}

async fn connect(port: u16, alpn: &[u8]) -> TlsStream<tokio::net::TcpStream> {
    let (config, _) = insecure_client_config(&[alpn]);
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            stream,
        )
        .await
        .unwrap()
}

/// Sends `head` (and nothing else) over HTTP/1.1; the answer's status code and body, or
/// `None` when the server closed the connection without one.
async fn send(port: u16, head: String) -> Option<(u16, String)> {
    let mut tls = connect(port, b"http/1.1").await;
    let (mut reader, mut writer) = tokio::io::split(&mut tls);
    // Written concurrently: a server refusing a huge head answers before reading all of it.
    let write = async move {
        let _ = writer.write_all(head.as_bytes()).await;
        let _ = writer.flush().await;
    };
    let read = async move {
        let mut answer = Vec::new();
        let _ = reader.read_to_end(&mut answer).await;
        answer
    };
    let (_, answer) = tokio::join!(write, read);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let code = answer.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    Some((code, body))
}

fn request(headers: &[String], extra: &str) -> String {
    let mut head =
        String::from("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str(extra);
    head.push_str("\r\n");
    head
}

fn groups(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("X-Remote-Group: group-{i}"))
        .collect()
}

#[test]
fn header_and_body_limits() {
    let adapter = adapter();
    let rt = tokio::runtime::Runtime::new().unwrap();
    // (request, the status code answered)
    let cases: Vec<(&str, String, u16)> = vec![
        ("a plain request", request(&[], ""), 200),
        // The aggregator sends one X-Remote-Group per group: hundreds must pass.
        ("500 headers", request(&groups(500), ""), 200),
        ("1100 headers", request(&groups(1100), ""), 431),
        (
            "a 900 KiB header",
            request(&[format!("X-Big: {}", "a".repeat(900 << 10))], ""),
            200,
        ),
        (
            "a 1.1 MiB header",
            request(&[format!("X-Big: {}", "a".repeat(1100 << 10))], ""),
            431,
        ),
        (
            "a 1 KiB body",
            format!(
                "{}{}",
                request(&["Content-Length: 1024".into()], ""),
                "b".repeat(1024)
            ),
            200,
        ),
        (
            "a declared 4 MiB body",
            request(&["Content-Length: 4194304".into()], ""),
            413,
        ),
    ];
    for (what, head, expected) in cases {
        let answer = rt.block_on(send(adapter.port, head));
        let (code, body) = answer.unwrap_or_else(|| panic!("{what}: no answer"));
        assert_eq!(code, expected, "{what}: {body}");
        if code == 413 {
            let status: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(status["reason"], "RequestEntityTooLarge", "{status}");
            assert_eq!(status["code"], 413);
        }
    }
    // Refusals are counted like any request.
    let metrics = adapter.self_metrics();
    assert!(
        sample_value(
            &metrics,
            "prometheus_adapter_requests_total{group=\"\",version=\"\",method=\"GET\",code=\"413\"}"
        )
        .is_some(),
        "{metrics}"
    );
}

/// Reads until the server closes; how long that took.
async fn until_closed(tls: &mut TlsStream<tokio::net::TcpStream>) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tls.read(&mut buf).await {
            Ok(0) | Err(_) => return started.elapsed(),
            Ok(_) => {}
        }
    }
}

#[test]
fn silent_and_trickling_clients_are_disconnected() {
    let adapter = adapter();
    let port = adapter.port;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let silent = |alpn: &'static [u8]| async move {
        let mut tls = connect(port, alpn).await;
        until_closed(&mut tls).await
    };
    // Sends a request line, then one header byte a second, until the server hangs up.
    let slowloris = async move {
        let mut tls = connect(port, b"http/1.1").await;
        tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
            .await
            .unwrap();
        let started = Instant::now();
        let mut sent = 0;
        while tls.write_all(b"a").await.is_ok() && tls.flush().await.is_ok() {
            sent += 1;
            let mut buf = [0u8; 64];
            match tokio::time::timeout(Duration::from_secs(1), tls.read(&mut buf)).await {
                Ok(Ok(0) | Err(_)) => break,
                Ok(Ok(_)) => panic!("answered a request whose headers never ended"),
                Err(_) => {}
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "never disconnected"
            );
        }
        (started.elapsed(), sent)
    };
    let others = async move {
        // Meanwhile, well-behaved clients are served.
        tokio::time::sleep(Duration::from_secs(5)).await;
        send(port, request(&[], "")).await
    };
    let (h1, h2, (trickled, bytes), other) =
        rt.block_on(async { tokio::join!(silent(b"http/1.1"), silent(b"h2"), slowloris, others) });
    eprintln!(
        "silent HTTP/1.1 closed after {h1:?}, silent HTTP/2 after {h2:?}, slowloris after {trickled:?} ({bytes} header bytes)"
    );
    // (client, disconnected after at least, and at most)
    let cases = [
        ("silent HTTP/1.1", h1, 9, 20),
        ("silent HTTP/2", h2, 9, 20),
        // Bytes keep arriving, so only the 32s header timeout ends it.
        ("slowloris", trickled, 30, 50),
    ];
    for (client, took, at_least, at_most) in cases {
        assert!(
            took >= Duration::from_secs(at_least) && took <= Duration::from_secs(at_most),
            "{client}: disconnected after {took:?}"
        );
    }
    assert_eq!(other.map(|(code, _)| code), Some(200));
}
