"""pain.008 writer: round trip, XSD validity, business rules, limits and streaming."""

import dataclasses
import datetime
import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from sepa.charset import to_sepa_text
from sepa.errors import SepaParseError, SepaValidationError
from sepa.inspect import inspect_pain008
from sepa.model import (
    Address,
    Amendment,
    Batch,
    Collection,
    Creditor,
    Debit,
    PaymentBlock,
    group_debits,
)
from sepa.pain008 import (
    FLAVOURS,
    check_batch,
    stream_pain008,
    write_pain008,
)
from sepa.sample import make_iban, sample_batch

ADDON_ROOT = Path(__file__).resolve().parents[2]
TODAY = datetime.date(2025, 3, 3)
COLLECTION = datetime.date(2025, 3, 10)
VERSIONS = ["pain.008.001.02", "pain.008.001.08"]

CREDITOR = Creditor(
    name="Vereniging Ons Dorp", iban="NL91ABNA0417164300", creditor_id="NL08ZZZ502057730000",
    bic="ABNANL2A",
    address=Address("NL", street="Dorpsstraat", building_number="1", postcode="1234 AB",
                    town="Ons Dorp"),
)


def debit(number=1, **changes):
    """A valid debit; ``changes`` override fields."""
    values = dict(
        end_to_end_id=f"E2E-{number}", amount=Decimal("12.50"), mandate_id=f"M-{number}",
        signature_date=datetime.date(2024, 1, 1), debtor_name="Jan de Vries",
        debtor_iban="DE89370400440532013000", remittance=f"Invoice {number}",
    )
    values.update(changes)
    return Debit(**values)


def batch(*debits, seq="RCUR", scheme="CORE", date=COLLECTION, **changes):
    """A batch with one block holding ``debits`` (one default debit when none)."""
    block = PaymentBlock("MSG-1-P1", date, seq, tuple(debits) or (debit(),), scheme)
    values = dict(msg_id="MSG-1", creation_time=datetime.datetime(2025, 3, 3, 9, 30),
                  initiating_party="Vereniging Ons Dorp", creditor=CREDITOR, blocks=(block,))
    values.update(changes)
    return Batch(**values)


def parse(data):
    """Parse writer output; return (root, namespace map prefix)."""
    root = etree.fromstring(data)
    return root, {"p": etree.QName(root).namespace}


def texts(root, ns, path):
    """Texts of every element at ``path`` (prefix ``p:``)."""
    return [e.text for e in root.iterfind(path, ns)]


# ---------------------------------------------------------------------------- round trip


