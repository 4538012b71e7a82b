"""What `whitecaves link master` shows while a phone links: the QR code (in the terminal
and as a PNG under the daemon's home) or the pairing code with the steps to type it.

Drawn with segno (pure Python, already installed as a dependency of neonize; it writes PNG
without Pillow). Importing segno does not import neonize.
"""
from __future__ import annotations

import io
import os

import click

QR_STEPS = ("On the phone of {phone}: open WhatsApp → Settings (or ⋮) → Linked devices → "
            "Link a device, and scan this code. A new code replaces it every 20 s or so.")
CODE_STEPS = """\
On the phone of {phone}:
  1. open WhatsApp → Settings (or ⋮) → Linked devices → Link a device
  2. tap "Link with phone number instead"
  3. type this code: {code}
The code is valid for a few minutes; nothing needs to be scanned."""


def render_terminal(data: str) -> str:
    """The QR code drawn with block characters, two rows a line (fits an 80×40 terminal)."""
    import segno
    out = io.StringIO()
    segno.make_qr(data, error="l").terminal(out=out, compact=True, border=2)
    return out.getvalue()


def save_png(data: str, path: str) -> str:
    """Write the QR code as a PNG (scale 8: readable from a screen); return the path."""
    import segno
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    segno.make_qr(data, error="l").save(path, kind="png", scale=8, border=4)
    return path


def show_qr(data: str, png_path: str, phone: str = "") -> None:
    click.echo(QR_STEPS.format(phone=phone or "the master"))
    click.echo(render_terminal(data), nl=False)
    try:
        click.echo(f"QR code also saved as {save_png(data, png_path)}")
    except OSError as e:  # the terminal QR is enough to scan
        click.echo(f"(could not save the QR code as PNG: {e})")


def show_code(code: str, phone: str) -> None:
    click.echo(CODE_STEPS.format(phone=phone, code=code))
