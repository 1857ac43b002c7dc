# libsecchat: plain GNU make.
#   make                 libsecchat.so.0 + libsecchat.a (+ apps)
#   make test            install missing Debian packages, build, run every test,
#                        then the whole suite again under ASan+UBSan
#   make check           build and run the tests (no package install, no sanitizers)
#   make fuzz            every libFuzzer target for FUZZ_SECONDS (600) each
#   make analyze         cppcheck + clang-tidy (.clang-tidy), then valgrind memcheck over unit suites
#                        and the server's end-to-end tests (tests/analysis/README.md; ~4 min)
#   make bench           micro-benchmarks, then the server against the libwebsockets mirror
#                        (tests/bench/run_bench.sh, ~4.5 min; measurements, never part of make test)
#   make install         honours PREFIX, LIBDIR, INCLUDEDIR, DESTDIR
# Variables: BUILD (output dir), SANITIZE=1, WERROR=1, V=1 (verbose).

VERSION      := 0.1.0
SOVERSION    := 0

PREFIX       ?= /usr/local
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
BINDIR       ?= $(PREFIX)/bin
MANDIR       ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR      ?=

BUILD        ?= build
CC           ?= cc
CFLAGS       ?= -O2 -g
PKG_CONFIG   ?= pkg-config

# libsecchat.pc names its directories relative to ${prefix} where it can, so
# pkg-config --define-prefix can relocate it.
PC_LIBDIR     = $(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))
PC_INCLUDEDIR = $(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))

# Dependencies of the library itself (Requires.private of libsecchat.pc).
# wslay ships no .pc file in Debian, so it is named directly (Libs.private).
LIB_PKGS     := libsodium nettle jansson libuv
LIB_PRIVATE  := -lwslay -pthread
# Extra dependencies of the programs only (line editing in secchat-client; BSD licence).
APP_PKGS     := libedit
# Extra dependencies of the tests only.
TEST_PKGS    := cmocka

WARNINGS     := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
                -Wconversion -Wno-sign-conversion -Wformat=2
ifeq ($(WERROR),1)
WARNINGS     += -Werror
endif
ifeq ($(SANITIZE),1)
SANFLAGS     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
ifeq ($(SANITIZE),thread)
SANFLAGS     := -fsanitize=thread -fno-omit-frame-pointer
endif

pc_cflags     = $(shell $(PKG_CONFIG) --cflags $(1) 2>/dev/null)
pc_libs       = $(shell $(PKG_CONFIG) --libs $(1) 2>/dev/null)

ALL_CFLAGS   := $(WARNINGS) -D_POSIX_C_SOURCE=200809L -fPIC -fvisibility=hidden -Iinclude -Ilib \
                $(call pc_cflags,$(LIB_PKGS)) $(SANFLAGS) $(CFLAGS) -MMD -MP
LIB_LDLIBS   := $(call pc_libs,$(LIB_PKGS)) $(LIB_PRIVATE)
TEST_CFLAGS  := $(filter-out -fvisibility=hidden,$(ALL_CFLAGS)) $(call pc_cflags,$(TEST_PKGS))
TEST_LDLIBS  := $(LIB_LDLIBS) $(call pc_libs,$(TEST_PKGS)) -pthread

ifneq ($(V),1)
Q := @
quiet = @printf '  %-6s %s\n' $(1) $(2);
endif

LIB_SRCS     := $(sort $(wildcard lib/*/*.c))
LIB_OBJS     := $(LIB_SRCS:%.c=$(BUILD)/%.o)
SHARED       := $(BUILD)/libsecchat.so.$(VERSION)
SONAME       := libsecchat.so.$(SOVERSION)
STATIC       := $(BUILD)/libsecchat.a

# tests/<module>/test_*.c are cmocka suites; tests/noise/vector_runner.c is a tool.
UNIT_SRCS    := $(sort $(wildcard tests/*/test_*.c))
UNIT_BINS    := $(UNIT_SRCS:%.c=$(BUILD)/%)
TOOL_SRCS    := tests/noise/vector_runner.c tests/noise/noise_peer.c tests/ws/ws_peer.c tests/chat/session_peer.c \
                $(wildcard tests/server/chat_load.c)
