//! Hold and resume from the page: a re-INVITE on the gateway's leg to Hotline (RFC 3261 §14.1)
//! whose offer says `a=sendonly` (hold) or `a=sendrecv` (resume), as a desk phone's Hold
//! button does; routing then plays music on hold to the caller, or bridges them again.

use crate::sip::dialog::{Dialog, DialogError};
use crate::sip::endpoint::{EndpointHandle, InviteError, InviteResponse};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Hotline answers a re-INVITE at once; past this the page is told it failed (Timer B, 32 s,
/// would leave the button dead far too long).
const ANSWER_LIMIT: Duration = Duration::from_secs(10);

/// Why the call's hold state did not change.
#[derive(Debug, thiserror::Error)]
pub(super) enum HoldError {
    #[error("cannot build the re-INVITE: {0}")]
    Build(#[from] DialogError),
    #[error("cannot send the re-INVITE: {0}")]
    Send(#[from] InviteError),
    #[error("the re-INVITE was refused with {0}")]
    Refused(u16),
    #[error("the re-INVITE got no answer")]
    NoAnswer,
}

/// Our session description for the leg, re-offered (§14.1: the same media, a new version).
pub(super) struct LegMedia {
    /// The SDP we answered the caller leg's INVITE with.
    pub sdp: String,
    /// Its `o=` version; bumped for each re-offer (RFC 3264 §8).
    pub version: u64,
}

impl LegMedia {
    /// The next offer: our media sending (`held`) or sending and receiving.
    fn next_offer(&mut self, held: bool) -> String {
        self.version += 1;
        let direction = if held { "sendonly" } else { "sendrecv" };
        rewrite(&self.sdp, self.version, direction)
    }
}

/// `sdp` with its `o=` version set to `version` and every direction attribute set to
/// `direction` (or one added to the audio stream if it had none: sendrecv was implied).
fn rewrite(sdp: &str, version: u64, direction: &str) -> String {
    let mut out = String::with_capacity(sdp.len() + 16);
    let mut had_direction = false;
    for line in sdp.lines() {
        if let Some(origin) = line.strip_prefix("o=") {
            let mut fields: Vec<&str> = origin.split(' ').collect();
            let version = version.to_string();
            if fields.len() == 6 {
                fields[2] = &version;
            }
            out.push_str(&format!("o={}\r\n", fields.join(" ")));
        } else if matches!(
            line,
            "a=sendrecv" | "a=sendonly" | "a=recvonly" | "a=inactive"
        ) {
            had_direction = true;
            out.push_str(&format!("a={direction}\r\n"));
        } else if !line.is_empty() {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    if !had_direction {
        out.push_str(&format!("a={direction}\r\n"));
    }
    out
}

/// Sends the re-INVITE and ACKs its 2xx. Retransmissions of that 2xx (our ACK lost) are ACKed
/// by a task of their own until the transaction ends, so the call does not wait for them.
pub(super) async fn set_hold(
    endpoint: &EndpointHandle,
    dialog: &mut Dialog,
    media: &mut LegMedia,
    ip: IpAddr,
    held: bool,
) -> Result<(), HoldError> {
    let local = SocketAddr::new(ip, endpoint.local_addr_for(dialog.flow).port());
    let offer = media.next_offer(held);
    let request = dialog.reinvite(local, Some(&offer))?;
    let ack = dialog.ack(dialog.local_cseq(), local)?;
    let (flow, peer) = (dialog.flow, dialog.peer);
    let mut invite = endpoint.invite(request, flow, peer).await?;
    let answered = tokio::time::timeout(ANSWER_LIMIT, async {
        loop {
            match invite.next().await {
                Some(InviteResponse::Provisional(_)) => continue,
                Some(InviteResponse::Accepted { .. }) => return Ok(()),
                Some(InviteResponse::Rejected(r)) => {
                    return Err(HoldError::Refused(r.status_code.code()))
                }
                Some(InviteResponse::TimedOut) | None => return Err(HoldError::NoAnswer),
            }
        }
    })
    .await
    .unwrap_or(Err(HoldError::NoAnswer));
    if answered.is_ok() {
        endpoint.send_ack(ack.clone(), flow, peer).await;
        let endpoint = endpoint.clone();
        tokio::spawn(async move {
            while let Some(response) = invite.next().await {
                if let InviteResponse::Accepted { .. } = response {
                    endpoint.send_ack(ack.clone(), flow, peer).await;
                }
            }
        });
    }
    answered
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &str = "v=0\r\no=hotline 42 1 IN IP4 127.0.0.1\r\ns=-\r\n\
        c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
        a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";

    #[test]
    fn hold_offers_sendonly_and_resume_sendrecv_each_with_a_new_version() {
        let mut media = LegMedia {
            sdp: ANSWER.into(),
            version: 1,
        };
        let hold = media.next_offer(true);
        assert!(
            hold.contains("o=hotline 42 2 IN IP4 127.0.0.1\r\n"),
            "{hold}"
        );
        assert!(hold.contains("a=sendonly\r\n"), "{hold}");
        assert!(!hold.contains("sendrecv"), "{hold}");
        assert!(hold.contains("m=audio 4000 RTP/AVP 0 101\r\n"), "{hold}");
        let resume = media.next_offer(false);
        assert!(resume.contains("o=hotline 42 3 "), "{resume}");
        assert!(resume.contains("a=sendrecv\r\n"), "{resume}");
    }

    #[test]
    fn an_answer_without_a_direction_gets_one() {
        let sdp = ANSWER.replace("a=sendrecv\r\n", "");
        assert!(rewrite(&sdp, 2, "sendonly").ends_with("a=sendonly\r\n"));
    }
}
