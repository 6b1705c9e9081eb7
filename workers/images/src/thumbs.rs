//! The thumbnail job, pure: an uploaded file's bytes in, three upright JPEG thumbnails out, or the reason the
//! file is refused.
//!
//! Fast and small by construction:
//! - the format is taken from the content (never the key or the declared type), the size from the header, and
//!   anything over [`MAX_PIXELS`] is refused before a single pixel is decoded, so a 20000×20000 bomb costs
//!   microseconds and no memory;
//! - a JPEG is decoded once, in the DCT domain, at the smallest of 1/8, 1/4, 1/2 or 1 that still covers the
//!   largest thumbnail (`jpeg-decoder`'s `scale`): a 12 MP photo is decoded as 3 MP;
//! - the resizes are SIMD convolutions (`fast_image_resize`, Lanczos3), each thumbnail made from the one before;
//! - the EXIF orientation is applied to the thumbnails, not to the decoded image;
//! - the encoder is a SIMD JPEG encoder (`jpeg-encoder`).
//!
//! PNG and WebP (rarer, usually smaller) are decoded in full by the `image` crate, within [`MAX_PIXELS`] and a
//! matching allocation limit.

use std::io::Cursor;

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, RgbImage};

/// Long sides of the thumbnails, largest first (a thumbnail is never larger than the photo).
pub const SIZES: [u32; 3] = [1024, 512, 128];
/// Largest photo accepted, in pixels (50 MP: a 12 MP phone photo is well inside, a bomb is not).
pub const MAX_PIXELS: u64 = 50_000_000;
/// JPEG quality of the thumbnails (with 4:4:4 chroma, so small thumbnails keep their colour edges).
pub const QUALITY: u8 = 90;
/// The shortest side a photo, and the largest thumbnail (the one moderated), may have: Rekognition refuses
/// images under 80 pixels high or wide (`InvalidParameterException`), and a list screen could not show them.
pub const MIN_SIDE: u32 = 80;

/// Why a file cannot be a photo. Permanent: the same bytes never become acceptable. Its `Display` is what the
/// seller is told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("the file is empty")]
    Empty,
    #[error("the file is not a JPEG, PNG or WebP image")]
    UnsupportedFormat,
    #[error("the image is {width}×{height} pixels, over the {} MP limit", MAX_PIXELS / 1_000_000)]
    TooManyPixels { width: u64, height: u64 },
    #[error(
        "the image is {width}×{height} pixels, too small or too narrow to show (each side at least {MIN_SIDE} \
         pixels, the longer at most {} times the shorter)",
        f64::from(SIZES[0]) / f64::from(MIN_SIDE)
    )]
    TooSmall { width: u64, height: u64 },
    #[error("the image is damaged or incomplete ({0})")]
    Corrupt(String),
}

impl Rejection {
    /// A stable, machine-readable code (stored on the photo and in ImageRejected).
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Empty => "empty",
            Rejection::UnsupportedFormat => "unsupported-format",
            Rejection::TooManyPixels { .. } => "too-many-pixels",
            Rejection::TooSmall { .. } => "too-small",
            Rejection::Corrupt(_) => "corrupt",
        }
    }
}

/// The format of an accepted photo, from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    WebP,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    /// The size it was made for (one of [`SIZES`]), which names it.
    pub size: u32,
    pub width: u32,
    pub height: u32,
    pub jpeg: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnails {
    pub format: Format,
    /// The photo's size, upright.
    pub width: u32,
    pub height: u32,
    /// One per [`SIZES`], in that order.
    pub thumbnails: Vec<Thumbnail>,
}

/// The format of `bytes` if it is one we take, judged by content.
pub fn sniff(bytes: &[u8]) -> Result<Format, Rejection> {
    if bytes.is_empty() {
        return Err(Rejection::Empty);
    }
    match image::guess_format(bytes) {
        Ok(ImageFormat::Jpeg) => Ok(Format::Jpeg),
        Ok(ImageFormat::Png) => Ok(Format::Png),
        Ok(ImageFormat::WebP) => Ok(Format::WebP),
        _ => Err(Rejection::UnsupportedFormat),
    }
}

