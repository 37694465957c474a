# The web console (issue 13, docs/console.md): web/src is bundled with
# esbuild (versions locked in web/package-lock.json, installed by npm ci)
# into build/web/console/, and correlator/console.c embeds those files with
# .incbin, so the binary serves the console with no file on disk and no CDN.
# Like the BPF objects, the bundle does not depend on SANITIZE: one copy.
# Without Node.js/npm or the registry, web/build.sh puts a placeholder page
# there instead (with a warning) so the correlator still builds, and make
# tries the real build again next time.
WEB_OUT := build/web/console
WEB_STAMP := build/web/console.stamp
WEB_SRCS := $(wildcard web/src/*) web/build.mjs web/build.sh web/fallback.html \
	web/package.json web/package-lock.json

# While a placeholder stands in (no Node.js/npm or no registry last time),
# every make tries the real build again.
WEB_RETRY := $(if $(wildcard $(WEB_OUT)/.placeholder),web-retry)
.PHONY: web-retry

$(WEB_STAMP): $(WEB_SRCS) $(WEB_RETRY)
	$(call msg,WEB,$(WEB_OUT))
	$(Q)mkdir -p $(dir $@)
	$(Q)web/build.sh $(WEB_OUT) $@

# console.o includes the bundle's bytes: rebuild it when they change.
$(BUILD)/correlator/console.o: $(WEB_STAMP)
$(BUILD)/correlator/console.o: CFLAGS += -DCONSOLE_ASSET_DIR='"$(abspath $(WEB_OUT))"'

.PHONY: web
web: $(WEB_STAMP)
