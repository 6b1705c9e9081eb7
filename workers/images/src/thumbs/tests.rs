use super::*;

/// The real 12 MP phone photo (4000×3000 stored, EXIF orientation 6: to be turned 90° clockwise).
fn phone_photo() -> Vec<u8> {
    let dir =
        std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR (set by cargo test)");
    let path =
        std::path::Path::new(&dir).join("../../fixtures/images/phone_photo_4000x3000_orient6.jpg");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A JPEG decoded (at 1/`shrink` of its size: 1, 2, 4 or 8), as RGB.
fn decode_at(jpeg: &[u8], shrink: u16) -> RgbImage {
    let mut d = jpeg_decoder::Decoder::new(jpeg);
    d.read_info().expect("a JPEG");
    let info = d.info().expect("info");
    let (w, h) = d
        .scale(info.width / shrink, info.height / shrink)
        .expect("scale");
    let pixels = d.decode().expect("a JPEG");
    assert_eq!(
        d.info().expect("info").pixel_format,
        jpeg_decoder::PixelFormat::RGB24
    );
    RgbImage::from_raw(w.into(), h.into(), pixels).expect("rgb")
}

fn decode(jpeg: &[u8]) -> RgbImage {
    decode_at(jpeg, 1)
}

fn mean_abs_diff(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

fn png(width: u32, height: u32, alpha: bool) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let image = if alpha {
        DynamicImage::ImageRgba8(image::RgbaImage::from_fn(width, height, |x, y| {
            image::Rgba([
                (x % 256) as u8,
                (y % 256) as u8,
                90,
                if x < width / 2 { 255 } else { 0 },
            ])
        }))
    } else {
        DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        }))
    };
    image.write_to(&mut out, ImageFormat::Png).expect("png");
    out.into_inner()
}

/// A PNG whose header says `width`×`height`, with a first data chunk far too short for it (a decoder that
/// trusted the header and allocated would be in trouble long before finding that out).
fn png_header_only(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&13u32.to_be_bytes());
    let chunk: Vec<u8> = b"IHDR".iter().chain(&ihdr).copied().collect();
    png.extend_from_slice(&chunk);
    png.extend_from_slice(&crc32fast::hash(&chunk).to_be_bytes());
    let idat: &[u8] = b"IDAT\x78\x9c\x03\x00\x00\x00\x00\x01"; // zlib of nothing
    png.extend_from_slice(&8u32.to_be_bytes());
    png.extend_from_slice(idat);
    png.extend_from_slice(&crc32fast::hash(idat).to_be_bytes());
    png
}

/// A small real JPEG whose frame header (SOF) is rewritten to say `width`×`height`.
fn jpeg_claiming(width: u16, height: u16) -> Vec<u8> {
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 80)
        .encode(&[128u8; 16 * 16 * 3], 16, 16, jpeg_encoder::ColorType::Rgb)
        .expect("jpeg");
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xff, 0xc0])
        .expect("SOF0");
    jpeg[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    jpeg
}

#[test]
fn the_phone_photo_gives_three_upright_thumbnails_of_the_right_sizes() {
    let photo = phone_photo();
    let out = thumbnails(&photo).expect("thumbnails");
    assert_eq!(
        (out.format, out.width, out.height),
        (Format::Jpeg, 3000, 4000),
        "upright: portrait"
    );
    let sizes: Vec<_> = out
        .thumbnails
        .iter()
        .map(|t| (t.size, t.width, t.height))
        .collect();
    assert_eq!(sizes, [(1024, 768, 1024), (512, 384, 512), (128, 96, 128)]);
    for t in &out.thumbnails {
        assert_eq!(
            decode(&t.jpeg).dimensions(),
            (t.width, t.height),
            "the JPEG is what it says"
        );
    }
    // Upright: the 128 px thumbnail looks like the photo turned 90° clockwise (the reference is made another
    // way: decoded at 1/8, resized by the image crate, turned by hand), and not like it turned the other way.
    let small = image::imageops::thumbnail(&decode_at(&photo, 8), 128, 96);
    let ours = decode(&out.thumbnails[2].jpeg);
    let right = mean_abs_diff(&ours, &image::imageops::rotate90(&small));
    let wrong = mean_abs_diff(&ours, &image::imageops::rotate270(&small));
    assert!(
        right < 6.0,
        "mean difference to the upright reference: {right}"
    );
    assert!(
        wrong > 3.0 * right,
        "turned the other way it differs as much: {wrong} vs {right}"
    );
}

#[test]
fn a_png_with_transparency_and_a_webp_are_accepted_and_never_enlarged() {
    let out = thumbnails(&png(300, 200, true)).expect("png");
    assert_eq!(out.format, Format::Png);
    let sizes: Vec<_> = out.thumbnails.iter().map(|t| (t.width, t.height)).collect();
    assert_eq!(sizes, [(300, 200), (300, 200), (128, 85)]);
    // Transparent half over white.
    let big = decode(&out.thumbnails[0].jpeg);
    assert!(
        big.get_pixel(290, 100).0.iter().all(|&c| c > 240),
        "{:?}",
        big.get_pixel(290, 100)
    );

    let mut webp = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(RgbImage::from_pixel(2000, 1000, image::Rgb([10, 200, 30])))
        .write_to(&mut webp, ImageFormat::WebP)
        .expect("webp");
    let out = thumbnails(webp.get_ref()).expect("webp");
    assert_eq!(out.format, Format::WebP);
    let sizes: Vec<_> = out.thumbnails.iter().map(|t| (t.width, t.height)).collect();
    assert_eq!(sizes, [(1024, 512), (512, 256), (128, 64)]);
}

