//! RTP ports: one even port per call from the configured range, returned when the call ends.
//!
//! RTP takes the even port and RTCP the odd one above it (RFC 3550 §11). Hotline sends no
//! RTCP and ignores what arrives there (G.711 phones do not need it to play our audio; the
//! call ends on RTP inactivity, not on RTCP BYE), but it keeps the convention so a phone or
//! firewall that assumes it finds the odd port free for the call.

use std::collections::BTreeSet;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use tokio::net::UdpSocket;

/// Why no RTP socket could be had. The call layer answers 503 either way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortPoolError {
    /// Every even port of the range is held by our calls or by other processes.
    #[error("all {ports} even RTP ports of {first}-{last} are in use (raise media.rtp_ports?)")]
    Exhausted { first: u16, last: u16, ports: usize },
    /// Binding failed for a reason other than the port being taken (e.g. the bind address is
    /// not one of this machine's): trying other ports would fail the same way.
    #[error("cannot bind an RTP socket on {addr}: {kind}")]
    Bind {
        addr: SocketAddr,
        kind: io::ErrorKind,
    },
}

#[derive(Debug)]
struct PoolState {
    free: BTreeSet<u16>,
    /// Where the next search starts. Rotating through the range keeps a just-released port
    /// unused for a while, so late packets of the old call do not reach a new one.
    cursor: u16,
}

type SharedState = Arc<Mutex<PoolState>>;

fn lock(state: &SharedState) -> MutexGuard<'_, PoolState> {
    // Nothing panics while the lock is held (set operations only), and a port must be
    // returned even if some other holder did: never propagate poisoning.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Hands out even ports of a range and takes them back when their socket is dropped.
#[derive(Debug)]
pub struct PortPool {
    ip: IpAddr,
    first: u16,
    last: u16,
    ports: usize,
    state: SharedState,
}

/// A bound RTP socket; its port goes back to the pool when this is dropped, including while a
/// panicking call task unwinds.
///
/// The socket is non-blocking and, unless [`RtpSocket::socket`] is asked for, outside tokio's
/// reactor: the media loops read every call's socket on their 20 ms tick, and a socket in the
/// reactor would wake a worker thread (epoll) for every packet that arrives, 50 times a second
/// per call, with nothing to do (issue 16).
#[derive(Debug)]
pub struct RtpSocket {
    socket: std::net::UdpSocket,
    /// The same socket in tokio's reactor, for code that awaits it (the browser gateway's
    /// relay); made on first use.
    registered: OnceLock<UdpSocket>,
    port: u16,
    pool: SharedState,
}

impl RtpSocket {
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Sends without waiting; `WouldBlock` when the kernel's buffer is full.
    pub fn try_send_to(&self, packet: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.socket.send_to(packet, target)
    }

    /// Receives without waiting; `WouldBlock` when nothing is queued.
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.socket.recv_from(buf)
    }

    /// The socket for awaiting (registered with tokio's reactor on the first call; inside a
    /// runtime). Fails only if the socket cannot be duplicated or registered.
    pub fn socket(&self) -> io::Result<&UdpSocket> {
        if let Some(socket) = self.registered.get() {
            return Ok(socket);
        }
        let socket = UdpSocket::from_std(self.socket.try_clone()?)?;
        // Two first calls at once: one registration wins, the other is dropped.
        Ok(self.registered.get_or_init(|| socket))
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }
}

impl Drop for RtpSocket {
    fn drop(&mut self) {
        lock(&self.pool).free.insert(self.port);
    }
}

impl PortPool {
    /// A pool of the even ports of `range`, bound on `bind_ip`. A range without an even port
    /// is a pool that is always exhausted.
    pub fn new(range: RangeInclusive<u16>, bind_ip: IpAddr) -> PortPool {
        let (first, last) = (*range.start(), *range.end());
        let even_start = u32::from(first) + u32::from(first) % 2;
        let free: BTreeSet<u16> = (even_start..=u32::from(last))
            .step_by(2)
            .map(|p| p as u16)
            .collect();
        PortPool {
            ip: bind_ip,
            first,
            last,
            ports: free.len(),
            state: Arc::new(Mutex::new(PoolState {
                cursor: first,
                free,
            })),
        }
    }

    /// Binds the next free even port, skipping ports another process holds.
    pub async fn bind(&self) -> Result<RtpSocket, PortPoolError> {
        for _ in 0..self.ports {
            let Some(port) = self.take() else { break };
            let addr = SocketAddr::new(self.ip, port);
            match bind_udp(addr) {
                Ok(socket) => {
                    return Ok(RtpSocket {
                        socket,
                        registered: OnceLock::new(),
                        port,
                        pool: self.state.clone(),
                    })
                }
                Err(e) => {
                    // Back into the pool: the other process may let it go later.
                    lock(&self.state).free.insert(port);
                    if e.kind() != io::ErrorKind::AddrInUse {
                        return Err(PortPoolError::Bind {
                            addr,
                            kind: e.kind(),
                        });
                    }
                    tracing::debug!(port, "RTP port held by another process; skipping");
                }
            }
        }
        Err(PortPoolError::Exhausted {
            first: self.first,
            last: self.last,
            ports: self.ports,
        })
    }

    fn take(&self) -> Option<u16> {
        let mut state = lock(&self.state);
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

    /// Ports currently free (not held by one of our calls).
    pub fn available(&self) -> usize {
        lock(&self.state).free.len()
    }

    /// Even ports in the range.
    pub fn capacity(&self) -> usize {
        self.ports
    }
}

fn bind_udp(addr: SocketAddr) -> io::Result<std::net::UdpSocket> {
    // std's bind sets no SO_REUSEADDR, so a port another socket holds fails with AddrInUse
    // instead of being shared.
    let socket = std::net::UdpSocket::bind(addr)?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}
