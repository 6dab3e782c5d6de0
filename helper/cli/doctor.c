/* doctor.c - `okta-jit doctor`: one line per setup step, PASS or FAIL with
 * the fix, in the order an admin sets Okta up. A failed step makes the
 * steps that need it SKIP rather than pile up confusing failures. */
#include "doctor.h"

#include <cjson/cJSON.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "keyfile.h"
#include "ledger.h"
#include "okta_api.h"
#include "okta_http.h"
#include "util.h"

enum step_result { STEP_PASS, STEP_FAIL, STEP_SKIP, STEP_WARN };

struct doctor {
	int json;
	int failed;
	cJSON *steps;
};

static void step(struct doctor *d, enum step_result res, const char *name, const char *fix,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void step(struct doctor *d, enum step_result res, const char *name, const char *fix,
		 const char *fmt, ...)
{
	static const char *const label[] = { "PASS", "FAIL", "SKIP", "WARN" };
	char msg[4096];
	char fixbuf[1024] = "";
	va_list ap;
	char *line, *save = NULL;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Messages may hold several lines (config errors): keep the breaks,
	 * strip every other control character. */
	for (line = msg; *line; line++)
		if ((unsigned char)*line < 0x20 && *line != '\n')
			*line = '?';
	if (fix != NULL) {
		ojit_strlcpy(fixbuf, fix, sizeof(fixbuf));
		ojit_strip_controls(fixbuf);
	}
	if (res == STEP_FAIL)
		d->failed = 1;
	if (d->json) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "step", name);
		cJSON_AddStringToObject(o, "result", label[res]);
		cJSON_AddStringToObject(o, "message", msg);
		if (fixbuf[0] != '\0')
			cJSON_AddStringToObject(o, "fix", fixbuf);
		cJSON_AddItemToArray(d->steps, o);
		return;
	}
	line = strtok_r(msg, "\n", &save);
	printf("%s  %-14s %s\n", label[res], name, line ? line : "");
	while ((line = strtok_r(NULL, "\n", &save)) != NULL)
		printf("      %s\n", line);
	if (fixbuf[0] != '\0')
		printf("      fix: %s\n", fixbuf);
	fflush(stdout);
}

static int has_scope(const char *scopes, const char *want)
{
	size_t wl = strlen(want);
	const char *p = scopes;

	while ((p = strstr(p, want)) != NULL) {
		if ((p == scopes || p[-1] == ' ') && (p[wl] == '\0' || p[wl] == ' '))
			return 1;
		p += wl;
	}
	return 0;
}

static void okta_step_fail(struct doctor *d, const char *name, const char *what,
			   const struct okta_error *e)
{
	char msg[1024];

	okta_error_format(e, msg, sizeof(msg));
	step(d, STEP_FAIL, name, e->hint[0] ? e->hint : NULL, "%s: %s", what, msg);
}

/* Whose Okta login to read as a probe: --user, else the integration owner
 * if it is a user, else the local user who ran us (through sudo too). */
static int probe_login(const struct ojit_config *cfg, const char *given, char *out, size_t n)
{
	const char *local;
	struct passwd *pw;

	if (given != NULL)
		return ojit_strlcpy(out, given, n);
	if (cfg->owner != NULL && strncmp(cfg->owner, "user:", 5) == 0)
		return ojit_strlcpy(out, cfg->owner + 5, n);
	local = getenv("SUDO_USER");
	if (local == NULL || local[0] == '\0') {
		pw = getpwuid(getuid());
		if (pw == NULL)
			return -1;
		local = pw->pw_name;
	}
	return config_map_login(cfg, local, out, n);
}

