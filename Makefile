# almanac: one GNU Makefile for deps, build, run, test and bench.
#   make              build build/almanacd, build/almanac and the dashboard (build/ui)
#   make ui           the dashboard only: ui/ sources -> build/ui (esbuild, npm ci first)
#   make run          deps, build, seed the catalog, serve on 127.0.0.1:8700
#   make test         unit + API tests, then the same under ASan+UBSan
#   make SANITIZE=address,undefined test-once   one pass with sanitizers
#   make bench        benchmarks side by side with nginx
#   make fuzz         libFuzzer targets (clang), each run FUZZ_SECONDS (default 60)
# Quiet by default; V=1 shows the commands.

.DEFAULT_GOAL := all
.SUFFIXES:

CC      ?= cc
PKGS    := libmicrohttpd sqlite3 libcjson libcurl libsodium libzstd
DATA    ?= $(CURDIR)/.data
LISTEN  ?= 127.0.0.1:8700

ifeq ($(SANITIZE),)
  B ?= build
  SANFLAGS :=
else
  B ?= build/san
  SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

ifeq ($(V),1)
  Q :=
else
  Q := @
endif

WARN := -std=c17 -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion \
        -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wformat=2 -Wcast-qual
ifneq ($(CI),)
  WARN += -Werror
endif
ifneq ($(WERROR),)
  WARN += -Werror
endif

# The client links no SQLite and no libmicrohttpd (check-client-link verifies it).
CLI_PKGS := libcjson libcurl libsodium libzstd
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CLI_PKG_LIBS = $(shell pkg-config --libs $(CLI_PKGS) 2>/dev/null)
CFLAGS  ?= -O2 -g
# app/banned.h comes first in every translation unit: banned libc calls do not compile.
BANNED  = -include app/banned.h
ALL_CFLAGS = $(WARN) $(CFLAGS) $(SANFLAGS) -D_GNU_SOURCE $(BANNED) -I. -I$(B)/gen $(PKG_CFLAGS) -MMD -MP
LDLIBS  = $(PKG_LIBS) -lpthread -lm
CLI_LDLIBS = $(CLI_PKG_LIBS) -lpthread -lm

# Three libraries, by who may link them:
#   core    pure code, no SQLite: app, flags, requirements, Python lines, the snapshot
#           model and the resolver, minisign, the Wasm reader, the Pyodide reader;
#   server  the database and everything on it (db, catalog SQL, artifacts store);
#   exec    the executor (cache, fetch, layout, host).
# almanacd links server + core; almanac links exec + core; tests link all three.
CORE_MODULES := catalog/req catalog/pyline catalog/snapshot catalog/snapjson catalog/resolve \
                catalog/diff catalog/worker catalog/eol_plan catalog/eol_json \
                artifacts/minisign artifacts/rotchain artifacts/wasm artifacts/pyodide
