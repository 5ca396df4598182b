"""Conformance: every public pain.008 sample in ``../shared/testdata`` is checked.

The samples sit next to the addon (``<addon root>/../shared/testdata/pain008/*.xml``) with
the expected values in ``EXPECTED.json``. They are read in place, never copied. A sample
``inspect_pain008`` cannot handle is a failing test; only a missing folder is a skip.
"""

import json
from pathlib import Path

import pytest

from sepa.inspect import inspect_pain008

TESTDATA = Path(__file__).resolve().parents[2].parent / "shared" / "testdata"
EXPECTED_FILE = TESTDATA / "EXPECTED.json"


def _samples():
    """The pain.008 sample paths, relative to the testdata folder."""
    if not TESTDATA.is_dir():
        return []
    return sorted(p.relative_to(TESTDATA).as_posix() for p in TESTDATA.glob("pain008/*.xml"))


SAMPLES = _samples()


@pytest.fixture(scope="module")
def expected():
    """EXPECTED.json, or a skip when the shared test data is absent."""
    if not EXPECTED_FILE.is_file():
        pytest.skip(f"shared test data not found at {TESTDATA} (checked out beside the addon?)")
    return json.loads(EXPECTED_FILE.read_text(encoding="utf-8"))


def test_testdata_present(expected):
    assert "_about" in expected
    listed = sorted(k for k in expected if k.startswith("pain008/"))
    assert listed == SAMPLES, "every pain008 sample needs an EXPECTED.json entry and vice versa"


@pytest.mark.parametrize("name", SAMPLES or ["<no samples>"])
def test_sample(name, expected):
    if name not in expected:
        pytest.fail(f"{name} has no entry in EXPECTED.json")
    want = expected[name]
    report = inspect_pain008((TESTDATA / name).read_bytes(), transactions=True)

    assert report["message"] == want["message"]
    assert report["msg_id"] == want["msg_id"]
    assert report["nb_of_txs"] == want["nb_of_txs"]
    assert report["ctrl_sum"] == want["ctrl_sum"]
    assert report["computed_nb_of_txs"] == want["computed_nb_of_txs"]
    assert report["computed_sum"] == want["computed_sum"]
    assert report["errors"] == [], report["errors"]
    if report["xsd_valid"] is None:
        # Version without a shipped XSD (German DK variants): said so, not guessed.
        assert report["message"] not in ("pain.008.001.02", "pain.008.001.08")
    else:
        assert report["xsd_valid"] == want["xsd_valid_expected"]
    assert report["valid"] == (report["xsd_valid"] is not False)

    assert len(report["payment_infos"]) == len(want["payment_infos"])
    for got, info in zip(report["payment_infos"], want["payment_infos"], strict=True):
        for key in ("pmt_inf_id", "seq_tp", "local_instrument", "reqd_colltn_dt", "nb_of_txs",
                    "ctrl_sum", "creditor_scheme_id"):
            assert got[key] == info[key], f"{name} {info['pmt_inf_id']} {key}"
        assert len(got["transactions"]) == len(info["transactions"])
        for tx, want_tx in zip(got["transactions"], info["transactions"], strict=True):
            for key, value in want_tx.items():
                assert tx[key] == value, f"{name} {want_tx['end_to_end_id']} {key}"
