/* test_config.c - config_load, its validators, config_map_login and
 * config_flow_for_group. */
#include <dirent.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

/* The four required keys; tests of other mistakes append to this so the
 * only error is the one under test. Lines 1-6. */
#define BASE                                          \
	"[okta]\n"                                    \
	"org_url = https://example.okta.com\n"        \
	"client_id = 0oa1abcdEFGH\n"                  \
	"private_key = /etc/okta-jit/keys/okta.pem\n" \
	"[integration]\n"                             \
	"name = okta-jit-test\n"

static char tmpdir[PATH_MAX];

struct loaded {
	char path[PATH_MAX];
	struct ojit_config *cfg;
	struct ojit_buf errors;
	int rc;
};

static int group_setup(void **state)
{
	const char *base = getenv("TMPDIR");

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/ojit-config-XXXXXX", base ? base : "/tmp");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

/* A failed assertion skips the test's cleanup, so sweep the directory. */
static int group_teardown(void **state)
{
	char path[PATH_MAX + 300];
	struct dirent *de;
	DIR *d = opendir(tmpdir);

	(void)state;
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, de->d_name);
		unlink(path);
	}
	closedir(d);
	return rmdir(tmpdir);
}

static void write_file(char *path, size_t n, const char *text, size_t len)
{
	FILE *fp;
	int fd;

	assert_true((size_t)snprintf(path, n, "%s/conf-XXXXXX", tmpdir) < n);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static void load_len(struct loaded *l, const char *text, size_t len)
{
	memset(l, 0, sizeof(*l));
	ojit_buf_init(&l->errors, 0);
	write_file(l->path, sizeof(l->path), text, len);
	l->cfg = (struct ojit_config *)0x1; /* must be overwritten */
	l->rc = config_load(l->path, &l->cfg, &l->errors);
}

static void load(struct loaded *l, const char *text)
{
	load_len(l, text, strlen(text));
}

static void unload(struct loaded *l)
{
	config_free(l->cfg);
	ojit_buf_free(&l->errors);
	unlink(l->path);
}

static struct ojit_config *load_ok(struct loaded *l, const char *text)
{
	load(l, text);
	if (l->rc != 0)
		fail_msg("config refused:\n%s", l->errors.data ? l->errors.data : "(no errors)");
	assert_non_null(l->cfg);
	return l->cfg;
}

#define ANY_LINE (-1)

/* The config must be refused with an error line that starts with
 * "PATH:LINE: WHERE" ("PATH: WHERE" for line 0, "PATH:N: WHERE" for some N
 * with ANY_LINE) and contains WHAT. */
static void expect_error(const char *text, int line, const char *where, const char *what)
{
	struct loaded l;
	char prefix[PATH_MAX + 128];
	const char *hit, *eol;

	load(&l, text);
	if (line > 0)
		snprintf(prefix, sizeof(prefix), "%s:%d: %s", l.path, line, where);
	else if (line == 0)
		snprintf(prefix, sizeof(prefix), "%s: %s", l.path, where);
	else
		snprintf(prefix, sizeof(prefix), "%s:", l.path);
	assert_int_equal(l.rc, -1);
	assert_null(l.cfg);
	assert_non_null(l.errors.data);
	hit = strstr(l.errors.data, prefix);
	if (line == ANY_LINE) {
		for (; hit != NULL; hit = strstr(hit + 1, prefix)) {
			const char *p = hit + strlen(prefix);

			if (*p < '1' || *p > '9')
				continue;
			p += strspn(p, "0123456789");
			if (strncmp(p, ": ", 2) == 0 && strncmp(p + 2, where, strlen(where)) == 0)
				break;
		}
	}
	if (hit == NULL)
		fail_msg("expected an error starting '%s%s', got:\n%s", prefix,
			 line == ANY_LINE ? "N: ..." : "", l.errors.data);
	if (what != NULL) {
		eol = strchr(hit, '\n');
		assert_non_null(eol);
		hit = strstr(hit, what);
		if (hit == NULL || hit > eol)
			fail_msg("error line '%s' does not mention '%s':\n%s", prefix, what,
				 l.errors.data);
	}
	unload(&l);
}

static void test_minimal_config_defaults(void **state)
{
	struct loaded l;
	struct ojit_config *c;

	(void)state;
	c = load_ok(&l, BASE);
	assert_string_equal(c->path, l.path);
	assert_string_equal(c->org_url, "https://example.okta.com");
	assert_string_equal(c->client_id, "0oa1abcdEFGH");
	assert_string_equal(c->private_key, "/etc/okta-jit/keys/okta.pem");
	assert_string_equal(c->name, "okta-jit-test");
	assert_null(c->key_id);
	assert_null(c->ca_file);
	assert_null(c->access_details);
	assert_null(c->owner);
	assert_int_equal(c->timeout, 10);
	assert_int_equal(c->dpop, DPOP_AUTO);
	assert_int_equal(c->cache_ttl, 30);
	assert_int_equal(c->outage_grace, 300);
	assert_int_equal(c->pending_ttl, 3600);
	assert_int_equal(c->recheck_after, 120);
	assert_int_equal(c->refresh_timeout, 5);
	assert_string_equal(c->socket, OJIT_DEFAULT_SOCKET);
	/* the PAM module's default socket */
	assert_string_equal(c->pam_socket, OJIT_DEFAULT_PAM_SOCKET);
	assert_string_equal(c->pam_socket, "/run/okta-jit/pam.sock");
	assert_string_equal(c->ledger, OJIT_DEFAULT_LEDGER);
	assert_string_equal(c->login_format, "%u");
	assert_int_equal(c->nflows, 0);
	assert_true(l.errors.data == NULL || l.errors.data[0] == '\0');
	unload(&l);
}

static const char full_config[] =
	"# okta-jit test configuration\n"
	"[okta]\n"
	"org_url = https://example.okta.com/\n"
	"client_id = 0oa1abc_-X\n"
	"private_key = /etc/okta-jit/keys/okta.pem\n"
	"key_id = kid-2024.1\n"
	"ca_file = /etc/ssl/certs/extra.pem\n"
	"timeout = 45s\n"
	"dpop = on\n"
	"\n"
	"[integration]\n"
	"name = Prod-Servers-01\n"
	"access_details = Ask in #ops; on-call approves; see https://wiki/x?a=1\n"
	"owner = group:Ops Owners\n"
	"\n"
	"[users]\n"
	"login_format = %u@example.com\n"
	"\n"
	"[daemon]\n"
	"socket = /run/test/okta-jitd.sock\n"
	"pam_socket = /run/test-pam/root.sock\n"
	"ledger = /var/lib/test/ledger.db\n"
	"cache_ttl = 1m\n"
	"outage_grace = 10m\n"
	"pending_ttl = 2h\n"
	"recheck_after = 5m\n"
	"refresh_timeout = 3s\n"
	"\n"
	"[flow prod-db]\n"
	"groups = db-admins , db-readers\n"
	"requesters = eng,sre\n"
	"default_duration = 30m\n"
	"max_duration = 4h\n"
	"approval = owner\n"
	"reason = optional\n"
	"standing = allow\n"
	"on_expiry = terminate\n"
	"warn_before = 10m\n"
	"\n"
	"[flow web]\n"
	"groups = web-admins\n";

static void test_full_config_every_key(void **state)
{
	struct loaded l;
	struct ojit_config *c;
	const struct flow_config *f;

	(void)state;
	c = load_ok(&l, full_config);
	assert_string_equal(c->org_url, "https://example.okta.com"); /* slash dropped */
	assert_string_equal(c->client_id, "0oa1abc_-X");
	assert_string_equal(c->private_key, "/etc/okta-jit/keys/okta.pem");
	assert_string_equal(c->key_id, "kid-2024.1");
	assert_string_equal(c->ca_file, "/etc/ssl/certs/extra.pem");
	assert_int_equal(c->timeout, 45);
	assert_int_equal(c->dpop, DPOP_ON);
	assert_string_equal(c->name, "Prod-Servers-01");
	assert_string_equal(c->access_details,
			    "Ask in #ops; on-call approves; see https://wiki/x?a=1");
	assert_string_equal(c->owner, "group:Ops Owners");
	assert_string_equal(c->login_format, "%u@example.com");
	assert_string_equal(c->socket, "/run/test/okta-jitd.sock");
	assert_string_equal(c->pam_socket, "/run/test-pam/root.sock");
	assert_string_equal(c->ledger, "/var/lib/test/ledger.db");
	assert_int_equal(c->cache_ttl, 60);
	assert_int_equal(c->outage_grace, 600);
	assert_int_equal(c->pending_ttl, 7200);
	assert_int_equal(c->recheck_after, 300);
	assert_int_equal(c->refresh_timeout, 3);

	assert_int_equal(c->nflows, 2);
	f = &c->flows[0];
	assert_string_equal(f->name, "prod-db");
	assert_int_equal(f->ngroups, 2);
	assert_string_equal(f->groups[0], "db-admins");
	assert_string_equal(f->groups[1], "db-readers");
	assert_int_equal(f->nrequesters, 2);
	assert_string_equal(f->requesters[0], "eng");
	assert_string_equal(f->requesters[1], "sre");
	assert_int_equal(f->default_duration, 1800);
	assert_int_equal(f->max_duration, 14400);
	assert_int_equal(f->approval, APPROVAL_OWNER);
	assert_int_equal(f->reason_required, 0);
	assert_int_equal(f->standing_allow, 1);
	assert_int_equal(f->on_expiry, ON_EXPIRY_TERMINATE);
	assert_int_equal(f->warn_before, 600);

	f = &c->flows[1];
	assert_string_equal(f->name, "web");
	assert_int_equal(f->ngroups, 1);
	assert_string_equal(f->groups[0], "web-admins");
	unload(&l);
}

static void test_flow_defaults(void **state)
{
	struct loaded l;
	struct ojit_config *c;
	const struct flow_config *f;

	(void)state;
	c = load_ok(&l, BASE "[flow ops]\ngroups = ops-admins\n");
	assert_int_equal(c->nflows, 1);
	f = &c->flows[0];
	assert_string_equal(f->name, "ops");
	assert_int_equal(f->default_duration, 3600);
	assert_int_equal(f->max_duration, 28800);
	assert_int_equal(f->approval, APPROVAL_OWNERS);
	assert_int_equal(f->reason_required, 1);
	assert_int_equal(f->standing_allow, 0);
	assert_int_equal(f->on_expiry, ON_EXPIRY_KEEP);
	assert_int_equal(f->warn_before, 300);
	assert_int_equal(f->nrequesters, 0);
	assert_null(f->requesters);
	unload(&l);
}

static void test_enum_values(void **state)
{
	struct loaded l;
	struct ojit_config *c;

	(void)state;
	c = load_ok(&l, "[okta]\ndpop = off\n" BASE
			"[flow a]\ngroups = g1\napproval = auto\nreason = required\n"
			"standing = deny\non_expiry = keep\n"
			"[flow b]\ngroups = g2\napproval = owners\n");
	assert_int_equal(c->dpop, DPOP_OFF);
	assert_int_equal(c->flows[0].approval, APPROVAL_AUTO);
	assert_int_equal(c->flows[0].reason_required, 1);
	assert_int_equal(c->flows[0].standing_allow, 0);
	assert_int_equal(c->flows[0].on_expiry, ON_EXPIRY_KEEP);
	assert_int_equal(c->flows[1].approval, APPROVAL_OWNERS);
	assert_string_equal(config_dpop_name(c->dpop), "off");
	assert_string_equal(config_approval_name(c->flows[0].approval), "auto");
	assert_string_equal(config_approval_name(c->flows[1].approval), "owners");
	assert_string_equal(config_approval_name(APPROVAL_OWNER), "owner");
	assert_string_equal(config_dpop_name(DPOP_AUTO), "auto");
	assert_string_equal(config_dpop_name(DPOP_ON), "on");
	unload(&l);
}

/* [flow] standing and drift (issue 20): a list of declared standing
 * members by Okta group and login; drift = report (default) | remove. */
static void test_standing_members_and_drift(void **state)
{
	struct loaded l;
	struct ojit_config *c;

	(void)state;
	c = load_ok(&l, BASE "[flow a]\ngroups = g1\nstanding = group:admins, user:root@example.com, group:dba\n"
			     "drift = remove\n[flow b]\ngroups = g2\n[flow c]\ngroups = g3\nstanding = allow\n");
	assert_int_equal(c->flows[0].standing_allow, 0);
	assert_int_equal(c->flows[0].nstanding_groups, 2);
	assert_string_equal(c->flows[0].standing_groups[0], "admins");
	assert_string_equal(c->flows[0].standing_groups[1], "dba");
	assert_int_equal(c->flows[0].nstanding_users, 1);
	assert_string_equal(c->flows[0].standing_users[0], "root@example.com");
	assert_int_equal(c->flows[0].drift_remove, 1);
	assert_int_equal(c->flows[1].drift_remove, 0);
	assert_int_equal(c->flows[1].nstanding_groups + c->flows[1].nstanding_users, 0);
	assert_int_equal(c->flows[2].standing_allow, 1);
	unload(&l);
}

static void test_standing_and_drift_refused(void **state)
{
	(void)state;
	expect_error(BASE "[flow a]\ngroups = g1\nstanding = admins\n", 9, "[flow a] standing",
		     "group:OKTA_GROUP and user:OKTA_LOGIN");
	expect_error(BASE "[flow a]\ngroups = g1\nstanding = group:\n", 9, "[flow a] standing",
		     "must be allow, deny");
	expect_error(BASE "[flow a]\ngroups = g1\nstanding = user:\n", 9, "[flow a] standing", "must be allow");
	expect_error(BASE "[flow a]\ngroups = g1\nstanding = allow, user:x@example.com\n", 9, "[flow a] standing",
		     "must be allow");
	expect_error(BASE "[flow a]\ngroups = g1\ndrift = delete\n", 9, "[flow a] drift",
		     "must be report or remove");
	expect_error(BASE "[flow a]\ngroups = g1\nstanding = allow\ndrift = remove\n", 10, "[flow a] drift",
		     "no effect with standing = allow");
}

static void test_value_with_semicolon_kept_whole(void **state)
{
	struct loaded l;
	struct ojit_config *c;

	(void)state;
	c = load_ok(&l, BASE "access_details = call x1234 ; or page #oncall ;; done\n");
	assert_string_equal(c->access_details, "call x1234 ; or page #oncall ;; done");
	unload(&l);
}

static void test_comments_and_blank_lines(void **state)
{
	struct loaded l;
	struct ojit_config *c;

	(void)state;
	c = load_ok(&l, "; leading comment\n# another\n\n" BASE "; trailing\n");
	assert_string_equal(c->name, "okta-jit-test");
	unload(&l);
}

static void test_access_details_medium_accepted(void **state)
{
	char text[1024];
	char value[181];
	struct loaded l;

	(void)state;
	memset(value, 'a', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	snprintf(text, sizeof(text), BASE "access_details = %s\n", value);
	load_ok(&l, text);
	assert_string_equal(l.cfg->access_details, value);
	unload(&l);
}

/* Bug: inih reads into a 200-byte heap buffer (ini_initial_alloc; realloc
 * is off), so any line over 198 bytes is refused as "longer than 4093". */
static void test_access_details_400_accepted(void **state)
{
	char text[1024];
	char value[CONFIG_ACCESS_DETAILS_MAX + 1];
	struct loaded l;

	(void)state;
	memset(value, 'a', CONFIG_ACCESS_DETAILS_MAX);
	value[CONFIG_ACCESS_DETAILS_MAX] = '\0';
	snprintf(text, sizeof(text), BASE "access_details = %s\n", value);
	load_ok(&l, text);
	assert_int_equal(strlen(l.cfg->access_details), CONFIG_ACCESS_DETAILS_MAX);
	unload(&l);
}

static void test_access_details_401_refused(void **state)
{
	char text[1024];
	char value[CONFIG_ACCESS_DETAILS_MAX + 2];

	(void)state;
	memset(value, 'a', CONFIG_ACCESS_DETAILS_MAX + 1);
	value[CONFIG_ACCESS_DETAILS_MAX + 1] = '\0';
	snprintf(text, sizeof(text), BASE "access_details = %s\n", value);
	expect_error(text, 7, "[integration] access_details:", "401 characters");
}

static void test_org_url_http_refused(void **state)
{
	(void)state;
	expect_error("[okta]\nclient_id = x\norg_url = http://example.okta.com\n"
		     "private_key = /k\n[integration]\nname = n\n",
		     3, "[okta] org_url:", "https://");
}

static void test_org_url_path_query_refused(void **state)
{
	(void)state;
	expect_error("[okta]\nclient_id = x\norg_url = https://example.okta.com/oauth2/default\n"
		     "private_key = /k\n[integration]\nname = n\n",
		     3, "[okta] org_url:", "no path");
	expect_error("[okta]\nclient_id = x\norg_url = https://example.okta.com?x=1\n"
		     "private_key = /k\n[integration]\nname = n\n",
		     3, "[okta] org_url:", "query");
	expect_error("[okta]\nclient_id = x\norg_url = https://example.okta.com/#f\n"
		     "private_key = /k\n[integration]\nname = n\n",
		     3, "[okta] org_url:", NULL);
}

static void test_org_url_userinfo_refused(void **state)
{
	(void)state;
	expect_error("[okta]\nclient_id = x\norg_url = https://a@b\n"
		     "private_key = /k\n[integration]\nname = n\n",
		     3, "[okta] org_url:", "'https://a@b'");
}

static void test_org_url_missing_host_refused(void **state)
{
	(void)state;
	expect_error("[okta]\nclient_id = x\norg_url = https://\n"
		     "private_key = /k\n[integration]\nname = n\n",
		     3, "[okta] org_url:", "no host");
	expect_error("[okta]\nclient_id = x\norg_url = https:///\n"
		     "private_key = /k\n[integration]\nname = n\n",
		     3, "[okta] org_url:", "no host");
}

static void test_check_org_url(void **state)
{
	static const char *const good[] = {
		"https://example.okta.com", "https://example.okta.com/",
		"https://example.oktapreview.com", "https://127.0.0.1:8443",
		"https://[::1]:8443", "https://my-org.okta-emea.com",
	};
	static const char *const bad[] = {
		"http://example.okta.com", "HTTPS://example.okta.com", "example.okta.com",
		"https://", "https:///", "https://a@b", "https://ex ample.com",
		"https://example.okta.com//", "https://example.okta.com/x",
		"https://example.okta.com?", "https://example.okta.com#",
		"https://exa\tmple.com", "https://ex\xc3\xa4mple.com", "",
	};
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		why = NULL;
		if (config_check_org_url(good[i], &why) != 0)
			fail_msg("'%s' refused: %s", good[i], why);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (config_check_org_url(bad[i], &why) != -1)
			fail_msg("'%s' accepted", bad[i]);
		assert_non_null(why);
	}
}

static void test_name_invalid(void **state)
{
	char text[512];
	char name[CONFIG_NAME_MAX + 2];

	(void)state;
	expect_error("[integration]\nname = prod servers\n[okta]\norg_url = https://e.okta.com\n"
		     "client_id = x\nprivate_key = /k\n",
		     2, "[integration] name:", "letters, digits and dashes");
	expect_error("[integration]\nname = prod_servers\n[okta]\norg_url = https://e.okta.com\n"
		     "client_id = x\nprivate_key = /k\n",
		     2, "[integration] name:", NULL);

	memset(name, 'n', CONFIG_NAME_MAX + 1);
	name[CONFIG_NAME_MAX + 1] = '\0';
	snprintf(text, sizeof(text),
		 "[integration]\nname = %s\n[okta]\norg_url = https://e.okta.com\n"
		 "client_id = x\nprivate_key = /k\n", name);
	expect_error(text, 2, "[integration] name:", "1-64");
}

static void test_check_name(void **state)
{
	char name[CONFIG_NAME_MAX + 2];
	const char *why;

	(void)state;
	memset(name, 'n', CONFIG_NAME_MAX);
	name[CONFIG_NAME_MAX] = '\0';
	assert_int_equal(config_check_name(name, &why), 0);
	name[CONFIG_NAME_MAX] = 'n';
	name[CONFIG_NAME_MAX + 1] = '\0';
	assert_int_equal(config_check_name(name, &why), -1);
	assert_int_equal(config_check_name("", &why), -1);
	assert_int_equal(config_check_name("a-B-9", &why), 0);
	assert_int_equal(config_check_name("a.b", &why), -1);
	assert_int_equal(config_check_name("a/b", &why), -1);
	assert_int_equal(config_check_name("caf\xc3\xa9", &why), -1);
}

/* issue 20: [daemon] revoke_on, the Okta user statuses that end grants */
static void test_revoke_on(void **state)
{
	struct loaded l;
	struct ojit_config *c;
	unsigned def = config_user_status_bit("SUSPENDED") | config_user_status_bit("DEPROVISIONED") |
		       config_user_status_bit("LOCKED_OUT");

	(void)state;
	assert_int_equal(config_user_status_bit("ACTIVE") != 0, 1);
	assert_int_equal(config_user_status_bit("suspended"), 0);
	assert_int_equal(config_user_status_bit(""), 0);
	assert_int_equal(config_user_status_bit(NULL), 0);
	c = load_ok(&l, BASE);
	assert_int_equal(c->revoke_on, def);
	unload(&l);
	c = load_ok(&l, BASE "[daemon]\nrevoke_on = SUSPENDED, RECOVERY ,PASSWORD_EXPIRED\n");
	assert_int_equal(c->revoke_on, config_user_status_bit("SUSPENDED") | config_user_status_bit("RECOVERY") |
					       config_user_status_bit("PASSWORD_EXPIRED"));
	unload(&l);
	c = load_ok(&l, BASE "[daemon]\nrevoke_on = none\n");
	assert_int_equal(c->revoke_on, 0);
	unload(&l);
	expect_error(BASE "[daemon]\nrevoke_on = ACTIVE\n", 8, "[daemon] revoke_on:", "'ACTIVE' is not");
	expect_error(BASE "[daemon]\nrevoke_on = suspended\n", 8, "[daemon] revoke_on:", "'suspended' is not");
	expect_error(BASE "[daemon]\nrevoke_on = SUSPENDED, none\n", 8, "[daemon] revoke_on:", "'none' is not");
	expect_error(BASE "[daemon]\nrevoke_on = SUSPENDED,\n", 8, "[daemon] revoke_on:", "trailing comma");
	expect_error(BASE "[daemon]\nrevoke_on = SUSPENDED\nrevoke_on = LOCKED_OUT\n", 9, "[daemon] revoke_on:",
		     "given twice");
}

static void test_bad_durations(void **state)
{
	(void)state;
	expect_error(BASE "[daemon]\ncache_ttl = 1x\n", 8, "[daemon] cache_ttl:",
		     "'1x' is not a duration");
	expect_error(BASE "[daemon]\noutage_grace = 0s\n", 8, "[daemon] outage_grace:",
		     "is not a duration");
	expect_error(BASE "[flow f]\ngroups = g\nmax_duration = 30s\n", 9, "[flow f] max_duration:",
		     "at least 60s");
	expect_error(BASE "[daemon]\ncache_ttl = 400d\n", 8, "[daemon] cache_ttl:", "366d");
	expect_error(BASE "[daemon]\nrecheck_after = soon\n", 8, "[daemon] recheck_after:",
		     "'soon' is not a duration");
	expect_error("[okta]\ntimeout = 6m\n" BASE, 2, "[okta] timeout:", "at most 5m");
	expect_error(BASE "[daemon]\nrefresh_timeout = 2m\n", 8, "[daemon] refresh_timeout:", "at most 1m");
	expect_error(BASE "[daemon]\nrefresh_timeout = 0s\n", 8, "[daemon] refresh_timeout:", "is not a duration");
	expect_error("[okta]\ntimeout = 10\n" BASE, 2, "[okta] timeout:", "missing unit");
	expect_error(BASE "[flow a]\ngroups = g\ndefault_duration = 30s\n", 9,
		     "[flow a] default_duration:", "at least 60s");
	expect_error(BASE "[flow a]\ngroups = g\nmax_duration = 1m1h\n", 9,
		     "[flow a] max_duration:", "largest first");
	expect_error(BASE "[flow a]\ngroups = g\nwarn_before = -1m\n", 9,
		     "[flow a] warn_before:", "not a duration");
}

static void test_bad_enums(void **state)
{
	(void)state;
	expect_error("[okta]\ndpop = yes\n" BASE, 2, "[okta] dpop:", "auto, on or off");
	expect_error(BASE "[flow a]\ngroups = g\napproval = anyone\n", 9, "[flow a] approval:",
		     "'anyone'");
	expect_error(BASE "[flow a]\ngroups = g\nreason = maybe\n", 9, "[flow a] reason:", NULL);
	expect_error(BASE "[flow a]\ngroups = g\nstanding = yes\n", 9, "[flow a] standing:", NULL);
	expect_error(BASE "[flow a]\ngroups = g\non_expiry = kill\n", 9, "[flow a] on_expiry:",
		     NULL);
}

static void test_unknown_key(void **state)
{
	(void)state;
	expect_error("[okta]\norg_url = https://e.okta.com\nclient_secret = s\n", 3,
		     "[okta] client_secret:", "unknown key");
	expect_error(BASE "colour = blue\n", 7, "[integration] colour:", "unknown key");
	expect_error(BASE "[daemon]\nsockets = /x\n", 8, "[daemon] sockets:", "unknown key");
	expect_error(BASE "[users]\nformat = %u\n", 8, "[users] format:", "unknown key");
	expect_error(BASE "[flow a]\ngroups = g\ngroup = h\n", 9, "[flow a] group:", "unknown key");
}

static void test_unknown_section(void **state)
{
	(void)state;
	expect_error(BASE "[okat]\norg_url = https://e.okta.com\n", 8, "[okat]:",
		     "unknown section");
	expect_error(BASE "[flows]\ngroups = g\n", 8, "[flows]:", "unknown section");
}

/* [nss] (issue 18): defaults, every key, and what is refused. */
static void test_nss_section(void **state)
{
	struct loaded l;
	struct ojit_config *c;
	char out[300];

	(void)state;
	c = load_ok(&l, BASE "[flow web]\ngroups = web-sudo\nrequesters = eng\n");
	assert_int_equal(c->nss_enabled, 0);
	assert_int_equal(c->flows[0].ssh_keys, FLOW_KEYS_GRANT);
	assert_int_equal(c->nss_uid_min, OJIT_DEFAULT_NSS_UID_MIN);
	assert_string_equal(c->nss_cache, OJIT_DEFAULT_NSS_CACHE);
	assert_int_equal(config_nss_group_name(c, "web-sudo", out, sizeof(out)), 0);
	assert_string_equal(out, "okta-web-sudo");
	assert_int_equal(config_nss_home(c, "nina", out, sizeof(out)), 0);
	assert_string_equal(out, "/home/nina");
	unload(&l);

	c = load_ok(&l, BASE "[users]\nlogin_format = %u@example.com\n"
			"[nss]\nuid_attribute = unixUid\nuid_range = 70000-80000\ngecos_attribute = displayName\n"
			"keys_attribute = sshPublicKeys\nkey_options = allow\nhome = /srv/home/%u\nshell = /bin/zsh\n"
			"groups = web-sudo\ngroup_name = jit_%g\nenumerate = yes\nkeys_user = sshkeys\n"
			"cache = /run/test/nss.cache\n"
			"[flow web]\ngroups = web-sudo\nrequesters = eng\nssh_keys = requesters\n");
	assert_int_equal(c->nss_enabled, 1);
	assert_string_equal(c->nss_uid_attribute, "unixUid");
	assert_int_equal(c->nss_uid_min, 70000);
	assert_int_equal(c->nss_uid_max, 80000);
	assert_string_equal(c->nss_keys_attribute, "sshPublicKeys");
	assert_int_equal(c->nss_key_options_allowed, 1);
	assert_int_equal(c->nss_enumerate, 1);
	assert_string_equal(c->nss_keys_user, "sshkeys");
	assert_string_equal(c->nss_cache, "/run/test/nss.cache");
	assert_int_equal((int)c->nnss_groups, 1);
	assert_int_equal(c->flows[0].ssh_keys, FLOW_KEYS_REQUESTERS);
	assert_int_equal(config_nss_group_name(c, "web-sudo", out, sizeof(out)), 0);
	assert_string_equal(out, "jit_web-sudo");
	assert_int_equal(config_nss_home(c, "nina", out, sizeof(out)), 0);
	assert_string_equal(out, "/srv/home/nina");
	/* the reverse of login_format: case-insensitive, lower-cased */
	assert_int_equal(config_unmap_login(c, "Nina@Example.COM", out, sizeof(out)), 0);
	assert_string_equal(out, "nina");
	assert_int_equal(config_unmap_login(c, "nina@example.org", out, sizeof(out)), -1);
	assert_int_equal(config_unmap_login(c, "@example.com", out, sizeof(out)), -1);
	assert_int_equal(config_unmap_login(c, "example.com", out, sizeof(out)), -1);
	unload(&l);

	c = load_ok(&l, BASE "[users]\nlogin_format = jit-%u%%x\n[nss]\nenabled = no\n");
	assert_int_equal(c->nss_enabled, 0);
	assert_int_equal(config_unmap_login(c, "jit-bob%x", out, sizeof(out)), 0);
	assert_string_equal(out, "bob");
	unload(&l);

	expect_error(BASE "[nss]\nuid_range = 0-5000\n", 8, "[nss] uid_range:", "1000-2147483646");
	expect_error(BASE "[nss]\nuid_range = 60000-70000\n", 8, "[nss] uid_range:", "65534");
	expect_error(BASE "[nss]\nuid_range = 90000-80000\n", 8, "[nss] uid_range:", "first <= last");
	expect_error(BASE "[nss]\nuid_range = 90000\n", 8, "[nss] uid_range:", "FIRST-LAST");
	expect_error(BASE "[nss]\nuid_range = 90000-3000000000\n", 8, "[nss] uid_range:", "2147483646");
	expect_error(BASE "[nss]\nuid_attribute = uid.number\n", 8, "[nss] uid_attribute:", "profile attribute");
	expect_error(BASE "[nss]\nhome = home/%u\n", 8, "[nss] home:", "absolute");
	expect_error(BASE "[nss]\nhome = /home/x\n", 8, "[nss] home:", "%u");
	expect_error(BASE "[nss]\nshell = /bin/b:sh\n", 8, "[nss] shell:", "':'");
	expect_error(BASE "[nss]\ngroup_name = okta\n", 8, "[nss] group_name:", "%g");
	expect_error(BASE "[nss]\nkeys_user = root\n", 8, "[nss] keys_user:", "root");
	expect_error(BASE "[nss]\nkey_options = maybe\n", 8, "[nss] key_options:", "refuse or allow");
	expect_error(BASE "[nss]\nenumerate = sometimes\n", 8, "[nss] enumerate:", "yes or no");
	expect_error(BASE "[nss]\nfrobnicate = 1\n", 8, "[nss] frobnicate:", "unknown key");
	expect_error(BASE "[nss]\ngroups = web-sudo\n", 8, "[nss] groups:", "not a group of any [flow]");
	expect_error(BASE "[nss]\ngroups = web-sudo\ngroup_name = a-very-long-prefix-for-groups-%g\n"
		     "[flow web]\ngroups = web-sudo\n", 8, "[nss] groups:", "at most 32");
	expect_error(BASE "[flow web]\ngroups = web-sudo\nssh_keys = always\n", 9, "[flow web] ssh_keys:",
		     "grant or requesters");
}

/* [web] (issue 19): okta-jitd's keys (client_id, session_max, socket)
 * with their defaults, the web service's read for shape, and what is
 * refused. */
static void test_web_section(void **state)
{
	struct loaded l;
	struct ojit_config *c;

	(void)state;
	c = load_ok(&l, BASE);
	assert_int_equal(c->web_enabled, 0);
	assert_null(c->web_client_id);
	unload(&l);

	c = load_ok(&l, BASE "[web]\nclient_id = 0oaWEBapp123\n");
	assert_int_equal(c->web_enabled, 1);
	assert_string_equal(c->web_client_id, "0oaWEBapp123");
	assert_int_equal(c->web_session_max, OJIT_DEFAULT_WEB_SESSION_MAX);
	assert_string_equal(c->web_socket, OJIT_DEFAULT_WEB_SOCKET);
	unload(&l);

	c = load_ok(&l, BASE "[web]\nclient_id = 0oaWEBapp123\nsession_max = 20m\nsocket = /run/t/web.sock\n"
			"url = https://jit.example.com\nlisten = 127.0.0.1:8443\nclient_secret_file = /etc/okta-jit/web.secret\n"
			"tls_cert = /etc/okta-jit/web.crt\ntls_key = /etc/okta-jit/web.key\ntrusted_proxy = 127.0.0.1\n");
	assert_int_equal(c->web_session_max, 1200);
	assert_string_equal(c->web_socket, "/run/t/web.sock");
	assert_string_equal(c->web_url, "https://jit.example.com");
	assert_string_equal(c->web_listen, "127.0.0.1:8443");
	assert_string_equal(c->web_trusted_proxy, "127.0.0.1");
	unload(&l);

	expect_error(BASE "[web]\nsession_max = 1h\n", 8, "[web] client_id:", "required key missing");
	expect_error(BASE "[web]\nclient_id = 0oa/../x\n", 8, "[web] client_id:", "not an Okta client id");
	expect_error(BASE "[web]\nclient_id = 0oaA\nsession_max = 10s\n", 9, "[web] session_max:", "at least 60s");
	expect_error(BASE "[web]\nclient_id = 0oaA\nsession_max = 2d\n", 9, "[web] session_max:", "at most 86400s");
	expect_error(BASE "[web]\nclient_id = 0oaA\nsession_max = soon\n", 9, "[web] session_max:", "not a duration");
	expect_error(BASE "[web]\nclient_id = 0oaA\nsocket = web.sock\n", 9, "[web] socket:", "absolute");
	expect_error(BASE "[web]\nclient_id = 0oaA\nsocket = /run/okta-jit/okta-jitd.sock\n", 8, "[web] socket:",
		     "must differ");
	expect_error(BASE "[daemon]\npam_socket = /run/p.sock\n[web]\nclient_id = 0oaA\nsocket = /run/p.sock\n", 10,
		     "[web] socket:", "must differ");
	expect_error(BASE "[web]\nclient_id = 0oaA\nsocket = /run/okta-jit/pam.sock\n", 8, "[web] socket:",
		     "must differ");
	expect_error(BASE "[web]\nclient_id = 0oaA\nurl = http://jit.example.com\n", 9, "[web] url:", "https://");
	/* plain HTTP for a loopback host alone (tests); nothing that could
	 * break out of a Slack link or a PAM message */
	expect_error(BASE "[web]\nclient_id = 0oaA\nurl = http://127.0.0.1.evil.example\n", 9, "[web] url:", "https://");
	expect_error(BASE "[web]\nclient_id = 0oaA\nurl = http://localhost.evil.example:80\n", 9, "[web] url:",
		     "loopback");
	expect_error(BASE "[web]\nclient_id = 0oaA\nurl = http://10.0.0.1:8080\n", 9, "[web] url:", "https://");
	expect_error(BASE "[web]\nclient_id = 0oaA\nurl = https://jit.example.com|click\n", 9, "[web] url:",
		     "https://");
	expect_error(BASE "[web]\nclient_id = 0oaA\nurl = https://\n", 9, "[web] url:", "https://");
	{
		static const char *const ok[] = { "http://127.0.0.1:8080", "http://localhost", "http://[::1]:80/",
						  "https://jit.example.com/" };
		static const char *const kept[] = { "http://127.0.0.1:8080", "http://localhost", "http://[::1]:80",
						    "https://jit.example.com" };

		for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
			char text[256];

			snprintf(text, sizeof(text), BASE "[web]\nclient_id = 0oaA\nurl = %s\n", ok[i]);
			c = load_ok(&l, text);
			assert_string_equal(c->web_url, kept[i]);
			unload(&l);
		}
	}
	/* The web service's own keys are read by this reader too (okta-jit-web
	 * uses config_load): the same rules for both (issue 19). */
	c = load_ok(&l, BASE "[web]\nclient_id = 0oaA\nsession_idle = 10m\nmax_sessions = 100\n"
			"url = http://127.0.0.1:8080/\nlisten = [::1]:8080\n");
	assert_int_equal(c->web_session_idle, 600);
	assert_int_equal(c->web_max_sessions, 100);
	assert_string_equal(c->web_url, "http://127.0.0.1:8080"); /* trailing '/' dropped: links append paths */
	unload(&l);
	c = load_ok(&l, BASE "[web]\nclient_id = 0oaA\nsession_max = 5m\n");
	assert_int_equal(c->web_session_idle, 300); /* idle never outlives session_max */
	assert_int_equal(c->web_max_sessions, OJIT_DEFAULT_WEB_MAX_SESSIONS);
	unload(&l);
	expect_error(BASE "[web]\nclient_id = 0oaA\nurl = https://jit.example.com/jit\n", 9, "[web] url:", "no path");
	expect_error(BASE "[web]\nclient_id = 0oaA\nurl = https://JIT.example.com\n", 9, "[web] url:", "upper case");
	expect_error(BASE "[web]\nclient_id = 0oaA\nurl = https://u@jit.example.com\n", 9, "[web] url:", "user info");
	expect_error(BASE "[web]\nclient_id = 0oaA\nurl = http://[::2]:80\n", 9, "[web] url:", "loopback");
	expect_error(BASE "[web]\nclient_id = 0oaA\nlisten = 8080\n", 9, "[web] listen:", "HOST:PORT");
	expect_error(BASE "[web]\nclient_id = 0oaA\nlisten = ::1:8080\n", 9, "[web] listen:", "HOST:PORT");
	expect_error(BASE "[web]\nclient_id = 0oaA\nlisten = 0.0.0.0:8080\n", 9, "[web] listen:",
		     "plain HTTP only on a loopback");
	expect_error(BASE "[web]\nclient_id = 0oaA\ntrusted_proxy = proxy.example\n", 9, "[web] trusted_proxy:",
		     "one IP address");
	expect_error(BASE "[web]\nclient_id = 0oaA\nsession_idle = 5s\n", 9, "[web] session_idle:", "at least 60s");
	expect_error(BASE "[web]\nclient_id = 0oaA\nmax_sessions = 2\n", 9, "[web] max_sessions:", "16 to 1000000");
	expect_error(BASE "[web]\nclient_id = 0oaA\ntls_key = /k.pem\n", 9, "[web] tls_cert:", "both, or neither");
	expect_error(BASE "[web]\nclient_id = 0oaA\nurl = http://127.0.0.1:80\ntls_cert = /c\ntls_key = /k\n", 9,
		     "[web] url:", "without TLS");
	expect_error(BASE "[web]\nclient_id = 0oaA\nclient_id = 0oaB\n", 9, "[web] client_id:", "given twice");
	expect_error(BASE "[web]\nclient_id = 0oaA\ncolour = blue\n", 9, "[web] colour:", "unknown key");
	/* a gate changes nothing in Okta: no web socket there */
	expect_error("[integration]\nname = okta-jit-test\n[daemon]\nrole = gate\n"
		     "ledger = postgresql://okta_jit@127.0.0.1/okta_jit?sslmode=disable\n"
		     "fleet_verify_keys = /etc/okta-jit/fleet.pub\n[web]\nclient_id = 0oaA\n",
		     8, "[web] client_id:", "a gate changes nothing");
}

