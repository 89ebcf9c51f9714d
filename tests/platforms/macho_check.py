#!/usr/bin/env python3
"""The macOS link check: reads a Mach-O dylib made by scripts/cross.sh (nothing here can run
it) and checks what a Mac needs of it: the architecture, a dynamic library, the install name
@rpath/libftapi.dylib, macOS 11.0 as the oldest system, only system libraries and frameworks
as dependencies, and the exports dyld sees (the export trie: the C ABI, the official
channel's, the JNI ones).

Usage: macho_check.py FILE ARCH      (ARCH: aarch64 or x86_64); exits 1 with the reasons.
"""
import struct
import sys

MH_MAGIC_64 = 0xFEEDFACF
MH_DYLIB = 6
CPU = {"aarch64": 0x0100000C, "x86_64": 0x01000007}
LC_SYMTAB = 0x2
LC_LOAD_DYLIB = 0xC
LC_ID_DYLIB = 0xD
LC_BUILD_VERSION = 0x32
LC_DYLD_INFO_ONLY = 0x80000022
LC_DYLD_EXPORTS_TRIE = 0x80000033
PLATFORM_MACOS = 1

MUST_EXPORT = ["_ftapi_qot_new", "_ftapi_qot_free", "_ftapi_qot_get_user_security_group",
               "_FTAPIChannel_Init", "_Java_com_futu_openapi_NativeLib_create"]


def cstr(buf, off):
    end = buf.index(b"\0", off)
    return buf[off:end].decode()


def uleb(buf, off):
    value = shift = 0
    while True:
        b = buf[off]
        off += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return value, off


def export_trie(buf, start):
    """The names in the export trie: what dyld lets other images bind to."""
    names, todo = set(), [(0, "")]
    while todo:
        node, prefix = todo.pop()
        terminal, off = uleb(buf, start + node)
        if terminal:
            names.add(prefix)
        off += terminal
        children = buf[off]
        off += 1
        for _ in range(children):
            end = buf.index(b"\0", off)
            edge = buf[off:end].decode()
            child, off = uleb(buf, end + 1)
            todo.append((child, prefix + edge))
    return names


def version(v):
    return f"{v >> 16}.{(v >> 8) & 0xFF}"


def check(path, arch):
    data = open(path, "rb").read()
    problems = []
    magic, cputype, _sub, filetype, ncmds, _size, _flags, _res = struct.unpack_from("<IiiIIIII", data, 0)
    if magic != MH_MAGIC_64:
        return [f"not a 64-bit Mach-O file (magic {magic:#x})"]
    if cputype != CPU[arch]:
        problems.append(f"CPU type {cputype:#x}, want {CPU[arch]:#x} ({arch})")
    if filetype != MH_DYLIB:
        problems.append(f"file type {filetype}, want {MH_DYLIB} (a dynamic library)")
    off = 32
    install_name, minos, deps, exports = None, None, [], set()
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, off)
        if cmd == LC_ID_DYLIB:
            install_name = cstr(data, off + struct.unpack_from("<I", data, off + 8)[0])
        elif cmd == LC_LOAD_DYLIB:
            deps.append(cstr(data, off + struct.unpack_from("<I", data, off + 8)[0]))
        elif cmd == LC_BUILD_VERSION:
            platform, minos_v = struct.unpack_from("<II", data, off + 8)
            if platform != PLATFORM_MACOS:
                problems.append(f"build platform {platform}, want macOS ({PLATFORM_MACOS})")
            minos = version(minos_v)
        elif cmd == LC_DYLD_INFO_ONLY:
            exp_off, _exp_size = struct.unpack_from("<II", data, off + 40)
            exports |= export_trie(data, exp_off)
        elif cmd == LC_DYLD_EXPORTS_TRIE:
            exp_off, _exp_size = struct.unpack_from("<II", data, off + 8)
            exports |= export_trie(data, exp_off)
        off += size
    if install_name != "@rpath/libftapi.dylib":
        problems.append(f"install name {install_name!r}, want '@rpath/libftapi.dylib'")
    if minos != "11.0":
        problems.append(f"minimum macOS {minos}, want 11.0")
    for d in deps:
        if not (d.startswith("/usr/lib/") or d.startswith("/System/Library/Frameworks/")):
            problems.append(f"depends on {d}, which a Mac does not ship")
    for sym in MUST_EXPORT:
        if sym not in exports:
            problems.append(f"does not export {sym}")
    n_c = sum(1 for s in exports if s.startswith("_ftapi_"))
    if n_c == 0:
        problems.append("no export trie, or no ftapi_* function in it")
    print(f"{path}: {arch}, install name {install_name}, macOS {minos}+, {n_c} ftapi_* exports, "
          f"{len(exports)} in all, needs {', '.join(d.rsplit('/', 1)[-1] for d in deps)}")
    return problems


if __name__ == "__main__":
    found = check(sys.argv[1], sys.argv[2])
    for p in found:
        print(f"  {p}")
    sys.exit(1 if found else 0)
