"""The only code of the products service that talks to databases, caches and AWS APIs."""
