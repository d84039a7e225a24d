//! The web log's `/events` stream read from a raw socket: how a test awaits ticket changes made
//! by a server running in another process (whose store broadcast it cannot subscribe to).

use hotline::store::{Store, Ticket};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

pub struct TicketEvents {
    stream: TcpStream,
    /// Bytes read and not yet taken as an event.
    pending: String,
}

impl TicketEvents {
    /// Opens `/events` with an API token and waits until the server has subscribed (its first
    /// `: listening` comment): every change committed after this returns is delivered.
    pub async fn open(http: SocketAddr, token: &str) -> TicketEvents {
        let mut stream = TcpStream::connect(http)
            .await
            .expect("connect to the web log");
        let head = format!(
            "GET /events HTTP/1.1\r\nHost: {http}\r\nAuthorization: Bearer {token}\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut events = TicketEvents {
            stream,
            pending: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !events.pending.contains(": listening") {
            assert!(
                events.read(deadline).await,
                "no event stream from {http}: {}",
                events.pending
            );
        }
        assert!(
            events.pending.starts_with("HTTP/1.1 200"),
            "{}",
            events.pending
        );
        events.pending.clear();
        events
    }

    /// Reads more of the stream; false at `deadline` or if the server closed it.
    async fn read(&mut self, deadline: Instant) -> bool {
        let mut buf = [0u8; 4096];
        match tokio::time::timeout_at(deadline, self.stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {
                self.pending.push_str(&String::from_utf8_lossy(&buf[..n]));
                true
            }
            _ => false,
        }
    }

    /// Waits for the next ticket change (any ticket); false at `deadline`.
    pub async fn next_change(&mut self, deadline: Instant) -> bool {
        loop {
            if let Some(at) = self.pending.find("event: ") {
                // Consumed whole, so the same event is not taken twice.
                self.pending.drain(..at + "event: ".len());
                return true;
            }
            if !self.read(deadline).await {
                return false;
            }
        }
    }

    /// The ticket of `call_id` once `ready` holds for it, read from `store` (the same database)
    /// after each change the server announces. Panics after `within`.
    pub async fn ticket_when(
        &mut self,
        store: &Store,
        call_id: &str,
        within: Duration,
        what: &str,
        ready: impl Fn(&Ticket) -> bool,
    ) -> Ticket {
        let deadline = Instant::now() + within;
        loop {
            let ticket = store.ticket_by_call_id(call_id).await.unwrap();
            if let Some(t) = ticket.as_ref().filter(|t| ready(t)) {
                return t.clone();
            }
            assert!(
                self.next_change(deadline).await,
                "no {what} for call {call_id} within {within:?}; last seen: {ticket:#?}"
            );
        }
    }
}
