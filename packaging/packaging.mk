# Operators' install: what `make install` puts beside the plugin and the checker (plugin.mk and
# gate.mk install those two), `make uninstall`, and the Debian package. Included by the top-level
# Makefile after every part that defines an artifact installed here.
#   make install PREFIX=/usr DESTDIR=...   plugin + wasm-auth-check (stripped), and under
#                                          $(PREFIX)/share/mosquitto-wasm-auth/: default-policy.wasm,
#                                          examples/NAME.wasm, mosquitto.conf.example, acl.example
#   make uninstall PREFIX=... DESTDIR=...  removes all of it
#   make deb                               build/deb/mosquitto-wasm-auth_VERSION-1_ARCH.deb: the
#                                          files of `make install PREFIX=/usr`, built by dpkg-deb
#   make test-install                      `make install DESTDIR=...` into a temp tree, checked
#   make test-deb                          the .deb's metadata, installed into a temp root, and a
#                                          real broker run from that root
.PHONY: install-share uninstall deb test-install test-deb

PACKAGE           := mosquitto-wasm-auth
SHARE_INSTALL_DIR  = $(PREFIX)/share/$(PACKAGE)
# Data files an example reads (examples/NAME/FILE, anything but its sources, specs and README),
# installed as share/mosquitto-wasm-auth/examples/NAME/FILE next to examples/NAME.wasm.
EXAMPLE_DATA      := $(shell find examples -mindepth 2 -maxdepth 2 -type f ! -name '*.ts' ! -name '*.md' 2>/dev/null | sort)
CONF_EXAMPLE_IN   := packaging/mosquitto.conf.example.in
ACL_EXAMPLE       := assembly/run/demo.acl

install: install-share
install-share: $(DEFAULT_POLICY_WASM) $(EXAMPLE_WASMS) $(EXAMPLE_DATA) $(CONF_EXAMPLE_IN) $(ACL_EXAMPLE)
	install -d $(DESTDIR)$(SHARE_INSTALL_DIR)/examples
	install -m 0644 $(DEFAULT_POLICY_WASM) $(DESTDIR)$(SHARE_INSTALL_DIR)/default-policy.wasm
	$(if $(EXAMPLE_WASMS),install -m 0644 $(EXAMPLE_WASMS) $(DESTDIR)$(SHARE_INSTALL_DIR)/examples/)
	for f in $(EXAMPLE_DATA); do \
		install -d "$(DESTDIR)$(SHARE_INSTALL_DIR)/$$(dirname "$$f")" && \
		install -m 0644 "$$f" "$(DESTDIR)$(SHARE_INSTALL_DIR)/$$f" || exit 1; \
	done
	install -m 0644 $(ACL_EXAMPLE) $(DESTDIR)$(SHARE_INSTALL_DIR)/acl.example
	sed -e 's|@PLUGIN_DIR@|$(PLUGIN_INSTALL_DIR)|g' -e 's|@SHARE_DIR@|$(SHARE_INSTALL_DIR)|g' \
		$(CONF_EXAMPLE_IN) > $(DESTDIR)$(SHARE_INSTALL_DIR)/mosquitto.conf.example
	chmod 0644 $(DESTDIR)$(SHARE_INSTALL_DIR)/mosquitto.conf.example

uninstall:
	rm -f $(DESTDIR)$(PLUGIN_INSTALL_DIR)/mosquitto_wasm_auth.so $(DESTDIR)$(PREFIX)/bin/wasm-auth-check
	rm -rf $(DESTDIR)$(SHARE_INSTALL_DIR)

