//! The UDP receive loop.

use super::{Flow, Transports};

/// Largest datagram we read; SIP over UDP stays well below (§18.1.1 suggests 1300 bytes before
/// switching to TCP), but some phones send bigger INVITEs.
const MAX_DATAGRAM: usize = 65_535;

pub(super) async fn receive_loop(transports: Transports) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let (len, source) = match transports.udp.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                // ICMP port-unreachable from a vanished peer surfaces here on Linux; keep going.
                tracing::debug!(error = %e, "UDP receive error");
                continue;
            }
        };
        let datagram = &buf[..len];
        if datagram.iter().all(|b| matches!(b, b'\r' | b'\n' | 0)) {
            continue; // keep-alive
        }
        transports.deliver(datagram, source, Flow::Udp).await;
        if transports.inbound.is_closed() {
            return;
        }
    }
}
