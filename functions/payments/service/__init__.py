"""Use cases of the payments service, each one transaction behind a unit of work."""
