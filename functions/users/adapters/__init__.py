"""The only code of the users service that talks to databases, caches and AWS APIs."""
