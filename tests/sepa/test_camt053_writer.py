"""camt.053 writer (sepa.camt053): the statement a bank sends for a collected batch.

No camt.053 XSD ships with the project (sepaxml has pain schemas only): the document is
read back with the toolkit's own reader, which must find the values written, and its
balances and totals are checked in the XML.
"""

import datetime
from decimal import Decimal

import pytest
from lxml import etree

from sepa.camt053 import NAMESPACE, BatchCredit, ReturnedDebit, Statement, write_camt053
from sepa.errors import SepaValidationError
from sepa.readers import read_message

NS = {"c": NAMESPACE}
ACCOUNT = "NL47BUNQ2020202020"
CREDITED = datetime.date(2030, 1, 15)
RETURNED = datetime.date(2030, 1, 17)


def statement(**values):
    entries = values.pop("entries", (
        BatchCredit("SDD-2030-00001", Decimal("225.50"), 4, CREDITED),
        ReturnedDebit(
            "SDD-2030-00001-2", Decimal("100.00"), "AM04", RETURNED, mandate_id="MDT-0002",
            debtor_name="Jan de Vries", debtor_iban="NL44RABO0123456789",
            remittance="INV/2030/00002", return_info="Saldo ontoereikend"),
        ReturnedDebit(
            "SDD-2030-00001-3", Decimal("25.50"), "MD06", RETURNED, mandate_id="MDT-0003",
            debtor_name="Zoë Lefèvre", debtor_iban="NL20INGB0001234567",
            remittance="INV/2030/00003", return_info="Terugboeking op verzoek klant"),
    ))
    return Statement(**{
        "statement_id": "STMT-20300117-1", "created": datetime.datetime(2030, 1, 17, 6, 30),
        "iban": ACCOUNT, "creditor_name": "Muziekvereniging Harmonie Utrecht",
        "creditor_id": "NL69ZZZ123456780000", "opening_balance": Decimal("1000.00"),
        "entries": entries, **values})


def test_read_back_credit_and_returns():
    result = read_message(write_camt053(statement()))
    assert result.message == "camt.053.001.02"
    assert result.accounts == (ACCOUNT,)
    credit, first, second = result.transactions
    assert (credit.kind, credit.level, credit.msg_id, credit.amount, credit.nb_of_txs,
            credit.booking_date, credit.bank_tx_code, credit.entry_cdt_dbt) == (
        "credit", "entry", "SDD-2030-00001", Decimal("225.50"), 4, CREDITED,
        "PMNT/IDDT/ESDD", "CRDT")
    assert [(tx.kind, tx.level, tx.end_to_end_id, tx.amount, tx.reason_code, tx.mandate_id,
             tx.debtor_name, tx.debtor_iban, tx.creditor_id, tx.bank_tx_code,
             tx.booking_date, tx.entry_cdt_dbt) for tx in (first, second)] == [
        ("return", "tx", "SDD-2030-00001-2", Decimal("100.00"), "AM04", "MDT-0002",
         "Jan de Vries", "NL44RABO0123456789", "NL69ZZZ123456780000", "PMNT/IDDT/UPDD",
         RETURNED, "DBIT"),
        ("refund", "tx", "SDD-2030-00001-3", Decimal("25.50"), "MD06", "MDT-0003",
         "Zoë Lefèvre", "NL20INGB0001234567", "NL69ZZZ123456780000", "PMNT/IDDT/UPDD",
         RETURNED, "DBIT"),
    ]
    assert first.additional_info == "Saldo ontoereikend"
    # every entry has its own bank reference
    assert len({tx.acct_svcr_ref for tx in result.transactions}) == 3


