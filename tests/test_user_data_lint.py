"""The collector's and enricher's boot scripts pass shellcheck, linted as the instances get them.

Terraform renders them: a small root module (written per test run) calls the real collector and
enricher modules with the configs `render-configs` produces from pipeline.yaml, and is planned
against the local AWS emulator (their ec2-fleet resolves the AMI from SSM at plan time). Each
script is the fleet's common steps followed by the app's own. Each launch template's planned
``user_data`` is base64-decoded and gunzipped, which is what cloud-init does on the instance, and
that text is what shellcheck reads.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from snowplow_infra import emulator, pipeline, render_configs, terraform
from snowplow_infra.paths import MODULES_DIR

ENVIRONMENT = "aws-snowplow"

pytestmark = [
    pytest.mark.terraform,
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("shellcheck") is None,
        reason="shellcheck is not installed (Debian package `shellcheck`; .ci/run installs it)",
    ),
    pytest.mark.skipif(terraform.find_binary() is None, reason="terraform is not on PATH"),
]

# Every launch template the fixture plans: the collector, and the enricher without and with a
# private Iglu registry's API key (the two branches of its template).
FIXTURE = """
terraform {{
  required_providers {{
    aws = {{
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }}
  }}
}}

provider "aws" {{
  region = "{region}"
}}

locals {{
  config_dir  = "{config_dir}"
  account     = "111122223333"
  kms_key_arn = "arn:aws:kms:{region}:${{local.account}}:key/11111111-2222-3333-4444-555555555555"
  stream_arns = {{
    for role in ["raw-good", "raw-bad", "enriched-good", "enriched-bad"] :
    role => "arn:aws:kinesis:{region}:${{local.account}}:stream/snowplow-${{role}}"
  }}
  enricher = {{
    vpc_id                     = "vpc-0123456789abcdef0"
    private_subnet_ids         = ["subnet-0bbbbbbbbbbbbbbb1"]
    app_name                   = "{app_name}"
    image                      = "{enrich_image}"
    config                     = file("${{local.config_dir}}/enrich.hocon")
    iglu_resolver              = file("${{local.config_dir}}/iglu_resolver.json")
    enrichments = {{
      for path in fileset("${{local.config_dir}}/enrichments", "*.json") :
      trimsuffix(path, ".json") => file("${{local.config_dir}}/enrichments/${{path}}")
    }}
  }}
}}

module "collector" {{
  source = "{collector}"

  vpc_id                     = "vpc-0123456789abcdef0"
  public_subnet_ids          = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]
  private_subnet_ids         = ["subnet-0bbbbbbbbbbbbbbb1"]
  certificate_arn            = "arn:aws:acm:{region}:${{local.account}}:certificate/lint"
  ingress_cidr_blocks        = ["0.0.0.0/0"]
  access_logs_bucket_name    = "lint-access-logs"
  port                       = {collector_port}
  image                      = "{collector_image}"
  config                     = file("${{local.config_dir}}/collector.hocon")
  accept_limited_use_license = true
  raw_good_stream_arn        = local.stream_arns["raw-good"]
  raw_bad_stream_arn         = local.stream_arns["raw-bad"]
  streams_kms_key_arn        = local.kms_key_arn
  logs_kms_key_arn           = local.kms_key_arn
}}

module "enricher" {{
  source = "{enricher}"

  vpc_id                     = local.enricher.vpc_id
  private_subnet_ids         = local.enricher.private_subnet_ids
  app_name                   = local.enricher.app_name
  image                      = local.enricher.image
  config                     = local.enricher.config
  iglu_resolver              = local.enricher.iglu_resolver
  enrichments                = local.enricher.enrichments
  accept_limited_use_license = true
  raw_good_stream_arn        = local.stream_arns["raw-good"]
  enriched_good_stream_arn   = local.stream_arns["enriched-good"]
  enriched_bad_stream_arn    = local.stream_arns["enriched-bad"]
  streams_kms_key_arn        = local.kms_key_arn
  lease_table_kms_key_arn    = local.kms_key_arn
  logs_kms_key_arn           = local.kms_key_arn
}}

module "enricher_with_iglu_api_key" {{
  source = "{enricher}"

