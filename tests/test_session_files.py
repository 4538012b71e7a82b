"""A master's session files are its owner's only: `sessions/` 0700, each file 0600 (issue 15).

The daemon's processes run with umask 077 (runtime/home.py), but a `sessions/` made
earlier by something else, or a file copied in, must not stay readable: the session
keys are the WhatsApp account. (The neonize sqlite file: tests/test_neonize_reconnect.py.)
"""
import os
import stat

from actors.session import make_transport
from runtime import config
from runtime.context import Context

M = "+971505760056"


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_sessions_directory_is_made_private_and_the_sim_session_file_is_0600(tmp_path):
    sessions = tmp_path / "sessions"
    sessions.mkdir(mode=0o755)
    os.chmod(sessions, 0o755)
    t = make_transport(Context(home=str(tmp_path), port=1, transport="sim", sim_port=1),
                       config.from_dict({}), M)
    try:
        assert mode(sessions) == 0o700
        old = os.umask(0o022)        # even under a lax umask
        try:
            t._save_token("device-token")
        finally:
            os.umask(old)
        assert t.token_path == str(sessions / f"{M}.sim") and mode(t.token_path) == 0o600
    finally:
        t.close()


def test_the_neonize_store_is_a_file_under_the_private_sessions_directory(tmp_path):
    t = make_transport(Context(home=str(tmp_path), port=1, transport="neonize"), config.from_dict({}), M)
    try:
        assert t.store == str(tmp_path / "sessions" / f"{M}.sqlite")
        assert mode(tmp_path / "sessions") == 0o700
    finally:
        t.close()
