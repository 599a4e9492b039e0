from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from providers.push import provider_push
from rentals import dashboard_urls
from smsbox import views
from smsbox.api import api_not_found
from smsbox.forms import EmailPasswordResetForm, LoginForm

admin.site.site_header = "smsbox back office"
admin.site.site_title = "smsbox"
admin.site.index_title = "Operations"
if settings.SMSBOX_STAFF_2FA:  # the admin asks staff for a TOTP code besides the password
    from django_otp.admin import OTPAdminSite

    admin.site.__class__ = OTPAdminSite

# Unexpected failures: JSON under /api/, the protocols' own shapes, plain pages elsewhere.
handler500 = "smsbox.failures.server_error"

urlpatterns = [
    path("healthz/ping", views.healthz_ping, name="healthz-ping"),
    path("", include(dashboard_urls.polled)),  # My Numbers' poll
    # The client APIs before the rest: Django tries the patterns in order, and these are polled.
    path("", include("rentals.urls")),
    # The back office's cross-app pages (rentals/backoffice), behind the admin site's login.
    path("admin/backoffice/", include("rentals.backoffice.urls")),
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    # Customer accounts: Django's auth views with templates in templates/registration/.
    # The customer dashboard: each app serves its own pages (Buy at "/", named "home").
    path("", include("rentals.dashboard_urls")),
    path("", include("wallets.dashboard_urls")),
    path("", include("apikeys.dashboard_urls")),
    path("account/", views.account_page, name="dashboard-account"),
    path("account/email/", views.account_email, name="dashboard-account-email"),
    path("account/password/", views.account_password, name="dashboard-account-password"),
    path("account/sessions/", views.account_sessions, name="dashboard-account-sessions"),
    path("account/delete/", views.account_delete_view, name="dashboard-account-delete"),
    path(
        "accounts/email/confirm/<str:token>/",
        views.email_change_confirm,
        name="email-change-confirm",
    ),
    path("accounts/signup/", views.SignUpView.as_view(), name="signup"),
    path("accounts/signup/done/", views.signup_done, name="signup-done"),
    path("accounts/verify/resend/", views.verification_resend, name="verify-email-resend"),
    path("accounts/verify/<str:token>/", views.verify_email, name="verify-email"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            authentication_form=LoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/reset/",
        auth_views.PasswordResetView.as_view(
            form_class=EmailPasswordResetForm,
            email_template_name="emails/password_reset.txt",
            subject_template_name="emails/password_reset_subject.txt",
            extra_email_context={"site_url": settings.SMSBOX_SITE_URL},
        ),
        name="password_reset",
    ),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    # Client APIs: REST v1 (+ OpenAPI), the public record link, the SMS-Activate protocol.
    path("api/v1/", include("providers.urls")),
    path("api/v1/", include("wallets.urls")),
    path("api/v1/", include("apikeys.urls")),
    # Upstreams push SMS here, authenticated by the provider's push secret.
    path("providers/<int:provider_id>/push", provider_push, name="provider-push"),
    # Top-ups: the dashboard pages, payment processor callbacks, the sandbox's payment page.
    path("", include("wallets.page_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^api/", api_not_found),
]
