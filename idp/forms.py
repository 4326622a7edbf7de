from django import forms

from . import scopes as token_scopes
from .choices import Role


class TokenCreateForm(forms.Form):
    """A personal token: read only unless more is ticked; none ticked is refused."""

    # The scopes the template marks as powerful next to their box.
    powerful_scopes = token_scopes.POWERFUL_SCOPES

    name = forms.CharField(max_length=100, initial="cli", help_text="What the token is for")
    scopes = forms.MultipleChoiceField(
        choices=[(s.value, s.label) for s in token_scopes.PERSONAL_TOKEN_SCOPES],
        initial=[str(s) for s in token_scopes.PERSONAL_DEFAULT_SCOPES],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one scope (read lets the token only look)."},
        help_text="Read only unless you tick more; approve and admin only when ticked",
    )
    expires_in = forms.ChoiceField(
        choices=[("7d", "7 days"), ("30d", "30 days"), ("90d", "90 days"), ("365d", "1 year")],
        initial="90d",
        required=False,
        label="Expires in",
    )


class NotificationPreferencesForm(forms.Form):
    """The e-mails a user wants (unticked: off)."""

    plans_to_decide = forms.BooleanField(
        required=False, label="A plan awaits my decision", initial=True
    )
    my_requests = forms.BooleanField(
        required=False,
        label="My requests and changes are decided, applied or fail",
        initial=True,
    )
    drift_found = forms.BooleanField(
        required=False, label="A resource of my teams drifted", initial=True
    )


class MemberAddForm(forms.Form):
    """An existing user by name and a role; creating or editing users is for platform admins."""

    username = forms.CharField(
        max_length=150, help_text="An existing user (SSO users appear after their first sign-in)"
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices, required=False)
    remove = forms.BooleanField(required=False)


class ServiceAccountForm(forms.Form):
    """A new service account of the team (the action checks the name and who may)."""

    name = forms.CharField(max_length=63, help_text="e.g. ci (the account is sa:TEAM:NAME)")
    role = forms.ChoiceField(
        choices=[(r, r) for r in (Role.VIEWER, Role.MEMBER, Role.MAINTAINER)],
        initial=Role.MEMBER,
        help_text="Its permissions in the team; it never approves plans",
    )
    description = forms.CharField(max_length=500, required=False)


class ServiceAccountTokenForm(forms.Form):
    name = forms.CharField(max_length=100, initial="ci")
    expires_in = forms.CharField(
        max_length=10, required=False, help_text="30d, 12h, 2w; empty: the default (90 days)"
    )
