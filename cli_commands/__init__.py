"""The `whitecaves` command groups, one module each; cli.py assembles them."""
