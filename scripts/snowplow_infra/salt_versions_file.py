"""The Lambda's own reading of a salt secret (lambda/pseudonymization/salt_versions.py).

The CLI writes what the Lambda reads, so it checks every document it is about to store with the
very parser the Lambda uses, not a copy of its rules.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from snowplow_infra.paths import LAMBDA_SOURCE_DIR


def lambda_salt_versions() -> ModuleType:
    """The Lambda package's ``salt_versions`` module (imported as the Lambda runtime does)."""
    if str(LAMBDA_SOURCE_DIR) not in sys.path:
        sys.path.append(str(LAMBDA_SOURCE_DIR))
    return importlib.import_module("salt_versions")
