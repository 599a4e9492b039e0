"""The one path every upstream SMS takes into smsbox.

``upstream_sms_received`` is sent with keyword arguments ``provider`` (a ``Provider``),
``upstream_id`` (the provider's activation or rent id, a string), ``phone``, ``sender_name``
(who sent the SMS; ``sender`` is the signal's own argument),
``text``, ``code``, ``upstream_message_id`` and ``received_at`` (aware datetime). It is sent
inside the transaction that records the delivery, so a receiver that fails makes the delivery
happen again later; receivers enqueue their side effects (webhooks) with
``transaction.on_commit``. Senders: the simulator, and the upstream push endpoint and pollers
through ``providers.services.upstream_sms_dispatch``.
"""

from django.dispatch import Signal

upstream_sms_received = Signal()
