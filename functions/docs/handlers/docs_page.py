"""GET /api/docs: Swagger UI over /api/openapi.json, with its script and stylesheet served by the API."""

from __future__ import annotations

from fastapi.responses import HTMLResponse

from agora.http import OperationApi

api = OperationApi.declared("docs", "docs_page")

# Relative URLs: the page works under any stage prefix (``/api/docs`` -> ``/api/docs/<asset>``).
PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Agora API</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({url: "openapi.json", dom_id: "#swagger-ui", deepLinking: true});
  </script>
</body>
</html>
"""


@api.endpoint(response_model=None, response_class=HTMLResponse)
def docs_page() -> HTMLResponse:
    return HTMLResponse(PAGE, headers={"Cache-Control": "public, max-age=300"})


handler = api.handler
