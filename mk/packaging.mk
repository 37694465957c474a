# Packages (issue 6): make deb, make rpm. Each builds from the commit at HEAD
# (PKG_TREE=worktree: from the files on disk) into build/packaging/{deb,rpm}/
# and runs its linter.
PKG_OUT := build/packaging
PKG_TREE ?= head

.PHONY: deb rpm packages
deb:
	$(Q)packaging/build-deb.sh $(PKG_OUT)/deb $(PKG_TREE)
rpm:
	$(Q)packaging/build-rpm.sh $(PKG_OUT)/rpm $(PKG_TREE)
packages: deb rpm

# make image: the container image from deploy/kubernetes/Containerfile, built
# from a clean export of HEAD (never the local build/ directory).
CONTAINER_ENGINE ?= $(shell command -v podman || command -v docker)
.PHONY: image
image:
	$(Q)[ -n "$(CONTAINER_ENGINE)" ] || { echo "make image: needs podman or docker" >&2; exit 1; }
	$(Q)ctx=$$(mktemp -d) && trap 'rm -rf "$$ctx"' EXIT && \
		packaging/stage-source.sh "$$ctx" $(PKG_TREE) && \
		v=$$(packaging/version.sh $(PKG_TREE)) && \
		$(CONTAINER_ENGINE) build -f deploy/kubernetes/Containerfile \
			--build-arg VERSION="$$v" -t "seismo:$$(echo $$v | tr '~+' '--')" "$$ctx"
