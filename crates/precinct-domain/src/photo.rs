//! Photos of a scene: what a field report or a unit on its task attaches
//! to an incident. Only real images are taken, told by their first bytes
//! rather than by what the upload claims.

/// The largest photo taken (the field view scales photos down to about
/// 1600 px before sending; a camera's original still fits).
pub const MAX_PHOTO_BYTES: usize = 8 * 1024 * 1024;

/// The most photos one incident holds.
pub const MAX_PHOTOS_PER_INCIDENT: i64 = 20;

/// The image type of `bytes` (JPEG, PNG or WebP), by their signature.
pub fn photo_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_told_by_their_signature() {
        assert_eq!(
            photo_type(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]),
            Some("image/jpeg")
        );
        assert_eq!(
            photo_type(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some("image/png")
        );
        assert_eq!(photo_type(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(photo_type(b"<svg xmlns="), None, "no scripts in pictures");
        assert_eq!(photo_type(b"GIF89a"), None);
        assert_eq!(photo_type(b""), None);
    }
}
