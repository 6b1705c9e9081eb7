//! The deployment zips (`dist/lambda/*.zip`, made by scripts/package, which scripts/test runs first): each
//! holds one `bootstrap` that Amazon Linux 2023's loader can run. AL2023 (the `provided.al2023` runtime)
//! ships glibc 2.34, so no binary may need a glibc symbol version newer than that: the versions a binary
//! needs are listed in its ELF `.gnu.version_r` section, read here.

use std::io::Read;
use std::path::PathBuf;

use object::read::elf::ElfFile64;
use object::{Endianness, Object};

/// Amazon Linux 2023's glibc.
const AL2023_GLIBC: (u32, u32) = (2, 34);
const FUNCTIONS: [&str; 7] = [
    "api",
    "stream-publisher",
    "images-worker",
    "notifications-worker",
    "expiries-worker",
    "auction-closes-worker",
    "index-worker",
];

fn zips() -> PathBuf {
    e2e::repo_root().join("dist/lambda")
}

/// The `GLIBC_x.y` versions the binary needs.
fn glibc_versions(binary: &[u8]) -> Vec<(u32, u32)> {
    let elf = ElfFile64::<Endianness>::parse(binary).expect("an ELF 64 binary");
    let endian = elf.endian();
    let sections = elf.elf_section_table();
    let Some((mut needs, link)) = sections.gnu_verneed(endian, binary).expect("verneed") else {
        return vec![];
    };
    let strings = sections
        .strings(endian, binary, link)
        .expect("version strings");
    let mut versions = vec![];
    while let Some((_, mut auxes)) = needs.next().expect("verneed entry") {
        while let Some(aux) = auxes.next().expect("vernaux entry") {
            let name =
                String::from_utf8_lossy(aux.name(endian, strings).expect("name")).into_owned();
            if let Some(v) = name.strip_prefix("GLIBC_") {
                let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
                versions.push((parts.next().unwrap_or(0), parts.next().unwrap_or(0)));
            }
        }
    }
    versions.sort_unstable();
    versions.dedup();
    versions
}

#[test]
fn every_bootstrap_runs_on_amazon_linux_2023_s_glibc() {
    for f in FUNCTIONS {
        let path = zips().join(format!("{f}.zip"));
        let file = std::fs::File::open(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (scripts/package makes it)", path.display()));
        let mut zip = zip::ZipArchive::new(file).expect("a zip");
        assert_eq!(zip.len(), 1, "{f}: only the bootstrap");
        let mut entry = zip.by_name("bootstrap").expect("a bootstrap");
        assert_eq!(
            entry.unix_mode().map(|m| m & 0o111),
            Some(0o111),
            "{f}: executable"
        );
        let mut binary = vec![];
        entry.read_to_end(&mut binary).expect("read");
        let elf = ElfFile64::<Endianness>::parse(&*binary).expect("an ELF 64 binary");
        let arch = std::env::var("ECOBID_LAMBDA_ARCH").unwrap_or_else(|_| "x86_64".into());
        let expected = match arch.as_str() {
            "arm64" => object::Architecture::Aarch64,
            _ => object::Architecture::X86_64,
        };
        assert_eq!(
            elf.architecture(),
            expected,
            "{f}: built for the {arch} Lambda architecture"
        );
        let versions = glibc_versions(&binary);
        assert!(
            !versions.is_empty(),
            "{f}: links glibc, so it names the versions it needs"
        );
        let newest = versions.last().copied().expect("a version");
        eprintln!(
            "{f}: {} bytes, newest glibc symbol version {}.{}",
            binary.len(),
            newest.0,
            newest.1
        );
        assert!(
            newest <= AL2023_GLIBC,
            "{f} needs GLIBC_{}.{}, newer than Amazon Linux 2023's {}.{}: build it against an older glibc",
            newest.0,
            newest.1,
            AL2023_GLIBC.0,
            AL2023_GLIBC.1
        );
    }
}
