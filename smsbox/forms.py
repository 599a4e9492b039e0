from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.exceptions import ValidationError

from smsbox import parsing
from smsbox.models import User


class StrictIntegerField(forms.IntegerField):
    """A whole number in ASCII digits only, through the strict parser (Django's own field
    reads "٣" as 3 and "1e3" as 1000)."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return parsing.integer(value, name=str(self.label or "value"))
        except parsing.InvalidParameter:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class StrictDecimalField(forms.DecimalField):
    """A decimal amount in ASCII digits with a point, through the strict parser: no sign,
    exponent, NaN or infinity."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        places = self.decimal_places if self.decimal_places is not None else 4
        whole = (self.max_digits - places) if self.max_digits is not None else 10
        try:
            return parsing.amount(
                value, name=str(self.label or "value"), places=places, max_integer_digits=whole
            )
        except parsing.InvalidParameter:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class SignUpForm(forms.Form):
    email = forms.EmailField(
        label="E-mail",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_email(self) -> str:
        # No check that the address is free: the form must not tell who has an account
        # (``user_sign_up`` e-mails the owner of a taken address instead).
        return self.cleaned_data["email"].strip().lower()

    def clean(self) -> dict:
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", "The two passwords differ.")
        elif password1:
            candidate = User(email=cleaned.get("email") or "")
            try:
                password_validation.validate_password(password1, candidate)
            except ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class LoginForm(AuthenticationForm):
    """E-mail and password; an account logs in once its e-mail address is verified."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "E-mail or password is wrong.",
        "unverified": (
            "Confirm your e-mail address first: open the link we sent you, or ask for a new one."
        ),
    }

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "E-mail"

    def confirm_login_allowed(self, user: User) -> None:
        super().confirm_login_allowed(user)
        if not user.is_verified:
            raise ValidationError(self.error_messages["unverified"], code="unverified")


class ResendVerificationForm(forms.Form):
    email = forms.EmailField(label="E-mail", max_length=254)


class EmailPasswordResetForm(PasswordResetForm):
    """Django's reset form, limited to accounts that have not been anonymised."""

    def get_users(self, email: str):
        return (user for user in super().get_users(email) if user.deleted_at is None)
