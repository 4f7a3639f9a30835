"""``snowplow-infra mr-note``: the plan review as one note on the merge request, kept up to date.

Every pipeline of a merge request updates the same note instead of adding another: the note
starts with a hidden marker (an HTML comment, which GitLab keeps in the note's text and does not
render) naming the environment, and the note is found again by that marker among the notes the
token's own user wrote. A review longer than GitLab's 1,000,000-character note limit (the plan
job's review is bounded below it, so this happens only for a longer file) is split at section
boundaries into as few notes as the limit forces, each marked with its part number; a later,
shorter review updates the first parts and deletes the ones it no longer needs.

GitLab REST API v4, Notes API (docs/plan-review.md says what was verified against GitLab's
documentation and how the client is tested):

* ``GET /user``: the token's user (a project access token's bot user);
* ``GET /projects/:id/merge_requests/:iid/notes``: paginated (``per_page`` at most 100; the next
  page is in ``x-next-page``, or the ``Link`` header's ``rel="next"`` where GitLab leaves the
  former out);
* ``POST`` that path, ``PUT`` and ``DELETE`` ``.../notes/:note_id``: with ``{"body": ...}``.

The token is sent only in the ``PRIVATE-TOKEN`` header and never printed; it is read from the
environment variable ``--token-variable`` names (a masked CI/CD variable), never from the command
line, where it would show in logs and process lists.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NOTE_LIMIT = 1_000_000  # characters GitLab accepts in a note body
PER_PAGE = 100  # the most GitLab returns in one page
TIMEOUT_SECONDS = 30
DEFAULT_TOKEN_VARIABLE = "PLAN_REVIEW_TOKEN"  # noqa: S105 (the variable's name, not a token)
MARKER = "<!-- snowplow-infra plan review: {key} part {part} of {parts} -->"
_MARKER = re.compile(
    r"\A<!-- snowplow-infra plan review: (?P<key>[^ ]+) part (?P<part>\d+) of (?P<parts>\d+) -->"
)
_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="next"')
# Where a long review may be split: before a section, a module, or a collapsed block.
_BOUNDARY = re.compile(r"^(#{2,4} |<details>)")


class GitLabError(RuntimeError):
    """A Notes API call failed, or the pipeline lacks what posting needs."""


@dataclass(frozen=True)
class Note:
    id: int
    body: str
    author_id: int | None
    system: bool


class GitLab:
    """The few calls of GitLab's REST API v4 that keeping one merge-request note needs."""

    def __init__(self, api_url: str, project: str, token: str) -> None:
        self.api_url = api_url.rstrip("/")
        self.project = urllib.parse.quote(project, safe="")
        self._token = token

    def _request(
        self, method: str, path: str, body: Mapping[str, Any] | None = None
    ) -> tuple[Any, Mapping[str, str]]:
        raw, headers = self.fetch(method, path, body)
        return (json.loads(raw) if raw.strip() else None), headers

    def get(self, path: str) -> tuple[Any, Mapping[str, str]]:
        """``GET path`` (under the API address, or a full URL): the decoded JSON and headers."""
        return self._request("GET", path)

    def fetch(
        self, method: str, path: str, body: Mapping[str, Any] | None = None
    ) -> tuple[bytes, Mapping[str, str]]:
        """One call; the raw response body (e.g. a job artifact) and its lower-cased headers."""
        url = path if path.startswith(("http://", "https://")) else self.api_url + path
        data = json.dumps(body).encode("utf-8") if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310
        request.add_header("PRIVATE-TOKEN", self._token)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        shown = urllib.parse.urlsplit(url).path
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                raw = response.read()
                headers = {k.lower(): v for k, v in response.headers.items()}
        except urllib.error.HTTPError as error:
            raise GitLabError(
                f"GitLab answered {method} {shown} with HTTP {error.code}: "
                f"{_message(error.read())}{_hint(error.code)}"
            ) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise GitLabError(f"Could not reach GitLab at {self.api_url}: {reason}.") from None
        return raw, headers

    def current_user_id(self) -> int:
        user, _ = self._request("GET", "/user")
        if not isinstance(user, dict) or not isinstance(user.get("id"), int):
            raise GitLabError("GitLab's GET /user did not return a user with an id.")
        return int(user["id"])

    def _notes_path(self, merge_request: int) -> str:
        return f"/projects/{self.project}/merge_requests/{merge_request}/notes"

    def notes(self, merge_request: int) -> Iterator[Note]:
        """Every note of the merge request, oldest first, across all pages."""
        query = urllib.parse.urlencode(
            {"per_page": PER_PAGE, "page": 1, "sort": "asc", "order_by": "created_at"}
        )
        path: str | None = f"{self._notes_path(merge_request)}?{query}"
        while path is not None:
            page, headers = self._request("GET", path)
            if not isinstance(page, list):
                raise GitLabError("GitLab's list of notes was not a JSON array.")
            yield from (_note(item) for item in page if isinstance(item, dict))
            path = _next_page(path, headers)

    def create(self, merge_request: int, body: str) -> Note:
        note, _ = self._request("POST", self._notes_path(merge_request), {"body": body})
        return _note(note)

    def update(self, merge_request: int, note_id: int, body: str) -> Note:
        path = f"{self._notes_path(merge_request)}/{note_id}"
        note, _ = self._request("PUT", path, {"body": body})
        return _note(note)

    def delete(self, merge_request: int, note_id: int) -> None:
        self._request("DELETE", f"{self._notes_path(merge_request)}/{note_id}")


