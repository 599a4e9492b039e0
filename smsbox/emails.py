"""E-mail through Django's e-mail framework, rendered from ``templates/emails/``.

A message named ``name`` has ``emails/<name>_subject.txt`` (one line), ``emails/<name>.txt``
and optionally ``emails/<name>.html``. Templates receive ``site_url`` besides the context.
Available: ``verify_email``, ``password_reset``, ``inactivity_notice``, ``renewal_failed``.
"""

import contextlib
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string


def email_send(*, template: str, to: str, context: dict[str, Any] | None = None) -> None:
    """Render the message ``template`` and send it to ``to``; errors of the backend propagate."""
    context = {"site_url": settings.SMSBOX_SITE_URL, **(context or {})}
    subject = render_to_string(f"emails/{template}_subject.txt", context)
    body = render_to_string(f"emails/{template}.txt", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()), body=body, to=[to], from_email=None
    )
    with contextlib.suppress(TemplateDoesNotExist):
        html = render_to_string(f"emails/{template}.html", context)
        message.attach_alternative(html, "text/html")
    message.send()
