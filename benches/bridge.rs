//! Bridged calls: how many caller↔technician pairs one process relays, and what each side
//! hears. `cargo bench --bench bridge -- [LEVEL ...] [--secs N]` (release build).
//!
//! The relay is Hotline's own media path (two `MediaSession`s per call joined by
//! `media::bridge`, half of the calls transcoding PCMU↔PCMA); SIP set-up is left out, it costs
//! nothing once the call is up. The phones are a second process (this binary re-run with
//! `HOTLINE_BRIDGE_PEERS`), so the relay's CPU is measured alone from /proc/self/stat. Each
//! phone sends one 20 ms packet every 20 ms whose audio is a constant level that counts frames
//! (1..=16, ×1000); the other phone decodes the level of every packet it receives, so it knows
//! which frame arrived, whether frames were lost, and — from the sender's clock, shared in the
//! peer process — the relay's added delay (two loopback hops included). Jitter is the deviation
//! of inter-arrival times from 20 ms at the receiving phones.

use hotline::media::bridge;
use hotline::media::g711::G711;
use hotline::media::port_pool::PortPool;
use hotline::media::rtp_session::{MediaSession, RtpOptions};
use hotline::media::sdp::NegotiatedMedia;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LEVELS: u8 = 16;
const STEP: i16 = 1000;

fn codec_of(call: usize, leg: usize) -> G711 {
    // Odd calls: the technician's phone speaks PCMA, so the relay transcodes both ways.
    if leg == 1 && call % 2 == 1 {
        G711::Alaw
    } else {
        G711::Ulaw
    }
}

fn main() {
    if let Ok(spec) = std::env::var("HOTLINE_BRIDGE_PEERS") {
        let (n, secs) = spec.split_once(',').expect("N,SECS");
        peers(n.parse().unwrap(), secs.parse().unwrap());
        return;
    }
    let mut levels = Vec::new();
    let mut secs = 20u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--secs" => secs = args.next().unwrap().parse().unwrap(),
            "--bench" => {}
            other => levels.push(other.parse::<usize>().expect("a number of calls")),
        }
    }
    if levels.is_empty() {
        levels = vec![250, 500, 1000, 1500];
    }
    println!(
        "| bridged calls | relay CPU % of a core per call | frames relayed per call-second (of 100) | frames lost | added delay p50 / p99 (ms) | jitter p99 / max (ms) | peer CPU % |"
    );
    println!("|---|---|---|---|---|---|---|");
    for n in levels {
        run_level(n, secs);
    }
}

fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: f64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn run_level(n: usize, secs: u64) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env("HOTLINE_BRIDGE_PEERS", format!("{n},{secs}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("peer process");
        let mut from_peers = BufReader::new(child.stdout.take().unwrap());
        let mut peer_addrs = Vec::with_capacity(2 * n);
        for _ in 0..2 * n {
            let mut line = String::new();
            from_peers.read_line(&mut line).unwrap();
            peer_addrs.push(line.trim().parse::<SocketAddr>().unwrap());
        }
        let pool = PortPool::new(30000..=39999, "127.0.0.1".parse().unwrap());
        let options = RtpOptions {
            inactivity_timeout: Duration::from_secs(600),
            ..RtpOptions::default()
        };
        let mut sessions = Vec::with_capacity(2 * n);
        let mut ours = Vec::with_capacity(2 * n);
        for (i, addr) in peer_addrs.iter().enumerate() {
            let (call, leg) = (i / 2, i % 2);
            let codec = codec_of(call, leg);
            let socket = pool.bind().await.expect("an RTP port");
            ours.push(socket.local_addr().unwrap());
            let media = NegotiatedMedia::plain(*addr, codec);
            let (session, events) = MediaSession::start(socket, media, options.clone());
            sessions.push((session, events));
        }
        for pair in sessions.chunks(2) {
            bridge::join(&pair[0].0, &pair[1].0);
        }
        let mut to_peers = child.stdin.take().unwrap();
        for addr in &ours {
            writeln!(to_peers, "{addr}").unwrap();
        }
        to_peers.flush().unwrap();
        // Steady part: from 2 s after the phones start to 2 s before they stop.
        let me = std::process::id().to_string();
        let peer = child.id().to_string();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (cpu0, peer0, t0) = (cpu_seconds(&me), cpu_seconds(&peer), Instant::now());
        tokio::time::sleep(Duration::from_secs(secs.saturating_sub(4).max(1))).await;
        let (cpu1, peer1, elapsed) = (cpu_seconds(&me), cpu_seconds(&peer), t0.elapsed());
        let mut result = String::new();
        from_peers.read_line(&mut result).unwrap();
        let _ = child.wait();
        let cpu_per_call = 100.0 * (cpu1 - cpu0) / elapsed.as_secs_f64() / n as f64;
        let peer_cpu = 100.0 * (peer1 - peer0) / elapsed.as_secs_f64();
        let r: Vec<f64> = result
            .split_whitespace()
            .map(|v| v.parse().unwrap_or(f64::NAN))
            .collect();
        // received_frames, lost, delay p50, p99, jitter p99, max
        println!(
            "| {n} | {cpu_per_call:.4} | {:.1} | {} | {:.1} / {:.1} | {:.2} / {:.1} | {peer_cpu:.0} |",
            r[0] / (n as f64 * secs as f64),
            r[1],
            r[2],
            r[3],
            r[4],
            r[5]
        );
        drop(sessions);
    });
}

