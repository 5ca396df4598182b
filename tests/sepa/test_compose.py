"""Composition of a batch: debit numbers, end-to-end ids, remittance and PmtInfIds from
one rule, and the rulebook's block order."""

import datetime

from sepa.model import SEQUENCE_TYPES, block_order, compose_lines

DAY_1 = datetime.date(2025, 3, 10)
DAY_2 = datetime.date(2025, 3, 11)


def test_first_debits_of_a_mandate_are_merged_others_not():
    lines = [
        (1, "M1", "FRST", DAY_1, "INV/1"),
        (2, "M2", "RCUR", DAY_1, "INV/2"),
        (3, "M1", "FRST", DAY_1, "INV/3"),
        (4, "M2", "RCUR", DAY_1, "INV/4"),
    ]
    ids = compose_lines("B1", lines)
    assert [line.debit_number for line in ids] == [1, 2, 1, 3]
    assert [line.end_to_end_id for line in ids] == ["B1-1", "B1-2", "B1-1", "B1-3"]
    assert [line.remittance for line in ids] == ["INV/1 INV/3", "INV/2", "INV/1 INV/3",
                                                 "INV/4"]
    assert [line.pmt_inf_id for line in ids] == ["B1-P1", "B1-P2", "B1-P1", "B1-P2"]


def test_merge_all_sequence_types():
    lines = [(1, "M2", "RCUR", DAY_1, "A"), (2, "M2", "RCUR", DAY_1, "B"),
             (3, "M2", "RCUR", DAY_2, "C")]
    ids = compose_lines("B1", lines, merge_all=True)
    assert [line.debit_number for line in ids] == [1, 1, 2]
    assert [line.remittance for line in ids] == ["A B", "A B", "C"]


def test_blocks_in_the_rulebook_order_not_alphabetical():
    lines = [
        (1, "M1", "OOFF", DAY_1, "A"),
        (2, "M2", "FNAL", DAY_1, "B"),
        (3, "M3", "RCUR", DAY_1, "C"),
        (4, "M4", "FRST", DAY_2, "D"),
        (5, "M5", "FRST", DAY_1, "E"),
    ]
    blocks = {(line[3], line[2]): ids.pmt_inf_id
              for line, ids in zip(lines, compose_lines("B1", lines), strict=True)}
    assert blocks == {
        (DAY_1, "FRST"): "B1-P1",
        (DAY_1, "RCUR"): "B1-P2",
        (DAY_1, "OOFF"): "B1-P3",
        (DAY_1, "FNAL"): "B1-P4",
        (DAY_2, "FRST"): "B1-P5",
    }


def test_block_order():
    keys = [(DAY_2, "FRST", "CORE"), (DAY_1, "FNAL", "CORE"), (DAY_1, "OOFF", "CORE"),
            (DAY_1, "RCUR", "CORE"), (DAY_1, "FRST", "CORE")]
    assert sorted(keys, key=block_order) == [
        (DAY_1, seq, "CORE") for seq in SEQUENCE_TYPES] + [(DAY_2, "FRST", "CORE")]


def test_long_batch_reference_gives_valid_ids():
    ids = compose_lines("X" * 35, [(1, "M1", "RCUR", DAY_1, "A")])[0]
    assert len(ids.end_to_end_id) <= 35
    assert len(ids.pmt_inf_id) <= 35
    assert ids.end_to_end_id.endswith("-1")
    assert ids.pmt_inf_id.endswith("-P1")
