//! Each function process gets its function's `memory_size`, as Lambda gives it: a process that goes above it
//! is killed, and its invocation fails (Lambda: `Runtime.ExitError`, "signal: killed", with `Max Memory Used`
//! at the limit). How, in order of preference, from what the machine allows:
//!
//! 1. **cgroup v2**: a cgroup per process slot with `memory.max` = `memory_size` and `memory.swap.max` = 0
//!    (Lambda has no swap). The kernel's OOM killer kills the process at the limit, exactly as in Lambda. Needs
//!    the memory controller delegated to the runner's cgroup (or its parent's).
//! 2. **cgroup v1**: the same with `memory.limit_in_bytes` (+ `memory.memsw.limit_in_bytes`), for hosts whose
//!    memory controller is still on the v1 hierarchy (hybrid hosts: cgroup2 is mounted there with no
//!    controllers, so 1 cannot work).
//! 3. **`RLIMIT_DATA`** when no cgroup is writable: a process's heap and private writable mappings. Not
//!    Lambda's rule: an allocation over it fails (a Rust process then aborts, so the invocation still fails),
//!    and it counts memory reserved rather than touched, so it is stricter than Lambda. `RLIMIT_AS` would be
//!    stricter still (thread stacks and glibc's 64 MB malloc arenas count in full), so it is not used.
//!
//! The process is put in its cgroup by a `sh` that writes its own pid to `cgroup.procs` and then `exec`s
//! the bootstrap: the bootstrap's first allocation is already counted (the runner forbids unsafe code, so no
//! `pre_exec`).

use std::path::{Path, PathBuf};

use tokio::process::Command;
use tracing::{info, warn};

const MIB: u64 = 1024 * 1024;

/// How process memory is limited on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mechanism {
    /// A cgroup per slot under `parent` (cgroup v2).
    CgroupV2 { parent: PathBuf },
    /// A cgroup per slot under `parent` (cgroup v1's memory hierarchy).
    CgroupV1 { parent: PathBuf },
    /// `ulimit -d` on each process.
    Rlimit,
    /// Not limited (`--memory-limits off`).
    Off,
}

/// Where the runner's processes get their memory limits: chosen once at start.
#[derive(Debug, Clone)]
pub struct MemoryLimits {
    mechanism: Mechanism,
    /// Names this runner's cgroups, so two runners never share one.
    tag: String,
}

impl MemoryLimits {
    /// No limit.
    pub fn off() -> Self {
        Self {
            mechanism: Mechanism::Off,
            tag: String::new(),
        }
    }

    /// `RLIMIT_DATA` whatever the machine allows (the fallback, chosen: its test).
    pub fn rlimit() -> Self {
        Self {
            mechanism: Mechanism::Rlimit,
            tag: String::new(),
        }
    }

    /// The best mechanism the machine allows (see the module's list), each cgroup tried by creating one.
    pub fn detect() -> Self {
        let tag = format!("ecobid-runner-{}", std::process::id());
        let proc_cgroup = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let candidates = candidates(&proc_cgroup, &mountinfo);
        for mechanism in candidates {
            let limits = Self {
                mechanism: mechanism.clone(),
                tag: tag.clone(),
            };
            match limits.probe() {
                Ok(()) => {
                    limits.sweep_stale();
                    return limits;
                }
                Err(e) => info!(mechanism = ?mechanism, reason = %e, "memory limits: not this way"),
            }
        }
        Self {
            mechanism: Mechanism::Rlimit,
            tag,
        }
    }

    pub fn mechanism(&self) -> &Mechanism {
        &self.mechanism
    }

    /// One line for the runner's start: which mechanism, and what it means.
    pub fn describe(&self) -> String {
        match &self.mechanism {
            Mechanism::CgroupV2 { parent } => format!(
                "cgroup v2 under {}: a process above its memory_size is killed, as in Lambda",
                parent.display()
            ),
            Mechanism::CgroupV1 { parent } => format!(
                "cgroup v1 under {}: a process above its memory_size is killed, as in Lambda",
                parent.display()
            ),
            Mechanism::Rlimit => {
                "RLIMIT_DATA (no writable cgroup): an allocation above memory_size fails, \
                                  counting reserved memory (stricter than Lambda)"
                    .into()
            }
            Mechanism::Off => "off: processes may use any memory".into(),
        }
    }

