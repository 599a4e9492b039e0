from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.generic import FormView

from smsbox.cache import redis_status
from smsbox.dashboard import error_message
from smsbox.errors import ApplicationError
from smsbox.forms import ResendVerificationForm, SignUpForm
from smsbox.lifecycle import account_delete, account_deletion_blockers
from smsbox.models import User
from smsbox.services import (
    user_email_change_confirm,
    user_email_change_request,
    user_sessions_end_others,
    user_sign_up,
    user_verification_send,
    user_verify_email,
)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness with a database round trip. Without Redis smsbox still sells (degraded mode,
    smsbox/cache.py): ``{"status": "degraded", "redis": "down"}``, still 200."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any database failure means "not healthy"
        return JsonResponse({"status": "error", "detail": "database unavailable"}, status=503)
    if redis_status() == "down":
        return JsonResponse({"status": "degraded", "redis": "down"})
    return JsonResponse({"status": "ok"})


@require_GET
def healthz_ping(request: HttpRequest) -> JsonResponse:
    """Touches nothing: the reference that benchmarks divide by."""
    return JsonResponse({"status": "ok"})


# --- Accounts and dashboard shell --------------------------------------------------------------


class SignUpView(FormView):
    template_name = "registration/signup.html"
    form_class = SignUpForm
    success_url = reverse_lazy("signup-done")

    def dispatch(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if request.user.is_authenticated:
            return redirect("home")
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form: SignUpForm) -> HttpResponse:
        try:
            user_sign_up(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
                base_url=self.request.build_absolute_uri("/"),
            )
        except ApplicationError as error:
            form.add_error("email", error.message)
            return self.form_invalid(form)
        return super().form_valid(form)


@require_GET
def signup_done(request: HttpRequest) -> HttpResponse:
    return render(
        request, "registration/signup_done.html", {"days": settings.SMSBOX_UNVERIFIED_ACCOUNT_DAYS}
    )


@require_GET
def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    try:
        user_verify_email(token=token)
    except ApplicationError as error:
        context = {"error": error, "form": ResendVerificationForm()}
        return render(request, "registration/verify_invalid.html", context, status=error.status)
    messages.success(request, "Your e-mail address is confirmed. You can log in now.")
    return redirect("login")


@require_http_methods(["GET", "POST"])
def verification_resend(request: HttpRequest) -> HttpResponse:
    """Ask for a new link. The answer never tells whether an account exists."""
    form = ResendVerificationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = User.objects.filter(
            email__iexact=form.cleaned_data["email"], is_active=True, is_verified=False
        ).first()
        if user is not None:
            try:
                user_verification_send(user=user, base_url=request.build_absolute_uri("/"))
            except ApplicationError as error:
                messages.error(request, error.message)
                return redirect("verify-email-resend")
        messages.info(
            request, "If an unconfirmed account uses this address, a new link is on its way."
        )
        return redirect("login")
    return render(request, "registration/verification_resend.html", {"form": form})


# --- Account page ------------------------------------------------------------------------------


class EmailChangeForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("New e-mail"), max_length=254)
    password = forms.CharField(
        label=gettext_lazy("Your password"), strip=False, widget=forms.PasswordInput
    )

    def __init__(self, *args: object, user: User, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        if not self.user.check_password(self.cleaned_data["password"]):
            raise ValidationError(_("The password is wrong."))
        return self.cleaned_data["password"]


class DeleteAccountForm(EmailChangeForm):
    email = None


def _account(request: HttpRequest, **forms_) -> HttpResponse:
    user = request.user
    context = {
        "section": "account",
        "email_form": forms_.get("email_form") or EmailChangeForm(user=user),
        "password_form": forms_.get("password_form") or PasswordChangeForm(user),
        "delete_form": forms_.get("delete_form") or DeleteAccountForm(user=user),
        "blockers": [_(reason) for reason in account_deletion_blockers(user=user)],
    }
    return render(request, "dashboard/smsbox/account.html", context)


@login_required
@require_GET
def account_page(request: HttpRequest) -> HttpResponse:
    return _account(request)


@login_required
@require_POST
def account_email(request: HttpRequest) -> HttpResponse:
    form = EmailChangeForm(request.POST, user=request.user)
    if not form.is_valid():
        return _account(request, email_form=form)
    try:
        user_email_change_request(
            user=request.user,
            new_email=form.cleaned_data["email"],
            base_url=request.build_absolute_uri("/"),
        )
    except ApplicationError as error:
        form.add_error("email", error_message(error))
        return _account(request, email_form=form)
    # The same answer whether or not the address is free: it must not tell who has an account.
    messages.info(
        request,
        _("Open the link we sent to the new address to confirm it; until then, nothing changes."),
    )
    return redirect("dashboard-account")


@require_GET
def email_change_confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        user_email_change_confirm(token=token)
    except ApplicationError as error:
        messages.error(request, error_message(error))
        return redirect("dashboard-account" if request.user.is_authenticated else "login")
    messages.success(request, _("Your new e-mail address is confirmed."))
    return redirect("dashboard-account" if request.user.is_authenticated else "login")


@login_required
@require_POST
def account_password(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST)
    if not form.is_valid():
        return _account(request, password_form=form)
    user = form.save()
    update_session_auth_hash(request, user)  # this session goes on; the others end
    messages.success(request, _("Password changed. Your other sessions are logged out."))
    return redirect("dashboard-account")


@login_required
@require_POST
def account_sessions(request: HttpRequest) -> HttpResponse:
    user = user_sessions_end_others(user=request.user)
    update_session_auth_hash(request, user)
    messages.success(request, _("Every other session is logged out."))
    return redirect("dashboard-account")


@login_required
@require_POST
def account_delete_view(request: HttpRequest) -> HttpResponse:
    form = DeleteAccountForm(request.POST, user=request.user)
    if not form.is_valid():
        return _account(request, delete_form=form)
    outcome = account_delete(user_id=request.user.pk)
    if not outcome.deleted:
        messages.error(
            request,
            _("Your account cannot be deleted yet: %(why)s.")
            % {"why": "; ".join(_(r) for r in outcome.reason.split("; "))},
        )
        return redirect("dashboard-account")
    logout(request)
    messages.success(request, _("Your account is deleted."))
    return redirect("login")