def test_balances_period_and_totals():
    root = etree.fromstring(write_camt053(statement()))

    def texts(path):
        return [node.text for node in root.xpath(path, namespaces=NS)]

    stmt = "/c:Document/c:BkToCstmrStmt/c:Stmt"
    assert texts(f"{stmt}/c:Bal/c:Tp/c:CdOrPrtry/c:Cd") == ["OPBD", "CLBD"]
    assert texts(f"{stmt}/c:Bal/c:Amt") == ["1000.00", "1100.00"]
    assert texts(f"{stmt}/c:Bal/c:CdtDbtInd") == ["CRDT", "CRDT"]
    assert texts(f"{stmt}/c:Bal/c:Dt/c:Dt") == ["2030-01-15", "2030-01-17"]
    assert texts(f"{stmt}/c:FrToDt/*") == ["2030-01-15T00:00:00", "2030-01-17T23:59:59"]
    assert texts(f"{stmt}/c:Acct/c:Id/c:IBAN") == [ACCOUNT]
    assert texts(f"{stmt}/c:TxsSummry/c:TtlNtries/*") == ["3", "351.00", "100.00", "CRDT"]
    assert texts(f"{stmt}/c:TxsSummry/c:TtlCdtNtries/*") == ["1", "225.50"]
    assert texts(f"{stmt}/c:TxsSummry/c:TtlDbtNtries/*") == ["2", "125.50"]
    # the batch reference where a bank prints it: batch details and the entry's texts
    credit = f"{stmt}/c:Ntry[1]"
    assert texts(f"{credit}/c:NtryDtls/c:Btch/c:MsgId") == ["SDD-2030-00001"]
    assert texts(f"{credit}/c:NtryDtls/c:TxDtls/c:AddtlTxInf") == [
        "SEPA Incasso batch SDD-2030-00001, 4 transactions"]
    assert texts(f"{stmt}/c:Ntry/c:NtryDtls/c:TxDtls/c:RtrInf/c:Rsn/c:Cd") == ["AM04", "MD06"]


def test_overdrawn_account():
    data = write_camt053(statement(opening_balance=Decimal("-300.00")))
    root = etree.fromstring(data)
    balances = root.xpath("//c:Bal", namespaces=NS)
    assert [(b.findtext("c:Amt", namespaces=NS), b.findtext("c:CdtDbtInd", namespaces=NS))
            for b in balances] == [("300.00", "DBIT"), ("200.00", "DBIT")]
    assert statement(opening_balance=Decimal("-300.00")).closing_balance == Decimal("-200.00")


def test_b2b_credit_code_and_long_texts_cut():
    long_name = "Stichting " + "Zeer Lange Naam " * 12
    entries = (
        BatchCredit("SDD-2030-00002", Decimal("10.00"), 1, CREDITED, scheme="B2B"),
        ReturnedDebit("SDD-2030-00002-1", Decimal("10.00"), "AC04", RETURNED,
                      debtor_name=long_name, return_info="x" * 300, scheme="B2B"),
    )
    result = read_message(write_camt053(statement(entries=entries)))
    credit, returned = result.transactions
    assert credit.bank_tx_code == "PMNT/IDDT/BBDD"
    assert returned.kind == "return"
    assert len(returned.debtor_name) == 140
    assert len(returned.additional_info) == 105


@pytest.mark.parametrize(("values", "message"), [
    ({"iban": "NL00BUNQ2020202020"}, "Acct/Id/IBAN"),
    ({"statement_id": "S" * 36}, "Stmt/Id"),
    ({"entries": (BatchCredit("SDD-1", 12.5, 1, CREDITED),)}, "float"),
    ({"entries": (BatchCredit("SDD-1", Decimal("0.00"), 1, CREDITED),)}, "greater than 0"),
    ({"entries": (ReturnedDebit("E2E-1", Decimal("1.00"), "AM045", RETURNED),)},
     "RtrInf/Rsn/Cd"),
    ({"entries": (ReturnedDebit("E2E-1", Decimal("1.00"), "AM04", RETURNED,
                                debtor_iban="NL00INGB0001234567"),)}, "DbtrAcct"),
])
def test_bad_values_are_refused(values, message):
    with pytest.raises(SepaValidationError, match=message):
        write_camt053(statement(**values))


def test_not_an_entry():
    with pytest.raises(TypeError, match="not a statement entry"):
        write_camt053(statement(entries=("credit",)))
