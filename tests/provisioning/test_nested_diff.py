"""The nested diff (provisioning.plan_diff.nested): a Terraform resource change as the leaf
attributes that change, and plans grouped by identical changes. Pure functions, no database."""

from __future__ import annotations

import json
from typing import Any

from catalog.sensitivity import MASK
from provisioning.engine.redact import Redactor
from provisioning.plan_diff import (
    group_by_change,
    leaf_changes,
    leaf_text,
    plan_changes,
    stored_leaves,
)

TAGS = {"idp:environment": "sandbox", "idp:resource": "note-a"}


def item(
    before: Any,
    after: Any,
    *,
    actions: tuple[str, ...] = ("update",),
    address: str = "terraform_data.config",
    **marks: Any,
) -> dict[str, Any]:
    """One entry of a plan's `resource_changes`."""
    change = {
        "actions": list(actions),
        "before": before,
        "after": after,
        "after_unknown": marks.pop("after_unknown", {}),
        "before_sensitive": marks.pop("before_sensitive", {}),
        "after_sensitive": marks.pop("after_sensitive", {}),
        **marks,
    }
    return {"address": address, "change": change}


def texts(entry: dict[str, Any]) -> list[str]:
    return [leaf_text(leaf) for leaf in leaf_changes(entry)]


def test_an_object_change_reads_as_its_changed_leaf_and_unchanged_objects_fold():
    change = item(
        {"input": {"message": "hi", "tags": TAGS}, "id": "x"},
        {"input": {"message": "hi", "tags": TAGS, "color": "yellow"}, "id": "x"},
    )
    assert texts(change) == ['input.color: null → "yellow"']
    (leaf,) = leaf_changes(change)
    assert (leaf["attribute"], leaf["before"], leaf["after"]) == ("input", None, "yellow")
    assert "idp:environment" not in json.dumps(leaf_changes(change))  # tags folded away


def test_lists_change_by_index_and_objects_inside_lists_by_path():
    change = item(
        {"ports": [22, 80], "rules": [{"cidr": "10.0.0.0/8", "port": 22}], "names": ["a"]},
        {"ports": [22, 8080], "rules": [{"cidr": "10.0.0.0/16", "port": 22}], "names": []},
    )
    assert texts(change) == [
        'names[0]: "a" → null',
        "ports[1]: 80 → 8080",
        'rules[0].cidr: "10.0.0.0/8" → "10.0.0.0/16"',
    ]
    grown = item({"ports": [22]}, {"ports": [22, 443]})
    assert texts(grown) == ["ports[1]: null → 443"]


def test_deep_nesting_lists_only_what_changes_and_a_type_change_is_one_leaf():
    before = {"input": {"a": {"b": {"c": 1, "same": {"x": [1, 2]}}}, "kind": "text"}}
    after = {"input": {"a": {"b": {"c": 2, "same": {"x": [1, 2]}}}, "kind": {"v": 1}}}
    assert texts(item(before, after)) == ["input.a.b.c: 1 → 2", 'input.kind: "text" → {"v": 1}']
    # An object that becomes empty is one leaf, not nothing.
    assert texts(item({"tags": {}}, {"tags": None})) == ["tags: {} → null"]


def test_sensitive_leaves_are_masked_and_a_changed_secret_still_counts():
    change = item(
        {"input": {"user": "app", "password": "old-pass-1"}},
        {"input": {"user": "app", "password": "new-pass-2"}},
        before_sensitive={"input": {"password": True}},
        after_sensitive={"input": {"password": True}},
    )
    (leaf,) = leaf_changes(change)
    assert leaf["path"] == "input.password" and leaf["sensitive"]
    assert leaf["before"] == leaf["after"] == MASK
    assert leaf_text(leaf) == "input.password: (sensitive) → (sensitive)"
    assert "pass-" not in json.dumps(leaf_changes(change))
    # A list element marked sensitive, and a secret Terraform does not mark (the redactor).
    listed = item(
        {"keys": ["k-1", "k-2"], "note": "token s3cr3t-value"},
        {"keys": ["k-1", "k-3"], "note": "token s3cr3t-value!"},
        before_sensitive={"keys": [False, True]},
        after_sensitive={"keys": [False, True]},
    )
    leaves = leaf_changes(listed, Redactor(["s3cr3t-value"]))
    assert [leaf_text(leaf) for leaf in leaves][0] == "keys[1]: (sensitive) → (sensitive)"
    assert "s3cr3t" not in json.dumps(leaves) and "k-3" not in json.dumps(leaves)


