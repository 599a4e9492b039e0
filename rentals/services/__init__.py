"""Writes of rentals. Activations: ``rentals.services.activations`` (purchase saga and every
transition), ``multi`` (one number for several services), ``intake`` (SMS from upstreams,
polling), ``reconcile`` (purchases of unknown outcome), ``policy`` (spend limits). Customer
webhooks: ``rentals.webhooks``."""

from rentals.services.activations import (
    BatchItem,
    BatchResult,
    activation_abandon,
    activation_cancel,
    activation_cancel_refund,
    activation_expire,
    activation_finish,
    activation_force_complete,
    activation_mark_ready,
    activation_purchase,
    activation_purchase_batch,
    activation_replace,
    activation_request_another_code,
    activation_reuse,
    activations_expire_due,
    number_skip,
)
from rentals.services.intake import activation_poll, activation_receive_sms, activations_poll
from rentals.services.multi import activations_purchase_multi
from rentals.services.policy import spend_policy_effective, spend_policy_set
from rentals.services.reconcile import activation_reconcile, activations_reconcile

__all__ = [
    "BatchItem",
    "BatchResult",
    "activation_abandon",
    "activation_cancel",
    "activation_cancel_refund",
    "activation_expire",
    "activation_finish",
    "activation_force_complete",
    "activation_mark_ready",
    "activation_poll",
    "activation_purchase",
    "activation_purchase_batch",
    "activation_receive_sms",
    "activation_reconcile",
    "activation_replace",
    "activation_request_another_code",
    "activation_reuse",
    "activations_expire_due",
    "activations_poll",
    "activations_purchase_multi",
    "activations_reconcile",
    "number_skip",
    "spend_policy_effective",
    "spend_policy_set",
]
