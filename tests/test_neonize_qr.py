"""What `whitecaves link master` shows: the QR code in the terminal and as a PNG, and the
pairing code with its steps (runtime/qr.py). Pure: no daemon, no neonize.

The drawings are read back module by module and compared with the QR code segno makes
for the same data, so a drawing that could not be scanned fails here.
"""
from __future__ import annotations

import segno
from click.testing import CliRunner
from PIL import Image

from runtime import qr

# Shaped like whatsmeow's: ref, noise key, identity key, adv secret.
DATA = ("2@Yb1vWSn0rZyQm3VhUj9lq+8pTtYJ0aQk1NwW2kQ8Gx6rLm5n0pVxEoA==,"
        "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/abcd=,ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210+/zyxw=,"
        "q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c=")


def modules(data: str) -> list[list[bool]]:
    return [[bool(v) for v in row] for row in segno.make_qr(data, error="l").matrix]


def test_the_terminal_drawing_is_the_qr_code():
    want = modules(DATA)
    lines = qr.render_terminal(DATA).splitlines()
    border = 2
    # Two module rows per line: upper half block = top dark, lower = bottom dark (inverted:
    # the terminal's light-on-dark), full block = both light.
    got = []
    for line in lines:
        top, bottom = [], []
        for ch in line:
            top.append(ch in " ▄")      # dark module: no ink drawn at the top
            bottom.append(ch in " ▀")
        got += [top, bottom]
    size = len(want)
    got = [row[border:border + size] for row in got[border:border + size]]
    assert got == want


def test_the_png_is_the_qr_code_scaled(tmp_path):
    path = qr.save_png(DATA, str(tmp_path / "run" / "qr-+971505760056.png"))
    want = modules(DATA)
    image = Image.open(path).convert("L")
    scale, border = 8, 4
    assert image.size == ((len(want) + 2 * border) * scale,) * 2
    got = [[image.getpixel(((x + border) * scale + scale // 2, (y + border) * scale + scale // 2)) < 128
            for x in range(len(want))] for y in range(len(want))]
    assert got == want


def test_show_qr_prints_the_steps_and_where_the_png_is(tmp_path):
    import click

    png = str(tmp_path / "qr.png")
    result = CliRunner().invoke(click.command()(lambda: qr.show_qr(DATA, png, "+971505760056")))
    assert result.exit_code == 0, result.output
    assert "On the phone of +971505760056" in result.output and "Linked devices" in result.output
    assert f"saved as {png}" in result.output and Image.open(png).format == "PNG"


def test_show_qr_still_draws_when_the_png_cannot_be_written(tmp_path):
    import click

    blocker = tmp_path / "file"
    blocker.write_text("")
    result = CliRunner().invoke(click.command()(lambda: qr.show_qr(DATA, str(blocker / "qr.png"))))
    assert result.exit_code == 0 and "could not save the QR code as PNG" in result.output
    assert "█" in result.output


def test_the_pairing_code_comes_with_the_steps_to_type_it():
    import click

    result = CliRunner().invoke(click.command()(lambda: qr.show_code("ABCD-1234", "+971505760056")))
    out = result.output
    assert "type this code: ABCD-1234" in out and "Link with phone number instead" in out
    assert "+971505760056" in out