    /// Removes the (empty) cgroups runners that are gone left behind: a runner killed, or one that lived in a
    /// test process that exited, never dropped its confinements.
    fn sweep_stale(&self) {
        let parent = match &self.mechanism {
            Mechanism::CgroupV2 { parent } | Mechanism::CgroupV1 { parent } => parent,
            Mechanism::Rlimit | Mechanism::Off => return,
        };
        let Ok(entries) = std::fs::read_dir(parent) else {
            return;
        };
        let names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        for name in stale(&names, |pid| Path::new(&format!("/proc/{pid}")).exists()) {
            // A cgroup that still has a process is not removable, and stays.
            let _ = std::fs::remove_dir(parent.join(name));
        }
    }

    /// Creates and removes a cgroup with a limit: proves the mechanism works here.
    fn probe(&self) -> anyhow::Result<()> {
        let probe = self.confine(&format!("probe-{}", uuid::Uuid::new_v4().simple()), 128)?;
        drop(probe);
        Ok(())
    }

    /// The confinement of one process slot of `function` at `memory_mb`: its cgroup, created (and removed when
    /// dropped), or its rlimit.
    pub fn confine(&self, slot: &str, memory_mb: i32) -> anyhow::Result<Confinement> {
        let bytes = u64::try_from(memory_mb.max(1)).unwrap_or(1) * MIB;
        let cgroup = |parent: &Path, files: &[(&str, String)]| -> anyhow::Result<PathBuf> {
            let dir = parent.join(format!("{}-{slot}", self.tag));
            match std::fs::create_dir(&dir) {
                // The same slot started again (the cold-start benchmark's rounds): the same sandbox.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                other => other.map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?,
            }
            for (file, value) in files {
                let path = dir.join(file);
                if let Err(e) = std::fs::write(&path, value) {
                    let _ = std::fs::remove_dir(&dir);
                    anyhow::bail!("writing {value} to {}: {e}", path.display());
                }
            }
            Ok(dir)
        };
        let kind = match &self.mechanism {
            Mechanism::CgroupV2 { parent } => {
                let dir = cgroup(
                    parent,
                    &[
                        ("memory.max", bytes.to_string()),
                        ("memory.swap.max", "0".into()),
                    ],
                )
                .or_else(|_| cgroup(parent, &[("memory.max", bytes.to_string())]))?;
                Kind::Cgroup { dir, v2: true }
            }
            Mechanism::CgroupV1 { parent } => {
                let dir = cgroup(parent, &[("memory.limit_in_bytes", bytes.to_string())])?;
                // Without swap accounting (swapaccount=0) there is no memsw file, and nothing to limit.
                let memsw = dir.join("memory.memsw.limit_in_bytes");
                if memsw.exists() {
                    std::fs::write(&memsw, bytes.to_string())
                        .map_err(|e| anyhow::anyhow!("writing {}: {e}", memsw.display()))?;
                }
                Kind::Cgroup { dir, v2: false }
            }
            Mechanism::Rlimit => Kind::Rlimit { bytes },
            Mechanism::Off => Kind::Off,
        };
        Ok(Confinement { kind, memory_mb })
    }
}

/// Of the cgroup names `names`, those a runner made (`ecobid-runner-<pid>-…`) whose runner is not `alive`.
pub fn stale(names: &[String], alive: impl Fn(u32) -> bool) -> Vec<&str> {
    names
        .iter()
        .filter_map(|n| {
            let pid = n
                .strip_prefix("ecobid-runner-")?
                .split('-')
                .next()?
                .parse::<u32>()
                .ok()?;
            (!alive(pid)).then_some(n.as_str())
        })
        .collect()
}

