import sys
from pathlib import Path

# the `simulated` helpers beside these tests
sys.path.insert(0, str(Path(__file__).parent))
