"""The API page: the customer's API keys (created with a name, the secret shown once,
regenerated, revoked, last used), the URLs to paste into tools and the link to the docs. The
webhook and spend-policy sections come from ``rentals`` (loaded into the page by htmx)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from apikeys.selectors import api_key_get_for_user, api_keys_for_user
from apikeys.services import NAME_MAX_LENGTH, api_key_create, api_key_regenerate, api_key_revoke
from smsbox.dashboard import error_message, owned
from smsbox.errors import ApplicationError


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=NAME_MAX_LENGTH,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("e.g. my bot")}),
    )


def _page(request: HttpRequest, *, form: ApiKeyForm | None = None, **shown) -> HttpResponse:
    context = {
        "section": "api",
        "form": form or ApiKeyForm(),
        "keys": api_keys_for_user(user=request.user, include_revoked=True)[:50],
        "handler_url": request.build_absolute_uri(reverse("handler-api")),
        "rest_url": request.build_absolute_uri("/api/v1/"),
        "docs_url": reverse("api-docs"),
        **shown,
    }
    # A page that shows a secret is never stored by the browser or a proxy.
    response = render(request, "dashboard/apikeys/api.html", context)
    if shown:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def api_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


@login_required
@require_POST
def api_key_create_view(request: HttpRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _page(request, form=form)
    try:
        api_key, raw_key = api_key_create(user=request.user, name=form.cleaned_data["name"])
    except ApplicationError as error:
        form.add_error("name", error_message(error))
        return _page(request, form=form)
    return _page(request, new_key=api_key, raw_key=raw_key)


@login_required
@require_POST
def api_key_regenerate_view(request: HttpRequest, key_id: int) -> HttpResponse:
    api_key = owned(api_key_get_for_user, user=request.user, key_id=key_id)
    try:
        api_key, raw_key = api_key_regenerate(api_key=api_key)
    except ApplicationError as error:
        messages.error(request, error_message(error))
        return redirect("dashboard-api")
    return _page(request, new_key=api_key, raw_key=raw_key)


@login_required
@require_POST
def api_key_revoke_view(request: HttpRequest, key_id: int) -> HttpResponse:
    api_key = owned(api_key_get_for_user, user=request.user, key_id=key_id)
    api_key_revoke(api_key=api_key)
    messages.success(request, _("The key %(name)s is revoked.") % {"name": api_key.name})
    return redirect("dashboard-api")
