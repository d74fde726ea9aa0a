"""Lambda entry points of the payments service: parse, call one use case, map the result."""
