"""``snowplow-infra reviewed-plan``: the plan reviewed in the merge request behind a commit.

The apply job runs on a commit of the default branch. The plan reviewed for it is the one the
``plan`` job of that merge request's last pipeline on its last commit made: the plan the review
note and the widget showed when the merge request was approved and merged. GitLab REST API v4:

* ``GET /projects/:id/repository/commits/:sha/merge_requests``: the merge requests of a commit;
  the one that produced it is merged, and the commit is its merge commit, its squash commit, or
  (fast-forward merge) its last commit;
* ``GET /projects/:id/merge_requests/:iid``: its last commit (``sha``);
* ``GET /projects/:id/merge_requests/:iid/pipelines``: its pipelines, newest first;
* ``GET /projects/:id/pipelines/:id/jobs``: the jobs of the newest pipeline on that commit;
* ``GET /projects/:id/jobs/:id/artifacts/PATH``: one file of the ``plan`` job's artifacts (the
  sealed plan JSON, ``plan-seal``).

Every way this can fail (a commit pushed without a merge request, a review whose plan failed or
never ran, an expired artifact) ends in a sentence that says what is missing and how to get a
fresh review. The token is a masked CI/CD variable (``mr-note``'s project access token), read from
the environment, never printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snowplow_infra.gitlab_notes import DEFAULT_TOKEN_VARIABLE, GitLab, GitLabError

DEFAULT_JOB = "plan"
DEFAULT_ARTIFACT = "build/plan/tfplan.json.sealed"
FRESH_REVIEW = (
    "To apply it, get a fresh review: open a merge request from a branch at the default "
    "branch's head (an empty commit is enough: `git commit --allow-empty -m 'Review the plan'`), "
    "let its plan job run, review its plan and merge it; that merge's apply job applies the plan "
    "reviewed there."
)


class NoReview(RuntimeError):
    """No reviewed plan exists for the commit; the message says why and what to do."""


@dataclass(frozen=True)
class ReviewedPlan:
    merge_request: int
    merge_request_url: str
    pipeline: int
    job: int
    job_url: str
    sealed: bytes


def find(client: GitLab, project: str, commit: str, job_name: str, artifact: str) -> ReviewedPlan:
    quoted = urllib.parse.quote(project, safe="")
    request = _merge_request(client, quoted, commit)
    iid = int(request["iid"])
    head = _merge_request_head(client, quoted, iid)
    url = str(request.get("web_url") or f"merge request !{iid}")
    pipelines, _ = client.get(f"/projects/{quoted}/merge_requests/{iid}/pipelines")
    on_head = [
        p for p in pipelines or [] if isinstance(p, dict) and p.get("sha") == head and "id" in p
    ]
    if not on_head:
        raise NoReview(
            f"merge request !{iid} ({url}) has no pipeline on its last commit {head[:12]}, so "
            f"nothing was planned for what was merged. {FRESH_REVIEW}"
        )
    pipeline = max(on_head, key=lambda p: int(p["id"]))
    pipeline_id = int(pipeline["id"])
    jobs, _ = client.get(f"/projects/{quoted}/pipelines/{pipeline_id}/jobs?per_page=100")
    named = [j for j in jobs or [] if isinstance(j, dict) and j.get("name") == job_name]
    if not named:
        raise NoReview(
            f"pipeline {pipeline_id} of merge request !{iid} has no {job_name} job, so it "
            f"reviewed no plan. {FRESH_REVIEW}"
        )
    job = max(named, key=lambda j: int(j.get("id", 0)))
    if job.get("status") != "success":
        raise NoReview(
            f"the {job_name} job of merge request !{iid} (pipeline {pipeline_id}, job "
            f"{job.get('id')}) ended with status {job.get('status')!r}, so its plan was not "
            f"accepted by review. {FRESH_REVIEW}"
        )
    job_id = int(job["id"])
    path = urllib.parse.quote(artifact)
    try:
        sealed, _ = client.fetch("GET", f"/projects/{quoted}/jobs/{job_id}/artifacts/{path}")
    except GitLabError as error:
        raise NoReview(
            f"the reviewed plan {artifact} of merge request !{iid} (job {job_id}) cannot be "
            f"downloaded, e.g. its artifacts expired: {error} {FRESH_REVIEW}"
        ) from None
    return ReviewedPlan(iid, url, pipeline_id, job_id, str(job.get("web_url", "")), sealed)


def _merge_request(client: GitLab, project: str, commit: str) -> dict[str, Any]:
    found, _ = client.get(f"/projects/{project}/repository/commits/{commit}/merge_requests")
    for request in found or []:
        if not isinstance(request, dict) or request.get("state") != "merged":
            continue
        made = {request.get(k) for k in ("merge_commit_sha", "squash_commit_sha", "sha")}
        if commit in made and isinstance(request.get("iid"), int):
            return request
    raise NoReview(
        f"commit {commit[:12]} was not made by merging a merge request (it was pushed directly, "
        f"or its merge request is not merged), so no review exists for it. {FRESH_REVIEW}"
    )


def _merge_request_head(client: GitLab, project: str, iid: int) -> str:
    request, _ = client.get(f"/projects/{project}/merge_requests/{iid}")
    head = request.get("sha") if isinstance(request, dict) else None
    if not isinstance(head, str) or not head:
        raise GitLabError(f"GitLab returned merge request !{iid} without its last commit (sha).")
    return head


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "reviewed-plan",
        help="download the sealed plan reviewed in the merge request that produced a commit",
        description=(
            "Find the merged merge request whose merge (or squash, or fast-forward) produced "
            "the commit, the newest pipeline on its last commit, and that pipeline's plan job; "
            "download the sealed plan JSON from its artifacts into OUTPUT. The API address, "
            "project and commit default to CI_API_V4_URL, CI_PROJECT_ID and CI_COMMIT_SHA; the "
            "token (Reporter role or higher, api or read_api scope) is read from the variable "
            "--token-variable names. Exit status: 0 written; 1 no reviewed plan exists for the "
            "commit (the message says why and how to get a fresh review) or GitLab failed; "
            "2 a setting is missing."
        ),
    )
    parser.add_argument("output", type=Path, metavar="OUTPUT")
    parser.add_argument("--commit", metavar="SHA", help="default: $CI_COMMIT_SHA")
    parser.add_argument("--job", default=DEFAULT_JOB, help="default: %(default)s")
    parser.add_argument("--artifact", default=DEFAULT_ARTIFACT, help="default: %(default)s")
    parser.add_argument(
        "--token-variable", default=DEFAULT_TOKEN_VARIABLE, metavar="NAME", help="%(default)s"
    )
    parser.add_argument("--api-url", metavar="URL", help="default: $CI_API_V4_URL")
    parser.add_argument("--project", metavar="ID_OR_PATH", help="default: $CI_PROJECT_ID")
    parser.set_defaults(handler=_main)


def _main(args: argparse.Namespace) -> int:
    environ = os.environ
    settings = {
        "the API address (--api-url or CI_API_V4_URL)": args.api_url
        or environ.get("CI_API_V4_URL"),
        "the project (--project or CI_PROJECT_ID)": args.project or environ.get("CI_PROJECT_ID"),
        "the commit (--commit or CI_COMMIT_SHA)": args.commit or environ.get("CI_COMMIT_SHA"),
        f"a token in the environment variable {args.token_variable}": environ.get(
            args.token_variable
        ),
    }
    missing = [name for name, value in settings.items() if not value]
    if missing:
        print(
            f"reviewed-plan: cannot look up the review without {'; '.join(missing)}.",
            file=sys.stderr,
        )
        return 2
    api_url, project, commit, token = (str(v) for v in settings.values())
    try:
        found = find(GitLab(api_url, project, token), project, commit, args.job, args.artifact)
    except (NoReview, GitLabError) as error:
        print(f"reviewed-plan: {error}", file=sys.stderr)
        return 1
    try:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_bytes(found.sealed)
    except OSError as error:
        print(f"reviewed-plan: cannot write {args.output}: {error.strerror}.", file=sys.stderr)
        return 2
    print(
        f"reviewed-plan: commit {commit[:12]} merged merge request !{found.merge_request} "
        f"({found.merge_request_url}); its reviewed plan is from pipeline {found.pipeline}, "
        f"job {found.job} {found.job_url}; written to {args.output}."
    )
    return 0
