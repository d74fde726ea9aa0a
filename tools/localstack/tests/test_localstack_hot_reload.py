"""Hot reload: functions whose code is a host directory (``S3Bucket="hot-reload"``).

The signature and caching logic is tested on its own first (no LocalStack),
then end to end against the session's LocalStack.
"""

import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from localstack_harness import HOT_RELOAD_BUCKET, ROLE, ROLE_ARN, deploy, outputs

PLUGIN_ROOT = Path(__file__).resolve().parents[1] / "plugin"
sys.path.insert(0, str(PLUGIN_ROOT))
sys.path.insert(0, str(PLUGIN_ROOT / "agora_localstack" / "lambda_runtime"))

from agora_lambda_runtime import sourceonly  # noqa: E402
from agora_localstack.executor import code_watch  # noqa: E402

# A deadline for an edit to show, far above what it takes (one scan interval plus a cold start).
RELOAD_DEADLINE_SECONDS = 2.0


def edit(path: Path, text: str) -> None:
    """Rewrites ``path`` (through symlinks) so that the change shows in (mtime_ns, size).

    Rewriting a file with text of the same size within one tick of the kernel's
    file time clock (a few ms) leaves both unchanged; that is all the waiting done.
    """
    before = path.stat()
    path.write_text(text)
    while (after := path.stat()).st_size == before.st_size and after.st_mtime_ns == before.st_mtime_ns:
        time.sleep(0.005)
        path.write_text(text)


# --- code_watch, no LocalStack -----------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "code"
    (root / "pkg").mkdir(parents=True)
    (root / "app.py").write_text("A = 1\n")
    (root / "pkg" / "mod.py").write_text("B = 2\n")
    for skipped in ("__pycache__", ".git", "pkg/__pycache__"):
        (root / skipped).mkdir()
        (root / skipped / "ignored.pyc").write_text("x")
    outside = tmp_path / "outside"
    (outside / "shared").mkdir(parents=True)
    (outside / "shared" / "lib.py").write_text("C = 3\n")
    (outside / "settings.py").write_text("D = 4\n")
    (root / "shared").symlink_to(outside / "shared", target_is_directory=True)
    (root / "settings.py").symlink_to(outside / "settings.py")
    (root / "dangling.py").symlink_to(tmp_path / "missing.py")
    return root


def paths(signature: code_watch.Signature) -> set[str]:
    return {path for path, _, _ in signature}


def test_signature_lists_regular_files_following_symlinks_and_skips_caches(tree: Path):
    signature = code_watch.tree_signature(str(tree))
    assert paths(signature) == {"app.py", "pkg/mod.py", "shared/lib.py", "settings.py"}
    assert ("app.py", (tree / "app.py").stat().st_mtime_ns, 6) in signature


@pytest.mark.parametrize(
    "change",
    [
        lambda root: edit(root / "app.py", "A = 9\n"),
        lambda root: edit(root / "shared" / "lib.py", "C = 33\n"),
        lambda root: edit(root / "settings.py", "D = 44\n"),
        lambda root: (root / "pkg" / "new.py").write_text(""),
        lambda root: (root / "pkg" / "mod.py").unlink(),
        lambda root: (root / "shared" / "lib.py").rename(root / "shared" / "lib2.py"),
    ],
    ids=["edit", "edit-through-dir-link", "edit-through-file-link", "add", "delete", "rename"],
)
def test_signature_changes_with_the_code(tree: Path, change: Callable[[Path], object]):
    before = code_watch.tree_signature(str(tree))
    change(tree)
    assert code_watch.tree_signature(str(tree)) != before


def test_signature_ignores_bytecode_caches_and_dot_directories(tree: Path):
    before = code_watch.tree_signature(str(tree))
    (tree / "pkg" / "__pycache__" / "mod.cpython-313.pyc").write_text("x")
    (tree / ".git" / "index").write_text("x")
    assert code_watch.tree_signature(str(tree)) == before


def test_symlink_cycles_are_walked_once(tree: Path):
    (tree / "pkg" / "loop").symlink_to(tree, target_is_directory=True)
    assert paths(code_watch.tree_signature(str(tree))) == {
        "app.py",
        "pkg/mod.py",
        "shared/lib.py",
        "settings.py",
    }


def test_missing_root_has_an_empty_signature(tmp_path: Path):
    assert code_watch.tree_signature(str(tmp_path / "missing")) == frozenset()


