"""Tooling behind the ``snowplow-infra`` command."""
