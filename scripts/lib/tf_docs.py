"""The inputs and outputs tables of each Terraform module's README, generated from its `variables.tf` and
`outputs.tf` (what terraform-docs does, where it cannot be installed), between the markers
`<!-- BEGIN_TF_DOCS -->` and `<!-- END_TF_DOCS -->` (appended when the README has none).

    scripts/tf-docs            # rewrite the tables of every module under terraform/modules
    scripts/tf-docs --check    # exit 1, naming the READMEs that are out of date (scripts/test)

Parses HCL with python-hcl2 (pinned in scripts/local/requirements.txt).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from pathlib import Path

import hcl2

BEGIN = "<!-- BEGIN_TF_DOCS -->"
END = "<!-- END_TF_DOCS -->"


def _text(value) -> str:
    """A string as python-hcl2 gives it (quoted, `${...}` around expressions), as written in the source."""
    if not isinstance(value, str):
        return json.dumps(value, separators=(", ", ": "))
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            value = json.loads(value, strict=False)
        except json.JSONDecodeError:
            value = value[1:-1]
    if value.startswith("${") and value.endswith("}"):
        value = value[2:-1]
    heredoc = re.fullmatch(r"<<-?(\w+)\n(.*?)\n\s*\1\s*", value, re.S)
    if heredoc:
        value = textwrap.dedent(heredoc.group(2))
    return value


def _name(key: str) -> str:
    return key.strip('"')


def _cell(text: str) -> str:
    """One table cell: one line, pipes escaped."""
    return re.sub(r"\s+", " ", text).strip().replace("|", "\\|")


def _prose(text: str) -> str:
    """A description's cell: as `_cell`, and angle brackets shown, not taken for HTML."""
    return _cell(text).replace("<", "&lt;").replace(">", "&gt;")


def _default(value) -> str:
    if isinstance(value, str):
        return f"`{_cell(json.dumps(_text(value)))}`"
    return f"`{_cell(json.dumps(_clean(value), separators=(', ', ': ')))}`"


def _clean(value):
    """A default value without python-hcl2's annotations and quoting."""
    if isinstance(value, dict):
        return {_name(k): _clean(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, str):
        return _text(value)
    return value


def blocks(path: Path, kind: str) -> list[tuple[str, dict]]:
    if not path.exists():
        return []
    with path.open() as f:
        parsed = hcl2.load(f)
    return [(_name(name), body) for block in parsed.get(kind, []) for name, body in block.items()]


def tables(module: Path) -> str:
    lines = [BEGIN, "## Inputs", ""]
    variables = blocks(module / "variables.tf", "variable")
    if variables:
        lines += ["| Name | Description | Type | Default | Required |", "|---|---|---|---|:---:|"]
        for name, body in sorted(variables):
            required = "default" not in body
            default = "n/a" if required else _default(body["default"])
            lines.append(
                f"| `{name}` | {_prose(_text(body.get('description', '')))} | "
                f"`{_cell(_text(body.get('type', 'any')))}` | {default} | {'yes' if required else 'no'} |"
            )
    else:
        lines.append("No inputs.")
    lines += ["", "## Outputs", ""]
    outputs = blocks(module / "outputs.tf", "output")
    if outputs:
        lines += ["| Name | Description |", "|---|---|"]
        for name, body in sorted(outputs):
            lines.append(f"| `{name}` | {_prose(_text(body.get('description', '')))} |")
    else:
        lines.append("No outputs.")
    lines.append(END)
    return "\n".join(lines) + "\n"


def render(readme: str, generated: str) -> str:
    if BEGIN in readme and END in readme:
        before, rest = readme.split(BEGIN, 1)
        after = rest.split(END, 1)[1].lstrip("\n")
        return before + generated + (("\n" + after) if after else "")
    return readme.rstrip("\n") + "\n\n" + generated


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if a README is out of date; change nothing")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2] / "terraform")
    args = parser.parse_args()
    stale = []
    modules = [args.root, *sorted(p for p in (args.root / "modules").iterdir() if p.is_dir())]
    for module in modules:
        readme_path = module / "README.md"
        readme = readme_path.read_text() if readme_path.exists() else f"# {module.name}\n"
        wanted = render(readme, tables(module))
        if wanted != readme:
            stale.append(readme_path)
            if not args.check:
                readme_path.write_text(wanted)
    if args.check and stale:
        for p in stale:
            print(f"out of date: {p} (run scripts/tf-docs)")
        return 1
    print(f"{len(modules)} module READMEs {'checked' if args.check else 'written'}" + (f", {len(stale)} updated" if stale and not args.check else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