@pytest.mark.parametrize("version", VERSIONS)
def test_round_trip(version):
    debits = (
        debit(1, amount=Decimal("10.10"), debtor_bic="COBADEFFXXX"),
        debit(2, amount=Decimal("0.01"), debtor_name="Émilie Groß",
              debtor_iban="BE68 5390 0754 7034",
              debtor_address=Address("BE", street="Rue de l'Église", building_number="7",
                                     postcode="1000", town="Bruxelles"),
              amendment=Amendment(original_mandate_id="OLD-2",
                                  original_creditor_id="DE98ZZZ09999999999",
                                  original_creditor_name="Alter Verein", smnda=True)),
        debit(3, amount=Decimal("999999999.99"), remittance=None,
              amendment=Amendment(original_debtor_iban="DE89370400440532013000")),
    )
    data = write_pain008(batch(*debits), version, today=TODAY)
    root, ns = parse(data)
    assert ns["p"] == f"urn:iso:std:iso:20022:tech:xsd:{version}"
    assert texts(root, ns, ".//p:GrpHdr/p:MsgId") == ["MSG-1"]
    assert texts(root, ns, ".//p:GrpHdr/p:CreDtTm") == ["2025-03-03T09:30:00"]
    assert texts(root, ns, ".//p:GrpHdr/p:NbOfTxs") == ["3"]
    assert texts(root, ns, ".//p:GrpHdr/p:CtrlSum") == ["1000000010.10"]
    assert texts(root, ns, ".//p:PmtInf/p:CtrlSum") == ["1000000010.10"]
    assert texts(root, ns, ".//p:PmtInf/p:PmtTpInf/p:SeqTp") == ["RCUR"]
    assert texts(root, ns, ".//p:SvcLvl/p:Cd") == ["SEPA"]
    assert texts(root, ns, ".//p:LclInstrm/p:Cd") == ["CORE"]
    assert texts(root, ns, ".//p:ChrgBr") == ["SLEV"]
    assert texts(root, ns, ".//p:PmtInf/p:CdtrSchmeId//p:Id/p:PrvtId/p:Othr/p:Id") == [
        "NL08ZZZ502057730000"]
    assert texts(root, ns, ".//p:DrctDbtTxInf/p:PmtId/p:EndToEndId") == ["E2E-1", "E2E-2",
                                                                        "E2E-3"]
    assert texts(root, ns, ".//p:InstdAmt") == ["10.10", "0.01", "999999999.99"]
    assert [e.get("Ccy") for e in root.iterfind(".//p:InstdAmt", ns)] == ["EUR"] * 3
    assert texts(root, ns, ".//p:MndtId") == ["M-1", "M-2", "M-3"]
    assert texts(root, ns, ".//p:DtOfSgntr") == ["2024-01-01"] * 3
    assert texts(root, ns, ".//p:AmdmntInd") == ["true", "true"]
    assert texts(root, ns, ".//p:OrgnlMndtId") == ["OLD-2"]
    assert texts(root, ns, ".//p:OrgnlCdtrSchmeId/p:Nm") == ["Alter Verein"]
    assert texts(root, ns, ".//p:OrgnlCdtrSchmeId//p:Othr/p:Id") == ["DE98ZZZ09999999999"]
    assert texts(root, ns, ".//p:OrgnlDbtrAgt/p:FinInstnId/p:Othr/p:Id") == ["SMNDA"]
    assert texts(root, ns, ".//p:OrgnlDbtrAcct/p:Id/p:IBAN") == ["DE89370400440532013000"]
    assert texts(root, ns, ".//p:Dbtr/p:Nm") == ["Jan de Vries", "Emilie Gross", "Jan de Vries"]
    assert texts(root, ns, ".//p:DbtrAcct/p:Id/p:IBAN") == [
        "DE89370400440532013000", "BE68539007547034", "DE89370400440532013000"]
    assert texts(root, ns, ".//p:RmtInf/p:Ustrd") == ["Invoice 1", "Invoice 2"]
    bic_tag = FLAVOURS[version].agent_bic
    assert texts(root, ns, f".//p:CdtrAgt/p:FinInstnId/p:{bic_tag}") == ["ABNANL2A"]
    assert texts(root, ns, f".//p:DbtrAgt/p:FinInstnId/p:{bic_tag}") == ["COBADEFFXXX"]
    assert texts(root, ns, ".//p:DbtrAgt/p:FinInstnId/p:Othr/p:Id") == ["NOTPROVIDED"] * 2


def test_bic_and_address_by_version():
    data_02 = write_pain008(batch(), "pain.008.001.02", today=TODAY)
    data_08 = write_pain008(batch(), "pain.008.001.08", today=TODAY)
    assert b"<BIC>ABNANL2A</BIC>" in data_02 and b"BICFI" not in data_02
    assert b"<BICFI>ABNANL2A</BICFI>" in data_08 and b"<BIC>" not in data_08
    # .02 follows the EPC guidelines: country and two address lines.
    assert (b"<PstlAdr><Ctry>NL</Ctry><AdrLine>Dorpsstraat 1</AdrLine>"
            b"<AdrLine>1234 AB Ons Dorp</AdrLine></PstlAdr>") in data_02
    # .08: structured address.
    assert (b"<PstlAdr><StrtNm>Dorpsstraat</StrtNm><BldgNb>1</BldgNb><PstCd>1234 AB</PstCd>"
            b"<TwnNm>Ons Dorp</TwnNm><Ctry>NL</Ctry></PstlAdr>") in data_08


def test_hybrid_and_unstructured_addresses():
    hybrid = Address("NL", town="Amsterdam", lines=("Kerkstraat 1", "2e verdieping"))
    lines_only = Address("DE", lines=("Hauptstraße 5", "50667 Köln"))
    data = write_pain008(batch(debit(1, debtor_address=hybrid),
                               debit(2, debtor_address=lines_only)),
                         "pain.008.001.08", today=TODAY)
    assert (b"<PstlAdr><TwnNm>Amsterdam</TwnNm><Ctry>NL</Ctry><AdrLine>Kerkstraat 1</AdrLine>"
            b"<AdrLine>2e verdieping</AdrLine></PstlAdr>") in data
    assert (b"<PstlAdr><Ctry>DE</Ctry><AdrLine>Hauptstrasse 5</AdrLine>"
            b"<AdrLine>50667 Koln</AdrLine></PstlAdr>") in data


