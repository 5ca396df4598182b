"""Input of the pain.008 writer: plain frozen dataclasses.

The dataclasses only hold values; the SEPA rules are checked by the writer
(:func:`sepa.pain008.write_pain008`), which names the offending debit and field.
Sequences given as lists are stored as tuples so that the objects stay immutable.

Also the one definition of the sequence types and schemes (with their labels), the
order of the payment information blocks (:func:`block_order`), how a batch's debits
and blocks are numbered (:func:`compose_lines`) and what a changed mandate reports
(:meth:`Amendment.for_change`).
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from .errors import SepaValidationError
from .ids import end_to_end_id, normalize_iban, same_bank
from .ids import pmt_inf_id as make_pmt_inf_id

#: The sequence types (SeqTp) in the rulebook's order, with their English labels.
SEQUENCE_TYPE_LABELS = {
    "FRST": "First",
    "RCUR": "Recurring",
    "OOFF": "One-off",
    "FNAL": "Final",
}
SEQUENCE_TYPES = tuple(SEQUENCE_TYPE_LABELS)

#: The SEPA Direct Debit schemes (LclInstrm), with their English labels.
SCHEME_LABELS = {
    "CORE": "Core",
    "B2B": "Business to business (B2B)",
}
SCHEMES = tuple(SCHEME_LABELS)


def _freeze(obj, name):
    """Store attribute ``name`` of a frozen dataclass as a tuple."""
    value = getattr(obj, name)
    if not isinstance(value, tuple):
        object.__setattr__(obj, name, tuple(value))


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address, structured and/or as free lines.

    ``country`` is the ISO 3166 alpha-2 code. pain.008.001.08 writes the structured
    fields (plus at most two ``lines``: the hybrid form); pain.008.001.02 follows the EPC
    guidelines and writes the country and at most two address lines, built from the
    structured fields when ``lines`` is empty.
    """

    country: str | None = None
    street: str | None = None
    building_number: str | None = None
    postcode: str | None = None
    town: str | None = None
    lines: tuple[str, ...] = ()

    def __post_init__(self):
        _freeze(self, "lines")

    @property
    def is_structured(self):
        """True when a structured field (street, building number, postcode, town) is set."""
        return any((self.street, self.building_number, self.postcode, self.town))


@dataclass(frozen=True, slots=True)
class Creditor:
    """The party collecting the money (the file's ``Cdtr``)."""

    name: str
    iban: str
    creditor_id: str
    bic: str | None = None
    address: Address | None = None


@dataclass(frozen=True, slots=True)
class Amendment:
    """What changed in a mandate since the previous collection (``AmdmntInfDtls``).

    ``original_debtor_iban`` is the debtor's previous IBAN at the same bank; ``smnda``
    (Same Mandate New Debtor Agent) says the debtor moved to another bank.
    """

    original_mandate_id: str | None = None
    original_creditor_id: str | None = None
    original_creditor_name: str | None = None
    original_debtor_iban: str | None = None
    smnda: bool = False

    @classmethod
    def for_change(cls, original_iban, original_reference, new_iban, original_bic=None,
                   new_bic=None, original_creditor_id=None, original_creditor_name=None):
        """The amendment to report for a mandate whose account is now ``new_iban``.

        ``original_iban`` / ``original_reference``: the account and mandate reference the
        bank knows from the previous collection, None (or empty) when unchanged. A new
        account at the same bank is reported as the original account (``OrgnlDbtrAcct``),
        one at another bank as SMNDA: the banks are compared by :func:`sepa.ids.same_bank`
        (country and bank code of the IBANs, else the BICs). ``original_creditor_id`` /
        ``original_creditor_name``: the creditor identifier (and its creditor's name) the
        bank knows, when the mandate moved to another creditor identifier. Returns None
        when nothing changed.
        """
        original_iban = normalize_iban(original_iban) if original_iban else None
        new_iban = normalize_iban(new_iban) if new_iban else None
        if original_iban == new_iban:
            original_iban = None
        if not original_iban and not original_reference and not original_creditor_id:
            return None
        smnda = bool(original_iban) and not same_bank(original_iban, new_iban,
                                                      original_bic, new_bic)
        return cls(
            original_mandate_id=original_reference or None,
            original_creditor_id=original_creditor_id or None,
            original_creditor_name=(original_creditor_name or None)
            if original_creditor_id else None,
            original_debtor_iban=None if smnda else original_iban,
            smnda=smnda,
        )

    @property
    def is_empty(self):
        """True when no original value is given."""
        return not any((self.original_mandate_id, self.original_creditor_id,
                        self.original_creditor_name, self.original_debtor_iban, self.smnda))


