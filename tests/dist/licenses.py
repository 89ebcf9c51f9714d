"""licenses.py ROOT DIST VERSION: the license checks of the distribution suite (sourced part
tests/dist/licenses.sh runs it and counts its lines). For every file of DIST but SHA256SUMS:

  - it carries LICENSE-MIT and LICENSE-APACHE where its ecosystem expects them, byte for byte
    the repository's own, and its metadata says MIT OR Apache-2.0;
  - if it holds a binary, a THIRD-PARTY-NOTICES there too, listing exactly the crates that
    `cargo tree -e normal` reports for the binaries it holds and their targets (a stale or
    hand-written file would differ in a crate or a version), with the license texts of
    rustls, ring, prost (and napi in the Node packages) under their names.

A file that matches no known package is a failure: a new package needs its line below.
Prints "PASS text" / "FAIL text" lines (and indented details), nothing else.
"""
import io
import json
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT, DIST, V = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
LINUX_X64, LINUX_ARM64, WIN_X64 = "x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu", "x86_64-pc-windows-gnu"
LIB, C, NODE = ["ftapi-c"], ["ftapi-c", "opend-sim"], ["ftapi-node"]
BASE = ["rustls", "ring", "prost"]
EXPR = "MIT OR Apache-2.0"

# pattern -> (folder of the license files inside, crates and targets of its binaries or None,
#             crates whose license texts the notices must show, metadata check)
def meta_wheel(read, names):
    m = read(f"opend-{V}.dist-info/METADATA").decode()
    return f"License-Expression: {EXPR}" in m.splitlines(), "METADATA License-Expression"

def meta_nupkg(read, names):
    spec = read("Opend.nuspec").decode()
    return f'<license type="expression">{EXPR}</license>' in spec, 'nuspec <license type="expression">'

def meta_jar(read, names):
    pom = read("META-INF/maven/io.github.opend-client/opend/pom.xml").decode()
    lic = re.findall(r"<license>\s*<name>([^<]*)</name>", pom)
    return lic == ["MIT", "Apache-2.0"], f"pom.xml <licenses> {lic}"

def meta_npm(read, names):
    return json.loads(read("package/package.json")).get("license") == EXPR, "package.json license"

def meta_crate(top):
    def check(read, names):
        toml = read(f"{top}/Cargo.toml").decode()
        return f'license = "{EXPR}"' in toml, "Cargo.toml license"
    return check

def meta_none(read, names):
    return True, "-"

PACKAGES = [
    (rf"ftapi-{V}-linux-x86_64\.tar\.gz", f"ftapi-{V}-linux-x86_64/share/doc/ftapi", (C, [LINUX_X64]), BASE, meta_none),
    (rf"ftapi-{V}-linux-aarch64\.tar\.gz", f"ftapi-{V}-linux-aarch64/share/doc/ftapi", (C, [LINUX_ARM64]), BASE, meta_none),
    (rf"ftapi-{V}-windows-x86_64\.zip", f"ftapi-{V}-windows-x86_64/share/doc/ftapi", (C, [WIN_X64]), BASE, meta_none),
    (rf"opend-{V}-py3-none-manylinux_\d+_\d+_x86_64\.whl", f"opend-{V}.dist-info/licenses", (LIB, [LINUX_X64]), BASE, meta_wheel),
    (rf"opend-{V}-py3-none-manylinux_\d+_\d+_aarch64\.whl", f"opend-{V}.dist-info/licenses", (LIB, [LINUX_ARM64]), BASE, meta_wheel),
    (rf"opend-{V}-py3-none-win_amd64\.whl", f"opend-{V}.dist-info/licenses", (LIB, [WIN_X64]), BASE, meta_wheel),
    (rf"opend-{V}\.jar", "META-INF", (LIB, [LINUX_X64, LINUX_ARM64, WIN_X64]), BASE, meta_jar),
    (rf"opend-{V}-sources\.jar", "META-INF", None, [], meta_none),
    (rf"Opend\.{V}\.nupkg", "", (LIB, [LINUX_X64, LINUX_ARM64, WIN_X64]), BASE, meta_nupkg),
    (rf"opend-{V}\.tgz", "package", None, [], meta_npm),
    (rf"opend-linux-x64-gnu-{V}\.tgz", "package", (NODE, [LINUX_X64]), BASE + ["napi"], meta_npm),
    (rf"opend-linux-arm64-gnu-{V}\.tgz", "package", (NODE, [LINUX_ARM64]), BASE + ["napi"], meta_npm),
    (rf"opend-win32-x64-{V}\.tgz", "package", (NODE, [WIN_X64]), BASE + ["napi"], meta_npm),
    (rf"opend-proto-{V}\.crate", f"opend-proto-{V}", None, [], meta_crate(f"opend-proto-{V}")),
    (rf"opend-{V}\.crate", f"opend-{V}", None, [], meta_crate(f"opend-{V}")),
    (rf"opend-sim-{V}\.crate", f"opend-sim-{V}", None, [], meta_crate(f"opend-sim-{V}")),
]
PHRASE = {"MIT": "Permission is hereby granted", "Apache-2.0": "Apache License", "ISC": "Permission to use, copy, modify",
          "BSD-3-Clause": "Redistribution and use", "BSD-2-Clause": "Redistribution and use", "Unicode-3.0": "UNICODE LICENSE"}


