from django import forms

from .models import BODY_MAX_LENGTH, SUBJECT_MAX_LENGTH, Priority, Status, validate_single_line


class TicketForm(forms.Form):
    subject = forms.CharField(
        max_length=SUBJECT_MAX_LENGTH,
        validators=[validate_single_line],
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "A short summary"}),
    )
    body = forms.CharField(
        label="Describe the problem",
        max_length=BODY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 8}),
    )


class ReplyForm(forms.Form):
    body = forms.CharField(
        label="Your reply", max_length=BODY_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 4})
    )


class TicketUpdateForm(forms.Form):
    """One of the agent's quick changes; fields left empty stay as they are."""

    status = forms.ChoiceField(choices=[("", "—"), *Status.choices], required=False)
    priority = forms.ChoiceField(choices=[("", "—"), *Priority.choices], required=False)
    assign = forms.ChoiceField(choices=[("", ""), ("me", "me"), ("none", "none")], required=False)
