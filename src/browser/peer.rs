//! The browser's media leg: one WebRTC peer connection (ICE, DTLS-SRTP) answering the page's
//! offer, and the relay between it and the caller's plain RTP.
//!
//! The peer offers only the codec the SIP leg already chose (PCMU or PCMA, whichever the
//! caller's side offered first) plus telephone-events, so packets pass through unchanged apart
//! from their payload type number: no transcoding, no jitter buffer of our own (the browser
//! has one, and so does Hotline's media session on the other side).

use crate::media::g711::G711;
use crate::media::port_pool::RtpSocket;
use rtp::packet::Packet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use webrtc::api::interceptor_registry::register_default_interceptors;
use webrtc::api::media_engine::{
    MediaEngine, MIME_TYPE_PCMA, MIME_TYPE_PCMU, MIME_TYPE_TELEPHONE_EVENT,
};
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::APIBuilder;
use webrtc::ice_transport::ice_server::RTCIceServer;
use webrtc::interceptor::registry::Registry;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::rtp_transceiver::rtp_codec::{
    RTCRtpCodecCapability, RTCRtpCodecParameters, RTPCodecType,
};
use webrtc::track::track_local::track_local_static_rtp::TrackLocalStaticRTP;
use webrtc::track::track_local::{TrackLocal, TrackLocalWriter};
use webrtc::track::track_remote::TrackRemote;
use webrtc::util::marshal::{Marshal, Unmarshal};

/// How the gateway's ICE agent finds its candidates.
#[derive(Debug, Clone, Default)]
pub struct IceSettings {
    /// STUN/TURN servers (`stun:host:port`), for technicians outside the LAN; host candidates
    /// alone serve a LAN.
    pub servers: Vec<String>,
    /// Offer loopback candidates too: a browser on the server's own machine (and the tests)
    /// reaches us there. Chromium only uses them when started with
    /// `--allow-loopback-in-peer-connection`; elsewhere they are ignored, so they do no harm.
    pub include_loopback: bool,
}

/// Why the browser's media could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("WebRTC: {0}")]
    WebRtc(#[from] webrtc::Error),
    #[error("the browser's offer has no audio we can use ({0})")]
    NoAudio(String),
    #[error("ICE gathering did not finish")]
    Gathering,
}

/// The payload type numbers each side uses for the same audio, so a packet crossing the relay
/// gets the number the receiver expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadTypes {
    /// The caller leg's number for the codec (from the SIP offer).
    pub sip_audio: u8,
    /// The caller leg's telephone-event number, if it offered RFC 4733.
    pub sip_events: Option<u8>,
}

/// A browser's peer connection, answered and connecting.
pub struct BrowserPeer {
    pc: Arc<RTCPeerConnection>,
    track: Arc<TrackLocalStaticRTP>,
    state: watch::Receiver<RTCPeerConnectionState>,
    /// The browser's microphone track, once its first packet arrived.
    tracks: Option<mpsc::Receiver<Arc<TrackRemote>>>,
    /// The SDP answer to send to the page.
    pub answer: String,
}

fn codec(mime: &str, payload_type: u8) -> RTCRtpCodecParameters {
    RTCRtpCodecParameters {
        capability: RTCRtpCodecCapability {
            mime_type: mime.to_owned(),
            clock_rate: 8000,
            channels: 0,
            sdp_fmtp_line: if mime == MIME_TYPE_TELEPHONE_EVENT {
                "0-16".to_owned()
            } else {
                String::new()
            },
            rtcp_feedback: vec![],
        },
        payload_type,
        ..Default::default()
    }
}

fn mime_of(g711: G711) -> &'static str {
    match g711 {
        G711::Ulaw => MIME_TYPE_PCMU,
        G711::Alaw => MIME_TYPE_PCMA,
    }
}

