"""Every service answers through API Gateway in the seed's shape; gateway errors are problem+json."""

from __future__ import annotations

from datetime import datetime

import pytest

SERVICES = ("users", "products", "orders", "payments")


@pytest.mark.parametrize("service", SERVICES)
def test_health_through_the_gateway(api_url, http, service):
    response = http.get(
        f"{api_url}/api/{service}/health", headers={"X-Request-ID": f"e2e-{service}"}, timeout=30
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "service", "timestamp", "version"}
    assert body["status"] == "healthy"
    assert body["service"] == f"{service}-service"
    assert datetime.fromisoformat(body["timestamp"]).utcoffset().total_seconds() == 0
    assert response.headers["X-Request-ID"] == f"e2e-{service}"


def test_a_request_without_an_id_gets_one(api_url, http):
    response = http.get(f"{api_url}/api/users/health", timeout=30)
    assert response.status_code == 200
    assert response.headers.get("X-Request-ID")


def test_a_wrong_method_is_refused_by_the_function_not_served(api_url, http):
    """DELETE /api/users/health is DELETE /api/users/{id}: that function answers (it wants a token, and
    its problem names the path), and the health check is not served."""
    response = http.delete(f"{api_url}/api/users/health", timeout=30)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert (body["code"], body["instance"]) == ("MISSING_TOKEN", "/api/users/health")
    assert "healthy" not in response.text


def test_a_method_no_route_has_is_refused_by_the_gateway(api_url, http):
    """PATCH is declared nowhere: API Gateway answers with its own problem, which names no instance."""
    response = http.patch(f"{api_url}/api/users/health", timeout=30)
    assert response.status_code == 404
    body = response.json()
    assert (body["code"], body["title"]) == ("NOT_FOUND", "No such route") and "instance" not in body
