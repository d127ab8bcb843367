"""/docs is served whole by the app: its page names only local URLs, and each of them answers
(Swagger UI's script and stylesheet from the pinned fastapi-swagger wheel). The browser test
(tests/browser/test_docs.py) shows it renders with every outside request refused."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from store.settings import StoreSettings

#: Every URL an HTML page can make a browser load: attributes, and the `url:` Swagger UI reads.
_REFERENCES = re.compile(r"""(?:src|href)\s*=\s*["']([^"']*)["']|\burl:\s*["']([^"']*)["']""")


def _client() -> TestClient:
    # Outside its lifespan: /docs and its files need no database (the URL is never used).
    app = create_app(ApiSettings(), StoreSettings(url="postgresql://nobody@127.0.0.1:1/none"))
    return TestClient(app)


def test_docs_refers_only_to_local_urls_and_each_of_them_answers() -> None:
    client = _client()
    page = client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    references = [a or b for a, b in _REFERENCES.findall(page.text)]
    assert len(references) >= 4, page.text  # stylesheet, icon, script, schema
    for url in references:
        assert url.startswith("/") and not url.startswith("//"), url
    assert "http:" not in page.text and "https:" not in page.text, page.text
    types = {url: client.get(url).headers.get("content-type", "") for url in references}
    assert all(client.get(url).status_code == 200 for url in references), types
    assert types["/openapi.json"].startswith("application/json"), types
    assert any(t.startswith("text/javascript") for t in types.values()), types
    assert any(t.startswith("text/css") for t in types.values()), types


def test_the_script_is_swagger_ui_itself() -> None:
    script = _client().get("/docs/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.text
    assert _client().get("/docs/anything-else.js").status_code == 404
