//! The browser leg: a web log page as one more phone of its technician.
//!
//! A WebRTC gateway, the way a B2BUA fronts WebRTC clients, so routing needs no change: each
//! open softphone page registers a binding `sip:<user>-web-<id>@<gateway>` in the store, as a
//! desk phone's REGISTER would, and routing rings, announces and bridges it like any phone.
//! The gateway is a small SIP user agent of its own (our endpoint and transactions on their own
//! port); an INVITE for a page's binding rings the page over its WebSocket, and once the page
//! answers with its WebRTC offer the gateway sets up ICE and DTLS-SRTP with the browser, and
//! only then answers the INVITE with an SDP for a plain RTP socket, relaying RTP between the
//! two without transcoding.
//!
//! Parts: [`protocol`] (the page's JSON messages), [`peer`] (the WebRTC side and the relay),
//! `gateway` (the SIP side and the registry of open pages), `session` (one page: its binding
//! and its calls, one at a time), `call` (one call from ringing to hang-up), `hold` (the
//! re-INVITE that puts it on hold and back). The web log reaches
//! it only through [`BrowserPhones`] and the protocol's messages: `web` never sees SIP.

mod call;
mod gateway;
mod hold;
pub mod peer;
pub mod protocol;
mod session;
mod transfer;

pub use gateway::{is_page_contact, BrowserPhones, GatewayError, Softphone};