/// The cgroups the runner could create its own under, best first, from `/proc/self/cgroup` and
/// `/proc/self/mountinfo`: cgroup v2 (its own cgroup, then its parent: a cgroup with processes cannot
/// delegate controllers to children, except the root), then cgroup v1's memory hierarchy.
pub fn candidates(proc_cgroup: &str, mountinfo: &str) -> Vec<Mechanism> {
    let mut out = Vec::new();
    let mounts: Vec<(String, String, String)> = mountinfo
        .lines()
        .filter_map(|line| {
            // <id> <parent> <maj:min> <root> <mount point> <options> <optional…> - <fstype> <source> <super options>
            let (left, right) = line.split_once(" - ")?;
            let fields: Vec<&str> = left.split_whitespace().collect();
            let mut right = right.split_whitespace();
            let fstype = right.next()?;
            let _source = right.next();
            let super_options = right.next().unwrap_or_default();
            Some((
                fstype.to_owned(),
                unescape(fields.get(4)?),
                super_options.to_owned(),
            ))
        })
        .collect();
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let path = path.trim_start_matches('/');
        if controllers.is_empty() {
            // cgroup v2: "0::<path>"
            if let Some((_, mount, _)) = mounts.iter().find(|(t, _, _)| t == "cgroup2") {
                let own = Path::new(mount).join(path);
                let delegated = |dir: &Path| {
                    std::fs::read_to_string(dir.join("cgroup.subtree_control"))
                        .is_ok_and(|c| c.split_whitespace().any(|c| c == "memory"))
                };
                if delegated(&own) || path.is_empty() {
                    out.push(Mechanism::CgroupV2 {
                        parent: own.clone(),
                    });
                }
                if let Some(parent) = own.parent().filter(|p| p.starts_with(mount)) {
                    if delegated(parent) {
                        out.push(Mechanism::CgroupV2 {
                            parent: parent.to_path_buf(),
                        });
                    }
                }
            }
        } else if controllers.split(',').any(|c| c == "memory") {
            let mount = mounts
                .iter()
                .find(|(t, _, opts)| t == "cgroup" && opts.split(',').any(|o| o == "memory"));
            if let Some((_, mount, _)) = mount {
                out.push(Mechanism::CgroupV1 {
                    parent: Path::new(mount).join(path),
                });
            }
        }
    }
    // v2 first.
    out.sort_by_key(|m| !matches!(m, Mechanism::CgroupV2 { .. }));
    out
}

/// Mount points in mountinfo escape spaces and the like as octal (`\040`).
fn unescape(field: &str) -> String {
    let mut out = String::new();
    let mut chars = field.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let code: String = chars.by_ref().take(3).collect();
            if let Ok(byte) = u8::from_str_radix(&code, 8) {
                out.push(char::from(byte));
                continue;
            }
            out.push(c);
            out.push_str(&code);
        } else {
            out.push(c);
        }
    }
    out
}

#[derive(Debug)]
enum Kind {
    Cgroup { dir: PathBuf, v2: bool },
    Rlimit { bytes: u64 },
    Off,
}

/// One process slot's memory limit, for every process the slot runs.
#[derive(Debug)]
pub struct Confinement {
    kind: Kind,
    memory_mb: i32,
}

