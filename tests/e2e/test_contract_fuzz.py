"""The published contract, fuzzed: every operation of openapi/agora.json against the deployed stack.

Schemathesis generates valid and invalid requests for each operation (secured ones as a user and as
an admin, public ones without a token) and checks every answer against the document: no 5xx, a
documented status, content type, body and headers, and a 4xx for what the document forbids.  The
seed is fixed, so a red run replays against ``make dev`` with ``python -m tools.dev.fuzz --seed``;
``make fuzz`` runs the same code with a random seed and more examples (``tools/dev/fuzzing.py``).

It runs last (``conftest.py``): it makes accounts, products and orders of its own and spends a few
of the client IP's failed logins, none of which another test may see.
"""

from __future__ import annotations

import os
from pathlib import Path

from tools.dev import fuzzing

SEED = 20261124
# Per operation, caller and mode: about 1,200 requests over the document's operations.
EXAMPLES = 12
MIN_REQUESTS = 1000
# No operation is started after this; pytest-timeout ends any test at 300 s.
MAX_TIME_S = 200


def test_every_operation_answers_as_the_published_contract_says(api_url):
    admin_email, admin_password = fuzzing.seed_admin(Path(os.environ.get("AGORA_LOCAL_DIR", ".local")))
    report = fuzzing.fuzz(
        api_url, admin_email, admin_password, run_seed=SEED, examples=EXAMPLES, max_time_s=MAX_TIME_S
    )
    print(report.text())

    documented = {operation.label for operation in fuzzing.operations(fuzzing.load())}
    problems = []
    if report.findings:
        problems.append(f"{len(report.findings)} kinds of answers break the contract")
    if missing := sorted(documented - set(report.statuses)):
        problems.append(f"operations never called: {', '.join(missing)}")
    if report.requests < MIN_REQUESTS:
        problems.append(f"only {report.requests} generated requests, fewer than {MIN_REQUESTS}")
    assert not problems, "; ".join(problems) + "\n" + report.text()
