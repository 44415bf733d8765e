"""The HTTP service: a Flask application factory, its JSON API and the web page.

The model is loaded once per process when the app is created and shared read-only by the
threads; ``/admin/reload`` swaps in a new one, and a request that already holds the old one
finishes with it. Every error is JSON ``{"error": {"code", "message"}}`` with a 4xx status
for bad input; nothing answers with an HTML page or a traceback.

Layout: ``model_holder`` and ``feedback_store`` own the long-lived resources (in
``app.extensions``), ``errors`` the JSON error answers, ``validation`` the checks of request
bodies, and one blueprint per concern: ``suggest`` (/suggest, /tags, /model), ``annotate``, ``health``,
``feedback``, ``admin`` and ``page`` (/ and /openapi.json).
"""
from __future__ import annotations

from flask import Flask

from .. import config
from . import admin, annotate, errors, feedback, feedback_store, health, model_holder, page, suggest


def create_app(test_config: dict | None = None) -> Flask:
    """Build the service. Configuration: defaults, then the environment, then ``test_config``."""
    app = Flask(__name__, static_folder=None)
    app.config.from_mapping(config.settings())
    if test_config:
        app.config.from_mapping(test_config)
    # MODEL_DIR None: the model in use, decided at every load (see model_holder).
    # Never debug mode: Flask turns it on from FLASK_DEBUG in the environment, even under gunicorn.
    app.debug = False
    app.json.ensure_ascii = False
    app.json.sort_keys = False

    model_holder.init_app(app)
    feedback_store.init_app(app)
    errors.init_app(app)
    for blueprint in (suggest.bp, annotate.bp, health.bp, feedback.bp, admin.bp, page.bp):
        app.register_blueprint(blueprint)
    return app