  name                       = "lint-enricher-with-key"
  vpc_id                     = local.enricher.vpc_id
  private_subnet_ids         = local.enricher.private_subnet_ids
  app_name                   = local.enricher.app_name
  image                      = local.enricher.image
  config                     = local.enricher.config
  iglu_resolver              = local.enricher.iglu_resolver
  enrichments                = local.enricher.enrichments
  accept_limited_use_license = true
  raw_good_stream_arn        = local.stream_arns["raw-good"]
  enriched_good_stream_arn   = local.stream_arns["enriched-good"]
  enriched_bad_stream_arn    = local.stream_arns["enriched-bad"]
  streams_kms_key_arn        = local.kms_key_arn
  lease_table_kms_key_arn    = local.kms_key_arn
  logs_kms_key_arn           = local.kms_key_arn
  iglu_api_key = {{
    secret_name = "snowplow/iglu-api-key"
    env_var     = "{api_key_env_var}"
    kms_key_arn = local.kms_key_arn
  }}
}}
"""

# Each app module runs its instances on the ec2-fleet module, which owns the launch template.
COLLECTOR = "module.collector.module.fleet.aws_launch_template.this"
ENRICHER = "module.enricher.module.fleet.aws_launch_template.this"
ENRICHER_WITH_KEY = "module.enricher_with_iglu_api_key.module.fleet.aws_launch_template.this"
LAUNCH_TEMPLATES = (COLLECTOR, ENRICHER, ENRICHER_WITH_KEY)


@dataclass(frozen=True)
class Rendered:
    """The build's config files, and the user data each launch template gets in the plan."""

    config_dir: Path
    boot_scripts: dict[str, str]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    workdir = tmp_path_factory.mktemp("user-data")
    config_dir = render_configs.render_configs(ENVIRONMENT, target=workdir / "config")
    values = pipeline.load(ENVIRONMENT)
    root = workdir / "root"
    root.mkdir()
    # Local module sources must be relative (./ or ../) to the calling module.
    (root / "main.tf").write_text(
        FIXTURE.format(
            region=values.region,
            config_dir=config_dir,
            collector=os.path.relpath(MODULES_DIR / "collector", root),
            enricher=os.path.relpath(MODULES_DIR / "enricher", root),
            collector_port=values.collector.port,
            collector_image=values.collector.image,
            enrich_image=values.enrich.image,
            app_name=values.enrich.app_name,
            api_key_env_var=values.enrich.iglu.api_key_env_var,
        )
    )
    terraform.init(root)
    with emulator.start(workdir / "moto") as server:
        terraform.run(
            ["plan", "-input=false", "-no-color", "-out=tfplan"],
            root,
            capture=True,
            extra_env=server.terraform_environment(values.region),
        )
    shown = terraform.run(["show", "-json", "tfplan"], root, capture=True)
    changes = {change["address"]: change for change in json.loads(shown.stdout)["resource_changes"]}
    return Rendered(
        config_dir=config_dir,
        boot_scripts={
            address: gzip.decompress(
                base64.b64decode(changes[address]["change"]["after"]["user_data"])
            ).decode()
            for address in LAUNCH_TEMPLATES
        },
    )


@pytest.mark.parametrize("address", LAUNCH_TEMPLATES)
def test_boot_script_passes_shellcheck(rendered: Rendered, address: str, tmp_path: Path) -> None:
    script = tmp_path / "user-data.sh"
    script.write_text(rendered.boot_scripts[address])
    result = subprocess.run(
        ["shellcheck", "--shell=bash", "--severity=style", "--format=gcc", str(script)],
        capture_output=True,
        text=True,
        check=False,
    )
    report = f"{result.stdout}{result.stderr}"
    assert result.returncode == 0, f"shellcheck on {address}.user_data:\n{report}"


def _base64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def test_boot_scripts_carry_the_rendered_configs(rendered: Rendered) -> None:
    """What was linted is the real thing: a bash script holding the build's files."""
    config_dir = rendered.config_dir
    collector = rendered.boot_scripts[COLLECTOR]
    assert collector.startswith("#!/bin/bash\n")
    assert f"\n{_base64(config_dir / 'collector.hocon')}\n" in collector
    enricher = rendered.boot_scripts[ENRICHER]
    enrichments = sorted((config_dir / "enrichments").glob("*.json"))
    assert enrichments
    for path in [config_dir / "enrich.hocon", config_dir / "iglu_resolver.json", *enrichments]:
        relative = path.relative_to(config_dir)
        assert f"\"$config_dir/{relative}\" <<'CONFIG'\n{_base64(path)}\n" in enricher
    assert "secretsmanager" not in enricher
    with_key = rendered.boot_scripts[ENRICHER_WITH_KEY]
    assert "aws secretsmanager get-secret-value" in with_key