# --- make deb ----------------------------------------------------------------------------------
# dpkg-deb alone (no debhelper): the tree is `make install` into a staging root plus the files
# Debian policy asks for (copyright, changelog.Debian.gz, md5sums). The shared-library
# dependencies are computed by dpkg-shlibdeps (dpkg-dev) from the installed binaries, so they
# follow the distribution (libssl3 on Debian 12, libssl3t64 later); mosquitto (>= 2.0) is added
# by hand: the plugin speaks plugin API v5, which the broker provides, and links no libmosquitto.
DEB_UPSTREAM_VERSION := $(shell sed -n 's/^  "version": *"\([^"]*\)".*/\1/p' package.json | head -n 1)
DEB_REVISION   ?= 1
DEB_VERSION    := $(DEB_UPSTREAM_VERSION)-$(DEB_REVISION)
DEB_ARCH       := $(shell dpkg --print-architecture 2>/dev/null)
DEB_MAINTAINER ?= mosquitto-wasm-auth maintainers <maintainers@users.noreply.r-seed-223c451c.example>
DEB_DIR        := $(BUILD)/deb
# dpkg-shlibdeps wants debian/control and the binaries under debian/PACKAGE/: stage there.
DEB_WORK       := $(DEB_DIR)/work
DEB_ROOT       := $(DEB_WORK)/debian/$(PACKAGE)
DEB_FILE       := $(DEB_DIR)/$(PACKAGE)_$(DEB_VERSION)_$(DEB_ARCH).deb
DEB_DOC_DIR    := $(DEB_ROOT)/usr/share/doc/$(PACKAGE)
DEB_SRC        := $(wildcard packaging/debian/*) package.json packaging/packaging.mk
# The changelog's date: the last commit's, so rebuilding the same tree gives the same file.
DEB_DATE        = $(shell date -R -d @$$(git log -1 --format=%ct 2>/dev/null || date +%s))

deb: $(DEB_FILE)

$(DEB_FILE): $(PLUGIN_SO) $(CHECK_BIN) $(DEFAULT_POLICY_WASM) $(EXAMPLE_WASMS) $(EXAMPLE_DATA) \
             $(CONF_EXAMPLE_IN) $(ACL_EXAMPLE) $(DEB_SRC)
	@for t in dpkg-deb dpkg-shlibdeps; do command -v $$t >/dev/null 2>&1 || \
		{ echo "make deb: $$t not found (apt-get install dpkg-dev)" >&2; exit 1; }; done
	rm -rf $(DEB_WORK) $(DEB_DIR)/$(PACKAGE)_*.deb
	umask 022 && $(MAKE) --no-print-directory install DESTDIR=$(abspath $(DEB_ROOT)) PREFIX=/usr
	install -d $(DEB_DOC_DIR) $(DEB_ROOT)/DEBIAN
	install -m 0644 packaging/debian/copyright $(DEB_DOC_DIR)/copyright
	sed -e 's|@VERSION@|$(DEB_VERSION)|' -e 's|@UPSTREAM_VERSION@|$(DEB_UPSTREAM_VERSION)|' \
		-e 's|@MAINTAINER@|$(DEB_MAINTAINER)|' -e 's|@DATE@|$(DEB_DATE)|' \
		packaging/debian/changelog.in | gzip -9n > $(DEB_DOC_DIR)/changelog.Debian.gz
	chmod 0644 $(DEB_DOC_DIR)/changelog.Debian.gz
	printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' $(PACKAGE) $(PACKAGE) > $(DEB_WORK)/debian/control
	cd $(DEB_WORK) && dpkg-shlibdeps -O \
		$$(find debian/$(PACKAGE) -type f \( -name '*.so' -o -perm -u+x \) | sort) \
		| sed -n 's/^shlibs:Depends=//p' > shlibs.depends
	test -s $(DEB_WORK)/shlibs.depends || { echo "make deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
	sed -e 's|@VERSION@|$(DEB_VERSION)|' -e 's|@ARCH@|$(DEB_ARCH)|' -e 's|@MAINTAINER@|$(DEB_MAINTAINER)|' \
		-e "s|@INSTALLED_SIZE@|$$(du -sk --exclude=DEBIAN $(DEB_ROOT) | cut -f1)|" \
		-e "s|@SHLIBS_DEPENDS@|$$(cat $(DEB_WORK)/shlibs.depends)|" \
		packaging/debian/control.in > $(DEB_ROOT)/DEBIAN/control
	cd $(DEB_ROOT) && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z \
		| xargs -0 md5sum > DEBIAN/md5sums
	chmod 0644 $(DEB_ROOT)/DEBIAN/control $(DEB_ROOT)/DEBIAN/md5sums
	dpkg-deb --root-owner-group --build $(DEB_ROOT) $@

# --- tests -------------------------------------------------------------------------------------
TEST_INSTALL_DIR    := $(BUILD)/test-install
TEST_INSTALL_PREFIX := /usr/local
PACKAGING_TEST_ENV   = $(TEST_ENV) DEFAULT_POLICY_WASM=$(DEFAULT_POLICY_WASM) MULTIARCH=$(MULTIARCH) \
                       PACKAGE_VERSION=$(DEB_UPSTREAM_VERSION)

# The subject is the make command itself: install into a fresh DESTDIR, check the tree, then
# uninstall and check that nothing of ours is left.
test-install: $(HOST_JS) $(PLUGIN_SO) $(CHECK_BIN) $(DEFAULT_POLICY_WASM) $(EXAMPLE_WASMS)
	rm -rf $(TEST_INSTALL_DIR)
	$(MAKE) --no-print-directory install DESTDIR=$(abspath $(TEST_INSTALL_DIR)) PREFIX=$(TEST_INSTALL_PREFIX)
	$(PACKAGING_TEST_ENV) INSTALL_ROOT=$(abspath $(TEST_INSTALL_DIR)) INSTALL_PREFIX=$(TEST_INSTALL_PREFIX) \
		node --test $(BUILD)/js/tests/packaging/install.test.js
	$(MAKE) --no-print-directory uninstall DESTDIR=$(abspath $(TEST_INSTALL_DIR)) PREFIX=$(TEST_INSTALL_PREFIX)
	@left=$$(find $(TEST_INSTALL_DIR) ! -type d); if [ -n "$$left" ]; then \
		echo "FAIL: make uninstall left files behind:"; echo "$$left"; exit 1; fi; \
	 echo "ok: make uninstall removed every installed file"
	rm -rf $(TEST_INSTALL_DIR)

test: test-install test-deb

ifneq ($(shell command -v dpkg-deb >/dev/null 2>&1 && command -v dpkg-shlibdeps >/dev/null 2>&1 && echo yes),)
test-deb: $(DEB_FILE) $(HOST_JS)
	$(PACKAGING_TEST_ENV) DEB_FILE=$(DEB_FILE) node --test $(BUILD)/js/tests/packaging/deb.test.js
else
test-deb:
	@echo "SKIPPED: test-deb: dpkg-deb or dpkg-shlibdeps not found (apt-get install dpkg-dev); the Debian package was not built or tested"
endif
