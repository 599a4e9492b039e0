from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_GET, require_http_methods
from django.views.generic import FormView

from smsbox.errors import ApplicationError
from smsbox.forms import ResendVerificationForm, SignUpForm
from smsbox.models import User
from smsbox.services import user_sign_up, user_verification_send, user_verify_email


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness with a database round trip."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any database failure means "not healthy"
        return JsonResponse({"status": "error", "detail": "database unavailable"}, status=503)
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


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/home.html")
