//! DTMF: RFC 4733 telephone-events and in-band tones (Goertzel), both sans-IO.
