"""Lambda entry points of the orders service: parse, call one use case, map the result."""