static void test_key_outside_section(void **state)
{
	(void)state;
	expect_error("org_url = https://e.okta.com\n" BASE, 1, "", "key outside any section");
}

/* Bug: add_error() prints the key only together with a section. */
static void test_key_outside_section_names_key(void **state)
{
	(void)state;
	expect_error("org_url = https://e.okta.com\n" BASE, 1, "", "org_url");
}

static void test_duplicate_key(void **state)
{
	(void)state;
	expect_error(BASE "[okta]\norg_url = https://other.okta.com\n", 8, "[okta] org_url:",
		     "given twice");
	expect_error(BASE "name = again\n", 7, "[integration] name:", "given twice");
	expect_error(BASE "[flow a]\ngroups = g\ngroups = h\n", 9, "[flow a] groups:",
		     "given twice");
}

/* Bug: only string and list keys notice a repeat (the unused "seen" bits
 * in parse_state were meant for this); the others keep the last value. */
static void test_duplicate_scalar_key(void **state)
{
	(void)state;
	expect_error("[okta]\ntimeout = 10s\ntimeout = 20s\n" BASE, 3, "[okta] timeout:",
		     "given twice");
	expect_error(BASE "[daemon]\ncache_ttl = 1m\ncache_ttl = 2m\n", 9,
		     "[daemon] cache_ttl:", "given twice");
	expect_error(BASE "[flow a]\ngroups = g\napproval = auto\napproval = owners\n", 10,
		     "[flow a] approval:", "given twice");
}

