"""rewardkit: vision-language models as reward models for image captioning."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("rewardkit")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+local"

__all__ = ["__version__"]
