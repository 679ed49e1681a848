import sys
from pathlib import Path

import pytest

# the helpers module beside these tests
sys.path.insert(0, str(Path(__file__).parent))

from pipeline import run_cli  # noqa: E402


@pytest.fixture(scope="session")
def fixture_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fixture-scale lake simulated, landed and transformed by the real CLI.

    Returns the folder holding `lake/`, `warehouse/wattlake.duckdb` and `build/`.
    Shared by the tests that only read what `wattlake transform` built.
    """
    tmp = tmp_path_factory.mktemp("fixture-build")
    for stage in ("simulate", "land", "transform"):
        run_cli([stage], tmp)
    return tmp


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory):
    """`wattlake run` on the fixture scale through the real CLI, once per session.

    Returns the folder (lake, warehouse, build with the Tableau files) and the
    completed process. Shared by the pipeline, Tableau and dashboard tests.
    """
    tmp = tmp_path_factory.mktemp("pipeline")
    return tmp, run_cli(["run"], tmp)