@dataclass(frozen=True, slots=True)
class Debit:
    """One direct debit transaction (``DrctDbtTxInf``). ``amount`` is a Decimal in EUR."""

    end_to_end_id: str
    amount: Decimal
    mandate_id: str
    signature_date: datetime.date
    debtor_name: str
    debtor_iban: str
    debtor_bic: str | None = None
    debtor_address: Address | None = None
    remittance: str | None = None
    amendment: Amendment | None = None
    currency: str = "EUR"


@dataclass(frozen=True, slots=True)
class PaymentBlock:
    """One ``PmtInf``: debits sharing collection date, sequence type and scheme."""

    pmt_inf_id: str
    collection_date: datetime.date
    sequence_type: str
    debits: tuple[Debit, ...]
    scheme: str = "CORE"

    def __post_init__(self):
        _freeze(self, "debits")


@dataclass(frozen=True, slots=True)
class Batch:
    """One pain.008 message (``GrpHdr`` and its payment blocks)."""

    msg_id: str
    creation_time: datetime.datetime
    initiating_party: str
    creditor: Creditor
    blocks: tuple[PaymentBlock, ...]
    batch_booking: bool = True
    initiating_party_id: str | None = None

    def __post_init__(self):
        _freeze(self, "blocks")

    @property
    def debits(self):
        """Iterate over every debit of the batch, block by block."""
        for block in self.blocks:
            yield from block.debits


@dataclass(frozen=True, slots=True)
class Collection:
    """A debit with its grouping keys, the input of :func:`group_debits`."""

    debit: Debit
    collection_date: datetime.date
    sequence_type: str
    scheme: str = "CORE"

    @property
    def key(self):
        """The grouping key (collection date, sequence type, scheme)."""
        return (self.collection_date, self.sequence_type, self.scheme)


def group_debits(msg_id, collections):
    """Return payment blocks: one per (collection date, sequence type, scheme).

    ``collections`` is an iterable of :class:`Collection`. Blocks are ordered by
    collection date, then sequence type in the order FRST, RCUR, OOFF, FNAL, then scheme;
    debits keep their input order inside a block. The n-th block (from 1) gets the
    PmtInfId ``sepa.ids.pmt_inf_id(msg_id, n)``, so the same input always gives the same ids.
    """
    groups = {}
    for item in collections:
        groups.setdefault(item.key, []).append(item.debit)
    keys = sorted(groups, key=block_order)
    return tuple(
        PaymentBlock(
            pmt_inf_id=make_pmt_inf_id(msg_id, n),
            collection_date=key[0],
            sequence_type=key[1],
            scheme=key[2],
            debits=tuple(groups[key]),
        )
        for n, key in enumerate(keys, start=1)
    )


def block_order(key):
    """Sort key of a block key (collection date, sequence type, scheme): the order of the
    payment information blocks in a file. Date, then sequence type in the rulebook's
    order (FRST, RCUR, OOFF, FNAL), then scheme."""
    date, seq, scheme = key
    seq_rank = SEQUENCE_TYPES.index(seq) if seq in SEQUENCE_TYPES else len(SEQUENCE_TYPES)
    return (date, seq_rank, str(seq), str(scheme))


class LineIds(NamedTuple):
    """What :func:`compose_lines` gives one line (invoice) of a batch."""

    debit_number: int
    end_to_end_id: str
    pmt_inf_id: str
    remittance: str


