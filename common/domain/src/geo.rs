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

/// Whether (lat, lon) is a place on Earth.
pub fn valid(lat: f64, lon: f64) -> bool {
    (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)
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
