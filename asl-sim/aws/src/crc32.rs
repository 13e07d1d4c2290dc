//! CRC-32 (IEEE), as AWS uses it: DynamoDB's `x-amz-crc32` header and S3's `ChecksumCRC32`.

/// The CRC-32 (IEEE) of `data`.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_values() {
        assert_eq!(super::crc32(b"123456789"), 0xCBF4_3926);
        // x-amz-crc32 of "{}" as DynamoDB returns it for an empty PutItem answer.
        assert_eq!(super::crc32(b"{}"), 2745614147);
    }
}
