import sys
from pathlib import Path

# the helpers module beside these tests
sys.path.insert(0, str(Path(__file__).parent))
