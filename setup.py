"""The one compiled part: token ids and counts for a batch (classifier/_token_ids.c).

Everything else is in pyproject.toml. The extension is optional: without a C compiler the
install goes on without it and classifier/token_ids.py does the same work with NumPy.
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension("classifier._token_ids", ["classifier/_token_ids.c"], optional=True,
                             extra_compile_args=["-O2"])])
