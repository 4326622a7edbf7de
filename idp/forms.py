from django import forms

from .choices import Role


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, initial="cli", help_text="What the token is for")


class MemberAddForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices, required=False)
    remove = forms.BooleanField(required=False)
