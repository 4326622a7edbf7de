"""One name per version (catalog.models.version_label): a source's tag without a leading `v`
when the rest is a version number, else the tag; `v` and the number for a local folder's
version. Requests accept the name as shown."""

from __future__ import annotations

import pytest

from catalog.models import Template, TemplateVersion, version_label
from idp.services import ServiceError
from provisioning.actions.rules import resolve_version


@pytest.mark.parametrize(
    ("label", "number", "shown"),
    [
        ("v1.1.0", 7, "1.1.0"),
        ("V2.0.0", 7, "2.0.0"),
        ("1.2.3", 7, "1.2.3"),
        ("v1", 7, "1"),
        ("v1.2", 7, "1.2"),
        ("v2.0.0-rc.1", 7, "2.0.0-rc.1"),
        ("v1.0.0+build.5", 7, "1.0.0+build.5"),
        ("main@3f2a9c1b0d4e", 7, "main@3f2a9c1b0d4e"),
        ("release-2024", 7, "release-2024"),
        ("vnext", 7, "vnext"),  # not a number after the v: the tag as is
        ("v1.x", 7, "v1.x"),
        ("", 3, "v3"),  # a local folder's version
    ],
)
def test_the_rule(label: str, number: int, shown: str) -> None:
    assert version_label(label, number) == shown


@pytest.fixture
def note(db: None) -> Template:
    template = Template.objects.create(slug="ux-note", title="UX note")
    for number, label in ((1, "v1.0.2"), (2, "v1.1.0")):
        TemplateVersion.objects.create(
            template=template, number=number, label=label, content_hash=label, files={}
        )
    return template


@pytest.fixture
def local(db: None) -> Template:
    template = Template.objects.create(slug="local-note", title="Local note")
    for number in (1, 2, 3):
        TemplateVersion.objects.create(
            template=template,
            number=number,
            content_hash=f"h{number}",
            files={},
            metadata={"version": "1.0.0"},  # template.yaml's own claim is not the name
        )
    return template


def test_a_version_is_named_the_same_in_every_form(note: Template, local: Template) -> None:
    tagged = note.versions.get(number=2)
    assert (tagged.display, tagged.full_display, str(tagged)) == (
        "1.1.0",
        "ux-note 1.1.0",
        "ux-note 1.1.0",
    )
    untagged = local.versions.get(number=3)
    assert (untagged.display, untagged.full_display, str(untagged)) == (
        "v3",
        "local-note v3",
        "local-note v3",
    )


def test_a_request_takes_the_name_as_shown(note: Template, local: Template) -> None:
    for value in ("1.1.0", "v1.1.0", 2, "2"):
        assert resolve_version(note, value).number == 2
    assert resolve_version(note, "1.0.2").label == "v1.0.2"
    for value in ("v2", "V2", "2", 2):
        assert resolve_version(local, value).number == 2
    # A tagged template's `v1` names the tag v1 (there is none), never its number 1.
    with pytest.raises(ServiceError) as refused:
        resolve_version(note, "v1")
    assert refused.value.field == "version"
    with pytest.raises(ServiceError):
        resolve_version(local, "v9")