static void check_groups(struct doctor *d, struct okta_client *c, const struct ojit_config *cfg)
{
	struct okta_error e;
	struct okta_group g;
	size_t i, j;

	if (cfg->nflows == 0) {
		step(d, STEP_WARN, "groups", "add a [flow NAME] section with groups = OKTA_GROUP_NAME",
		     "no access flows are configured, so nothing can be granted");
		return;
	}
	for (i = 0; i < cfg->nflows; i++) {
		const struct flow_config *f = &cfg->flows[i];

		for (j = 0; j < f->ngroups; j++) {
			char name[300];

			snprintf(name, sizeof(name), "group");
			/* okta-jit gates and grants the one OKTA_GROUP of the name;
			 * a group of another type (an imported APP_GROUP) is looked
			 * for only to explain a failure */
			if (okta_group_find_type(c, f->groups[j], "OKTA_GROUP", &g, &e) != 0 &&
			    (e.kind != OKTA_ERR_NOT_FOUND || okta_group_find(c, f->groups[j], &g, &e) != 0)) {
				char msg[1024];

				okta_error_format(&e, msg, sizeof(msg));
				if (e.kind == OKTA_ERR_AMBIGUOUS)
					step(d, STEP_FAIL, name,
					     "rename the Okta groups so that exactly one OKTA_GROUP bears the name, or name another group in the flow",
					     "[flow %s] group '%s' is ambiguous (a configuration error): %s", f->name,
					     f->groups[j], msg);
				else if (e.kind == OKTA_ERR_NOT_FOUND)
					step(d, STEP_FAIL, name,
					     "create the group in Okta (Directory > Groups > Add group) or fix the name in the flow",
					     "[flow %s] group '%s' does not exist in Okta", f->name, f->groups[j]);
				else
					step(d, STEP_FAIL, name, e.hint[0] ? e.hint : NULL,
					     "[flow %s] group '%s': %s", f->name, f->groups[j], msg);
				continue;
			}
			if (strcmp(g.type, "OKTA_GROUP") != 0) {
				step(d, STEP_FAIL, name,
				     "grant an Okta-mastered group (type OKTA_GROUP); APP_GROUP memberships are managed by their app and BUILT_IN ones by Okta",
				     "[flow %s] group '%s' (%s) is of type %s and cannot be changed through the API",
				     f->name, g.name, g.id, g.type);
				continue;
			}
			step(d, STEP_PASS, name, NULL, "[flow %s] group '%s' exists (%s, OKTA_GROUP)", f->name,
			     g.name, g.id);
			{
				struct okta_group any;
				struct okta_error ae;

				if (okta_group_find(c, f->groups[j], &any, &ae) != 0 && ae.kind == OKTA_ERR_AMBIGUOUS)
					step(d, STEP_WARN, name, "rename the other group in Okta to avoid confusion",
					     "[flow %s] another Okta group (not an OKTA_GROUP) is also named '%s'; okta-jit "
					     "compares memberships by id and uses the OKTA_GROUP %s", f->name, g.name, g.id);
			}
			if (f->approval == APPROVAL_OWNERS) {
				struct okta_owner_list ol = { 0 };

				if (okta_group_owners(c, g.id, &ol, &e) != 0) {
					char msg[1024];

					okta_error_format(&e, msg, sizeof(msg));
					step(d, STEP_FAIL, "owners", e.hint[0] ? e.hint : NULL,
					     "cannot read the owners of '%s': %s", g.name, msg);
				} else if (ol.n == 0 && cfg->owner == NULL) {
					step(d, STEP_FAIL, "owners",
					     "assign owners to the group in Okta (Group > Owners) or set [integration] owner",
					     "group '%s' has no owners and no integration owner is set: nobody could approve", g.name);
				} else if (ol.n == 0) {
					step(d, STEP_WARN, "owners", NULL,
					     "group '%s' has no owners; requests go to the integration owner %s", g.name,
					     cfg->owner);
				} else {
					step(d, STEP_PASS, "owners", NULL, "group '%s' has %zu owner(s)", g.name, ol.n);
				}
				okta_owner_list_free(&ol);
			}
		}
		for (j = 0; j < f->nrequesters; j++) {
			/* any type may name requesters, but exactly one group */
			if (okta_group_find(c, f->requesters[j], &g, &e) != 0) {
				char msg[1024];

				okta_error_format(&e, msg, sizeof(msg));
				step(d, STEP_FAIL, "requesters",
				     e.kind == OKTA_ERR_AMBIGUOUS
					     ? "rename the Okta groups so that exactly one bears the name, or name another group"
					     : (e.hint[0] ? e.hint : "create the group in Okta or fix the name in the flow"),
				     "[flow %s] requesters group '%s'%s: %s", f->name, f->requesters[j],
				     e.kind == OKTA_ERR_AMBIGUOUS ? " is ambiguous (a configuration error)" : "", msg);
				continue;
			}
			step(d, STEP_PASS, "requesters", NULL, "[flow %s] requesters group '%s' is %s (%s)", f->name,
			     g.name, g.id, g.type);
		}
	}
}

