"""Realistic sample records for the pseudonymization Lambda: enriched events, bad rows, junk.

Used by the Lambda's tests, its benchmark (``make bench``) and the local demo. Everything is
deterministic for a given seed. Each sample lists the personal values planted in it, values that
must never survive pseudonymization, so a test can search the output for them. Planted values
contain characters that a 64-character hex pseudonym cannot (``@``, ``.``, ``-``, letters beyond
``f``) or are 12 digits long, so they cannot appear in a pseudonym by chance.

The enriched-event field names come from the Lambda package's ``enriched_fields.txt``, the single
list of the 131 names in the repository.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from snowplow_infra.paths import LAMBDA_SOURCE_DIR

FIELDS_FILE = LAMBDA_SOURCE_DIR / "enriched_fields.txt"


def load_field_names() -> tuple[str, ...]:
    """The 131 enriched-event field names in TSV order, from the Lambda package."""
    lines = FIELDS_FILE.read_text(encoding="utf-8").splitlines()
    return tuple(
        line.strip() for line in lines if line.strip() and not line.strip().startswith("#")
    )


FIELD_NAMES = load_field_names()

BAD_ROW_TYPES = (
    "schema_violations",
    "enrichment_failures",
    "collector_payload_format_violation",
    "adapter_failures",
    "tracker_protocol_violations",
    "size_violation",
    "generic_error",
)
BAD_ROW_SCHEMA = "iglu:com.snowplowanalytics.snowplow.badrows/{}/jsonschema/2-0-0"
CONTEXTS_SCHEMA = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1"
UNSTRUCT_SCHEMA = "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0"
WEB_PAGE_SCHEMA = "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0"
GITLAB_STANDARD_SCHEMA = "iglu:com.gitlab/gitlab_standard/jsonschema/1-0-10"
UA_PARSER_SCHEMA = "iglu:com.snowplowanalytics.snowplow/ua_parser_context/jsonschema/1-0-0"
LINK_CLICK_SCHEMA = "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1"
SERVICE_PING_SCHEMA = "iglu:com.gitlab/gitlab_service_ping/jsonschema/1-0-1"
PAYLOAD_DATA_SCHEMA = "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4"

_BROWSERS = (
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36",
        ("Chrome", "124", "0", "0", "Mac OS X", "10", "15", "7", "Mac"),
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
        ("Firefox", "125", "0", None, "Windows", "10", None, None, "Other"),
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/123.0.0.0 Safari/537.36",
        ("Chrome", "123", "0", "0", "Linux", None, None, None, "Other"),
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        ("Mobile Safari", "17", "4", None, "iOS", "17", "4", None, "iPhone"),
    ),
)
_PAGES = (
    ("issues", "Issues"),
    ("merge_requests", "Merge requests"),
    ("pipelines", "Pipelines"),
    ("tree/main", "Files"),
    ("boards", "Issue boards"),
)
_STRUCT_ACTIONS = (
    ("projects:issues:show", "click_button"),
    ("projects:merge_requests:show", "click_approve"),
    ("dashboard:projects:index", "render"),
    ("groups:show", "click_link"),
)
_PLANS = ("free", "premium", "ultimate")


@dataclass(frozen=True)
class Sample:
    """One record's data (text) and the personal values planted in it."""

    kind: str
    text: str
    planted: tuple[str, ...] = ()


@dataclass
class _User:
    """A GitLab.com user who sends several events."""

    number: int
    username: str
    email: str
    full_name: str
    ip_address: str
    numeric_id: int
    domain_userid: str
    network_userid: str
    useragent: str
    ua_parsed: tuple[str | None, ...]
    namespace: str
    project: str
    namespace_id: int
    project_id: int
    plan: str
    sessions: list[str] = field(default_factory=list)

    @property
    def planted(self) -> tuple[str, ...]:
        return (
            self.username,
            self.email,
            self.full_name,
            self.ip_address,
            str(self.numeric_id),
            self.domain_userid,
            self.network_userid,
            self.useragent,
            str(self.project_id),
            str(self.namespace_id),
        )


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _user(rng: random.Random, number: int) -> _User:
    useragent, parsed = rng.choice(_BROWSERS)
    name = f"planted-user-{number:04d}"
    return _User(
        number=number,
        username=name,
        email=f"{name}@example.org",
        full_name=f"Planted Person {number:04d}",
        ip_address=f"198.51.{100 + number // 250}.{number % 250 + 1}",
        numeric_id=100_000_000_000 + number * 7_919,
        domain_userid=_uuid(rng),
        network_userid=_uuid(rng),
        # A trailing comment makes each user's user agent string distinct and findable.
        useragent=f"{useragent} (planted-ua-{number:04d})",
        ua_parsed=parsed,
        namespace=f"planted-group-{number:04d}",
        project=f"planted-project-{number:04d}",
        namespace_id=200_000_000_000 + number * 104_729,
        project_id=300_000_000_000 + number * 1_299_709,
        plan=rng.choice(_PLANS),
    )