static void test_duplicate_flow(void **state)
{
	(void)state;
	expect_error(BASE "[flow a]\ngroups = g1\n[flow b]\ngroups = g2\n[flow a]\ngroups = g3\n",
		     12, "[flow a]:", "defined twice");
}

/* Bug: flow_begin() continues st->cur_flow whenever the name matches, so a
 * second [flow a] after another section, or right after the first, merges
 * into it instead of being refused. */
static void test_duplicate_flow_after_other_section(void **state)
{
	(void)state;
	expect_error(BASE "[flow a]\ngroups = g1\n[daemon]\ncache_ttl = 1m\n[flow a]\n"
			  "approval = auto\n",
		     12, "[flow a]:", "defined twice");
	expect_error(BASE "[flow a]\ngroups = g1\n[flow a]\napproval = auto\n", 10, "[flow a]:",
		     "defined twice");
}

static void test_flow_without_groups(void **state)
{
	(void)state;
	expect_error(BASE "[flow a]\napproval = auto\n", ANY_LINE, "[flow a] groups:",
		     "required key missing");
}

/* Bug: flow_config.line is documented as the [flow NAME] header's line but
 * flow_begin() records the line of the flow's first key. */
static void test_flow_errors_point_at_header(void **state)
{
	(void)state;
	expect_error(BASE "[flow a]\n\napproval = auto\n", 7, "[flow a] groups:",
		     "required key missing");
	expect_error(BASE "[flow a]\ngroups = g1\n[flow b]\ngroups = g2\n[flow a]\ngroups = g3\n",
		     12, "[flow a]:", "first at line 7");
}