def compose_lines(msg_id, lines, scheme="CORE", merge_all=False):
    """Number the debits of message ``msg_id`` and give each of its lines its identifiers.

    ``lines``: one ``(line key, mandate key, sequence type, collection date, reference)``
    tuple per invoice, in the order of the batch. The lines of one mandate, sequence type
    and collection date make one debit (their invoices merged) when the sequence type is
    FRST (one first debit per mandate and date) or ``merge_all``; any other line is a debit
    of its own. Debits are numbered from 1 in the order of their first line; the
    end-to-end id is :func:`sepa.ids.end_to_end_id` of that number and the remittance the
    references of its lines, space separated. The blocks (collection date, sequence type)
    are numbered in :func:`block_order`, with the PmtInfIds :func:`group_debits` gives.

    Returns one :class:`LineIds` per line, in order.
    """
    lines = list(lines)
    numbers, line_numbers = {}, []
    for key, mandate, sequence_type, collection_date, _reference in lines:
        merge = sequence_type == "FRST" or merge_all
        debit_key = (("debit", mandate, sequence_type, collection_date) if merge
                     else ("line", key))
        line_numbers.append(numbers.setdefault(debit_key, len(numbers) + 1))
    references = defaultdict(list)
    for line, number in zip(lines, line_numbers, strict=True):
        references[number].append(line[4])
    block_keys = sorted({(line[3], line[2], scheme) for line in lines}, key=block_order)
    block_ids = {key[:2]: make_pmt_inf_id(msg_id, n)
                 for n, key in enumerate(block_keys, start=1)}
    return [
        LineIds(
            debit_number=number,
            end_to_end_id=end_to_end_id(msg_id, number),
            pmt_inf_id=block_ids[(line[3], line[2])],
            remittance=" ".join(references[number]),
        )
        for line, number in zip(lines, line_numbers, strict=True)
    ]



# ---------------------------------------------------------------------------- JSON input


def batch_from_dict(data):
    """Build a :class:`Batch` from plain data (e.g. parsed JSON); see ``docs/batch-example.json``.

    Keys are the dataclass field names. Payment blocks are given either as ``blocks``
    (each with ``pmt_inf_id``, ``collection_date``, ``sequence_type``, optional ``scheme``
    and ``debits``) or as a flat ``debits`` list whose items also carry
    ``collection_date``, ``sequence_type`` and optional ``scheme``: those are grouped by
    :func:`group_debits`. ``initiating_party`` defaults to the creditor's name. Dates are
    ``YYYY-MM-DD`` strings, ``creation_time`` an ISO date-time, amounts decimal strings
    (or Decimals: never floats). Unknown keys are refused. Errors are
    :class:`SepaValidationError` naming the path (``debits[3].amount``).
    """
    data = _mapping(data, "batch")
    _known(data, "batch", {"msg_id", "creation_time", "initiating_party", "initiating_party_id",
                           "batch_booking", "creditor", "blocks", "debits"})
    msg_id = _required(data, "msg_id", "batch")
    if ("blocks" in data) == ("debits" in data):
        raise SepaValidationError("batch: give either 'blocks' or 'debits'", field="batch")
    if "blocks" in data:
        blocks = tuple(_block(item, f"blocks[{i}]")
                       for i, item in enumerate(_list(data["blocks"], "blocks")))
    else:
        blocks = group_debits(msg_id, (
            _collection(item, f"debits[{i}]")
            for i, item in enumerate(_list(data["debits"], "debits"))
        ))
    creditor = _creditor(_required(data, "creditor", "batch"), "creditor")
    return Batch(
        msg_id=msg_id,
        creation_time=_datetime(_required(data, "creation_time", "batch"), "creation_time"),
        initiating_party=data.get("initiating_party") or creditor.name,
        initiating_party_id=data.get("initiating_party_id"),
        batch_booking=_bool(data.get("batch_booking", True), "batch_booking"),
        creditor=creditor,
        blocks=blocks,
    )


_DEBIT_KEYS = {
    "end_to_end_id", "amount", "mandate_id", "signature_date", "debtor_name", "debtor_iban",
    "debtor_bic", "debtor_address", "remittance", "amendment", "currency",
}
_GROUP_KEYS = {"collection_date", "sequence_type", "scheme"}


def _creditor(data, path):
    """A Creditor from a mapping."""
    data = _mapping(data, path)
    _known(data, path, {"name", "iban", "bic", "creditor_id", "address"})
    return Creditor(
        name=_required(data, "name", path),
        iban=_required(data, "iban", path),
        creditor_id=_required(data, "creditor_id", path),
        bic=data.get("bic"),
        address=_address(data.get("address"), f"{path}.address"),
    )


def _address(data, path):
    """An Address from a mapping, or None."""
    if data is None:
        return None
    data = _mapping(data, path)
    _known(data, path, {"country", "street", "building_number", "postcode", "town", "lines"})
    return Address(
        country=data.get("country"), street=data.get("street"),
        building_number=data.get("building_number"), postcode=data.get("postcode"),
        town=data.get("town"), lines=tuple(_list(data.get("lines", []), f"{path}.lines")),
    )