def _tstamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


@dataclass
class _PageView:
    """A page that a user opened: all its events share the URL, the web_page id and the GitLab
    standard context, which GitLab renders once per page (with its correlation id)."""

    user: _User
    started: datetime
    session_id: str
    session_index: int
    page_id: str
    path: str
    query: str
    title: str
    referrer_path: str
    correlation_id: str
    view_size: tuple[int, int]
    doc_height: int

    @property
    def url(self) -> str:
        return f"https://gitlab.com{self.path}?{self.query}"


def _page_view(user: _User, started: datetime, rng: random.Random) -> _PageView:
    if not user.sessions or rng.random() < 0.3:
        user.sessions.append(_uuid(rng))
    page, page_name = rng.choice(_PAGES)
    return _PageView(
        user=user,
        started=started,
        session_id=user.sessions[-1],
        session_index=len(user.sessions),
        page_id=_uuid(rng),
        path=f"/{user.namespace}/{user.project}/-/{page}/{rng.randint(1, 4000)}",
        query=f"assignee_username={user.username}&sort=created_date",
        title=f"{page_name} · {user.full_name} / {user.project} · GitLab",
        referrer_path=f"/{user.namespace}/{user.project}",
        correlation_id=uuid.UUID(int=rng.getrandbits(128)).hex,
        view_size=(rng.choice((1280, 1440, 1920)), rng.choice((720, 900, 1080))),
        doc_height=rng.randint(900, 6000),
    )


def _contexts(view: _PageView, extra: dict[str, Any]) -> str:
    user = view.user
    standard = {
        "environment": "production",
        "source": "gitlab-javascript",
        "plan": user.plan,
        "extra": extra,
        "user_id": user.numeric_id,
        "namespace_id": user.namespace_id,
        "project_id": user.project_id,
        "context_generated_at": view.started.isoformat(timespec="milliseconds").replace(
            "+00:00", "Z"
        ),
        "realm": "saas",
        "instance_id": "c1a0f6a4-3b5e-4a0c-9a45-0e7d2f9f3b11",
        "host_name": "gitlab-webservice-default-7d9f8c6b5-x2kqp",
        "instance_version": "17.0.0",
        "correlation_id": view.correlation_id,
        "global_user_id": hashlib.sha256(user.email.encode()).hexdigest()[:40],
        "is_gitlab_team_member": user.number % 10 == 0,
        "feature_enabled_by_namespace_ids": [user.namespace_id, 1_000_000_000_000 + user.number],
        "google_analytics_id": f"GA1.2.{user.numeric_id}.{1_700_000_000 + user.number}",
    }
    return _json(
        {
            "schema": CONTEXTS_SCHEMA,
            "data": [
                {"schema": WEB_PAGE_SCHEMA, "data": {"id": view.page_id}},
                {"schema": GITLAB_STANDARD_SCHEMA, "data": standard},
            ],
        }
    )


def _derived_contexts(user: _User) -> str:
    keys = ("useragentFamily", "useragentMajor", "useragentMinor", "useragentPatch")
    os_keys = ("osFamily", "osMajor", "osMinor", "osPatch")
    family, major, minor, patch, os_family, os_major, os_minor, os_patch, device = user.ua_parsed
    data: dict[str, Any] = dict(zip(keys, (family, major, minor, patch), strict=True))
    data["useragentVersion"] = f"{family} {major}.{minor}"
    data.update(zip(os_keys, (os_family, os_major, os_minor, os_patch), strict=True))
    data["osPatchMinor"] = None
    data["osVersion"] = os_family if os_major is None else f"{os_family} {os_major}"
    data["deviceFamily"] = device
    return _json({"schema": CONTEXTS_SCHEMA, "data": [{"schema": UA_PARSER_SCHEMA, "data": data}]})


