"""Use cases of the users service, each one transaction behind a unit of work."""
