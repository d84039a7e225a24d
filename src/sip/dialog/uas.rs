//! The UAS side: the dialog an INVITE creates when we answer it (§12.1.1).

use super::{route_values, Dialog, DialogError};
use crate::sip::transport::Flow;
use rsip::prelude::*;
use rsip::Request;
use std::net::SocketAddr;

impl Dialog {
    /// The dialog an INVITE creates once we answer it with `local_tag` (§12.1.1): the route set
    /// is its Record-Route in order, the remote target its Contact.
    pub fn from_invite(
        invite: &Request,
        local_tag: String,
        flow: Flow,
        peer: SocketAddr,
    ) -> Result<Dialog, DialogError> {
        let from = invite.from_header().map_err(|_| DialogError::FromTag)?;
        let remote_tag = from
            .tag()
            .ok()
            .flatten()
            .ok_or(DialogError::FromTag)?
            .to_string();
        let contact = invite
            .contact_header()
            .map_err(|_| DialogError::Contact)?
            .typed()
            .map_err(|_| DialogError::Contact)?;
        let to = invite.to_header().map_err(|_| DialogError::Contact)?;
        Ok(Dialog {
            call_id: invite
                .call_id_header()
                .map(|c| c.value().to_string())
                .unwrap_or_default(),
            local_party: format!("{};tag={}", to.value(), local_tag),
            local_tag,
            remote_tag,
            remote_party: from.value().to_string(),
            remote_target: contact.uri.to_string(),
            route_set: route_values(&invite.headers),
            local_cseq: 0,
            remote_cseq: invite.cseq_header().and_then(|c| c.seq()).unwrap_or(0),
            flow,
            peer,
        })
    }
}
