"""Fuzz the published contract (openapi/agora.json) against the running dev system with Schemathesis.

    python -m tools.dev.fuzz                      # after 'make dev': a random seed, printed
    python -m tools.dev.fuzz --seed 123           # replay a run
    python -m tools.dev.fuzz --examples 50 --max-time 900 --operation /api/orders

Reads the API URL from the state dir that ``tools.dev.stack up`` wrote (``AGORA_LOCAL_DIR``,
default ``.local``) and makes an admin of its own with the users service's seed, which it deletes
again at the end with everything else it made.  Exits 1 when any answer breaks the contract.
Regenerate the document first (``make openapi``) to fuzz what the code declares now.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from pathlib import Path

from tools.dev import fuzzing
from tools.dev.stack import running_dev


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.dev.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=None, help="replay the run with this seed")
    parser.add_argument(
        "--examples", type=int, default=40, help="generated requests per operation, caller and mode"
    )
    parser.add_argument(
        "--max-time", type=float, default=600, help="seconds before no new operation is started"
    )
    parser.add_argument(
        "--operation", default=None, help="only operations whose 'METHOD /path' contains this"
    )
    parser.add_argument(
        "--document", type=Path, default=fuzzing.DOCUMENT, help="the OpenAPI document to fuzz"
    )
    args = parser.parse_args(argv)

    paths = running_dev()
    if paths is None:
        return 2
    run_seed = args.seed if args.seed is not None else secrets.randbits(64)
    print(f"==> fuzzing {args.document.name} with seed {run_seed} (replay: --seed {run_seed})", flush=True)
    admin_email, admin_password = fuzzing.seed_admin(paths.state)
    report = fuzzing.fuzz(
        paths.api_url.read_text().strip(),
        admin_email,
        admin_password,
        run_seed=run_seed,
        examples=args.examples,
        max_time_s=args.max_time,
        document=args.document,
        only=args.operation,
        progress=lambda line: print(line, flush=True),
    )
    print(report.text(), flush=True)
    return 1 if report.findings else 0


if __name__ == "__main__":
    sys.exit(main())