static void test_flow_bad_name(void **state)
{
	(void)state;
	expect_error(BASE "[flow prod_db]\ngroups = g\n", 8, "[flow prod_db]:", "flow name");
}

static void test_flow_empty_list_entry(void **state)
{
	(void)state;
	expect_error(BASE "[flow a]\ngroups = g1,,g2\n", 8, "[flow a] groups:", "empty entry");
	expect_error(BASE "[flow a]\ngroups = ,g1\n", 8, "[flow a] groups:", "empty entry");
	expect_error(BASE "[flow a]\ngroups = g1, ,g2\n", 8, "[flow a] groups:", "empty entry");
}

static void test_default_longer_than_max(void **state)
{
	struct loaded l;

	(void)state;
	expect_error(BASE "[flow a]\ngroups = g\ndefault_duration = 2h\nmax_duration = 1h\n",
		     ANY_LINE, "[flow a] default_duration:", "longer than max_duration");
	/* The default max is 8h. */
	expect_error(BASE "[flow a]\ngroups = g\ndefault_duration = 9h\n", ANY_LINE,
		     "[flow a] default_duration:", "longer than max_duration");
	load_ok(&l, BASE "[flow a]\ngroups = g\ndefault_duration = 2h\nmax_duration = 2h\n");
	unload(&l);
}

