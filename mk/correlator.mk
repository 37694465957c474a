# seismo-correlator extras: the scenario replayer used by its benchmark and
# integration tests, and the libFuzzer target for the ingest parser.

# seismo-ship links the real shipper from libagent.a.
$(BUILD)/seismo-ship: CFLAGS += $(AGENT_INC)
$(BUILD)/seismo-ship: tools/scenario/ship.c $(BUILD)/libagent.a $(BUILD)/libcommon.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libagent.a $(BUILD)/libcommon.a $(AGENT_LIBS)

tests: $(BUILD)/seismo-ship

# libFuzzer: clang only, built on demand by tests/integration/correlator_fuzz.sh.
FUZZ_SRCS := correlator/fuzz/ingest_fuzz.c correlator/ingest.c correlator/ingest_am.c \
	correlator/json_fast.c correlator/json_fast_write.c correlator/labels.c \
	correlator/util.c common/log.c common/fileio.c common/grammar.c common/hash.c \
	common/timefmt.c
FUZZ_CFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -Iinclude -Icommon \
	-fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer
$(BUILD)/fuzz/corr_ingest_fuzz: $(FUZZ_SRCS) correlator/json_parse.cc $(wildcard correlator/*.h)
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG)++ -std=c++17 -g -O1 -D_GNU_SOURCE -Iinclude -Icommon -fno-exceptions \
		-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
		-c correlator/json_parse.cc -o $@-json_parse.o
	$(Q)$(CLANG)++ $(FUZZ_CFLAGS) -o $@ -x c $(FUZZ_SRCS) -x none $@-json_parse.o \
		-ljansson -lz -lsimdjson

.PHONY: fuzz-correlator
fuzz-correlator: $(BUILD)/fuzz/corr_ingest_fuzz

# The ingest parser (correlator/json_parse.cc) is the tree's only C++: it
# wraps Debian's simdjson in the C interface of correlator/json_fast.h.
CXX ?= g++
CXXFLAGS_SEISMO := -std=c++17 -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow \
	-D_GNU_SOURCE -Iinclude -Icommon -fno-exceptions $(SANFLAGS)
CORR_CXX_OBJS := $(patsubst %.cc,$(BUILD)/%.o,$(wildcard correlator/*.cc))
$(BUILD)/correlator/%.o: correlator/%.cc | $(BUILD)
	$(call msg,CXX,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CXX) $(CXXFLAGS_SEISMO) -MMD -MP -c $< -o $@
$(BUILD)/libcorrelator.a: $(CORR_CXX_OBJS)
CORR_LIBS += -lsimdjson -lstdc++
# Unit tests link every archive, the correlator's parser included.
LIBS += -lsimdjson -lstdc++
