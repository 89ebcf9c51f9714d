# ftapi: `make demo` and `make test` do all the set-up on a fresh Debian 12 machine.
SHELL := /bin/bash
.DEFAULT_GOAL := build

CARGO    ?= cargo
PREFIX   ?= /usr/local
ROOT     := $(abspath .)
REL      := $(ROOT)/target/release
SIM      := $(REL)/opend-sim
OUT      := $(ROOT)/target/c
CFLAGS   ?= -O2 -g -Wall -Wextra -Werror -std=c99

export FTAPI_LIB_DIR := $(REL)
export OPEND_SIM := $(SIM)

.PHONY: build deps examples demo test header install clean bench stress soak java csharp wheel node dist cross

# Every suite's Debian packages at once; each target and suite installs its own group when
# it needs it (scripts/install-deps.sh), so `make demo` installs only a C compiler.
deps:
	@scripts/install-deps.sh all

build:
	@scripts/install-deps.sh build
	$(CARGO) build --release -p ftapi-c -p opend-sim
	@# Programs linked with -lftapi record the SONAME libftapi.so.0.
	ln -sf libftapi.so $(REL)/libftapi.so.0
	@# The official native channel's name (include/FTAPIChannel.h): programs written for it
	@# link with -lFTAPIChannel, FTAPI4NET loads it with [DllImport("FTAPIChannel")].
	ln -sf libftapi.so $(REL)/libFTAPIChannel.so

examples: build
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS) -Iinclude examples-c/get_user_security_group.c -o $(OUT)/get_user_security_group \
	    -L$(REL) -lftapi -Wl,-rpath,$(REL)
	$(CC) $(CFLAGS) -Iinclude examples-c/get_user_security_group_sync.c -o $(OUT)/get_user_security_group_sync \
	    -L$(REL) -lftapi -Wl,-rpath,$(REL)
	$(CC) $(CFLAGS) -Iinclude examples-c/channel_get_user_security_group.c -o $(OUT)/channel_get_user_security_group \
	    -L$(REL) -lFTAPIChannel -Wl,-rpath,$(REL) -lpthread

# Builds the library, opend-sim and the C examples, starts opend-sim on a free port, runs the
# C example against it.
demo: examples
	$(SIM) --port 0 -- $(OUT)/get_user_security_group 127.0.0.1 {port} all

# The whole suite: cargo tests, then the C, C++, C#, Java and Python suites.
test: examples
	@scripts/test-all.sh

# Benchmarks against opend-sim (latency, throughput, cold start, memory, idle wakeups):
# a table on stdout and target/bench/results.json. See docs/BENCHMARKS.md.
bench: examples
	@bench/run.sh

# The library for Windows x64, Linux aarch64 and macOS (arm64, x86_64), cross-built with
# Debian's rustc and -Zbuild-std into target/cross/out/<platform>/ (scripts/cross.sh, which
# installs its toolchain when missing; docs/PLATFORMS.md).
cross:
	@scripts/cross.sh

# The bindings' build products that `make dist` packages.
java: build
	bindings/java/build.sh
csharp:
	bindings/csharp/build.sh >/dev/null
wheel: build cross
	bindings/python/build-wheel.sh >/dev/null
	bindings/python/build-wheel.sh linux-aarch64 >/dev/null
	bindings/python/build-wheel.sh windows-x86_64 >/dev/null
# The Node packages: the Node-API addon (bindings/node, a workspace member built into
# target/) and `npm pack` -> target/node/opend-V.tgz plus one package per platform,
# opend-<target>-V.tgz (the Windows and aarch64 addons from make cross).
node: cross
	@scripts/install-deps.sh node
	bindings/node/build.sh

# target/dist/: the C/C++ archives, the wheels, the jars, the nupkg, the npm packages, the
# crates, SHA256SUMS (scripts/dist.sh), for Linux x86_64 and aarch64 and Windows x64. Runs
# again from scratch each time.
dist: build cross java csharp wheel node
	@scripts/dist.sh

# Regenerates include/ftapi.h from crates/capi/src.
header:
	FTAPI_UPDATE_HEADER=1 $(CARGO) test --release -p ftapi-c --test header

# The same tree as the tarball of `make dist` (scripts/install-tree.sh): libraries, headers,
# ftapi.pc and the CMake package (both relocatable), opend-sim.
install: build
	scripts/install-tree.sh "$(DESTDIR)$(PREFIX)"

clean:
	$(CARGO) clean

