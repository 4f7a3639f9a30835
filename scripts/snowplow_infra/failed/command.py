"""The ``snowplow-infra failed`` command line: list, explain and replay failed records.

Output is counts, keys, reason codes and (``explain --show-record`` with
``--acknowledge-raw-access``) field names and lengths: never a record's values.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from snowplow_infra import pipeline, terraform
from snowplow_infra.failed import judge, locations, replay, selection, target
from snowplow_infra.failed import manifest as manifests
from snowplow_infra.failed.documents import DocumentError
from snowplow_infra.failed.local_delivery import deliver_replayed
from snowplow_infra.failed.selection import Selected
from snowplow_infra.local.firehose import FirehoseError
from snowplow_infra.local.lambda_runtime import LambdaRuntimeError
from snowplow_infra.local.summary import table
from snowplow_infra.package_lambda import ZIP_PATH
from snowplow_infra.paths import BUILD_DIR

DEFAULT_WORK_DIR = BUILD_DIR / "local"
KNOWN_ERRORS = (
    target.TargetError,
    locations.LocationError,
    DocumentError,
    judge.JudgeError,
    manifests.ManifestError,
    replay.ReplayError,
    pipeline.PipelineError,
    terraform.TerraformError,
    FirehoseError,
    LambdaRuntimeError,
    FileNotFoundError,
    ClientError,
    BotoCoreError,
)


def _guarded(action: Callable[[argparse.Namespace, target.Target], int]) -> Callable[..., int]:
    def handler(args: argparse.Namespace) -> int:
        try:
            where = target.resolve(args.env, args.local, args.work_dir.resolve())
            return action(args, where)
        except KNOWN_ERRORS as error:
            print(f"failed {args.action}: {error}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print(
                f"\nfailed {args.action}: interrupted. The manifests hold what Kinesis accepted; "
                "run the same replay again to resume.",
                file=sys.stderr,
            )
            return 130

    return handler


def _selected(args: argparse.Namespace, where: target.Target) -> list[Selected]:
    found = locations.locations(where.client("firehose"), where.values, args.stream or None)
    return selection.select(
        where.client("s3"),
        found,
        keys=args.key or (),
        hour=args.hour,
        include_replayed=getattr(args, "include_replayed", True),
    )


# --- list -----------------------------------------------------------------------------------------


def _list(args: argparse.Namespace, where: target.Target) -> int:
    s3 = where.client("s3")
    chosen = _selected(args, where)
    groups: dict[tuple[str, str, str, str], list[Selected]] = {}
    codes: Counter[tuple[str, str, str, str]] = Counter()
    for picked in chosen:
        item = picked.item
        for code, count in Counter(r.error_code for r in picked.records).items():
            group = (item.location.delivery_stream, item.error_type, item.hour, code)
            groups.setdefault(group, []).append(picked)
            codes[group] += count
    days: dict[tuple[str, str], int | None] = {}
    rows = []
    for group in sorted(groups):
        picked_list = groups[group]
        location = picked_list[0].item.location
        place = (location.bucket, location.error_prefix)
        if place not in days:
            days[place] = selection.expiration_days(s3, *place)
        oldest = min(p.item.last_modified for p in picked_list)
        retention = days[place]
        expiry = "never" if retention is None else str(selection.expires(oldest, retention))
        replayed = sum(p.replayed for p in picked_list)
        rows.append([*group, len(picked_list), codes[group], replayed, expiry])
    print(f"Failed records in {where.description}:\n")
    if not rows:
        print("No error objects under the delivery streams' error prefixes.")
        return 0
    headers = ["delivery stream", "error type", "hour (UTC)", "error code", "objects", "records"]
    print(table([*headers, "replayed objects", "oldest expires"], rows))
    print(
        "\n`snowplow-infra failed explain` says why each record fails today; "
        "`failed replay` puts them back."
    )
    return 0


# --- explain --------------------------------------------------------------------------------------


def verdicts_of(
    where: target.Target, chosen: Sequence[Selected], package: Path, describe: int | None = None
) -> tuple[list[list[str]], dict[int, object]]:
    """The verdict of every record of the chosen objects (one list per object), judged by the
    package once it is known to be the deployed code; and the shape of record ``describe``
    (1-based over all the chosen records), if asked."""
    lambdas = where.client("lambda")
    checked: dict[str, bytes] = {}
    results: list[list[str]] = []
    shapes: dict[int, object] = {}
    number = 0
    for picked in chosen:
        location = picked.item.location
        if location.processor_arn not in checked:
            checked[location.processor_arn] = judge.check_deployed(
                package, lambdas, location.processor_arn
            )
        wanted = []
        if describe is not None and number < describe <= number + len(picked.records):
            wanted = [describe - number - 1]
        data = [base64.b64encode(r.data).decode("ascii") for r in picked.records]
        verdicts = judge.judge(
            checked[location.processor_arn], location.record_format, data, wanted
        )
        for index, shape in verdicts.shapes.items():
            shapes[number + index + 1] = shape
        results.append(verdicts.reasons)
        number += len(picked.records)
    return results, shapes


def _explain(args: argparse.Namespace, where: target.Target) -> int:
    if args.show_record is not None and not args.acknowledge_raw_access:
        print(
            "failed explain: --show-record prints the field names and lengths of one raw "
            "record (no values); add --acknowledge-raw-access to confirm you may see them.",
            file=sys.stderr,
        )
        return 2
    chosen = _selected(args, where)
    results, shapes = verdicts_of(where, chosen, args.package, args.show_record)
    counts: Counter[tuple[str, str, str]] = Counter()
    for picked, verdicts in zip(chosen, results, strict=True):
        for record, verdict in zip(picked.records, verdicts, strict=True):
            counts[(picked.item.location.delivery_stream, record.error_code, verdict)] += 1
    print(
        f"Why the failed records in {where.description} fail today, judged by "
        f"{pipeline.display_path(args.package)} (the deployed code):\n"
    )
    if not counts:
        print("No failed records.")
        return 0
    rows = [[*key, count, judge.MEANINGS[key[2]]] for key, count in sorted(counts.items())]
    print(table(["delivery stream", "error code", "reason", "records", "meaning"], rows))
    total = sum(counts.values())
    if args.show_record is not None:
        if not 1 <= args.show_record <= total:
            print(f"failed explain: --show-record must be 1 to {total}.", file=sys.stderr)
            return 2
        number = 0
        for picked, verdicts in zip(chosen, results, strict=True):
            if number + len(picked.records) >= args.show_record:
                index = args.show_record - number - 1
                record = picked.records[index]
                print(
                    f"\nRecord {args.show_record}: line {index + 1} of "
                    f"s3://{picked.item.location.bucket}/{picked.item.key}, error code "
                    f"{record.error_code}, reason {verdicts[index]}; its fields' names and "
                    "lengths (no values):\n"
                )
                print(json.dumps(shapes[args.show_record], indent=1))
                break
            number += len(picked.records)
    return 0


# --- replay ---------------------------------------------------------------------------------------


def _replay(args: argparse.Namespace, where: target.Target) -> int:
    s3, kinesis = where.client("s3"), where.client("kinesis")
    chosen = _selected(args, where)
    results, _ = verdicts_of(where, chosen, args.package)
    replays = [
        replay.ObjectReplay(
            manifests.load(s3, picked.item, len(picked.records)),
            picked.records,
            verdicts,
            args.include_malformed,
        )
        for picked, verdicts in zip(chosen, results, strict=True)
    ]
    replays = [r for r in replays if not r.manifest.complete]
    rows = []
    for item in replays:
        skipped = len(item.records) - len(item.selected)
        accepted = len(item.selected) - len(item.remaining)
        pending = len(item.manifest.pending)
        rows.append([item.manifest.item.key, len(item.records), skipped, accepted, pending])
    print(f"Replay in {where.description}:\n")
    if not rows:
        print("Nothing to replay: every selected object is replayed already, or none failed.")
        return 0
    headers = ["object", "records", "kept (malformed)", "accepted before", "in doubt"]
    print(table(headers, rows))
    to_put = sum(len(r.remaining) for r in replays)
    if not args.execute:
        print(
            f"\nDry run: {to_put} records would be put back on their source streams (records "
            "in doubt are first looked for on the stream). Run again with --execute to put them."
        )
        return 0
    outcome = replay.execute(s3, kinesis, replays, progress=lambda m: print(f"==> {m}"))
    print(
        f"\nPut {outcome.put} records in {outcome.calls} PutRecords calls "
        f"({outcome.throttled} throttled entries retried; {outcome.found_after_interruption} "
        f"found already accepted after an interruption); tagged {len(outcome.tagged)} objects "
        "replayed."
    )
    kept = sum(len(r.records) - len(r.selected) for r in replays)
    if kept:
        print(
            f"{kept} malformed records stay quarantined under the error prefix until they expire."
        )
    if where.emulator is not None:
        deliver_replayed(where, args.env, args.work_dir.resolve())
    return 0


# --- the parser -----------------------------------------------------------------------------------


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "failed",
        help="list, explain and replay the records Firehose could not transform",
        description=(
            "The records the pseudonymization Lambda failed (ProcessingFailed, or whole batches "
            "after a Lambda error such as a salt outage) lie raw under the events bucket's "
            "processing-failed/ prefix until they expire. List them, see why each fails today, "
            "and put them back on their Kinesis source stream, exactly once. Needs the replay "
            "role on AWS (docs/alarms.md, 'ProcessingFailed records')."
        ),
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", dest="action", required=True)
    helps = {
        "list": (_list, "error objects per delivery stream, error type, hour and error code"),
        "explain": (_explain, "why each failed record fails today, by the Lambda's own code"),
        "replay": (_replay, "put the records back on the source streams (dry run by default)"),
    }
    for name, (action, text) in helps.items():
        sub = actions.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        sub.add_argument(
            "--env",
            default=pipeline.DEFAULT_ENVIRONMENT,
            metavar="ENV",
            help="the environment under terraform/environments/ (default: %(default)s)",
        )
        sub.add_argument(
            "--local",
            action="store_true",
            help="the demo's emulator (`make demo`) instead of AWS",
        )
        sub.add_argument(
            "--work-dir",
            type=Path,
            default=DEFAULT_WORK_DIR,
            metavar="DIR",
            help="with --local: the demo's work directory (default: build/local)",
        )
        sub.add_argument(
            "--stream",
            action="append",
            metavar="ROLE",
            help="only this delivery stream (its key in pipeline.yaml, e.g. enriched_good); "
            "repeatable",
        )
        sub.add_argument(
            "--key", action="append", metavar="KEY", help="only this error object; repeatable"
        )
        sub.add_argument("--hour", metavar="YYYY/MM/DD/HH", help="only the objects of this hour")
        if name != "list":
            sub.add_argument(
                "--package",
                type=Path,
                default=ZIP_PATH,
                metavar="ZIP",
                help="the Lambda package to judge records with; it must be the deployed code "
                "(default: build/lambda/pseudonymization.zip)",
            )
        if name == "explain":
            sub.add_argument(
                "--show-record",
                type=int,
                metavar="N",
                help="also show record N's field names and lengths (never values)",
            )
            sub.add_argument(
                "--acknowledge-raw-access",
                action="store_true",
                help="confirm that you may see the shape of a raw record (with --show-record)",
            )
        if name == "replay":
            sub.add_argument(
                "--execute",
                action="store_true",
                help="put the records (without it: a dry run that only says what it would do)",
            )
            sub.add_argument(
                "--include-malformed",
                action="store_true",
                help="also put the records explain calls malformed (they will fail again)",
            )
        sub.set_defaults(handler=_guarded(action), include_replayed=name != "replay")
