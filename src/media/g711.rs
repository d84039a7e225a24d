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

/// µ-law bias (ITU-T G.711; the classic Sun reference implementation).
const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 32635;

/// Linear 16-bit PCM to µ-law.
pub fn ulaw_encode(sample: i16) -> u8 {
    let mut pcm = sample as i32;
    let sign = if pcm < 0 {
        pcm = -pcm;
        0x80
    } else {
        0
    };
    pcm = pcm.min(ULAW_CLIP) + ULAW_BIAS;
    let exponent = (7 - ((pcm as u32) << 17).leading_zeros().min(7)) as i32;
    let mantissa = (pcm >> (exponent + 3)) & 0x0F;
    !(sign | (exponent << 4) as u8 | mantissa as u8)
}

/// µ-law to linear 16-bit PCM.
pub const fn ulaw_decode(code: u8) -> i16 {
    let code = !code;
    let sign = code & 0x80;
    let exponent = ((code >> 4) & 0x07) as i32;
    let mantissa = (code & 0x0F) as i32;
    let magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
    if sign != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

/// Linear 16-bit PCM to A-law.
pub fn alaw_encode(sample: i16) -> u8 {
    let mut pcm = sample as i32;
    let sign = if pcm >= 0 {
        0xD5u8
    } else {
        pcm = -pcm - 1;
        0x55u8
    };
    let pcm = pcm.min(32767);
    let code = if pcm < 256 {
        (pcm >> 4) as u8
    } else {
        // The segment is the position of the highest set bit above bit 7 (1..=7).
        let exponent = (31 - (pcm as u32).leading_zeros() as i32 - 7).min(7);
        ((exponent as u8) << 4) | ((pcm >> (exponent + 3)) & 0x0F) as u8
    };
    code ^ sign
}

/// A-law to linear 16-bit PCM.
pub const fn alaw_decode(code: u8) -> i16 {
    let code = code ^ 0x55;
    let exponent = ((code & 0x70) >> 4) as i32;
    let mantissa = (code & 0x0F) as i32;
    let magnitude = if exponent == 0 {
        (mantissa << 4) + 8
    } else {
        ((mantissa << 4) + 0x108) << (exponent - 1)
    };
    if code & 0x80 != 0 {
        magnitude as i16
    } else {
        -magnitude as i16
    }
}

/// Every code's linear value, computed at compile time.
macro_rules! decode_table {
    ($decode:ident) => {{
        let mut table = [0i16; 256];
        let mut code = 0;
        while code < 256 {
            table[code] = $decode(code as u8);
            code += 1;
        }
        table
    }};
}

static ULAW_TABLE: [i16; 256] = decode_table!(ulaw_decode);
static ALAW_TABLE: [i16; 256] = decode_table!(alaw_decode);

impl G711 {
    /// Encodes PCM, appending to `out`.
    pub fn encode(self, pcm: &[i16], out: &mut Vec<u8>) {
        let f = match self {
            G711::Ulaw => ulaw_encode,
            G711::Alaw => alaw_encode,
        };
        out.extend(pcm.iter().map(|&s| f(s)));
    }

    /// Encodes PCM into `out`, sample for byte (the shorter of the two sets the length).
    pub fn encode_into(self, pcm: &[i16], out: &mut [u8]) {
        let f = match self {
            G711::Ulaw => ulaw_encode,
            G711::Alaw => alaw_encode,
        };
        for (code, &s) in out.iter_mut().zip(pcm) {
            *code = f(s);
        }
    }

    /// Decodes a payload, appending PCM to `out`. A table lookup per byte: every packet every
    /// caller sends is decoded.
    pub fn decode(self, payload: &[u8], out: &mut Vec<i16>) {
        let table = match self {
            G711::Ulaw => &ULAW_TABLE,
            G711::Alaw => &ALAW_TABLE,
        };
        out.extend(payload.iter().map(|&c| table[usize::from(c)]));
    }

    /// The code of digital silence.
    pub fn silence(self) -> u8 {
        match self {
            G711::Ulaw => 0xFF,
            G711::Alaw => 0xD5,
        }
    }

    /// The codec for a static payload type.
    pub fn from_payload_type(pt: u8) -> Option<G711> {
        match pt {
            0 => Some(G711::Ulaw),
            8 => Some(G711::Alaw),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_matches_g711_table_points() {
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(ulaw_decode(0x00), -32124);
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(ulaw_decode(0xFF), 0);
        assert_eq!(ulaw_decode(0x7F), 0);
    }

    #[test]
    fn alaw_matches_g711_table_points() {
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(alaw_decode(0xD5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(alaw_decode(0xAA), 32256);
        assert_eq!(alaw_decode(0x2A), -32256);
    }

    #[test]
    fn every_code_survives_decode_then_encode() {
        for code in 0..=255u8 {
            let u = ulaw_encode(ulaw_decode(code));
            assert!(
                u == code || (code == 0x7F && u == 0xFF),
                "µ-law {code:#04x} -> {u:#04x}"
            );
            assert_eq!(alaw_encode(alaw_decode(code)), code, "A-law {code:#04x}");
        }
    }

    #[test]
    fn encoding_is_monotonic_and_error_stays_within_the_segment_step() {
        for codec in [G711::Ulaw, G711::Alaw] {
            let mut last = i32::MIN;
            for s in (-32768..=32767).step_by(7) {
                let mut enc = Vec::new();
                codec.encode(&[s as i16], &mut enc);
                let mut dec = Vec::new();
                codec.decode(&enc, &mut dec);
                let d = dec[0] as i32;
                assert!(d >= last, "{codec:?} not monotonic at {s}");
                last = d;
                // The largest step of G.711 is 1024 (µ-law) / 1024 (A-law) in the top segment.
                assert!((d - s).abs() <= 1024 + 8, "{codec:?} error at {s}: {d}");
            }
        }
    }
}
