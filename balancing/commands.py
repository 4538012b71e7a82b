"""The balancing commands: send, campaigns, outbox, conversations, load, strategy, failover.

Each is one function registered with `@command` (commands/registry.py). Those
that only read or queue run in the admin gateway; those only the balancer can
carry out (a failover, its strategy, a restore, watching a send) run in the
balancer, which gets them from the gateway and passes itself as `balancer`.
"""
from __future__ import annotations

import time

from balancing import failover as fo
from balancing import idempotent
from balancing import media as media_rules
from balancing.handover import plan_restore
from balancing.quality import balance_quality, load_shares
from commands.registry import CommandError, Phone, UsageError, command
from masters.lookup import known_master
from runtime.phone import normalize
from runtime.vocabulary import DEAD_DEVICE_STATES, STRATEGIES
from storage import campaigns, conversations, events, masters, metrics, outbox

MAX_TEXT = 4096


def _known(gw, phone: str) -> masters.Master:
    with gw.store.read() as txn:
        return known_master(txn, phone)


def _text(body) -> str:
    body = str(body or "")
    if not body.strip():
        raise CommandError("the message text is empty", code=2)
    if len(body) > MAX_TEXT:
        raise CommandError(f"the message text is {len(body)} characters; at most {MAX_TEXT}", code=2)
    return body


def _body(gw, text_, media) -> tuple[str, dict | None]:
    """(text, media reference): a file's caption may be empty; a reference the gateway
    cannot find in its home, or no longer fits, is refused before anything is queued."""
    if media is None:
        return _text(text_), None
    try:
        return media_rules.caption(text_), media_rules.check_ref(gw.store.home, media)
    except media_rules.MediaError as e:
        raise CommandError(str(e), code=2) from None


def entry_dict(e: outbox.OutboxEntry) -> dict:
    return {"id": e.id, "key": e.key, "to": e.to, "kind": e.kind, "master": e.master, "via": e.via, "state": e.state,
            "attempts": e.attempts, "next_ts": e.next_ts, "last_error": e.last_error,
            "created_ts": e.created_ts, "campaign": e.campaign, "text": e.text, "media": e.media}


@command("send")
def send(gw, to: Phone, text_, via=None, wait_s=2.0, key=None, media=None):
    """Send a message to a customer (through --via, or the master the balancer picks)

    `key` is the request's idempotency key: a retry with the same key is never
    sent twice, it answers the state of the first (balancing/idempotent.py).
    """
    to = normalize(to)
    body, media = _body(gw, text_, media)
    if via:
        via = _known(gw, via).phone
    key = idempotent.send_key(key)
    entry, new = gw.store.write(lambda txn: outbox.enqueue(txn, to, body, kind="manual", via=via, key=key,
                                                           media=media))
    if not new:
        return idempotent.known_state(key, entry, to, body)
    gw.poke_balancer("send")
    queued = idempotent.queued(entry.id, key)
    if not wait_s:
        return queued
    # The balancer answers once it is sent, or with its state after wait_s; a balancer that
    # does not answer (hung, restarting) leaves the message queued, and the answer says so.
    return gw.ask_balancer("send.watch", then=lambda data: {**data, "key": key},
                           on_silence=lambda why: {**queued, "note": why},
                           id=entry.id, key=key, wait_s=min(float(wait_s), 8.0))


def _sent_reply(data) -> str:
    where = f" from {data['master']}" if data.get("master") else ""
    return f"{data['state'].capitalize()}{where} (outbox id {data['id']})."


@command("send.chat", chat="send", usage="!send +CUSTOMER TEXT", reply=_sent_reply)
def send_chat(gw, to: Phone, text):
    """Send TEXT to a customer from the master the balancer picks (as `whitecaves send`)"""
    return send(gw, to, text, wait_s=0)


@command("campaign.send")
def campaign_send(gw, name, text_, contacts, media=None):
    """Queue a text to every contact not yet messaged by the campaign `name` (idempotency keys)

    With `media`, every entry references the one file stored in the home."""
    body, media = _body(gw, text_, media)
    name = str(name or "").strip()
    if not name:
        raise CommandError("a campaign needs a name", code=2)
    phones = [normalize(c) for c in contacts]

    def queue(txn):
        record = campaigns.get(txn, name) or campaigns.Campaign(name=name, text=body)
        if record.text != body:
            raise CommandError(f"campaign {name!r} exists with another text; choose another --name", code=2)
        queued = skipped = 0
        for phone in phones:
            _, new = outbox.enqueue(txn, phone, body, kind="campaign", key=f"campaign:{name}:{phone}",
                                    campaign=name, media=media)
            queued, skipped = queued + new, skipped + (not new)
        record.contacts += queued
        record.updated_ts = time.time()
        campaigns.put(txn, record)
        events.append(txn, "campaign_queued", None, name=name, queued=queued, skipped=skipped)
        return {"campaign": name, "queued": queued, "already": skipped, "total": record.contacts}
    data = gw.store.write(queue)
    gw.poke_balancer("campaign")
    return data


