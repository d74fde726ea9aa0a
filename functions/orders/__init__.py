"""The orders service: domain rules, use cases, adapters and thin Lambda handlers."""
