"""The loader's choice of native library per platform (opend._native._library_names /
_candidates / _load), with fake sys.platform values: each platform opend ships for gets its
file name, any other platform a clear ImportError naming it, not a crash. The installed
wheel on this host (Linux) loaded its own libftapi.so next to the package."""
import ctypes.util
import os

import pytest

from opend import _native

from conftest import LIB_DIR


@pytest.mark.parametrize("platform, names", [
    ("linux", ("libftapi.so", "libftapi.so.0")),
    ("linux2", ("libftapi.so", "libftapi.so.0")),
    ("win32", ("ftapi.dll",)),
    ("darwin", ("libftapi.dylib",)),
])
def test_library_names_per_platform(platform, names):
    assert _native._library_names(platform) == names


@pytest.mark.parametrize("platform", ["sunos5", "freebsd14", "cygwin", "aix", "emscripten", ""])
def test_unsupported_platform_raises_import_error_naming_it(platform):
    with pytest.raises(ImportError) as info:
        _native._library_names(platform)
    msg = str(info.value)
    assert repr(platform) in msg
    assert "darwin, linux, win32" in msg
    assert "FTAPI_LIB" in msg


def test_this_host_loaded_the_wheel_copy():
    # run-tests.sh installs the wheel, which carries libftapi.so beside the package.
    here = os.path.dirname(os.path.abspath(_native.__file__))
    assert _native.lib_path == os.path.join(here, "libftapi.so")
    assert _native.lib.ftapi_version()


def test_candidates_order_for_windows(tmp_path):
    env = {"FTAPI_LIB": "/x/custom.dll", "FTAPI_LIB_DIR": "/y"}
    got = _native._candidates("win32", env, str(tmp_path))
    assert got == [os.path.join(str(tmp_path), "ftapi.dll"), "/x/custom.dll", os.path.join("/y", "ftapi.dll")]


def test_candidates_for_macos_and_linux(tmp_path):
    assert _native._candidates("darwin", {}, "/pkg") == [os.path.join("/pkg", "libftapi.dylib")]
    assert _native._candidates("linux", {"FTAPI_LIB_DIR": "/d"}, "/pkg") == [
        "/pkg/libftapi.so", "/pkg/libftapi.so.0", "/d/libftapi.so", "/d/libftapi.so.0"]


def test_unsupported_platform_takes_explicit_ftapi_lib():
    assert _native._candidates("sunos5", {"FTAPI_LIB": "/opt/libftapi.so"}, "/pkg") == ["/opt/libftapi.so"]
    with pytest.raises(ImportError, match="sunos5"):
        _native._candidates("sunos5", {"FTAPI_LIB_DIR": "/d"}, "/pkg")


def test_load_failure_names_platform_and_attempts(tmp_path, monkeypatch):
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    bad = tmp_path / "lib"
    bad.mkdir()
    (bad / "ftapi.dll").write_bytes(b"MZ not a library")
    with pytest.raises(ImportError) as info:
        _native._load("win32", {"FTAPI_LIB_DIR": str(bad)}, str(tmp_path / "pkg"))
    msg = str(info.value)
    assert "cannot load ftapi.dll" in msg
    assert "'win32'" in msg
    assert os.path.join(str(tmp_path / "pkg"), "ftapi.dll") + ": not found" in msg
    assert str(bad / "ftapi.dll") + ":" in msg                 # found, but dlopen refused it
    assert "ftapi.dll (system search):" in msg


def test_load_unsupported_platform_without_ftapi_lib_raises():
    with pytest.raises(ImportError, match=r"no native library for this platform \(sys.platform 'sunos5'\)"):
        _native._load("sunos5", {}, "/nonexistent")


def test_load_with_fake_platform_uses_ftapi_lib_dir(tmp_path):
    # A Linux name list with only $FTAPI_LIB_DIR to go on: the build's own library.
    lib, path = _native._load("linux", {"FTAPI_LIB_DIR": LIB_DIR}, str(tmp_path))
    assert path == os.path.join(LIB_DIR, "libftapi.so")
    assert lib.ftapi_version()


def test_load_unsupported_platform_with_explicit_ftapi_lib(tmp_path):
    explicit = os.path.join(LIB_DIR, "libftapi.so")
    lib, path = _native._load("sunos5", {"FTAPI_LIB": explicit}, str(tmp_path))
    assert path == explicit
