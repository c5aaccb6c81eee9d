"""
The peer scripts' command lines (seed_ingest.py, seed_consume.py, cryptofeed_kafka.py): settings as
`--name value` options, strings required, integers with a default, the way bench/peers.ts passes them.
Standard library only.
"""
import argparse


def parse_args(required: tuple[str, ...], defaults: dict[str, int] | None = None) -> argparse.Namespace:
    """
    Parses sys.argv: each name of `required` is a mandatory string option `--name`, each entry of
    `defaults` an integer option with that default. Attributes use underscores (`--ws-url` → ws_url);
    a missing or unknown option exits with argparse's usage message (status 2).
    """
    p = argparse.ArgumentParser()
    for name in required:
        p.add_argument(f'--{name}', required=True)
    for name, default in (defaults or {}).items():
        p.add_argument(f'--{name}', type=int, default=default)
    return p.parse_args()