/// Per phone: what it heard.
#[derive(Default)]
struct Heard {
    frames: u64,
    lost: u64,
    delays_us: Vec<u32>,
    jitter_us: Vec<u32>,
}

/// The phones: 2n sockets, a caller and a technician per call.
fn peers(n: usize, secs: u64) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let mut sockets = Vec::with_capacity(2 * n);
        let stdout = std::io::stdout();
        for _ in 0..2 * n {
            let s = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            writeln!(stdout.lock(), "{}", s.local_addr().unwrap()).unwrap();
            sockets.push(Arc::new(s));
        }
        stdout.lock().flush().unwrap();
        let stdin = std::io::stdin();
        let mut relay = Vec::with_capacity(2 * n);
        for _ in 0..2 * n {
            let mut line = String::new();
            stdin.lock().read_line(&mut line).unwrap();
            relay.push(line.trim().parse::<SocketAddr>().unwrap());
        }
        let epoch = Instant::now();
        // When each leg sent frame `level` last (µs since epoch), read by the other leg.
        let sent: Arc<Vec<[AtomicU64; LEVELS as usize]>> = Arc::new(
            (0..2 * n)
                .map(|_| std::array::from_fn(|_| AtomicU64::new(0)))
                .collect(),
        );
        let heard = Arc::new(Mutex::new(Heard::default()));
        let stop = epoch + Duration::from_secs(secs);
        let mut tasks = Vec::new();
        for i in 0..2 * n {
            let (call, leg) = (i / 2, i % 2);
            let socket = sockets[i].clone();
            let to = relay[i];
            let codec = codec_of(call, leg);
            let sent = sent.clone();
            // Sender.
            tasks.push(tokio::spawn({
                let socket = socket.clone();
                let sent = sent.clone();
                async move {
                    let mut tick = tokio::time::interval(Duration::from_millis(20));
                    let ssrc: u32 = rand::random();
                    let mut frame = 0u64;
                    let mut payload = Vec::with_capacity(160);
                    while Instant::now() < stop {
                        tick.tick().await;
                        let level = (frame % LEVELS as u64) as u8 + 1;
                        payload.clear();
                        codec.encode(&[STEP * level as i16; 160], &mut payload);
                        let mut packet = Vec::with_capacity(172);
                        packet.extend_from_slice(&[0x80, codec.payload_type()]);
                        packet.extend_from_slice(&(frame as u16).to_be_bytes());
                        packet.extend_from_slice(&((frame * 160) as u32).to_be_bytes());
                        packet.extend_from_slice(&ssrc.to_be_bytes());
                        packet.extend_from_slice(&payload);
                        sent[i][level as usize - 1]
                            .store(epoch.elapsed().as_micros() as u64, Ordering::Relaxed);
                        let _ = socket.send_to(&packet, to).await;
                        frame += 1;
                    }
                }
            }));
            // Receiver: what the other leg said, through the relay.
            let other = if leg == 0 { i + 1 } else { i - 1 };
            let heard = heard.clone();
            tasks.push(tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let mut mine = Heard::default();
                let mut last_level: Option<u8> = None;
                let mut last_at: Option<Instant> = None;
                let mut pcm = Vec::with_capacity(160);
                loop {
                    let left = stop.saturating_duration_since(Instant::now());
                    let Ok(Ok((len, _))) =
                        tokio::time::timeout(left, socket.recv_from(&mut buf)).await
                    else {
                        break;
                    };
                    let now = Instant::now();
                    if len < 12 + 160 || buf[1] & 0x7f == 101 {
                        continue;
                    }
                    if let Some(prev) = last_at {
                        let gap = now.duration_since(prev).as_micros() as i64;
                        mine.jitter_us.push((gap - 20_000).unsigned_abs() as u32);
                    }
                    last_at = Some(now);
                    pcm.clear();
                    codec.decode(&buf[12..len], &mut pcm);
                    let mean = pcm.iter().map(|&s| s as i64).sum::<i64>() / pcm.len() as i64;
                    let level =
                        ((mean as f64 / STEP as f64).round() as i64).clamp(0, LEVELS as i64) as u8;
                    if level == 0 {
                        continue; // silence: nothing from the other phone in this frame
                    }
                    mine.frames += 1;
                    if let Some(prev) = last_level {
                        let gap = (level + LEVELS - prev - 1) % LEVELS;
                        mine.lost += gap as u64;
                    }
                    last_level = Some(level);
                    let at = sent[other][level as usize - 1].load(Ordering::Relaxed);
                    let now_us = epoch.elapsed().as_micros() as u64;
                    if at > 0 && now_us >= at {
                        mine.delays_us.push((now_us - at) as u32);
                    }
                }
                let mut all = heard.lock().unwrap();
                all.frames += mine.frames;
                all.lost += mine.lost;
                all.delays_us.extend(mine.delays_us);
                all.jitter_us.extend(mine.jitter_us);
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        let mut all = std::mem::take(&mut *heard.lock().unwrap());
        all.delays_us.sort_unstable();
        all.jitter_us.sort_unstable();
        let pct = |v: &[u32], p: f64| -> f64 {
            if v.is_empty() {
                return f64::NAN;
            }
            v[((v.len() - 1) as f64 * p) as usize] as f64 / 1000.0
        };
        println!(
            "{} {} {:.2} {:.2} {:.2} {:.2}",
            all.frames,
            all.lost,
            pct(&all.delays_us, 0.5),
            pct(&all.delays_us, 0.99),
            pct(&all.jitter_us, 0.99),
            pct(&all.jitter_us, 1.0)
        );
    });
}
