"""The keeper's and standby's beats (runtime/keeper_beat.py): when a silent one counts as hung."""
from __future__ import annotations

import os
import time
from types import SimpleNamespace

import pytest

from runtime import keeper_beat

HEALTH = SimpleNamespace(heartbeat_s=0.2, failed_after=3)   # hung after 0.65 s


@pytest.fixture
def home(tmp_path):
    os.makedirs(tmp_path / "run")
    return str(tmp_path)


def backdate(home, role, seconds):
    t = time.time() - seconds
    os.utime(keeper_beat.path_of(home, role), (t, t))


def test_a_fresh_beat_is_not_hung_a_stale_one_is(home):
    keeper_beat.claim(home, "keeper")
    judge = keeper_beat.BeatJudge(home, "keeper", HEALTH, turn_s=0.05)
    judge.first_seen[os.getpid()] = time.time() - 10   # judged for long: only the beat counts
    assert judge.silent_s(os.getpid()) is None
    backdate(home, "keeper", 0.8)
    assert judge.silent_s(os.getpid()) == pytest.approx(0.8, abs=0.05)


def test_a_busy_beat_covers_a_blocking_call(home):
    keeper_beat.claim(home, "keeper")
    keeper_beat.beat(home, "keeper", busy_s=5.0)   # e.g. a root restart in progress
    judge = keeper_beat.BeatJudge(home, "keeper", HEALTH, turn_s=0.05)
    judge.first_seen[os.getpid()] = time.time() - 10
    assert judge.silent_s(os.getpid()) is None


def test_a_beat_of_another_pid_counts_from_when_we_first_judged(home):
    keeper_beat.claim(home, "standby")   # our pid in it, not 12345's
    judge = keeper_beat.BeatJudge(home, "standby", HEALTH, turn_s=0.05)
    assert judge.silent_s(12345) is None   # a new process gets its full time to beat
    judge.first_seen[12345] -= 1.0
    assert judge.silent_s(12345) is not None


def test_the_judges_own_stall_is_excused(home):
    keeper_beat.claim(home, "keeper")
    judge = keeper_beat.BeatJudge(home, "keeper", HEALTH, turn_s=0.05)
    judge.first_seen[os.getpid()] = time.time() - 10
    judge.silent_s(os.getpid())
    backdate(home, "keeper", 2.0)
    judge.last_turn -= 2.0   # we slept 2 s (a loaded machine) as long as it did
    assert judge.silent_s(os.getpid()) is None


def test_an_unknown_role_is_refused_by_name(home):
    with pytest.raises(ValueError, match="no beat file for role 'root'"):
        keeper_beat.path_of(home, "root")
