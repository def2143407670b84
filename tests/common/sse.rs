//! A minimal server-sent-events reader over a streaming reqwest response, enough for the
//! hand-written legacy HTTP+SSE client: `event:` and `data:` fields, comments skipped.

use std::pin::Pin;

use bytes::Bytes;
use futures::{Stream, StreamExt};

use super::{STEP, within_for};

/// One event: its `event:` name (`message` when absent) and its `data:` lines joined by `\n`.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub event: String,
    pub data: String,
}

type ByteStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

pub struct SseReader {
    body: ByteStream,
    buffer: String,
}

impl SseReader {
    pub fn new(response: reqwest::Response) -> Self {
        Self {
            body: Box::pin(response.bytes_stream()),
            buffer: String::new(),
        }
    }

    /// The next event, or `None` when the stream ends. Fails the test after [`STEP`].
    pub async fn next_event(&mut self) -> Option<SseEvent> {
        within_for(STEP, "the next SSE event", self.read_event()).await
    }

    async fn read_event(&mut self) -> Option<SseEvent> {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse_block(&block) {
                    return Some(event);
                }
            }
            match self.body.next().await {
                Some(Ok(chunk)) => {
                    self.buffer
                        .push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
                }
                Some(Err(_)) | None => return None,
            }
        }
    }
}

fn parse_block(block: &str) -> Option<SseEvent> {
    let mut event = None;
    let mut data: Vec<&str> = Vec::new();
    for line in block.lines() {
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => event = Some(value.to_string()),
            "data" => data.push(value),
            _ => {}
        }
    }
    if event.is_none() && data.is_empty() {
        return None;
    }
    Some(SseEvent {
        event: event.unwrap_or_else(|| "message".into()),
        data: data.join("\n"),
    })
}