static void check_owner(struct doctor *d, struct okta_client *c, const struct ojit_config *cfg)
{
	struct okta_error e;

	if (cfg->owner == NULL)
		return;
	if (strncmp(cfg->owner, "user:", 5) == 0) {
		struct okta_user u;

		if (okta_user_get(c, cfg->owner + 5, &u, &e) != 0)
			okta_step_fail(d, "owner", "integration owner", &e);
		else if (strcmp(u.status, "ACTIVE") != 0)
			step(d, STEP_FAIL, "owner", "activate the user in Okta or choose another owner",
			     "integration owner %s is %s, not ACTIVE", u.login, u.status);
		else
			step(d, STEP_PASS, "owner", NULL, "integration owner %s is ACTIVE (%s)", u.login, u.id);
	} else {
		struct okta_group g;

		/* exactly one group of any type: an ambiguous name is a
		 * configuration error (okta_step_fail says so) */
		if (okta_group_find(c, cfg->owner + 6, &g, &e) != 0)
			okta_step_fail(d, "owner", "integration owner group", &e);
		else
			step(d, STEP_PASS, "owner", NULL, "integration owner group '%s' exists (%s)", g.name, g.id);
	}
}

struct gate_heads {
	struct snapshot_head v[CONFIG_MAX_FLOWS];
	size_t n;
};

static int gate_head_cb(const struct snapshot_head *h, void *ctx)
{
	struct gate_heads *g = ctx;

	if (g->n < CONFIG_MAX_FLOWS)
		g->v[g->n++] = *h;
	return 0;
}

/* A gate holds no Okta credential (issue 17): what it needs is the shared
 * ledger, its change notices, and a fresh snapshot of every group it
 * gates, written by the granters. */
/* The fleet keys (docs/fleet.md): a gate's verify keys, a granter's
 * signing key; a single host (SQLite) needs none. */
static void check_fleet_keys(struct doctor *d, const struct ojit_config *cfg)
{
	EVP_PKEY *k = NULL;
	char err[512];
	size_t i;

	if (ledger_spec_kind(cfg->ledger) != LEDGER_DIALECT_PG)
		return;
	if (cfg->role_gate) {
		for (i = 0; i < cfg->nfleet_verify_keys; i++) {
			if (keyfile_load_ed25519_public(cfg->fleet_verify_keys[i], &k, err, sizeof(err)) != 0) {
				step(d, STEP_FAIL, "fleet key",
				     "install the fleet's Ed25519 public key (openssl pkey -pubout; docs/fleet.md), owned "
				     "by root, mode 0644", "%s", err);
				continue;
			}
			EVP_PKEY_free(k);
			k = NULL;
			step(d, STEP_PASS, "fleet key", NULL, "%s is an Ed25519 public key: rows a granter signed "
			     "with its private key are used here", cfg->fleet_verify_keys[i]);
		}
		return;
	}
	if (cfg->fleet_signing_key == NULL) {
		step(d, STEP_WARN, "fleet key", "set [daemon] fleet_signing_key (docs/fleet.md)",
		     "no fleet signing key: the grants and snapshots this granter writes are unsigned, and gates "
		     "will not use them");
		return;
	}
	if (keyfile_load_ed25519(cfg->fleet_signing_key, &k, err, sizeof(err)) != 0) {
		step(d, STEP_FAIL, "fleet key",
		     "keep the fleet's Ed25519 private key (openssl genpkey -algorithm ed25519) owned by root, mode 0600",
		     "%s", err);
		return;
	}
	EVP_PKEY_free(k);
	step(d, STEP_PASS, "fleet key", NULL, "%s is an Ed25519 private key readable by its owner alone: "
	     "this granter signs what it writes", cfg->fleet_signing_key);
}