def test_watch_is_shared_per_directory_and_rescans_after_the_interval(tree: Path, monkeypatch):
    monkeypatch.setattr(code_watch, "SCAN_INTERVAL_SECONDS", 60.0)
    watch = code_watch.watch(str(tree))
    assert code_watch.watch(str(tree)) is watch
    before = watch.signature()
    edit(tree / "app.py", "A = 9\n")
    assert watch.signature() == before  # cached
    monkeypatch.setattr(code_watch, "SCAN_INTERVAL_SECONDS", 0.0)
    assert watch.signature() == code_watch.tree_signature(str(tree)) != before


def test_concurrent_callers_share_one_scan(tree: Path, monkeypatch):
    scans = []

    def slow_scan(root: str) -> code_watch.Signature:
        scans.append(root)
        time.sleep(0.05)
        return frozenset()

    monkeypatch.setattr(code_watch, "tree_signature", slow_scan)
    monkeypatch.setattr(code_watch, "SCAN_INTERVAL_SECONDS", 60.0)
    watch = code_watch.TreeWatch(str(tree))
    threads = [threading.Thread(target=watch.signature) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert scans == [str(tree)]


def test_hot_reload_modules_are_compiled_from_source_without_a_cache(tmp_path: Path, monkeypatch):
    code, other = tmp_path / "code", tmp_path / "other"
    (code / "probe_pkg").mkdir(parents=True)
    other.mkdir()
    (code / "probe_pkg" / "probe_hot.py").write_text("VALUE = 1\n")
    (other / "probe_cold.py").write_text("VALUE = 1\n")
    monkeypatch.setattr(sys, "path_hooks", list(sys.path_hooks))
    monkeypatch.setattr(sys, "path_importer_cache", {})
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.syspath_prepend(str(other))
    monkeypatch.syspath_prepend(str(code))
    sourceonly.install([str(code)])

    import probe_cold
    import probe_pkg.probe_hot

    assert isinstance(probe_pkg.probe_hot.__loader__, sourceonly.SourceOnlyLoader)
    assert not isinstance(probe_cold.__loader__, sourceonly.SourceOnlyLoader)
    assert not (code / "probe_pkg" / "__pycache__").exists()
    assert (other / "__pycache__").exists()

    # Same size, same second: a bytecode cache would still answer 1.
    (code / "probe_pkg" / "probe_hot.py").write_text("VALUE = 2\n")
    del sys.modules["probe_pkg.probe_hot"]
    import probe_pkg.probe_hot

    assert probe_pkg.probe_hot.VALUE == 2
    for name in ("probe_pkg", "probe_pkg.probe_hot", "probe_cold"):
        del sys.modules[name]


# --- against LocalStack --------------------------------------------------------

HANDLER = """
import os, sys
{imports}

def handler(event, context):
    return {{"answer": {answer}, "pid": os.getpid(), "cwd": os.getcwd(),
            "task_root": os.environ["LAMBDA_TASK_ROOT"], "sys_path_0": sys.path[0]}}
"""


def write_handler(directory: Path, answer: str, imports: str = "") -> None:
    source = HANDLER.format(answer=answer, imports=imports)
    path = directory / "app.py"
    if path.exists():
        edit(path, source)
    else:
        path.write_text(source)


def answer_after_reload(invoke: Callable[..., dict], name: str, expected: object) -> dict:
    """Invokes until the answer is ``expected``; fails if that takes RELOAD_DEADLINE_SECONDS."""
    started = time.monotonic()
    while True:
        result = invoke(name)
        assert result["error"] is None, result
        if result["payload"]["answer"] == expected:
            return result["payload"]
        assert time.monotonic() - started < RELOAD_DEADLINE_SECONDS, result["payload"]
        time.sleep(0.02)


@pytest.fixture
def hot_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "function"
    directory.mkdir()
    return directory


@pytest.mark.localstack
def test_function_runs_from_the_hot_reload_directory(make_function, invoke, hot_dir: Path):
    write_handler(hot_dir, "'from the directory'")
    result = invoke(make_function(hot_dir))
    assert result["error"] is None, result
    payload = result["payload"]
    assert payload["answer"] == "from the directory"
    assert payload["task_root"] == payload["cwd"] == payload["sys_path_0"] == str(hot_dir)
    assert not (hot_dir / "__pycache__").exists()


@pytest.mark.localstack
def test_edits_new_and_deleted_files_restart_the_runtime(make_function, invoke, hot_dir: Path):
    write_handler(hot_dir, "'v1'")
    name = make_function(hot_dir)
    first = invoke(name)["payload"]
    assert first["answer"] == "v1"
    assert invoke(name)["payload"]["pid"] == first["pid"]  # warm while nothing changes

    write_handler(hot_dir, "'v2'")  # same size, typically within the same second
    second = answer_after_reload(invoke, name, "v2")
    assert second["pid"] != first["pid"]
    time.sleep(code_watch.SCAN_INTERVAL_SECONDS)
    assert invoke(name)["payload"]["pid"] == second["pid"]

    (hot_dir / "notes.txt").write_text("a new file")
    third = poll_for_new_pid(invoke, name, second["pid"])
    (hot_dir / "notes.txt").unlink()
    poll_for_new_pid(invoke, name, third["pid"])


def poll_for_new_pid(invoke: Callable[..., dict], name: str, pid: int) -> dict:
    started = time.monotonic()
    while (payload := invoke(name)["payload"])["pid"] == pid:
        assert time.monotonic() - started < RELOAD_DEADLINE_SECONDS, "runtime not restarted"
        time.sleep(0.02)
    return payload


@pytest.mark.localstack
def test_modules_behind_symlinks_are_hot_too(make_function, invoke, hot_dir: Path, tmp_path: Path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "greeting.py").write_text("TEXT = 'hello'\n")
    (tmp_path / "settings.py").write_text("NAME = 'world'\n")
    (hot_dir / "shared").symlink_to(shared, target_is_directory=True)
    (hot_dir / "settings.py").symlink_to(tmp_path / "settings.py")
    write_handler(
        hot_dir,
        "greeting.TEXT + ' ' + settings.NAME",
        imports="import settings\nimport shared.greeting as greeting",
    )
    name = make_function(hot_dir)
    assert invoke(name)["payload"]["answer"] == "hello world"

    edit(shared / "greeting.py", "TEXT = 'howdy'\n")
    answer_after_reload(invoke, name, "howdy world")
    edit(tmp_path / "settings.py", "NAME = 'agora'\n")
    answer_after_reload(invoke, name, "howdy agora")


@pytest.mark.localstack
def test_hot_reload_layers_are_watched_too(localstack, make_function, invoke, tmp_path: Path):
    layer_dir = tmp_path / "layer"
    (layer_dir / "python").mkdir(parents=True)
    (layer_dir / "python" / "layer_mod.py").write_text("ORIGIN = 'layer v1'\n")
    layer = localstack.client("lambda").publish_layer_version(
        LayerName=f"hot-{uuid.uuid4().hex[:6]}",
        Content={"S3Bucket": HOT_RELOAD_BUCKET, "S3Key": str(layer_dir)},
        CompatibleRuntimes=["python3.13"],
    )
    # The function itself is an ordinary zip.
    source = "import layer_mod\ndef handler(event, context):\n    return {'answer': layer_mod.ORIGIN}\n"
    name = make_function({"app.py": source}, Layers=[layer["LayerVersionArn"]])
    assert invoke(name)["payload"]["answer"] == "layer v1"
    edit(layer_dir / "python" / "layer_mod.py", "ORIGIN = 'layer v2'\n")
    answer_after_reload(invoke, name, "layer v2")


@pytest.mark.localstack
def test_missing_directory_fails_the_function(localstack, tmp_path: Path):
    lambda_client = localstack.client("lambda")
    name = f"fn-{uuid.uuid4().hex[:10]}"
    lambda_client.create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=ROLE_ARN,
        Handler="app.handler",
        Code={"S3Bucket": HOT_RELOAD_BUCKET, "S3Key": str(tmp_path / "missing")},
    )
    deadline = time.monotonic() + 30
    while (config := lambda_client.get_function_configuration(FunctionName=name))["State"] == "Pending":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert config["State"] == "Failed"
    assert "does not exist" in config["StateReason"]


@pytest.mark.localstack
def test_cloudformation_function_with_hot_reload_code(localstack, invoke, hot_dir: Path):
    write_handler(hot_dir, "'deployed'")
    template = {
        "Resources": {
            "Role": ROLE,
            "Function": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.13",
                    "Handler": "app.handler",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Code": {"S3Bucket": HOT_RELOAD_BUCKET, "S3Key": str(hot_dir)},
                },
            },
        },
        "Outputs": {"FunctionName": {"Value": {"Ref": "Function"}}},
    }
    stack = deploy(localstack.client("cloudformation"), f"hot-{uuid.uuid4().hex[:6]}", template)
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    name = outputs(stack)["FunctionName"]
    payload = invoke(name)["payload"]
    assert (payload["answer"], payload["task_root"]) == ("deployed", str(hot_dir))
    write_handler(hot_dir, "'redeployed? no, just saved'")
    answer_after_reload(invoke, name, "redeployed? no, just saved")
