"""What the environment expects to exist in the account before Terraform runs, made in the emulator.

In production these are inputs (``terraform.tfvars``): the network, the collector's certificate,
and the identities Snowflake hands over once its side exists. For the demo they are created in the
emulator and written to a local-only variable file, ``<work dir>/local.tfvars.json``, that only
``snowplow-infra local`` passes to terraform (CI's plan never sees it):

* a VPC with a public and a private subnet in each of two Availability Zones;
* a self-signed certificate for the collector's host name, imported into ACM (its private key is
  generated in memory and sent only to the emulator);
* Snowflake's side of the hand-off (docs/snowflake.md): an IAM user standing in for the storage
  integration's user, with an external id, and an SQS queue standing in for Snowpipe's;
* ``prevent_destroy = false``: the demo is a throwaway environment (docs/data-path.md);
* ``iam_propagation_seconds = 0``: the emulator's IAM has nothing to propagate, so the delivery
  streams need not wait for it.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from snowplow_infra.local.server import Server

VAR_FILE_NAME = "local.tfvars.json"
VPC_CIDR = "10.42.0.0/16"
ZONE_COUNT = 2
# Only the demo uses these names; they exist only in the emulator.
COLLECTOR_HOST_NAME = "collector.snowplow-demo.test"
SNOWFLAKE_USER_NAME = "snowflake-demo-storage-integration"
SNOWPIPE_QUEUE_NAME = "snowpipe-demo-notifications"
CERTIFICATE_DAYS = 30


class SeedError(RuntimeError):
    """The emulator refused to create what the environment needs."""


@dataclass(frozen=True)
class LocalSettings:
    """The local-only Terraform variables (what ``local.tfvars.json`` holds)."""

    variables: Mapping[str, Any]

    @property
    def vpc_id(self) -> str:
        return str(self.variables["vpc_id"])

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.variables, indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, path)

    @classmethod
    def read(cls, path: Path) -> LocalSettings | None:
        try:
            return cls(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None


def var_file(work_dir: Path) -> Path:
    return work_dir / VAR_FILE_NAME


def self_signed_certificate(host_name: str) -> tuple[bytes, bytes]:
    """A PEM certificate for ``host_name`` and its PEM private key, both in memory only."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host_name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CERTIFICATE_DAYS))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host_name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


def _network(server: Server, region: str) -> dict[str, Any]:
    ec2 = server.client("ec2", region)
    zones = [
        zone["ZoneName"]
        for zone in ec2.describe_availability_zones()["AvailabilityZones"]
        if zone.get("State", "available") == "available"
    ][:ZONE_COUNT]
    if len(zones) < ZONE_COUNT:
        raise SeedError(
            f"The emulator offers {len(zones)} Availability Zones in {region}; "
            f"the collector's load balancer needs {ZONE_COUNT}."
        )
    vpc_id = ec2.create_vpc(CidrBlock=VPC_CIDR)["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "Name", "Value": "snowplow-demo"}])
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc_id)
    blocks = ipaddress.ip_network(VPC_CIDR).subnets(new_prefix=24)
    subnets: dict[str, list[str]] = {"public": [], "private": []}
    for tier in ("public", "private"):
        for zone in zones:
            subnet = ec2.create_subnet(
                VpcId=vpc_id, CidrBlock=str(next(blocks)), AvailabilityZone=zone
            )
            subnet_id = subnet["Subnet"]["SubnetId"]
            ec2.create_tags(
                Resources=[subnet_id],
                Tags=[{"Key": "Name", "Value": f"snowplow-demo-{tier}-{zone}"}],
            )
            subnets[tier].append(subnet_id)
    return {
        "vpc_id": vpc_id,
        "public_subnet_ids": subnets["public"],
        "private_subnet_ids": subnets["private"],
    }


def _certificate(server: Server, region: str) -> str:
    certificate, private_key = self_signed_certificate(COLLECTOR_HOST_NAME)
    acm = server.client("acm", region)
    return str(
        acm.import_certificate(Certificate=certificate, PrivateKey=private_key)["CertificateArn"]
    )


def _snowflake_hand_off(server: Server, region: str) -> dict[str, Any]:
    user = server.client("iam", region).create_user(UserName=SNOWFLAKE_USER_NAME)["User"]
    queue_url = server.client("sqs", region).create_queue(QueueName=SNOWPIPE_QUEUE_NAME)["QueueUrl"]
    queue_arn = server.client("sqs", region).get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    return {
        "snowflake_storage_integration": {
            "iam_user_arn": user["Arn"],
            "external_id": f"SNOWPLOW_DEMO_SFCRole={secrets.token_hex(8)}",
        },
        "snowpipe_sqs_queue_arn": queue_arn,
    }


def seed(server: Server, region: str) -> LocalSettings:
    """Create the pre-existing resources in the emulator; return the variables that name them."""
    try:
        variables: dict[str, Any] = {
            **_network(server, region),
            "certificate_arn": _certificate(server, region),
            **_snowflake_hand_off(server, region),
            "prevent_destroy": False,
            "iam_propagation_seconds": 0,
        }
    except Exception as error:  # botocore's errors carry the operation and the emulator's reason
        if isinstance(error, SeedError):
            raise
        raise SeedError(
            f"Creating what the environment expects in the emulator failed: {error}"
        ) from error
    return LocalSettings(variables)


def is_seeded(server: Server, region: str, settings: LocalSettings) -> bool:
    """True when the emulator still holds the VPC the settings name (it was seeded by this run)."""
    ec2 = server.client("ec2", region)
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [settings.vpc_id]}])["Vpcs"]
    return bool(vpcs)