static void check_gate(struct doctor *d, const struct ojit_config *cfg)
{
	struct gate_heads *hs = calloc(1, sizeof(*hs));
	struct ledger *l = NULL;
	char err[512];
	int64_t now = ojit_now();
	size_t i, j, k;

	if (cfg->private_key != NULL || cfg->client_id != NULL)
		step(d, STEP_WARN, "credential",
		     "remove the [okta] section from the gate's configuration and delete the key file",
		     "an Okta credential is configured (%s); a gate never uses it, and it should not be on this host",
		     cfg->private_key != NULL ? cfg->private_key : "client_id");
	else
		step(d, STEP_PASS, "credential", NULL, "no Okta credential on this host (role = gate)");
	if (hs == NULL) {
		step(d, STEP_FAIL, "ledger", NULL, "out of memory");
		return;
	}
	l = ledger_open(cfg->ledger, cfg->ledger_password_file, err, sizeof(err));
	if (l == NULL) {
		step(d, STEP_FAIL, "ledger",
		     "check [daemon] ledger and ledger_password_file, and that the database accepts this host",
		     "cannot open the shared ledger: %s", err);
		step(d, STEP_SKIP, "snapshots", NULL, "needs the ledger");
		goto out;
	}
	step(d, STEP_PASS, "ledger", NULL, "opened the shared ledger (schema version %d)", ledger_schema_version(l));
	if (ledger_listen(l) != LEDGER_OK)
		step(d, STEP_FAIL, "notices", NULL, "cannot LISTEN for changes: %s", ledger_last_error(l));
	else
		step(d, STEP_PASS, "notices", NULL, "listens for the ledger's change notices");
	if (ledger_snapshot_heads(l, gate_head_cb, hs) != LEDGER_OK) {
		step(d, STEP_FAIL, "snapshots",
		     "give the gates' role SELECT on snapshots (docs/fleet.md) and start a granter of this version",
		     "cannot read the snapshots: %s", ledger_last_error(l));
		goto out;
	}
	if (cfg->nflows == 0)
		step(d, STEP_WARN, "snapshots", NULL, "no access flows are configured: no group's snapshot is needed here");
	for (i = 0; i < cfg->nflows; i++)
		for (j = 0; j < cfg->flows[i].ngroups; j++) {
			const char *g = cfg->flows[i].groups[j];
			const struct snapshot_head *h = NULL;
			int64_t age;

			for (k = 0; k < hs->n; k++)
				if (strcmp(hs->v[k].grp, g) == 0)
					h = &hs->v[k];
			if (h == NULL) {
				step(d, STEP_FAIL, "snapshot",
				     "run a granter whose configuration names this group (a [flow] or [daemon] snapshot_groups)",
				     "no snapshot of group '%s' in the ledger: its checks answer unavailable", g);
				continue;
			}
			age = now - h->taken_at;
			if (strcmp(h->state, "ok") != 0)
				step(d, STEP_FAIL, "snapshot", "fix the group in Okta or in the flow",
				     "group '%s': the granter %s found no member list: %s", g, h->host, h->state);
			else if (age >= cfg->outage_grace)
				step(d, STEP_FAIL, "snapshot", "check that a granter runs and reaches Okta",
				     "snapshot of group '%s' is %llds old (outage_grace %llds): its checks answer unavailable", g,
				     (long long)age, (long long)cfg->outage_grace);
			else if (age >= 2 * cfg->cache_ttl)
				step(d, STEP_WARN, "snapshot", "check that a granter runs and reaches Okta",
				     "snapshot of group '%s' is %llds old (over 2 x cache_ttl): checks pass from grace", g,
				     (long long)age);
			else
				step(d, STEP_PASS, "snapshot", NULL, "group '%s': %lld members, taken %llds ago by %s", g,
				     (long long)h->nmembers, (long long)age, h->host);
		}
out:
	ledger_close(l);
	free(hs);
}