CORE_SRCS := $(wildcard app/*.c flags/*.c) $(CORE_MODULES:%=%.c)
SERVER_LIB_SRCS := $(filter-out $(CORE_SRCS),$(wildcard db/*.c catalog/*.c artifacts/*.c))
EXEC_SRCS := $(wildcard executor/*.c)
SRV_SRCS := $(wildcard server/*.c)
CLI_SRCS := $(wildcard cli/*.c)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
MIGRATIONS := $(sort $(wildcard migrations/*.sql))
LIB_SRCS := $(CORE_SRCS) $(SERVER_LIB_SRCS)

CORE_OBJS := $(CORE_SRCS:%.c=$(B)/obj/%.o)
SERVER_LIB_OBJS := $(SERVER_LIB_SRCS:%.c=$(B)/obj/%.o) $(B)/obj/gen/migrations.o
EXEC_OBJS := $(EXEC_SRCS:%.c=$(B)/obj/%.o)
SRV_OBJS := $(SRV_SRCS:%.c=$(B)/obj/%.o)
CLI_OBJS := $(CLI_SRCS:%.c=$(B)/obj/%.o)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
CORE_LIB := $(B)/libalmanac-core.a
SERVER_LIB := $(B)/libalmanac-server.a
EXEC_LIB := $(B)/libalmanac-exec.a
# The server's own objects (not main), for tests of its pure parts (routes, headers).
SRV_LIB := $(B)/libalmanac-srv.a
SRV_LIB_OBJS := $(filter-out $(B)/obj/server/main.o,$(SRV_OBJS))
ALL_LIBS := $(SRV_LIB) $(SERVER_LIB) $(EXEC_LIB) $(CORE_LIB)

.PHONY: all deps run seed serve test test-once unit api bench fuzz clean format format-check install \
        check-layers check-client-link ui
all: $(B)/almanacd $(B)/almanac ui

# The dashboard: built once into build/ui whatever B is (almanacd finds it next to
# itself, build/ui or ../ui); npm ci when the pinned dependencies are not installed.
UI_OUT := build/ui
UI_SRCS := $(wildcard ui/src/*.js ui/src/pages/*.js ui/src/*.css ui/src/*.html ui/src/*.svg) \
           ui/build.mjs ui/package-lock.json
ui: $(UI_OUT)/index.html
$(UI_OUT)/index.html: $(UI_SRCS)
	@$(if $(Q),echo "  UI      $(UI_OUT)")
	$(Q)if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules ]; then \
	    (cd ui && npm ci --no-audit --no-fund --loglevel=error >&2); fi
	$(Q)node ui/build.mjs $(UI_OUT) >/dev/null

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/gen/migrations.c: $(MIGRATIONS) scripts/embed-migrations.sh
	@mkdir -p $(dir $@)
	$(Q)sh scripts/embed-migrations.sh $(MIGRATIONS) > $@.tmp && mv $@.tmp $@

# The SQL is one long literal per migration; C's 4095-byte minimum is not our limit.
$(B)/obj/gen/migrations.o: $(B)/gen/migrations.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-overlength-strings -c -o $@ $<

$(CORE_LIB): $(CORE_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(SERVER_LIB): $(SERVER_LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(SRV_LIB): $(SRV_LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(EXEC_LIB): $(EXEC_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/almanacd: $(SRV_OBJS) $(SERVER_LIB) $(CORE_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SANFLAGS) -o $@ $(SRV_OBJS) $(SERVER_LIB) $(CORE_LIB) $(LDLIBS)

# `almanac --version` names the commit it was built from.
GIT_COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
$(B)/obj/cli/output.o: CFLAGS += -DALMANAC_GIT_COMMIT=\"$(GIT_COMMIT)\"

$(B)/almanac: $(CLI_OBJS) $(EXEC_LIB) $(CORE_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SANFLAGS) -o $@ $(CLI_OBJS) $(EXEC_LIB) $(CORE_LIB) $(CLI_LDLIBS)

# Shared test data (tests/lib), linked by the unit tests, benches and fuzzers.
TESTLIB_SRCS := $(filter-out tests/lib/unit.c,$(wildcard tests/lib/*.c))
TESTLIB_OBJS := $(TESTLIB_SRCS:%.c=$(B)/obj/%.o)
# How a unit test runs its Check suite (needs libcheck: unit tests only).
UNITLIB_OBJ := $(B)/obj/tests/lib/unit.o

# The config reader lives in the client; its unit test links it (and its TOML reader) alone.
$(B)/tests/test_wrangler: tests/unit/test_wrangler.c $(B)/obj/cli/wrangler.o $(B)/obj/cli/toml.o $(UNITLIB_OBJ) $(ALL_LIBS)
	@mkdir -p $(dir $@) $(B)/obj/tests
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(ALL_CFLAGS) -MF $(B)/obj/tests/test_wrangler.d -o $@ $< $(B)/obj/cli/wrangler.o $(B)/obj/cli/toml.o $(UNITLIB_OBJ) $(ALL_LIBS) $(shell pkg-config --cflags --libs check) $(LDLIBS)

$(B)/tests/%: tests/unit/%.c $(TESTLIB_OBJS) $(UNITLIB_OBJ) $(ALL_LIBS)
	@mkdir -p $(dir $@) $(B)/obj/tests
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(ALL_CFLAGS) -MF $(B)/obj/tests/$*.d -o $@ $< $(TESTLIB_OBJS) $(UNITLIB_OBJ) $(ALL_LIBS) $(shell pkg-config --cflags --libs check) $(LDLIBS)

# No include cycle, layers point down, the client includes only core modules.
check-layers:
	$(Q)sh scripts/check-layers.sh $(CORE_MODULES)

# The client binary holds no SQLite and no server or database code.
check-client-link: $(B)/almanac
	$(Q)sh scripts/check-client-link.sh $(B)/almanac

deps:
	$(Q)sh scripts/deps.sh

run: deps all
	$(Q)mkdir -p $(DATA)
	$(Q)$(B)/almanacd seed --data $(DATA)
	$(Q)$(B)/almanacd serve --data $(DATA) --listen $(LISTEN)

# The whole suite: a normal pass, then the same tests built with sanitizers.
test: deps
	$(Q)sh tests/run-all.sh

# One pass (unit + API) with the current SANITIZE setting.
test-once: all $(UNIT_BINS)
	$(Q)sh tests/run.sh $(B)

unit: $(UNIT_BINS)

BENCH_SRCS := $(wildcard tests/bench/*.c)
BENCH_BINS := $(BENCH_SRCS:tests/bench/%.c=$(B)/bench/%)
$(B)/bench/%: tests/bench/%.c $(ALL_LIBS)
	@mkdir -p $(dir $@) $(B)/obj/bench
	$(Q)$(CC) $(ALL_CFLAGS) -MF $(B)/obj/bench/$*.d -o $@ $< $(ALL_LIBS) $(LDLIBS)

bench: deps all $(BENCH_BINS)
	$(Q)sh tests/bench/run.sh $(B)

# make fuzz: build every target, then run each for FUZZ_SECONDS (default 60) with its
# corpus in build/fuzz/corpus/NAME (seeded from tests/fuzz/corpus/NAME when present).
FUZZ_SECONDS ?= 60
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)
fuzz: $(FUZZ_BINS)
	$(Q)set -e; for f in $(FUZZ_BINS); do \
	  n=$$(basename $$f); mkdir -p build/fuzz/corpus/$$n; \
	  if [ -d tests/fuzz/corpus/$$n ]; then cp -n tests/fuzz/corpus/$$n/* build/fuzz/corpus/$$n/ 2>/dev/null || true; fi; \
	  echo "  FUZZ    $$n ($(FUZZ_SECONDS)s)"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 build/fuzz/corpus/$$n 2>build/fuzz/$$n.log || \
	    { tail -n 40 build/fuzz/$$n.log; exit 1; }; \
	done
FUZZ_LIB_SRCS := $(LIB_SRCS) $(TESTLIB_SRCS) server/route.c server/headers.c
build/fuzz/fuzz_wrangler: tests/fuzz/fuzz_wrangler.c cli/wrangler.c cli/toml.c $(LIB_SRCS) $(B)/gen/migrations.c
	@mkdir -p $(dir $@)
	$(Q)clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE $(BANNED) -I. -I$(B)/gen \
	  $(PKG_CFLAGS) -o $@ $< cli/wrangler.c cli/toml.c $(LIB_SRCS) $(B)/gen/migrations.c $(LDLIBS)

build/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_SRCS) $(B)/gen/migrations.c
	@mkdir -p $(dir $@)
	$(Q)clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE $(BANNED) -I. -I$(B)/gen \
	  $(PKG_CFLAGS) -o $@ $< $(FUZZ_LIB_SRCS) $(B)/gen/migrations.c $(LDLIBS)

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	$(Q)clang-format -i $(FORMAT_FILES)

format-check:
	$(Q)clang-format --dry-run --Werror $(FORMAT_FILES)

# make install PREFIX=/usr/local DESTDIR=: the binaries, the executor's files where
# almanac finds them from its own path (PREFIX/share/almanac/executor), manual pages
# and completions made from the binaries' help, and the systemd unit with its user.
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(PREFIX)/bin
SHAREDIR = $(PREFIX)/share
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
# The executor's runtime files (host.mjs, its Python modules, ...): not its C, bench or docs.
EXECUTOR_FILES = $(shell { git ls-files executor 2>/dev/null || find executor -type f -not -path '*/node_modules/*'; } | \
                   grep -v -e '\.[ch]$$' -e '/bench\.mjs$$' -e 'README\.md$$')
install: all
	$(Q)install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SHAREDIR)/almanac \
	  $(DESTDIR)$(SHAREDIR)/man/man1 $(DESTDIR)$(SHAREDIR)/man/man8 \
	  $(DESTDIR)$(SHAREDIR)/bash-completion/completions \
	  $(DESTDIR)$(SHAREDIR)/zsh/vendor-completions \
	  $(DESTDIR)$(SHAREDIR)/fish/vendor_completions.d \
	  $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR)
	$(Q)install -m 0755 $(B)/almanac $(B)/almanacd $(DESTDIR)$(BINDIR)/
	$(Q)for f in $(EXECUTOR_FILES); do \
	  install -D -m 0644 "$$f" "$(DESTDIR)$(SHAREDIR)/almanac/$$f" || exit 1; done
	$(Q)test -f $(DESTDIR)$(SHAREDIR)/almanac/executor/host.mjs || { echo "install: no executor/host.mjs" >&2; exit 1; }
	$(Q)if [ -d executor/node_modules ]; then cp -R executor/node_modules $(DESTDIR)$(SHAREDIR)/almanac/executor/; fi
	$(Q)$(B)/almanac manpage > $(DESTDIR)$(SHAREDIR)/man/man1/almanac.1
	$(Q)sh scripts/man-almanacd.sh $(B)/almanacd > $(DESTDIR)$(SHAREDIR)/man/man8/almanacd.8
	$(Q)$(B)/almanac completion bash > $(DESTDIR)$(SHAREDIR)/bash-completion/completions/almanac
	$(Q)$(B)/almanac completion zsh > $(DESTDIR)$(SHAREDIR)/zsh/vendor-completions/_almanac
	$(Q)$(B)/almanac completion fish > $(DESTDIR)$(SHAREDIR)/fish/vendor_completions.d/almanac.fish
	$(Q)sed 's|@BINDIR@|$(BINDIR)|g' dist/almanacd.service.in > $(DESTDIR)$(UNITDIR)/almanacd.service
	$(Q)install -m 0644 dist/almanac.sysusers $(DESTDIR)$(SYSUSERSDIR)/almanac.conf
	@echo "installed under $(DESTDIR)$(PREFIX)"

clean:
	rm -rf build

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
