//! What one media-loop tick pays the kernel per call, on loopback: a 172-byte `sendto` (one
//! G.711 packet; on loopback it also delivers into the receiving socket), and reading the
//! call's socket — `recvfrom` until `EAGAIN` (what the media loops do) against one `recvmmsg`
//! (MSG_DONTWAIT) that reads what is queued and stops at the first empty read inside the
//! kernel. Issue 16 listed `recvmmsg` as a lever; this is the measurement that decided it.
//!
//! `cargo bench --bench udp_reads` (prints ns per socket and operation, 1,000 sockets).

use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::time::Instant;

const SOCKETS: usize = 1000;
const ROUNDS: u32 = 300;
const BATCH: usize = 16;

fn recvfrom_until_eagain(socket: &UdpSocket, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while socket.recv_from(buf).is_ok() {
        n += 1;
    }
    n
}

fn recvmmsg(socket: &UdpSocket, buffers: &mut [[u8; 2048]; BATCH]) -> usize {
    // SAFETY: plain data; every header points at a live iovec and address for the call.
    let mut names: [libc::sockaddr_storage; BATCH] = unsafe { std::mem::zeroed() };
    let mut buffers = buffers.iter_mut();
    let mut iovecs: [libc::iovec; BATCH] = std::array::from_fn(|_| {
        let buffer = buffers.next().expect("BATCH buffers");
        libc::iovec {
            iov_base: buffer.as_mut_ptr().cast(),
            iov_len: buffer.len(),
        }
    });
    let mut headers: [libc::mmsghdr; BATCH] = std::array::from_fn(|i| {
        let mut header: libc::msghdr = unsafe { std::mem::zeroed() };
        header.msg_name = (&raw mut names[i]).cast();
        header.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        header.msg_iov = &raw mut iovecs[i];
        header.msg_iovlen = 1;
        libc::mmsghdr {
            msg_hdr: header,
            msg_len: 0,
        }
    });
    let n = unsafe {
        libc::recvmmsg(
            socket.as_raw_fd(),
            headers.as_mut_ptr(),
            BATCH as libc::c_uint,
            libc::MSG_DONTWAIT,
            std::ptr::null_mut(),
        )
    };
    n.max(0) as usize
}

fn main() {
    let sockets: Vec<UdpSocket> = (0..SOCKETS)
        .map(|_| {
            let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
            s.set_nonblocking(true).expect("nonblocking");
            s
        })
        .collect();
    let addrs: Vec<_> = sockets.iter().map(|s| s.local_addr().unwrap()).collect();
    let phone = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let packet = [0u8; 172];
    let mut buf = [0u8; 2048];
    let mut buffers = [[0u8; 2048]; BATCH];
    let per = |ns: u128| ns as f64 / (f64::from(ROUNDS) * SOCKETS as f64);
    println!("ns per socket, {SOCKETS} sockets x {ROUNDS} rounds:");
    for method in ["recvfrom", "recvmmsg", "recvfrom", "recvmmsg"] {
        let (mut send, mut read, mut empty) = (0u128, 0u128, 0u128);
        for _ in 0..ROUNDS {
            let t = Instant::now();
            for addr in &addrs {
                phone.send_to(&packet, addr).expect("send");
            }
            send += t.elapsed().as_nanos();
            // One packet queued per socket, as on a tick; then again on empty sockets.
            for total in [&mut read, &mut empty] {
                let t = Instant::now();
                for socket in &sockets {
                    match method {
                        "recvfrom" => recvfrom_until_eagain(socket, &mut buf),
                        _ => recvmmsg(socket, &mut buffers),
                    };
                }
                *total += t.elapsed().as_nanos();
            }
        }
        println!(
            "  {method:8}  one packet queued: {:6.0}   nothing queued: {:6.0}   (sendto: {:6.0})",
            per(read),
            per(empty),
            per(send)
        );
    }
}
