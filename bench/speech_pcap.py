#!/usr/bin/env python3
"""Writes a pcap of a caller's speech as 20 ms PCMU RTP packets, for SIPp's `play_pcap_audio`.

    speech_pcap.py OUT.pcap SECONDS WAV... [--payload OUT.ulaw]

The WAVs (8 kHz mono 16-bit, e.g. tests/fixtures/speech/*.wav) are played one after the other,
looped until SECONDS of audio. With --payload, the same µ-law bytes are also written
headerless, for SIPp's `rtp_stream`. SIPp rewrites the addresses and ports of each packet and keeps
their timing, so the Ethernet/IP/UDP headers here only need to be well formed.
"""
import struct
import sys
import wave

FRAME = 160  # 20 ms at 8 kHz


def ulaw(sample):
    """ITU-T G.711 µ-law, the same table as src/media/g711.rs (Sun reference)."""
    sign = 0x80 if sample < 0 else 0
    magnitude = min(-sample if sample < 0 else sample, 32635) + 0x84
    exponent = 7
    while exponent > 0 and not magnitude & (0x4000 >> (7 - exponent)):
        exponent -= 1
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def samples(paths):
    for path in paths:
        with wave.open(path) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2), path
            raw = w.readframes(w.getnframes())
        yield from struct.unpack(f"<{len(raw) // 2}h", raw)


def main():
    args = sys.argv[1:]
    payload_path = None
    if "--payload" in args:
        i = args.index("--payload")
        payload_path = args[i + 1]
        del args[i:i + 2]
    out, seconds, wavs = args[0], float(args[1]), args[2:]
    audio = list(samples(wavs))
    need = int(seconds * 8000)
    audio = (audio * (need // len(audio) + 1))[:need]
    if payload_path:
        with open(payload_path, "wb") as f:
            f.write(bytes(ulaw(s) for s in audio[: need // FRAME * FRAME]))
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))  # Ethernet
        for n in range(need // FRAME):
            payload = bytes(ulaw(s) for s in audio[n * FRAME:(n + 1) * FRAME])
            rtp = struct.pack("!BBHII", 0x80, 0x80 if n == 0 else 0, n & 0xFFFF, n * FRAME, 0x5EEC) + payload
            udp = struct.pack("!HHHH", 6000, 6000, 8 + len(rtp), 0) + rtp
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                             bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])) + udp
            eth = b"\0" * 12 + b"\x08\x00" + ip
            t = n * 0.020
            f.write(struct.pack("<IIII", int(t), int(round((t % 1) * 1e6)), len(eth), len(eth)))
            f.write(eth)


if __name__ == "__main__":
    main()
