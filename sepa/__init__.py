"""Pure-Python SEPA Direct Debit toolkit (no Odoo imports).

pain.008 writer, R-transaction reader (camt.053, camt.054, pain.002), reason codes,
SEPA character set, identifiers and the TARGET2 calendar.
"""

from .errors import SepaError, SepaParseError, SepaValidationError
from .charset import check_identifier, to_sepa_text
from .ids import (
    bic_from_iban, mask_account, validate_bic, validate_creditor_id, validate_iban,
)
from .model import (
    Address, Amendment, Batch, Collection, Creditor, Debit, PaymentBlock, batch_from_dict,
    block_order, compose_lines, group_debits,
)
from .inspect import inspect_pain008
from .pain008 import check_batch, write_pain008
from .readers import ReadResult, RTransaction, read_message
from .reasons import CATALOGUE, ReasonCode, get_reason

__all__ = ["SepaError", "SepaParseError", "SepaValidationError"]
__all__ += ["CATALOGUE", "ReadResult", "ReasonCode", "RTransaction", "get_reason", "read_message"]
__all__ += [
    "Address", "Amendment", "Batch", "Collection", "Creditor", "Debit", "PaymentBlock",
    "batch_from_dict", "bic_from_iban", "block_order", "check_batch", "check_identifier",
    "compose_lines", "group_debits", "mask_account",
    "inspect_pain008", "to_sepa_text", "validate_bic", "validate_creditor_id", "validate_iban",
    "write_pain008",
]
