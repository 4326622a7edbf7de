"""Parsing of fleet upgrade requests (the rules are the actions'), and the answer's shape."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from idp.api.fields import StrictSerializer, VersionField

from ..actions.start import MAX_PARALLELISM, SELECTION_KINDS
from ..choices import FleetStatus, ItemStatus, PlanGroup


class SelectionSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=SELECTION_KINDS, default="all")
    teams = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Team slugs: the selection (kind team), or a filter on any kind",
    )
    environments = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Environment slugs: the selection (kind environment), or a filter on any kind",
    )
    resources = serializers.ListField(child=serializers.IntegerField(), required=False)
    from_versions = serializers.ListField(
        child=VersionField(),
        required=False,
        help_text="Only resources now on one of these versions (numbers or tags)",
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=300),
        required=False,
        help_text="Only resources whose `tags` or `labels` parameter holds every key=value, "
        'e.g. ["tier=demo"]',
    )


class FleetStartSerializer(StrictSerializer):
    template = serializers.CharField(help_text="The template's slug")
    version = VersionField(
        required=False,
        allow_blank=True,
        help_text="Target version: number or tag (v1.1.0); empty: current",
    )
    selection = SelectionSerializer(required=False)
    waves = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text='Waves as lists of environments, e.g. [["sandbox", "dev"], ["prod"]]; '
        "default: one wave per environment in their order",
    )
    percentages = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=100),
        required=False,
        help_text="Waves as cumulative percentages instead, e.g. [10, 50, 100]",
    )
    parallelism = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_PARALLELISM, help_text="Plans/applies at once"
    )
    failure_threshold = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=100,
        help_text="Pause when more than this % of a wave's applies failed",
    )
    auto_apply = serializers.BooleanField(
        default=True, help_text="Start the waves once every plan finished (else: resume)"
    )


# Named apart from provisioning's ReasonSerializer (plan_run and reason): one component each.
@extend_schema_serializer(component_name="FleetReason")
class ReasonSerializer(StrictSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class ProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    counts = serializers.DictField(child=serializers.IntegerField())
    planned = serializers.IntegerField()
    done = serializers.IntegerField()
    plan_percent = serializers.IntegerField()
    done_percent = serializers.IntegerField()
    plan_complete = serializers.BooleanField()


class FleetSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    template = serializers.CharField()
    target_version = serializers.IntegerField()
    target_version_label = serializers.CharField(
        help_text="The version's name: a source's tag without a leading `v` (`1.1.0`), "
        "else `v` and the number (`v3`)"
    )
    team = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=FleetStatus.choices)
    selection = serializers.DictField()
    current_wave = serializers.IntegerField()
    wave_count = serializers.IntegerField()
    parallelism = serializers.IntegerField()
    failure_threshold = serializers.IntegerField()
    auto_apply = serializers.BooleanField()
    pause_reason = serializers.CharField()
    created_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    planned_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    progress = ProgressSerializer()
    may_manage = serializers.BooleanField()
    url = serializers.CharField()


class _RefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ItemSerializer(serializers.Serializer):
    resource = _RefSerializer()
    team = serializers.CharField()
    environment = serializers.CharField()
    resource_status = serializers.CharField()
    wave = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ItemStatus.choices)
    group = serializers.ChoiceField(choices=PlanGroup.choices, allow_null=True)
    from_version = serializers.IntegerField()
    from_version_label = serializers.CharField(help_text="The version's name (`1.0.0`, `v2`)")
    plan_run = serializers.IntegerField(allow_null=True)
    apply_run = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    updated_at = serializers.DateTimeField()


class DiffSerializer(serializers.Serializer):
    address = serializers.CharField()
    action = serializers.CharField()
    attribute = serializers.CharField()
    before = serializers.CharField()
    after = serializers.CharField()
    resources = serializers.IntegerField(help_text="How many resources' plans show this diff")


class GroupSerializer(serializers.Serializer):
    group = serializers.ChoiceField(choices=PlanGroup.choices)
    title = serializers.CharField()
    count = serializers.IntegerField()
    resources = _RefSerializer(many=True)
    diffs = DiffSerializer(many=True)
    plan_errors = serializers.ListField(child=serializers.DictField())


class FleetLeafSerializer(serializers.Serializer):
    path = serializers.CharField(help_text="A nested attribute path: `input.color`, `ports[1]`")
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)
    unknown = serializers.BooleanField(help_text="Known only after the apply")
    sensitive = serializers.BooleanField(help_text="Both sides read `(sensitive)`")
    forces_replacement = serializers.BooleanField()
    text = serializers.CharField(help_text='`input.color: null → "yellow"`')


class FleetResourceChangeSerializer(serializers.Serializer):
    address = serializers.CharField(help_text='A Terraform address, or "outputs"')
    action = serializers.CharField()
    leaves = FleetLeafSerializer(many=True)


class FleetChangeMemberSerializer(_RefSerializer):
    environment = serializers.CharField()


class FleetChangeGroupSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    title = serializers.CharField(help_text='"3 resources"')
    headline = serializers.CharField(help_text="The group's first leaf changes as text")
    replace = serializers.BooleanField()
    destroy = serializers.BooleanField()
    destructive = serializers.BooleanField(help_text="Replaces or destroys: listed first")
    changes = FleetResourceChangeSerializer(many=True)
    resources = FleetChangeMemberSerializer(many=True)
    environments = serializers.ListField(child=serializers.CharField())


class WaveSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    name = serializers.CharField()
    environments = serializers.ListField(child=serializers.CharField(), allow_null=True)
    percent = serializers.IntegerField(allow_null=True)
    state = serializers.ChoiceField(choices=["done", "current", "waiting"])
    counts = serializers.DictField(child=serializers.IntegerField())
    failed = serializers.IntegerField()
    applies = serializers.IntegerField()


class FleetDetailSerializer(FleetSerializer):
    waves = WaveSerializer(many=True)
    groups = GroupSerializer(many=True)
    change_groups = FleetChangeGroupSerializer(
        many=True, help_text="Plans grouped by identical leaf changes, destructive first"
    )
    items = ItemSerializer(many=True)
