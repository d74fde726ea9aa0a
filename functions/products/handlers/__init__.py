"""Lambda entry points of the products service: parse, call one use case, map the result."""
