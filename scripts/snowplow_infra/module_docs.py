"""The input and output tables of each module's README, generated from the module's own .tf files.

Between the markers terraform-docs uses (``<!-- BEGIN_TF_DOCS -->`` and ``<!-- END_TF_DOCS -->``)
each README under terraform/modules/ holds an "Inputs" and an "Outputs" table in terraform-docs'
markdown-table format, written here from the ``variable`` and ``output`` blocks (python-hcl2
parses them; terraform-docs itself cannot be installed from the registries this project uses).
The rows follow the order of the blocks in the files (variables.tf and outputs.tf first), which
is the order the module's authors chose. ``snowplow-infra docs`` rewrites them (``make docs``);
``snowplow-infra docs --check`` fails when one is stale, and runs in ``make lint``.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2

from snowplow_infra.paths import MODULES_DIR, REPO_ROOT

BEGIN = "<!-- BEGIN_TF_DOCS -->"
END = "<!-- END_TF_DOCS -->"
_FIRST_FILES = ("variables.tf", "outputs.tf")


class ModuleDocsError(RuntimeError):
    """A module's files or README cannot be documented as they are."""


@dataclass(frozen=True)
class Input:
    name: str
    description: str
    type: str
    default: str | None  # None: no default, the input is required


@dataclass(frozen=True)
class Output:
    name: str
    description: str


def _text(value: str) -> str:
    """The text of an HCL string as python-hcl2 returns it: quoted with its escapes, or a
    quoted heredoc (``<<-EOT`` strips the common indentation; its lines join into one)."""
    if not (len(value) >= 2 and value.startswith('"') and value.endswith('"')):
        return value
    inner = value[1:-1]
    heredoc = re.fullmatch(r"<<(-?)([A-Za-z_]\w*)\n(.*?)\n?[ \t]*\2", inner, re.DOTALL)
    if heredoc is None:
        decoded: str = json.loads(value)
        return decoded.replace("$${", "${").replace("%%{", "%{")
    lines = heredoc.group(3).split("\n")
    if heredoc.group(1):
        indent = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
        lines = [line[indent:] for line in lines]
    paragraphs = " ".join(line.strip() if line.strip() else "\n" for line in lines)
    return "<br><br>".join(part.strip() for part in paragraphs.split("\n") if part.strip())


def _expression(value: Any) -> str:
    """An HCL expression as python-hcl2 returns it (``${...}`` or a bare keyword)."""
    text = str(value)
    return text[2:-1] if text.startswith("${") and text.endswith("}") else text


def _literal(value: Any) -> Any:
    """A default value with python-hcl2's quoting undone, ready for json.dumps."""
    if isinstance(value, str):
        return _text(value) if value.startswith('"') else _expression(value)
    if isinstance(value, list):
        return [_literal(item) for item in value]
    if isinstance(value, dict):
        return {
            str(_literal(key)): _literal(item)
            for key, item in value.items()
            if key != "__is_block__"
        }
    return value


def _blocks(module: Path, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    files = sorted(module.glob("*.tf"), key=lambda p: (p.name not in _FIRST_FILES, p.name))
    for path in files:
        try:
            with path.open(encoding="utf-8") as handle:
                parsed = hcl2.load(handle)
        except Exception as error:  # python-hcl2 raises lark's errors, not one of its own
            raise ModuleDocsError(f"{path}: cannot be parsed as HCL ({error}).") from error
        for block in parsed.get(kind, []):
            for name, body in block.items():
                yield _text(name), body


def module_inputs(module: Path) -> list[Input]:
    inputs = []
    for name, body in _blocks(module, "variable"):
        default = (
            json.dumps(_literal(body["default"]), ensure_ascii=False) if "default" in body else None
        )
        inputs.append(
            Input(
                name=name,
                description=_text(body.get("description", '""')),
                type=_expression(body.get("type", "any")),
                default=default,
            )
        )
    return inputs


def module_outputs(module: Path) -> list[Output]:
    blocks = _blocks(module, "output")
    return [Output(name, _text(body.get("description", '""'))) for name, body in blocks]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def _code(text: str) -> str:
    return f"`{_cell(text)}`"


def _anchor(kind: str, name: str) -> str:
    """terraform-docs' name cell: an anchor and a link to it (underscores escaped)."""
    escaped = name.replace("_", "\\_")
    return f'<a name="{kind}_{name}"></a> [{escaped}](#{kind}\\_{escaped})'


def tables(module: Path) -> str:
    """The text between the markers for a module, terraform-docs' markdown-table format."""
    lines = ["## Inputs", ""]
    inputs = module_inputs(module)
    if inputs:
        lines += [
            "| Name | Description | Type | Default | Required |",
            "|------|-------------|------|---------|:--------:|",
        ]
        for item in inputs:
            default = "n/a" if item.default is None else _code(item.default)
            lines.append(
                f"| {_anchor('input', item.name)} | {_cell(item.description) or 'n/a'} | "
                f"{_code(item.type)} | {default} | {'yes' if item.default is None else 'no'} |"
            )
    else:
        lines.append("No inputs.")
    lines += ["", "## Outputs", ""]
    outputs = module_outputs(module)
    if outputs:
        lines += ["| Name | Description |", "|------|-------------|"]
        for output in outputs:
            lines.append(f"| {_anchor('output', output.name)} | {_cell(output.description)} |")
    else:
        lines.append("No outputs.")
    return "\n".join(lines)


def rendered(readme: Path, module: Path) -> str:
    """The README with its generated section replaced by the module's current tables."""
    text = readme.read_text(encoding="utf-8")
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise ModuleDocsError(
            f"{readme}: needs exactly one {BEGIN} line followed by one {END} line, between which "
            "the input and output tables are generated."
        )
    before, rest = text.split(BEGIN, 1)
    _, after = rest.split(END, 1)
    return f"{before}{BEGIN}\n{tables(module)}\n{END}{after}"


def modules() -> list[Path]:
    return sorted(path.parent for path in MODULES_DIR.glob("*/README.md"))


def stale_readmes(write: bool) -> list[Path]:
    """The module READMEs whose tables differ from their modules (rewritten when ``write``)."""
    stale = []
    for module in modules():
        readme = module / "README.md"
        text = rendered(readme, module)
        if text != readme.read_text(encoding="utf-8"):
            stale.append(readme)
            if write:
                readme.write_text(text, encoding="utf-8")
    return stale


def run(args: argparse.Namespace) -> int:
    try:
        stale = stale_readmes(write=not args.check)
    except ModuleDocsError as error:
        print(f"docs: {error}")
        return 1
    shown = [str(path.relative_to(REPO_ROOT)) for path in stale]
    if args.check and stale:
        print(
            "docs: these module READMEs' input/output tables differ from the modules' .tf files; "
            f"run `make docs` and commit the result: {', '.join(shown)}"
        )
        return 1
    if stale:
        print(f"docs: rewrote the tables of {', '.join(shown)}")
    return 0


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "docs",
        help="write the module READMEs' input and output tables from their .tf files",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 when a table is stale"
    )
    parser.set_defaults(handler=run)
