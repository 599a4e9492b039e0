"""Forms of the operator actions: every field validated before a service is called."""

import uuid

from django import forms

from smsbox.models import User

REASON = {"max_length": 1000, "widget": forms.TextInput(attrs={"size": 40})}


class ReasonForm(forms.Form):
    reason = forms.CharField(**REASON)


class RefundForm(ReasonForm):
    kind = forms.ChoiceField(choices=[("activation", "activation"), ("rental", "rental")])
    order_id = forms.IntegerField(min_value=1)


class AdjustForm(ReasonForm):
    amount = forms.DecimalField(
        max_digits=14, decimal_places=4, help_text="Positive credits, negative debits."
    )
    # One token per rendered form: submitting it twice moves the money once.
    token = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError("The amount must not be zero.")
        return amount


class TierForm(ReasonForm):
    tier = forms.ChoiceField(choices=User.Tier.choices)


class DecisionForm(forms.Form):
    request_id = forms.IntegerField(min_value=1)


class NoteForm(forms.Form):
    text = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))


class EmptyForm(forms.Form):
    pass
