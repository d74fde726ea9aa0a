"""The only code of the payments service that talks to databases, caches and AWS APIs."""
