# seismo: the only entry point.
#   make            build the BPF objects, their skeletons, seismo and seismo-correlator
#   make run        install what is missing, start the agent on its embedded defaults, show seismo top
#   make test       install what is missing, build, run every test (ends with "N passed, N failed, N skipped")
#   make bench      the benchmarks, one comparable line each
#   make SANITIZE=1 test   the same under ASan/UBSan (objects go to build/san)
#   V=1             print full commands
#
# Sources are found by wildcard, so a new module is a new file, not a Makefile
# edit: bpf/*.bpf.c, agent/*.c and agent/<stage>/*.c, chaos/*.c, doctor/*.c,
# correlator/*.c, common/*.c, tests/unit/test_*.c, tests/bpf/test_*.c. Each
# folder is one archive; docs/architecture.md says what each holds and links.
# Extra rules live in mk/*.mk.

.DELETE_ON_ERROR:
.SECONDARY:
.SUFFIXES:
.DEFAULT_GOAL := all

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

CLANG ?= clang
CC ?= gcc
BPFTOOL ?= bpftool
ARCH := x86

ifeq ($(SANITIZE),1)
BUILD ?= build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD ?= build
SANFLAGS :=
endif
# BPF objects and skeletons do not depend on the sanitizer: one copy in build/bpf.
BPFOUT := build/bpf

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-Ivmlinux/$(ARCH) -Iinclude -I$(BPFOUT)
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -D_GNU_SOURCE \
	-Iinclude -Icommon -I$(BPFOUT) -DSEISMO_VERSION='"$(VERSION)"' $(SANFLAGS)
LDFLAGS += $(SANFLAGS)
# The seismo binary's folders (agent pipeline stages, chaos, doctor) find each
# other's headers by name; the correlator sees only its own folder and common/.
# tests/check_includes.sh resolves includes the same way.
AGENT_DIRS := agent $(patsubst %/,%,$(sort $(dir $(wildcard agent/*/*.c agent/*/*.h)))) chaos doctor
AGENT_INC := $(addprefix -I,$(AGENT_DIRS))
# Each binary links only what it uses (tests/integration/link_deps.sh checks
# NEEDED): no SQLite in the agent, no libbpf in the correlator.
AGENT_LIBS := -lbpf -lz -lyaml -ljansson -lcurl -lmicrohttpd -lm -lpthread
CORR_LIBS := -lz -lyaml -ljansson -lcurl -lmicrohttpd -lsqlite3 -lpq -lm -lpthread
# libpq: the correlator's PostgreSQL store (store_pg*.c, action_store_pg.c).
PQ_CFLAGS := $(shell pkg-config --cflags libpq 2>/dev/null || echo -I/usr/include/postgresql)
# Unit and BPF tests may use any archive.
LIBS := -lbpf -lz -lyaml -ljansson -lcurl -lmicrohttpd -lsqlite3 -lpq -lm -lpthread

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BPFOUT)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(BPFOUT)/%.skel.h,$(BPF_SRCS))

COMMON_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard common/*.c))
AGENT_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(filter-out agent/main.c,$(wildcard agent/*.c agent/*/*.c)))
CHAOS_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard chaos/*.c))
DOCTOR_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard doctor/*.c))
CORR_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(filter-out correlator/main.c,$(wildcard correlator/*.c)))
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
BPF_TESTS := $(patsubst tests/bpf/%.c,$(BUILD)/tests/%,$(wildcard tests/bpf/test_*.c))

BINS := $(BUILD)/seismo $(if $(wildcard correlator/main.c),$(BUILD)/seismo-correlator)

.PHONY: all deps deps-build test tests bench run clean install format
all: $(BINS)

deps:
	$(Q)tools/deps.sh all
deps-build:
	$(Q)tools/deps.sh build

# --- BPF: .bpf.c -> .bpf.o -> .skel.h -------------------------------------
$(BPFOUT)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.bpf.h include/seismo/*.h) | $(BPFOUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

$(BPFOUT)/%.skel.h: $(BPFOUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

# --- user space -------------------------------------------------------------
# Every user object may include any skeleton; they are cheap to regenerate.
$(BUILD)/%.o: %.c $(SKELS) | $(BUILD)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/agent/%.o $(BUILD)/chaos/%.o $(BUILD)/doctor/%.o: CFLAGS += $(AGENT_INC)

$(BUILD)/libcommon.a: $(COMMON_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(BUILD)/libagent.a: $(AGENT_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(BUILD)/libchaos.a: $(CHAOS_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(BUILD)/libdoctor.a: $(DOCTOR_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(BUILD)/libcorrelator.a: $(CORR_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# Archive order is use order: doctor calls the collector's probe (agent),
# the agent's orphan sweep and actions call chaos.
SEISMO_ARCHIVES := $(BUILD)/libdoctor.a $(BUILD)/libagent.a $(BUILD)/libchaos.a $(BUILD)/libcommon.a
$(BUILD)/seismo: $(BUILD)/agent/main.o $(SEISMO_ARCHIVES)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(AGENT_LIBS)

$(BUILD)/seismo-correlator: $(BUILD)/correlator/main.o $(BUILD)/libcorrelator.a $(BUILD)/libcommon.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(CORR_LIBS)
$(BUILD)/correlator/%.o: CFLAGS += $(PQ_CFLAGS)

# Unit and BPF tests link against the module archives, so a test pulls in only
# the objects it uses.
TEST_LIBS := $(SEISMO_ARCHIVES) $(BUILD)/libcorrelator.a $(BUILD)/libcommon.a
$(BUILD)/tests/%: CFLAGS += $(AGENT_INC)
$(BUILD)/tests/%: tests/unit/%.c $(TEST_LIBS) $(SKELS)
	$(call msg,TEST-CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(TEST_LIBS) -lcmocka $(LIBS)
$(BUILD)/tests/%: tests/bpf/%.c $(TEST_LIBS) $(SKELS)
	$(call msg,TEST-CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(TEST_LIBS) -lcmocka $(LIBS)

tests: $(BINS) $(UNIT_TESTS) $(BPF_TESTS)

# test_grammar feeds every config reader, the chaos ones by header name
# (their folder may move): put both candidate folders on its path.
$(BUILD)/tests/test_grammar: CFLAGS += -Iagent -Ichaos

$(BPFOUT) $(BUILD):
	$(Q)mkdir -p $@

# --- the two commands ---------------------------------------------------------
test: deps
	$(Q)$(MAKE) --no-print-directory tests
	$(Q)BUILD=$(BUILD) tests/run.sh $(TESTS)

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/run.sh $(BUILD)

bench: deps
	$(Q)$(MAKE) --no-print-directory tests
	$(Q)BUILD=$(BUILD) tools/bench.sh $(BENCH)

install: all
	install -D -m 0755 $(BUILD)/seismo $(DESTDIR)/usr/bin/seismo
	$(if $(wildcard $(BUILD)/seismo-correlator),install -D -m 0755 $(BUILD)/seismo-correlator $(DESTDIR)/usr/bin/seismo-correlator)

clean:
	rm -rf build

-include $(shell find $(BUILD) -type f -name '*.d' 2>/dev/null)
-include $(wildcard mk/*.mk)
