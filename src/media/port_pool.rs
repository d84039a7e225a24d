//! RTP ports: one even port per call from the configured range, returned when the call ends.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex};
use tokio::net::UdpSocket;

/// No port could be bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortPoolError {
    #[error("all {0} RTP ports of the range are in use")]
    Exhausted(usize),
}

/// Hands out even ports (RTP convention, RFC 3550 §11; the odd one above is RTCP's, which we
/// neither send nor read) and takes them back when their socket is dropped.
#[derive(Debug)]
pub struct PortPool {
    ip: IpAddr,
    inner: Arc<Mutex<PoolState>>,
}

#[derive(Debug)]
struct PoolState {
    free: BTreeSet<u16>,
    /// Where the next search starts: rotating through the range keeps a port that was just
    /// released out of use for a while, so late packets of the old call don't reach a new one.
    cursor: u16,
    total: usize,
}

/// A bound RTP socket whose port goes back to the pool when dropped.
#[derive(Debug)]
pub struct RtpSocket {
    socket: UdpSocket,
    port: u16,
    pool: Arc<Mutex<PoolState>>,
}

impl RtpSocket {
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn socket(&self) -> &UdpSocket {
        &self.socket
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.socket.local_addr()
    }
}

impl Drop for RtpSocket {
    fn drop(&mut self) {
        if let Ok(mut state) = self.pool.lock() {
            state.free.insert(self.port);
        }
    }
}

impl PortPool {
    pub fn new(range: RangeInclusive<u16>, ip: IpAddr) -> PortPool {
        let start = range.start() + range.start() % 2;
        let free: BTreeSet<u16> = (start..=*range.end()).step_by(2).collect();
        PortPool {
            ip,
            inner: Arc::new(Mutex::new(PoolState {
                total: free.len(),
                cursor: start,
                free,
            })),
        }
    }

    /// Binds the next free even port, skipping ports another process holds.
    pub async fn bind(&self) -> Result<RtpSocket, PortPoolError> {
        let total = self.inner.lock().expect("poisoned").total;
        for _ in 0..total {
            let Some(port) = self.take() else { break };
            match std::net::UdpSocket::bind(SocketAddr::new(self.ip, port)) {
                Ok(std_socket) => {
                    std_socket.set_nonblocking(true).ok();
                    if let Ok(socket) = UdpSocket::from_std(std_socket) {
                        return Ok(RtpSocket {
                            socket,
                            port,
                            pool: self.inner.clone(),
                        });
                    }
                }
                Err(_) => {
                    // Taken by someone else: give it back to the pool for later, try the next.
                    self.inner.lock().expect("poisoned").free.insert(port);
                }
            }
        }
        Err(PortPoolError::Exhausted(total))
    }

    fn take(&self) -> Option<u16> {
        let mut state = self.inner.lock().expect("poisoned");
        let port = state
            .free
            .range(state.cursor..)
            .next()
            .or_else(|| state.free.iter().next())
            .copied()?;
        state.free.remove(&port);
        state.cursor = port.wrapping_add(2);
        Some(port)
    }

    /// Ports currently free, for tests and stats.
    pub fn available(&self) -> usize {
        self.inner.lock().expect("poisoned").free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(range: RangeInclusive<u16>) -> PortPool {
        PortPool::new(range, "127.0.0.1".parse().unwrap())
    }

    fn base() -> u16 {
        40000 + 2 * (rand::random::<u16>() % 5000)
    }

    #[tokio::test]
    async fn ports_are_even_and_come_back_when_dropped() {
        let b = base();
        let p = pool(b..=b + 3);
        let a = p.bind().await.unwrap();
        let c = p.bind().await.unwrap();
        assert_eq!(a.port() % 2, 0);
        assert_eq!(c.port() % 2, 0);
        assert_eq!(p.bind().await.unwrap_err(), PortPoolError::Exhausted(2));
        drop(a);
        assert_eq!(p.available(), 1);
        assert!(p.bind().await.is_ok());
    }

    #[tokio::test]
    async fn a_port_held_by_another_socket_is_skipped() {
        let b = base();
        let _other = std::net::UdpSocket::bind(("127.0.0.1", b)).unwrap();
        let p = pool(b..=b + 3);
        assert_eq!(p.bind().await.unwrap().port(), b + 2);
    }
}
