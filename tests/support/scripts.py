"""The project's scripts (scripts/*.py) as modules, loaded from their files: scripts/ is not a
package and is not put on sys.path."""
import importlib.util
import sys

from tests.support.paths import ROOT


def load_script(name: str):
    """scripts/<name>.py as a module named ``scripts_<name>`` (loaded once)."""
    module_name = f"scripts_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module
