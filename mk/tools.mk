# Test tools (issue 2, items 6 and 7): the test server with controllable
# latency/status and the closed-loop load generator. Built by `make tests`
# because the integration tests and benchmarks run them.
TOOLS := $(BUILD)/tools/seismo-testserver $(BUILD)/tools/seismo-loadgen

$(BUILD)/tools/seismo-testserver: tools/testserver.c | $(BUILD)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< -lpthread

$(BUILD)/tools/seismo-loadgen: tools/loadgen.c $(BUILD)/libcommon.a | $(BUILD)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libcommon.a -ljansson -lyaml -lm -lpthread

.PHONY: tools
tools: $(TOOLS)
tests: $(TOOLS)
