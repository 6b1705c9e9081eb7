//! Where things are: geohashes (the `geohash` crate) and great-circle distances, for "items near me" and
//! "users near this item".

use std::collections::BTreeSet;

use geohash::Coord;

/// Precision of an item's geohash (±0.6 km).
pub const ITEM_PRECISION: usize = 6;
/// Precision of a user's home geohash (±2.4 km).
pub const HOME_PRECISION: usize = 5;
/// Precision of the location index's partitions (cells of about 39 × 20 km): a browse queries the few cells
/// that cover its circle.
pub const INDEX_PRECISION: usize = 4;
/// The largest browse radius, so a browse queries a bounded number of cells.
pub const MAX_RADIUS_KM: f64 = 50.0;

const EARTH_RADIUS_KM: f64 = 6371.0088;
const KM_PER_DEGREE_LAT: f64 = 111.32;

/// A point given by a caller (a listing's place, a user's home), not yet checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub lat: f64,
    pub lon: f64,
}

impl Point {
    /// The point as kept: degrees to 7 decimals (about a centimetre), so every coordinate is a number
    /// DynamoDB takes (it refuses magnitudes under 1e-130 and keeps 38 digits; `1e-189` would fail the
    /// whole write), and `-0` is 0.
    pub fn stored(self) -> Point {
        let round = |d: f64| (d * 1e7).round() / 1e7 + 0.0;
        Point {
            lat: round(self.lat),
            lon: round(self.lon),
        }
    }
}

/// Whether (lat, lon) is a place on Earth.
pub fn valid(lat: f64, lon: f64) -> bool {
    (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)
}

/// The text form of a point in a query (`near=48.8584,2.2945`): decimal degrees, at most three digits before
/// the point, no exponent, sign or space but a leading `-`, on Earth. The pattern and [`parse_point`] accept
/// exactly the same texts (a test holds them together), so a schema-driven client never sends one refused.
pub const POINT_PATTERN: &str = r"^-?(?:(?:0?0?[0-9]|0?[1-8][0-9])(?:\.[0-9]+)?|0?90(?:\.0+)?),-?(?:(?:0?0?[0-9]|0?[1-9][0-9]|1[0-7][0-9])(?:\.[0-9]+)?|180(?:\.0+)?)$";

/// `lat,lon` as [`POINT_PATTERN`] describes it.
pub fn parse_point(text: &str) -> Option<(f64, f64)> {
    fn degrees(text: &str) -> Option<f64> {
        let digits = text.strip_prefix('-').unwrap_or(text);
        let (whole, fraction) = match digits.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (digits, None),
        };
        let decimal = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
        (decimal(whole) && whole.len() <= 3 && fraction.is_none_or(decimal))
            .then(|| text.parse().ok())
            .flatten()
    }
    let (lat, lon) = text.split_once(',')?;
    let (lat, lon) = (degrees(lat)?, degrees(lon)?);
    valid(lat, lon).then_some((lat, lon))
}

/// The geohash of a valid point at `precision` (1..=12).
pub fn encode(lat: f64, lon: f64, precision: usize) -> String {
    // Valid coordinates and precision never fail to encode; callers check `valid` first.
    geohash::encode(Coord { x: lon, y: lat }, precision).unwrap_or_default()
}

