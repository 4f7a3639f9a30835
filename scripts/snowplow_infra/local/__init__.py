"""The local stack: the whole environment applied to moto server, with Firehose played in Python.

One job per module:

* ``server``: the emulator's lifetime across commands (pid and port under the work directory);
* ``seed``: what the environment expects to exist before Terraform runs, and the local-only
  variable file that names it;
* ``stack``: terraform apply, output and destroy with a local backend;
* ``feed``: the records the collector and enricher would write to the streams;
* ``firehose``: Kinesis Data Firehose's reading, batching, transformation calls and S3 objects;
* ``lambda_runtime`` (and ``lambda_worker``): the deployed Lambda zip run in its own process;
* ``flow``: the salt, the feed and the deliveries of one demo run;
* ``summary``: the tables the demo prints, and the check of one event against the salt;
* ``report``: what the commands print (progress, the demo's summary) and the demo's JSON report;
* ``buckets``: emptying the buckets (policies, logging, every version) so destroy can delete them;
* ``lifecycle``: the stack brought up (emulator, seed, apply) and torn down (destroy, stop);
* ``command``: ``snowplow-infra local up|demo|down``: arguments, errors as sentences, Ctrl-C.

docs/local-demo.md describes what is real, what is played, and why.
"""