#[test]
fn a_cmyk_jpeg_keeps_its_colours() {
    // Cyan ink on the left half, black ink on the right, as a print workflow would save it.
    let (w, h) = (256u16, 128u16);
    let pixels: Vec<u8> = (0..u32::from(w) * u32::from(h))
        .flat_map(|i| {
            if i % u32::from(w) < u32::from(w) / 2 {
                [255, 0, 0, 0]
            } else {
                [0, 0, 0, 255]
            }
        })
        .collect();
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 95)
        .encode(&pixels, w, h, jpeg_encoder::ColorType::Cmyk)
        .expect("cmyk jpeg");
    let out = thumbnails(&jpeg).expect("thumbnails");
    let thumb = decode(&out.thumbnails[0].jpeg);
    let close =
        |p: &image::Rgb<u8>, want: [u8; 3]| p.0.iter().zip(want).all(|(a, b)| a.abs_diff(b) < 24);
    assert!(
        close(thumb.get_pixel(32, 64), [0, 255, 255]),
        "cyan: {:?}",
        thumb.get_pixel(32, 64)
    );
    assert!(
        close(thumb.get_pixel(224, 64), [0, 0, 0]),
        "black: {:?}",
        thumb.get_pixel(224, 64)
    );
}

#[test]
fn files_that_are_not_photos_are_refused_with_their_reason() {
    let photo = phone_photo();
    assert_eq!(thumbnails(&[]), Err(Rejection::Empty));
    assert_eq!(
        thumbnails(b"just some text, named photo.jpg"),
        Err(Rejection::UnsupportedFormat)
    );
    assert_eq!(
        thumbnails(b"GIF89a\x01\x00\x01\x00"),
        Err(Rejection::UnsupportedFormat)
    );
    let truncated = thumbnails(&photo[..photo.len() / 2]);
    assert!(
        matches!(truncated, Err(Rejection::Corrupt(_))),
        "{truncated:?}"
    );
    let header_only = thumbnails(&photo[..600]);
    assert!(
        matches!(header_only, Err(Rejection::Corrupt(_))),
        "{header_only:?}"
    );
    assert_eq!(
        thumbnails(&png(300, 200, false)[..120])
            .map(|_| ())
            .unwrap_err()
            .code(),
        "corrupt"
    );
}

#[test]
fn a_decompression_bomb_is_refused_from_its_header() {
    for bomb in [
        png_header_only(20_000, 20_000),
        jpeg_claiming(20_000, 20_000),
    ] {
        assert_eq!(
            thumbnails(&bomb),
            Err(Rejection::TooManyPixels {
                width: 20_000,
                height: 20_000
            })
        );
    }
    // Just inside the limit is not refused for its size (this one then fails for its missing pixels).
    assert_eq!(
        thumbnails(&png_header_only(5_000, 10_000))
            .unwrap_err()
            .code(),
        "corrupt"
    );
}

#[test]
fn a_photo_too_small_or_too_narrow_to_show_is_refused_from_its_header() {
    for (w, h) in [(79, 500), (500, 79), (1100, 80), (13_000, 1_000)] {
        assert_eq!(
            thumbnails(&png_header_only(w, h)),
            Err(Rejection::TooSmall {
                width: u64::from(w),
                height: u64::from(h)
            }),
            "{w}×{h}"
        );
        assert!(memory_needed(&png_header_only(w, h)).is_err());
    }
    // At the limits: 80 px, and 1024×80 once shrunk (12.8 : 1).
    for (w, h) in [(80, 80), (1024, 80), (12_800, 1_000)] {
        let out = thumbnails(&png(w, h, false)).expect("accepted");
        let (tw, th) = (out.thumbnails[0].width, out.thumbnails[0].height);
        assert!(tw.min(th) >= MIN_SIDE, "{w}×{h} → {tw}×{th}");
    }
    assert_eq!(
        Rejection::TooSmall { width: 64, height: 48 }.to_string(),
        "the image is 64×48 pixels, too small or too narrow to show (each side at least 80 pixels, the longer \
         at most 12.8 times the shorter)"
    );
    assert_eq!(
        Rejection::TooSmall {
            width: 1,
            height: 1
        }
        .code(),
        "too-small"
    );
}

#[test]
fn fit_keeps_the_aspect_and_never_enlarges() {
    assert_eq!(fit(4000, 3000, 1024), (1024, 768));
    assert_eq!(fit(3000, 4000, 128), (96, 128));
    assert_eq!(fit(100, 50, 512), (100, 50));
    assert_eq!(fit(10_000, 1, 128), (128, 1));
}

#[test]
fn rejections_have_stable_codes_and_say_why() {
    let bomb = Rejection::TooManyPixels {
        width: 20_000,
        height: 20_000,
    };
    assert_eq!(bomb.code(), "too-many-pixels");
    assert_eq!(
        bomb.to_string(),
        "the image is 20000×20000 pixels, over the 50 MP limit"
    );
    assert_eq!(
        Rejection::UnsupportedFormat.to_string(),
        "the file is not a JPEG, PNG or WebP image"
    );
}