def _note(item: Any) -> Note:
    if not isinstance(item, dict) or not isinstance(item.get("id"), int):
        raise GitLabError("GitLab returned a note without an id.")
    author = item.get("author")
    author_id = author.get("id") if isinstance(author, dict) else None
    return Note(
        id=int(item["id"]),
        body=str(item.get("body") or ""),
        author_id=author_id if isinstance(author_id, int) else None,
        system=item.get("system") is True,
    )


def _next_page(path: str, headers: Mapping[str, str]) -> str | None:
    following = headers.get("x-next-page", "").strip()
    if following:
        parts = urllib.parse.urlsplit(path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        query["page"] = following
        return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))
    link = _NEXT_LINK.search(headers.get("link", ""))
    return link.group(1) if link else None


def _message(raw: bytes) -> str:
    """GitLab's ``message`` (or ``error``) of an error response, as text."""
    try:
        document = json.loads(raw)
    except ValueError:
        document = None
    if isinstance(document, dict):
        message = document.get("message") or document.get("error")
    else:
        message = raw.decode("utf-8", "replace").strip()[:200]
    text = json.dumps(message) if isinstance(message, dict | list) else str(message or "")
    return text.rstrip(".") + "." if text else "no message."


def _hint(status: int) -> str:
    return {
        401: " The token is missing, expired or revoked.",
        403: " The token's role or scope does not allow it (it needs the api scope and at least "
        "the Reporter role).",
        404: " The project or merge request does not exist, or the token cannot see it.",
    }.get(status, "")


# --- one review as notes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    created: tuple[int, ...]
    updated: tuple[int, ...]
    deleted: tuple[int, ...]


def split(markdown: str, key: str, limit: int = NOTE_LIMIT) -> list[str]:
    """The review as note bodies, each at most ``limit`` characters including its marker:
    one body when it fits, otherwise as few as the limit forces, cut before a section."""
    room = limit - len(MARKER.format(key=key, part=99, parts=99)) - 80
    pieces: list[str] = []
    rest = markdown
    while len(rest) > room:
        cut = _cut_point(rest, room)
        pieces.append(rest[:cut].rstrip() + "\n")
        rest = rest[cut:].lstrip("\n")
    pieces.append(rest)
    bodies = []
    for number, piece in enumerate(pieces, start=1):
        marker = MARKER.format(key=key, part=number, parts=len(pieces))
        continued = (
            f"*Plan review, continued: part {number} of {len(pieces)}.*\n\n" if number > 1 else ""
        )
        bodies.append(f"{marker}\n{continued}{piece}")
    return bodies


def _cut_point(text: str, room: int) -> int:
    """The last place before ``room`` where a new note can start without breaking a code block
    or a collapsed block: a section heading or top-level <details> in the last fifth of the room
    (so that cutting there adds no note), else any line outside both, else ``room``."""
    best_boundary = best_line = 0
    fence = ""
    depth = 0
    position = 0
    for line in text[:room].splitlines(keepends=True):
        if not fence and depth == 0 and position:
            best_line = position
            if _BOUNDARY.match(line):
                best_boundary = position
        stripped = line.strip()
        if fence:
            if stripped.startswith(fence) and not stripped.strip("`~"):
                fence = ""
        elif stripped.startswith(("```", "~~~")):
            fence = stripped[: len(stripped) - len(stripped.lstrip("`~"))]
        else:
            depth += line.count("<details>") - line.count("</details>")
        position += len(line)
    if best_boundary >= room * 4 // 5:
        return best_boundary
    return best_line or room


