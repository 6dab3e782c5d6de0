# okta-jit - GNU make build. `make`, `make check`, `make install`.
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
# bash-completion loads completions/NAME when NAME is first completed
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
SYSCONFDIR ?= /etc
PKG_CONFIG ?= pkg-config
PAMDIR     ?= $(shell $(PKG_CONFIG) --variable=libdir pam)/security
# glibc loads NSS modules by soname from the system library folder.
NSSLIBDIR  ?= $(shell $(PKG_CONFIG) --variable=libdir pam)
PYTHON     ?= /usr/bin/python3
CC         ?= cc
WERROR     ?= 1
BUILD      ?= build

PKGS := libcurl openssl libcjson inih sqlite3 libpq

WARN := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wwrite-strings -Wcast-qual -Wno-unused-parameter
ifeq ($(WERROR),1)
WARN += -Werror
endif
HARDEN := -D_FORTIFY_SOURCE=2 -fstack-protector-strong
OPT    ?= -O2 -g
BASE_CFLAGS := -std=gnu11 $(OPT) $(WARN) $(HARDEN) -D_GNU_SOURCE -pthread $(EXTRA_CFLAGS)
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS))
EXE_CFLAGS := $(BASE_CFLAGS) -fPIE $(PKG_CFLAGS)
EXE_LDFLAGS := -pie -Wl,-z,relro,-z,now -pthread $(EXTRA_LDFLAGS)
SO_CFLAGS  := $(BASE_CFLAGS) -fPIC -fvisibility=hidden
SO_LDFLAGS := -shared -Wl,-z,relro,-z,now -Wl,-z,defs $(EXTRA_LDFLAGS)

# helper/ is layered, lowest first (helper/LAYERS, README "Layout"); every
# layer's folder is on the include path and `make layers` checks who may
# include what.
LAYER_DIRS := common ledger config okta daemon cli web
LAYER_INC  := $(LAYER_DIRS:%=-Ihelper/%)
HELPER_HDRS := $(wildcard helper/*/*.h)
LIB_SRCS := helper/common/util.c helper/common/duration.c helper/common/names.c helper/common/proto.c helper/common/proto_records.c \
	helper/common/answers.c helper/common/audit.c helper/common/nss_cache.c helper/common/nss_cache_write.c \
	helper/common/sshkey.c helper/common/atomic_file.c \
	helper/ledger/ledger.c helper/ledger/ledger_types.c helper/ledger/ledger_schema.c helper/ledger/ledger_sqlite.c helper/ledger/ledger_sqlite_grants.c helper/ledger/ledger_sqlite_events.c helper/ledger/ledger_sqlite_snapshots.c helper/ledger/ledger_sqlite_drift.c helper/ledger/ledger_pg.c helper/ledger/ledger_pg_grants.c helper/ledger/ledger_pg_events.c helper/ledger/ledger_pg_snapshots.c helper/ledger/ledger_pg_drift.c \
	helper/config/config.c helper/config/config_check.c helper/config/config_lookup.c helper/config/config_web.c helper/config/config_edit.c \
	helper/okta/keyfile.c helper/okta/okta_key.c helper/okta/jwt.c helper/okta/okta_http.c helper/okta/okta_errors.c \
	helper/okta/okta_client.c helper/okta/okta_token.c helper/okta/okta_call.c helper/okta/okta_objects.c \
	helper/okta/okta_users.c helper/okta/okta_groups.c helper/okta/oidc_verify.c \
	helper/daemon/jitd.c helper/daemon/pool.c helper/daemon/check_cache.c helper/daemon/check_groups.c helper/daemon/check_decide.c helper/daemon/grants.c helper/daemon/grants_actions.c helper/daemon/grants_approvers.c helper/daemon/refusals.c \
	helper/daemon/sessions.c helper/daemon/lifecycle.c helper/daemon/snapshots.c helper/daemon/drift.c helper/daemon/notify.c helper/daemon/daemon.c helper/daemon/daemon_dispatch.c helper/daemon/mirror.c helper/daemon/fleet_sig.c helper/daemon/directory.c helper/daemon/nss_writer.c helper/daemon/web_identity.c helper/daemon/metrics.c helper/daemon/metrics_collect.c \
	helper/cli/client.c helper/cli/cli_key.c helper/cli/cli_metrics.c helper/cli/complete.c helper/cli/doctor.c helper/cli/keycmd.c helper/cli/table.c
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB      := $(BUILD)/libokta-jit.a

# okta-jit-web (issue 19): its own folder, the common layer and the config
# layer (the one reader of okta-jit.conf; with ledger_types.o for the
# ledger URI's shape and libpq for its parser), nothing of the Okta key
# code or the ledger backends; libmicrohttpd for this binary only.
WEB_PKGS   := libmicrohttpd libcurl libcrypto libcjson inih libpq
WEB_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(WEB_PKGS))
WEB_LIBS   := $(shell $(PKG_CONFIG) --libs $(WEB_PKGS))
WEB_SRCS := helper/web/web_html.c helper/web/web_http.c helper/web/web_oidc.c helper/web/web_session.c \
	helper/web/web_config.c helper/web/web_jitd.c helper/web/web_pages.c
WEB_OBJS := $(WEB_SRCS:%.c=$(BUILD)/%.o)
WEB_LIB  := $(BUILD)/libokta-jit-web.a
COMMON_OBJS := $(filter $(BUILD)/helper/common/%,$(LIB_OBJS))
WEB_DEP_OBJS := $(filter $(BUILD)/helper/config/%,$(LIB_OBJS)) $(BUILD)/helper/ledger/ledger_types.o $(COMMON_OBJS)

CLI      := $(BUILD)/okta-jit
WEB      := $(BUILD)/okta-jit-web
DAEMON   := $(BUILD)/okta-jitd
PAM_MOD  := $(BUILD)/pam_okta_jit.so
NSS_MOD  := $(BUILD)/libnss_okta_jit.so.2
# Unit tests sit in tests/unit/LAYER/, beside the layer they test; each
# builds to $(BUILD)/tests/test_NAME.
UNIT_SRCS  := $(wildcard tests/unit/*/test_*.c)
WEB_UNIT_SRCS := $(wildcard tests/unit/web/test_*.c)
UNIT_BINS  := $(addprefix $(BUILD)/tests/,$(basename $(notdir $(UNIT_SRCS))))

