"""The golden vectors hold whatever msgspec release is installed, not only the locked one.

msgspec 0.23 changed the exception it raises for invalid UTF-8, and an unpinned install turned
`not_utf8` into `bad_json`. This runs the vector tests under the newest release the package
index serves and under the oldest release pyproject allows, each in a cached throwaway venv
layered over the project's own (only msgspec differs).
"""

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".run" / "msgspec-releases"
VECTOR_TESTS = ("tests/test_protocol_vectors.py", "tests/test_enrich.py")
FLOOR = "0.18.6"  # the oldest release pyproject.toml admits (>=0.18) with wheels for 3.11


def _layered_venv(name: str, requirement: str) -> Path:
    """A venv whose own site-packages holds msgspec, with the project's venv behind it."""
    home = CACHE / name
    python = home / "bin" / "python"
    if not python.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(home)
        purelib = subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        project_site = sysconfig.get_paths()["purelib"]
        # addsitedir also runs the project venv's .pth files (the editable install's finder)
        line = f"import site; site.addsitedir({project_site!r})\n"
        (Path(purelib) / "zz_project_venv.pth").write_text(line)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", requirement], check=True)
    return python


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "requirement"),
    [("newest", "msgspec"), ("floor", f"msgspec=={FLOOR}")],
)
def test_golden_vectors_under_msgspec_release(name: str, requirement: str) -> None:
    python = _layered_venv(name, requirement)
    version = subprocess.run(
        [python, "-c", "import msgspec; print(msgspec.__version__)"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if name == "floor":
        assert version == FLOOR
    result = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *VECTOR_TESTS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"msgspec {version}:\n{result.stdout[-4000:]}{result.stderr}"
    assert " passed" in result.stdout
    print(f"msgspec {version}: {result.stdout.strip().splitlines()[-1]}", file=sys.stderr)