int doctor_run(const char *config_path, const char *user_login, int json)
{
	struct doctor d = { json, 0, NULL };
	struct ojit_config *cfg = NULL;
	struct ojit_buf errs;
	struct okta_client *c = NULL;
	struct okta_error e;
	EVP_PKEY *key = NULL;
	char kerr[512];
	char token[8200], type[16], scope[256];
	char login[OKTA_LOGIN_MAX + 1];
	struct okta_user u;

	ojit_buf_init(&errs, 64 * 1024);
	if (json)
		d.steps = cJSON_CreateArray();
	if (config_load(config_path, &cfg, &errs) != 0) {
		step(&d, STEP_FAIL, "config", "correct the lines named above (see okta-jit.conf(5))",
		     "%s is not valid:\n%s", config_path, errs.data ? errs.data : "unknown error");
		step(&d, STEP_SKIP, "key", NULL, "needs a valid config");
		step(&d, STEP_SKIP, "token", NULL, "needs a valid config");
		goto out;
	}
	step(&d, STEP_PASS, "config", NULL, "%s is valid (integration '%s', %zu flow(s))", config_path, cfg->name,
	     cfg->nflows);
	if (cfg->role_gate) {
		step(&d, STEP_PASS, "role", NULL,
		     "gate: answers checks from the shared ledger (%s) and the granters' snapshots of Okta; "
		     "it holds no Okta credential",
		     ledger_spec_kind(cfg->ledger) == LEDGER_DIALECT_PG ? "PostgreSQL" : "SQLite");
		check_fleet_keys(&d, cfg);
		check_gate(&d, cfg);
		goto out;
	}
	step(&d, STEP_PASS, "role", NULL, "granter: makes and ends grants in Okta (ledger: %s); needs "
	     "okta.groups.manage and okta.users.read",
	     ledger_spec_kind(cfg->ledger) == LEDGER_DIALECT_PG ? "PostgreSQL, shared" : "SQLite, this host");
	check_fleet_keys(&d, cfg);
	if (keyfile_load(cfg->private_key, &key, kerr, sizeof(kerr)) != 0) {
		step(&d, STEP_FAIL, "key",
		     "keep the key as a PEM file owned by root with mode 0600 (RSA 2048+ or EC P-256)", "%s", kerr);
		step(&d, STEP_SKIP, "token", NULL, "needs a usable private key");
		goto out;
	}
	step(&d, STEP_PASS, "key", NULL, "%s is a %s key readable by its owner alone", cfg->private_key,
	     EVP_PKEY_is_a(key, "RSA") ? "RSA" : "EC P-256");
	c = okta_client_new(cfg, key, NULL);
	if (c == NULL) {
		EVP_PKEY_free(key);
		step(&d, STEP_FAIL, "token", NULL, "cannot set up the HTTPS client");
		goto out;
	}
	if (okta_token_get(c, token, sizeof(token), type, sizeof(type), scope, sizeof(scope), &e) != 0) {
		okta_step_fail(&d, "token", "no access token from " OKTA_SCOPES, &e);
		step(&d, STEP_SKIP, "scopes", NULL, "needs an access token");
		goto out;
	}
	ojit_wipe(token, sizeof(token));
	step(&d, STEP_PASS, "token", NULL, "obtained a %s access token from %s/oauth2/v1/token", type, cfg->org_url);
	{
		static const char *const want[] = { "okta.groups.manage", "okta.users.read", NULL };
		int i;

		for (i = 0; want[i] != NULL; i++) {
			if (has_scope(scope, want[i]))
				step(&d, STEP_PASS, "scope", NULL, "%s granted", want[i]);
			else
				step(&d, STEP_FAIL, "scope", "grant it on the app's Okta API Scopes tab",
				     "%s missing from the token (granted: %s)", want[i], scope[0] ? scope : "none");
		}
	}
	if (probe_login(cfg, user_login, login, sizeof(login)) != 0) {
		step(&d, STEP_SKIP, "user", "pass --user OKTA_LOGIN", "no user to look up");
	} else if (okta_user_get(c, login, &u, &e) != 0) {
		if (e.kind == OKTA_ERR_NOT_FOUND)
			step(&d, STEP_WARN, "user",
			     "check [users] login_format, or pass --user with a login that exists",
			     "users can be read, but '%s' does not exist in Okta", login);
		else
			okta_step_fail(&d, "user", "cannot read users", &e);
	} else {
		step(&d, STEP_PASS, "user", NULL, "read user %s (%s, %s)", u.login, u.id, u.status);
	}
	check_owner(&d, c, cfg);
	check_groups(&d, c, cfg);
	{
		char why[256];

		if (okta_client_dpop(c, why, sizeof(why)))
			step(&d, STEP_PASS, "dpop", NULL,
			     "DPoP in use (%s): tokens are bound to an in-memory ES256 key and every call carries a proof",
			     why);
		else
			step(&d, STEP_PASS, "dpop", NULL, "%s",
			     cfg->dpop == DPOP_OFF ? "DPoP not in use ([okta] dpop = off)"
						   : "DPoP not in use: the app does not require it ([okta] dpop = auto)");
	}
out:
	if (json) {
		cJSON *root = cJSON_CreateObject();
		char *s;

		cJSON_AddBoolToObject(root, "ok", !d.failed);
		cJSON_AddItemToObject(root, "steps", d.steps);
		s = cJSON_Print(root);
		if (s != NULL)
			printf("%s\n", s);
		free(s);
		cJSON_Delete(root);
	} else {
		printf("%s\n", d.failed ? "doctor: some steps FAILED; fix them and run again"
					: "doctor: all steps passed");
	}
	okta_client_free(c);
	config_free(cfg);
	ojit_buf_free(&errs);
	return d.failed ? 1 : 0;
}