.PHONY: all check unit-tests install clean demo deps layers
all: $(CLI) $(DAEMON) $(PAM_MOD) $(NSS_MOD) $(WEB)

$(BUILD)/helper/%.o: helper/%.c $(HELPER_HDRS) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(EXE_CFLAGS) $(LAYER_INC) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(CLI): $(BUILD)/helper/cli/okta-jit.o $(LIB)
	$(CC) $(EXE_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(WEB_OBJS) $(BUILD)/helper/web/okta-jit-web.o: EXE_CFLAGS += $(WEB_CFLAGS)
$(WEB_LIB): $(WEB_OBJS)
	@rm -f $@
	ar rcs $@ $^
$(WEB): $(BUILD)/helper/web/okta-jit-web.o $(WEB_LIB) $(WEB_DEP_OBJS) $(BUILD)/helper/common/log_journal.o
	$(CC) $(EXE_LDFLAGS) -o $@ $^ $(WEB_LIBS) $(shell $(PKG_CONFIG) --libs libsystemd)

# The PAM module links the wire protocol and libpam, nothing else.
$(BUILD)/pam/%.o: pam_module/%.c helper/common/proto.h helper/common/answers.h Makefile
	@mkdir -p $(dir $@)
	$(CC) $(SO_CFLAGS) -Ihelper/common -c -o $@ $<
$(BUILD)/pam/proto.o: helper/common/proto.c helper/common/proto.h Makefile
	@mkdir -p $(dir $@)
	$(CC) $(SO_CFLAGS) -c -o $@ $<
# -z nodelete: libpam dlcloses every module at pam_end; a process that
# runs PAM again (sshd's monitor, a display manager, the benchmark) then
# pays a fresh mmap and relocation per login (~50 µs on the CI VM). The
# module keeps no state, so staying mapped changes nothing else.
$(PAM_MOD): $(BUILD)/pam/pam_okta_jit.o $(BUILD)/pam/proto.o
	$(CC) $(SO_LDFLAGS) -Wl,-z,nodelete -o $@ $^ -lpam

# The NSS module runs in every process that resolves a name: the cache
# reader and libc, nothing else (no writer, no -lpthread beyond libc's).
# Only the _nss_okta_jit_* symbols are exported (-fvisibility=hidden).
$(BUILD)/nss/%.o: nss_module/%.c helper/common/nss_cache.h Makefile
	@mkdir -p $(dir $@)
	$(CC) $(SO_CFLAGS) -Ihelper/common -c -o $@ $<
$(BUILD)/nss/nss_cache.o: helper/common/nss_cache.c helper/common/nss_cache.h Makefile
	@mkdir -p $(dir $@)
	$(CC) $(SO_CFLAGS) -c -o $@ $<
$(NSS_MOD): $(BUILD)/nss/nss_okta_jit.o $(BUILD)/nss/nss_cache.o
	$(CC) $(SO_LDFLAGS) -Wl,-soname,libnss_okta_jit.so.2 -o $@ $^

# The journal's native sender (issue 22): okta-jitd and okta-jit-web
# only; the PAM and NSS modules and the CLI never load libsystemd.
JOURNAL_OBJ  := $(BUILD)/helper/common/log_journal.o
JOURNAL_LIBS := $(shell $(PKG_CONFIG) --libs libsystemd)

$(DAEMON): $(BUILD)/helper/daemon/okta-jitd.o $(JOURNAL_OBJ) $(LIB)
	$(CC) $(EXE_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(JOURNAL_LIBS)

define unit_test_rule
$(BUILD)/tests/$(basename $(notdir $(1))): $(1) $$(LIB) $$(HELPER_HDRS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(EXE_CFLAGS) $$(LAYER_INC) $$(shell $$(PKG_CONFIG) --cflags cmocka) -o $$@ $$< $$(LIB) \
		$$(EXE_LDFLAGS) $$(PKG_LIBS) $$(shell $$(PKG_CONFIG) --libs cmocka)
endef
$(foreach s,$(filter-out $(WEB_UNIT_SRCS),$(UNIT_SRCS)),$(eval $(call unit_test_rule,$(s))))
# The web layer's tests link what okta-jit-web links.
define web_unit_test_rule
$(BUILD)/tests/$(basename $(notdir $(1))): $(1) $$(WEB_LIB) $$(WEB_DEP_OBJS) $$(HELPER_HDRS)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(EXE_CFLAGS) $$(WEB_CFLAGS) $$(LAYER_INC) $$(shell $$(PKG_CONFIG) --cflags cmocka) -o $$@ $$< \
		$$(WEB_LIB) $$(WEB_DEP_OBJS) $$(EXE_LDFLAGS) $$(WEB_LIBS) $$(shell $$(PKG_CONFIG) --libs cmocka)
endef
$(foreach s,$(WEB_UNIT_SRCS),$(eval $(call web_unit_test_rule,$(s))))

TOOLS := $(BUILD)/tests/okta_driver $(BUILD)/tests/pam_driver $(BUILD)/tests/ledger_driver $(BUILD)/tests/nss_cache_tool \
	$(BUILD)/tests/nss_cache_dump
$(BUILD)/tests/nss_cache_dump: tests/tools/nss_cache_dump.c $(LIB) $(HELPER_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(EXE_CFLAGS) $(LAYER_INC) -o $@ $< $(LIB) $(EXE_LDFLAGS) $(PKG_LIBS)
$(BUILD)/tests/nss_cache_tool: tests/tools/nss_cache_tool.c $(LIB) $(HELPER_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(EXE_CFLAGS) $(LAYER_INC) -o $@ $< $(LIB) $(EXE_LDFLAGS) $(PKG_LIBS)
$(BUILD)/tests/pam_driver: tests/tools/pam_driver.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(EXE_CFLAGS) -o $@ $< $(EXE_LDFLAGS) -lpam
$(BUILD)/tests/okta_driver: tests/tools/okta_driver.c $(LIB) $(HELPER_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(EXE_CFLAGS) $(LAYER_INC) -o $@ $< $(LIB) $(EXE_LDFLAGS) $(PKG_LIBS)
$(BUILD)/tests/ledger_driver: tests/tools/ledger_driver.c $(LIB) $(HELPER_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(EXE_CFLAGS) $(LAYER_INC) -o $@ $< $(LIB) $(EXE_LDFLAGS) $(PKG_LIBS)

unit-tests: $(UNIT_BINS) $(TOOLS)

# Every #include "..." goes down the layers of helper/LAYERS (README
# "Layout"); names the file and line of any that does not.
layers:
	$(PYTHON) tests/tools/layers.py

# The whole suite: C unit tests (run by pytest, also under valgrind) and
# the integration tests against the local Okta server.
check: all unit-tests
	OJIT_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -ra tests/ $(PYTEST_ARGS)

# The README's main command: doctor against the bundled local Okta server.
demo: all $(TOOLS)
	OJIT_BUILD=$(abspath $(BUILD)) $(PYTHON) tests/demo.py

deps:
	bash packaging/install-deps.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(SYSCONFDIR)/okta-jit
	install -m 0755 $(CLI) $(DESTDIR)$(BINDIR)/okta-jit
	install -m 0755 $(DAEMON) $(DESTDIR)$(SBINDIR)/okta-jitd
	install -m 0755 $(WEB) $(DESTDIR)$(SBINDIR)/okta-jit-web
	install -d $(DESTDIR)$(PAMDIR)
	install -m 0644 $(PAM_MOD) $(DESTDIR)$(PAMDIR)/pam_okta_jit.so
	install -d $(DESTDIR)$(NSSLIBDIR)
	install -m 0644 $(NSS_MOD) $(DESTDIR)$(NSSLIBDIR)/libnss_okta_jit.so.2
	install -m 0644 man/okta-jit.1 $(DESTDIR)$(MANDIR)/man1/okta-jit.1
	install -D -m 0644 packaging/bash-completion/okta-jit $(DESTDIR)$(BASHCOMPDIR)/okta-jit
	install -m 0644 man/okta-jit.conf.5 $(DESTDIR)$(MANDIR)/man5/okta-jit.conf.5
	install -d $(DESTDIR)$(MANDIR)/man8
	install -m 0644 man/okta-jitd.8 $(DESTDIR)$(MANDIR)/man8/okta-jitd.8
	install -m 0644 man/okta-jit-web.8 $(DESTDIR)$(MANDIR)/man8/okta-jit-web.8
	install -m 0644 man/pam_okta_jit.8 $(DESTDIR)$(MANDIR)/man8/pam_okta_jit.8
	install -m 0644 man/libnss_okta_jit.8 $(DESTDIR)$(MANDIR)/man8/libnss_okta_jit.8
	install -m 0640 packaging/okta-jit.conf.example $(DESTDIR)$(SYSCONFDIR)/okta-jit/okta-jit.conf.example
	install -d -m 0700 $(DESTDIR)$(SYSCONFDIR)/okta-jit/keys

clean:
	rm -rf $(BUILD)

# ---- packaging (docs/packaging.md) -------------------------------------
# `make deb` / `make rpm` build from a staging copy of the tree (tracked and
# untracked-but-not-ignored files) under $(BUILD)/pkgstage, so the work tree
# stays clean; the packages land in $(BUILD)/packages.
PKG_VERSION := $(shell sed -n 's/^Version: *//p' packaging/rpm/okta-jit.spec)
PKG_STAGE   := $(abspath $(BUILD))/pkgstage
PKG_OUT     := $(abspath $(BUILD))/packages
PKG_SRC     := $(PKG_STAGE)/okta-jit-$(PKG_VERSION)
# The package builds run the Makefile again inside the staging copy: give
# them a clean environment, so that neither this make's flags nor variables
# given on its command line (make exports them: BUILD=... would point the
# staged build, and its `make clean`, at this tree's build folder) leak in.
PKG_ENV     := env -i PATH="$$PATH" HOME="$$HOME" LC_ALL=C.UTF-8 \
	$(foreach v,TMPDIR DEB_BUILD_OPTIONS DEB_BUILD_PROFILES SOURCE_DATE_EPOCH,$(if $($(v)),$(v)="$($(v))"))

# On Debian, rpm's database knows none of the BuildRequires (--nodeps), and
# its post-install step is replaced (see packaging/rpm/os-install-post-debian.sh).
RPM_ON_DEBIAN := --nodeps --define "__os_install_post /bin/bash $(PKG_SRC)/packaging/rpm/os-install-post-debian.sh"

.PHONY: deb rpm package-check pkg-stage
pkg-stage:
	rm -rf $(PKG_STAGE) && mkdir -p $(PKG_SRC) $(PKG_OUT)
	git ls-files -z --cached --others --exclude-standard | \
		xargs -0 sh -c 'for f; do [ -e "$$f" ] && printf "%s\0" "$$f"; done' sh | \
		tar --null -T - -cf - | tar -xf - -C $(PKG_SRC)

deb: pkg-stage
	cp -a $(PKG_SRC)/packaging/debian $(PKG_SRC)/debian
	cd $(PKG_SRC) && $(PKG_ENV) dpkg-buildpackage -us -uc -b
	rm -f $(PKG_OUT)/*.deb $(PKG_OUT)/*.changes $(PKG_OUT)/*.buildinfo
	mv $(PKG_STAGE)/*.deb $(PKG_STAGE)/*.changes $(PKG_STAGE)/*.buildinfo $(PKG_OUT)/
	@ls -l $(PKG_OUT)/*.deb

rpm: pkg-stage
	mkdir -p $(PKG_STAGE)/rpmbuild/SOURCES
	tar -C $(PKG_STAGE) -czf $(PKG_STAGE)/rpmbuild/SOURCES/okta-jit-$(PKG_VERSION).tar.gz okta-jit-$(PKG_VERSION)
	$(PKG_ENV) rpmbuild -ba $(if $(wildcard /etc/debian_version),$(RPM_ON_DEBIAN)) \
		--define "_topdir $(PKG_STAGE)/rpmbuild" $(PKG_SRC)/packaging/rpm/okta-jit.spec
	rm -f $(PKG_OUT)/*.rpm
	find $(PKG_STAGE)/rpmbuild/RPMS $(PKG_STAGE)/rpmbuild/SRPMS -name '*.rpm' -exec mv {} $(PKG_OUT)/ \;
	@ls -l $(PKG_OUT)/*.rpm

# Builds both, lints them, installs the .debs, runs the end-to-end tests
# against the installed binaries and purges. Root, Debian 12.
package-check:
	BUILD=$(abspath $(BUILD)) bash tests/packaging/check.sh

# ---- fuzzing, sanitizers, static analysis (docs/reliability.md) --------
# `make fuzz` runs every libFuzzer harness in fuzz/ for FUZZ_SECONDS (20)
# from its seed corpus and fails on any crash; `make fuzz-long` runs them all
# at once for FUZZ_SECONDS (600) each. New corpus entries and crash inputs go
# to $(BUILD)/fuzz, never into fuzz/corpus. `make asan-check` runs the pytest
# suite against an ASan+UBSan build in $(ASAN_BUILD); `make analyze` runs
# cppcheck and gcc -fanalyzer over helper/, pam_module/ and nss_module/.
FUZZ_CC      ?= clang
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_NAMES   := proto config okta_error okta_json link duration nss_cache sshkey oidc audit
FUZZ_BINS    := $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)
SAN_FLAGS    := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# The library is compiled again with the sanitizers and coverage hooks, not
# taken from $(LIB). Clang, unlike gcc, wants log_v's va_list format marked.
FUZZ_CFLAGS  := -std=gnu11 -O1 -g $(WARN) -Wno-format-nonliteral -D_GNU_SOURCE -pthread \
	$(SAN_FLAGS) $(PKG_CFLAGS)
FUZZ_LIB     := $(FUZZ_DIR)/libokta-jit-fuzz.a
FUZZ_SECONDS ?= 20
# Input sizes: a frame a bit over the request limit, a config file, an
# HTTP error body, one JSON object, a Link header, a duration, a small NSS
# cache file, an ID token or JWKS a bit over OIDC_TOKEN_MAX.
FUZZ_MAXLEN_proto      := 20000
FUZZ_MAXLEN_config     := 16384
FUZZ_MAXLEN_okta_error := 8192
FUZZ_MAXLEN_okta_json  := 4096
FUZZ_MAXLEN_link       := 8192
FUZZ_MAXLEN_duration   := 64
FUZZ_MAXLEN_nss_cache  := 4096
FUZZ_MAXLEN_sshkey     := 16448
FUZZ_MAXLEN_oidc       := 12000
FUZZ_MAXLEN_audit      := 2048
# $(call fuzz_run,NAME,SECONDS): corpus and crashes under $(FUZZ_DIR); the
# log's last lines (executions, cov, ft) are printed, all of it on failure.
fuzz_run = mkdir -p $(FUZZ_DIR)/corpus/$(1) && \
	if $(FUZZ_DIR)/fuzz_$(1) -max_total_time=$(2) -max_len=$(FUZZ_MAXLEN_$(1)) -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/crash-$(1)- \
		$(FUZZ_DIR)/corpus/$(1) fuzz/corpus/$(1) >$(FUZZ_DIR)/fuzz_$(1).log 2>&1; then \
		echo "fuzz_$(1): $$(grep -E '^\#[0-9]+[[:space:]]+DONE' $(FUZZ_DIR)/fuzz_$(1).log | tail -1)" \
		"$$(grep -E '^stat::number_of_executed_units' $(FUZZ_DIR)/fuzz_$(1).log)"; \
	else cat $(FUZZ_DIR)/fuzz_$(1).log; echo "fuzz_$(1): FAILED (input in $(FUZZ_DIR)/crash-$(1)-*)"; false; fi

.PHONY: fuzz fuzz-build fuzz-long asan-check analyze
$(FUZZ_DIR)/helper/%.o: helper/%.c $(HELPER_HDRS) Makefile
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(LAYER_INC) -fsanitize=fuzzer-no-link -c -o $@ $<
$(FUZZ_LIB): $(LIB_SRCS:%.c=$(FUZZ_DIR)/%.o)
	@rm -f $@
	ar rcs $@ $^
$(FUZZ_DIR)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_LIB) $(HELPER_HDRS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(LAYER_INC) -o $@ $< $(FUZZ_LIB) $(PKG_LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@$(foreach n,$(FUZZ_NAMES),$(call fuzz_run,$(n),$(FUZZ_SECONDS)) &&) true

fuzz-long: FUZZ_SECONDS = 600
fuzz-long: fuzz-build
	@fail=0; pids=; $(foreach n,$(FUZZ_NAMES),( $(call fuzz_run,$(n),$(FUZZ_SECONDS)) ) & pids="$$pids $$!";) \
	for p in $$pids; do wait $$p || fail=1; done; exit $$fail

# Everything (binaries, PAM module, test tools, unit tests) built with ASan
# and UBSan; the real-sshd and sudo end-to-end tests are left out (those
# programs are not built with ASan, so they cannot load an ASan module), and
# the valgrind tests skip themselves (OJIT_SANITIZED=1). A report aborts the
# process that hit it; every report, also from daemons whose stderr goes to a
# log file, is written under $(ASAN_BUILD)/sanitizer and fails the target.
ASAN_BUILD   ?= build-asan
ASAN_LOGS     = $(abspath $(ASAN_BUILD))/sanitizer
ASAN_OPTIONS_CHECK = detect_leaks=1:abort_on_error=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:log_path=$(ASAN_LOGS)/asan
UBSAN_OPTIONS_CHECK = print_stacktrace=1:halt_on_error=1:log_path=$(ASAN_LOGS)/ubsan
asan-check:
	$(MAKE) BUILD=$(ASAN_BUILD) OPT="-O1 -g" EXTRA_CFLAGS="$(SAN_FLAGS)" EXTRA_LDFLAGS="$(SAN_FLAGS)" all unit-tests
	rm -rf $(ASAN_LOGS) && mkdir -p $(ASAN_LOGS)
	@rc=0; OJIT_BUILD=$(abspath $(ASAN_BUILD)) OJIT_SANITIZED=1 ASAN_OPTIONS=$(ASAN_OPTIONS_CHECK) \
		UBSAN_OPTIONS=$(UBSAN_OPTIONS_CHECK) $(PYTHON) -m pytest -ra tests/ -k "not e2e" $(PYTEST_ARGS) || rc=$$?; \
	if [ -n "$$(ls -A $(ASAN_LOGS))" ]; then head -n 60 $(ASAN_LOGS)/*; \
		echo "asan-check: sanitizer reports in $(ASAN_LOGS)"; rc=1; fi; exit $$rc

ANALYZE_SRCS := $(wildcard helper/*/*.c pam_module/*.c nss_module/*.c)
# gcc 12's analyzer false positives, one file each, explained in
# docs/reliability.md ("Static analysis"): it loses heap pointers stored
# through inih's callback state, and mistakes two realloc'd arrays for one.
ANALYZE_NOWARN_config   := -Wno-analyzer-malloc-leak
ANALYZE_NOWARN_check_cache  := -Wno-analyzer-malloc-leak
ANALYZE_NOWARN_check_groups := -Wno-analyzer-malloc-leak
ANALYZE_NOWARN_sessions := -Wno-analyzer-double-free -Wno-analyzer-use-of-uninitialized-value
ANALYZE_NOWARN_nss_writer := -Wno-analyzer-malloc-leak
ANALYZE_NOWARN_directory := -Wno-analyzer-malloc-leak
ANALYZE_NOWARN_web_session := -Wno-analyzer-malloc-leak
ANALYZE_NOWARN_grants_approvers := -Wno-analyzer-malloc-leak
analyze:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --inline-suppr \
		--std=c11 -D_GNU_SOURCE -D__linux__ $(LAYER_INC) $(ANALYZE_SRCS)
	$(foreach f,$(ANALYZE_SRCS),gcc -std=gnu11 -O1 -fanalyzer $(WARN) -Werror $(ANALYZE_NOWARN_$(basename $(notdir $(f)))) \
		-D_GNU_SOURCE -pthread $(PKG_CFLAGS) $(LAYER_INC) -c -o /dev/null $(f) &&) true

# ---- mutants (issue 15; docs/reliability.md) ----------------------------
# `make mutants`: tests/mutants/run.py applies one-line changes to the
# security-critical lines (who may approve, who is root, how long an answer
# lasts, what is logged), each in a copy of the tree, rebuilds there and runs
# the tests meant to notice; it fails if a mutant survives or its line is no
# longer found. Not part of `make check` (a few minutes). MUTANTS_ARGS is
# passed on (e.g. --only NAME, --list).
.PHONY: mutants
mutants:
	$(PYTHON) tests/mutants/run.py $(MUTANTS_ARGS)

# ---- bench (issue 8; docs/benchmarks.md) --------------------------------
# `make bench` builds the benchmark tools and runs bench/run.py as root: it
# writes docs/benchmarks.md (and $(BUILD)/bench/results.json); then the
# fleet benchmark (issue 17), also alone as `make bench-fleet`:
# bench/fleet.py runs PostgreSQL, 2 granters and FLEET_GATES (50) gates of
# this tree and of today's design (okta-jitd built from commit
# $(FLEET_BASELINE) in a temporary git worktree), side by side; it writes its
# section of docs/benchmarks.md and the "## Numbers" of docs/fleet.md
# ($(BUILD)/bench/fleet.json), and skips with a message without PostgreSQL.
BENCH_DIR   := $(BUILD)/bench
BENCH_TOOLS := $(BENCH_DIR)/pam_bench $(BENCH_DIR)/rtt $(BENCH_DIR)/load $(BENCH_DIR)/fleet_load \
	$(BENCH_DIR)/nss_bench $(BUILD)/tests/nss_cache_tool
FLEET_BASELINE ?= c2bee88
.PHONY: bench bench-tools bench-fleet bench-nss
bench-tools: $(BENCH_TOOLS)
$(BENCH_DIR)/pam_bench: bench/pam_bench.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(EXE_CFLAGS) -o $@ $< $(EXE_LDFLAGS) -lpam
$(BENCH_DIR)/rtt: bench/rtt.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(EXE_CFLAGS) -o $@ $< $(EXE_LDFLAGS) $(shell $(PKG_CONFIG) --libs libcurl)
$(BENCH_DIR)/load: bench/load.c $(BUILD)/helper/common/proto.o Makefile
	@mkdir -p $(dir $@)
	$(CC) $(EXE_CFLAGS) -Ihelper/common -o $@ $< $(BUILD)/helper/common/proto.o $(EXE_LDFLAGS)
$(BENCH_DIR)/fleet_load: bench/fleet_load.c $(BUILD)/helper/common/proto.o Makefile
	@mkdir -p $(dir $@)
	$(CC) $(EXE_CFLAGS) -Ihelper/common -o $@ $< $(BUILD)/helper/common/proto.o $(EXE_LDFLAGS)
$(BENCH_DIR)/nss_bench: bench/nss_bench.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(EXE_CFLAGS) -o $@ $< $(EXE_LDFLAGS) -ldl
bench: all $(BENCH_TOOLS)
	OJIT_BUILD=$(abspath $(BUILD)) $(PYTHON) bench/run.py
	OJIT_BUILD=$(abspath $(BUILD)) FLEET_BASELINE=$(FLEET_BASELINE) $(PYTHON) bench/fleet.py
	OJIT_BUILD=$(abspath $(BUILD)) $(PYTHON) bench/nss.py
# getpwnam through libnss_okta_jit.so.2 against `files` (10 and 100,000
# users) and the memory it adds; its section of docs/benchmarks.md (issue 18).
bench-nss: all $(BENCH_DIR)/nss_bench $(BUILD)/tests/nss_cache_tool
	OJIT_BUILD=$(abspath $(BUILD)) $(PYTHON) bench/nss.py
bench-fleet: all $(BENCH_DIR)/fleet_load
	OJIT_BUILD=$(abspath $(BUILD)) FLEET_BASELINE=$(FLEET_BASELINE) $(PYTHON) bench/fleet.py
# the pending-approvals page of okta-jit-web with 1,000 pending requests
# (latency, requests/s, RSS; issue 19): its section of docs/benchmarks.md.
# Alone, never part of `make bench` or `make check`.
.PHONY: bench-web
bench-web: all
	OJIT_BUILD=$(abspath $(BUILD)) $(PYTHON) bench/web.py

# ---- reliability: soak and load (docs/reliability.md) ------------------
# `make soak`: the crash-churn test with 200 SIGKILLs of okta-jitd (CI runs
# the 40-kill variant as part of `make check`). `make load`: 200 clients
# for 60 s against a rate-limited fake Okta; figures in build/load.json.
.PHONY: soak load
soak: all unit-tests
	OJIT_BUILD=$(abspath $(BUILD)) OJIT_CHURN_KILLS=$(or $(SOAK_KILLS),200) OJIT_CHURN_SECONDS=1800 \
		OJIT_CHURN_REPORT=$(abspath $(BUILD))/soak.json \
		$(PYTHON) -m pytest -q -s tests/integration/test_crash_churn.py $(PYTEST_ARGS)
load: all
	OJIT_BUILD=$(abspath $(BUILD)) $(PYTHON) tests/load/load.py --duration $(or $(LOAD_SECONDS),60) \
		--report $(abspath $(BUILD))/load.json

# `make systemd-check`: packaging/systemd's units under a real systemd. A
# Debian 12 root file system (tests/systemd/rootfs.sh, cached in
# /var/tmp/okta-jit-systemd: the first run needs the Debian archive and
# takes about a minute more) booted with systemd-nspawn, the built
# binaries and the units in it; see docs/packaging.md. Root; needs
# debootstrap and systemd-nspawn (systemd-container).
.PHONY: systemd-check
systemd-check: all
	OJIT_SYSTEMD_CHECK=1 OJIT_BUILD=$(abspath $(BUILD)) \
		$(PYTHON) -m pytest -ra -s tests/systemd $(PYTEST_ARGS)
