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
$(BUILD)/fuzz/corr_ingest_fuzz: $(FUZZ_SRCS) $(wildcard correlator/*.h)
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -o $@ $(FUZZ_SRCS) -ljansson -lz

.PHONY: fuzz-correlator
fuzz-correlator: $(BUILD)/fuzz/corr_ingest_fuzz
