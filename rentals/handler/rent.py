"""Rent actions of the handler protocol. Long-term rentals are not sold yet, so every action
answers the protocol's own error for "nothing here" (never a 500): no stock to rent, and no
rent of the caller under any id."""

from rentals.handler.transport import Call, HandlerError


def get_rent_services_and_countries(call: Call):
    raise HandlerError("OUT_OF_STOCK")


def get_rent_number(call: Call):
    if not call.get("service"):
        raise HandlerError("BAD_SERVICE")
    raise HandlerError("NO_NUMBERS")


def _rent_id(call: Call) -> str:
    rent_id = call.get("id")
    if not rent_id:
        raise HandlerError("NO_ID_RENT")
    return rent_id


def get_rent_status(call: Call):
    _rent_id(call)
    raise HandlerError("INVALID_PHONE")


def set_rent_status(call: Call):
    _rent_id(call)
    if call.get("status") not in ("1", "2"):
        raise HandlerError("INCORECT_STATUS")
    raise HandlerError("INVALID_PHONE")


def get_rent_list(call: Call):
    raise HandlerError("NO_NUMBERS")


def continue_rent_number(call: Call):
    _rent_id(call)
    raise HandlerError("INVALID_PHONE")


def get_continue_rent_price_number(call: Call):
    _rent_id(call)
    raise HandlerError("INVALID_PHONE")