@command("campaign.status")
def campaign_status(gw, name=None):
    """Each campaign: contacts, sent, pending, dead"""
    out = []
    with gw.store.read() as txn:   # counters kept with each delivery (storage/campaigns.py): no scan
        for record in campaigns.all(txn):
            if name and record.name != name:
                continue
            out.append({"campaign": record.name, "contacts": record.contacts, "sent": record.sent,
                        "pending": max(0, record.contacts - record.sent - record.dead), "dead": record.dead})
    return out


@command("outbox.list")
def outbox_list(gw, dead=False, limit=500):
    """The outbox: pending entries, or the dead letters"""
    with gw.store.read() as txn:
        entries = [e for e in outbox.all(txn) if (e.state == "dead") == bool(dead)]
    return [entry_dict(e) for e in entries[:int(limit)]]


@command("outbox.retry")
def outbox_retry(gw, id=None, all_dead=False):  # noqa: A002 - the CLI's word
    """Send a dead letter again (or all of them)"""
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
    gw.poke_balancer("retry")
    return {"retried": ids}


@command("conversations.list")
def conversations_list(gw, master=None):
    """Conversations and the master that owns each"""
    if master:
        master = _known(gw, master).phone
    with gw.store.read() as txn:
        convs = conversations.all(txn, master=master)
    return [{"customer": c.customer, "master": c.master, "messages": c.messages, "last_ts": c.last_ts,
             "handed_from": c.handed_from} for c in convs]


def _load_reply(data) -> str:
    lines = [f"Balance quality {data['balance_quality']:.0f}/100, strategy {data['strategy']}, "
             f"queue {data['queue_depth']}"]
    for m in data["masters"]:
        lines.append(f"{m['master']} {m['name']}: share {m['load_share']:.0f}%, "
                     f"{m['conversations']} conversations, queue {m['queue_depth']}")
    return "\n".join(lines)


@command("load.metrics", chat="load", reply=_load_reply, ack="Measuring the load…")
def load_metrics(gw):
    """Load share and queue per master"""
    with gw.store.read() as txn:
        records = masters.all(txn)
        handled = {m.phone: metrics.get(txn, f"messages_out:{m.phone}") + metrics.get(txn, f"messages_in:{m.phone}")
                   for m in records}
        owned = conversations.count_by_master(txn)
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
    return gw.ask_balancer("balancer.status", then=merge)


@command("failover.status")
def failover_status(gw, limit=50):
    """Each master's failover state, and the latest failovers"""
    with gw.store.read() as txn:
        state = fo.read_state(txn)
        records = masters.all(txn)
        owned = conversations.count_by_master(txn)
        handed: dict[str, int] = {}
        for c in conversations.all(txn):
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


# --- run in the balancer ----------------------------------------------------------------

def _check_strategy(txn, name):
    if name not in STRATEGIES:
        raise UsageError(f"unknown strategy {name!r}; valid: {', '.join(STRATEGIES)}")


@command("balancer.strategy", runs_in="balancer", check=_check_strategy)
def balancer_strategy(balancer, name):
    """Choose how outbound messages are spread over the masters"""
    return balancer.set_strategy(name)


@command("balancer.status", runs_in="balancer")
def balancer_status(balancer):
    """The balancer's live view: strategy, in flight, throughput, failovers under way"""
    return balancer.status()


@command("send.watch", runs_in="balancer")
def send_watch(balancer, id, key="", wait_s=2.0):  # noqa: A002 - the outbox's word
    """Answer once an outbox entry is sent, or after `wait_s` with its state"""
    return balancer.watch_send(int(id), key, float(wait_s))


def _check_handover(txn, phone, to=None):
    for p in (phone, to):
        if p is not None:
            try:
                known_master(txn, p)
            except CommandError as e:
                raise UsageError(str(e)) from None
    if to is not None and normalize(to) == normalize(phone):
        raise UsageError("a master cannot hand over to itself")


def _handover_ack(args) -> str:
    to = args.get("to")
    return f"Handing over {args['phone']}'s conversations{f' to {to}' if to else ''}…"


def _handover_reply(data) -> str:
    targets = ", ".join(f"{n} to {t}" for t, n in data.get("targets", {}).items()) or "none moved"
    text = f"Handover of {data['failed']}: {data['status']}, {data['moved']} conversations ({targets})"
    return text + (f"; {data['error']}" if data.get("error") else "")


@command("failover.run", runs_in="balancer", chat="handover", usage="!handover +FROM [+TO]",
         reply=_handover_reply, ack=_handover_ack, check=_check_handover)
def failover_run(balancer, phone: Phone, to: Phone | None = None):
    """Move a master's conversations to other masters"""
    phone, to = normalize(phone), normalize(to) if to else None
    result = balancer.failover(phone, "manual failover", automatic=False, to=to)
    if result is None:
        raise CommandError(f"a failover of {phone} is already running; try again in a moment")
    return result.as_dict()


def _check_master(txn, phone):
    known_master(txn, phone)


@command("failover.resume", runs_in="balancer", check=_check_master)
def failover_resume(balancer, phone: Phone):
    """Turn a master's automatic failover back on (after it paused)"""
    return balancer.resume_failover(normalize(phone))


@command("failover.restore", runs_in="balancer", check=_check_master)
def failover_restore(balancer, phone: Phone):
    """Move the conversations a failover took from a master back to it, in batches"""
    return balancer.restore(normalize(phone))
