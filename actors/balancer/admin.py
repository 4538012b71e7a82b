"""Admin commands of the balancer area (send, outbox, conversations, failover, load).

Registered with `@handler` from actors/admin.py; imported at the end of that module.
Reads come straight from LMDB; what only the balancer can do (failover, its
strategy, live figures) is asked of it with a BalancerCommand.
"""
from __future__ import annotations

import time

from actors.admin import CommandError, _known, handler
from actors.balancer import failover as fo
from actors.balancer.commands import BalancerCommand
from actors.balancer.quality import balance_quality, load_shares
from actors.balancer.strategies import STRATEGIES
from actors.messages import OutboxChanged
from runtime.phone import normalize
from storage import conversations, events, masters, metrics, outbox
from storage.codec import text

MAX_TEXT = 4096
CAMPAIGN_PREFIX = b"campaign:"


def _ask_balancer(gw, command: str, then=None, timeout: float = 10.0, **args):
    def answered(reply):
        if reply is None:
            raise CommandError("the balancer did not answer in time; try again")
        if not reply.ok:
            raise CommandError(reply.error, code=reply.code or 1)
        return then(reply.data) if then else reply.data
    return gw.ask_peer("balancer", lambda ref: BalancerCommand(ref, command, args), answered, timeout)


def _poke(gw, reason: str) -> None:
    balancer = gw.peers.get("balancer")
    if balancer is not None:
        gw.send(balancer, OutboxChanged(reason))


def _text(body) -> str:
    body = str(body or "")
    if not body.strip():
        raise CommandError("the message text is empty", code=2)
    if len(body) > MAX_TEXT:
        raise CommandError(f"the message text is {len(body)} characters; at most {MAX_TEXT}", code=2)
    return body


def entry_dict(e: outbox.OutboxEntry) -> dict:
    return {"id": e.id, "to": e.to, "kind": e.kind, "master": e.master, "via": e.via, "state": e.state,
            "attempts": e.attempts, "next_ts": e.next_ts, "last_error": e.last_error,
            "created_ts": e.created_ts, "campaign": e.campaign, "text": e.text}


@handler("send")
def send(gw, to, text_, via=None, wait_s=2.0):
    to = normalize(to)
    body = _text(text_)
    if via:
        via = _known(gw, via).phone
    entry, _ = gw.store.write(lambda txn: outbox.enqueue(txn, to, body, kind="manual", via=via))
    _poke(gw, "send")
    entry_id = entry.id if isinstance(entry, outbox.OutboxEntry) else entry["id"]
    if not wait_s:
        return {"id": entry_id, "state": "queued"}
    return _ask_balancer(gw, "send.watch", id=entry_id, key=getattr(entry, "key", ""),
                         wait_s=min(float(wait_s), 8.0))


@handler("campaign.send")
def campaign_send(gw, name, text_, contacts):
    """Queue `text_` to every contact not yet messaged by campaign `name` (idempotency keys)."""
    body = _text(text_)
    name = str(name or "").strip()
    if not name:
        raise CommandError("a campaign needs a name", code=2)
    phones = [normalize(c) for c in contacts]

    def queue(txn):
        record = txn.get("campaigns", CAMPAIGN_PREFIX + text(name)) or {
            "name": name, "text": body, "created_ts": time.time(), "contacts": 0}
        if record["text"] != body:
            raise CommandError(f"campaign {name!r} exists with another text; choose another --name", code=2)
        queued = skipped = 0
        for phone in phones:
            _, new = outbox.enqueue(txn, phone, body, kind="campaign", key=f"campaign:{name}:{phone}",
                                    campaign=name)
            queued, skipped = queued + new, skipped + (not new)
        record["contacts"] = record["contacts"] + queued
        record["updated_ts"] = time.time()
        txn.put("campaigns", CAMPAIGN_PREFIX + text(name), record)
        events.append(txn, "campaign_queued", None, name=name, queued=queued, skipped=skipped)
        return {"campaign": name, "queued": queued, "already": skipped, "total": record["contacts"]}
    data = gw.store.write(queue)
    _poke(gw, "campaign")
    return data


@handler("campaign.status")
def campaign_status(gw, name=None):
    out = []
    with gw.store.read() as txn:
        for _, record in txn.scan("campaigns", prefix=CAMPAIGN_PREFIX):
            if name and record["name"] != name:
                continue
            sent = pending = dead = 0
            for _, known in txn.scan("outbox_keys", prefix=text(f"campaign:{record['name']}:")):
                if known.get("state") == "delivered":
                    sent += 1
                else:
                    e = outbox.get(txn, known["id"])
                    dead, pending = dead + (e is not None and e.state == "dead"), pending + (
                        e is not None and e.state == "pending")
            out.append({"campaign": record["name"], "contacts": record["contacts"], "sent": sent,
                        "pending": pending, "dead": dead})
    return out


