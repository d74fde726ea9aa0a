"""Create the admin account.  ``python -m users.seed``

The credentials come from Secrets Manager (``AGORA_ADMIN_SECRET_ARN``, a JSON
``{"email", "password"}``) or, in development, from ``AGORA_ADMIN_EMAIL`` and
``AGORA_ADMIN_PASSWORD``.  Running it again changes nothing.  It never promotes an
account that already holds the email: that fails, naming the account.
"""

from __future__ import annotations

import os
import sys

from users.adapters.wiring import context
from users.service import accounts
from users.settings import users_settings


def admin_credentials() -> tuple[str, str]:
    arn = users_settings().admin_secret_arn
    if arn:
        from agora.secrets import secret_json

        secret = secret_json(arn)
        return secret["email"], secret["password"]
    email, password = os.environ.get("AGORA_ADMIN_EMAIL"), os.environ.get("AGORA_ADMIN_PASSWORD")
    if not (email and password):
        raise SystemExit("set AGORA_ADMIN_SECRET_ARN, or AGORA_ADMIN_EMAIL and AGORA_ADMIN_PASSWORD")
    return email, password


def main() -> int:
    email, password = admin_credentials()
    try:
        admin = accounts.ensure_admin(context(), email, password)
    except accounts.AdminEmailTaken as taken:
        print(f"admin seed refused: {taken}", file=sys.stderr)
        return 1
    print(f"admin account ready: {admin.email} ({admin.id})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
