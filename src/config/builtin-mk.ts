import { defaultRevisions, type ReleaseProfile, type XenVersion } from "./release.js";

/**
 * Built-in makefile text standing in for files a Xen tree would provide. They are evaluated by GNU
 * make like the real files, so standalone mode and an unconfigured tree go through the same code as
 * a configured tree; every value they give is reported as a built-in default.
 */

/** config/Tools.mk and config/Paths.mk as Xen's ./configure writes them with its defaults on Linux. */
export function toolsMkStandIn(): string {
  return `# xqbuild: built-in stand-in for config/Tools.mk and config/Paths.mk (./configure defaults)
prefix := /usr/local
exec_prefix := $(prefix)
bindir := $(exec_prefix)/bin
sbindir := $(exec_prefix)/sbin
libdir := $(exec_prefix)/lib
libexecdir := $(exec_prefix)/lib
datarootdir := $(prefix)/share
includedir := $(prefix)/include
localstatedir := /var
sysconfdir := /etc
LIBEXEC := $(libexecdir)/xen
LIBEXEC_BIN := $(LIBEXEC)/bin
LIBEXEC_LIB := $(LIBEXEC)/lib
LIBEXEC_INC := $(LIBEXEC)/include
SHAREDIR := $(prefix)/share
XENFIRMWAREDIR := $(LIBEXEC)/boot
XEN_SCRIPT_DIR := /etc/xen/scripts
PYTHON := python3
XEN_TOOLS_RPATH := n
GIT_HTTP ?= n
CONFIG_SEABIOS := y
CONFIG_QEMU_TRAD := n
CONFIG_QEMU_XEN := y
CONFIG_QEMUU_EXTRA_ARGS :=
CONFIG_9PFS :=
`;
}

function urlBlock(profile: ReleaseProfile): string {
  const names = ["QEMU_UPSTREAM_URL:qemu-xen", ...(profile.hasQemuTraditional ? ["QEMU_TRADITIONAL_URL:qemu-xen-traditional"] : []), "SEABIOS_UPSTREAM_URL:seabios"];
  const lines = (base: string): string =>
    names
      .map((n) => {
        const [v, repo] = n.split(":");
        return `${v} ?= ${base}${repo}.git`;
      })
      .join("\n");
  if (profile.gitProtocolDefault) {
    return `ifeq ($(GIT_HTTP),y)\n${lines("http://xenbits.xen.org/git-http/")}\nelse\n${lines("git://xenbits.xen.org/")}\nendif`;
  }
  return lines("https://xenbits.xen.org/git-http/");
}

const TRADITIONAL_ALIASES = `ifneq (,$(QEMU_REMOTE))
QEMU_TRADITIONAL_URL ?= $(QEMU_REMOTE)
endif
ifneq (,$(CONFIG_QEMU))
QEMU_TRADITIONAL_LOC ?= $(CONFIG_QEMU)
endif
ifneq (,$(QEMU_TAG))
QEMU_TRADITIONAL_REVISION ?= $(QEMU_TAG)
endif`;

function traditionalDefaults(rev: string): string {
  return `QEMU_TRADITIONAL_INTREE ?= $(XEN_ROOT)/tools/qemu-xen-traditional
QEMU_TRADITIONAL_REVISION ?= ${rev}
QEMU_TRADITIONAL_LOC ?= $(call or,$(wildcard $(QEMU_TRADITIONAL_INTREE)),$(QEMU_TRADITIONAL_URL))`;
}

/**
 * The part of Config.mk, config/<arch>.mk, tools/Makefile and tools/firmware/Makefile that the glue's
 * qemu-xen, qemu-xen-traditional and SeaBIOS targets read, with the defaults of the given release.
 */
export function standaloneMakefile(profile: ReleaseProfile, version: XenVersion): string {
  const revs = defaultRevisions(profile, version);
  return `# xqbuild: built-in defaults of Xen ${profile.id} (standalone mode: there is no Xen tree to read)
ifeq ($(origin XEN_COMPILE_ARCH), undefined)
XEN_COMPILE_ARCH := $(shell uname -m | sed -e s/i.86/x86_32/ -e s/i86pc/x86_32/ -e s/amd64/x86_64/ -e s/armv7.*/arm32/ -e s/armv8.*/arm64/ -e s/aarch64/arm64/)
endif
XEN_TARGET_ARCH ?= $(XEN_COMPILE_ARCH)
ifeq ($(XEN_TARGET_ARCH),x86_64)
IOEMU_CPU_ARCH ?= x86_64
endif
ifeq ($(XEN_TARGET_ARCH),x86_32)
IOEMU_CPU_ARCH ?= i386
endif
ifeq ($(XEN_TARGET_ARCH),arm64)
IOEMU_CPU_ARCH ?= aarch64
endif
ifeq ($(XEN_TARGET_ARCH),arm32)
IOEMU_CPU_ARCH ?= arm
endif
LD = $(CROSS_COMPILE)ld
CC = $(CROSS_COMPILE)gcc
GIT ?= git
DESTDIR ?= /
QEMU_UPSTREAM_INTREE ?= $(XEN_ROOT)/tools/qemu-xen
or = $(if $(strip $(1)),$(1),$(if $(strip $(2)),$(2),$(if $(strip $(3)),$(3),$(if $(strip $(4)),$(4)))))
ifneq (,$(SEABIOS_UPSTREAM_TAG))
SEABIOS_UPSTREAM_REVISION ?= $(SEABIOS_UPSTREAM_TAG)
endif
${profile.hasQemuTraditional ? TRADITIONAL_ALIASES : ""}
${urlBlock(profile)}
QEMU_UPSTREAM_REVISION ?= ${revs.qemu}
SEABIOS_UPSTREAM_REVISION ?= ${profile.seabiosRevision}
${profile.hasQemuTraditional ? traditionalDefaults(revs.traditional) : ""}
QEMU_UPSTREAM_LOC ?= $(call or,$(wildcard $(QEMU_UPSTREAM_INTREE)),$(QEMU_UPSTREAM_URL))
debug ?= ${profile.debugDefault}
ifneq ($(CROSS_COMPILE),)
CROSS_SYS_ROOT ?= /usr/$(CROSS_COMPILE:-=)/sys-root
endif
ifneq ($(XEN_COMPILE_ARCH),$(XEN_TARGET_ARCH))
IOEMU_CONFIGURE_CROSS ?= --cross-prefix=$(CROSS_COMPILE) --interp-prefix=$(CROSS_SYS_ROOT)
endif
ifeq ($(XEN_TOOLS_RPATH),y)
QEMU_UPSTREAM_RPATH := -Wl,-rpath,$(LIBEXEC_LIB):$(libdir)
IOEMU_EXTRA_LDFLAGS := --extra-ldflags="-Wl,-rpath,$(libdir)"
else
QEMU_UPSTREAM_RPATH := -Wl,-rpath,$(LIBEXEC_LIB)
IOEMU_EXTRA_LDFLAGS :=
endif
QEMU_ROOT := $(shell if [ -d "$(QEMU_TRADITIONAL_LOC)" ]; then echo "$(QEMU_TRADITIONAL_LOC)"; else echo .; fi)
SEABIOSCC ?= $(CC)
SEABIOSLD ?= $(LD)
SEABIOS_EXTRAVERSION ?= "-Xen"
`;
}
