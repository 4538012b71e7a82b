"""The heartbeat board (runtime/beatboard.py): sessions' periodic heartbeats without a message each."""
from __future__ import annotations

import os

import pytest

from runtime.beatboard import SLOT_SIZE, BeatReader, BeatWriter, path_of


def test_a_beat_is_read_once_with_what_the_session_wrote(tmp_path):
    home = str(tmp_path)
    writer, reader = BeatWriter(home, "+971500000001"), BeatReader(home)
    writer.beat("connected", 4242, 1000.5)
    beats = reader.changed()
    assert [(b.phone, b.device, b.pid, b.ts) for b in beats] == [("+971500000001", "connected", 4242, 1000.5)]
    assert reader.changed() == []          # nothing new: a hung session is silent
    writer.beat("connected", 4242, 1005.5)
    assert [b.ts for b in reader.changed()] == [1005.5]


def test_each_phone_has_its_own_slot_and_keeps_it_across_restarts(tmp_path):
    home = str(tmp_path)
    a, b = BeatWriter(home, "+971500000001"), BeatWriter(home, "+971500000002")
    assert a.offset != b.offset
    a.beat("connected", 1, 1.0)
    again = BeatWriter(home, "+971500000001")   # the session's process restarted
    assert again.offset == a.offset
    reader = BeatReader(home)
    reader.changed()
    again.beat("connecting", 2, 2.0)            # a new pid in the same slot is seen as a new beat
    assert [(x.phone, x.pid, x.device) for x in reader.changed()] == [("+971500000001", 2, "connecting")]
    assert os.path.getsize(path_of(home)) == 2 * SLOT_SIZE


def test_a_half_written_slot_is_skipped_until_whole(tmp_path):
    home = str(tmp_path)
    writer, reader = BeatWriter(home, "+971500000001"), BeatReader(home)
    writer.beat("connected", 7, 10.0)
    with open(path_of(home), "r+b") as f:          # a torn write: part of the slot changed
        f.seek(writer.offset + 30)
        f.write(b"\xff\xff")
    assert reader.changed() == []
    writer.beat("connected", 7, 15.0)
    assert [b.ts for b in reader.changed()] == [15.0]


def test_no_board_yet_reads_nothing(tmp_path):
    assert BeatReader(str(tmp_path)).changed() == []


def test_a_phone_too_long_for_a_slot_is_refused_and_writes_nothing(tmp_path):
    with pytest.raises(ValueError, match="heartbeat slot"):
        BeatWriter(str(tmp_path), "+" + "9" * 30)
    assert not os.path.exists(path_of(str(tmp_path)))