def test_initiating_party_id_and_batch_booking():
    data = write_pain008(batch(initiating_party_id="KVK12345678", batch_booking=False),
                         today=TODAY)
    assert b"<InitgPty><Nm>Vereniging Ons Dorp</Nm><Id><OrgId><Othr><Id>KVK12345678</Id>" in data
    assert b"<BtchBookg>false</BtchBookg>" in data


def test_aware_creation_time_keeps_its_offset():
    tz = datetime.timezone(datetime.timedelta(hours=1))
    created = datetime.datetime(2025, 3, 3, 9, 30, 15, 123456, tzinfo=tz)
    data = write_pain008(batch(creation_time=created), today=TODAY)
    assert b"<CreDtTm>2025-03-03T09:30:15+01:00</CreDtTm>" in data


def test_output_is_deterministic():
    one = write_pain008(sample_batch(200, seed=4, today=TODAY), today=TODAY)
    two = write_pain008(sample_batch(200, seed=4, today=TODAY), today=TODAY)
    assert one == two
    assert one != write_pain008(sample_batch(200, seed=5, today=TODAY), today=TODAY)


@pytest.mark.parametrize("version", VERSIONS)
def test_pretty_and_compact_hold_the_same_document(version):
    sample = sample_batch(30, seed=1, today=TODAY)
    pretty = write_pain008(sample, version, today=TODAY, pretty=True)
    compact = write_pain008(sample, version, today=TODAY)
    parser = etree.XMLParser(remove_blank_text=True)
    assert etree.tostring(etree.fromstring(pretty, parser)) == etree.tostring(
        etree.fromstring(compact, parser))
    assert pretty.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Document')


def test_stream_to_a_file(tmp_path):
    path = tmp_path / "out.xml"
    with open(path, "wb") as handle:
        totals = stream_pain008(sample_batch(100, seed=1, today=TODAY), handle, today=TODAY)
    assert totals.nb_of_txs == 100
    assert inspect_pain008(path.read_bytes())["valid"]


def test_check_batch_totals():
    sample = sample_batch(500, seed=3, today=TODAY)
    totals = check_batch(sample, TODAY)
    assert totals.nb_of_txs == 500
    assert totals.ctrl_sum == sum(d.amount for d in sample.debits)
    assert len(totals.blocks) == len(sample.blocks)


# ---------------------------------------------------------------------------- limits


def test_text_is_converted_and_cut_to_each_maximum():
    long_name = "Groß " * 30
    address = Address("NL", lines=("x" * 100, "y" * 100))
    data = write_pain008(batch(debit(1, debtor_name=long_name, remittance="é" * 200,
                                     debtor_address=address)), today=TODAY)
    root, ns = parse(data)
    name = texts(root, ns, ".//p:Dbtr/p:Nm")[0]
    assert len(name) <= 70 and name.startswith("Gross Gross")
    assert texts(root, ns, ".//p:Ustrd") == ["e" * 140]
    assert texts(root, ns, ".//p:Dbtr/p:PstlAdr/p:AdrLine") == ["x" * 70, "y" * 70]


def test_identifiers_are_never_changed():
    with pytest.raises(SepaValidationError) as info:
        write_pain008(batch(debit(1, mandate_id="Mandaat-é")), today=TODAY)
    assert "'Mandaat-é'" in str(info.value)
    assert "E2E-1" in str(info.value)


# ---------------------------------------------------------------------------- rules


def _error(sample, today=TODAY, version="pain.008.001.02"):
    with pytest.raises(SepaValidationError) as info:
        write_pain008(sample, version, today=today)
    return info.value