def publish(client: GitLab, merge_request: int, key: str, markdown: str) -> Published:
    """Create or update this review's notes on the merge request; delete parts left over."""
    bodies = split(markdown, key)
    me = client.current_user_id()
    existing: dict[int, Note] = {}
    for note in client.notes(merge_request):
        match = _MARKER.match(note.body)
        if note.system or note.author_id != me or not match or match.group("key") != key:
            continue
        existing.setdefault(int(match.group("part")), note)
    created: list[int] = []
    updated: list[int] = []
    for number, body in enumerate(bodies, start=1):
        if number in existing:
            updated.append(client.update(merge_request, existing[number].id, body).id)
        else:
            created.append(client.create(merge_request, body).id)
    deleted = [note.id for number, note in sorted(existing.items()) if number > len(bodies)]
    for note_id in deleted:
        client.delete(merge_request, note_id)
    return Published(tuple(created), tuple(updated), tuple(deleted))


# --- the command --------------------------------------------------------------------------------


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "mr-note",
        help="post the plan review on the merge request as one note, updated by every pipeline",
        description=(
            "Create, or update, the note on a GitLab merge request that holds the Markdown "
            "review `plan-report --markdown` wrote. The note is found again by a hidden marker "
            "naming --key among the notes of the token's user, so every pipeline updates it "
            "instead of adding one. A review over GitLab's 1,000,000-character limit is split "
            "into as few notes as that forces. The token is read from the environment variable "
            "--token-variable names (a masked CI/CD variable holding a project access token "
            "with the api scope and at least the Reporter role). The API address, project and "
            "merge request default to GitLab CI's CI_API_V4_URL, CI_PROJECT_ID and "
            "CI_MERGE_REQUEST_IID; outside a merge-request pipeline nothing is posted."
        ),
        epilog=(
            'Example (the plan job): snowplow-infra mr-note "$PLAN_DIR/plan-review.md" '
            '--key "$ENVIRONMENT"'
        ),
    )
    parser.add_argument("review", type=Path, metavar="REVIEW_MD", help="the Markdown review")
    parser.add_argument(
        "--key",
        default="default",
        help="what the note is about, e.g. the environment (default: %(default)s)",
    )
    parser.add_argument(
        "--token-variable",
        default=DEFAULT_TOKEN_VARIABLE,
        metavar="NAME",
        help="the environment variable holding the token (default: %(default)s)",
    )
    parser.add_argument("--api-url", metavar="URL", help="default: $CI_API_V4_URL")
    parser.add_argument("--project", metavar="ID_OR_PATH", help="default: $CI_PROJECT_ID")
    parser.add_argument(
        "--merge-request", type=int, metavar="IID", help="default: $CI_MERGE_REQUEST_IID"
    )
    parser.set_defaults(handler=_main)


def _main(args: argparse.Namespace) -> int:
    environ = os.environ
    merge_request = args.merge_request or _int(environ.get("CI_MERGE_REQUEST_IID"))
    if merge_request is None:
        print("mr-note: not a merge-request pipeline (no CI_MERGE_REQUEST_IID); nothing posted.")
        return 0
    api_url = args.api_url or environ.get("CI_API_V4_URL")
    project = args.project or environ.get("CI_PROJECT_ID")
    token = environ.get(args.token_variable, "")
    problems = [
        message
        for missing, message in (
            (not api_url, "the API address (--api-url or CI_API_V4_URL)"),
            (not project, "the project (--project or CI_PROJECT_ID)"),
            (
                not token,
                f"a token in the environment variable {args.token_variable} (a masked CI/CD "
                "variable holding a project access token with the api scope)",
            ),
        )
        if missing
    ]
    if problems:
        print(f"mr-note: cannot post the review without {'; '.join(problems)}.", file=sys.stderr)
        return 2
    try:
        markdown = args.review.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(f"mr-note: cannot read {args.review}: {error}.", file=sys.stderr)
        return 2
    client = GitLab(str(api_url), str(project), token)
    try:
        result = publish(client, merge_request, args.key, markdown)
    except GitLabError as error:
        print(f"mr-note: {error}", file=sys.stderr)
        return 1
    print(
        f"mr-note: merge request !{merge_request}: review {args.key} in "
        f"{len(result.created) + len(result.updated)} note(s); created {list(result.created)}, "
        f"updated {list(result.updated)}, deleted {list(result.deleted)}."
    )
    return 0


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None
