//! Engine.IO text-frame decoding on arbitrary input: never panics, and whatever decodes encodes
//! back to something that decodes to the same packet (and, except for the re-serialised `open`
//! JSON, to the very same text).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tether_core::protocol::socketio::engineio::{
    decode_engine_packet, encode_engine_packet, EnginePacket,
};

fuzz_target!(|data: &[u8]| {
    // Lossy, so invalid UTF-8 still reaches the decoder (as U+FFFD) instead of being skipped.
    let text = String::from_utf8_lossy(data);
    let Ok(packet) = decode_engine_packet(&text) else { return };
    let encoded = encode_engine_packet(&packet);
    match decode_engine_packet(&encoded) {
        Ok(again) => assert_eq!(again, packet, "round trip changed {text:?} (via {encoded:?})"),
        Err(e) => panic!("{encoded:?}, encoded from {text:?}, does not decode: {e}"),
    }
    if !matches!(packet, EnginePacket::Open(_)) {
        assert_eq!(encoded, text, "re-encoding changed the frame");
    }
});
