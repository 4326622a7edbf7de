"""The attribute-level plan diff on recorded `terraform show -json` plans (Terraform 1.15,
`terraform_data` modules; tests/provisioning/plans), and its rendering in the portal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.template.loader import render_to_string

from catalog.sensitivity import MASK
from idp.cli.resources import diff_text
from provisioning.engine.redact import Redactor
from provisioning.plan_diff import (
    STRING_LIMIT,
    UNKNOWN,
    api_changes,
    path_text,
    plan_changes,
)

PLANS = Path(__file__).resolve().parent / "plans"


def recorded(name: str) -> dict[str, Any]:
    return json.loads((PLANS / f"{name}.json").read_text())


def by_address(changes: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["address"]: entry for entry in changes["resources"]}


def rows(entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in entry["attributes"]}


def test_an_update_shows_before_and_after_of_the_changed_attribute_only():
    changes = plan_changes(recorded("echo_update"))
    (echo,) = changes["resources"]
    assert echo["address"] == "terraform_data.echo" and echo["action"] == "update"
    assert echo["changed"] == ["input", "output"]
    attrs = rows(echo)
    assert (attrs["input"]["before"], attrs["input"]["after"]) == ("hello", "changed")
    assert attrs["output"]["unknown"] and attrs["output"]["after"] is None
    assert echo["after_unknown"] == ["output"]
    # Unchanged attributes are kept for "show all", flagged unchanged.
    assert not attrs["id"]["changed"] and attrs["id"]["before"] == attrs["id"]["after"]
    assert not attrs["triggers_replace"]["changed"]


def test_outputs_no_op_ones_left_out_sensitive_masked_unknown_flagged():
    outputs = {o["name"]: o for o in plan_changes(recorded("echo_update"))["outputs"]}
    assert set(outputs) == {"echo", "token"}  # `where` does not change
    assert outputs["echo"] == {
        "name": "echo",
        "action": "update",
        "before": "hello",
        "after": None,
        "after_unknown": True,
        "sensitive": False,
    }
    assert outputs["token"]["sensitive"]
    assert outputs["token"]["before"] == outputs["token"]["after"] == MASK
    assert "secret" not in json.dumps(outputs)


def test_a_create_lists_what_is_set_and_what_is_known_after_apply():
    changes = plan_changes(recorded("box_create"))
    box = by_address(changes)["terraform_data.box"]
    assert box["action"] == "create" and box["replace_paths"] == []
    assert box["after_unknown"] == ["id", "output"]
    attrs = rows(box)
    assert attrs["id"]["unknown"] and attrs["id"]["changed"]
    assert attrs["triggers_replace"]["after"] == ["hello"]
    assert all(row["before"] is None for row in box["attributes"])
    gone = by_address(changes)["terraform_data.gone[0]"]
    # A null attribute of a new object is hidden behind "show all", as Terraform does.
    assert "triggers_replace" not in gone["changed"]
    outputs = {o["name"]: o for o in changes["outputs"]}
    assert outputs["box"]["after_unknown"] and outputs["secret_out"]["after"] == MASK


def test_nested_sensitive_values_are_masked_where_terraform_marks_them():
    box = by_address(plan_changes(recorded("box_create")))["terraform_data.box"]
    value = rows(box)["input"]["after"]
    assert value == {"name": "hello", "tags": ["a", "hello"], "token": MASK}
    assert not rows(box)["input"]["sensitive"]  # only a part of it is
    assert "first-secret-1" not in json.dumps(box)


def test_a_replace_names_the_attributes_that_force_it():
    changes = plan_changes(recorded("box_replace"))
    box = by_address(changes)["terraform_data.box"]
    assert box["action"] == "replace"
    assert box["action_reason"] == "replace_because_cannot_update"
    assert box["replace_paths"] == ["triggers_replace"]
    attrs = rows(box)
    assert attrs["triggers_replace"]["forces_replacement"]
    assert (attrs["triggers_replace"]["before"], attrs["triggers_replace"]["after"]) == (
        ["hello"],
        ["changed"],
    )
    assert not attrs["input"]["forces_replacement"]
    assert by_address(changes)["terraform_data.fresh[0]"]["action"] == "create"
    gone = by_address(changes)["terraform_data.gone[0]"]
    assert gone["action"] == "delete" and gone["action_reason"] == "delete_because_count_index"


def test_the_redactor_catches_a_secret_terraform_does_not_mark():
    # terraform_data's `output` copies the secret without Terraform's sensitive mark.
    plan = recorded("box_replace")
    assert "first-secret-1" in json.dumps(plan_changes(plan)), "the recording lost its point"
    changes = plan_changes(plan, Redactor(["first-secret-1", "second-secret-2"]))
    text = json.dumps(changes)
    assert "first-secret-1" not in text and "second-secret-2" not in text
    box = by_address(changes)["terraform_data.box"]
    assert rows(box)["output"]["before"]["token"] == MASK
    outputs = {o["name"]: o for o in changes["outputs"]}
    assert outputs["box"]["before"]["token"] == MASK


def test_an_update_of_a_sensitive_attribute_masks_both_sides():
    changes = plan_changes(recorded("secret_update"), Redactor(["first-secret-1"]))
    pw = by_address(changes)["terraform_data.pw"]
    attrs = rows(pw)
    assert attrs["input"]["sensitive"] and attrs["input"]["changed"]
    assert attrs["input"]["before"] == attrs["input"]["after"] == MASK
    cfg = by_address(changes)["terraform_data.cfg"]
    assert rows(cfg)["input"]["after"] == {"message": "changed", "password": MASK}
    assert "second-secret-2" not in json.dumps(changes)  # masked by Terraform's marks alone
    assert "first-secret-1" not in json.dumps(changes)  # the unmarked copy, by the redactor


def test_an_object_attribute_reads_as_its_changed_keys_a_changed_secret_included():
    changes = plan_changes(recorded("secret_update"))
    cfg = by_address(changes)["terraform_data.cfg"]
    nested = {n["path"]: n for n in rows(cfg)["input"]["nested"]}
    assert set(nested) == {"message", "password"}  # the secret changed too: it is listed
    assert (nested["message"]["before"], nested["message"]["after"]) == ("hello", "changed")
    assert nested["password"]["sensitive"]
    assert nested["password"]["before"] == nested["password"]["after"] == MASK
    # A wholly sensitive attribute does not list its keys.
    assert "nested" not in rows(by_address(changes)["terraform_data.pw"])["input"]
    (api, _) = api_changes({"resources": [cfg]})
    assert api[0]["nested_changes"]["input"][0]["path"] == "message"
    text = diff_text({"changes": api, "output_changes": [], "plan_counts": {}})
    assert '~ input.message: "hello" -> "changed"' in text
    assert "~ input.password: (sensitive) -> (sensitive)" in text
    assert "input: {" not in text  # never the whole object on both sides


def test_a_delete_shows_what_goes():
    changes = plan_changes(recorded("box_destroy"))
    assert {e["action"] for e in changes["resources"]} == {"delete"}
    gone = by_address(changes)["terraform_data.gone[0]"]
    assert rows(gone)["input"]["before"] == "bye" and rows(gone)["input"]["after"] is None
    assert {o["action"] for o in changes["outputs"]} == {"delete"}


def test_nested_unknown_values_read_known_after_apply():
    plan = {
        "resource_changes": [
            {
                "address": "aws_s3_bucket.b",
                "change": {
                    "actions": ["update"],
                    "before": {"tags": {"a": "1"}, "rules": [{"id": "x"}]},
                    "after": {"tags": {"a": "1"}, "rules": [{}]},
                    "after_unknown": {"tags": {"b": True}, "rules": [{"id": True}]},
                    "before_sensitive": {},
                    "after_sensitive": {},
                },
            }
        ]
    }
    (entry,) = plan_changes(plan)["resources"]
    assert entry["after_unknown"] == ["rules[0].id", "tags.b"]
    attrs = rows(entry)
    assert attrs["tags"]["after"] == {"a": "1", "b": UNKNOWN}
    assert attrs["rules"]["after"] == [{"id": UNKNOWN}]
    assert attrs["tags"]["changed"] and not attrs["tags"]["unknown"]


def test_no_op_and_read_are_left_out_and_paths_read_like_terraform():
    plan = {
        "resource_changes": [
            {"address": "a.b", "change": {"actions": ["no-op"], "before": {}, "after": {}}},
            {"address": "data.x.y", "change": {"actions": ["read"], "before": None}},
        ]
    }
    assert plan_changes(plan) == {"resources": [], "outputs": []}
    assert path_text(["ingress", 0, "cidr_blocks", 1]) == "ingress[0].cidr_blocks[1]"
    assert path_text(["tags", "kubernetes.io/role"]) == 'tags["kubernetes.io/role"]'


def test_a_long_value_is_cut_with_a_marker_and_the_secret_is_redacted_before_the_cut():
    secret = "s3cret-" * 10
    long_text = "x" * (STRING_LIMIT - 5) + secret + "y" * 20000
    plan = {
        "resource_changes": [
            {
                "address": "terraform_data.big",
                "change": {
                    "actions": ["create"],
                    "before": None,
                    "after": {"input": long_text, "many": list(range(5000))},
                    "after_unknown": {},
                    "before_sensitive": False,
                    "after_sensitive": {},
                },
            }
        ]
    }
    changes = plan_changes(plan, Redactor([secret]))
    attrs = rows(changes["resources"][0])
    shown = attrs["input"]["after"]
    assert len(shown) < STRING_LIMIT + 100 and shown.endswith("characters, truncated]")
    assert "s3cret" not in shown  # not even the start of the secret, left by the cut
    assert isinstance(attrs["many"]["after"], str) and "truncated" in attrs["many"]["after"]
    assert len(json.dumps(changes)) < 15000


def test_the_api_shape_has_before_and_after_maps():
    resources, outputs = api_changes(plan_changes(recorded("echo_update")))
    (echo,) = resources
    assert echo["before"]["input"] == "hello" and echo["after"]["input"] == "changed"
    assert "output" not in echo["after"] and echo["after_unknown"] == ["output"]
    created, _ = api_changes(plan_changes(recorded("box_create")))
    assert created[0]["before"] is None
    deleted, _ = api_changes(plan_changes(recorded("box_destroy")))
    assert all(entry["after"] is None for entry in deleted)
    assert {o["name"] for o in outputs} == {"echo", "token"}


def test_the_cli_prints_it_like_terraform_plan():
    resources, outputs = api_changes(plan_changes(recorded("box_replace"), Redactor(["x-x-x"])))
    run = {
        "changes": resources,
        "output_changes": outputs,
        "plan_counts": {"add": 2, "change": 0, "destroy": 2},
    }
    text = diff_text(run)
    assert "-/+ terraform_data.box (replace)" in text
    # Lists by index, each leaf with its own mark; the object's other keys folded.
    assert '~ triggers_replace[0]: "hello" -> "changed"  # forces replacement' in text
    assert '~ input.name: "hello" -> "changed"' in text
    assert '~ input.tags[1]: "hello" -> "changed"\n' in text
    assert "input.tags[0]" not in text and '"a"' not in text.split("~ output")[0]
    assert "~ input.token: (sensitive) -> (sensitive)" in text
    assert "~ output: " in text and "-> (known after apply)" in text
    assert "+ terraform_data.fresh[0] (create)" in text and '+ input: "changed"' in text
    assert "- terraform_data.gone[0] (delete)" in text and '- input: "bye"' in text
    assert "unchanged attributes hidden" not in text.split("terraform_data.fresh")[0]
    assert "Plan: 2 to add, 0 to change, 2 to destroy." in text
    assert "\x1b[" not in text
    assert "\x1b[" in diff_text(run, colour=True)


@pytest.mark.django_db
def test_the_portal_partial_renders_from_the_stored_dict_alone():
    changes = plan_changes(recorded("echo_update"), Redactor(["an0ther-secret-val"]))
    html = render_to_string("provisioning/_plan_diff.html", {"changes": changes})
    assert "terraform_data.echo" in html and "will be updated in-place" in html
    assert '"<code class="value">hello</code>"' in html
    assert '"<code class="value">changed</code>"' in html
    assert "(known after apply)" in html and "show all (2 unchanged attributes)" in html
    assert MASK in html and "an0ther-secret-val" not in html
    nested = plan_changes(recorded("secret_update"), Redactor(["first-secret-1"]))
    html = render_to_string("provisioning/_plan_diff.html", {"changes": nested})
    assert 'data-path="input.message"' in html and "whole value" in html
    assert '<span class="plan-path">input.password:</span>' in html and "(sensitive)" in html
    assert "first-secret-1" not in html and "second-secret-2" not in html
    assert render_to_string("provisioning/_plan_diff.html", {"changes": {}}).strip() == ""
