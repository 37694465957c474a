# common/ extras: the libFuzzer target for the YAML reader and grammar every
# config shares (clang only; built on demand by tests/integration/config_fuzz.sh),
# and `make format` / `make format-check` over the tree's C (.clang-format).

YAMLCFG_FUZZ_SRCS := common/fuzz/yamlcfg_fuzz.c common/yamlcfg.c common/grammar.c
$(BUILD)/fuzz/yamlcfg_fuzz: $(YAMLCFG_FUZZ_SRCS) $(wildcard common/*.h)
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) -std=gnu11 -g -O1 -D_GNU_SOURCE -Icommon \
		-fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer \
		-o $@ $(YAMLCFG_FUZZ_SRCS) -lyaml -lm

.PHONY: fuzz-config
fuzz-config: $(BUILD)/fuzz/yamlcfg_fuzz

# Formatting (.clang-format; docs/development.md, "Formatting"): every tracked
# C file but the generated vmlinux.h, wherever the modules' folders are.
# tests/layout/format.sh runs format-check in `make test`; FILES=... checks a
# subset (a branch's files).
FORMAT_FILES = $(shell git ls-files '*.c' '*.h' | grep -v '^vmlinux/')
.PHONY: format format-check
format:
	$(Q)clang-format -i $(FORMAT_FILES)
format-check:
	$(Q)tools/format-check.sh $(FILES)