@pytest.mark.parametrize(("changes", "expected"), [
    ({"debtor_iban": "NL91ABNA0417164301"}, "DbtrAcct IBAN 'NL91ABNA0417164301' is invalid"),
    ({"debtor_iban": "BR1800360305000010009795493C1"}, "not in a SEPA country"),
    ({"debtor_bic": "ABNANL2"}, "DbtrAgt BIC 'ABNANL2' is invalid"),
    ({"amount": Decimal("0")}, "InstdAmt '0' must be greater than 0"),
    ({"amount": Decimal("-5.00")}, "InstdAmt '-5.00' must be greater than 0"),
    ({"amount": Decimal("1.005")}, "InstdAmt '1.005' has more than 2 decimals"),
    ({"amount": Decimal("1000000000.00")}, "exceeds the maximum 999999999.99"),
    ({"amount": 12.5}, "not a float"),
    ({"amount": Decimal("NaN")}, "not a finite number"),
    ({"currency": "USD"}, "currency 'USD' is not EUR"),
    ({"signature_date": datetime.date(2025, 3, 11)},
     "DtOfSgntr 2025-03-11 is after the collection date 2025-03-10"),
    ({"signature_date": "2024-01-01"}, "DtOfSgntr '2024-01-01' must be a date"),
    ({"mandate_id": "M//1"}, "MndtId 'M//1' contains '//'"),
    ({"mandate_id": ""}, "MndtId '' is empty"),
    ({"debtor_name": "   "}, "Dbtr Nm '   ' is empty"),
    ({"debtor_name": "\u00b8"}, "Dbtr Nm '\u00b8' has nothing left in the SEPA character set"),
    ({"debtor_address": Address("Netherlands")}, "Ctry 'Netherlands' must be a 2-letter"),
    ({"debtor_address": Address("NL", lines=("a", "b", "c"))}, "3 address lines (maximum 2)"),
    ({"amendment": Amendment()}, "the amendment gives no original value"),
    ({"amendment": Amendment(original_mandate_id="OLD/")}, "OrgnlMndtId 'OLD/'"),
    ({"amendment": Amendment(original_creditor_id="NL09ZZZ502057730000")},
     "OrgnlCdtrSchmeId 'NL09ZZZ502057730000' is invalid"),
    ({"amendment": Amendment(original_debtor_iban="DE89370400440532013000", smnda=True)},
     "not both"),
    ({"debtor_iban": "CH9300762011623852957"}, "DbtrAgt BIC is required"),
    ({"debtor_iban": "CH9300762011623852957", "debtor_bic": "UBSWCHZH80A"},
     "Dbtr PstlAdr is required"),
])
def test_debit_rules_name_the_debit_and_the_value(changes, expected):
    error = _error(batch(debit(7, **changes)))
    assert str(error).startswith("debit 'E2E-7': ")
    assert expected in str(error)


@pytest.mark.parametrize(("sample", "expected"), [
    (batch(date=datetime.date(2025, 3, 2)), "ReqdColltnDt 2025-03-02 is in the past"),
    (batch(seq="FIRST"), "SeqTp 'FIRST' is not one of FRST, RCUR, OOFF, FNAL"),
    (batch(scheme="COR1"), "LclInstrm 'COR1' is not one of CORE, B2B"),
    (batch(debit(1), debit(1)), "EndToEndId 'E2E-1' is used twice"),
    (batch(debit(1, end_to_end_id="E2E_1")), "EndToEndId 'E2E_1' contains characters"),
    (batch(msg_id="M" * 36), "MsgId 'MMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMM' is 36 characters"),
    (batch(creation_time=datetime.date(2025, 3, 3)), "CreDtTm datetime.date(2025, 3, 3) must"),
    (batch(initiating_party=""), "InitgPty Nm '' is empty"),
    (batch(initiating_party_id="a//b"), "InitgPty Id 'a//b' contains '//'"),
    (batch(creditor=dataclasses.replace(CREDITOR, creditor_id="NL09ZZZ502057730000")),
     "CdtrSchmeId 'NL09ZZZ502057730000' is invalid: the check digits do not match"),
    (batch(creditor=dataclasses.replace(CREDITOR, iban="NL91ABNA0417164301")),
     "CdtrAcct IBAN 'NL91ABNA0417164301' is invalid"),
    (batch(creditor=dataclasses.replace(CREDITOR, name="")), "Cdtr Nm '' is empty"),
    (batch(blocks=()), "the batch has no payment block"),
])
def test_batch_rules(sample, expected):
    assert expected in str(_error(sample))


