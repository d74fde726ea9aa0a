"""``make bench``: cold starts always; gateway latency, read consistency and the calls of one checkout
when ``make dev`` answers.

``python -m bench --runs N`` passes ``--runs`` on to the cold-start benchmark.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.request
from pathlib import Path

from bench import checkout_counts, cold_start, consistency, gateway_latency

ROOT = Path(__file__).resolve().parent.parent


def dev_system_url() -> str | None:
    state = Path(os.environ.get("AGORA_LOCAL_DIR", ROOT / ".local"))
    url_file = state / "api-url"
    if not url_file.exists():
        return None
    url = url_file.read_text().strip()
    try:
        with urllib.request.urlopen(f"{url}/api/users/health", timeout=5) as answer:  # noqa: S310
            return url if answer.status == 200 else None
    except OSError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument(
        "--runs", type=int, help=f"cold-start samples per function and floor (default {cold_start.RUNS})"
    )
    args = parser.parse_args(argv)
    cold_start.main([] if args.runs is None else ["--runs", str(args.runs)])
    if dev_system_url():
        sys.argv = [sys.argv[0]]
        gateway_latency.main()
        consistency.main([])
        checkout_counts.main([])
    else:
        print(
            "gateway latency, consistency and checkout counts: skipped, no running system "
            "(start one with `make dev`)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