impl Confinement {
    /// The command that runs `bootstrap` within the limit.
    pub fn command(&self, bootstrap: &Path) -> Command {
        match &self.kind {
            Kind::Cgroup { dir, .. } => {
                let mut c = Command::new("/bin/sh");
                c.arg("-c")
                    .arg(r#"echo $$ > "$1" && exec "$0""#)
                    .arg(bootstrap)
                    .arg(dir.join("cgroup.procs"));
                c
            }
            Kind::Rlimit { bytes } => {
                let mut c = Command::new("/bin/sh");
                c.arg("-c")
                    .arg(r#"ulimit -d "$1" && exec "$0""#)
                    .arg(bootstrap)
                    .arg((bytes / 1024).to_string());
                c
            }
            Kind::Off => Command::new(bootstrap),
        }
    }

    pub fn memory_mb(&self) -> i32 {
        self.memory_mb
    }

    /// How many processes of the slot the kernel has killed for going above the limit (cgroups only).
    pub fn oom_kills(&self) -> u64 {
        let Kind::Cgroup { dir, v2 } = &self.kind else {
            return 0;
        };
        let file = if *v2 {
            "memory.events"
        } else {
            "memory.oom_control"
        };
        std::fs::read_to_string(dir.join(file))
            .ok()
            .and_then(|text| {
                text.lines()
                    .find_map(|l| l.strip_prefix("oom_kill ")?.trim().parse().ok())
            })
            .unwrap_or(0)
    }

    /// The most memory the slot's processes have used so far, in MB (Lambda's `Max Memory Used`; cgroups only).
    pub fn max_memory_used_mb(&self) -> Option<u64> {
        let Kind::Cgroup { dir, v2 } = &self.kind else {
            return None;
        };
        let file = if *v2 {
            "memory.peak"
        } else {
            "memory.max_usage_in_bytes"
        };
        std::fs::read_to_string(dir.join(file))
            .ok()?
            .trim()
            .parse::<u64>()
            .ok()
            .map(|b| b.div_ceil(MIB))
    }
}

impl Drop for Confinement {
    fn drop(&mut self) {
        if let Kind::Cgroup { dir, .. } = &self.kind {
            // Removable once its process is gone: it was sent SIGKILL as the slot stopped, and may take a
            // moment to exit.
            for attempt in 0.. {
                match std::fs::remove_dir(dir) {
                    Ok(()) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                    Err(_) if attempt < 100 => {
                        std::thread::sleep(std::time::Duration::from_millis(10))
                    }
                    Err(e) => {
                        warn!(cgroup = %dir.display(), error.message = %e, "could not remove a function's cgroup");
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID_MOUNTS: &str = "\
30 25 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw
35 30 0:31 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory
36 30 0:32 / /sys/fs/cgroup/cpu\\040cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct";

    #[test]
    fn a_hybrid_host_limits_through_its_v1_memory_hierarchy_under_the_runner_s_own_cgroup() {
        let proc_cgroup = "9:pids:/\n4:memory:/process_api/23fa\n0::/\n";
        let found = candidates(proc_cgroup, HYBRID_MOUNTS);
        // cgroup2 is mounted at the root cgroup ("0::/"), where no controller is delegated on this fixture's
        // paths (they do not exist here), so v2 is offered for the root and tried first; v1 follows.
        assert_eq!(
            found,
            [
                Mechanism::CgroupV2 {
                    parent: "/sys/fs/cgroup/unified/".into()
                },
                Mechanism::CgroupV1 {
                    parent: "/sys/fs/cgroup/memory/process_api/23fa".into()
                }
            ]
        );
    }

    #[test]
    fn a_v1_only_host_without_a_memory_hierarchy_offers_nothing() {
        let found = candidates(
            "2:cpu,cpuacct:/x\n1:name=systemd:/x\n",
            "36 30 0:32 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu,cpuacct",
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn only_the_cgroups_of_runners_that_are_gone_are_stale() {
        let names: Vec<String> = [
            "ecobid-runner-17-ecobid-local-images-worker-0",
            "ecobid-runner-42-ecobid-local-api-1",
            "ecobid-runner-x-api",
            "someone-else",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            stale(&names, |pid| pid == 42),
            vec!["ecobid-runner-17-ecobid-local-images-worker-0"]
        );
    }

    #[test]
    fn mount_points_are_unescaped() {
        assert_eq!(
            unescape("/sys/fs/cgroup/cpu\\040cpuacct"),
            "/sys/fs/cgroup/cpu cpuacct"
        );
        assert_eq!(unescape("/plain"), "/plain");
    }

    #[test]
    fn without_a_cgroup_a_process_gets_an_rlimit_of_its_memory_size_in_kib() {
        let limits = MemoryLimits {
            mechanism: Mechanism::Rlimit,
            tag: "t".into(),
        };
        let confinement = limits.confine("f-0", 256).expect("rlimit");
        let command = confinement.command(Path::new("/code/bootstrap"));
        let args: Vec<_> = command
            .as_std()
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "-c",
                r#"ulimit -d "$1" && exec "$0""#,
                "/code/bootstrap",
                "262144"
            ]
        );
        assert_eq!(confinement.oom_kills(), 0);
        assert_eq!(confinement.max_memory_used_mb(), None);
    }
}
