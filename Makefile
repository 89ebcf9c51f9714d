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
# The Java binding's JNI exports live in libftapi itself.
FEATURES := --features ftapi/java

export FTAPI_LIB_DIR := $(REL)
export OPEND_SIM := $(SIM)

.PHONY: build deps examples demo test header install clean bench stress soak

deps:
	@scripts/install-deps.sh

build: deps
	$(CARGO) build --release -p ftapi -p opend-sim $(FEATURES)
	@# Programs linked with -lftapi record the SONAME libftapi.so.0.
	ln -sf libftapi.so $(REL)/libftapi.so.0

examples: build
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS) -Iinclude examples-c/get_user_security_group.c -o $(OUT)/get_user_security_group \
	    -L$(REL) -lftapi -Wl,-rpath,$(REL)
	$(CC) $(CFLAGS) -Iinclude examples-c/get_user_security_group_sync.c -o $(OUT)/get_user_security_group_sync \
	    -L$(REL) -lftapi -Wl,-rpath,$(REL)

# Builds everything, starts opend-sim on a free port, runs the C example against it.
demo: examples
	$(SIM) --port 0 -- $(OUT)/get_user_security_group 127.0.0.1 {port} all

# The whole suite: cargo tests, then the C, C++, C#, Java and Python suites.
test: examples
	@scripts/test-all.sh

# Benchmarks against opend-sim (latency, throughput, cold start, memory, idle wakeups):
# a table on stdout and target/bench/results.json. See docs/BENCHMARKS.md.
bench: examples
	@bench/run.sh

# Regenerates include/ftapi.h from src/ffi.
header:
	FTAPI_UPDATE_HEADER=1 $(CARGO) test --release $(FEATURES) --test header

install: build
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 $(REL)/libftapi.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(REL)/libftapi.so $(DESTDIR)$(PREFIX)/lib/libftapi.so.0
	ln -sf libftapi.so.0 $(DESTDIR)$(PREFIX)/lib/libftapi.so
	install -m 644 include/ftapi.h $(DESTDIR)$(PREFIX)/include/
	install -m 755 $(SIM) $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)|g' \
	    ftapi.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/ftapi.pc

clean:
	$(CARGO) clean

# The full stress run (tests/c/stress.c): 64 connections x 4 sender threads x 1000 requests
# per thread, random closes and frees; figures in docs/RELIABILITY.md. SEED=N repeats a run.
stress: build
	@mkdir -p $(ROOT)/target/c-tests
	$(CC) -std=c11 -O2 -g -Wall -Wextra -Werror -Iinclude tests/c/stress.c -o $(ROOT)/target/c-tests/stress_full \
	    -L$(REL) -lftapi -Wl,-rpath,$(REL) -lpthread
	FTAPI_RATE_LIMIT=off $(SIM) --port 0 --rate-limit off -- $(ROOT)/target/c-tests/stress_full 127.0.0.1 {port} 64 4 1000 180 $(SEED)

# The soak (tests/c/soak.c): 32 auto-reconnecting connections, connect/close churn and
# requests from 4 threads for SOAK_SECS seconds (default 600), against an opend-sim killed and
# restarted every 1-5 s; checks outcomes, RSS, fds, threads; figures in docs/RELIABILITY.md.
# `make test` runs 60 s of it (tests/c/soak.sh). SEED=N repeats a run.
SOAK_SECS ?= 600
soak: build
	@mkdir -p $(ROOT)/target/c-tests
	$(CC) -std=c11 -O2 -g -Wall -Wextra -Werror -Iinclude tests/c/soak.c -o $(ROOT)/target/c-tests/soak \
	    -L$(REL) -lftapi -Wl,-rpath,$(REL) -lpthread
	FTAPI_RATE_LIMIT=off $(ROOT)/target/c-tests/soak $(SOAK_SECS) "$(SEED)"
