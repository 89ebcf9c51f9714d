"""Only here to tag the wheel for the platform: it carries libftapi.so or ftapi.dll (no
CPython ABI dependency, since it is loaded with ctypes), so the tag is py3-none-<platform>.
FTAPI_WHEEL_PLAT names the platform when the wheel is built here for another one
(build-wheel.sh: linux_aarch64, win_amd64)."""
import os

from setuptools import Distribution, setup

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # older setuptools
    from wheel.bdist_wheel import bdist_wheel


class PlatformWheel(bdist_wheel):
    def finalize_options(self):
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self):
        _, _, plat = super().get_tag()
        return "py3", "none", os.environ.get("FTAPI_WHEEL_PLAT") or plat


class BinaryDistribution(Distribution):
    """Puts the package in the wheel's platlib root, as for an extension module."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"bdist_wheel": PlatformWheel}, distclass=BinaryDistribution)
