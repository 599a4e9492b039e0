"""Client dialects: other sellers' APIs spoken on smsbox's services, so their customers'
scripts work unchanged. ``smspool`` (under ``/smspool/``) and ``fivesim`` (under ``/5sim/``)
are thin interfaces like ``rentals.handler``: parse, call one service or selector, render; the
key check, rate limits, ownership and prices are the ones every other interface uses."""
