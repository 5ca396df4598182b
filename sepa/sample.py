"""Realistic sample batches: the benchmark's input and a quick look at a valid file.

:func:`sample_batch` builds a :class:`sepa.model.Batch` of ``n`` debits from a seeded
random generator: several payment blocks (FRST, RCUR, OOFF, FNAL on two collection
dates), names with accents, Dutch, German, Belgian, Austrian, Luxembourg and Swiss
accounts (valid check digits), some debtor BICs and addresses, and a few amended
mandates. The same ``n``, ``seed`` and ``today`` always give the same batch.
"""

import datetime
import random
from decimal import Decimal

from .calendar import add_business_days, earliest_collection_date
from .ids import end_to_end_id
from .model import Address, Amendment, Batch, Collection, Creditor, Debit, group_debits

#: About one name in four has a letter outside the SEPA set.
FIRST_NAMES = (
    "Jan", "Anna", "Peter", "Marie", "Thomas", "Sophie", "Lucas", "Emma", "Bram", "Julia",
    "Daan", "Lisa", "Tom", "Sara", "Ines", "Thijs", "Eva", "Noah", "Emilie", "Jonas",
    "Luuk", "Fleur", "Sem", "Marco", "Émilie", "Jürgen", "Søren", "Zoë",
)
LAST_NAMES = (
    "de Vries", "Jansen", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "Mulder",
    "de Boer", "Peeters", "Janssens", "Schmidt", "Schneider", "Fischer", "Weber", "Martin",
    "Bernard", "Dubois", "O'Brien", "Rossi", "Hendriks", "Dekker", "Brouwer",
    "Groß", "Ørsted", "Wałęsa", "Lefèvre",
)
TOWNS = (
    ("NL", "1012 AB", "Amsterdam"), ("DE", "50667", "Köln"), ("BE", "1000", "Bruxelles"),
    ("AT", "1010", "Wien"), ("LU", "L-1111", "Luxembourg"), ("CH", "8001", "Zürich"),
)
STREETS = ("Kerkstraat", "Hauptstraße", "Rue de l'Église", "Dorfplatz", "Grand-Rue")

#: (country, BBAN builder, BIC or None) per account family.
_BANKS = (
    ("NL", lambda r: "ABNA" + _digits(r, 10), "ABNANL2A"),
    ("NL", lambda r: "RABO" + _digits(r, 10), "RABONL2U"),
    ("NL", lambda r: "INGB" + _digits(r, 10), None),
    ("DE", lambda r: "37040044" + _digits(r, 10), "COBADEFFXXX"),
    ("DE", lambda r: "50010517" + _digits(r, 10), None),
    ("BE", lambda r: _belgian_bban(r), None),
    ("AT", lambda r: "20111" + _digits(r, 11), None),
    ("LU", lambda r: "001" + _digits(r, 13), None),
)
_SEQUENCE_WEIGHTS = (("RCUR", 75), ("FRST", 12), ("OOFF", 9), ("FNAL", 4))

CREDITOR = Creditor(
    name="Vereniging Sportclub Zuidoost",
    iban="NL91ABNA0417164300",
    bic="ABNANL2A",
    creditor_id="NL08ZZZ502057730000",
    address=Address(country="NL", street="Dorpsstraat", building_number="12",
                     postcode="1234 AB", town="Ons Dorp"),
)


def _digits(rng, n):
    """``n`` random decimal digits."""
    return f"{rng.randrange(10 ** n):0{n}d}"


def _belgian_bban(rng):
    """A Belgian BBAN with its national check digits (first 10 digits mod 97)."""
    body = _digits(rng, 10)
    check = int(body) % 97 or 97
    return f"{body}{check:02d}"


_DIGITS = {ord(c): str(int(c, 36)) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


def make_iban(country, bban):
    """Return the IBAN of ``bban`` with the ISO 7064 MOD 97-10 check digits."""
    numeric = (bban + country + "00").translate(_DIGITS)
    return f"{country}{98 - int(numeric) % 97:02d}{bban}"


def _account(rng):
    """A debtor account: (IBAN, BIC or None)."""
    if rng.random() < 0.01:
        return make_iban("CH", "00762" + _digits(rng, 12)), "UBSWCHZH80A"
    country, bban, bic = rng.choice(_BANKS)
    return make_iban(country, bban(rng)), bic


def _address(rng, country):
    """A structured address in ``country`` (or a random one)."""
    towns = [t for t in TOWNS if t[0] == country] or list(TOWNS)
    ctry, postcode, town = rng.choice(towns)
    return Address(country=ctry, street=rng.choice(STREETS),
                   building_number=str(rng.randint(1, 250)), postcode=postcode, town=town)


def _amendment(rng, number):
    """One of the three kinds of mandate amendment."""
    kind = rng.randrange(3)
    if kind == 0:
        return Amendment(original_mandate_id=f"OLD-{number:07d}")
    if kind == 1:
        return Amendment(smnda=True)
    return Amendment(original_creditor_id="DE98ZZZ09999999999",
                     original_creditor_name="Alter Verein e.V.")


def _debit(rng, number, batch_ref, collection_date):
    """Debit number ``number`` of the sample."""
    iban, bic = _account(rng)
    needs_address = iban.startswith("CH") or rng.random() < 0.2
    return Debit(
        end_to_end_id=end_to_end_id(batch_ref, number),
        amount=Decimal(rng.randint(100, 25000)).scaleb(-2),
        mandate_id=f"MDT-{number:07d}",
        signature_date=collection_date - datetime.timedelta(days=rng.randint(5, 2000)),
        debtor_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
        debtor_iban=iban,
        debtor_bic=bic if (bic and (iban.startswith("CH") or rng.random() < 0.5)) else None,
        debtor_address=_address(rng, iban[:2]) if needs_address else None,
        remittance=f"Contributie {collection_date.year} lid {number}, factuur "
                   f"INV/{collection_date.year}/{number:05d}",
        amendment=_amendment(rng, number) if rng.random() < 0.03 else None,
    )


def sample_batch(n, seed=0, today=None, msg_id=None):
    """Return a realistic :class:`Batch` of ``n`` debits, deterministic for (n, seed, today).

    Collection dates are the earliest CORE collection date after ``today`` (default: the
    current date, bank lead time 1 day) and 5 business days later.
    """
    if n < 1:
        raise ValueError("a sample needs at least one debit")
    today = today or datetime.date.today()
    rng = random.Random(seed)
    msg_id = msg_id or f"SAMPLE-{today:%Y%m%d}-{seed}"
    first = earliest_collection_date(today, "CORE", 1)
    dates = (first, add_business_days(first, 5))
    sequences = [s for s, _ in _SEQUENCE_WEIGHTS]
    weights = [w for _, w in _SEQUENCE_WEIGHTS]
    collections = []
    for number in range(1, n + 1):
        date = dates[number % 2]
        sequence = rng.choices(sequences, weights)[0]
        debit = _debit(rng, number, msg_id, date)
        collections.append(Collection(debit, date, sequence))
    return Batch(
        msg_id=msg_id,
        creation_time=datetime.datetime.combine(today, datetime.time(9, 0)),
        initiating_party=CREDITOR.name,
        creditor=CREDITOR,
        blocks=group_debits(msg_id, collections),
    )
