"""Lambda entry points of the users service: parse, call one use case, map the result."""
