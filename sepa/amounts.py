"""Amounts: Decimal only, never floats.

SEPA amounts are in euro with at most two decimals, greater than 0 and at most
999,999,999.99 (EPC rulebook AT-06); the XML writes them with exactly two decimals.
"""

from decimal import Decimal, InvalidOperation

from .errors import SepaValidationError

MIN_AMOUNT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999.99")
CENT = Decimal("0.01")


def to_decimal(value, field="amount"):
    """Return ``value`` (Decimal, int or decimal string) as a Decimal; floats are refused."""
    if isinstance(value, float):
        raise SepaValidationError(
            f"{field} '{value}' must be a Decimal, an int or a string, not a float",
            field=field, value=value,
        )
    if isinstance(value, bool):
        raise SepaValidationError(f"{field} '{value}' is not a number", field=field, value=value)
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | str):
        try:
            result = Decimal(value.strip() if isinstance(value, str) else value)
        except InvalidOperation as exc:
            raise SepaValidationError(f"{field} '{value}' is not a number",
                                      field=field, value=value) from exc
    else:
        raise SepaValidationError(f"{field} '{value}' is not a number", field=field, value=value)
    if not result.is_finite():
        raise SepaValidationError(f"{field} '{value}' is not a finite number",
                                  field=field, value=value)
    return result


def check_amount(value, field="amount"):
    """Return ``value`` as a Decimal after checking the SEPA rules, or raise.

    Rules: a finite number, at most 2 decimals, 0.01 ≤ amount ≤ 999,999,999.99.
    """
    if (type(value) is Decimal and value.is_finite() and MIN_AMOUNT <= value <= MAX_AMOUNT
            and value == value.quantize(CENT)):
        return value
    amount = to_decimal(value, field)
    if amount != amount.quantize(CENT, rounding="ROUND_DOWN"):
        raise SepaValidationError(f"{field} '{value}' has more than 2 decimals",
                                  field=field, value=value)
    if amount < MIN_AMOUNT:
        raise SepaValidationError(f"{field} '{value}' must be greater than 0",
                                  field=field, value=value)
    if amount > MAX_AMOUNT:
        raise SepaValidationError(f"{field} '{value}' exceeds the maximum 999999999.99",
                                  field=field, value=value)
    return amount


def format_amount(value):
    """Return a Decimal as a string with exactly two decimals, e.g. ``"12.30"``.

    The value must already have at most two decimals (see :func:`check_amount`); no
    rounding is done, so a third decimal raises instead of being lost.
    """
    amount = to_decimal(value)
    quantized = amount.quantize(CENT)
    if quantized != amount:
        raise SepaValidationError(f"amount '{value}' has more than 2 decimals",
                                  field="amount", value=value)
    return f"{quantized:f}"


def cents(value):
    """Return a two-decimal amount as an integer number of cents."""
    return int(to_decimal(value).scaleb(2).to_integral_exact())
