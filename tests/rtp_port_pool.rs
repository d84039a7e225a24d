//! The RTP port pool on real sockets: even ports, reuse after release, exhaustion, ports held
//! by other processes, release when a call task panics.

use hotline::media::port_pool::{PortPool, PortPoolError};
use std::net::{IpAddr, Ipv4Addr, UdpSocket};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// An even base port below Linux's ephemeral range with `len` free ports above it, so that
/// port-0 sockets of tests running in parallel do not land in our range.
fn free_range(len: u16) -> u16 {
    loop {
        let base = 20_000 + 2 * (rand::random::<u16>() % 5_000);
        if (base..base + len).all(|p| UdpSocket::bind((LOOPBACK, p)).is_ok()) {
            return base;
        }
    }
}

#[tokio::test]
async fn ports_are_even_and_reused_after_their_socket_is_dropped() {
    let base = free_range(6);
    let pool = PortPool::new(base..=base + 5, LOOPBACK);
    assert_eq!(pool.capacity(), 3);
    let a = pool.bind().await.unwrap();
    let b = pool.bind().await.unwrap();
    let c = pool.bind().await.unwrap();
    let mut ports = [a.port(), b.port(), c.port()];
    ports.sort();
    assert_eq!(ports, [base, base + 2, base + 4]);
    assert_eq!(a.local_addr().unwrap().port(), a.port());

    let freed = b.port();
    drop(b);
    assert_eq!(pool.available(), 1);
    assert_eq!(pool.bind().await.unwrap().port(), freed);
}

#[tokio::test]
async fn an_exhausted_range_is_a_typed_error_naming_the_range() {
    let base = free_range(4);
    // An odd start: the first even port is base + 2.
    let pool = PortPool::new(base + 1..=base + 3, LOOPBACK);
    let only = pool.bind().await.unwrap();
    assert_eq!(only.port(), base + 2);
    let err = pool.bind().await.unwrap_err();
    assert_eq!(
        err,
        PortPoolError::Exhausted {
            first: base + 1,
            last: base + 3,
            ports: 1
        }
    );
    assert!(
        err.to_string()
            .contains(&format!("{}-{}", base + 1, base + 3)),
        "{err}"
    );
}

#[tokio::test]
async fn a_port_held_by_another_socket_is_skipped_and_used_once_free() {
    let base = free_range(4);
    let other = UdpSocket::bind((LOOPBACK, base)).unwrap();
    let pool = PortPool::new(base..=base + 3, LOOPBACK);
    let first = pool.bind().await.unwrap();
    assert_eq!(first.port(), base + 2);
    assert_eq!(
        pool.bind().await.unwrap_err(),
        PortPoolError::Exhausted {
            first: base,
            last: base + 3,
            ports: 2
        }
    );
    drop(other);
    assert_eq!(
        pool.bind().await.unwrap().port(),
        base,
        "the other process let it go"
    );
}

#[tokio::test]
async fn a_panicking_call_task_returns_its_port() {
    let base = free_range(2);
    let pool = PortPool::new(base..=base + 1, LOOPBACK);
    let socket = pool.bind().await.unwrap();
    let call = tokio::spawn(async move {
        let _socket = socket;
        panic!("a bug in a call task");
    });
    assert!(call.await.unwrap_err().is_panic());
    assert_eq!(pool.available(), 1);
    assert_eq!(pool.bind().await.unwrap().port(), base);
}

#[tokio::test]
async fn an_address_that_is_not_ours_is_a_bind_error_not_exhaustion() {
    // TEST-NET-1 (RFC 5737): never assigned to this machine.
    let pool = PortPool::new(30_000..=30_009, "192.0.2.1".parse().unwrap());
    match pool.bind().await.unwrap_err() {
        PortPoolError::Bind { addr, kind } => {
            assert_eq!(addr.ip(), "192.0.2.1".parse::<IpAddr>().unwrap());
            assert_eq!(kind, std::io::ErrorKind::AddrNotAvailable);
        }
        other => panic!("expected a bind error, got {other}"),
    }
    assert_eq!(pool.available(), 5, "nothing taken out of the pool");
}
