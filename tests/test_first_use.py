"""A feature's own packages added on first use, by real pip, into an environment of their own: two processes asking
at once install once, and an install that lost its command is made whole."""

import base64
import hashlib
import importlib.util
import subprocess
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow

ASK = "import sys; from pathlib import Path; from simple_dqn.first_use import installed; " \
      "print(installed('tinycmd', Path(sys.argv[1])).GREETING)"


def build_wheel(folder: Path) -> Path:
    """A package of one module and one console script, as a wheel pip installs with no index."""
    files = {"tinycmd/__init__.py": "GREETING = 'ready'\n\ndef main():\n    print(GREETING)\n",
             "tinycmd-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: tinycmd\nVersion: 1.0\n",
             "tinycmd-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\n"
                                            "Tag: py3-none-any\n",
             "tinycmd-1.0.dist-info/entry_points.txt": "[console_scripts]\ntinycmd = tinycmd:main\n"}
    record = [f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b'=').decode()},"
              f"{len(text.encode())}" for name, text in files.items()]
    files["tinycmd-1.0.dist-info/RECORD"] = "\n".join([*record, "tinycmd-1.0.dist-info/RECORD,,"]) + "\n"
    wheel = folder / "tinycmd-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return wheel


@pytest.fixture
def fresh_environment(tmp_path: Path) -> tuple[Path, Path]:
    """A new virtual environment that sees the toolkit's packages (pip among them) but has no tinycmd, and the
    requirements file that pins tinycmd from a local wheel."""
    environment = tmp_path / "env"
    venv.create(environment, with_pip=False)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(environment), "platbase": str(environment)}))
    (site / "toolkit.pth").write_text(f"{sysconfig.get_path('purelib')}\n{ROOT / 'src'}\n")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    build_wheel(wheels)
    requirements = tmp_path / "requirements-tiny.txt"
    requirements.write_text(f"--no-index\n--find-links {wheels}\ntinycmd==1.0\n")
    return environment, requirements


def ask(environment: Path, requirements: Path) -> subprocess.Popen:
    return subprocess.Popen([str(environment / "bin" / "python"), "-c", ASK, str(requirements)], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_two_processes_asking_at_once_install_once_and_both_get_the_package(fresh_environment):
    environment, requirements = fresh_environment
    asking = [ask(environment, requirements) for _ in range(2)]
    outputs = [process.communicate(timeout=120) for process in asking]
    assert [process.returncode for process in asking] == [0, 0], outputs
    assert [stdout.strip() for stdout, _ in outputs] == ["ready", "ready"]
    assert sum(stderr.count("Adding tinycmd 1.0") for _, stderr in outputs) == 1, outputs
    assert subprocess.run([str(environment / "bin" / "tinycmd")], capture_output=True, text=True).stdout == "ready\n"


def test_an_install_missing_its_command_is_installed_again(fresh_environment):
    environment, requirements = fresh_environment
    assert ask(environment, requirements).communicate(timeout=120)[0].strip() == "ready"
    (environment / "bin" / "tinycmd").unlink()  # as when another process is still writing it
    again = ask(environment, requirements)
    stdout, stderr = again.communicate(timeout=120)
    assert again.returncode == 0 and stdout.strip() == "ready" and "Adding tinycmd 1.0" in stderr, stderr
    assert (environment / "bin" / "tinycmd").exists()
    assert importlib.util.find_spec("tinycmd") is None  # installed there, not in the toolkit's own .venv
