//! Matching messages to transactions (RFC 3261 §17.1.3 and §17.2.3).

use rsip::prelude::*;
use rsip::{Method, Request, Response};

/// Why a message cannot be matched to a transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("missing or invalid Via header")]
    Via,
    #[error("missing or invalid CSeq header")]
    CSeq,
    #[error("a transaction with branch {0} is already running")]
    InUse(String),
}

/// Identifies a transaction: the top Via's branch and sent-by, and the method — with ACK mapped
/// to INVITE, since the ACK for a non-2xx response belongs to the INVITE's transaction (§17.2.3).
/// Server and client keys never mix because they live in different tables.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionKey {
    branch: String,
    sent_by: String,
    method: String,
}

impl TransactionKey {
    /// The server transaction a request belongs to.
    pub fn for_request(request: &Request) -> Result<Self, KeyError> {
        let method = match request.method {
            Method::Ack => Method::Invite,
            m => m,
        };
        Self::from_via(request, method)
    }

    /// The INVITE server transaction that a CANCEL targets (same branch and sent-by, §9.2).
    pub fn invite_cancelled_by(cancel: &Request) -> Result<Self, KeyError> {
        Self::from_via(cancel, Method::Invite)
    }

    /// The client transaction a response belongs to: top Via branch plus the CSeq method (§17.1.3).
    pub fn for_response(response: &Response) -> Result<Self, KeyError> {
        let cseq = response
            .cseq_header()
            .and_then(|c| c.typed())
            .map_err(|_| KeyError::CSeq)?;
        Self::from_via(response, cseq.method)
    }

    fn from_via(message: &impl HeadersExt, method: Method) -> Result<Self, KeyError> {
        let via = message
            .via_header()
            .and_then(|v| v.typed())
            .map_err(|_| KeyError::Via)?;
        let branch = via.branch().ok_or(KeyError::Via)?.to_string();
        Ok(TransactionKey {
            branch,
            sent_by: via.uri.host_with_port.to_string(),
            method: method.to_string(),
        })
    }

    /// The branch parameter, for logs.
    pub fn branch(&self) -> &str {
        &self.branch
    }
}
