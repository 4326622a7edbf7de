from django import forms

from .choices import Role


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, initial="cli", help_text="What the token is for")


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


class MemberAddForm(forms.Form):
    """An existing user by name and a role; creating or editing users is for platform admins."""

    username = forms.CharField(
        max_length=150, help_text="An existing user (SSO users appear after their first sign-in)"
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices, required=False)
    remove = forms.BooleanField(required=False)