fn check_pixels(width: u64, height: u64) -> Result<(), Rejection> {
    if width == 0 || height == 0 {
        return Err(Rejection::Corrupt("no pixels".into()));
    }
    if width * height > MAX_PIXELS {
        return Err(Rejection::TooManyPixels { width, height });
    }
    // Within MAX_PIXELS both sides fit in u32.
    let (w, h) = (width as u32, height as u32);
    let (tw, th) = fit(w, h, SIZES[0]);
    if w.min(h) < MIN_SIDE || tw.min(th) < MIN_SIDE {
        return Err(Rejection::TooSmall { width, height });
    }
    Ok(())
}

/// The whole job: sniff, check the header, decode (shrunk on load for JPEG), resize, orient, encode.
pub fn thumbnails(bytes: &[u8]) -> Result<Thumbnails, Rejection> {
    let format = sniff(bytes)?;
    let Decoded {
        image: source,
        orientation,
        width: full_w,
        height: full_h,
    } = match format {
        Format::Jpeg => decode_jpeg(bytes, SIZES[0])?,
        Format::Png | Format::WebP => decode_other(bytes, format)?,
    };
    let mut resizer = Resizer::new();
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    let mut previous = source;
    let mut out = Vec::with_capacity(SIZES.len());
    for size in SIZES {
        let (w, h) = fit(full_w, full_h, size);
        let resized = if (w, h) == (previous.width(), previous.height()) {
            previous.copy()
        } else {
            let mut dst = Image::new(w, h, PixelType::U8x3);
            resizer
                .resize(&previous, &mut dst, &options)
                .map_err(|e| Rejection::Corrupt(e.to_string()))?;
            dst
        };
        let upright = orient(&resized, orientation);
        let jpeg = encode(&upright)?;
        out.push(Thumbnail {
            size,
            width: upright.width(),
            height: upright.height(),
            jpeg,
        });
        previous = resized;
    }
    let (width, height) = upright_size(full_w, full_h, orientation);
    Ok(Thumbnails {
        format,
        width,
        height,
        thumbnails: out,
    })
}

/// The most memory making the thumbnails of `bytes` allocates at any one time (the file's own bytes, which
/// the caller already holds, not counted), from the header alone: what a memory budget holds for the job
/// before it starts. An upper bound, checked against measured peaks (`tests/memory.rs`):
/// - a JPEG: the decoder's planes and output at the DCT scale it decodes at, its RGB conversion, and for a
///   progressive JPEG the coefficients of the whole image at full size (2 bytes a sample, no chroma
///   subsampling assumed);
/// - a PNG or WebP: the image in its own pixel format, its 8-bit RGBA copy and the RGB image after it;
/// - then the resizer's intermediate image (the largest thumbnail's width × the source's height) and the
///   thumbnails with their oriented copies.
pub fn memory_needed(bytes: &[u8]) -> Result<u64, Rejection> {
    let (source, decode) = match sniff(bytes)? {
        Format::Jpeg => {
            let corrupt = |e: jpeg_decoder::Error| Rejection::Corrupt(e.to_string());
            let mut decoder = jpeg_decoder::Decoder::new(bytes);
            decoder.read_info().map_err(corrupt)?;
            let info = decoder
                .info()
                .ok_or_else(|| Rejection::Corrupt("no JPEG header".into()))?;
            let (w, h) = (u64::from(info.width), u64::from(info.height));
            check_pixels(w, h)?;
            let request = u16::try_from(SIZES[0]).unwrap_or(u16::MAX);
            let (sw, sh) = decoder.scale(request, request).map_err(corrupt)?;
            let scaled = padded(u64::from(sw)) * padded(u64::from(sh));
            let components = info.pixel_format.pixel_bytes() as u64;
            let coefficients = match info.coding_process {
                jpeg_decoder::CodingProcess::DctProgressive => {
                    2 * padded(w) * padded(h) * components
                }
                _ => 0,
            };
            // planes + output (+ its RGB conversion, unless it is RGB already)
            let rgb = if components == 3 { 0 } else { 3 * scaled };
            (
                (u32::from(sw), u32::from(sh)),
                coefficients + 2 * components * scaled + rgb,
            )
        }
        format @ (Format::Png | Format::WebP) => {
            let decoder = open_other(bytes, format)?;
            let (w, h) = decoder.dimensions();
            check_pixels(u64::from(w), u64::from(h))?;
            let pixels = u64::from(w) * u64::from(h);
            let native = decoder.total_bytes();
            let color = decoder.color_type();
            let peak = if color.has_alpha() {
                // native → RGBA8 (a copy unless it is RGBA8) → RGB8 over white
                let rgba_copy = if color == image::ColorType::Rgba8 {
                    0
                } else {
                    4 * pixels
                };
                (native + rgba_copy).max(7 * pixels)
            } else if color == image::ColorType::Rgb8 {
                native
            } else {
                native + 3 * pixels
            };
            // A lossy WebP is decoded through YUV planes (1.5 bytes a pixel).
            let planes = if format == Format::WebP {
                2 * pixels
            } else {
                0
            };
            ((w, h), peak + planes)
        }
    };
    let (largest_w, _) = fit(source.0, source.1, SIZES[0]);
    let intermediate = 3 * u64::from(largest_w) * u64::from(source.1);
    // Each thumbnail: resized, its buffer copy, oriented and encoded (at most 3 bytes a pixel each).
    let thumbnails: u64 = SIZES
        .iter()
        .map(|&size| {
            let (w, h) = fit(source.0, source.1, size);
            4 * 3 * u64::from(w) * u64::from(h)
        })
        .sum();
    Ok(decode + intermediate + thumbnails + OVERHEAD)
}

