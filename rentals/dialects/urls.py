"""The client dialects' URLs: SMSPool under ``/smspool/``, 5sim under ``/5sim/``."""

from rentals.dialects import fivesim, smspool

urlpatterns = [*smspool.urlpatterns(), *fivesim.urlpatterns()]
