import sys
from pathlib import Path

# Make `import index` work when running `pytest tests/` from the project root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
