//! Transfer from the page: a blind-transfer REFER (RFC 3515) on the gateway's leg to Hotline,
//! naming a technician or a team, as a desk phone's Transfer key sends. Hotline answers 202 and
//! then hangs up this leg; any other answer leaves the call as it was.

use crate::sip::dialog::{Dialog, DialogError};
use crate::sip::endpoint::{EndpointHandle, RequestTimeout};
use crate::sip::refer::refer_headers;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Hotline answers a REFER at once (it only checks the target); past this the page is told.
const ANSWER_LIMIT: Duration = Duration::from_secs(10);

/// Why the call was not transferred.
#[derive(Debug, thiserror::Error)]
pub(super) enum TransferError {
    #[error("the transfer target is empty")]
    NoTarget,
    #[error("cannot build the REFER: {0}")]
    Build(#[from] DialogError),
    #[error("the REFER got no answer: {0}")]
    NoAnswer(#[from] RequestTimeout),
    #[error("the REFER got no answer")]
    TooSlow,
    #[error("Hotline refused the transfer: {0}")]
    Refused(String),
}

/// Asks Hotline to transfer the call to `to`, on behalf of `by` (the page's technician).
pub(super) async fn refer(
    endpoint: &EndpointHandle,
    dialog: &mut Dialog,
    ip: IpAddr,
    to: &str,
    by: &str,
) -> Result<(), TransferError> {
    let to = to.trim();
    if to.is_empty() {
        return Err(TransferError::NoTarget);
    }
    let local = SocketAddr::new(ip, endpoint.local_addr_for(dialog.flow).port());
    let mut request = dialog.request(rsip::Method::Refer, local)?;
    for header in refer_headers(to, &dialog.peer.to_string(), by).iter() {
        request.headers.push(header.clone());
    }
    let sent = tokio::time::timeout(
        ANSWER_LIMIT,
        endpoint.request(request, dialog.flow, dialog.peer),
    )
    .await
    .map_err(|_| TransferError::TooSlow)??;
    match sent.status_code.code() {
        200..=299 => Ok(()),
        code => Err(TransferError::Refused(refusal(code))),
    }
}

/// What Hotline's refusal means for the technician (docs/phones.md, "Transfer").
fn refusal(code: u16) -> String {
    let meaning = match code {
        404 => "no technician or team of that name",
        480 => "nobody there is available now",
        403 => "the call cannot be transferred now",
        400 => "the target is not a valid name",
        _ => "",
    };
    if meaning.is_empty() {
        code.to_string()
    } else {
        format!("{code}, {meaning}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn refusals_say_what_they_mean() {
        assert_eq!(
            super::refusal(404),
            "404, no technician or team of that name"
        );
        assert_eq!(super::refusal(480), "480, nobody there is available now");
        assert_eq!(super::refusal(500), "500");
    }
}