def _unstruct_event(user: _User, page_url: str, rng: random.Random) -> tuple[str, tuple[str, ...]]:
    if rng.random() < 0.5:
        target = f"https://gitlab.com/{user.namespace}/{user.project}/-/blob/main/README.md"
        data = {
            "schema": LINK_CLICK_SCHEMA,
            "data": {
                "targetUrl": target,
                "elementId": f"link-{rng.randint(1, 9)}",
                "elementClasses": ["gl-link", "js-file-link"],
                "elementTarget": "_self",
            },
        }
        return _json({"schema": UNSTRUCT_SCHEMA, "data": data}), ("link_click", "1-0-1")
    data = {
        "schema": SERVICE_PING_SCHEMA,
        "data": {
            "event_name": "i_code_review_user_approve_mr",
            "key_path": "counts_weekly.aggregated_metrics.code_review_group_monthly_active_users",
            "data_source": "redis_hll",
            "referrer": page_url,
        },
    }
    return _json({"schema": UNSTRUCT_SCHEMA, "data": data}), ("gitlab_service_ping", "1-0-1")


def _enriched_fields(
    view: _PageView, event: str, moment: datetime, rng: random.Random
) -> tuple[dict[str, str], list[str]]:
    """The non-empty fields of one event on a page view and the planted values it carries."""
    user = view.user
    sent = moment + timedelta(milliseconds=rng.randint(5, 900))
    collected = sent + timedelta(milliseconds=rng.randint(20, 300))
    extra: dict[str, Any] = {}
    if event == "struct" and rng.random() < 0.3:
        extra = {"label": f"{user.username} clicked", "value": rng.randint(1, 50)}
    event_id = _uuid(rng)
    fields = {
        "app_id": "gitlab",
        "platform": "web",
        "etl_tstamp": _tstamp(collected + timedelta(seconds=2)),
        "collector_tstamp": _tstamp(collected),
        "dvce_created_tstamp": _tstamp(moment),
        "event": event,
        "event_id": event_id,
        "name_tracker": "gl",
        "v_tracker": "js-3.23.0",
        "v_collector": "ssc-3.2.0-kinesis",
        "v_etl": "snowplow-enrich-kinesis-5.1.2",
        "user_ipaddress": user.ip_address,
        "domain_userid": user.domain_userid,
        "domain_sessionidx": str(view.session_index),
        "network_userid": user.network_userid,
        "page_url": view.url,
        "page_title": view.title,
        "page_referrer": f"https://gitlab.com{view.referrer_path}",
        "page_urlscheme": "https",
        "page_urlhost": "gitlab.com",
        "page_urlport": "443",
        "page_urlpath": view.path,
        "page_urlquery": view.query,
        "refr_urlscheme": "https",
        "refr_urlhost": "gitlab.com",
        "refr_urlport": "443",
        "refr_urlpath": view.referrer_path,
        "refr_medium": "internal",
        "contexts": _contexts(view, extra),
        "useragent": user.useragent,
        "br_lang": "en-US",
        "br_cookies": "1",
        "br_colordepth": "24",
        "br_viewwidth": str(view.view_size[0]),
        "br_viewheight": str(view.view_size[1]),
        "os_timezone": "Europe/Berlin",
        "dvce_screenwidth": "1920",
        "dvce_screenheight": "1080",
        "doc_charset": "UTF-8",
        "doc_width": "1440",
        "doc_height": str(view.doc_height),
        "dvce_sent_tstamp": _tstamp(sent),
        "derived_contexts": _derived_contexts(user),
        "domain_sessionid": view.session_id,
        "derived_tstamp": _tstamp(collected - (sent - moment)),
        "event_fingerprint": hashlib.md5(event_id.encode(), usedforsecurity=False).hexdigest(),
    }
    planted = [*user.planted, view.session_id]
    if rng.random() < 0.3:
        fields["user_id"] = user.email
    if event == "page_view" and rng.random() < 0.2:
        term = f"planted-search-{user.number:04d} how to rebase"
        fields.update({"refr_medium": "search", "refr_source": "Google", "refr_term": term})
        planted.append(term)
    if event == "page_view" and rng.random() < 0.1:
        fields.update(
            {
                "mkt_medium": "email",
                "mkt_source": "newsletter",
                "mkt_campaign": "2024-05-release",
                "mkt_term": f"planted-term-{user.number:04d}",
                "mkt_clickid": f"planted-click-{_uuid(rng)}",
            }
        )
        planted += [fields["mkt_term"], fields["mkt_clickid"]]
    vendor, name, version = "com.snowplowanalytics.snowplow", event, "1-0-0"
    if event == "struct":
        category, action = rng.choice(_STRUCT_ACTIONS)
        label = f"planted-label-{user.number:04d}"
        fields.update(
            {
                "se_category": category,
                "se_action": action,
                "se_label": label,
                "se_property": f"{user.namespace}/{user.project}",
                "se_value": f"{rng.randint(0, 99)}.50",
            }
        )
        planted.append(label)
        vendor, name = "com.google.analytics", "event"
    elif event == "unstruct":
        fields["unstruct_event"], (name, version) = _unstruct_event(user, view.url, rng)
        vendor = "com.gitlab" if name == "gitlab_service_ping" else vendor
    elif event == "page_ping":
        fields.update(
            {
                "pp_xoffset_min": "0",
                "pp_xoffset_max": "0",
                "pp_yoffset_min": str(rng.randint(0, 500)),
                "pp_yoffset_max": str(rng.randint(500, 3000)),
            }
        )
    fields.update(
        {
            "event_vendor": vendor,
            "event_name": name,
            "event_format": "jsonschema",
            "event_version": version,
        }
    )
    return fields, planted


