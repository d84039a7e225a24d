//! G.711 µ-law and A-law (ITU-T G.711), the two codecs every SIP phone speaks.

/// A G.711 variant, as negotiated in SDP (static payload types of RFC 3551).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum G711 {
    /// PCMU, RTP payload type 0.
    Ulaw,
    /// PCMA, RTP payload type 8.
    Alaw,
}

impl G711 {
    /// The static RTP payload type (RFC 3551 §6).
    pub fn payload_type(self) -> u8 {
        match self {
            G711::Ulaw => 0,
            G711::Alaw => 8,
        }
    }

    /// The SDP encoding name (`PCMU` / `PCMA`).
    pub fn encoding_name(self) -> &'static str {
        match self {
            G711::Ulaw => "PCMU",
            G711::Alaw => "PCMA",
        }
    }
}
