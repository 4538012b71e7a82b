"""What the replay check costs per frame, beside the HMAC check alone, in the same run.

For a small message (a `status` request) and a large one (a 30,000-contact campaign),
times `loads` of a signed frame three ways: pickle alone, the HMAC check then pickle
(the wire before replay protection: tag | pickle), and today's wire (tag | time, nonce |
pickle, the nonce checked and remembered by this process's guard, runtime/wire_replay.py).
Also `dumps` (sign) both ways, the frame sizes, and the guard's memory per nonce.

    .venv/bin/python bench/wire.py [--frames 20000] [--out bench/results/wire.json]
"""
from __future__ import annotations

import argparse
import hmac
import os
import pickle
import sys
import time
import tracemalloc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT]

from actors.messages import AdminRequest  # noqa: E402
from common import host_info, write_json  # noqa: E402
from runtime import wire, wire_replay  # noqa: E402


def hmac_only(key: bytes):
    """The wire before replay protection (runtime/wire.py before this change)."""
    def dumps(obj):
        body = pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)
        return hmac.digest(key, body, "sha256") + body

    def loads(frame):
        view = memoryview(frame)
        tag, body = view[:32], view[32:]
        if not hmac.compare_digest(tag.tobytes(), hmac.digest(key, body, "sha256")):
            raise ValueError("bad tag")
        return pickle.loads(body)
    return dumps, loads


def per_frame_us(fn, items) -> float:
    t0 = time.perf_counter()
    for item in items:
        fn(item)
    return (time.perf_counter() - t0) / len(items) * 1e6


def measure(name: str, msg, n: int) -> dict:
    key = os.urandom(32)
    old_dumps, old_loads = hmac_only(key)
    signed = wire.SignedPickle(key)
    wire_replay._guard = wire_replay.ReplayGuard(max_nonces=max(n, 1))  # noqa: SLF001 - a fresh guard per case
    old_frames = [old_dumps(msg) for _ in range(n)]
    new_frames = [signed.dumps(msg) for _ in range(n)]
    plain = [pickle.dumps(msg, pickle.HIGHEST_PROTOCOL) for _ in range(min(n, 1))] * n
    row = {
        "frames": n,
        "frame_bytes": {"hmac_only": len(old_frames[0]), "with_replay": len(new_frames[0])},
        "loads_us": {
            "pickle_only": per_frame_us(pickle.loads, plain),
            "hmac_only": per_frame_us(old_loads, old_frames),
            "with_replay": per_frame_us(signed.loads, new_frames),
        },
        "dumps_us": {
            "hmac_only": per_frame_us(old_dumps, [msg] * n),
            "with_replay": per_frame_us(signed.dumps, [msg] * n),
        },
    }
    row["loads_us"]["replay_extra"] = row["loads_us"]["with_replay"] - row["loads_us"]["hmac_only"]
    row["dumps_us"]["replay_extra"] = row["dumps_us"]["with_replay"] - row["dumps_us"]["hmac_only"]
    print(f"{name:28} {row['frame_bytes']['with_replay']:>9} B  loads: pickle {row['loads_us']['pickle_only']:8.1f} µs, "
          f"hmac {row['loads_us']['hmac_only']:8.1f} µs, +replay {row['loads_us']['with_replay']:8.1f} µs "
          f"(+{row['loads_us']['replay_extra']:.1f})  dumps: {row['dumps_us']['hmac_only']:8.1f} → "
          f"{row['dumps_us']['with_replay']:8.1f} µs")
    return row


def guard_bytes_per_nonce(n: int = 100_000) -> float:
    headers = [wire_replay.new_header() for _ in range(n)]
    g = wire_replay.ReplayGuard(max_nonces=n)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for h in headers:
        g.check(h)
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    return used / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20000)
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "wire.json"))
    opts = parser.parse_args()
    small = (("127.0.0.1", 19500), AdminRequest(command="daemon.status", args={}))
    phones = [f"+9715{i:08d}" for i in range(30000)]
    campaign = (("127.0.0.1", 19500), AdminRequest(command="campaign.send",
                                                   args=dict(name="menu-may", text_="x" * 1024, contacts=phones)))
    cases = {"status request": measure("status request", small, opts.frames),
             "campaign, 30000 contacts": measure("campaign, 30000 contacts", campaign, max(opts.frames // 100, 50))}
    per_nonce = guard_bytes_per_nonce()
    print(f"guard memory: {per_nonce:.0f} bytes per remembered nonce; at the cap of {wire_replay.MAX_NONCES}: "
          f"{per_nonce * wire_replay.MAX_NONCES / 2**20:.1f} MiB")
    result = {"bench": "wire", "host": host_info(), "cases": cases,
              "guard_bytes_per_nonce": round(per_nonce, 1), "max_nonces": wire_replay.MAX_NONCES,
              "window_s": wire_replay.WINDOW_S}
    write_json(opts.out, result, newline=True)
    print(f"written to {opts.out}")


if __name__ == "__main__":
    main()
