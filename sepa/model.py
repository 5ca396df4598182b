"""Input of the pain.008 writer: plain frozen dataclasses.

The dataclasses only hold values; the SEPA rules are checked by the writer
(:func:`sepa.pain008.write_pain008`), which names the offending debit and field.
Sequences given as lists are stored as tuples so that the objects stay immutable.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from .errors import SepaValidationError
from .ids import pmt_inf_id as make_pmt_inf_id

SEQUENCE_TYPES = ("FRST", "RCUR", "OOFF", "FNAL")
SCHEMES = ("CORE", "B2B")


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
    keys = sorted(groups, key=_block_order)
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


def _block_order(key):
    """Sort key of a block key: date, sequence type (rulebook order), scheme."""
    date, seq, scheme = key
    seq_rank = SEQUENCE_TYPES.index(seq) if seq in SEQUENCE_TYPES else len(SEQUENCE_TYPES)
    return (date, seq_rank, str(seq), str(scheme))



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
