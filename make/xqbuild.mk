# xqbuild.mk: hand the qemu-xen, qemu-xen-traditional and SeaBIOS targets of Xen's make glue to
# xqbuild. Include it at the END of tools/Makefile and of tools/firmware/Makefile:
#
#     include /path/to/xqbuild/make/xqbuild.mk
#
# make's aggregate goals (all, install, clean, uninstall: `make -C tools`, Xen's top-level `make`)
# reach the device models through SUBDIRS-y and the subdir-<goal>-<dir> targets; the fragment puts
# its own names there (xqbuild-qemu-xen, ...), whose targets run xqbuild, so it defines no recipe
# the glue already has and make has nothing to warn about. A glue target named on make's command
# line (`make -C tools subdir-all-qemu-xen-dir`, subtree-force-update's sub-makes) is replaced
# as such: make then warns "overriding recipe" for that component's targets, as it must, because GNU
# make cannot replace an explicit recipe in silence. tools/firmware's seabios-dir, which `all` names
# before this fragment is read, is not replaced: see below. Every other target of Xen's build is unchanged. xqbuild reads the same Config.mk, .config and
# config/Tools.mk, and make's command-line variables reach it through MAKEFLAGS; the `+` prefix gives
# it make's jobserver, so `make -j8` around it shares one job budget.
#
# XQBUILD names the program (default: xqbuild on PATH); XQBUILD_FLAGS adds options (e.g. --offline).
#
# It also reads $(XEN_ROOT)/.Config.mk, the override file the Xen wiki describes, which Xen's own
# Config.mk does not read: here, at the end of the tree's makefiles, where xqbuild reads it too, so
# that make and xqbuild see the same values (a .Config.mk the makefiles already read, say through a
# `-include $(XEN_ROOT)/.Config.mk` in .config, is not read twice).

ifeq ($(filter $(abspath $(XEN_ROOT)/.Config.mk),$(abspath $(MAKEFILE_LIST))),)
-include $(XEN_ROOT)/.Config.mk
endif

XQBUILD ?= xqbuild
XQBUILD_FLAGS ?=
xqbuild-run = +$(XQBUILD) $(1) -C $(XEN_ROOT) $(XQBUILD_FLAGS)

# $(call xqbuild-subdirs,GLUE-DIR,NAME): SUBDIRS-y with GLUE-DIR renamed NAME (in place, so the order
# of the subdirectories, which is the build order, stays).
xqbuild-subdirs = $(foreach d,$(SUBDIRS-y),$(if $(filter $(1),$(d)),$(2),$(d)))
# Whether one of the glue's own targets was asked for by name.
xqbuild-named = $(filter $(1),$(MAKECMDGOALS))

ifneq ($(filter %/tools/firmware,$(CURDIR)),)
# tools/firmware/Makefile
SUBDIRS-y := $(call xqbuild-subdirs,seabios-dir,xqbuild-seabios)
.PHONY: xqbuild-seabios-find subdir-all-xqbuild-seabios subdir-clean-xqbuild-seabios subdir-install-xqbuild-seabios subdir-uninstall-xqbuild-seabios subdir-distclean-xqbuild-seabios
xqbuild-seabios-find:
	$(call xqbuild-run,fetch seabios)
subdir-all-xqbuild-seabios: xqbuild-seabios-find
	$(call xqbuild-run,build seabios)
subdir-clean-xqbuild-seabios:
	$(call xqbuild-run,clean seabios)
# What the glue does for these (its pattern rules), under the glue's names.
subdir-install-xqbuild-seabios: subdir-install-seabios-dir ;
subdir-uninstall-xqbuild-seabios: subdir-uninstall-seabios-dir ;
subdir-distclean-xqbuild-seabios: subdir-distclean-seabios-dir ;

