"""camt.053 / camt.054 reader on hand-written fixtures (versions 001.02, .04 and .08)."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from lxml.builder import ElementMaker

from sepa.readers import read_message
from sepa.readers.camt import classify, storno_kind
from sepa.reasons import CATALOGUE

FIXTURES = Path(__file__).parent / "fixtures"


def read(name):
    """Read one fixture file."""
    return read_message((FIXTURES / name).read_bytes())


def summary(result, *keys):
    """Return ``(kind, level, *keys)`` tuples of every record, JSON values."""
    rows = []
    for tx in result.transactions:
        data = tx.to_json_dict()
        rows.append((data["kind"], data["level"], *(data[key] for key in keys)))
    return rows


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("camt054_001_02_returns.xml", "camt.054.001.02"),
        ("camt054_001_04_credits.xml", "camt.054.001.04"),
        ("camt054_001_08_returns.xml", "camt.054.001.08"),
        ("camt053_001_02_statement.xml", "camt.053.001.02"),
        ("camt053_001_04_proprietary.xml", "camt.053.001.04"),
        ("camt053_001_08_statement.xml", "camt.053.001.08"),
    ],
)
def test_message_name_from_namespace(name, message):
    assert read(name).message == message


def test_camt054_v02_returns_per_kind():
    result = read("camt054_001_02_returns.xml")
    assert result.report_msg_id == "NTF-2024-03-05-001"
    assert summary(result, "end_to_end_id", "amount", "reason_code") == [
        ("return", "tx", "B2024-03-0001-0001", "49.95", "AM04"),
        ("reject", "tx", "B2024-03-0001-0002", "10.00", "MS02"),
        ("return", "tx", "B2024-03-0001-0003", "15.00", "X99"),
        ("refund", "tx", "B2024-02-0001-0004", "12.50", "MD06"),
        ("return", "entry", None, "30.00", None),
        ("reversal", "tx", "B2024-03-0001-0005", "8.00", "AM05"),
        ("other", "tx", "ENERGY-2024-03", "99.00", None),
    ]


def test_camt054_v02_return_details():
    first = read("camt054_001_02_returns.xml").transactions[0]
    assert first.mandate_id == "MND-0001"
    assert first.amount == Decimal("49.95")
    assert first.currency == "EUR"
    assert first.charges == Decimal("1.50")
    assert first.debtor_name == "Jan de Vries"
    assert first.debtor_iban == "NL02ABNA0123456789"
    assert first.booking_date == date(2024, 3, 5)
    assert first.value_date == date(2024, 3, 4)
    assert first.return_type == "RTRN"
    assert first.acct_svcr_ref == "RTN-E1"
    assert first.ntry_ref == "E1"
    assert first.bank_tx_code == "PMNT/IDDT/UPDD"
    assert first.bank_tx_code_prtry == "B3/0811"
    assert first.is_storno


def test_camt054_v02_batch_references_fall_back_to_btch():
    result = read("camt054_001_02_returns.xml")
    reject, proprietary = result.transactions[1:3]
    assert (reject.msg_id, reject.pmt_inf_id) == ("B2024-03", "B2024-03-FRST")
    assert reject.additional_info == "/RTYP/RJCT Refused by debtor"
    assert reject.entry_amount == Decimal("25.00")
    assert proprietary.reason_proprietary is True
    assert proprietary.reason_code == "X99"


def test_camt054_v02_refund_takes_entry_amount_when_tx_has_none():
    refund = read("camt054_001_02_returns.xml").transactions[3]
    assert refund.kind == "refund"
    assert refund.reversal is True
    assert refund.amount == Decimal("12.50")


def test_camt054_v02_entry_without_details_is_one_entry_level_item():
    item = read("camt054_001_02_returns.xml").transactions[4]
    assert (item.level, item.pmt_inf_id, item.nb_of_txs) == ("entry", "B2024-03-RCUR", 1)


def test_debit_collected_from_us_is_never_a_storno():
    other = read("camt054_001_02_returns.xml").transactions[-1]
    assert other.kind == "other"
    assert not other.is_storno
    assert other.mandate_id == "ENERGY-MANDATE-7"


def test_camt054_v04_batch_credit_lists_transactions():
    credit = read("camt054_001_04_credits.xml").transactions[0]
    data = credit.to_json_dict()
    assert data["kind"] == "credit"
    assert data["level"] == "entry"
    assert data["amount"] == "60.00"
    assert data["msg_id"] == "B2024-04"
    assert data["pmt_inf_id"] == "B2024-04-RCUR"
    assert data["nb_of_txs"] == 3
    assert data["end_to_end_id"] is None
    assert data["end_to_end_ids"] == [
        "B2024-04-0001-0001",
        "B2024-04-0001-0002",
        "B2024-04-0001-0003",
    ]
    assert data["tx_amounts"] == ["10.00", "20.00", "30.00"]
    assert data["ntry_ref"] == "NL08ZZZ502057730000"
    assert data["pmt_inf_id_in_addtl_info"] == "B2024-04-RCUR"


def test_camt054_v04_single_credit_has_end_to_end_id():
    credit = read("camt054_001_04_credits.xml").transactions[1]
    assert credit.kind == "credit"
    assert credit.end_to_end_id == "B2024-04-0002-0001"
    assert credit.pmt_inf_id == "B2024-04-FRST"
    assert credit.nb_of_txs == 1
    assert credit.debtor_name == "Piet Bakker"


def test_camt054_v04_refund_with_entry_charges_and_returned_transfer():
    result = read("camt054_001_04_credits.xml")
    assert summary(result, "amount", "charges", "reason_code")[2:] == [
        ("refund", "tx", "15.00", "0.50", "MD06"),
        ("other", "tx", "42.00", None, "AC04"),
    ]
    assert len(result.transactions) == 4
    assert [tx.kind for tx in result.credits] == ["credit", "credit"]
    assert [tx.kind for tx in result.stornos] == ["refund"]


def test_camt054_v08_structure():
    result = read("camt054_001_08_returns.xml")
    ret, credit = result.transactions
    assert (ret.kind, ret.reason_code, ret.status) == ("return", "AC04", "BOOK")
    assert ret.debtor_name == "Émile Zoëtrope"
    assert ret.booking_date == date(2024, 5, 6)
    assert (credit.kind, credit.msg_id, credit.pmt_inf_id) == (
        "credit",
        "B2024-05",
        "B2024-05-B2B-RCUR",
    )
    assert credit.nb_of_txs == 12
    assert credit.amount == Decimal("1234.56")


def test_camt053_v02_statement_lists_only_dd_items_and_returns():
    result = read("camt053_001_02_statement.xml")
    assert summary(result, "amount", "bank_tx_code", "reason_code") == [
        ("credit", "entry", "400.00", "PMNT/IDDT/ESDD", None),
        ("other", "tx", "44.25", "PMNT/RDDT/ESDD", None),
        ("other", "tx", "20.00", "PMNT/RCDT/RRTN", "AC01"),
        ("return", "tx", "60.00", "PMNT/IDDT/UPDD", "AC06"),
    ]
    credit = result.transactions[0]
    assert (credit.pmt_inf_id, credit.nb_of_txs, credit.msg_id) == ("B2024-06-RCUR", 4, None)
    assert result.transactions[3].return_type == "RTRN"


def test_camt053_v04_proprietary_codes():
    result = read("camt053_001_04_proprietary.xml")
    assert summary(result, "amount", "status", "bank_tx_code_prtry") == [
        ("credit", "entry", "250.00", "BOOK", "N123"),
        ("return", "tx", "50.00", "BOOK", "N654"),
        ("credit", "entry", "70.00", "PDNG", None),
    ]
    assert result.transactions[0].msg_id == "B2024-07"


def test_camt053_v08_statement():
    credit, ret = read("camt053_001_08_statement.xml").transactions
    assert credit.kind == "credit"
    assert credit.end_to_end_id == "B2024-08-0001-0001"
    assert credit.mandate_id == "OOFF-INV-2024-0815"
    assert credit.booking_date == date(2024, 8, 1)
    assert ret.kind == "return"
    assert ret.reversal is True
    assert ret.charges == Decimal("2.25")
    assert ret.debtor_name == "Bram Claes"


@pytest.mark.parametrize(
    ("code", "cdt_dbt", "reversal", "expected"),
    [
        (("PMNT", "IDDT", "ESDD"), "CRDT", False, "credit"),
        (("PMNT", "RDDT", "PMDD"), "CRDT", False, "credit"),
        (("PMNT", "IDDT", "UPDD"), "DBIT", False, "storno"),
        (("PMNT", "IDDT", "ESDD"), "DBIT", True, "storno"),
        (("PMNT", "RDDT", "PRDD"), "DBIT", True, "storno"),
        (("PMNT", "RDDT", "ESDD"), "DBIT", False, "dd_other"),
        (("PMNT", "RDDT", "BBDD"), "DBIT", False, "dd_other"),
        (("PMNT", "RDDT", "ESDD"), "CRDT", True, "dd_other"),
        (("PMNT", "RCDT", "RRTN"), "CRDT", False, "returned"),
        (("PMNT", "ICDT", "ESCT"), "DBIT", False, "returned"),
        (("ACMT", "MDOP", "CHRG"), "DBIT", False, "skip"),
        (("PAYM", "0001", "0005"), "CRDT", False, "credit"),
        ((None, None, None), "CRDT", False, "credit"),
        ((None, None, None), "DBIT", False, "unknown"),
    ],
)
def test_classify(code, cdt_dbt, reversal, expected):
    assert classify(*code, cdt_dbt, reversal) == expected


@pytest.mark.parametrize(
    ("reason", "return_type", "kind"),
    [
        ("MD06", None, "refund"),
        ("MD06", "RTRN", "refund"),
        ("AM04", None, "return"),
        ("AM04", "RJCT", "reject"),
        ("MD01", "RFND", "refund"),
        ("AM05", "RVSL", "reversal"),
        (None, None, "return"),
    ],
)
def test_storno_kind(reason, return_type, kind):
    assert storno_kind(reason, return_type) == kind


def test_json_conventions():
    data = read("camt054_001_02_returns.xml").to_json_dict()
    assert list(data)[0] == "message"
    first = data["transactions"][0]
    assert first["amount"] == "49.95"
    assert first["booking_date"] == "2024-03-05"
    assert first["msg_id"] is None
    assert first["reversal"] is False


# -- generated files: every version, random content ----------------------------------------

SEPA_TEXT = (
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/-?:().,'+ ",
        min_size=1,
        max_size=35,
    )
    .map(str.strip)
    .filter(bool)
)
RETURN = st.tuples(
    SEPA_TEXT,
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999999.99"), places=2),
    st.sampled_from(sorted(CATALOGUE)),
    st.booleans(),
)


def generated_camt(message, returns):
    """Return a camt.053/054 ``message`` (e.g. camt.054.001.05) holding ``returns``."""
    namespace = f"urn:iso:std:iso:20022:tech:xsd:{message}"
    E = ElementMaker(namespace=namespace, nsmap={None: namespace})
    version = int(message[-2:])
    entries = []
    for end_to_end_id, amount, reason, reversal in returns:
        party = E.Dbtr(E.Pty(E.Nm("Debtor"))) if version >= 8 else E.Dbtr(E.Nm("Debtor"))
        status = E.Sts(E.Cd("BOOK")) if version >= 8 else E.Sts("BOOK")
        entries.append(
            E.Ntry(
                E.Amt(str(amount), Ccy="EUR"),
                E.CdtDbtInd("DBIT"),
                E.RvslInd(str(reversal).lower()),
                status,
                E.BookgDt(E.Dt("2024-03-05")),
                E.BkTxCd(E.Domn(E.Cd("PMNT"), E.Fmly(E.Cd("IDDT"), E.SubFmlyCd("UPDD")))),
                E.NtryDtls(
                    E.TxDtls(
                        E.Refs(E.EndToEndId(end_to_end_id)),
                        E.RltdPties(party),
                        E.RtrInf(E.Rsn(E.Cd(reason))),
                    )
                ),
            )
        )
    body = E.Stmt if message.startswith("camt.053") else E.Ntfctn
    root = E.BkToCstmrStmt if message.startswith("camt.053") else E.BkToCstmrDbtCdtNtfctn
    document = E.Document(root(E.GrpHdr(E.MsgId("GEN")), body(E.Id("GEN-1"), *entries)))
    return etree.tostring(document, xml_declaration=True, encoding="UTF-8")


@pytest.mark.parametrize(
    "message",
    [f"camt.05{kind}.001.{version:02d}" for kind in (3, 4) for version in range(2, 9)],
)
@settings(max_examples=15, deadline=None)
@given(returns=st.lists(RETURN, min_size=1, max_size=8))
def test_generated_returns_every_version(message, returns):
    result = read_message(generated_camt(message, returns))
    assert result.message == message
    expected = [
        (e2e, amount, reason, "refund" if reason == "MD06" else "return", "Debtor")
        for e2e, amount, reason, _reversal in returns
    ]
    got = [
        (tx.end_to_end_id, tx.amount, tx.reason_code, tx.kind, tx.debtor_name)
        for tx in result.transactions
    ]
    assert got == expected


def test_values_containing_the_internal_separator_are_read_exactly():
    data = (FIXTURES / "camt054_001_02_returns.xml").read_bytes()
    odd = "B2024\ue000odd"
    data = data.replace(b"B2024-03-0001-0001</EndToEndId>", f"{odd}</EndToEndId>".encode())
    first = read_message(data).transactions[0]
    assert first.end_to_end_id == odd
    assert first.mandate_id == "MND-0001"
    assert first.reason_code == "AM04"


def test_accounts_of_the_statements_with_direct_debit_entries():
    """The account of each statement that gave items, each once, in the file's order: the
    IBAN, else the other id; a statement without direct debit entries is not listed."""
    namespace = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
    E = ElementMaker(namespace=namespace, nsmap={None: namespace})

    def entry(e2e, domain="PMNT"):
        return E.Ntry(
            E.Amt("10.00", Ccy="EUR"), E.CdtDbtInd("DBIT"), E.Sts("BOOK"),
            E.BookgDt(E.Dt("2024-03-05")),
            E.BkTxCd(E.Domn(E.Cd(domain), E.Fmly(E.Cd("IDDT"), E.SubFmlyCd("UPDD")))),
            E.NtryDtls(E.TxDtls(E.Refs(E.EndToEndId(e2e)), E.RtrInf(E.Rsn(E.Cd("AM04"))))))

    def statement(number, account, *entries):
        return E.Stmt(E.Id(f"S{number}"), E.Acct(E.Id(account)), *entries)

    document = E.Document(E.BkToCstmrStmt(
        E.GrpHdr(E.MsgId("ACCOUNTS")),
        statement(1, E.Othr(E.Id("0417164300")), entry("E-1"), entry("E-2")),
        statement(2, E.IBAN("NL47BUNQ2020202020"), entry("E-3")),
        statement(3, E.IBAN("DE89370400440532013000"),
                  entry("E-4", domain="ACMT")),  # no direct debit: not listed
        statement(4, E.IBAN("NL47BUNQ2020202020"), entry("E-5")),
    ))
    result = read_message(etree.tostring(document, xml_declaration=True, encoding="UTF-8"))
    assert [tx.end_to_end_id for tx in result.transactions] == ["E-1", "E-2", "E-3", "E-5"]
    assert result.accounts == ("0417164300", "NL47BUNQ2020202020")
    assert result.to_json_dict()["accounts"] == ["0417164300", "NL47BUNQ2020202020"]
    assert read("camt054_001_08_returns.xml").accounts == ("DE89370400440532013000",)


def test_creditor_identifier_of_a_return():
    """The creditor identifier the bank gives for a transaction (RltdPties/Cdtr, with a
    Pty level from version 001.08): the return file import checks it is ours."""
    v02 = (FIXTURES / "camt054_001_02_returns.xml").read_bytes().replace(
        b"<Cdtr><Nm>Vereniging Test</Nm></Cdtr>",
        b"<Cdtr><Nm>Vereniging Test</Nm><Id><PrvtId><Othr><Id>NL69ZZZ123456780000</Id>"
        b"<SchmeNm><Prtry>SEPA</Prtry></SchmeNm></Othr></PrvtId></Id></Cdtr>", 1)
    first, *others = read_message(v02).transactions
    assert first.creditor_id == "NL69ZZZ123456780000"
    assert first.to_json_dict()["creditor_id"] == "NL69ZZZ123456780000"
    assert {tx.creditor_id for tx in others} == {None}
    v08 = (FIXTURES / "camt054_001_08_returns.xml").read_bytes().replace(
        b"</DbtrAcct>",
        b"</DbtrAcct><Cdtr><Pty><Nm>Club</Nm><Id><PrvtId><Othr><Id>DE98ZZZ09999999999</Id>"
        b"</Othr></PrvtId></Id></Pty></Cdtr>", 1)
    assert read_message(v08).transactions[0].creditor_id == "DE98ZZZ09999999999"
