"""RECORD_FORMAT=enriched: the rules for atomic fields and for the JSON fields."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from allowlist import load_allowlist
from enriched import JSON_CACHE_MAX_LENGTH, enriched_transform
from errors import MalformedRecordError
from event_fields import FIELD_NAMES
from firehose import Transformed
from pseudonym import Pseudonymizer

from snowplow_infra.sample_events import enriched_events, enriched_line

from .conftest import SALT, assert_absent, reference_pseudonym

P = reference_pseudonym
CONTEXTS = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1"
UNSTRUCT = "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0"
GITLAB_STANDARD = "iglu:com.gitlab/gitlab_standard/jsonschema/1-0-10"
UA_PARSER = "iglu:com.snowplowanalytics.snowplow/ua_parser_context/jsonschema/1-0-0"


@pytest.fixture
def transform() -> Callable[[str], Transformed]:
    return enriched_transform(load_allowlist(), Pseudonymizer(SALT))


def fields_of(output: str) -> dict[str, str]:
    (line,) = output.split("\n")[:-1]
    values = line.split("\t")
    assert len(values) == len(FIELD_NAMES)
    return dict(zip(FIELD_NAMES, values, strict=True))


def contexts_field(*entities: dict) -> str:
    return json.dumps({"schema": CONTEXTS, "data": list(entities)})


def test_atomic_fields(transform: Callable[[str], Transformed]) -> None:
    line = enriched_line(
        {
            "app_id": "gitlab",
            "event_id": "4b1c0a43-8c2d-4f5f-9c3e-0a4c2b1d5e6f",
            "user_ipaddress": "198.51.100.7",
            "page_url": "https://gitlab.com/planted-group/project?token=abc",
            "tr_city": "Berlin",  # nobody listed it: hashed
            "refr_dvce_tstamp": "2024-05-01 12:00:00.000",
        }
    )
    result = transform(line)
    fields = fields_of(result.text)
    assert fields["app_id"] == "gitlab"
    assert fields["event_id"] == "4b1c0a43-8c2d-4f5f-9c3e-0a4c2b1d5e6f"
    assert fields["user_ipaddress"] == P("198.51.100.7")
    assert fields["page_url"] == P("https://gitlab.com/planted-group/project?token=abc")
    assert fields["tr_city"] == P("Berlin")
    assert fields["refr_dvce_tstamp"] == P("2024-05-01 12:00:00.000")
    empty = [name for name, value in fields.items() if value == ""]
    assert len(empty) == len(FIELD_NAMES) - 6, "empty fields stay empty"
    assert (result.lines, result.unparsable_json) == (1, 0)


def test_allowlisted_fields_are_kept_even_when_they_look_personal(
    transform: Callable[[str], Transformed],
) -> None:
    line = enriched_line({"geo_city": "Planted Town", "br_lang": "de-DE", "se_value": "1.50"})
    fields = fields_of(transform(line).text)
    assert (fields["geo_city"], fields["br_lang"], fields["se_value"]) == (
        "Planted Town",
        "de-DE",
        "1.50",
    )


def test_lines_keep_their_order_and_each_ends_with_a_newline(
    transform: Callable[[str], Transformed],
) -> None:
    lines = [enriched_line({"app_id": f"app-{n}", "user_id": f"user-{n}"}) for n in range(3)]
    for text in ("\n".join(lines), "\n".join(lines) + "\n"):
        result = transform(text)
        assert result.text.endswith("\n")
        output = result.text.split("\n")[:-1]
        assert [line.split("\t")[0] for line in output] == ["app-0", "app-1", "app-2"]
        assert [line.split("\t")[12] for line in output] == [P(f"user-{n}") for n in range(3)]
        assert all(line.count("\t") == 130 for line in output)
        assert result.lines == 3


@pytest.mark.parametrize("count", [130, 132, 1])
def test_a_line_without_131_fields_is_malformed(
    transform: Callable[[str], Transformed], count: int
) -> None:
    good = enriched_line({"app_id": "gitlab"})
    with pytest.raises(MalformedRecordError, match=f"Line 2 .* {count} tab-separated"):
        transform(good + "\n" + "\t".join(["v"] * count) + "\n")


def test_an_empty_record_is_malformed(transform: Callable[[str], Transformed]) -> None:
    with pytest.raises(MalformedRecordError, match="no enriched event"):
        transform("")


def test_json_fields_keep_structure_schemas_booleans_and_nulls_and_hash_unknown_keys(
    transform: Callable[[str], Transformed],
) -> None:
    contexts = contexts_field(
        {
            "schema": "iglu:com.acme/custom/jsonschema/1-0-0",
            "data": {
                "name": "Planted Person",
                "active": True,
                "deleted": False,
                "manager": None,
                "tags": ["a", "b", 3],
                "nested": {"schema": "not an iglu uri", "deep": [{"x": "y"}]},
            },
        }
    )
    fields = fields_of(transform(enriched_line({"contexts": contexts})).text)
    assert json.loads(fields["contexts"]) == {
        "schema": CONTEXTS,
        "data": [
            {
                "schema": "iglu:com.acme/custom/jsonschema/1-0-0",
                "data": {
                    P("name"): P("Planted Person"),
                    P("active"): True,
                    P("deleted"): False,
                    P("manager"): None,
                    P("tags"): [P("a"), P("b"), P("3")],
                    P("nested"): {
                        P("schema"): P("not an iglu uri"),
                        P("deep"): [{P("x"): P("y")}],
                    },
                },
            }
        ],
    }


@pytest.mark.parametrize("literal", ["5000007", "1.50", "-0", "1e5", "2.5E-3", "-12.000"])
def test_numbers_hash_their_literal_text(
    transform: Callable[[str], Transformed], literal: str
) -> None:
    text = '{"schema":"%s","data":{"schema":"iglu:a/b/jsonschema/1-0-0","data":{"n":%s}}}'
    unstruct = text % (UNSTRUCT, literal)
    fields = fields_of(transform(enriched_line({"unstruct_event": unstruct})).text)
    assert json.loads(fields["unstruct_event"])["data"]["data"][P("n")] == P(literal)


def test_allowlisted_paths_are_kept_per_schema_and_version(
    transform: Callable[[str], Transformed],
) -> None:
    standard = {
        "environment": "production",
        "source": "gitlab-rails",
        "plan": "ultimate",
        "realm": "saas",
        "user_id": 5000007,
        "project_id": 278964,
        "namespace_id": 9970,
        "extra": {"environment": "hashed: not at the allowlisted path"},
    }
    contexts = contexts_field(
        {"schema": GITLAB_STANDARD, "data": standard},
        {"schema": "iglu:com.gitlab/gitlab_standard/jsonschema/2-0-0", "data": standard},
        {"schema": UA_PARSER, "data": {"useragentFamily": "Firefox", "osMajor": None}},
    )
    fields = fields_of(transform(enriched_line({"contexts": contexts})).text)
    current, future, ua = (entity["data"] for entity in json.loads(fields["contexts"])["data"])
    assert {key: current[key] for key in ("environment", "source", "plan", "realm")} == {
        "environment": "production",
        "source": "gitlab-rails",
        "plan": "ultimate",
        "realm": "saas",
    }
    assert current["user_id"] == P("5000007")
    assert current["project_id"] == P("278964")
    assert current["namespace_id"] == P("9970")
    assert current["extra"] == {P("environment"): P("hashed: not at the allowlisted path")}
    assert future[P("environment")] == P("production"), "version 2-0-0 is not allowlisted"
    assert ua == {"useragentFamily": "Firefox", "osMajor": None}


def test_a_kept_number_stays_a_number(transform: Callable[[str], Transformed]) -> None:
    # The GitLab standard context's allowlisted keys hold strings; a number there stays a number.
    contexts = contexts_field({"schema": GITLAB_STANDARD, "data": {"plan": 3, "realm": 1.5}})
    fields = fields_of(transform(enriched_line({"contexts": contexts})).text)
    assert json.loads(fields["contexts"])["data"][0]["data"] == {"plan": 3, "realm": 1.5}


def test_arrays_are_pseudonymized_element_by_element(
    transform: Callable[[str], Transformed],
) -> None:
    contexts = contexts_field(
        {"schema": GITLAB_STANDARD, "data": {"feature_enabled_by_namespace_ids": [1, [2, "3"]]}}
    )
    fields = fields_of(transform(enriched_line({"contexts": contexts})).text)
    data = json.loads(fields["contexts"])["data"][0]["data"]
    assert data["feature_enabled_by_namespace_ids"] == [P("1"), [P("2"), P("3")]]


def test_non_ascii_stays_readable_json(transform: Callable[[str], Transformed]) -> None:
    contexts = contexts_field({"schema": GITLAB_STANDARD, "data": {"plan": "pr\u00e9mium"}})
    fields = fields_of(transform(enriched_line({"contexts": contexts})).text)
    assert '"plan":"pr\u00e9mium"' in fields["contexts"]


@pytest.mark.parametrize(
    "broken",
    ['{"schema": "iglu:', "not json", '{"a": 1} trailing', "[" * 100_000],
)
def test_a_json_field_that_does_not_parse_is_hashed_whole_and_counted(
    transform: Callable[[str], Transformed], broken: str
) -> None:
    result = transform(enriched_line({"derived_contexts": broken, "app_id": "gitlab"}))
    assert fields_of(result.text)["derived_contexts"] == P(broken)
    assert result.unparsable_json == 1


def test_repeated_json_fields_give_the_same_output_and_counts(
    transform: Callable[[str], Transformed],
) -> None:
    """The JSON-field cache must not change the output, nor the counts."""
    events = enriched_events(40, seed=7)
    first = [transform(sample.text) for sample in events]
    again = [transform(sample.text) for sample in events]
    assert [r.text for r in first] == [r.text for r in again]
    fresh = enriched_transform(load_allowlist(), Pseudonymizer(SALT))
    assert [fresh(sample.text).text for sample in events] == [r.text for r in first]


def test_realistic_events_leak_no_planted_value(transform: Callable[[str], Transformed]) -> None:
    events = enriched_events(200, seed=11)
    assert sum(len(sample.planted) for sample in events) > 1000
    for sample in events:
        assert all(value in sample.text for value in sample.planted)
        assert_absent(sample.planted, transform(sample.text).text)


def test_long_json_fields_are_not_remembered_but_still_right(
    transform: Callable[[str], Transformed],
) -> None:
    long_text = "planted " * (JSON_CACHE_MAX_LENGTH // 8 + 1)
    contexts = contexts_field({"schema": GITLAB_STANDARD, "data": {"extra": long_text}})
    for _ in range(2):
        fields = fields_of(transform(enriched_line({"contexts": contexts})).text)
        assert json.loads(fields["contexts"])["data"][0]["data"] == {"extra": P(long_text)}
