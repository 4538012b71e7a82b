"""Show pairing QR data in the terminal and save it as PNG (needs the `qrcode` package)."""
from __future__ import annotations

import click


def show_qr(data: str, png_path: str) -> None:
    try:
        import qrcode
    except ImportError:
        click.echo(f"QR data (install 'qrcode' to see it drawn): {data}")
        return
    qr = qrcode.QRCode(border=1)
    qr.add_data(data)
    qr.make(fit=True)
    qr.print_ascii(invert=True)
    try:
        qr.make_image().save(png_path)
        click.echo(f"QR also saved as {png_path}")
    except Exception as e:  # PNG needs pypng or pillow; the terminal QR is enough to scan
        click.echo(f"(could not save the QR as PNG: {e})")
