"""The IAM policies of the platform's processes (deploy/iam/*.json): well-formed (AWS's policy
grammar, as the local AWS API checks it on create_policy), filled in only from the
documented placeholders, and least privilege: no wildcard actions, no "*" resource except the
one AWS requires and docs/deploy-aws.md explains, state and configuration scoped to their
prefixes, and each process kind with only what it does."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from django.conf import settings

IAM = Path(settings.BASE_DIR) / "deploy" / "iam"
DOC = Path(settings.BASE_DIR) / "docs" / "deploy-aws.md"
KINDS = ("web", "worker", "beat")
# Filled in by whoever deploys (Terraform's templatefile() takes the same ${name} syntax).
SAMPLE = {
    "Region": "eu-west-1",
    "AccountId": "123456789012",
    "ConfigPrefix": "/idp/config/prod",
    "ConfigKeyId": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    "StateBucket": "idp-terraform-state-123456789012",
    "LockTable": "idp-terraform-locks",
    "EnvironmentRoleName": "idp-provisioner",
}
# Where AWS offers no resource-level permission: (process, action) → documented reason.
STAR_ALLOWED = {("worker", "ce:GetCostAndUsage")}
PLACEHOLDER = re.compile(r"\$\{([A-Za-z]+)\}")


def raw(kind: str) -> str:
    return (IAM / f"{kind}.json").read_text()


def rendered(kind: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(PLACEHOLDER.sub(lambda m: SAMPLE[m.group(1)], raw(kind)))
    return document


def statements(kind: str) -> list[dict[str, Any]]:
    return list(rendered(kind)["Statement"])


def as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def grants(kind: str) -> set[tuple[str, str]]:
    return {
        (action, resource)
        for s in statements(kind)
        for action in as_list(s["Action"])
        for resource in as_list(s["Resource"])
    }


def test_the_folder_holds_exactly_the_three_policies() -> None:
    assert sorted(p.stem for p in IAM.glob("*.json")) == sorted(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_policy_parses_uses_only_documented_placeholders_and_allows_only(kind: str) -> None:
    json.loads(raw(kind))  # valid JSON before any substitution too
    used = set(PLACEHOLDER.findall(raw(kind)))
    assert used <= set(SAMPLE), used - set(SAMPLE)
    doc = DOC.read_text()
    for name in used:
        assert f"${{{name}}}" in doc, f"docs/deploy-aws.md does not explain ${{{name}}}"
    document = rendered(kind)
    assert document["Version"] == "2012-10-17"
    sids = [s["Sid"] for s in document["Statement"]]
    assert len(sids) == len(set(sids))
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        assert "NotAction" not in statement and "NotResource" not in statement


@pytest.mark.parametrize("kind", KINDS)
def test_no_wildcard_actions_and_no_star_resource_but_the_documented_one(kind: str) -> None:
    for action, resource in grants(kind):
        assert "*" not in action, f"{kind}: wildcard action {action}"
        if resource == "*":
            assert (kind, action) in STAR_ALLOWED, f"{kind}: {action} on every resource"
        else:
            assert resource.startswith("arn:aws:"), resource
    doc = DOC.read_text()
    for _, action in STAR_ALLOWED:
        assert action in doc, f"docs/deploy-aws.md does not say why {action} needs *"


@pytest.mark.parametrize("kind", KINDS)
def test_configuration_is_read_only_and_only_under_the_prefix(kind: str) -> None:
    ssm = {(a, r) for a, r in grants(kind) if a.startswith("ssm:")}
    prefix = f"arn:aws:ssm:eu-west-1:123456789012:parameter{SAMPLE['ConfigPrefix']}"
    assert ssm == {("ssm:GetParametersByPath", prefix)}
    kms = [s for s in statements(kind) if any(a.startswith("kms:") for a in as_list(s["Action"]))]
    assert [as_list(s["Action"]) for s in kms] == [["kms:Decrypt"]]
    # The key decrypts only what Parameter Store hands over.
    assert kms[0]["Condition"]["StringEquals"]["kms:ViaService"] == "ssm.eu-west-1.amazonaws.com"


def test_the_state_bucket_is_scoped_to_its_prefixes() -> None:
    bucket = f"arn:aws:s3:::{SAMPLE['StateBucket']}"
    for kind in KINDS:
        for action, resource in grants(kind):
            if action.startswith("s3:"):
                assert resource == bucket or resource in {
                    f"{bucket}/teams/*",
                    f"{bucket}/backups/*",
                }, (kind, action, resource)
    web_s3 = {(a, r) for a, r in grants("web") if a.startswith("s3:")}
    # The portal reads states and checks the bucket; it never writes or deletes one.
    assert web_s3 == {("s3:ListBucket", bucket), ("s3:GetObject", f"{bucket}/teams/*")}
    worker_objects = {a for a, r in grants("worker") if r.startswith(f"{bucket}/")}
    assert worker_objects == {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}


def test_each_process_kind_gets_only_what_it_does() -> None:
    def services(kind: str) -> set[str]:
        return {action.split(":")[0] for action, _ in grants(kind)}

    assert services("beat") == {"ssm", "kms"}  # beat only sends tasks
    assert services("web") == {"ssm", "kms", "s3", "sts"}
    assert services("worker") == {"ssm", "kms", "s3", "sts", "dynamodb", "budgets", "ce"}
    writes = re.compile(r":(Put|Delete|Create|Update|Modify)")
    assert not [a for a, _ in grants("web") | grants("beat") if writes.search(a)]
    # Environment roles only by their one name, in any account the environments name.
    for kind in ("web", "worker"):
        roles = {r for a, r in grants(kind) if a.startswith("sts:")}
        assert roles == {f"arn:aws:iam::*:role/{SAMPLE['EnvironmentRoleName']}"}


@pytest.mark.parametrize("kind", KINDS)
def test_aws_accepts_the_policy_document(kind: str, aws: str) -> None:
    iam = boto3.client(
        "iam",
        endpoint_url=aws,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - the local AWS API
    )
    created = iam.create_policy(PolicyName=f"idp-{kind}", PolicyDocument=json.dumps(rendered(kind)))
    assert created["Policy"]["Arn"].endswith(f":policy/idp-{kind}")
    with pytest.raises(iam.exceptions.MalformedPolicyDocumentException):
        broken = rendered(kind)
        broken["Statement"][0]["Effect"] = "Maybe"
        iam.create_policy(PolicyName=f"idp-{kind}-broken", PolicyDocument=json.dumps(broken))
