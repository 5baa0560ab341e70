# xqbuild.mk: hand the qemu-xen, qemu-xen-traditional and SeaBIOS targets of Xen's make glue to
# xqbuild. Include it at the END of tools/Makefile and of tools/firmware/Makefile:
#
#     include /path/to/xqbuild/make/xqbuild.mk
#
# Its recipes then replace the glue's (make warns "overriding recipe for target", which is the point).
# Every other target of Xen's build is unchanged. xqbuild reads the same Config.mk, .config and
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

ifneq ($(filter %/tools/firmware,$(CURDIR)),)
# tools/firmware/Makefile
.PHONY: seabios-dir subdir-all-seabios-dir subdir-clean-seabios-dir seabios-dir-force-update
seabios-dir:
	$(call xqbuild-run,fetch seabios)
subdir-all-seabios-dir:
	$(call xqbuild-run,build seabios)
subdir-clean-seabios-dir:
	$(call xqbuild-run,clean seabios)
seabios-dir-force-update:
	$(call xqbuild-run,update seabios --force)
else
# tools/Makefile
.PHONY: qemu-xen-dir-find subdir-all-qemu-xen-dir subdir-install-qemu-xen-dir subdir-clean-qemu-xen-dir qemu-xen-dir-force-update
qemu-xen-dir-find:
	$(call xqbuild-run,fetch qemu-xen)
subdir-all-qemu-xen-dir:
	$(call xqbuild-run,build qemu-xen)
subdir-install-qemu-xen-dir:
	$(call xqbuild-run,install qemu-xen --destdir $(if $(DESTDIR),$(DESTDIR),/))
subdir-clean-qemu-xen-dir:
	$(call xqbuild-run,clean qemu-xen)
qemu-xen-dir-force-update:
	$(call xqbuild-run,update qemu-xen --force)

.PHONY: qemu-xen-traditional-dir-find subdir-all-qemu-xen-traditional-dir subdir-install-qemu-xen-traditional-dir subdir-clean-qemu-xen-traditional-dir qemu-xen-traditional-dir-force-update
qemu-xen-traditional-dir-find:
	$(call xqbuild-run,fetch qemu-xen-traditional)
subdir-all-qemu-xen-traditional-dir:
	$(call xqbuild-run,build qemu-xen-traditional)
subdir-install-qemu-xen-traditional-dir:
	$(call xqbuild-run,install qemu-xen-traditional --destdir $(if $(DESTDIR),$(DESTDIR),/))
subdir-clean-qemu-xen-traditional-dir:
	$(call xqbuild-run,clean qemu-xen-traditional)
qemu-xen-traditional-dir-force-update:
	$(call xqbuild-run,update qemu-xen-traditional --force)
endif
