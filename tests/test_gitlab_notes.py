"""`snowplow-infra mr-note` against a local HTTP server that implements the Notes API calls used.

The server follows GitLab's REST API v4 documentation (doc/api/notes.md and doc/api/rest/index.md
in gitlab-org/gitlab, as docs/plan-review.md cites): the paths, the ``PRIVATE-TOKEN`` header, JSON
bodies with ``body``, notes with ``id``, ``body``, ``author.id`` and ``system``, offset pagination
with ``per_page`` (at most 100), ``page``, ``x-next-page``/``x-total-pages`` headers and a
``Link`` header, 401/404 errors with a ``message``, and the 1,000,000-character limit on a note's
body (a validation error, HTTP 400).
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from snowplow_infra.gitlab_notes import NOTE_LIMIT, GitLab, GitLabError, publish, split
from snowplow_infra.paths import REPO_ROOT
from tests.conftest import cli_path

TOKEN = "glpat-test-token-0123456789"
BOT = {"id": 42, "username": "project_7_bot_abc", "name": "plan review"}
SOMEONE = {"id": 7, "username": "reviewer", "name": "A Reviewer"}
PROJECT = "7"
MERGE_REQUEST = 3
NOTES_PATH = re.compile(r"^/api/v4/projects/([^/]+)/merge_requests/(\d+)/notes(?:/(\d+))?$")


@dataclass
class FakeGitLab:
    """The state of the fake GitLab: notes per merge request, and every request received."""

    notes: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)
    next_id: int = 1000
    link_only: bool = False  # leave out x-next-page, as GitLab does for very large lists

    def add(self, body: str, author: dict[str, Any], *, system: bool = False) -> int:
        self.next_id += 1
        self.notes.append({"id": self.next_id, "body": body, "author": author, "system": system})
        return self.next_id


class Handler(BaseHTTPRequestHandler):
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet

    def _reply(
        self, status: int, payload: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        raw = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def _handle(self) -> None:  # noqa: PLR0911, PLR0912 (one branch per API call)
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urllib.parse.urlsplit(self.path)
        state.requests.append((self.command, self.path, dict(self.headers.items()), body))
        if self.headers.get("PRIVATE-TOKEN") != TOKEN:
            return self._reply(401, {"message": "401 Unauthorized"})
        if url.path == "/api/v4/user" and self.command == "GET":
            return self._reply(200, BOT)
        match = NOTES_PATH.match(url.path)
        if not match:
            return self._reply(404, {"error": "404 Not Found"})
        project, merge_request, note_id = match.groups()
        if urllib.parse.unquote(project) not in (PROJECT, "group/project"):
            return self._reply(404, {"message": "404 Project Not Found"})
        if int(merge_request) != MERGE_REQUEST:
            return self._reply(404, {"message": "404 Not found"})
        if self.command == "GET" and note_id is None:
            return self._list(urllib.parse.parse_qs(url.query))
        if self.command == "POST" and note_id is None:
            text = json.loads(body)["body"]
            if len(text) > NOTE_LIMIT:
                return self._too_long()
            new = state.add(text, BOT)
            return self._reply(201, next(n for n in state.notes if n["id"] == new))
        note = next((n for n in state.notes if str(n["id"]) == note_id), None)
        if note is None:
            return self._reply(404, {"message": "404 Not found"})
        if self.command == "PUT":
            if note["author"]["id"] != BOT["id"]:
                return self._reply(403, {"message": "403 Forbidden"})
            text = json.loads(body)["body"]
            if len(text) > NOTE_LIMIT:
                return self._too_long()
            note["body"] = text
            return self._reply(200, note)
        if self.command == "DELETE":
            state.notes.remove(note)
            return self._reply(204)
        return self._reply(405, {"message": "405 Method Not Allowed"})

    def _too_long(self) -> None:
        limit = f"is too long (maximum is {NOTE_LIMIT} characters)"
        self._reply(400, {"message": {"note": [limit]}})

    def _list(self, query: dict[str, list[str]]) -> None:
        state = self.server.state
        per_page = min(int(query.get("per_page", ["20"])[0]), 100)
        page = int(query.get("page", ["1"])[0])
        ordered = sorted(state.notes, key=lambda n: n["id"], reverse=query.get("sort") != ["asc"])
        pages = max(1, -(-len(ordered) // per_page))
        items = ordered[(page - 1) * per_page : page * per_page]
        base = f"http://127.0.0.1:{self.server.server_address[1]}{urllib.parse.urlsplit(self.path).path}"
        headers = {
            "x-page": str(page),
            "x-per-page": str(per_page),
            "x-total": str(len(ordered)),
            "x-total-pages": str(pages),
            "x-next-page": str(page + 1) if page < pages else "",
        }
        if state.link_only:
            del headers["x-next-page"]
        links = []
        if page < pages:
            next_query = urllib.parse.urlencode(
                {**{k: v[0] for k, v in query.items()}, "page": page + 1}
            )
            links.append(f'<{base}?{next_query}>; rel="next"')
        first_query = urllib.parse.urlencode({**{k: v[0] for k, v in query.items()}, "page": 1})
        links.append(f'<{base}?{first_query}>; rel="first"')
        headers["Link"] = ", ".join(links)
        self._reply(200, items, headers)

    do_GET = do_POST = do_PUT = do_DELETE = _handle


class Server(ThreadingHTTPServer):
    def __init__(self, state: FakeGitLab) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.state = state


@pytest.fixture
def gitlab() -> Iterator[tuple[FakeGitLab, str]]:
    state = FakeGitLab()
    server = Server(state)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/api/v4"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def review(text: str = "a change") -> str:
    return f"## Terraform plan review\n\n{text}\n"


def ours(state: FakeGitLab) -> list[dict[str, Any]]:
    return [n for n in state.notes if n["body"].startswith("<!-- snowplow-infra plan review:")]


def test_the_first_pipeline_creates_the_note_and_the_next_updates_it(
    gitlab: tuple[FakeGitLab, str],
) -> None:
    state, url = gitlab
    state.add("Looks good to me", SOMEONE)
    client = GitLab(url, PROJECT, TOKEN)
    first = publish(client, MERGE_REQUEST, "aws-snowplow", review("first plan"))
    assert first.created and not first.updated
    second = publish(client, MERGE_REQUEST, "aws-snowplow", review("second plan"))
    assert second.updated == first.created
    assert not second.created and not second.deleted
    (note,) = ours(state)
    assert note["body"].startswith("<!-- snowplow-infra plan review: aws-snowplow part 1 of 1 -->")
    assert "second plan" in note["body"] and "first plan" not in note["body"]
    assert len(state.notes) == 2  # the reviewer's note is untouched


def test_notes_of_other_authors_other_keys_and_system_notes_are_left_alone(
    gitlab: tuple[FakeGitLab, str],
) -> None:
    state, url = gitlab
    marker = "<!-- snowplow-infra plan review: aws-snowplow part 1 of 1 -->\n"
    quoted = state.add(marker + "quoted by a reviewer", SOMEONE)
    other_key = state.add("<!-- snowplow-infra plan review: staging part 1 of 1 -->\nx", BOT)
    system = state.add(marker + "system", BOT, system=True)
    publish(GitLab(url, PROJECT, TOKEN), MERGE_REQUEST, "aws-snowplow", review())
    by_id = {n["id"]: n["body"] for n in state.notes}
    assert by_id[quoted].endswith("quoted by a reviewer")
    assert by_id[other_key].endswith("\nx")
    assert by_id[system].endswith("system")
    assert len(state.notes) == 4


@pytest.mark.parametrize("link_only", [False, True])
def test_the_note_is_found_on_a_later_page(gitlab: tuple[FakeGitLab, str], link_only: bool) -> None:
    state, url = gitlab
    state.link_only = link_only
    client = GitLab(url, PROJECT, TOKEN)
    for n in range(250):
        state.add(f"comment {n}", SOMEONE)
    (created,) = publish(client, MERGE_REQUEST, "aws-snowplow", review("v1")).created
    for n in range(30):
        state.add(f"later comment {n}", SOMEONE)
    result = publish(client, MERGE_REQUEST, "aws-snowplow", review("v2"))
    assert result.updated == (created,)
    lists = [path for method, path, _, _ in state.requests if method == "GET" and "notes" in path]
    assert any("page=3" in path for path in lists)
    assert all("per_page=100" in path for path in lists)


def test_a_review_over_the_limit_is_split_and_a_shorter_one_removes_the_extra_parts(
    gitlab: tuple[FakeGitLab, str],
) -> None:
    state, url = gitlab
    client = GitLab(url, PROJECT, TOKEN)
    section = "### Update in place (1)\n\n" + "| `aws_s3_bucket.b` | `tags` |\n" * 20_000
    long_review = review(section * 4)
    assert len(long_review) > 2 * NOTE_LIMIT
    first = publish(client, MERGE_REQUEST, "aws-snowplow", long_review)
    assert len(first.created) == 3
    bodies = [n["body"] for n in ours(state)]
    assert all(len(body) <= NOTE_LIMIT for body in bodies)
    assert [b.split("\n", 1)[0] for b in bodies] == [
        f"<!-- snowplow-infra plan review: aws-snowplow part {n} of 3 -->" for n in (1, 2, 3)
    ]
    # Nothing is lost or repeated.
    rejoined = "".join(
        b.split("\n", 3)[3] if i else b.split("\n", 1)[1] for i, b in enumerate(bodies)
    )
    assert rejoined.replace("\n", "") == long_review.replace("\n", "")
    second = publish(client, MERGE_REQUEST, "aws-snowplow", review("small again"))
    assert second.updated == first.created[:1]
    assert second.deleted == first.created[1:]
    (note,) = ours(state)
    assert note["body"].startswith("<!-- snowplow-infra plan review: aws-snowplow part 1 of 1 -->")


def test_a_split_never_breaks_a_code_block() -> None:
    block = "```diff\n" + "+line\n" * 500 + "```\n"
    text = review(block * 8)
    for body in split(text, "k", limit=8_000):
        assert body.count("```") % 2 == 0


def test_a_wrong_token_is_a_sentence_without_the_token(gitlab: tuple[FakeGitLab, str]) -> None:
    _, url = gitlab
    with pytest.raises(GitLabError, match=r"HTTP 401: 401 Unauthorized\. The token is") as error:
        publish(GitLab(url, PROJECT, "wrong-token"), MERGE_REQUEST, "k", review())
    assert "wrong-token" not in str(error.value)


def test_an_unknown_project_is_named_as_such(gitlab: tuple[FakeGitLab, str]) -> None:
    _, url = gitlab
    with pytest.raises(GitLabError, match=r"HTTP 404: 404 Project Not Found\. The project or"):
        publish(GitLab(url, "999", TOKEN), MERGE_REQUEST, "k", review())


def test_a_project_path_is_url_encoded(gitlab: tuple[FakeGitLab, str]) -> None:
    state, url = gitlab
    publish(GitLab(url, "group/project", TOKEN), MERGE_REQUEST, "k", review())
    assert any("/projects/group%2Fproject/" in path for _, path, _, _ in state.requests)


def run_cli(
    *args: str | Path, env: dict[str, str], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(cli_path()), "mr-note", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **env},
    )


def test_the_command_posts_from_gitlab_ci_variables_and_keeps_the_token_out_of_sight(
    gitlab: tuple[FakeGitLab, str], tmp_path: Path
) -> None:
    state, url = gitlab
    markdown = tmp_path / "plan-review.md"
    markdown.write_text(review("from the plan job"))
    env = {
        "CI_API_V4_URL": url,
        "CI_PROJECT_ID": PROJECT,
        "CI_MERGE_REQUEST_IID": str(MERGE_REQUEST),
        "PLAN_REVIEW_TOKEN": TOKEN,
    }
    for _ in range(2):
        result = run_cli(markdown, "--key", "aws-snowplow", env=env, tmp_path=tmp_path)
        assert result.returncode == 0, result.stderr
        assert TOKEN not in result.stdout + result.stderr
    assert "updated [" in result.stdout
    assert len(ours(state)) == 1
    for _, path, headers, body in state.requests:
        assert TOKEN not in path and TOKEN.encode() not in body
        assert {k.lower(): v for k, v in headers.items()}["private-token"] == TOKEN


def test_outside_a_merge_request_pipeline_nothing_is_posted(tmp_path: Path) -> None:
    markdown = tmp_path / "plan-review.md"
    markdown.write_text(review())
    result = run_cli(markdown, env={"PLAN_REVIEW_TOKEN": TOKEN}, tmp_path=tmp_path)
    assert result.returncode == 0
    assert "not a merge-request pipeline" in result.stdout


def test_a_missing_token_names_the_variable(tmp_path: Path) -> None:
    markdown = tmp_path / "plan-review.md"
    markdown.write_text(review())
    env = {"CI_API_V4_URL": "http://127.0.0.1:9", "CI_PROJECT_ID": "7", "CI_MERGE_REQUEST_IID": "3"}
    result = run_cli(markdown, env=env, tmp_path=tmp_path)
    assert result.returncode == 2
    assert "a token in the environment variable PLAN_REVIEW_TOKEN" in result.stderr


def test_the_plan_job_posts_the_review_even_when_the_gate_blocks() -> None:
    """The review must reach the merge request exactly when it matters most: a blocked plan."""
    pipeline = yaml.safe_load((REPO_ROOT / ".gitlab-ci.yml").read_text())
    script = [" ".join(line.split()) for line in pipeline["plan"]["script"]]
    report = next(i for i, line in enumerate(script) if "snowplow-infra plan-report" in line)
    note = next(i for i, line in enumerate(script) if "snowplow-infra mr-note" in line)
    assert report < note
    assert script[report].endswith('|| gate="$?"')
    assert '--full-markdown "$PLAN_DIR/plan-review-full.md"' in script[report]
    assert '"$PLAN_DIR/plan-review.md"' in script[note]
    assert script[-1] == 'exit "${gate:-0}"'
