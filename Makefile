# mailtls — top-level build. pkg-config finds every dependency.
# Layout: core/*/*.c -> core/libmailtls.a; <prog>/main.c + <prog>/*.c -> <prog>/<prog>;
# tests/unit/*_test.c -> one binary each, linked with the core and every program's
# non-main objects (a program's modules are prefixed by its name, so they never clash).

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
PKGS    := gnutls gnutls-dane libxml-2.0 jansson zlib libidn2 ldns
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# ldns has no .pc on some Debian releases: fall back to -lldns
ifeq ($(findstring ldns,$(PKG_LIBS)),)
PKG_CFLAGS := $(shell pkg-config --cflags gnutls gnutls-dane libxml-2.0 jansson zlib libidn2)
PKG_LIBS   := $(shell pkg-config --libs gnutls gnutls-dane libxml-2.0 jansson zlib libidn2) -lldns
endif

SAN_FLAGS ?=
OPT     ?= -O2 -g
CFLAGS  ?=
CFLAGS  += -std=c11 -D_GNU_SOURCE $(OPT) -Wall -Wextra -Werror -Wno-unused-parameter \
           -Icore/include $(PKG_CFLAGS) $(SAN_FLAGS)
LDFLAGS += $(SAN_FLAGS)
LDLIBS  += $(PKG_LIBS) -lpthread -lm

PROGRAMS := $(patsubst %/main.c,%,$(wildcard */main.c))
CORE_SRC := $(wildcard core/*/*.c)
CORE_OBJ := $(CORE_SRC:.c=.o)
CORE_LIB := core/libmailtls.a

# each program's modules other than main.c
define prog_objs
$(patsubst %.c,%.o,$(filter-out $(1)/main.c,$(wildcard $(1)/*.c)))
endef
PROG_MOD_OBJ := $(foreach p,$(PROGRAMS),$(call prog_objs,$(p)))
BINS := $(foreach p,$(PROGRAMS),$(p)/$(p))

UNIT_SRC := $(wildcard tests/unit/*_test.c)
UNIT_BIN := $(UNIT_SRC:.c=)
HELPER_SRC := $(wildcard tests/fixtures/*.c)
HELPER_BIN := $(HELPER_SRC:.c=)

all: $(BINS) $(UNIT_BIN) $(HELPER_BIN)

$(CORE_LIB): $(CORE_OBJ)
	rm -f $@ && ar rcs $@ $^

# core objects depend on the core headers only; programs and tests on every header
core/%.o: core/%.c $(wildcard core/include/mailtls/*.h)
	$(CC) $(CFLAGS) -c -o $@ $<

%.o: %.c $(wildcard core/include/mailtls/*.h) $(wildcard */*.h)
	$(CC) $(CFLAGS) -c -o $@ $<

define prog_rule
$(1)/$(1): $(1)/main.o $(call prog_objs,$(1)) $(CORE_LIB)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach p,$(PROGRAMS),$(eval $(call prog_rule,$(p))))

tests/unit/%_test: tests/unit/%_test.o $(PROG_MOD_OBJ) $(CORE_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

tests/fixtures/%: tests/fixtures/%.o $(CORE_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# README's test command. The runner prints "N passed, N failed, N skipped".
check: all
	tests/run.sh

# The same suite, built and run under AddressSanitizer + UndefinedBehaviorSanitizer.
check-asan:
	$(MAKE) clean
	$(MAKE) all SAN_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" OPT="-O1 -g"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 tests/run.sh
	$(MAKE) clean

# The main job: probe a loopback server with a chain generated on the spot.
demo: all
	tests/demo.sh

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_SECONDS ?= 20
fuzz:
	@for f in $(FUZZ_SRC); do \
	  b=$${f%.c}; \
	  clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Icore/include $(PKG_CFLAGS) \
	    -o $$b $$f $(filter-out %/main.c,$(CORE_SRC)) $(foreach p,$(PROGRAMS),$(filter-out $(p)/main.c,$(wildcard $(p)/*.c))) $(PKG_LIBS) -lpthread -lm || exit 1; \
	  echo "fuzz: $$b for $(FUZZ_SECONDS)s"; \
	  mkdir -p $${b}_corpus; \
	  $$b -max_total_time=$(FUZZ_SECONDS) -max_len=4096 $${b}_corpus >/dev/null 2>$$b.log || { tail -50 $$b.log; exit 1; }; \
	  grep -E "^#[0-9]+.*DONE" $$b.log | tail -1; \
	done

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	for m in man/*.1; do [ -f "$$m" ] && install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man1/; done; true
	for m in man/*.8; do [ -f "$$m" ] && install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man8/; done; true

clean:
	rm -f $(CORE_OBJ) $(CORE_LIB) $(BINS) $(foreach p,$(PROGRAMS),$(p)/*.o) $(UNIT_BIN) tests/unit/*.o \
	      $(HELPER_BIN) tests/fixtures/*.o $(patsubst %.c,%,$(FUZZ_SRC)) tests/fuzz/*.log

.PHONY: all check check-asan demo fuzz install clean
