//! Socket.IO packet decoding and binary-attachment reassembly on arbitrary frames.
//!
//! The input picks the decode limits, then is a sequence of frames: text frames are decoded
//! (and, when valid, re-encoded and decoded again), binary packets start the assembler, binary
//! frames feed it. Checks: no panic; limits hold (text length, attachment count); a completed
//! binary packet has exactly the attachments it announced; valid packets round-trip.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use tether_core::protocol::socketio::packet::{
    decode_socket_packet_with_limits, encode_socket_packet, DecodeLimits,
};
use tether_core::protocol::socketio::{BinaryAssembler, BinaryPacket};

#[derive(Debug, Arbitrary)]
enum Input {
    Text(String),
    Binary(Vec<u8>),
    /// The connection dropped: the assembler forgets any half-assembled packet.
    Reset,
}

fn check_complete(done: &BinaryPacket, limits: &DecodeLimits) {
    assert_eq!(done.attachments.len(), done.packet.attachments, "{done:?}");
    assert!(done.packet.attachments <= limits.max_attachments);
    assert!(done.packet.kind.is_binary());
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let (Ok(max_attachments), Ok(max_len)) =
        (u.int_in_range(0..=80usize), u.int_in_range(0..=4096usize))
    else {
        return;
    };
    let limits = DecodeLimits { max_attachments, max_len };
    let mut assembler = BinaryAssembler::new();
    let Ok(inputs) = u.arbitrary_take_rest_iter::<Input>() else { return };
    for input in inputs {
        let Ok(input) = input else { break };
        match input {
            Input::Text(text) => {
                let Ok(packet) = decode_socket_packet_with_limits(&text, &limits) else { continue };
                assert!(text.len() <= limits.max_len);
                assert!(packet.attachments <= limits.max_attachments);
                assert!(packet.namespace.starts_with('/'), "{packet:?}");
                let encoded = encode_socket_packet(&packet);
                let unlimited = DecodeLimits { max_attachments: usize::MAX, max_len: usize::MAX };
                match decode_socket_packet_with_limits(&encoded, &unlimited) {
                    Ok(again) => assert_eq!(again, packet, "{text:?} -> {encoded:?}"),
                    Err(e) => panic!("{encoded:?} (from {text:?}) does not decode: {e}"),
                }
                if packet.kind.is_binary() {
                    let waiting = assembler.is_waiting();
                    match assembler.start(packet) {
                        Ok(Some(done)) => check_complete(&done, &limits),
                        Ok(None) => assert!(assembler.is_waiting()),
                        Err(_) => assert_eq!(assembler.is_waiting(), waiting),
                    }
                }
            }
            Input::Binary(bytes) => match assembler.push(bytes) {
                Ok(Some(done)) => {
                    check_complete(&done, &limits);
                    assert!(!assembler.is_waiting());
                }
                Ok(None) => assert!(assembler.is_waiting()),
                Err(_) => assert!(!assembler.is_waiting()),
            },
            Input::Reset => {
                assembler.reset();
                assert!(!assembler.is_waiting());
            }
        }
    }
});