impl BrowserPeer {
    /// Answers the page's `offer` with `audio` only, after gathering every candidate (the
    /// page gets one complete answer; no trickle ICE).
    pub async fn answer(
        offer: &str,
        audio: G711,
        ice: &IceSettings,
    ) -> Result<BrowserPeer, PeerError> {
        let mut media = MediaEngine::default();
        media.register_codec(
            codec(mime_of(audio), audio.payload_type()),
            RTPCodecType::Audio,
        )?;
        media.register_codec(codec(MIME_TYPE_TELEPHONE_EVENT, 126), RTPCodecType::Audio)?;
        // RTCP receiver reports and NACKs: the browser adapts to loss it is told about.
        let interceptors = register_default_interceptors(Registry::new(), &mut media)?;
        let mut settings = SettingEngine::default();
        settings.set_include_loopback_candidate(ice.include_loopback);
        let api = APIBuilder::new()
            .with_media_engine(media)
            .with_interceptor_registry(interceptors)
            .with_setting_engine(settings)
            .build();
        let config = RTCConfiguration {
            ice_servers: if ice.servers.is_empty() {
                Vec::new()
            } else {
                vec![RTCIceServer {
                    urls: ice.servers.clone(),
                    ..Default::default()
                }]
            },
            ..Default::default()
        };
        let pc = Arc::new(api.new_peer_connection(config).await?);
        let (state_tx, state) = watch::channel(RTCPeerConnectionState::New);
        pc.on_peer_connection_state_change(Box::new(move |s| {
            let _ = state_tx.send(s);
            Box::pin(async {})
        }));
        // Registered before the offer is applied: the track can arrive as soon as DTLS is up.
        let (tracks_tx, tracks) = mpsc::channel(4);
        pc.on_track(Box::new(move |track, _, _| {
            let tracks_tx = tracks_tx.clone();
            Box::pin(async move {
                let _ = tracks_tx.send(track).await;
            })
        }));
        let track = Arc::new(TrackLocalStaticRTP::new(
            codec(mime_of(audio), audio.payload_type()).capability,
            "hotline-caller".to_owned(),
            "hotline".to_owned(),
        ));
        let sender = pc
            .add_track(Arc::clone(&track) as Arc<dyn TrackLocal + Send + Sync>)
            .await?;
        // The interceptors see the browser's RTCP only if someone reads it.
        tokio::spawn(async move { while sender.read_rtcp().await.is_ok() {} });

        let result = async {
            pc.set_remote_description(RTCSessionDescription::offer(offer.to_owned())?)
                .await?;
            let answer = pc.create_answer(None).await?;
            let mut gathered = pc.gathering_complete_promise().await;
            pc.set_local_description(answer).await?;
            let _ = gathered.recv().await;
            let local = pc.local_description().await.ok_or(PeerError::Gathering)?;
            if !local.sdp.contains("m=audio") || local.sdp.contains("m=audio 0 ") {
                return Err(PeerError::NoAudio(audio.encoding_name().to_owned()));
            }
            Ok(local.sdp)
        }
        .await;
        match result {
            Ok(answer) => Ok(BrowserPeer {
                pc,
                track,
                state,
                tracks: Some(tracks),
                answer,
            }),
            Err(e) => {
                let _ = pc.close().await;
                Err(e)
            }
        }
    }

    /// Waits until ICE and DTLS are up; false if they failed or `limit` passed first.
    pub async fn connected(&mut self, limit: Duration) -> bool {
        let up = self.state.wait_for(|s| {
            matches!(
                s,
                RTCPeerConnectionState::Connected
                    | RTCPeerConnectionState::Failed
                    | RTCPeerConnectionState::Closed
            )
        });
        matches!(
            tokio::time::timeout(limit, up).await,
            Ok(Ok(s)) if *s == RTCPeerConnectionState::Connected
        )
    }

    /// Resolves when the connection to the browser is lost (failed, or closed by the page).
    pub async fn lost(&mut self) {
        let _ = self
            .state
            .wait_for(|s| {
                matches!(
                    s,
                    RTCPeerConnectionState::Failed
                        | RTCPeerConnectionState::Closed
                        | RTCPeerConnectionState::Disconnected
                )
            })
            .await;
    }

    /// Relays RTP both ways between the browser and `socket` (the caller leg's RTP, whose
    /// far end is `remote`) until the returned guard is dropped.
    pub fn relay(
        &mut self,
        socket: Arc<RtpSocket>,
        remote: SocketAddr,
        pts: PayloadTypes,
    ) -> Relay {
        let mut tasks = tokio::task::JoinSet::new();
        // Caller → browser: the track renumbers payload type and SSRC for the browser; only
        // audio goes (the browser would not play telephone-events anyway).
        let track = Arc::clone(&self.track);
        let from_sip = Arc::clone(&socket);
        tasks.spawn(async move {
            let mut buf = vec![0u8; 1500];
            let Ok(from_sip) = from_sip.socket() else {
                return;
            };
            loop {
                let Ok((n, _)) = from_sip.recv_from(&mut buf).await else {
                    break;
                };
                let mut raw = &buf[..n];
                let Ok(packet) = Packet::unmarshal(&mut raw) else {
                    continue;
                };
                if packet.header.payload_type != pts.sip_audio {
                    continue;
                }
                if track.write_rtp(&packet).await.is_err() {
                    break;
                }
            }
        });
        // Browser → caller: the browser's audio and its RFC 4733 keypad, numbered as the
        // caller leg negotiated.
        let mut tracks = self.tracks.take();
        tasks.spawn(async move {
            let Some(track) = (match tracks.as_mut() {
                Some(t) => t.recv().await,
                None => None,
            }) else {
                return;
            };
            loop {
                let Ok((mut packet, _)) = track.read_rtp().await else {
                    break;
                };
                let mime = track.codec().capability.mime_type.to_ascii_lowercase();
                packet.header.payload_type =
                    if mime == MIME_TYPE_TELEPHONE_EVENT.to_ascii_lowercase() {
                        match pts.sip_events {
                            Some(pt) => pt,
                            None => continue,
                        }
                    } else {
                        pts.sip_audio
                    };
                let Ok(bytes) = packet.marshal() else {
                    continue;
                };
                if let Ok(socket) = socket.socket() {
                    let _ = socket.send_to(&bytes, remote).await;
                }
            }
        });
        Relay { _tasks: tasks }
    }

    /// Ends the peer connection (the page sees it closed).
    pub async fn close(&self) {
        let _ = self.pc.close().await;
    }
}

/// The relay's two directions; dropping it stops both.
pub struct Relay {
    _tasks: tokio::task::JoinSet<()>,
}