def test_values_known_only_after_apply():
    change = item(
        {"input": "hello", "output": "hello", "nested": {"id": "old", "keep": 1}},
        {"input": "changed", "output": None, "nested": {"keep": 1}},
        after_unknown={"output": True, "nested": {"id": True}},
    )
    assert texts(change) == [
        'input: "hello" → "changed"',
        'nested.id: "old" → (known after apply)',
        'output: "hello" → (known after apply)',
    ]
    assert all(leaf["after"] is None for leaf in leaf_changes(change) if leaf["unknown"])


def test_replacements_are_flagged_per_leaf_and_a_destroy_goes_whole():
    replace = item(
        {"triggers_replace": ["v1"], "input": {"a": 1, "b": 2}},
        {"triggers_replace": ["v2"], "input": {"a": 1, "b": 3}},
        actions=("delete", "create"),
        replace_paths=[["triggers_replace"]],
    )
    leaves = {leaf["path"]: leaf for leaf in leaf_changes(replace)}
    assert leaves["triggers_replace[0]"]["forces_replacement"]
    assert not leaves["input.b"]["forces_replacement"]
    destroy = item({"input": "bye"}, None, actions=("delete",))
    assert leaf_changes(destroy) == []
    (group_replace,) = group_by_change([member(1, plan_changes({"resource_changes": [replace]}))])
    assert group_replace["replace"] and group_replace["destructive"]
    assert not group_replace["destroy"]
    (gone,) = group_by_change([member(2, plan_changes({"resource_changes": [destroy]}))])
    assert gone["destroy"] and gone["headline"] == "terraform_data.config destroyed"


def test_stored_rows_read_back_as_the_same_leaves():
    change = item(
        {"input": {"color": None, "tags": TAGS}, "ports": [1, 2]},
        {"input": {"color": "yellow", "tags": TAGS}, "ports": [1, 3]},
    )
    (entry,) = plan_changes({"resource_changes": [change]})["resources"]
    assert stored_leaves(entry) == leaf_changes(change)
    # A row stored before lists were walked (no `nested`): the attribute is one leaf.
    old = {
        "action": "update",
        "attributes": [{"name": "ports", "before": [1], "after": [2], "changed": True}],
    }
    assert [leaf_text(leaf) for leaf in stored_leaves(old)] == ["ports: [1] → [2]"]


def member(rid: int, changes: dict[str, Any], env: str = "dev") -> dict[str, Any]:
    return {"resource": {"id": rid, "name": f"note-{rid}"}, "environment": env, "changes": changes}


def colour_plan(name: str, env: str, color: str = "yellow") -> dict[str, Any]:
    """example-config's plan of one resource: input.color set, its output known later."""
    tags = {**TAGS, "idp:environment": env, "idp:resource": name}
    before = {"input": {"message": "hi", "tags": tags}, "output": {"message": "hi", "tags": tags}}
    after = {"input": {"message": "hi", "tags": tags, "color": color}, "output": None}
    return plan_changes({"resource_changes": [item(before, after, after_unknown={"output": True})]})


def test_identical_changes_of_three_resources_form_one_group():
    members = [
        member(1, colour_plan("note-a", "dev"), "dev"),
        member(2, colour_plan("note-b", "staging"), "staging"),
        member(3, colour_plan("note-c", "dev"), "dev"),
        member(4, colour_plan("note-d", "dev", color="red"), "dev"),
        member(5, plan_changes({"resource_changes": []}), "dev"),
        member(
            6,
            plan_changes(
                {
                    "resource_changes": [
                        item({"input": "x"}, None, actions=("delete",), address="terraform_data.y")
                    ]
                }
            ),
        ),
    ]
    groups = group_by_change(members)
    assert [g["count"] for g in groups] == [1, 3, 1, 1]
    destroy, three = groups[0], groups[1]
    assert destroy["destructive"] and destroy["resources"][0]["id"] == 6  # destroys first
    assert three["title"] == "3 resources"
    assert three["headline"].startswith('input.color: null → "yellow"')
    assert [r["name"] for r in three["resources"]] == ["note-1", "note-2", "note-3"]
    assert three["environments"] == ["dev", "staging"]
    assert not three["destructive"]
    (change,) = three["changes"]
    leaves = [leaf["text"] for leaf in change["leaves"]]
    # The old output differs per resource (its tags); the change is the same: one group.
    assert leaves == ['input.color: null → "yellow"', "output: (differs) → (known after apply)"]
    assert "idp:resource" not in json.dumps(three)
    red, unchanged = sorted(groups[2:], key=lambda g: g["headline"])
    assert red["headline"].startswith('input.color: null → "red"') and red["count"] == 1
    assert unchanged["headline"] == "no changes" and unchanged["changes"] == []