def enriched_events(
    count: int, *, seed: int = 0, events_per_user: int = 8, start: datetime | None = None
) -> list[Sample]:
    """``count`` enriched events (one TSV line each, no trailing newline), in time order.

    Users (``count // events_per_user`` of them) open pages; each page view sends a page_view
    event, then a few structured or unstructured events and page pings over the next minutes.
    Events of one page view share the page, its web_page id and its GitLab standard context
    (except the context's ``extra``); page views of different users interleave.
    """
    rng = random.Random(seed)  # noqa: S311 (reproducible sample data, not secrets)
    users = [_user(rng, number) for number in range(max(1, count // events_per_user))]
    window = timedelta(seconds=max(60, count // 20))
    first = start or datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    timed: list[tuple[datetime, Sample]] = []
    while len(timed) < count:
        view = _page_view(rng.choice(users), first + window * rng.random(), rng)
        kinds = ["page_view"]
        kinds += rng.choices(("struct", "unstruct"), (3, 2), k=rng.choice((0, 1, 1, 2, 3)))
        kinds += ["page_ping"] * rng.choice((0, 0, 1, 2))
        moment = view.started
        for kind in kinds[: count - len(timed)]:
            fields, planted = _enriched_fields(view, kind, moment, rng)
            line = "\t".join(fields.get(name, "") for name in FIELD_NAMES)
            timed.append((moment, Sample("enriched", line, tuple(v for v in planted if v in line))))
            moment += timedelta(seconds=rng.uniform(1, 30))
    timed.sort(key=lambda item: item[0])
    return [sample for _, sample in timed]


def enriched_line(values: dict[str, str]) -> str:
    """An enriched TSV line with the given fields set and all others empty."""
    unknown = sorted(set(values) - set(FIELD_NAMES))
    if unknown:
        raise ValueError(f"Not enriched-event fields: {', '.join(unknown)}.")
    return "\t".join(values.get(name, "") for name in FIELD_NAMES)


def _collector_payload(user: _User, moment: datetime) -> dict[str, Any]:
    return {
        "vendor": "com.snowplowanalytics.snowplow",
        "version": "tp2",
        "querystring": [
            {"name": "e", "value": "pv"},
            {"name": "url", "value": f"https://gitlab.com/{user.namespace}?email={user.email}"},
            {"name": "uid", "value": user.email},
        ],
        "contentType": "application/json; charset=UTF-8",
        "body": _json({"schema": PAYLOAD_DATA_SCHEMA, "data": [{"e": "pv", "uid": user.email}]}),
        "collector": "ssc-3.2.0-kinesis",
        "encoding": "UTF-8",
        "hostname": "snowplowprd.trx.gitlab.net",
        "timestamp": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "ipAddress": user.ip_address,
        "useragent": user.useragent,
        "refererUri": f"https://gitlab.com/{user.namespace}/{user.project}",
        "headers": [
            "Timeout-Access: <function1>",
            f"X-Forwarded-For: {user.ip_address}",
            f"Cookie: sp={user.network_userid}",
            f"User-Agent: {user.useragent}",
        ],
        "networkUserId": user.network_userid,
    }


def _raw_event(user: _User, moment: datetime) -> dict[str, Any]:
    payload = _collector_payload(user, moment)
    return {
        "vendor": payload["vendor"],
        "version": payload["version"],
        "parameters": payload["querystring"],
        "contentType": payload["contentType"],
        "loaderName": payload["collector"],
        "encoding": payload["encoding"],
        "hostname": payload["hostname"],
        "timestamp": payload["timestamp"],
        "ipAddress": user.ip_address,
        "useragent": user.useragent,
        "refererUri": payload["refererUri"],
        "headers": payload["headers"],
        "userId": user.network_userid,
    }


def _partially_enriched(user: _User, moment: datetime, rng: random.Random) -> dict[str, Any]:
    fields, _ = _enriched_fields(_page_view(user, moment, rng), "page_view", moment, rng)
    event: dict[str, Any] = dict.fromkeys(FIELD_NAMES)
    event.update(fields)
    event["domain_sessionidx"] = int(fields["domain_sessionidx"])
    event["br_viewwidth"] = int(fields["br_viewwidth"])
    return event


def bad_rows(*, seed: int = 0) -> dict[str, Sample]:
    """One realistic bad row of each type in :data:`BAD_ROW_TYPES`, keyed by type."""
    rng = random.Random(seed)  # noqa: S311 (reproducible sample data, not secrets)
    user = _user(rng, 9000 + seed % 1000)
    moment = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    timestamp = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    processor = {"artifact": "snowplow-enrich-kinesis", "version": "5.1.2"}
    collector = {"artifact": "snowplow-stream-collector-kinesis", "version": "3.2.0"}
    enriched_and_raw = {
        "enriched": _partially_enriched(user, moment, rng),
        "raw": _raw_event(user, moment),
    }
    truncated = _json(_collector_payload(user, moment))[:900]
    rows: dict[str, tuple[dict[str, Any], dict[str, Any], Any]] = {
        "schema_violations": (
            processor,
            {
                "timestamp": timestamp,
                "messages": [
                    {
                        "schemaKey": GITLAB_STANDARD_SCHEMA,
                        "error": {
                            "error": "ValidationError",
                            "dataReports": [
                                {
                                    "message": f"$.user_id: string found, integer expected "
                                    f"({user.email})",
                                    "path": "$.user_id",
                                    "keyword": "type",
                                    "targets": ["string", "integer"],
                                }
                            ],
                        },
                    }
                ],
            },
            enriched_and_raw,
        ),
        "enrichment_failures": (
            processor,
            {
                "timestamp": timestamp,
                "messages": [
                    {
                        "enrichment": {
                            "schemaKey": "iglu:com.snowplowanalytics.snowplow/ua_parser_config/"
                            "jsonschema/1-0-1",
                            "identifier": "ua-parser",
                        },
                        "message": {
                            "field": "useragent",
                            "value": user.useragent,
                            "expectation": "a user agent the parser understands",
                        },
                    }
                ],
            },
            enriched_and_raw,
        ),
        "collector_payload_format_violation": (
            processor,
            {
                "timestamp": timestamp,
                "loader": "thrift",
                "message": {
                    "payloadField": "querystring",
                    "value": f"uid={user.email}&ip={user.ip_address}",
                    "expectation": "a valid URL query string",
                },
            },
            {"line": base64.b64encode(truncated.encode()).decode()},
        ),
        "adapter_failures": (
            processor,
            {
                "timestamp": timestamp,
                "vendor": "com.snowplowanalytics.iglu",
                "version": "v1",
                "messages": [
                    {
                        "field": "schema",
                        "value": f"iglu:com.example/{user.username}/jsonschema/1-0-0",
                        "expectation": "a schema the Iglu resolver can find",
                    }
                ],
            },
            _collector_payload(user, moment),
        ),
        "tracker_protocol_violations": (
            processor,
            {
                "timestamp": timestamp,
                "vendor": "com.snowplowanalytics.snowplow",
                "version": "tp2",
                "messages": [
                    {
                        "field": "ue_px",
                        "value": base64.b64encode(user.email.encode()).decode(),
                        "expectation": "base64-encoded self-describing JSON",
                    }
                ],
            },
            _collector_payload(user, moment),
        ),
        "size_violation": (
            collector,
            {
                "timestamp": timestamp,
                "maximumAllowedSizeBytes": 1_000_000,
                "actualSizeBytes": 1_048_576,
                "expectation": "the record fits in a Kinesis record",
            },
            {"event": truncated},
        ),
        "generic_error": (
            collector,
            {
                "timestamp": timestamp,
                "errors": [f"Cannot deserialize the payload sent from {user.ip_address}"],
            },
            {"event": truncated},
        ),
    }
    samples = {}
    for kind, (row_processor, failure, payload) in rows.items():
        document = {
            "schema": BAD_ROW_SCHEMA.format(kind),
            "data": {"processor": row_processor, "failure": failure, "payload": payload},
        }
        leaves = list(_string_leaves(document))
        candidates = dict.fromkeys((*user.planted, truncated, payload.get("line", truncated)))
        planted = tuple(v for v in candidates if any(v in leaf for leaf in leaves))
        samples[kind] = Sample(kind, _json(document), planted)
    return samples


def _string_leaves(value: Any) -> Iterable[str]:
    """Every string and number of a JSON document, as text (numbers as Python writes them)."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _string_leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _string_leaves(item)
    elif isinstance(value, str):
        yield value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield str(value)


def malformed_records() -> dict[str, str]:
    """Record data (as Firehose sends it, base64 unless the case is about base64) that must
    come back as ProcessingFailed, keyed by what is wrong with it."""
    short_line = "\t".join(["x"] * (len(FIELD_NAMES) - 1))
    long_line = "\t".join(["x"] * (len(FIELD_NAMES) + 1))
    good_line = enriched_line({"app_id": "gitlab", "user_id": "planted-user@example.org"})

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    return {
        "invalid_base64": "this is not base64!",
        "invalid_utf8": b64(b"\xff\xfe\xfa planted-user@example.org"),
        "too_few_fields": b64(short_line.encode()),
        "too_many_fields": b64(long_line.encode()),
        "one_bad_line_among_good": b64(f"{good_line}\n{short_line}\n".encode()),
        "empty": "",
        "bad_row_not_json": b64(b"planted-user@example.org sent a broken row {"),
    }


def firehose_event(
    datas: Iterable[bytes | str],
    *,
    seed: int = 0,
    delivery_stream: str = "snowplow-enriched-good-to-s3",
    source_stream: str = "snowplow-enriched-good",
    region: str = "us-east-1",
) -> dict[str, Any]:
    """A Firehose data-transformation event with a Kinesis source, one record per item.

    ``bytes`` are base64-encoded; a ``str`` is used as the record's data as it is (to send
    invalid base64).
    """
    rng = random.Random(seed)  # noqa: S311 (reproducible sample data, not secrets)
    account = "123456789012"
    firehose_arn = f"arn:aws:firehose:{region}:{account}:deliverystream/{delivery_stream}"
    sequence = "".join(rng.choice("0123456789") for _ in range(56))
    arrival = 1_714_564_800_000
    records = []
    for index, data in enumerate(datas):
        encoded = base64.b64encode(data).decode("ascii") if isinstance(data, bytes) else data
        records.append(
            {
                "recordId": f"{sequence}{index:012d}",
                "approximateArrivalTimestamp": arrival + index,
                "data": encoded,
                "kinesisRecordMetadata": {
                    "shardId": f"shardId-{index % 4:012d}",
                    "partitionKey": _uuid(rng),
                    "approximateArrivalTimestamp": arrival + index,
                    "sequenceNumber": f"{sequence[:-6]}{index:06d}",
                    "subsequenceNumber": 0,
                },
            }
        )
    return {
        "invocationId": _uuid(rng),
        "deliveryStreamArn": firehose_arn,
        "sourceKinesisStreamArn": f"arn:aws:kinesis:{region}:{account}:stream/{source_stream}",
        "region": region,
        "records": records,
    }


def decoded_outputs(response: dict[str, Any]) -> list[str]:
    """The text of each output record of a Firehose transformation response."""
    return [base64.b64decode(record["data"]).decode("utf-8") for record in response["records"]]


def samples_text(samples: Sequence[Sample]) -> list[bytes]:
    """Each sample's text as the bytes of one record."""
    return [sample.text.encode("utf-8") for sample in samples]