def opener(path):
    """(names, read(name) -> bytes) of a tar or zip package."""
    if path.name.endswith((".tar.gz", ".tgz", ".crate")):
        tf = tarfile.open(path)
        members = {m.name: m for m in tf.getmembers() if m.isfile()}
        return set(members), lambda n: tf.extractfile(members[n]).read()
    zf = zipfile.ZipFile(path)
    return set(zf.namelist()), zf.read


_tree = {}
def tree(crates, targets):
    """name version of every crate `cargo tree -e normal` reports for these roots and targets,
    without the project's unpublished crates (the roots' own license is LICENSE-*)."""
    key = (tuple(crates), tuple(targets))
    if key not in _tree:
        cmd = ["cargo", "tree", "--offline", "--locked", "-e", "normal", "--prefix", "none", "--format", "{p}"]
        for c in crates: cmd += ["-p", c]
        for t in targets: cmd += ["--target", t]
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True).stdout
        got = set()
        for line in out.splitlines():
            m = re.match(r"(\S+) v(\S+)", line)
            if m and m.group(1) not in ("ftapi-c", "ftapi-node"):
                got.add(f"{m.group(1)} {m.group(2)}")
        _tree[key] = got
    return _tree[key]


def parse_notices(text):
    """(targets line, listed crates, [(license id, [crate names], license text)])."""
    targets = re.search(r"^Targets: (.*)$", text, re.M)
    block = re.search(r"^Crates \(name version: license expression\)\n((?:  .*\n)*)", text, re.M)
    listed = set()
    if block:
        for line in block.group(1).splitlines():
            m = re.match(r"  (\S+) ([^:\s]+): ", line)
            if m:
                listed.add(f"{m.group(1)} {m.group(2)}")
    sections = []
    for part in text.split("=" * 80 + "\n")[1:]:
        head, _, body = part.partition("-" * 80 + "\n")
        lines = head.splitlines()
        lid = re.search(r"\(([^()]*)\)$", lines[0]).group(1) if lines and re.search(r"\(([^()]*)\)$", lines[0]) else "?"
        used = [l.split()[0] for l in lines[2:] if l.startswith("  ")]
        sections.append((lid, used, body))
    return (targets.group(1).split() if targets else []), listed, sections


def say(ok, text, details=()):
    print(("PASS " if ok else "FAIL ") + text)
    for d in details:
        print("    " + d)


texts = {n: (ROOT / n).read_bytes() for n in ("LICENSE-MIT", "LICENSE-APACHE")}
files = sorted(p for p in DIST.iterdir() if p.is_file() and p.name != "SHA256SUMS")
for path in files:
    spec = next((s for s in PACKAGES if re.fullmatch(s[0], path.name)), None)
    if spec is None:
        say(False, f"licenses: {path.name} is no known package (add it to tests/dist/licenses.py)")
        continue
    _, folder, binaries, required, meta = spec
    names, read = opener(path)
    at = lambda n: f"{folder}/{n}" if folder else n
    problems = []
    for n, want in texts.items():
        if at(n) not in names:
            problems.append(f"no {at(n)}")
        elif read(at(n)) != want:
            problems.append(f"{at(n)} differs from the repository's {n}")
    try:
        good, what = meta(read, names)
        if not good:
            problems.append(f"metadata: {what} does not say {EXPR}")
    except KeyError as e:
        problems.append(f"metadata: {e} missing")
    say(not problems, f"licenses: {path.name} carries LICENSE-MIT and LICENSE-APACHE (in {folder or 'its root'}), "
        f"metadata {EXPR}", problems)
    if binaries is None:
        continue
    crates, targets = binaries
    problems = []
    if at("THIRD-PARTY-NOTICES") not in names:
        say(False, f"notices: {path.name} has no {at('THIRD-PARTY-NOTICES')}")
        continue
    got_targets, listed, sections = parse_notices(read(at("THIRD-PARTY-NOTICES")).decode())
    if got_targets != targets:
        problems.append(f"Targets: {got_targets}, expected {targets}")
    want = tree(crates, targets)
    if listed != want:
        problems.append(f"listed but not in cargo tree: {sorted(listed - want)}")
        problems.append(f"in cargo tree but not listed: {sorted(want - listed)}")
    for crate in required:
        shown = [lid for lid, used, body in sections if crate in used and PHRASE.get(lid, "") in body and len(body) > 300]
        if not shown:
            problems.append(f"no license text for {crate}")
    say(not problems, f"notices: {path.name}'s THIRD-PARTY-NOTICES lists the {len(want)} crates of `cargo tree -e normal "
        f"-p {' -p '.join(crates)}` for {', '.join(targets)}, with the license texts of {', '.join(required)}", problems)
