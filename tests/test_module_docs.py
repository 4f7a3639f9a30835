"""Module READMEs: the input and output tables between the terraform-docs markers are exactly
what the module's .tf files say (make docs writes them; make lint fails when one is stale)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from snowplow_infra import module_docs
from snowplow_infra.paths import MODULES_DIR


def test_every_module_readme_has_current_tables() -> None:
    assert module_docs.modules() == sorted(p.parent for p in MODULES_DIR.glob("*/versions.tf"))
    assert module_docs.stale_readmes(write=False) == []


@pytest.fixture
def module(tmp_path: Path) -> Path:
    folder = tmp_path / "example"
    folder.mkdir()
    (folder / "variables.tf").write_text(
        'variable "name" {\n'
        '  description = "The name: a | b, \\"quoted\\"."\n'
        "  type        = string\n"
        "}\n\n"
        'variable "sizes" {\n'
        "  description = <<-EOT\n"
        "    First line\n"
        "    continues here.\n"
        "  EOT\n"
        "  type        = map(number)\n"
        '  default     = { small = 1, "big" = 10 }\n'
        "}\n"
    )
    (folder / "outputs.tf").write_text(
        'output "arn" {\n  description = "ARN of the thing."\n  value       = "x"\n}\n'
    )
    (folder / "README.md").write_text(
        f"# example\n\nProse.\n\n{module_docs.BEGIN}\n{module_docs.END}\n\n## Tests\n"
    )
    return folder


def test_tables_follow_the_blocks(module: Path) -> None:
    text = module_docs.tables(module)
    assert (
        '| <a name="input_name"></a> [name](#input\\_name) | The name: a \\| b, "quoted". | '
        "`string` | n/a | yes |"
    ) in text
    assert (
        '| <a name="input_sizes"></a> [sizes](#input\\_sizes) | First line continues here. | '
        '`map(number)` | `{"small": 1, "big": 10}` | no |'
    ) in text
    assert '| <a name="output_arn"></a> [arn](#output\\_arn) | ARN of the thing. |' in text
    assert text.index("## Inputs") < text.index("## Outputs")


def test_a_changed_description_makes_the_readme_stale(module: Path) -> None:
    readme = module / "README.md"
    readme.write_text(module_docs.rendered(readme, module))
    assert module_docs.rendered(readme, module) == readme.read_text()
    variables = module / "variables.tf"
    variables.write_text(variables.read_text().replace("The name", "The new name"))
    assert module_docs.rendered(readme, module) != readme.read_text()
    assert "The new name" in module_docs.rendered(readme, module)
    assert module_docs.rendered(readme, module).endswith(f"{module_docs.END}\n\n## Tests\n")


def test_a_readme_without_markers_is_refused(module: Path) -> None:
    readme = module / "README.md"
    readme.write_text("# example\n\n## Inputs\n")
    with pytest.raises(module_docs.ModuleDocsError, match="BEGIN_TF_DOCS"):
        module_docs.rendered(readme, module)


def test_docs_check_reports_a_stale_module(
    module: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(module_docs, "MODULES_DIR", module.parent)
    monkeypatch.setattr(module_docs, "REPO_ROOT", module.parent)
    check = argparse.Namespace(check=True)
    assert module_docs.run(check) == 1
    assert "example/README.md" in capsys.readouterr().out
    assert module_docs.run(argparse.Namespace(check=False)) == 0  # make docs
    assert module_docs.run(check) == 0
