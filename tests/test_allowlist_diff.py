"""snowplow-infra allowlist-diff: every change of treatment, and the exit status CI gates on."""

from __future__ import annotations

from pathlib import Path

import pytest

from snowplow_infra import cli
from snowplow_infra.allowlist_diff import ALLOWLIST_PATH
from snowplow_infra.paths import REPO_ROOT

ALLOWLIST = REPO_ROOT / ALLOWLIST_PATH
TEXT = ALLOWLIST.read_text(encoding="utf-8")


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    assert TEXT.count(old) == 1, old
    path = tmp_path / "head.toml"
    path.write_text(TEXT.replace(old, new), encoding="utf-8")
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["allowlist-diff", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_same_allowlist_changes_nothing_and_exits_0(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _run(capsys, str(ALLOWLIST), "HEAD")
    assert code == 0
    assert "No field or path changes how it is pseudonymized." in out


def test_an_atomic_field_that_becomes_clear_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head = _variant(tmp_path, '"doc_charset", ', '"doc_charset", "ip_netspeed", ')
    output = tmp_path / "review" / "allowlist-diff.md"
    code, out, _ = _run(capsys, str(ALLOWLIST), str(head), "--output", str(output))
    assert code == 3
    assert "### Becomes clear text (needs the privacy approval)" in out
    assert "| `atomic field` | `ip_netspeed` | hash | keep |" in out
    assert output.read_text(encoding="utf-8") == out


def test_a_path_that_becomes_hashed_or_changes_form_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head = _variant(
        tmp_path,
        'schema = "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-*-*"\nkeep = ["id"]',
        'schema = "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-*-*"\n'
        'keep_keys = ["id", "extra"]',
    )
    code, out, _ = _run(capsys, str(ALLOWLIST), str(head))
    assert code == 0
    uri = "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0"
    table = "| where | field or path | before | after |\n| --- | --- | --- | --- |\n"
    assert f"### Becomes hashed\n\n{table}| `{uri}` | `id` | keep | hash |" in out
    assert f"### Changes form\n\n{table}| `{uri}` | `extra` | hash-whole | hash |" in out
    assert "Becomes clear text" not in out.split("\n\n", 2)[2]


def test_a_new_schema_pattern_is_compared_on_a_version_it_matches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head = tmp_path / "head.toml"
    head.write_text(
        TEXT + '\n[[entities]]\nschema = "iglu:com.example/*/jsonschema/2-*-*"\nkeep = ["kind"]\n',
        encoding="utf-8",
    )
    code, out, _ = _run(capsys, str(ALLOWLIST), str(head))
    assert code == 3
    assert "| `iglu:com.example/any-name/jsonschema/2-0-0` | `kind` | hash-whole | keep |" in out


def test_an_unreadable_or_invalid_input_exits_2_with_a_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "no-such-revision", str(ALLOWLIST))
    assert (code, out) == (2, "")
    assert "'no-such-revision' is neither an allowlist file nor a git revision" in err
    broken = _variant(tmp_path, '"doc_charset", ', '"doc_charset", "user_ipaddress", ')
    code, out, err = _run(capsys, str(ALLOWLIST), str(broken))
    assert (code, out) == (2, "")
    assert "never_keep forbids" in err