/// Great-circle distance in km (haversine; the `geo` crate has it too, but is a large dependency for one
/// formula).
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lon1) = (a.0.to_radians(), a.1.to_radians());
    let (lat2, lon2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// The geohash cells of `precision` that together cover the circle of `radius_km` around (lat, lon): the
/// cells of a grid of points over the circle's bounding box, spaced closer than a cell.
pub fn cells_covering(lat: f64, lon: f64, radius_km: f64, precision: usize) -> BTreeSet<String> {
    let dlat = radius_km / KM_PER_DEGREE_LAT;
    let dlon = radius_km / (KM_PER_DEGREE_LAT * lat.to_radians().cos().max(0.01));
    // Cell size at this precision, in degrees (bits alternate lon, lat).
    let bits = precision * 5;
    let lon_bits = bits.div_ceil(2) as i32;
    let lat_bits = (bits / 2) as i32;
    let cell_lat = 180.0 / 2f64.powi(lat_bits);
    let cell_lon = 360.0 / 2f64.powi(lon_bits);
    let (south, north) = ((lat - dlat).max(-90.0), (lat + dlat).min(90.0));
    let (west, east) = (lon - dlon, lon + dlon);
    let wrap = |lon: f64| (lon + 540.0).rem_euclid(360.0) - 180.0;
    let steps = |span: f64, cell: f64| ((span / (cell / 2.0)).ceil() as usize).max(1);
    let (n_lat, n_lon) = (
        steps(north - south, cell_lat),
        steps((east - west).min(360.0), cell_lon),
    );
    let mut cells = BTreeSet::new();
    for i in 0..=n_lat {
        let y = south + (north - south) * i as f64 / n_lat as f64;
        for j in 0..=n_lon {
            let x = wrap(west + (east - west).min(360.0) * j as f64 / n_lon as f64);
            cells.insert(encode(y.clamp(-90.0, 90.0), x, precision));
        }
    }
    cells
}

/// The 3 × 3 block of cells around a geohash (itself and its neighbours).
pub fn with_neighbours(hash: &str) -> Vec<String> {
    let mut cells = vec![hash.to_owned()];
    if let Ok(n) = geohash::neighbors(hash) {
        cells.extend([n.n, n.ne, n.e, n.se, n.s, n.sw, n.w, n.nw]);
    }
    cells
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_point_is_kept_to_seven_decimals_and_never_as_a_number_dynamodb_refuses() {
        let kept = super::Point {
            lat: 89.99999999999999,
            lon: -1.7359392125526795e-189,
        }
        .stored();
        assert_eq!((kept.lat, kept.lon), (90.0, 0.0));
        assert!(kept.lon.is_sign_positive(), "-0 is kept as 0");
        let paris = super::Point {
            lat: 48.858_412_34,
            lon: 2.294_512_99,
        }
        .stored();
        assert_eq!((paris.lat, paris.lon), (48.858_412_3, 2.294_513));
    }

    #[test]
    fn a_point_in_a_query_is_decimal_degrees_on_earth() {
        for (text, want) in [
            ("48.8584,2.2945", Some((48.8584, 2.2945))),
            ("-90,-180", Some((-90.0, -180.0))),
            ("090.000,180.0", Some((90.0, 180.0))),
            ("0,0", Some((0.0, 0.0))),
            ("-0.5,179.999", Some((-0.5, 179.999))),
        ] {
            assert_eq!(super::parse_point(text), want, "{text}");
        }
        for text in [
            "90.0001,0",
            "0,180.5",
            "999,0",
            "1e1,0",
            "+1,0",
            " 1,0",
            "1,0 ",
            "1.,0",
            ".5,0",
            "0001,0",
            "1,",
            "inf,0",
            "NaN,0",
            "1;2",
            "",
        ] {
            assert_eq!(super::parse_point(text), None, "{text}");
        }
    }

    /// Every text of up to six characters of the alphabet that matters, in either coordinate: the pattern
    /// matches it exactly when [`super::parse_point`] takes it.
    #[test]
    fn the_point_pattern_and_the_parser_agree() {
        let pattern = regex::Regex::new(super::POINT_PATTERN).expect("a regex");
        let alphabet = ['0', '1', '7', '8', '9', '-', '.'];
        let mut texts = vec![String::new()];
        let mut all = vec![];
        for _ in 0..6 {
            texts = texts
                .iter()
                .flat_map(|t| alphabet.iter().map(move |c| format!("{t}{c}")))
                .collect();
            all.extend(texts.iter().cloned());
        }
        for part in &all {
            for text in [format!("{part},0"), format!("0,{part}")] {
                assert_eq!(
                    pattern.is_match(&text),
                    super::parse_point(&text).is_some(),
                    "{text}"
                );
            }
        }
    }

    use super::*;

    #[test]
    fn encodes_known_points() {
        // Known geohash of the Eiffel tower area.
        assert_eq!(encode(48.8584, 2.2945, 6), "u09tun");
        assert_eq!(encode(48.8584, 2.2945, 4), "u09t");
    }

    #[test]
    fn distances_are_great_circle() {
        // Paris -> London is about 344 km.
        let d = distance_km((48.8566, 2.3522), (51.5074, -0.1278));
        assert!((d - 343.5).abs() < 2.0, "{d}");
        assert!(distance_km((10.0, 10.0), (10.0, 10.0)) < 1e-9);
    }

    #[test]
    fn covering_cells_contain_every_point_of_the_circle() {
        // GIVEN a circle near a cell corner, at mid and high latitudes
        for (lat, lon, r) in [
            (48.8584, 2.2945, 10.0),
            (64.1466, -21.9426, 25.0),
            (0.0, 179.99, 5.0),
        ] {
            let cells = cells_covering(lat, lon, r, INDEX_PRECISION);
            // THEN every point on a ring just inside the circle falls in one of the cells
            for k in 0..72 {
                let bearing = (k as f64 * 5.0).to_radians();
                let dlat = 0.99 * r / KM_PER_DEGREE_LAT * bearing.cos();
                let dlon = 0.99 * r / (KM_PER_DEGREE_LAT * lat.to_radians().cos()) * bearing.sin();
                let (y, mut x) = (lat + dlat, lon + dlon);
                if x > 180.0 {
                    x -= 360.0;
                }
                let cell = encode(y, x, INDEX_PRECISION);
                assert!(cells.contains(&cell), "{cell} not in {cells:?}");
            }
            assert!(cells.len() <= 40, "{}", cells.len());
        }
    }

    #[test]
    fn neighbours_are_the_surrounding_block() {
        let cells = with_neighbours("u09tu");
        assert_eq!(cells.len(), 9);
        assert_eq!(cells[0], "u09tu");
    }
}
