"""``snowplow-infra reviewed-plan`` against a local server that answers as GitLab's REST API v4.

The server holds merge requests, their pipelines, jobs and artifacts; each test sets up one
history (a merge commit, a squash, a fast-forward, a direct push, a newer pipeline, a failed plan,
an expired artifact) and checks that the plan downloaded is the one reviewed on the merge
request's last commit, or that the refusal says why and how to get a fresh review.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import cli_path

TOKEN = "glpat-test-token-never-printed"
PROJECT = "group/pipeline"
MERGE_COMMIT = "a" * 40
HEAD = "b" * 40
OLD_HEAD = "c" * 40
ARTIFACT = "build/plan/tfplan.json.sealed"


@dataclass
class FakeGitLab:
    """The project's API objects; ``requests`` records every path asked for."""

    commit_merge_requests: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    merge_requests: dict[int, dict[str, Any]] = field(default_factory=dict)
    pipelines: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    jobs: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    artifacts: dict[tuple[int, str], bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def route(self, path: str) -> Any:  # noqa: PLR0911 (one return per API call)
        project = urllib.parse.quote(PROJECT, safe="")
        prefix = f"/api/v4/projects/{project}"
        if not path.startswith(prefix):
            return None
        rest = path[len(prefix) :].split("?", maxsplit=1)[0].strip("/").split("/")
        match rest:
            case ["repository", "commits", sha, "merge_requests"]:
                return self.commit_merge_requests.get(sha, [])
            case ["merge_requests", iid]:
                return self.merge_requests.get(int(iid))
            case ["merge_requests", iid, "pipelines"]:
                return self.pipelines.get(int(iid), [])
            case ["pipelines", pipeline, "jobs"]:
                return self.jobs.get(int(pipeline))
            case ["jobs", job, "artifacts", *file]:
                return self.artifacts.get((int(job), urllib.parse.unquote("/".join(file))))
        return None


class Handler(BaseHTTPRequestHandler):
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        state = self.server.state
        state.requests.append(self.path)
        if self.headers.get("PRIVATE-TOKEN") != TOKEN:
            self._reply(401, json.dumps({"message": "401 Unauthorized"}).encode())
            return
        found = state.route(self.path)
        if found is None:
            self._reply(404, json.dumps({"message": "404 Not found"}).encode())
        elif isinstance(found, bytes):
            self._reply(200, found)
        else:
            self._reply(200, json.dumps(found).encode())

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


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


def merged(
    state: FakeGitLab, commit: str = MERGE_COMMIT, how: str = "merge_commit_sha", iid: int = 12
) -> None:
    request = {
        "iid": iid,
        "state": "merged",
        "sha": HEAD,
        "merge_commit_sha": None,
        "squash_commit_sha": None,
        "web_url": f"https://gitlab.example/{PROJECT}/-/merge_requests/{iid}",
    }
    if how != "sha":
        request[how] = commit
    state.commit_merge_requests[commit] = [
        {"iid": 3, "state": "closed", "sha": commit, "merge_commit_sha": commit},
        request,
    ]
    state.merge_requests[iid] = request


def reviewed(
    state: FakeGitLab,
    pipeline: int,
    sha: str,
    job: int,
    *,
    status: str = "success",
    content: bytes | None = b"sealed-plan",
    iid: int = 12,
) -> None:
    state.pipelines.setdefault(iid, []).append({"id": pipeline, "sha": sha, "status": status})
    state.jobs[pipeline] = [
        {"id": job - 1, "name": "policy", "status": "success"},
        {"id": job, "name": "plan", "status": status, "web_url": f"https://gitlab.example/j/{job}"},
    ]
    if content is not None:
        state.artifacts[(job, ARTIFACT)] = content


def run(
    api: str, tmp_path: Path, commit: str = MERGE_COMMIT, token: str | None = TOKEN
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CI_")}
    env.pop("PLAN_REVIEW_TOKEN", None)
    env.update({"CI_API_V4_URL": api, "CI_PROJECT_ID": PROJECT, "CI_COMMIT_SHA": commit})
    if token is not None:
        env["PLAN_REVIEW_TOKEN"] = token
    return subprocess.run(
        [str(cli_path()), "reviewed-plan", str(tmp_path / "reviewed.sealed")],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


@pytest.mark.parametrize("how", ["merge_commit_sha", "squash_commit_sha", "sha"])
def test_the_plan_of_the_last_pipeline_on_the_merge_requests_last_commit_is_downloaded(
    gitlab: tuple[FakeGitLab, str], tmp_path: Path, how: str
) -> None:
    state, api = gitlab
    commit = HEAD if how == "sha" else MERGE_COMMIT
    merged(state, commit, how)
    reviewed(state, 100, OLD_HEAD, 1001, content=b"older commit")
    reviewed(state, 101, HEAD, 1011, content=b"first run")
    reviewed(state, 102, HEAD, 1021, content=b"the reviewed plan")
    result = run(api, tmp_path, commit)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "reviewed.sealed").read_bytes() == b"the reviewed plan"
    assert "merge request !12" in result.stdout and "job 1021" in result.stdout
    assert TOKEN not in result.stdout + result.stderr


def test_a_commit_pushed_without_a_merge_request_has_no_review(
    gitlab: tuple[FakeGitLab, str], tmp_path: Path
) -> None:
    state, api = gitlab
    state.commit_merge_requests[MERGE_COMMIT] = [
        {"iid": 3, "state": "opened", "sha": MERGE_COMMIT, "merge_commit_sha": None}
    ]
    result = run(api, tmp_path)
    assert result.returncode == 1
    assert f"commit {MERGE_COMMIT[:12]} was not made by merging a merge request" in result.stderr
    assert "get a fresh review" in result.stderr
    assert not (tmp_path / "reviewed.sealed").exists()


def test_a_review_whose_plan_job_failed_is_no_review(
    gitlab: tuple[FakeGitLab, str], tmp_path: Path
) -> None:
    state, api = gitlab
    merged(state)
    reviewed(state, 101, HEAD, 1011)
    reviewed(state, 102, HEAD, 1021, status="failed")
    result = run(api, tmp_path)
    assert result.returncode == 1
    assert "the plan job of merge request !12 (pipeline 102, job 1021) ended with status" in (
        result.stderr
    )
    assert "'failed'" in result.stderr


def test_a_merge_request_without_a_pipeline_on_its_last_commit_has_no_review(
    gitlab: tuple[FakeGitLab, str], tmp_path: Path
) -> None:
    state, api = gitlab
    merged(state)
    reviewed(state, 100, OLD_HEAD, 1001)
    result = run(api, tmp_path)
    assert result.returncode == 1
    assert f"no pipeline on its last commit {HEAD[:12]}" in result.stderr


def test_an_expired_artifact_says_so(gitlab: tuple[FakeGitLab, str], tmp_path: Path) -> None:
    state, api = gitlab
    merged(state)
    reviewed(state, 102, HEAD, 1021, content=None)
    result = run(api, tmp_path)
    assert result.returncode == 1
    assert f"the reviewed plan {ARTIFACT} of merge request !12 (job 1021)" in result.stderr
    assert "expired" in result.stderr and "HTTP 404" in result.stderr


def test_a_wrong_or_missing_token(gitlab: tuple[FakeGitLab, str], tmp_path: Path) -> None:
    state, api = gitlab
    merged(state)
    wrong = run(api, tmp_path, token="glpat-wrong")
    assert wrong.returncode == 1
    assert "HTTP 401" in wrong.stderr and "glpat-wrong" not in wrong.stderr
    missing = run(api, tmp_path, token=None)
    assert missing.returncode == 2
    assert "a token in the environment variable PLAN_REVIEW_TOKEN" in missing.stderr