@handler("outbox.list")
def outbox_list(gw, dead=False, limit=500):
    with gw.store.read() as txn:
        entries = [e for e in outbox.all(txn) if (e.state == "dead") == bool(dead)]
    return [entry_dict(e) for e in entries[:int(limit)]]


@handler("outbox.retry")
def outbox_retry(gw, id=None, all_dead=False):  # noqa: A002 - the CLI's word
    if id is None and not all_dead:
        raise CommandError("name an outbox id, or --all-dead", code=2)

    def retry(txn):
        if all_dead:
            ids = [e.id for e in outbox.all(txn) if e.state == "dead"]
        else:
            e = outbox.get(txn, int(id))
            if e is None:
                raise CommandError(f"no outbox entry {id} (delivered, or never queued)")
            if e.state != "dead":
                raise CommandError(f"outbox entry {id} is {e.state}, not dead: it is retried by itself")
            ids = [e.id]
        for entry_id in ids:
            outbox.retry(txn, entry_id)
        return ids
    ids = gw.store.write(retry)
    _poke(gw, "retry")
    return {"retried": ids}


@handler("conversations.list")
def conversations_list(gw, master=None):
    if master:
        master = _known(gw, master).phone
    with gw.store.read() as txn:
        convs = conversations.all(txn, master=master)
    return [{"customer": c.customer, "master": c.master, "messages": c.messages, "last_ts": c.last_ts,
             "handed_from": c.handed_from} for c in convs]


@handler("balancer.strategy")
def balancer_strategy(gw, name):
    if name not in STRATEGIES:
        raise CommandError(f"unknown strategy {name!r}; valid: {', '.join(STRATEGIES)}", code=2)
    return _ask_balancer(gw, "balancer.strategy", name=name)


@handler("load.metrics")
def load_metrics(gw):
    with gw.store.read() as txn:
        records = masters.all(txn)
        handled = {m.phone: metrics.get(txn, f"messages_out:{m.phone}") + metrics.get(txn, f"messages_in:{m.phone}")
                   for m in records}
        owned: dict[str, int] = {}
        for c in conversations.all(txn):
            owned[c.master] = owned.get(c.master, 0) + 1
        depth: dict[str, int] = {}
        dead = 0
        for e in outbox.all(txn):
            if e.state == "dead":
                dead += 1
            else:
                depth[e.master or "unassigned"] = depth.get(e.master or "unassigned", 0) + 1

    def merge(live):
        shares = load_shares(handled)
        rows = [{"master": m.phone, "name": m.name, "load_share": round(shares.get(m.phone, 0.0), 2),
                 "messages": handled.get(m.phone, 0), "conversations": owned.get(m.phone, 0),
                 "queue_depth": depth.get(m.phone, 0), "in_flight": live["in_flight"].get(m.phone, 0),
                 "throughput_per_s": live["throughput_per_s"].get(m.phone, 0.0),
                 "device_state": live["devices"].get(m.phone, m.device_state)} for m in records]
        return {"strategy": live["strategy"], "masters": rows,
                "balance_quality": round(balance_quality(shares.values()), 2),
                "queue_depth": sum(depth.values()), "unassigned": depth.get("unassigned", 0),
                "dead": dead}
    return _ask_balancer(gw, "balancer.status", then=merge)


@handler("failover.run")
def failover_run(gw, phone, to=None):
    phone = _known(gw, phone).phone
    if to:
        to = _known(gw, to).phone
        if to == phone:
            raise CommandError("--to must name another master", code=2)
    return _ask_balancer(gw, "failover.run", phone=phone, to=to, reason="manual failover")


@handler("failover.status")
def failover_status(gw, limit=50):
    with gw.store.read() as txn:
        state = fo.read_state(txn)
        records = masters.all(txn)
        owned: dict[str, int] = {}
        handed: dict[str, int] = {}
        for c in conversations.all(txn):
            owned[c.master] = owned.get(c.master, 0) + 1
            if c.handed_from:
                handed[c.handed_from] = handed.get(c.handed_from, 0) + 1
        history = events.recent(txn, limit=int(limit), kinds=("failover", "failover_restore"))
    paused = set(state.get("gate", {}).get("paused", []))
    down, waiting = set(state.get("down", [])), state.get("waiting", {})
    per_master = [{"master": m.phone, "name": m.name, "device_state": m.device_state, "health": m.health,
                   "failed_over": m.phone in down, "waiting": m.phone in waiting,
                   "auto_failover": "paused" if m.phone in paused else "on",
                   "conversations": owned.get(m.phone, 0), "handed_away": handed.get(m.phone, 0)}
                  for m in records]
    return {"masters": per_master,
            "history": [{"seq": e.seq, "ts": e.ts, "kind": e.kind, "master": e.master, **e.data}
                        for e in history]}


@handler("failover.resume")
def failover_resume(gw, phone):
    return _ask_balancer(gw, "failover.resume", phone=_known(gw, phone).phone)


@handler("failover.restore")
def failover_restore(gw, phone):
    return _ask_balancer(gw, "failover.restore", phone=_known(gw, phone).phone)
