"""make dev seeds the admin right after the deploy, before the API is announced or waited for."""

from __future__ import annotations

from types import SimpleNamespace

from tools.dev import stack


def test_up_seeds_before_it_writes_waits_for_or_prints_the_api_url(tmp_path, monkeypatch, capsys):
    steps: list[str] = []
    server = SimpleNamespace(url="postgresql://dev")
    monkeypatch.setattr(stack.backing, "ensure_postgres", lambda state: server)
    monkeypatch.setattr(stack.backing, "ensure_redis", lambda state: SimpleNamespace(url="redis://dev"))
    monkeypatch.setattr(stack, "ctl", lambda command, state: steps.append(f"localstack {command}"))
    monkeypatch.setattr(stack, "deploy", lambda state, db, redis: steps.append("deploy"))
    monkeypatch.setattr(stack, "seed", lambda state: steps.append("seed"))

    def wait_for_api(url):
        steps.append("wait_for_api")
        return 0.0

    monkeypatch.setattr(stack, "wait_for_api", wait_for_api)
    original_write = stack.Path.write_text

    def write_text(path, text, *args, **kwargs):
        if path.name == "api-url":
            steps.append("api-url")
        return original_write(path, text, *args, **kwargs)

    monkeypatch.setattr(stack.Path, "write_text", write_text)
    stack.up(tmp_path)
    assert steps.index("seed") == steps.index("deploy") + 1
    assert steps.index("seed") < steps.index("api-url") < steps.index("wait_for_api")
    assert "Agora is running" in capsys.readouterr().out
