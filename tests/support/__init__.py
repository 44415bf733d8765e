"""Helpers shared by the tests: paths, texts, corpora, servers, browsers and small models."""