/// What the job allocates besides its images: decoders' tables and line buffers, the resizer's coefficients.
const OVERHEAD: u64 = 4 * 1024 * 1024;

/// A JPEG dimension rounded up to whole 16-pixel MCUs.
fn padded(side: u64) -> u64 {
    side.div_ceil(16) * 16
}

/// A decoded photo: its pixels (for a JPEG maybe shrunk on load), its orientation, its stored (not yet
/// oriented) size.
struct Decoded {
    image: Image<'static>,
    orientation: Orientation,
    width: u32,
    height: u32,
}

/// The size with `long_side` as its longer side, aspect kept, never enlarged.
pub fn fit(width: u32, height: u32, long_side: u32) -> (u32, u32) {
    let longest = width.max(height);
    if longest <= long_side {
        return (width, height);
    }
    let scale = f64::from(long_side) / f64::from(longest);
    let w = ((f64::from(width) * scale).round() as u32).clamp(1, long_side);
    let h = ((f64::from(height) * scale).round() as u32).clamp(1, long_side);
    (w, h)
}

fn upright_size(width: u32, height: u32, orientation: Orientation) -> (u32, u32) {
    match orientation {
        Orientation::Rotate90
        | Orientation::Rotate270
        | Orientation::Rotate90FlipH
        | Orientation::Rotate270FlipH => (height, width),
        _ => (width, height),
    }
}

