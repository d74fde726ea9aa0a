"""Serve the console for the running dev system.

    python -m tools.console [--port 4580] [--verbose]

Reads the state dir ``tools.dev.stack up`` wrote (``AGORA_LOCAL_DIR``, default ``.local``) and
LocalStack at ``LOCALSTACK_PORT`` (4566), as the other dev tools do.
"""

from __future__ import annotations

import argparse
import sys

from tools.console.server import ConsoleServer
from tools.console.sources import Sources
from tools.console.traces import Catalog
from tools.dev.stack import STAGE, boto, endpoint, running_dev

DEFAULT_PORT = 4580


def catalog() -> Catalog:
    from agora.operations import load_all

    return Catalog.of(STAGE, ((s.name, s.route_prefixes) for s in load_all()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.console", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port on 127.0.0.1 (default {DEFAULT_PORT})"
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    paths = running_dev()
    if paths is None:
        return 2
    sources = Sources(paths.state, STAGE, catalog(), boto)
    try:
        server = ConsoleServer(args.port, sources, verbose=args.verbose)
    except OSError as exc:
        print(f"error: cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        return 1
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    print(f"Agora console: {url}  (LocalStack {endpoint()}; Ctrl-C stops it)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