static void test_approval_owner_needs_owner(void **state)
{
	struct loaded l;

	(void)state;
	expect_error(BASE "[flow a]\ngroups = g\napproval = owner\n", ANY_LINE, "[flow a] approval:",
		     "[integration] owner");
	load_ok(&l, BASE "owner = user:alice@example.com\n[flow a]\ngroups = g\napproval = owner\n");
	assert_string_equal(l.cfg->owner, "user:alice@example.com");
	unload(&l);
}

static void test_group_in_two_flows(void **state)
{
	(void)state;
	expect_error(BASE "[flow a]\ngroups = g1\n[flow b]\ngroups = g2, g1\n", ANY_LINE,
		     "[flow b] groups:", "'g1' is already granted by flow 'a'");
}

static void test_owner_format(void **state)
{
	(void)state;
	expect_error(BASE "owner = Ops Owners\n", 7, "[integration] owner:", "group:");
	expect_error(BASE "owner = group:\n", 7, "[integration] owner:", NULL);
	expect_error(BASE "owner = user:\n", 7, "[integration] owner:", NULL);
	expect_error(BASE "owner = app:x\n", 7, "[integration] owner:", NULL);
}

static void test_login_format_invalid(void **state)
{
	(void)state;
	expect_error(BASE "[users]\nlogin_format = admin@example.com\n", 8,
		     "[users] login_format:", "exactly once");
	expect_error(BASE "[users]\nlogin_format = %s@example.com\n", 8,
		     "[users] login_format:", "only %u");
	expect_error(BASE "[users]\nlogin_format = %u.%u@example.com\n", 8,
		     "[users] login_format:", "exactly once");
	expect_error(BASE "[users]\nlogin_format = %u@\"x\"\n", 8, "[users] login_format:",
		     "quotes");
	expect_error(BASE "[users]\nlogin_format = %u%\n", 8, "[users] login_format:", NULL);
}

