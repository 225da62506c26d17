"""Generate the parameter tables of a chart's README from its values.yaml tags.

values.yaml documents every value in the Bitnami readme-generator style:
``## @section Title`` starts a table (the ``## `` lines right after it are its
intro) and ``## @param dotted.key Description`` adds a row; the default is
read from the parsed YAML. The tables replace what lies between
``<!-- parameters:start -->`` and ``<!-- parameters:end -->`` in README.md.

Usage: ``python helm/generate_readme.py [--check] [CHART_DIR]`` (default
``helm/parley``); ``--check`` exits 1 when README.md is stale.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

START = "<!-- parameters:start -->"
END = "<!-- parameters:end -->"
TAG = re.compile(r"^\s*## @(section|param|skip|extra)\s+(.*)$")
PARAM = re.compile(r"^(\S+)\s*(.*)$")
MISSING = object()


@dataclass
class Section:
    """One README table: a title, its intro and its parameters."""

    title: str
    intro: list[str] = field(default_factory=list)
    params: list[tuple[str, str]] = field(default_factory=list)


def parse_tags(text: str) -> list[Section]:
    """Return the sections and parameters tagged in a values.yaml text."""
    sections: list[Section] = []
    in_intro = False
    for line in text.splitlines():
        match = TAG.match(line)
        if match and match.group(1) == "section":
            sections.append(Section(match.group(2).strip()))
            in_intro = True
            continue
        if match and match.group(1) == "param":
            if not sections:
                raise ValueError(f"@param before any @section: {line.strip()}")
            key, description = PARAM.match(match.group(2).strip()).groups()
            sections[-1].params.append((key, description.strip()))
            in_intro = False
            continue
        stripped = line.strip()
        if in_intro and stripped.startswith("## ") and sections:
            sections[-1].intro.append(stripped[3:])
        elif in_intro and stripped not in ("", "##"):
            in_intro = False
    return sections


def lookup(values: Any, dotted: str) -> Any:
    """Return the value at a dotted path, or MISSING."""
    node = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return MISSING
        node = node[part]
    return node


def leaf_paths(values: Any, prefix: str = "") -> list[str]:
    """Every dotted path in values down to scalars, lists and empty maps."""
    if isinstance(values, dict) and values:
        paths: list[str] = []
        for key, child in values.items():
            paths.extend(leaf_paths(child, f"{prefix}.{key}" if prefix else str(key)))
        return paths
    return [prefix]


def render_value(value: Any) -> str:
    """Show a default the way the readme-generator does: JSON, strings quoted."""
    return "`" + json.dumps(value, separators=(", ", ": ")).replace("|", "\\|") + "`"


def render_tables(sections: list[Section], values: dict) -> str:
    """Render every section as a markdown heading, intro and table."""
    out: list[str] = []
    for section in sections:
        out.append(f"### {section.title}\n")
        if section.intro:
            out.append(" ".join(section.intro) + "\n")
        out.append("| Name | Description | Value |")
        out.append("| ---- | ----------- | ----- |")
        for key, description in section.params:
            value = lookup(values, key)
            if value is MISSING:
                raise KeyError(f"@param {key} names no value in values.yaml")
            cell = description.replace("|", "\\|")
            out.append(f"| `{key}` | {cell} | {render_value(value)} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def undocumented(sections: list[Section], values: dict) -> list[str]:
    """Leaf paths that no @param covers (itself or an ancestor)."""
    documented = {key for section in sections for key, _ in section.params}
    missing = []
    for path in leaf_paths(values):
        parts = path.split(".")
        if not any(".".join(parts[:n]) in documented for n in range(1, len(parts) + 1)):
            missing.append(path)
    return missing


def build_readme(chart: Path) -> tuple[str, str]:
    """Return (current README text, README text with fresh tables)."""
    text = (chart / "values.yaml").read_text()
    values = yaml.safe_load(text)
    sections = parse_tags(text)
    gaps = undocumented(sections, values)
    if gaps:
        raise ValueError(f"values without @param: {', '.join(gaps)}")
    readme = (chart / "README.md").read_text()
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    if not rest or END not in rest:
        raise ValueError(f"README.md needs the markers {START} and {END}")
    fresh = f"{head}{START}\n\n{render_tables(sections, values)}\n{END}{tail}"
    return readme, fresh


def main(argv: list[str] | None = None) -> int:
    """Rewrite the README's tables, or check that they are current."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chart", nargs="?", default="helm/parley", type=Path)
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md is stale")
    args = parser.parse_args(argv)
    current, fresh = build_readme(args.chart)
    if args.check:
        if current != fresh:
            print(f"{args.chart}/README.md is stale: run python helm/generate_readme.py")
            return 1
        return 0
    if current != fresh:
        (args.chart / "README.md").write_text(fresh)
        print(f"wrote {args.chart}/README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
