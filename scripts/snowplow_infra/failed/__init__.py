"""``snowplow-infra failed list|explain|replay``: the records Firehose could not transform.

Firehose writes each record its processor failed (a ``ProcessingFailed`` result, or a whole batch
after a Lambda error such as a salt outage) under the delivery stream's error prefix in the events
bucket, raw, for the retention of the ``processing-failed`` lifecycle rule. These modules:

* ``locations``: where each delivery stream's error objects live (DescribeDeliveryStream);
* ``documents``: the error objects and the records they hold (never printed);
* ``judge``: why each record fails today, found by the packaged Lambda's own functions
  (``judge_worker`` runs them in a separate process);
* ``manifest`` and ``replay``: putting records back on the Kinesis source stream exactly once;
* ``command``: the command line (``target`` picks AWS or the local emulator).

Runbook: docs/alarms.md, "ProcessingFailed records".
"""