# Which door of OpenD `make stress` and `make soak` use: tcp (the API port), ws (the
# WebSocket port, ws://) or wss (the WebSocket port over TLS, with a CA and a certificate
# that tests/c/make-test-certs.sh makes in target/c-tests/certs-TARGET). E.g.
# `make stress DOOR=ws`, `make soak DOOR=wss SOAK_SECS=600`.
DOOR ?= tcp
CERTS = $(ROOT)/target/c-tests/certs-$@
DOOR_KEY := door-key
ifeq ($(DOOR),tcp)
DOOR_SIM :=
DOOR_PORT := {port}
else ifeq ($(DOOR),ws)
DOOR_SIM := --ws-port 0 --ws-key $(DOOR_KEY)
DOOR_PORT := {ws_port}
else ifeq ($(DOOR),wss)
DOOR_SIM = --ws-port 0 --ws-key $(DOOR_KEY) --ws-tls-cert $(CERTS)/server.pem --ws-tls-key $(CERTS)/server.key
DOOR_PORT := {ws_port}
else
$(error DOOR must be tcp, ws or wss, not "$(DOOR)")
endif
# The certificates for a wss:// run (kept while less than a day old: a soak restarting its
# simulator reads them again and again).
DOOR_CERTS = $(if $(filter wss,$(DOOR)),tests/c/make-test-certs.sh $(CERTS),true)

# The full stress run (tests/c/stress.c): 64 connections x 4 sender threads x 1000 requests
# per thread, random closes and frees; figures in docs/RELIABILITY.md. SEED=N repeats a run;
# DOOR=ws|wss runs it over the WebSocket door.
stress: build
	@scripts/install-deps.sh c
	@mkdir -p $(ROOT)/target/c-tests
	$(CC) -std=c11 -O2 -g -Wall -Wextra -Werror -Iinclude tests/c/stress.c -o $(ROOT)/target/c-tests/stress_full \
	    -L$(REL) -lftapi -Wl,-rpath,$(REL) -lpthread
	@$(DOOR_CERTS)
	FTAPI_RATE_LIMIT=off FTAPI_TEST_DOOR=$(DOOR) FTAPI_TEST_WS_KEY=$(DOOR_KEY) FTAPI_TEST_CA=$(CERTS)/ca.pem \
	    $(SIM) --port 0 --rate-limit off $(DOOR_SIM) -- $(ROOT)/target/c-tests/stress_full 127.0.0.1 $(DOOR_PORT) 64 4 1000 180 $(SEED)

# The soak (tests/c/soak.c): 32 auto-reconnecting connections, connect/close churn and
# requests from 4 threads for SOAK_SECS seconds (default 600), against an opend-sim killed and
# restarted every 1-5 s; checks outcomes, RSS, fds, threads; figures in docs/RELIABILITY.md.
# DOOR=ws|wss runs it over the WebSocket door. `make test` runs 40 s over the API port and
# 35 s over ws:// and wss:// each, beside short ASan+UBSan and valgrind runs
# (tests/c/soak.sh). SEED=N repeats a run. SIGPIPE ends the run, as it would end a C program
# (the library must never raise it; SOAK_SIGPIPE=count counts it instead, for diagnosis).
# DOOR=wss runs without glibc's per-thread malloc caches, which fill over minutes under TLS
# and which VmRSS would count as growth (tests/c/soak.sh, docs/RELIABILITY.md section 5).
SOAK_SECS ?= 600
SOAK_SIGPIPE ?=
soak: build
	@scripts/install-deps.sh c
	@mkdir -p $(ROOT)/target/c-tests
	$(CC) -std=c11 -O2 -g -Wall -Wextra -Werror -Iinclude tests/c/soak.c -o $(ROOT)/target/c-tests/soak \
	    -L$(REL) -lftapi -Wl,-rpath,$(REL) -lpthread
	@$(DOOR_CERTS)
	$(if $(filter wss,$(DOOR)),GLIBC_TUNABLES=glibc.malloc.tcache_count=0) \
	FTAPI_RATE_LIMIT=off SOAK_DOOR=$(DOOR) SOAK_SIGPIPE=$(SOAK_SIGPIPE) SOAK_TLS_CA=$(CERTS)/ca.pem \
	    SOAK_TLS_CERT=$(CERTS)/server.pem SOAK_TLS_KEY=$(CERTS)/server.key \
	    $(ROOT)/target/c-tests/soak $(SOAK_SECS) "$(SEED)"
