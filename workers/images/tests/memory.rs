//! The memory the thumbnail job is budgeted ([`thumbs::memory_needed`], from the header) against the memory it
//! allocates at its peak (measured by dhat's heap profiler), for each kind of file it takes: the estimate must
//! never be below the peak (the budget would let a batch exhaust the function) nor far above it (the budget
//! would run photos one by one for nothing).

use std::io::Cursor;

use image::{DynamicImage, ImageBuffer, ImageFormat, Luma, Rgb, Rgba};
use images::thumbs;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const MB: f64 = 1024.0 * 1024.0;

fn encoded(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).expect("encode");
    out.into_inner()
}

/// Pixels that are not flat (so encoders and decoders do real work), cheap to make.
fn texture(x: u32, y: u32) -> u8 {
    (x.wrapping_mul(7) ^ y.wrapping_mul(13)) as u8
}

fn jpeg(width: u16, height: u16, progressive: bool, full_chroma: bool) -> Vec<u8> {
    let pixels: Vec<u8> = (0..u32::from(height))
        .flat_map(|y| (0..u32::from(width)).flat_map(move |x| [texture(x, y), texture(y, x), 90]))
        .collect();
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, 85);
    encoder.set_progressive(progressive);
    if full_chroma {
        encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_4_4);
    }
    encoder
        .encode(&pixels, width, height, jpeg_encoder::ColorType::Rgb)
        .expect("jpeg");
    out
}

fn phone_photo() -> Vec<u8> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let path =
        std::path::Path::new(&dir).join("../../fixtures/images/phone_photo_4000x3000_orient6.jpg");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The peak the job allocated above what was allocated when it started.
fn measured_peak(bytes: &[u8]) -> u64 {
    let _profiler = dhat::Profiler::builder().testing().build();
    let before = dhat::HeapStats::get().curr_bytes;
    let made = thumbs::thumbnails(bytes).expect("thumbnails");
    drop(made);
    (dhat::HeapStats::get().max_bytes - before) as u64
}

#[test]
fn the_estimate_covers_the_measured_peak_of_every_kind_of_file() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("12 MP phone JPEG (baseline, 4:2:0)", phone_photo()),
        (
            "6 MP progressive JPEG (4:2:0)",
            jpeg(3000, 2000, true, false),
        ),
        (
            "6 MP progressive JPEG (4:4:4)",
            jpeg(3000, 2000, true, true),
        ),
        ("6 MP baseline JPEG (4:2:0)", jpeg(3000, 2000, false, false)),
        (
            "9 MP 16-bit RGBA PNG",
            encoded(
                DynamicImage::ImageRgba16(ImageBuffer::from_fn(3000, 3000, |x, y| {
                    let v = u16::from(texture(x, y)) * 257;
                    Rgba([v, v / 2, 4000, 65535])
                })),
                ImageFormat::Png,
            ),
        ),
        (
            "6 MP 8-bit RGB PNG",
            encoded(
                DynamicImage::ImageRgb8(ImageBuffer::from_fn(3000, 2000, |x, y| {
                    Rgb([texture(x, y), 10, 200])
                })),
                ImageFormat::Png,
            ),
        ),
        (
            "6 MP 8-bit RGBA PNG",
            encoded(
                DynamicImage::ImageRgba8(ImageBuffer::from_fn(3000, 2000, |x, y| {
                    Rgba([texture(x, y), 10, 200, texture(y, x)])
                })),
                ImageFormat::Png,
            ),
        ),
        (
            "18 MP tall 8-bit grey PNG (1500×12000)",
            encoded(
                DynamicImage::ImageLuma8(ImageBuffer::from_fn(1500, 12000, |x, y| {
                    Luma([texture(x, y)])
                })),
                ImageFormat::Png,
            ),
        ),
        (
            "3 MP RGBA WebP (lossless)",
            encoded(
                DynamicImage::ImageRgba8(ImageBuffer::from_fn(2000, 1500, |x, y| {
                    Rgba([texture(x, y), 10, 200, 255])
                })),
                ImageFormat::WebP,
            ),
        ),
    ];
    let mut report = Vec::new();
    let mut wrong = Vec::new();
    for (name, bytes) in &cases {
        let estimate = thumbs::memory_needed(bytes).expect("estimate");
        let peak = measured_peak(bytes);
        let ratio = estimate as f64 / peak as f64;
        report.push(format!(
            "{name:40} peak {:7.1} MB  estimate {:7.1} MB  ×{ratio:.2}",
            peak as f64 / MB,
            estimate as f64 / MB
        ));
        // Never below. At most 2.6× (+ 8 MB of fixed costs): the header does not say how a JPEG's chroma is
        // subsampled, so a progressive one is assumed 4:4:4 (2.5× for the common 4:2:0), nor whether a WebP
        // is lossy, so its YUV planes are always counted.
        if estimate < peak || estimate as f64 > 2.6 * peak as f64 + 8.0 * MB {
            wrong.push(name);
        }
    }
    println!("{}", report.join("\n"));
    assert!(
        wrong.is_empty(),
        "estimate off for {wrong:?}:\n{}",
        report.join("\n")
    );
}