/// Decodes a JPEG at the smallest DCT scale whose longer side still reaches `long_side`.
fn decode_jpeg(bytes: &[u8], long_side: u32) -> Result<Decoded, Rejection> {
    let corrupt = |e: jpeg_decoder::Error| Rejection::Corrupt(e.to_string());
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    decoder.read_info().map_err(corrupt)?;
    let info = decoder
        .info()
        .ok_or_else(|| Rejection::Corrupt("no JPEG header".into()))?;
    check_pixels(u64::from(info.width), u64::from(info.height))?;
    let request = u16::try_from(long_side).unwrap_or(u16::MAX);
    let (w, h) = decoder.scale(request, request).map_err(corrupt)?;
    let pixels = decoder.decode().map_err(corrupt)?;
    let orientation = decoder
        .exif_data()
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    let rgb = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => pixels,
        jpeg_decoder::PixelFormat::L8 => pixels.iter().flat_map(|&l| [l, l, l]).collect(),
        jpeg_decoder::PixelFormat::L16 => pixels
            .chunks_exact(2)
            .flat_map(|l| [l[0], l[0], l[0]]) // big-endian: the high byte
            .collect(),
        jpeg_decoder::PixelFormat::CMYK32 => pixels
            .chunks_exact(4)
            .flat_map(|p| {
                // jpeg-decoder hands out ink amounts (it undoes Adobe's inversion).
                let white = 255 - u16::from(p[3]);
                let channel = |ink: u8| ((255 - u16::from(ink)) * white / 255) as u8;
                [channel(p[0]), channel(p[1]), channel(p[2])]
            })
            .collect(),
    };
    let expected = usize::from(w) * usize::from(h) * 3;
    if rgb.len() != expected {
        return Err(Rejection::Corrupt(format!(
            "{} bytes of pixels for {w}×{h}",
            rgb.len()
        )));
    }
    let image = Image::from_vec_u8(u32::from(w), u32::from(h), rgb, PixelType::U8x3)
        .map_err(|e| Rejection::Corrupt(e.to_string()))?;
    Ok(Decoded {
        image,
        orientation,
        width: u32::from(info.width),
        height: u32::from(info.height),
    })
}

/// A PNG or WebP decoder, its allocations limited to what [`MAX_PIXELS`] of 16-bit RGBA need.
fn open_other(bytes: &[u8], format: Format) -> Result<impl ImageDecoder + '_, Rejection> {
    let format = match format {
        Format::Png => ImageFormat::Png,
        _ => ImageFormat::WebP,
    };
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_PIXELS * 8);
    reader.limits(limits);
    reader
        .into_decoder()
        .map_err(|e| Rejection::Corrupt(e.to_string()))
}

/// Decodes a PNG or WebP in full (within the pixel limit), transparent parts over white.
fn decode_other(bytes: &[u8], format: Format) -> Result<Decoded, Rejection> {
    let corrupt = |e: image::ImageError| Rejection::Corrupt(e.to_string());
    let mut decoder = open_other(bytes, format)?;
    let (w, h) = decoder.dimensions();
    check_pixels(u64::from(w), u64::from(h))?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let decoded = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    let rgb = if decoded.color().has_alpha() {
        let rgba = decoded.into_rgba8();
        let mut rgb = RgbImage::new(rgba.width(), rgba.height());
        for (out, p) in rgb.pixels_mut().zip(rgba.pixels()) {
            let a = u16::from(p[3]);
            let over_white = |c: u8| ((u16::from(c) * a + 255 * (255 - a)) / 255) as u8;
            *out = image::Rgb([over_white(p[0]), over_white(p[1]), over_white(p[2])]);
        }
        rgb
    } else {
        decoded.into_rgb8()
    };
    let image = Image::from_vec_u8(w, h, rgb.into_raw(), PixelType::U8x3)
        .map_err(|e| Rejection::Corrupt(e.to_string()))?;
    Ok(Decoded {
        image,
        orientation,
        width: w,
        height: h,
    })
}

fn orient(image: &Image<'_>, orientation: Orientation) -> RgbImage {
    let buffer = RgbImage::from_raw(image.width(), image.height(), image.buffer().to_vec())
        .expect("an RGB image's buffer is width × height × 3");
    if orientation == Orientation::NoTransforms {
        return buffer;
    }
    let mut dynamic = DynamicImage::ImageRgb8(buffer);
    dynamic.apply_orientation(orientation);
    dynamic.into_rgb8()
}

fn encode(image: &RgbImage) -> Result<Vec<u8>, Rejection> {
    let mut out = Vec::with_capacity(image.as_raw().len() / 8);
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, QUALITY);
    encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_4_4);
    let (w, h) = (image.width(), image.height());
    let too_big = || Rejection::Corrupt(format!("a {w}×{h} thumbnail"));
    encoder
        .encode(
            image.as_raw(),
            u16::try_from(w).map_err(|_| too_big())?,
            u16::try_from(h).map_err(|_| too_big())?,
            jpeg_encoder::ColorType::Rgb,
        )
        .map_err(|e| Rejection::Corrupt(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests;
