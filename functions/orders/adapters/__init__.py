"""The only code of the orders service that talks to databases, caches and AWS APIs."""
