"""Hypothesis settings and strategies shared by the property-based tests."""
import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# FUZZ_EXAMPLES=5000 searches harder (see RELIABILITY.md); the suite's default stays quick.
FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

# Every code point a str can hold, control characters and lone surrogates included.
ANY_CHARACTER = st.characters(codec=None, categories=None)
