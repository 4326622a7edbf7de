from django import forms

from .choices import Role


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, initial="cli", help_text="What the token is for")


class MemberAddForm(forms.Form):
    """An existing user by name and a role; creating or editing users is for platform admins."""

    username = forms.CharField(
        max_length=150, help_text="An existing user (SSO users appear after their first sign-in)"
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices, required=False)
    remove = forms.BooleanField(required=False)