def test_town_is_required_only_in_structured_addresses():
    address = Address("NL", street="Kerkstraat", postcode="1234")
    street_only = batch(debit(1, debtor_address=address))
    error = _error(street_only, version="pain.008.001.08")
    assert "debit 'E2E-1': Dbtr PstlAdr TwnNm is required in a structured address" in str(error)
    data = write_pain008(street_only, "pain.008.001.02", today=TODAY)
    assert b"<PstlAdr><Ctry>NL</Ctry><AdrLine>Kerkstraat</AdrLine><AdrLine>1234</AdrLine>" in data


def test_empty_block_and_duplicate_pmt_inf_id():
    empty = PaymentBlock("MSG-1-P1", COLLECTION, "RCUR", ())
    assert "PmtInf 'MSG-1-P1' has no debit" in str(_error(batch(blocks=(empty,))))
    block = PaymentBlock("P1", COLLECTION, "RCUR", (debit(1),))
    twice = (block, dataclasses.replace(block, debits=(debit(2),)))
    assert "PmtInfId 'P1' is used twice" in str(_error(batch(blocks=twice)))


def test_one_scheme_per_message():
    core = PaymentBlock("P1", COLLECTION, "RCUR", (debit(1),), "CORE")
    b2b = PaymentBlock("P2", COLLECTION, "RCUR", (debit(2),), "B2B")
    assert "may not mix schemes (B2B, CORE)" in str(_error(batch(blocks=(core, b2b))))
    data = write_pain008(batch(blocks=(b2b,)), today=TODAY)
    assert b"<LclInstrm><Cd>B2B</Cd></LclInstrm>" in data


def test_bic_must_match_the_version_pattern():
    odd = batch(debit(1, debtor_bic="1BNANL2A"))
    error = _error(odd)
    assert "DbtrAgt BIC '1BNANL2A' is not allowed in pain.008.001.02" in str(error)
    data = write_pain008(odd, "pain.008.001.08", today=TODAY)
    assert b"<BICFI>1BNANL2A</BICFI>" in data


def test_xsd_failure_of_the_writer_names_element_and_line(monkeypatch):
    broken = dataclasses.replace(FLAVOURS["pain.008.001.02"], agent_bic="BICFI")
    monkeypatch.setitem(FLAVOURS, "pain.008.001.02", broken)
    sample = sample_batch(3000, seed=1, today=TODAY)
    data = write_pain008(sample, today=TODAY, validate=False, pretty=True)
    line = data[:data.index(b"<BICFI>")].count(b"\n") + 1
    with pytest.raises(SepaValidationError) as info:
        write_pain008(sample, today=TODAY, pretty=True)
    message = str(info.value)
    assert message.startswith(f"XSD pain.008.001.02, line {line}: Element 'BICFI'")
    out = io.BytesIO()
    with pytest.raises(SepaValidationError):
        stream_pain008(sample, out, today=TODAY, validate=True)
    assert out.getvalue() == b""


def test_collection_today_is_allowed():
    assert write_pain008(batch(date=TODAY), today=TODAY)


def test_unknown_version():
    with pytest.raises(SepaValidationError, match="'pain.008.001.09' is not supported"):
        write_pain008(batch(), "pain.008.001.09", today=TODAY)
    with pytest.raises(SepaValidationError, match="not supported"):
        check_batch(batch(), TODAY, "pain.001.001.03")


def test_amounts_as_strings_and_ints_are_accepted():
    data = write_pain008(batch(debit(1, amount="7.5"), debit(2, amount=3)), today=TODAY)
    assert b">7.50</InstdAmt>" in data and b">3.00</InstdAmt>" in data
    assert b"<CtrlSum>10.50</CtrlSum>" in data


# ---------------------------------------------------------------------------- grouping