static void test_check_login_format(void **state)
{
	char longfmt[256];
	const char *why;

	(void)state;
	assert_int_equal(config_check_login_format("%u", &why), 0);
	assert_int_equal(config_check_login_format("%u@example.com", &why), 0);
	assert_int_equal(config_check_login_format("100%%-%u", &why), 0);
	assert_int_equal(config_check_login_format("%%u", &why), -1); /* a literal "%u" */
	assert_int_equal(config_check_login_format("a b%u", &why), -1);
	assert_int_equal(config_check_login_format("%u\\x", &why), -1);
	assert_int_equal(config_check_login_format("%u\x7f", &why), -1);
	assert_int_equal(config_check_login_format("", &why), -1);

	memset(longfmt, 'a', sizeof(longfmt));
	memcpy(longfmt, "%u", 2);
	longfmt[200] = '\0';
	assert_int_equal(config_check_login_format(longfmt, &why), 0);
	longfmt[200] = 'a';
	longfmt[201] = '\0';
	assert_int_equal(config_check_login_format(longfmt, &why), -1);
}

static void test_relative_paths_refused(void **state)
{
	(void)state;
	expect_error("[okta]\norg_url = https://e.okta.com\nclient_id = x\n"
		     "private_key = keys/okta.pem\n[integration]\nname = n\n",
		     4, "[okta] private_key:", "absolute path");
	expect_error("[okta]\nca_file = ca.pem\n" BASE, 2, "[okta] ca_file:", "absolute path");
	expect_error(BASE "[daemon]\nledger = ledger.db\n", 8, "[daemon] ledger:", "absolute");
	expect_error(BASE "[daemon]\nsocket = run/s.sock\n", 8, "[daemon] socket:", "absolute");
}

/* issue 15.2: the fleet's database connection is verify-full unless the
 * database is on loopback or a Unix socket. */
static void test_pg_ledger_sslmode(void **state)
{
	static const char *const refused[] = {
		"postgresql://okta_jit@db.internal:5432/okta_jit?sslmode=prefer",
		"postgresql://okta_jit@db.internal/okta_jit",
		"postgresql://okta_jit@192.0.2.7/okta_jit?sslmode=require",
		"postgresql://okta_jit@db.internal/okta_jit?sslmode=verify-ca",
		"postgresql://okta_jit@[2001:db8::1]/okta_jit?sslmode=disable",
		"postgresql://okta_jit@127.0.0.1,db.internal/okta_jit?sslmode=disable",
		"postgresql://okta_jit@localhost/okta_jit?sslmode=disable&hostaddr=192.0.2.7",
	};
	static const char *const accepted[] = {
		"postgresql://okta_jit@db.internal:5432/okta_jit?sslmode=verify-full&sslrootcert=/etc/ssl/ca.pem",
		"postgresql://okta_jit@127.0.0.1:5432/okta_jit?sslmode=disable",
		"postgresql://okta_jit@127.8.9.10/okta_jit",
		"postgresql://okta_jit@localhost/okta_jit?sslmode=prefer",
		"postgresql://okta_jit@[::1]/okta_jit?sslmode=disable",
		"postgresql://okta_jit@%2Frun%2Fpostgresql/okta_jit",
		"postgresql:///okta_jit?host=/run/postgresql&user=okta_jit",
		"postgresql:///okta_jit",
	};
	char text[1024];
	struct loaded l;
	size_t i;

	(void)state;
	unsetenv("PGHOST");
	unsetenv("PGHOSTADDR");
	unsetenv("PGSSLMODE");
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		snprintf(text, sizeof(text), BASE "[daemon]\nledger = %s\n", refused[i]);
		expect_error(text, 8, "[daemon] ledger:", "sslmode=verify-full");
	}
	for (i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		snprintf(text, sizeof(text), BASE "[daemon]\nledger = %s\n", accepted[i]);
		load_ok(&l, text);
		unload(&l);
	}
	/* libpq would take the host from the environment: so does the check */
	setenv("PGHOST", "db.internal", 1);
	snprintf(text, sizeof(text), BASE "[daemon]\nledger = postgresql:///okta_jit?sslmode=prefer\n");
	expect_error(text, 8, "[daemon] ledger:", "db.internal");
	unsetenv("PGHOST");
}

/* [daemon] snapshot_groups (issue 17): a list of group names, for a
 * shared ledger only, each error naming file, line and key. */
static void test_snapshot_groups(void **state)
{
	struct loaded l;
	struct ojit_config *c;

	(void)state;
	c = load_ok(&l, BASE "[daemon]\nledger = postgresql://okta_jit@127.0.0.1/okta_jit?sslmode=disable\n"
			     "snapshot_groups = linux-admins , db readers\n");
	assert_int_equal(c->nsnapshot_groups, 2);
	assert_string_equal(c->snapshot_groups[0], "linux-admins");
	assert_string_equal(c->snapshot_groups[1], "db readers");
	unload(&l);
	c = load_ok(&l, BASE "[flow f]\ngroups = g\n");
	assert_int_equal(c->nsnapshot_groups, 0);
	assert_null(c->snapshot_groups);
	unload(&l);
	/* a single host asks Okta itself: the key would do nothing */
	expect_error(BASE "[daemon]\nsnapshot_groups = linux-admins\n", 8, "[daemon] snapshot_groups:",
		     "shared ledger");
	expect_error(BASE "[daemon]\nledger = postgresql://okta_jit@127.0.0.1/okta_jit?sslmode=disable\n"
			  "snapshot_groups = a,,b\n", 9, "[daemon] snapshot_groups:", "empty entry");
	expect_error(BASE "[daemon]\nledger = postgresql://okta_jit@127.0.0.1/okta_jit?sslmode=disable\n"
			  "snapshot_groups = a,\n", 9, "[daemon] snapshot_groups:", "trailing comma");
	expect_error(BASE "[daemon]\nledger = postgresql://okta_jit@127.0.0.1/okta_jit?sslmode=disable\n"
			  "snapshot_groups = a\x01b\n", 9, "[daemon] snapshot_groups:", "not a valid group name");
}

/* The fleet keys (issue 17 follow-up): a granter's signing key, a gate's
 * verify keys (a list, for rotation); a PostgreSQL gate without a verify
 * key is refused (it would trust the database again), a gate with the
 * signing key too, and either key on a single host. */
/* Issue 21: the forms of [okta] private_key, the rotation keys and the
 * rewrite key rotate makes. */
#define OKTA_HEAD "[okta]\norg_url = https://example.okta.com\nclient_id = 0oa1abcdEFGH\n"
#define INTEG "[integration]\nname = okta-jit-test\n"

static void test_key_specs(void **state)
{
	static const char *const good[] = { "/etc/okta-jit/keys/okta.pem", "tpm2:handle:0x81000002",
					    "tpm2:/etc/okta-jit/keys/okta.tss2",
					    "pkcs11:token=okta;object=okta-jit;type=private", "credential:okta-key",
					    NULL };
	char why[512], text[1024];
	struct loaded l;
	size_t i;

	(void)state;
	for (i = 0; good[i] != NULL; i++) {
		assert_int_equal(config_check_key_spec(good[i], why, sizeof(why)), 0);
		snprintf(text, sizeof(text), OKTA_HEAD "private_key = %s\n" INTEG, good[i]);
		assert_string_equal(load_ok(&l, text)->private_key, good[i]);
		unload(&l);
	}
	expect_error(OKTA_HEAD "private_key = tpm2:handle:0x01000002\n" INTEG, 4, "[okta] private_key:",
		     "tpm2:handle:0x81XXXXXX");
	expect_error(OKTA_HEAD "private_key = tpm2:handle:0x8100000\n" INTEG, 4, "[okta] private_key:",
		     "names no TPM key");
	expect_error(OKTA_HEAD "private_key = pkcs11:\n" INTEG, 4, "[okta] private_key:", "not a PKCS#11 URI");
	expect_error(OKTA_HEAD "private_key = credential:a/b\n" INTEG, 4, "[okta] private_key:",
		     "a credential name is");
	expect_error(OKTA_HEAD "private_key = credential:..\n" INTEG, 4, "[okta] private_key:",
		     "a credential name is");
	expect_error(OKTA_HEAD "private_key = okta.pem\n" INTEG, 4, "[okta] private_key:", "absolute path");
	expect_error(OKTA_HEAD "private_key = /k\ntpm2_tcti = swtpm:host=a b\n" INTEG, 5, "[okta] tpm2_tcti:",
		     "spaces");
	expect_error(OKTA_HEAD "private_key = /k\nkey_max_age = 1h\n" INTEG, 5, "[okta] key_max_age:",
		     "at least 86400s");
}

static void test_next_key(void **state)
{
	struct loaded l;
	struct ojit_config *c;

	(void)state;
	c = load_ok(&l, OKTA_HEAD "private_key = /k\nkey_id = old\nnext_private_key = tpm2:handle:0x81000002\n"
			"next_key_id = new\ntpm2_tcti = device:/dev/tpmrm0\nkey_max_age = 90d\n" INTEG);
	assert_string_equal(c->next_private_key, "tpm2:handle:0x81000002");
	assert_string_equal(c->next_key_id, "new");
	assert_string_equal(c->tpm2_tcti, "device:/dev/tpmrm0");
	assert_int_equal(c->key_max_age, 90 * 86400);
	unload(&l);
	c = load_ok(&l, OKTA_HEAD "private_key = /k\n" INTEG);
	assert_int_equal(c->key_max_age, 365 * 86400);
	assert_null(c->next_private_key);
	unload(&l);
	expect_error(OKTA_HEAD "private_key = /k\nkey_id = a\nnext_private_key = /n\n" INTEG, 6,
		     "[okta] next_key_id:", "required with next_private_key");
	expect_error(OKTA_HEAD "private_key = /k\nkey_id = a\nnext_key_id = b\n" INTEG, 6,
		     "[okta] next_private_key:", "required with next_key_id");
	expect_error(OKTA_HEAD "private_key = /k\nnext_private_key = /n\nnext_key_id = b\n" INTEG, 5,
		     "[okta] key_id:", "with two keys on the app");
	expect_error(OKTA_HEAD "private_key = /k\nkey_id = a\nnext_private_key = /n\nnext_key_id = a\n" INTEG, 7,
		     "[okta] next_key_id:", "a kid of its own");
	expect_error(OKTA_HEAD "private_key = /k\nkey_id = a\nnext_private_key = /k\nnext_key_id = b\n" INTEG, 6,
		     "[okta] next_private_key:", "the same key");
}

