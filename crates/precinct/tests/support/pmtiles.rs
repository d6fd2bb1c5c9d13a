//! A tiny PMTiles archive for the base-map tests (shared by the API and browser tests).

/// A one-tile raster PMTiles (version 3) archive, written by hand from the
/// specification: a header, a one-entry root directory, empty metadata and
/// one 1×1 PNG tile at zoom 0, nothing compressed.
pub fn write_raster_pmtiles(path: &std::path::Path) {
    const PNG: [u8; 70] = [
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f,
        0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x64,
        0x60, 0xf8, 0x5f, 0x0f, 0x00, 0x02, 0x87, 0x01, 0x80, 0xeb, 0x47, 0xba, 0x92, 0x00, 0x00,
        0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];
    // Root directory: 1 entry; tile id delta 0; run length 1; length; offset + 1.
    let directory = [1u8, 0, 1, PNG.len() as u8, 1];
    let metadata = b"{}";
    let root = 127u64;
    let meta = root + directory.len() as u64;
    let data = meta + metadata.len() as u64;
    let mut out = Vec::new();
    out.extend_from_slice(b"PMTiles");
    out.push(3);
    for value in [
        root,
        directory.len() as u64,
        meta,
        metadata.len() as u64,
        0,
        0,
        data,
        PNG.len() as u64,
        1,
        1,
        1,
    ] {
        out.extend_from_slice(&value.to_le_bytes());
    }
    // Clustered, no internal or tile compression, PNG tiles, zoom 0 to 0.
    out.extend_from_slice(&[1, 1, 1, 2, 0, 0]);
    for e7 in [1_129_000_000i32, 280_000_000, 1_131_000_000, 282_000_000] {
        out.extend_from_slice(&e7.to_le_bytes());
    }
    out.push(0);
    for e7 in [1_130_000_000i32, 281_000_000] {
        out.extend_from_slice(&e7.to_le_bytes());
    }
    assert_eq!(out.len(), 127, "the header is 127 bytes");
    out.extend_from_slice(&directory);
    out.extend_from_slice(metadata);
    out.extend_from_slice(&PNG);
    std::fs::write(path, out).unwrap();
}