def test_group_debits_one_block_per_key_with_deterministic_ids():
    later = COLLECTION + datetime.timedelta(days=7)
    items = [
        Collection(debit(1), later, "RCUR"), Collection(debit(2), COLLECTION, "RCUR"),
        Collection(debit(3), COLLECTION, "FRST"), Collection(debit(4), COLLECTION, "RCUR"),
        Collection(debit(5), COLLECTION, "OOFF"),
    ]
    blocks = group_debits("MSG-9", items)
    assert [(b.pmt_inf_id, b.collection_date, b.sequence_type) for b in blocks] == [
        ("MSG-9-P1", COLLECTION, "FRST"), ("MSG-9-P2", COLLECTION, "RCUR"),
        ("MSG-9-P3", COLLECTION, "OOFF"), ("MSG-9-P4", later, "RCUR"),
    ]
    assert [d.end_to_end_id for d in blocks[1].debits] == ["E2E-2", "E2E-4"]
    assert group_debits("MSG-9", items) == blocks


# ---------------------------------------------------------------------------- hypothesis


IBANS = [make_iban("NL", f"ABNA{n:010d}") for n in range(5)] + [
    make_iban("DE", f"37040044{n:010d}") for n in range(5)] + [
    "BE68539007547034", "FR1420041010050500013M02606", "AT611904300234573201"]
ID_CHARS = "ABCXYZabcxyz0123456789-?:().,'+"

identifiers = st.text(alphabet=ID_CHARS, min_size=1, max_size=30)
free_text = st.text(max_size=200)
names = st.text(min_size=1, max_size=100).filter(lambda s: to_sepa_text(s, 70))
addresses = st.one_of(
    st.none(),
    st.builds(Address, country=st.sampled_from(["NL", "DE", "FR"]),
              street=st.one_of(st.none(), free_text), building_number=st.none(),
              postcode=st.one_of(st.none(), st.text(max_size=20)),
              town=names, lines=st.lists(free_text, max_size=2).map(tuple)),
    st.builds(Address, country=st.sampled_from(["BE", "AT"]),
              lines=st.lists(free_text, min_size=1, max_size=2).map(tuple)),
)
amendments = st.one_of(
    st.none(),
    st.builds(Amendment, original_mandate_id=st.one_of(st.none(), identifiers),
              original_creditor_id=st.just("DE98ZZZ09999999999"),
              original_creditor_name=st.one_of(st.none(), names), smnda=st.booleans()),
    st.builds(Amendment, original_debtor_iban=st.sampled_from(IBANS)),
)


@st.composite
def random_batches(draw):
    """A random valid batch (several blocks, unique ids)."""
    n_blocks = draw(st.integers(1, 3))
    scheme = draw(st.sampled_from(["CORE", "B2B"]))
    blocks, number = [], 0
    for b in range(n_blocks):
        debits = []
        for _ in range(draw(st.integers(1, 4))):
            number += 1
            debits.append(Debit(
                end_to_end_id=f"{draw(identifiers)}-{number}",
                amount=Decimal(draw(st.integers(1, 99999999999))).scaleb(-2),
                mandate_id=draw(identifiers),
                signature_date=COLLECTION - datetime.timedelta(days=draw(st.integers(0, 3000))),
                debtor_name=draw(names), debtor_iban=draw(st.sampled_from(IBANS)),
                debtor_bic=draw(st.sampled_from([None, "ABNANL2A", "COBADEFFXXX"])),
                debtor_address=draw(addresses), remittance=draw(st.one_of(st.none(), free_text)),
                amendment=draw(amendments),
            ))
        date = COLLECTION + datetime.timedelta(days=b)
        blocks.append(PaymentBlock(f"P{b}", date, draw(st.sampled_from(["FRST", "RCUR",
                                                                         "OOFF", "FNAL"])),
                                   tuple(debits), scheme))
    return Batch(msg_id=draw(identifiers), creation_time=datetime.datetime(2025, 3, 3, 8),
                 initiating_party=draw(names), creditor=CREDITOR, blocks=tuple(blocks),
                 batch_booking=draw(st.booleans()))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_batches(), st.sampled_from(VERSIONS), st.booleans())
def test_random_batches_are_xsd_valid_and_read_back(sample, version, pretty):
    data = write_pain008(sample, version, today=TODAY, validate=True, pretty=pretty)
    report = inspect_pain008(data, transactions=True)
    assert report["valid"] and report["xsd_valid"] and not report["errors"]
    debits = list(sample.debits)
    assert report["nb_of_txs"] == len(debits)
    assert report["ctrl_sum"] == f"{sum(d.amount for d in debits):.2f}"
    read = [t for info in report["payment_infos"] for t in info["transactions"]]
    assert [t["end_to_end_id"] for t in read] == [d.end_to_end_id for d in debits]
    assert [t["mandate_id"] for t in read] == [d.mandate_id for d in debits]
    assert [t["amount"] for t in read] == [f"{d.amount:.2f}" for d in debits]
    assert [t["debtor_iban"] for t in read] == [d.debtor_iban for d in debits]
    assert [info["seq_tp"] for info in report["payment_infos"]] == [
        b.sequence_type for b in sample.blocks]


