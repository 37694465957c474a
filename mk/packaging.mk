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