static void test_rotate_keys_rewrites_the_file(void **state)
{
	const char *text = "# the Okta app\n" OKTA_HEAD "private_key = /etc/okta-jit/keys/old.pem\n"
			   "key_id = old\n  next_private_key =  tpm2:handle:0x81000002\nnext_key_id = new\n"
			   "timeout = 5s\n" INTEG "[flow f]\ngroups = g\n";
	struct loaded l, again;
	char err[512], buf[4096];
	struct ojit_config *c;
	FILE *fp;
	size_t n;

	(void)state;
	c = load_ok(&l, text);
	assert_int_equal(chmod(l.path, 0640), 0);
	assert_int_equal(config_rotate_keys(c, err, sizeof(err)), 0);
	fp = fopen(l.path, "r");
	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "\nprivate_key = tpm2:handle:0x81000002\nkey_id = new\n"));
	assert_non_null(strstr(buf, "# okta-jit key rotate, "));
	assert_non_null(strstr(buf, "was private_key = /etc/okta-jit/keys/old.pem, key_id = old"));
	assert_null(strstr(buf, "next_"));
	assert_non_null(strstr(buf, "# the Okta app\n"));
	assert_non_null(strstr(buf, "timeout = 5s\n[integration]\nname = okta-jit-test\n[flow f]\ngroups = g\n"));
	{
		struct stat st;

		assert_int_equal(stat(l.path, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0640);
	}
	/* the result loads, with the next key as the key */
	memset(&again, 0, sizeof(again));
	ojit_buf_init(&again.errors, 0);
	assert_int_equal(config_load(l.path, &again.cfg, &again.errors), 0);
	assert_string_equal(again.cfg->private_key, "tpm2:handle:0x81000002");
	assert_string_equal(again.cfg->key_id, "new");
	assert_null(again.cfg->next_private_key);
	/* nothing to rotate to any more */
	assert_int_equal(config_rotate_keys(again.cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no [okta] next_private_key"));
	config_free(again.cfg);
	ojit_buf_free(&again.errors);
	unload(&l);
}
#undef INTEG
#undef OKTA_HEAD

static void test_fleet_keys(void **state)
{
#define PG "ledger = postgresql://okta_jit@127.0.0.1/okta_jit?sslmode=disable\n"
#define GATE "[integration]\nname = okta-jit-test\n[daemon]\nrole = gate\n" PG
	struct loaded l;
	struct ojit_config *c;

	(void)state;
	c = load_ok(&l, BASE "[daemon]\n" PG "fleet_signing_key = /etc/okta-jit/fleet-signing.key\n");
	assert_string_equal(c->fleet_signing_key, "/etc/okta-jit/fleet-signing.key");
	assert_int_equal(c->nfleet_verify_keys, 0);
	unload(&l);
	c = load_ok(&l, GATE "fleet_verify_keys = /etc/okta-jit/old.pub, /etc/okta-jit/new.pub\n");
	assert_int_equal(c->nfleet_verify_keys, 2);
	assert_string_equal(c->fleet_verify_keys[0], "/etc/okta-jit/old.pub");
	assert_string_equal(c->fleet_verify_keys[1], "/etc/okta-jit/new.pub");
	assert_null(c->fleet_signing_key);
	unload(&l);
	expect_error(GATE, 0, "[daemon] fleet_verify_keys:", "required key missing on a gate");
	expect_error(GATE "fleet_verify_keys = /k.pub\nfleet_signing_key = /k\n", 7, "[daemon] fleet_signing_key:",
		     "a gate holds no signing key");
	expect_error(GATE "fleet_verify_keys = k.pub\n", 6, "[daemon] fleet_verify_keys:", "not an absolute path");
	expect_error(GATE "fleet_verify_keys = /a.pub,,/b.pub\n", 6, "[daemon] fleet_verify_keys:", "empty entry");
	expect_error(BASE "[daemon]\n" PG "fleet_signing_key = k\n", 9, "[daemon] fleet_signing_key:",
		     "absolute path");
	expect_error(BASE "[daemon]\nfleet_signing_key = /k\n", 8, "[daemon] fleet_signing_key:", "shared ledger");
	expect_error(BASE "[daemon]\nfleet_verify_keys = /k.pub\n", 8, "[daemon] fleet_verify_keys:",
		     "shared ledger");
#undef GATE
#undef PG
}

static void test_socket_path_too_long(void **state)
{
	char text[1024];
	char sock[120];

	(void)state;
	sock[0] = '/';
	memset(sock + 1, 's', 107);
	sock[108] = '\0';
	snprintf(text, sizeof(text), BASE "[daemon]\nsocket = %s\n", sock);
	expect_error(text, 8, "[daemon] socket:", "too long");
}

/* pam_socket: pam.sock beside socket unless set; absolute, short enough,
 * and never the public socket itself. */
static void test_pam_socket(void **state)
{
	struct loaded l;
	struct ojit_config *c;
	char text[1024];
	char sock[120];

	(void)state;
	c = load_ok(&l, BASE "[daemon]\nsocket = /srv/jit/public.sock\n");
	assert_string_equal(c->pam_socket, "/srv/jit/pam.sock");
	unload(&l);
	c = load_ok(&l, BASE "[daemon]\nsocket = /top.sock\n");
	assert_string_equal(c->pam_socket, "/pam.sock");
	unload(&l);
	c = load_ok(&l, BASE "[daemon]\npam_socket = /run/x/root-only.sock\n");
	assert_string_equal(c->socket, OJIT_DEFAULT_SOCKET);
	assert_string_equal(c->pam_socket, "/run/x/root-only.sock");
	unload(&l);
	expect_error(BASE "[daemon]\npam_socket = run/p.sock\n", 8, "[daemon] pam_socket:", "absolute");
	expect_error(BASE "[daemon]\nsocket = /run/a.sock\npam_socket = /run/a.sock\n", 0, "[daemon] pam_socket:",
		     "must differ from socket");
	expect_error(BASE "[daemon]\nsocket = /run/okta-jit/pam.sock\n", 0, "[daemon] pam_socket:",
		     "must differ from socket");
	sock[0] = '/';
	memset(sock + 1, 's', 107);
	sock[108] = '\0';
	snprintf(text, sizeof(text), BASE "[daemon]\npam_socket = %s\n", sock);
	expect_error(text, 8, "[daemon] pam_socket:", "too long");
	/* a socket whose directory leaves no room for pam.sock beside it */
	memset(sock + 1, 'd', 98);
	memcpy(sock + 99, "/x.sock", 8); /* 106 bytes; pam.sock beside it would be 108 */
	snprintf(text, sizeof(text), BASE "[daemon]\nsocket = %s\n", sock);
	expect_error(text, 0, "[daemon] pam_socket:", "set pam_socket");
}

static void test_client_id_and_key_id_charset(void **state)
{
	(void)state;
	expect_error("[okta]\nclient_id = 0oa1/../x\n" BASE, 2, "[okta] client_id:", NULL);
	expect_error("[okta]\nkey_id = a\"b\n" BASE, 2, "[okta] key_id:", "quotes");
}

static void test_empty_value(void **state)
{
	(void)state;
	expect_error("[okta]\nkey_id =\n" BASE, 2, "[okta] key_id:", "empty value");
}

/* A gate holds no Okta credential (issue 17): [okta] may be left out
 * with role = gate, never with role = granter. */
static void test_gate_needs_no_okta_section(void **state)
{
	static const char gate[] = "[integration]\nname = okta-jit-test\n[daemon]\nrole = gate\n"
				   "ledger = postgresql://db.example/okta_jit?sslmode=verify-full\n"
				   "fleet_verify_keys = /etc/okta-jit/fleet-verify.pub\n";
	struct loaded l;
	struct ojit_config *c;

	(void)state;
	c = load_ok(&l, gate);
	assert_true(c->role_gate);
	assert_null(c->org_url);
	assert_null(c->client_id);
	assert_null(c->private_key);
	unload(&l);
	expect_error("[integration]\nname = okta-jit-test\n[daemon]\nrole = granter\n"
		     "ledger = postgresql://db.example/okta_jit?sslmode=verify-full\n",
		     0, "[okta] private_key:", "required key missing");
}

static void test_missing_required_keys(void **state)
{
	(void)state;
	expect_error("", 0, "[okta] org_url:", "required key missing");
	expect_error("", 0, "[okta] client_id:", "required key missing");
	expect_error("", 0, "[okta] private_key:", "required key missing");
	expect_error("", 0, "[integration] name:", "required key missing");
	expect_error("[okta]\norg_url = https://e.okta.com\nclient_id = x\nprivate_key = /k\n", 0,
		     "[integration] name:", "required key missing");
}

static void test_missing_keys_listed_without_line(void **state)
{
	struct loaded l;
	char bad[PATH_MAX + 8];

	(void)state;
	load(&l, "[integration]\nname = n\n");
	assert_int_equal(l.rc, -1);
	snprintf(bad, sizeof(bad), "%s:", l.path);
	/* Every line is "PATH: ..." and never "PATH:N: ..." */
	assert_non_null(strstr(l.errors.data, "org_url"));
	assert_non_null(strstr(l.errors.data, "client_id"));
	assert_non_null(strstr(l.errors.data, "private_key"));
	assert_null(strstr(l.errors.data, "[integration] name"));
	for (const char *p = l.errors.data; (p = strstr(p, bad)) != NULL; p += strlen(bad))
		assert_int_equal(p[strlen(bad)], ' ');
	unload(&l);
}

static void test_long_line_refused(void **state)
{
	size_t vlen = 4100;
	size_t cap = sizeof(BASE) + 64 + vlen;
	char *text = malloc(cap);
	size_t off;

	(void)state;
	assert_non_null(text);
	off = (size_t)snprintf(text, cap, BASE "access_details = ");
	memset(text + off, 'x', vlen);
	off += vlen;
	off += (size_t)snprintf(text + off, cap - off, "\nowner = group:g\n");
	expect_error(text, 7, "", "line longer than 4093 bytes");
	free(text);
}

static void test_long_comment_line_does_not_leak_into_next_line(void **state)
{
	size_t vlen = 5000;
	size_t cap = sizeof(BASE) + 64 + vlen;
	char *text = malloc(cap);
	size_t off;
	struct loaded l;

	(void)state;
	assert_non_null(text);
	off = (size_t)snprintf(text, cap, "# ");
	memset(text + off, 'x', vlen);
	off += vlen;
	/* Without the swallowing, the tail "xxx" would be read as its own
	 * line and be a syntax error; the next line must still be line 2. */
	snprintf(text + off, cap - off, "\n" BASE);
	load(&l, text);
	assert_int_equal(l.rc, 0);
	assert_string_equal(l.cfg->name, "okta-jit-test");
	unload(&l);
	free(text);
}

static void test_syntax_error_line(void **state)
{
	(void)state;
	expect_error(BASE "this line has no equals sign\n", 7, "", "syntax error");
	expect_error("[okta\n" BASE, 1, "", "syntax error");
}

static void test_missing_file(void **state)
{
	struct ojit_config *cfg = (struct ojit_config *)0x1;
	struct ojit_buf errors;
	char path[PATH_MAX + 32];

	(void)state;
	ojit_buf_init(&errors, 0);
	snprintf(path, sizeof(path), "%s/does-not-exist.conf", tmpdir);
	assert_int_equal(config_load(path, &cfg, &errors), -1);
	assert_null(cfg);
	assert_non_null(strstr(errors.data, path));
	assert_non_null(strstr(errors.data, "cannot open"));
	ojit_buf_free(&errors);
}

static void test_errors_stripped_of_controls(void **state)
{
	struct loaded l;

	(void)state;
	load(&l, BASE "[flow a]\ngroups = g\napproval = \x1b[31mred\n");
	assert_int_equal(l.rc, -1);
	assert_null(strchr(l.errors.data, '\x1b'));
	assert_non_null(strstr(l.errors.data, "[flow a] approval:"));
	unload(&l);
}

static void test_map_login(void **state)
{
	struct loaded l;
	char out[64];

	(void)state;
	load_ok(&l, BASE "[users]\nlogin_format = %u@example.com\n");
	memset(out, 'X', sizeof(out));
	assert_int_equal(config_map_login(l.cfg, "bob", out, sizeof(out)), 0);
	assert_string_equal(out, "bob@example.com");
	unload(&l);
}

static void test_map_login_percent_escape(void **state)
{
	char fmt[] = "100%%+%u%%";
	struct ojit_config c;
	char out[64];

	(void)state;
	memset(&c, 0, sizeof(c));
	c.login_format = fmt;
	assert_int_equal(config_map_login(&c, "alice", out, sizeof(out)), 0);
	assert_string_equal(out, "100%+alice%");
}

static void test_map_login_default_format(void **state)
{
	struct ojit_config c;
	char out[16];

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(config_map_login(&c, "carol", out, sizeof(out)), 0);
	assert_string_equal(out, "carol");
}

static void test_map_login_too_long(void **state)
{
	char fmt[] = "%u@example.com";
	struct ojit_config c;
	char out[16];

	(void)state;
	memset(&c, 0, sizeof(c));
	c.login_format = fmt;
	/* "bob@example.com" is 15 bytes: fits in 16, not in 15. */
	assert_int_equal(config_map_login(&c, "bob", out, 16), 0);
	assert_string_equal(out, "bob@example.com");
	assert_int_equal(config_map_login(&c, "bob", out, 15), -1);
	assert_int_equal(config_map_login(&c, "robert", out, sizeof(out)), -1);
	assert_int_equal(config_map_login(&c, "bob", out, 0), -1);
}

static void test_flow_for_group(void **state)
{
	struct loaded l;
	const struct flow_config *f;

	(void)state;
	load_ok(&l, full_config);
	f = config_flow_for_group(l.cfg, "db-readers");
	assert_non_null(f);
	assert_string_equal(f->name, "prod-db");
	f = config_flow_for_group(l.cfg, "db-admins");
	assert_ptr_equal(f, &l.cfg->flows[0]);
	f = config_flow_for_group(l.cfg, "web-admins");
	assert_ptr_equal(f, &l.cfg->flows[1]);
	assert_null(config_flow_for_group(l.cfg, "eng")); /* a requester, not granted */
	assert_null(config_flow_for_group(l.cfg, "db-admin"));
	assert_null(config_flow_for_group(l.cfg, ""));
	unload(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_config_defaults),
		cmocka_unit_test(test_gate_needs_no_okta_section),
		cmocka_unit_test(test_full_config_every_key),
		cmocka_unit_test(test_flow_defaults),
		cmocka_unit_test(test_enum_values),
		cmocka_unit_test(test_standing_members_and_drift),
		cmocka_unit_test(test_standing_and_drift_refused),
		cmocka_unit_test(test_value_with_semicolon_kept_whole),
		cmocka_unit_test(test_comments_and_blank_lines),
		cmocka_unit_test(test_access_details_medium_accepted),
		cmocka_unit_test(test_access_details_400_accepted),
		cmocka_unit_test(test_access_details_401_refused),
		cmocka_unit_test(test_org_url_http_refused),
		cmocka_unit_test(test_org_url_path_query_refused),
		cmocka_unit_test(test_org_url_userinfo_refused),
		cmocka_unit_test(test_org_url_missing_host_refused),
		cmocka_unit_test(test_check_org_url),
		cmocka_unit_test(test_name_invalid),
		cmocka_unit_test(test_check_name),
		cmocka_unit_test(test_bad_durations),
		cmocka_unit_test(test_revoke_on),
		cmocka_unit_test(test_bad_enums),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_unknown_section),
		cmocka_unit_test(test_nss_section),
		cmocka_unit_test(test_web_section),
		cmocka_unit_test(test_key_outside_section),
		cmocka_unit_test(test_key_outside_section_names_key),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_duplicate_scalar_key),
		cmocka_unit_test(test_duplicate_flow),
		cmocka_unit_test(test_duplicate_flow_after_other_section),
		cmocka_unit_test(test_flow_without_groups),
		cmocka_unit_test(test_flow_errors_point_at_header),
		cmocka_unit_test(test_flow_bad_name),
		cmocka_unit_test(test_flow_empty_list_entry),
		cmocka_unit_test(test_default_longer_than_max),
		cmocka_unit_test(test_approval_owner_needs_owner),
		cmocka_unit_test(test_group_in_two_flows),
		cmocka_unit_test(test_owner_format),
		cmocka_unit_test(test_login_format_invalid),
		cmocka_unit_test(test_check_login_format),
		cmocka_unit_test(test_relative_paths_refused),
		cmocka_unit_test(test_socket_path_too_long),
		cmocka_unit_test(test_pam_socket),
		cmocka_unit_test(test_client_id_and_key_id_charset),
		cmocka_unit_test(test_empty_value),
		cmocka_unit_test(test_missing_required_keys),
		cmocka_unit_test(test_missing_keys_listed_without_line),
		cmocka_unit_test(test_long_line_refused),
		cmocka_unit_test(test_long_comment_line_does_not_leak_into_next_line),
		cmocka_unit_test(test_syntax_error_line),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_errors_stripped_of_controls),
		cmocka_unit_test(test_map_login),
		cmocka_unit_test(test_map_login_percent_escape),
		cmocka_unit_test(test_map_login_default_format),
		cmocka_unit_test(test_map_login_too_long),
		cmocka_unit_test(test_flow_for_group),
		cmocka_unit_test(test_pg_ledger_sslmode),
		cmocka_unit_test(test_snapshot_groups),
		cmocka_unit_test(test_fleet_keys),
		cmocka_unit_test(test_key_specs),
		cmocka_unit_test(test_next_key),
		cmocka_unit_test(test_rotate_keys_rewrites_the_file),
	};

	return cmocka_run_group_tests_name("config", tests, group_setup, group_teardown);
}
