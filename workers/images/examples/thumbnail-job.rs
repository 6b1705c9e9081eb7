//! The whole thumbnail job (decode, three resizes, orientation, three encodes) on one photo, `--runs` times on
//! one thread (a refused file: the time to refuse it), for `scripts/bench-images`: prints the median and each run's time as JSON and writes the
//! thumbnails to `--out` (for their PSNR), with this process's peak RSS (VmHWM: reset by exec, unlike the
//! rusage a parent reads, which keeps the parent's pages from before the exec).
//!
//! Usage: thumbnail-job PHOTO --runs N --out DIR

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: thumbnail-job PHOTO --runs N --out DIR";
    let photo = args.get(1).expect(usage);
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
            .expect(usage)
    };
    let runs: usize = flag("--runs").parse().expect("--runs: a number");
    let out = std::path::PathBuf::from(flag("--out"));
    let bytes = std::fs::read(photo).expect("the photo");
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let result = images::thumbs::thumbnails(&bytes);
        times.push(start.elapsed().as_secs_f64() * 1e3);
        last = Some(result);
    }
    let rejected = match last.expect("at least one run") {
        Ok(thumbs) => {
            std::fs::create_dir_all(&out).expect("out dir");
            for t in thumbs.thumbnails {
                std::fs::write(out.join(format!("{}.jpg", t.size)), &t.jpeg).expect("write");
            }
            "null".to_owned()
        }
        Err(rejection) => format!("\"{}\"", rejection.code()),
    };
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let hwm_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    println!(
        "{{\"median_ms\": {:.3}, \"peak_rss_kib\": {hwm_kib}, \"rejected\": {rejected}, \"runs_ms\": [{}]}}",
        sorted[sorted.len() / 2],
        times.iter().map(|t| format!("{t:.3}")).collect::<Vec<_>>().join(", ")
    );
}
