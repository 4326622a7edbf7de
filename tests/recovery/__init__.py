"""Recovery tests: real workers, beat, databases, brokers and a moto server of their own."""

import pytest

# The process helpers hold fixtures and assertions; test modules load them as a plugin.
pytest.register_assert_rewrite("tests.recovery.engine_procs")
