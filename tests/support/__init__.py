"""Helpers shared by the tests: texts, corpora and small models they all use."""
