"""Where the packaged document and Swagger UI files are, and which of them may be served.

The stack copies ``openapi/agora.json`` and the pinned ``swagger-ui-dist`` files into the
function's package under ``docs/assets/`` (see ``stacks/packaging.py``); nothing is fetched
from a CDN at run time.
"""

from __future__ import annotations

from pathlib import Path

# Not resolved: under hot reload this module is a link, and the assets lie beside the link.
ASSETS_DIR = Path(__file__).absolute().parent / "assets"
DOCUMENT = "openapi.json"
# Served as text; the page needs nothing else (its icon is inline).
STATIC = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
}
# name inside the package -> where it comes from in the repository
SOURCES = {
    DOCUMENT: "openapi/agora.json",
    **{name: f"node_modules/swagger-ui-dist/{name}" for name in STATIC},
}