TOOL_BINS    := $(TOOL_SRCS:%.c=$(BUILD)/%)
BENCH_SRCS   := $(sort $(wildcard tests/bench/*.c))
BENCH_BINS   := $(BENCH_SRCS:%.c=$(BUILD)/%)
# apps/<name>/*.c build the program build/apps/<name>, with the public header only.
APP_DIRS     := $(sort $(patsubst %/,%,$(dir $(wildcard apps/*/*.c))))
APP_BINS     := $(APP_DIRS:apps/%=$(BUILD)/apps/%)
EXAMPLE_SRCS := $(sort $(wildcard docs/examples/*.c))
MAN_PAGES    := $(sort $(wildcard docs/*.1))
EXAMPLE_BINS := $(EXAMPLE_SRCS:docs/%.c=$(BUILD)/%)
TEST_HELPERS := $(filter-out tests/common/test_%,$(sort $(wildcard tests/common/*.c)))
HELPER_OBJS  := $(TEST_HELPERS:%.c=$(BUILD)/%.o)

.PHONY: all lib apps examples deps demo check check-thread test bench fuzz install uninstall clean
.DEFAULT_GOAL := all
# Keep test objects between runs (they are otherwise intermediate files).
.SECONDARY:

all: lib apps examples

apps: $(APP_BINS)

examples: $(EXAMPLE_BINS)

lib: $(SHARED) $(STATIC)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(call quiet,CC,$<)$(CC) $(ALL_CFLAGS) -DSECCHAT_BUILDING_LIBRARY -c -o $@ $<

$(SHARED): $(LIB_OBJS)
	$(call quiet,LD,$@)$(CC) $(SANFLAGS) $(CFLAGS) $(LDFLAGS) -shared -Wl,-soname,$(SONAME) -Wl,--no-undefined \
		-o $@ $^ $(LIB_LDLIBS)
	$(Q)ln -sf libsecchat.so.$(VERSION) $(BUILD)/$(SONAME)
	$(Q)ln -sf $(SONAME) $(BUILD)/libsecchat.so

$(STATIC): $(LIB_OBJS)
	$(call quiet,AR,$@)rm -f $@ && $(AR) rcs $@ $^

# Tests link the static library so internal sc_* functions are reachable.
$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(call quiet,CC,$<)$(CC) $(TEST_CFLAGS) -Itests -c -o $@ $<

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(HELPER_OBJS) $(STATIC)
	$(call quiet,LD,$@)$(CC) $(SANFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(HELPER_OBJS) $(STATIC) $(TEST_LDLIBS)

# Programs see nothing but include/ (no -Ilib), like any consumer.
APP_CFLAGS   := $(WARNINGS) -D_POSIX_C_SOURCE=200809L -Iinclude $(call pc_cflags,$(APP_PKGS)) $(SANFLAGS) $(CFLAGS)
APP_LDLIBS   := $(LIB_LDLIBS) $(call pc_libs,$(APP_PKGS)) -pthread
.SECONDEXPANSION:
$(BUILD)/apps/%: $$(wildcard apps/%/*.c) $$(wildcard apps/%/*.h) $(STATIC)
	@mkdir -p $(@D)
	$(call quiet,CC,$@)$(CC) $(APP_CFLAGS) -o $@ $(filter %.c,$^) $(STATIC) $(APP_LDLIBS)

# The documented examples use only the public header, like any consumer.
$(BUILD)/examples/%: docs/examples/%.c $(STATIC)
	@mkdir -p $(@D)
	$(call quiet,CC,$<)$(CC) $(TEST_CFLAGS) -o $@ $< $(STATIC) $(LIB_LDLIBS)

# Installs missing Debian packages (apt-get as root, sudo otherwise).
deps:
	$(Q)sh .ci/install-deps

# The README's first command: set-up, build, and run the chat server on
# 127.0.0.1:8080 (keys from, and on first start created in, ~/.config/secchat).
# Clients: build/apps/secchat-client --name Alice (in other terminals).
demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)echo "== secchat-server on 127.0.0.1:8080; in other terminals run: $(BUILD)/apps/secchat-client --name Alice"
	$(Q)exec $(BUILD)/apps/secchat-server $(DEMO_ARGS)

# End-to-end scripts that drive only the programs of the build: they run
# again against the ASan+UBSan build, so hostile input meets the sanitizers
# (and a leak at the server's exit fails them).
SAN_SCRIPTS := $(wildcard tests/server/test_chat_e2e.sh tests/server/test_trust_e2e.sh \
                          tests/server/test_keepalive.sh tests/server/test_hostile.sh \
                          tests/client/test_client_original.sh tests/apps/test_demo_path.sh \
                          tests/apps/test_keygen.sh)

check: all $(UNIT_BINS) $(TOOL_BINS)
	$(Q)BUILD=$(BUILD) CC="$(CC)" SAN_SCRIPTS="$(SAN_SCRIPTS)" sh tests/run-all.sh $(if $(SANITIZE),--sanitized)

# Threaded tests, run again under ThreadSanitizer: cmocka suites, then the
# server under load (a smaller load, as TSan is slow).
THREAD_TESTS := tests/noise/test_threads tests/chat/test_session_threads \
                $(patsubst %.c,%,$(wildcard tests/server/test_server_api.c tests/client/test_client.c))
THREAD_SCRIPTS := $(wildcard tests/server/test_load.sh)

# The README's test command: set-up, the suite, the suite under ASan+UBSan,
# and the threaded tests under TSan.
test: deps
	$(Q)$(MAKE) --no-print-directory check WERROR=$(WERROR)
	$(Q)$(MAKE) --no-print-directory check BUILD=$(BUILD)/sanitize SANITIZE=1 CFLAGS="-O1 -g" WERROR=$(WERROR)
	$(Q)$(MAKE) --no-print-directory check-thread BUILD=$(BUILD)/tsan SANITIZE=thread CFLAGS="-O1 -g" WERROR=$(WERROR)
	$(Q)cat $(BUILD)/test-totals $(BUILD)/sanitize/test-totals $(BUILD)/tsan/test-totals | \
		awk '{ p += $$1; f += $$2 } END { printf "\nmake test, all builds (plain, ASan+UBSan, TSan):\ntotal: %d passed, %d failed\n", p, f }'

check-thread: $(THREAD_TESTS:%=$(BUILD)/%) $(if $(THREAD_SCRIPTS),$(BUILD)/apps/secchat-server $(BUILD)/tests/server/chat_load)
	$(Q)BUILD=$(BUILD) LOAD_SMALL=1 sh tests/run-all.sh --only $(THREAD_TESTS:%=$(BUILD)/%) $(THREAD_SCRIPTS)

bench: lib apps $(BENCH_BINS)
	$(Q)BUILD=$(BUILD) sh tests/bench/run_bench.sh

# libFuzzer targets (clang), FUZZ_SECONDS each (tests/fuzz/README.md); make
# test runs a 20 s smoke of them through tests/fuzz/test_fuzz_smoke.sh.
FUZZ_SECONDS ?= 600
fuzz:
	$(Q)BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh $(FUZZ_TARGETS)

# Static analysis, then valgrind memcheck (a plain build: not with SANITIZE);
# both always run, and either failing fails the target (tests/analysis/README.md).
.PHONY: analyze analyze-deps analyze-run
ANALYZE_PACKAGES := cppcheck clang-tidy valgrind
analyze: analyze-deps
	$(Q)$(MAKE) --no-print-directory analyze-run

analyze-deps:
	$(Q)sh .ci/install-deps $(ANALYZE_PACKAGES)

analyze-run: all $(UNIT_BINS) $(TOOL_BINS)
	$(Q)status=0; \
	BUILD=$(BUILD) sh tests/analysis/run_static.sh || status=1; \
	BUILD=$(BUILD) sh tests/analysis/run_valgrind.sh || status=1; \
	exit $$status

install: lib apps
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/secchat $(DESTDIR)$(PKGCONFIGDIR)
	install -m 644 include/secchat.h $(DESTDIR)$(INCLUDEDIR)/secchat.h
	install -m 644 include/secchat/*.h $(DESTDIR)$(INCLUDEDIR)/secchat/
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/
	ln -sf libsecchat.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libsecchat.so
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/
	$(if $(APP_BINS),install -d $(DESTDIR)$(BINDIR) && install -m 755 $(APP_BINS) $(DESTDIR)$(BINDIR)/)
	$(if $(MAN_PAGES),install -d $(DESTDIR)$(MANDIR)/man1 && install -m 644 $(MAN_PAGES) $(DESTDIR)$(MANDIR)/man1/)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(PC_LIBDIR)|g' -e 's|@INCLUDEDIR@|$(PC_INCLUDEDIR)|g' \
	    -e 's|@VERSION@|$(VERSION)|g' -e 's|@REQUIRES_PRIVATE@|$(LIB_PKGS)|g' -e 's|@LIBS_PRIVATE@|$(LIB_PRIVATE)|g' \
	    pkgconfig/libsecchat.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/libsecchat.pc

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libsecchat.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	      $(DESTDIR)$(LIBDIR)/libsecchat.so $(DESTDIR)$(LIBDIR)/libsecchat.a \
	      $(DESTDIR)$(PKGCONFIGDIR)/libsecchat.pc $(DESTDIR)$(INCLUDEDIR)/secchat.h
	rm -rf $(DESTDIR)$(INCLUDEDIR)/secchat
	rm -f $(APP_DIRS:apps/%=$(DESTDIR)$(BINDIR)/%) $(MAN_PAGES:docs/%=$(DESTDIR)$(MANDIR)/man1/%)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
