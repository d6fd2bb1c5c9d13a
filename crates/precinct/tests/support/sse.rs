//! A minimal Server-Sent Events reader, shared by the API tests and the
//! intake benchmark (included by `#[path]`).

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;

/// One Server-Sent Event.
#[derive(Debug, Clone)]
pub struct Frame {
    pub id: Option<i64>,
    pub event: String,
    pub data: Value,
}

/// A minimal SSE reader over a streaming HTTP response.
pub struct SseClient {
    body: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buffer: String,
}

impl SseClient {
    pub async fn connect(
        client: &reqwest::Client,
        base: &str,
        token: &str,
        last_event_id: Option<i64>,
    ) -> SseClient {
        let mut request = client
            .get(format!("{base}/api/events/stream"))
            .bearer_auth(token);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id.to_string());
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        let mut client = SseClient {
            body: Box::pin(response.bytes_stream()),
            buffer: String::new(),
        };
        let ready = client.next().await;
        assert_eq!(ready.event, "ready", "the stream opens with a ready event");
        client
    }

    pub async fn next(&mut self) -> Frame {
        tokio::time::timeout(Duration::from_secs(10), self.next_frame())
            .await
            .expect("an event within 10 s")
    }

    /// Waits briefly for an event; None when none comes.
    pub async fn try_next(&mut self, wait: Duration) -> Option<Frame> {
        tokio::time::timeout(wait, self.next_frame()).await.ok()
    }

    /// True when the server ends the stream within `wait` (whatever frames
    /// come before the end are dropped).
    #[allow(dead_code)]
    pub async fn ended(&mut self, wait: Duration) -> bool {
        tokio::time::timeout(wait, async {
            while let Some(chunk) = self.body.next().await {
                if chunk.is_err() {
                    break;
                }
            }
        })
        .await
        .is_ok()
    }

    async fn next_frame(&mut self) -> Frame {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let raw: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (None, "message".to_owned(), String::new());
                for line in raw.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().parse().ok();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() && id.is_none() {
                    continue; // a keep-alive comment
                }
                return Frame {
                    id,
                    event,
                    data: serde_json::from_str(&data).unwrap_or(Value::String(data)),
                };
            }
            let chunk = self
                .body
                .next()
                .await
                .expect("the stream stays open")
                .unwrap();
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}
