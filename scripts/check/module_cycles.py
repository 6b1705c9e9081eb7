"""No module imports a module that imports it back, within any crate of the workspace (run by scripts/test).

A module is a file of a crate's `src/` (`foo.rs` or `foo/mod.rs` is `crate::foo`; `foo/bar.rs` is
`crate::foo::bar`). Module A depends on module B when A names `crate::B…` (or `super::…` resolving to B) in a
`use` or a path. A child's tests (`foo/tests.rs`) and a module's own submodules are not dependencies of it.
Prints every cycle and exits 1 if there is one.

    python3 scripts/check/module_cycles.py [ROOT]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

PATH = re.compile(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
COMMENT = re.compile(r"//.*?$", re.M)


def crates(root: Path) -> list[Path]:
    return sorted(p.parent / "src" for p in root.glob("**/Cargo.toml") if (p.parent / "src").is_dir()
                  and "target" not in p.parts and ".venv" not in str(p))


def module_of(src: Path, file: Path) -> tuple[str, ...]:
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def resolve(module: tuple[str, ...], is_mod_file: bool, kind: str, path: list[str], known: set) -> tuple | None:
    """The longest known module a path names, or None."""
    if kind == "crate":
        base: list[str] = []
    else:
        # `super` of a module file foo/bar.rs (module foo::bar) is foo; chains of super climb further.
        base = list(module)
        while path and path[0] == "super":
            path = path[1:]
            base = base[:-1]
        base = base[:-1]
    full = base + path
    for n in range(len(full), 0, -1):
        if tuple(full[:n]) in known:
            return tuple(full[:n])
    return None


def edges(src: Path) -> dict[tuple, set]:
    files = [f for f in src.rglob("*.rs")]
    modules = {module_of(src, f): f for f in files}
    known = set(modules)
    graph: dict[tuple, set] = {m: set() for m in modules}
    for m, f in modules.items():
        if f.stem == "tests" or "tests" in m:
            continue
        text = COMMENT.sub("", f.read_text())
        for kind, rest in PATH.findall(text):
            path = rest.strip(":").split("::")
            target = resolve(m, f.name in ("mod.rs", "lib.rs", "main.rs"), kind, path, known)
            if target is None or target == m or target[: len(m)] == m or m[: len(target)] == target:
                continue  # itself, its own submodules, or its ancestors' re-exports
            graph[m].add(target)
    return graph


def cycles(graph: dict[tuple, set]) -> list[list[tuple]]:
    found, seen = [], set()
    for a in graph:
        for b in graph[a]:
            if a in graph.get(b, set()) and (b, a) not in seen:
                seen.add((a, b))
                found.append([a, b])
    # Longer cycles: a depth-first search from each module.
    def walk(start, node, path, visited):
        for nxt in graph.get(node, ()):
            if nxt == start and len(path) > 2:
                key = frozenset(path)
                if key not in seen:
                    seen.add(key)
                    found.append(path + [start])
            elif nxt not in visited and nxt > start:
                walk(start, nxt, path + [nxt], visited | {nxt})

    for start in graph:
        walk(start, start, [start], {start})
    return found


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2])
    bad = 0
    for src in crates(root):
        for cycle in cycles(edges(src)):
            bad += 1
            names = " -> ".join("crate::" + "::".join(m) if m else "crate" for m in cycle)
            print(f"{src.parent.relative_to(root)}: {names}")
    if bad:
        print(f"{bad} module cycle(s): a module imports a module that imports it back")
        return 1
    print("no module cycles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