# `all: $(SUBDIRS-y)` above took seabios-dir as a prerequisite when make read it, so the glue's own
# seabios-dir recipe (git-checkout.sh) would run in a tree that has no seabios-dir yet. Rather than
# replace that recipe (make warns "overriding recipe" for an explicit one), the fragment has xqbuild
# fetch SeaBIOS while make reads its makefiles: a makefile it includes is remade first (GNU make's
# "How Makefiles Are Remade"), after which make starts again, finds seabios-dir there and never runs
# the glue's recipe. Only on make's first pass (MAKE_RESTARTS), only when seabios-dir is missing and
# SeaBIOS is configured, and not for the goals that do not need the source (clean and the like) nor
# for xqbuild's own reading of these makefiles (its xqbuild-print-* goals: else it would fetch itself).
xqbuild-fetch-mk := $(XEN_ROOT)/.xqbuild/make/seabios-dir-fetched.mk
xqbuild-source-free-goals := xqbuild-print-% clean distclean uninstall subdir-clean-% subdir-distclean-% subdir-uninstall-% subdirs-clean subdirs-distclean subdirs-uninstall
ifeq ($(MAKE_RESTARTS)$(wildcard seabios-dir),)
ifneq ($(filter xqbuild-seabios,$(SUBDIRS-y)),)
ifneq ($(filter-out $(xqbuild-source-free-goals),$(or $(MAKECMDGOALS),all)),)
-include $(xqbuild-fetch-mk)
$(xqbuild-fetch-mk): xqbuild-fetch-always
	$(call xqbuild-run,fetch seabios)
	@mkdir -p $(@D) && echo '# written by make/xqbuild.mk when it had xqbuild fetch SeaBIOS' > $@
xqbuild-fetch-always:
endif
endif
endif
ifneq ($(call xqbuild-named,subdir-all-seabios-dir subdir-clean-seabios-dir seabios-dir-force-update),)
.PHONY: subdir-all-seabios-dir subdir-clean-seabios-dir seabios-dir-force-update
subdir-all-seabios-dir:
	$(call xqbuild-run,build seabios)
subdir-clean-seabios-dir:
	$(call xqbuild-run,clean seabios)
seabios-dir-force-update:
	$(call xqbuild-run,update seabios --force)
endif

else
# tools/Makefile
SUBDIRS-y := $(call xqbuild-subdirs,qemu-xen-dir,xqbuild-qemu-xen)
SUBDIRS-y := $(call xqbuild-subdirs,qemu-xen-traditional-dir,xqbuild-qemu-xen-traditional)

# $(call xqbuild-component,NAME,GLUE-DIR): the targets the aggregate goals reach for one component.
define xqbuild-component
.PHONY: xqbuild-$(1)-find subdir-all-xqbuild-$(1) subdir-install-xqbuild-$(1) subdir-clean-xqbuild-$(1) subdir-uninstall-xqbuild-$(1) subdir-distclean-xqbuild-$(1)
xqbuild-$(1)-find:
	$$(call xqbuild-run,fetch $(1))
subdir-all-xqbuild-$(1): xqbuild-$(1)-find
	$$(call xqbuild-run,build $(1))
subdir-install-xqbuild-$(1): subdir-all-xqbuild-$(1)
	$$(call xqbuild-run,install $(1) --destdir $$(if $$(DESTDIR),$$(DESTDIR),/))
subdir-clean-xqbuild-$(1):
	$$(call xqbuild-run,clean $(1))
# What the glue does for these, under the glue's names.
subdir-uninstall-xqbuild-$(1): subdir-uninstall-$(2) ;
subdir-distclean-xqbuild-$(1): subdir-distclean-$(2) ;
endef
$(eval $(call xqbuild-component,qemu-xen,qemu-xen-dir))
$(eval $(call xqbuild-component,qemu-xen-traditional,qemu-xen-traditional-dir))

# $(call xqbuild-glue-targets,NAME,GLUE-DIR): the glue's own targets for one component, replaced.
define xqbuild-glue-targets
.PHONY: $(2)-find subdir-all-$(2) subdir-install-$(2) subdir-clean-$(2) $(2)-force-update
$(2)-find:
	$$(call xqbuild-run,fetch $(1))
subdir-all-$(2):
	$$(call xqbuild-run,build $(1))
subdir-install-$(2):
	$$(call xqbuild-run,install $(1) --destdir $$(if $$(DESTDIR),$$(DESTDIR),/))
subdir-clean-$(2):
	$$(call xqbuild-run,clean $(1))
$(2)-force-update:
	$$(call xqbuild-run,update $(1) --force)
endef
xqbuild-glue-names = $(1)-find subdir-all-$(1) subdir-install-$(1) subdir-clean-$(1) $(1)-force-update
ifneq ($(call xqbuild-named,$(call xqbuild-glue-names,qemu-xen-dir)),)
$(eval $(call xqbuild-glue-targets,qemu-xen,qemu-xen-dir))
endif
ifneq ($(call xqbuild-named,$(call xqbuild-glue-names,qemu-xen-traditional-dir)),)
$(eval $(call xqbuild-glue-targets,qemu-xen-traditional,qemu-xen-traditional-dir))
endif
endif
