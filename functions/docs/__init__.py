"""The published HTTP contract: the OpenAPI document and a Swagger UI page to read and try it."""
