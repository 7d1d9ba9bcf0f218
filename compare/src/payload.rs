//! The payloads the host-call rows pass, shared with the criterion benchmarks of the decoders
//! (`benches/decode.rs`), so that both measure the same bytes.

use common::{AB, ab_config};

/// Payload sizes of the scaling rows, in bytes.
pub(crate) const PAYLOAD_SIZES: [usize; 4] = [16, 256, 4096, 65_536];

/// Mixed-width UTF-8 text (`"aé€😀 "` repeated: characters of 1 to 4 bytes) of exactly `size`
/// bytes.
pub(crate) fn text_of_size(size: usize) -> String {
    let mut text = String::with_capacity(size);
    for c in "aé€😀 ".chars().cycle() {
        if text.len() + c.len_utf8() > size {
            break;
        }
        text.push(c);
    }
    while text.len() < size {
        text.push('.');
    }
    text
}

/// A valid `AB` whose encoding is exactly `size` bytes (sizes from 4 up to the decode limit), its
/// string the same mixed-width text as `log_str`'s payload, so the two rows compare.
pub(crate) fn ab_of_size(size: usize) -> Vec<u8> {
    // `a = 0` takes one byte; the string's varint length takes 1 byte below 251, else 3.
    let prefix = if size - 1 - 1 < 251 { 2 } else { 4 };
    let ab = AB { a: 0, b: text_of_size(size - prefix) };
    bincode::serde::encode_to_vec(&ab, ab_config()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    // Full paths, not `use super::*`: the decode benchmark includes this file, and there the
    // test is compiled out but an import would remain.
    #[test]
    fn payloads_have_the_sizes_they_claim() {
        for size in super::PAYLOAD_SIZES {
            let text = super::text_of_size(size);
            assert_eq!(text.len(), size);
            assert!(text.chars().any(|c| c.len_utf8() == 4), "mixed width");
            let ab = super::ab_of_size(size);
            assert_eq!(ab.len(), size);
            let decoded = common::decode_ab(&ab, 0, u32::try_from(size).expect("small")).expect("valid AB");
            assert!(decoded.b.chars().any(|c| c.len_utf8() == 4), "mixed width");
        }
    }
}