def _amendment_of(data, path):
    """An Amendment from a mapping, or None."""
    if data is None:
        return None
    data = _mapping(data, path)
    _known(data, path, {"original_mandate_id", "original_creditor_id",
                        "original_creditor_name", "original_debtor_iban", "smnda"})
    return Amendment(
        original_mandate_id=data.get("original_mandate_id"),
        original_creditor_id=data.get("original_creditor_id"),
        original_creditor_name=data.get("original_creditor_name"),
        original_debtor_iban=data.get("original_debtor_iban"),
        smnda=_bool(data.get("smnda", False), f"{path}.smnda"),
    )


def _debit(data, path, extra=frozenset()):
    """A Debit from a mapping (``extra``: further keys allowed, read by the caller)."""
    data = _mapping(data, path)
    _known(data, path, _DEBIT_KEYS | extra)
    return Debit(
        end_to_end_id=_required(data, "end_to_end_id", path),
        amount=_amount(_required(data, "amount", path), f"{path}.amount"),
        mandate_id=_required(data, "mandate_id", path),
        signature_date=_date(_required(data, "signature_date", path), f"{path}.signature_date"),
        debtor_name=_required(data, "debtor_name", path),
        debtor_iban=_required(data, "debtor_iban", path),
        debtor_bic=data.get("debtor_bic"),
        debtor_address=_address(data.get("debtor_address"), f"{path}.debtor_address"),
        remittance=data.get("remittance"),
        amendment=_amendment_of(data.get("amendment"), f"{path}.amendment"),
        currency=data.get("currency", "EUR"),
    )


def _collection(data, path):
    """A Collection (debit plus grouping keys) from a mapping."""
    debit = _debit(data, path, _GROUP_KEYS)
    return Collection(
        debit=debit,
        collection_date=_date(_required(data, "collection_date", path),
                              f"{path}.collection_date"),
        sequence_type=_required(data, "sequence_type", path),
        scheme=data.get("scheme", "CORE"),
    )


def _block(data, path):
    """A PaymentBlock from a mapping."""
    data = _mapping(data, path)
    _known(data, path, {"pmt_inf_id", "collection_date", "sequence_type", "scheme", "debits"})
    debits = _list(_required(data, "debits", path), f"{path}.debits")
    return PaymentBlock(
        pmt_inf_id=_required(data, "pmt_inf_id", path),
        collection_date=_date(_required(data, "collection_date", path),
                              f"{path}.collection_date"),
        sequence_type=_required(data, "sequence_type", path),
        scheme=data.get("scheme", "CORE"),
        debits=tuple(_debit(item, f"{path}.debits[{i}]") for i, item in enumerate(debits)),
    )


def _mapping(value, path):
    """Refuse anything but a mapping."""
    if not isinstance(value, dict):
        raise SepaValidationError(f"{path}: expected an object, got {value!r}",
                                  field=path, value=value)
    return value


def _list(value, path):
    """Refuse anything but a list."""
    if not isinstance(value, list | tuple):
        raise SepaValidationError(f"{path}: expected a list, got {value!r}",
                                  field=path, value=value)
    return value


def _known(data, path, allowed):
    """Refuse unknown keys (usually typos)."""
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise SepaValidationError(f"{path}: unknown key(s) {', '.join(unknown)}",
                                  field=path, value=unknown)


def _required(data, key, path):
    """Return ``data[key]``; raise naming the path when it is missing or null."""
    value = data.get(key)
    if value is None:
        raise SepaValidationError(f"{path}.{key} is missing", field=f"{path}.{key}")
    return value


def _bool(value, path):
    """A JSON boolean."""
    if not isinstance(value, bool):
        raise SepaValidationError(f"{path}: expected true or false, got {value!r}",
                                  field=path, value=value)
    return value


def _date(value, path):
    """A date from ``YYYY-MM-DD`` (or a date)."""
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    try:
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise SepaValidationError(f"{path}: {value!r} is not a date (YYYY-MM-DD)",
                                  field=path, value=value) from None


def _datetime(value, path):
    """A datetime from an ISO 8601 string (or a datetime)."""
    if isinstance(value, datetime.datetime):
        return value
    try:
        return datetime.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise SepaValidationError(f"{path}: {value!r} is not an ISO date-time",
                                  field=path, value=value) from None


def _amount(value, path):
    """A Decimal from a decimal string or Decimal/int (floats are refused)."""
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            pass
    raise SepaValidationError(f"{path}: {value!r} is not a decimal amount (use a string "
                              "such as \"12.50\")", field=path, value=value)