# ---------------------------------------------------------------------------- inspect


def test_inspect_reports_mismatched_counts_and_sums():
    data = write_pain008(batch(debit(1), debit(2)), today=TODAY)
    broken = data.replace(b"<NbOfTxs>2</NbOfTxs>", b"<NbOfTxs>3</NbOfTxs>", 1).replace(
        b"<CtrlSum>25.00</CtrlSum>", b"<CtrlSum>26.00</CtrlSum>")
    report = inspect_pain008(broken)
    assert report["xsd_valid"] is True
    assert not report["valid"]
    assert "GrpHdr NbOfTxs declares 3 but the transactions give 2" in report["errors"]
    assert "GrpHdr CtrlSum declares 26.00 but the transactions give 25.00" in report["errors"]
    assert "PmtInf 'MSG-1-P1' CtrlSum declares 26.00 but the transactions give 25.00" in (
        report["errors"])


def test_inspect_reports_xsd_errors():
    data = write_pain008(batch(), today=TODAY).replace(b"<PmtMtd>DD", b"<PmtMtd>TRF", 1)
    report = inspect_pain008(data)
    assert report["xsd_valid"] is False and not report["valid"]
    assert "PmtMtd" in report["errors"][0]


@pytest.mark.parametrize(("data", "expected"), [
    (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"><GrpHdr>',
     "not well-formed"),
    (b"", "not well-formed"),
    (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"/>', "not a pain.008"),
    (b"<Document/>", "not a pain.008"),
    (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
     b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.008.001.02">&e;</Document>',
     "DOCTYPE"),
    (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;'
     b'&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;'
     b'&c;&c;&c;&c;&c;&c;">]><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.008.001.02">'
     b"&d;&d;&d;&d;&d;&d;&d;&d;</Document>", "DOCTYPE"),
])
def test_inspect_refuses_bad_and_unsafe_input(data, expected):
    with pytest.raises(SepaParseError, match=expected):
        inspect_pain008(data)


def test_inspect_size_limit():
    data = write_pain008(batch(), today=TODAY)
    with pytest.raises(SepaParseError, match="more than the limit of 100"):
        inspect_pain008(data, max_bytes=100)


def test_inspect_json_serialisable():
    report = inspect_pain008(write_pain008(sample_batch(20, seed=1, today=TODAY), today=TODAY),
                             transactions=True)
    assert json.loads(json.dumps(report)) == report


# ---------------------------------------------------------------------------- streaming


_MEMORY_SCRIPT = """
import datetime, resource, sys
sys.path.insert(0, sys.argv[1])
from sepa.pain008 import write_pain008
from sepa.sample import sample_batch
today = datetime.date(2025, 3, 3)
sample = sample_batch(int(sys.argv[2]), seed=1, today=today)
write_pain008(sample_batch(10, seed=1, today=today), today=today)  # warm up caches
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
data = write_pain008(sample, today=today)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(len(data), (after - before) * 1024)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss in KB is Linux behaviour")
def test_writing_20k_debits_needs_no_tree_in_memory():
    """Peak memory grows by about the size of the output, not by a tree of the document.

    An lxml tree of this document takes about ten times its size in bytes; the writer
    holds the rendered transactions (compact text) and the output once, and the XSD
    validation streams.
    """
    done = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT, str(ADDON_ROOT), "20000"],
        capture_output=True, text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    size, growth = map(int, done.stdout.split())
    assert size > 9_000_000
    assert growth < 3.5 * size, f"peak RSS grew by {growth / 1e6:.0f} MB for {size / 1e6:.0f} MB"


def test_stream_writes_nothing_when_a_rule_fails():
    out = io.BytesIO()
    with pytest.raises(SepaValidationError):
        stream_pain008(batch(debit(1), debit(2, amount=Decimal("0"))), out, today=TODAY)
    assert out.getvalue() == b""
