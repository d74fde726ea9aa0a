"""One LocalStack for the whole session, started and stopped through ctl.py.

It runs on a free port with its own throw-away state directory, but reuses the
venvs of the default state (``<repo>/.local/localstack``) so a session does not
reinstall LocalStack; ``ctl.py start`` installs them there first if needed.
"""

from collections.abc import Callable, Iterator

import pytest
from localstack_harness import LocalStack, poll, processes_with_marker, run_ctl, zip_bytes


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "localstack: starts LocalStack through tools/localstack/ctl.py")


@pytest.fixture(scope="session")
def localstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    instance = LocalStack.start(tmp_path_factory.mktemp("agora-local"))
    yield instance
    result = run_ctl(instance.env, "stop")
    assert result.returncode == 0, result.stderr
    assert processes_with_marker(instance.state) == []


@pytest.fixture(scope="session")
def make_function(localstack: LocalStack) -> Callable[..., str]:
    return localstack.create_function


@pytest.fixture(scope="session")
def invoke(localstack: LocalStack) -> Callable[..., dict]:
    return localstack.invoke


@pytest.fixture(scope="session")
def publish_layer(localstack: LocalStack) -> Callable[[str, dict[str, str]], str]:
    """Publishes a python3.13 layer from ``{path in zip: content}``; returns its version ARN."""
    lambda_client = localstack.client("lambda")

    def publish(name: str, files: dict[str, str]) -> str:
        return lambda_client.publish_layer_version(
            LayerName=name, Content={"ZipFile": zip_bytes(files)}, CompatibleRuntimes=["python3.13"]
        )["LayerVersionArn"]

    return publish


@pytest.fixture(scope="session")
def wait_for() -> Callable[..., object]:
    return poll
