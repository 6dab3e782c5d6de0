/* doctor.c - `okta-jit doctor`: one line per setup step, PASS or FAIL with
 * the fix, in the order an admin sets Okta up. A failed step makes the
 * steps that need it SKIP rather than pile up confusing failures. */
#include "doctor.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_key.h"
#include "client.h"
#include "config.h"
#include "jwt.h"
#include "keyfile.h"
#include "ledger.h"
#include "oidc_verify.h"
#include "okta_api.h"
#include "okta_http.h"
#include "okta_key.h"
#include "table.h"
#include "util.h"

enum step_result { STEP_PASS, STEP_FAIL, STEP_SKIP, STEP_WARN };

struct doctor {
	int json;
	int failed;
	cJSON *steps;
	int color; /* stdout is a colour terminal (table_out_detect) */
};

static void step(struct doctor *d, enum step_result res, const char *name, const char *fix,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void step(struct doctor *d, enum step_result res, const char *name, const char *fix,
		 const char *fmt, ...)
{
	static const char *const label[] = { "PASS", "FAIL", "SKIP", "WARN" };
	static const char *const sgr[] = { TABLE_GREEN, TABLE_RED, "2", TABLE_YELLOW };
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
	if (d->color)
		printf("\033[%sm%s\033[0m", sgr[res], label[res]);
	else
		printf("%s", label[res]);
	printf("  %-14s %s\n", name, line ? line : "");
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

/* Issue 20 item 3: the ledger, opened once and only when a gated name is
 * missing in Okta (a local SQLite ledger only if its file exists: doctor
 * must not create one). */
struct doctor_ledger {
	struct ledger *l;
	int tried;
};

struct last_gid {
	const char *name;
	char gid[OKTA_ID_MAX + 1];
};

static int last_gid_cb(const struct grant *g, void *p)
{
	struct last_gid *lg = p;

	if (strcmp(g->grp, lg->name) != 0 || !okta_valid_id(g->group_id))
		return 0;
	ojit_strlcpy(lg->gid, g->group_id, sizeof(lg->gid));
	return 1;
}

/* The Okta id the newest grant for gated name was made with, or "". */
static void ledger_last_gid(const struct ojit_config *cfg, struct doctor_ledger *dl, const char *name, char *gid,
			    size_t n)
{
	struct last_gid lg = { name, "" };
	char err[512];

	gid[0] = '\0';
	if (!dl->tried) {
		const char *path = cfg->ledger;
		struct stat st;

		dl->tried = 1;
		if (strncmp(path, "sqlite:", 7) == 0)
			path += 7;
		if (ledger_spec_kind(cfg->ledger) == LEDGER_DIALECT_PG || stat(path, &st) == 0)
			dl->l = ledger_open(cfg->ledger, cfg->ledger_password_file, err, sizeof(err));
	}
	if (dl->l == NULL)
		return;
	ledger_grant_list(dl->l, NULL, "", 10000, last_gid_cb, &lg);
	ojit_strlcpy(gid, lg.gid, n);
}

/* A gated name Okta does not know (as an OKTA_GROUP): was it renamed,
 * deleted or turned into another type since grants were made with it?
 * 1 when a step was written, 0 when the ledger knows nothing of it. */
static int explain_missing_group(struct doctor *d, struct okta_client *c, const struct ojit_config *cfg,
				 struct doctor_ledger *dl, const struct flow_config *f, const char *name)
{
	char gid[OKTA_ID_MAX + 1], fix[512];
	struct okta_group g;
	struct okta_error e;

	ledger_last_gid(cfg, dl, name, gid, sizeof(gid));
	if (gid[0] == '\0')
		return 0;
	if (okta_group_get(c, gid, &g, &e) != 0) {
		if (e.kind != OKTA_ERR_NOT_FOUND)
			return 0;
		snprintf(fix, sizeof(fix), "create a new OKTA_GROUP in Okta and name it in [flow %s] instead of '%s' "
			 "(or take '%s' out of the flow), then restart okta-jitd", f->name, name, name);
		step(d, STEP_FAIL, "group", fix, "[flow %s] group '%s' (id %s) was deleted in Okta: okta-jitd ended "
		     "its grants and refuses its checks (group_deleted)", f->name, name, gid);
		return 1;
	}
	if (strcmp(g.type, "OKTA_GROUP") != 0) {
		snprintf(fix, sizeof(fix), "gate an OKTA_GROUP: name one in [flow %s] instead of '%s', then restart "
			 "okta-jitd", f->name, name);
		step(d, STEP_FAIL, "group", fix, "[flow %s] group '%s' (id %s) is of type %s now: okta-jitd ended its "
		     "grants and refuses its checks (group_wrong_type)", f->name, name, gid, g.type);
		return 1;
	}
	snprintf(fix, sizeof(fix), "rename it back to '%s' in Okta, or name '%s' in [flow %s] once the grants made "
		 "under the old name have ended", name, g.name, f->name);
	step(d, STEP_WARN, "group", fix, "[flow %s] group '%s' (id %s) was renamed in Okta to '%s': okta-jitd keeps "
	     "gating it by its id, but after a restart with a shared ledger it finds it only by the new name",
	     f->name, name, gid, g.name);
	return 1;
}

struct gated_ids {
	char (*id)[OKTA_ID_MAX + 1];
	const char **name;
	size_t n;
	int warned;
	struct doctor *d;
};

static int rule_cb(const struct okta_group_rule *r, const char *gid, void *ctx)
{
	struct gated_ids *gi = ctx;
	size_t i;

	if (strcmp(r->status, "ACTIVE") != 0)
		return 0;
	for (i = 0; i < gi->n; i++)
		if (strcmp(gi->id[i], gid) == 0) {
			gi->warned = 1;
			step(gi->d, STEP_WARN, "group-rules",
			     "deactivate the rule or take the group out of its actions (Directory > Groups > Rules), or "
			     "gate another group",
			     "group rule '%s' (%s, ACTIVE) adds members to gated group '%s' (%s): Okta's API cannot "
			     "remove a member a rule added, and the rule adds them back, so such members keep the "
			     "group's access whatever okta-jit grants", r->name, r->id, gi->name[i], gid);
		}
	return 0;
}

/* Issue 20 item 3: an ACTIVE group rule that assigns to a gated group. */
static void check_group_rules(struct doctor *d, struct okta_client *c, struct gated_ids *gi)
{
	struct okta_error e;

	if (gi->n == 0)
		return;
	memset(&e, 0, sizeof(e));
	gi->d = d;
	if (okta_group_rules_each(c, rule_cb, gi, &e) != 0) {
		char msg[1024];

		okta_error_format(&e, msg, sizeof(msg));
		step(d, STEP_WARN, "group-rules",
		     e.kind == OKTA_ERR_SCOPE || e.kind == OKTA_ERR_FORBIDDEN
			     ? "grant okta.groups.read (okta.groups.manage includes it) on the app's Okta API Scopes tab"
			     : (e.hint[0] ? e.hint : NULL),
		     "cannot read Okta's group rules (GET /api/v1/groups/rules): %s", msg);
		return;
	}
	if (!gi->warned)
		step(d, STEP_PASS, "group-rules", NULL, "no active Okta group rule adds members to a gated group");
}

static void check_groups(struct doctor *d, struct okta_client *c, const struct ojit_config *cfg)
{
	struct okta_error e;
	struct okta_group g;
	struct doctor_ledger dl = { NULL, 0 };
	struct gated_ids gi = { NULL, NULL, 0, 0, NULL };
	size_t i, j, total = 0;

	if (cfg->nflows == 0) {
		step(d, STEP_WARN, "groups", "add a [flow NAME] section with groups = OKTA_GROUP_NAME",
		     "no access flows are configured, so nothing can be granted");
		return;
	}
	for (i = 0; i < cfg->nflows; i++)
		total += cfg->flows[i].ngroups;
	gi.id = calloc(total ? total : 1, sizeof(*gi.id));
	gi.name = calloc(total ? total : 1, sizeof(*gi.name));
	if (gi.id == NULL || gi.name == NULL) {
		step(d, STEP_FAIL, "groups", NULL, "out of memory");
		goto out;
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
				else if (e.kind == OKTA_ERR_NOT_FOUND && explain_missing_group(d, c, cfg, &dl, f, f->groups[j]))
					;
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
			ojit_strlcpy(gi.id[gi.n], g.id, sizeof(gi.id[gi.n]));
			gi.name[gi.n++] = f->groups[j];
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
		/* issue 20: who is standing, and what the sweep does with the
		 * others (drift) */
		if (f->standing_allow)
			step(d, STEP_PASS, "drift", NULL,
			     "[flow %s] standing = allow: every member of its groups passes and none is drift (declare the "
			     "standing members with standing = group:NAME, user:LOGIN to have the others reported)", f->name);
		else
			step(d, STEP_PASS, "drift", NULL,
			     "[flow %s] drift = %s: a member of its groups with neither a grant nor a standing place is %s",
			     f->name, f->drift_remove ? "remove" : "report",
			     f->drift_remove ? "reported and taken out of the Okta group" : "reported (audit, notify, okta-jit drift)");
		for (j = 0; j < f->nstanding_groups; j++) {
			/* any type, but exactly one group: a name that resolves to
			 * none makes nobody standing (the sweep then removes
			 * nothing, and its members need grants) */
			if (okta_group_find(c, f->standing_groups[j], &g, &e) != 0) {
				char msg[1024];

				okta_error_format(&e, msg, sizeof(msg));
				step(d, STEP_FAIL, "standing",
				     e.kind == OKTA_ERR_AMBIGUOUS
					     ? "rename the Okta groups so that exactly one bears the name, or name another group"
					     : (e.hint[0] ? e.hint : "create the group in Okta or fix the name in the flow's standing"),
				     "[flow %s] standing group '%s'%s: %s", f->name, f->standing_groups[j],
				     e.kind == OKTA_ERR_AMBIGUOUS ? " is ambiguous (a configuration error)" : "", msg);
				continue;
			}
			step(d, STEP_PASS, "standing", NULL, "[flow %s] standing group '%s' is %s (%s)", f->name, g.name, g.id,
			     g.type);
		}
	}
	check_group_rules(d, c, &gi);
out:
	free(gi.id);
	free(gi.name);
	if (dl.l != NULL)
		ledger_close(dl.l);
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

/* Item 4 of issue 21: where the key lives, whether it can be copied off
 * this host, a key file others could replace, and the key's age. The
 * open itself fails as okta-jitd's start would: a loose file, a provider
 * that is not installed, a handle or URI that names nothing, a missing
 * credential. Returns the key, or NULL after a FAIL step. */
static struct okta_key *check_key(struct doctor *d, const struct ojit_config *cfg, int next)
{
	const char *name = next ? "next-key" : "key";
	const char *spec = next ? cfg->next_private_key : cfg->private_key;
	const char *kid = next ? cfg->next_key_id : cfg->key_id;
	struct okta_key *k = NULL;
	char err[1024], where[512], thumb[64] = "";
	int64_t born, now = ojit_now();
	int mode, sealed = 0;
	long uid;

	if (cli_key_open(cfg, next, &k, &sealed, err, sizeof(err)) != 0) {
		const char *fix = sealed
		    ? "seal the key again on this host (systemd-creds encrypt --with-key=tpm2 or host, docs/packaging.md); "
		      "okta-jitd's unit cannot start with this credential"
		    :
		    strncmp(spec, "pkcs11:", 7) == 0 ? "install a PKCS#11 provider for OpenSSL 3 (pkcs11-provider) and "
						       "check the URI, or keep the key in a TPM (tpm2:) or a file"
		    : strncmp(spec, "tpm2:", 5) == 0 ? "check the TPM (tpm2_getcap handles-persistent) and [okta] "
						       "tpm2_tcti; make a TPM key with okta-jit key new --tpm"
		    : strncmp(spec, "credential:", 11) == 0
			? "seal the key to " CLI_CREDSTORE "/NAME (doctor decrypts it from there, as the unit does) "
			  "and pass it with LoadCredentialEncrypted=NAME:" CLI_CREDSTORE "/NAME (docs/packaging.md)"
			: "keep the key as a PEM file owned by root with mode 0600 (RSA 2048+ or EC P-256), or in a TPM";

		step(d, STEP_FAIL, name, fix, "%s", err);
		return NULL;
	}
	if (sealed)
		step(d, STEP_PASS, "key-sealed", NULL,
		     "%s: decrypted " CLI_CREDSTORE "/%s with systemd-creds, as the unit's LoadCredentialEncrypted= "
		     "does at each start", spec, spec + 11);
	okta_key_describe(k, where, sizeof(where));
	jwt_jwk_thumbprint(okta_key_public(k), thumb, sizeof(thumb));
	step(d, STEP_PASS, name, NULL, "%s; kid %s, JWK thumbprint %s", where, kid != NULL ? kid : "(none)", thumb);
	if (okta_key_kind(k) == OKTA_KEY_FILE || okta_key_kind(k) == OKTA_KEY_CREDENTIAL)
		step(d, STEP_PASS, "key-export", NULL,
		     "%s can be exported: whoever is root here can copy it (a TPM key cannot be: okta-jit key new "
		     "--tpm)", spec);
	else if (okta_key_exportable(k))
		step(d, STEP_WARN, "key-export", "keep the key in a token that does not release private keys",
		     "%s: the provider hands out the private half", spec);
	else
		step(d, STEP_PASS, "key-export", NULL, "%s cannot be exported: okta-jitd signs through the %s "
		     "provider and never holds the private key", spec,
		     okta_key_kind(k) == OKTA_KEY_TPM2 ? "tpm2" : "pkcs11");
	okta_key_file_mode(k, &mode, &uid);
	if (spec[0] == '/' || strncmp(spec, "tpm2:/", 6) == 0) {
		const char *path = spec[0] == '/' ? spec : spec + 5;
		char dir[4096];
		char *slash;
		struct stat st;

		/* The file is root's alone (the open checked); a folder that
		 * others may write lets them swap the key for theirs. */
		ojit_strlcpy(dir, path, sizeof(dir));
		slash = strrchr(dir, '/');
		if (slash != NULL)
			*(slash == dir ? slash + 1 : slash) = '\0';
		if (stat(dir, &st) == 0 && ((st.st_mode & 022) != 0 || st.st_uid != 0) && !(st.st_mode & S_ISVTX))
			step(d, STEP_WARN, "key-file", "chown root:root and chmod 755 (or 700) the folder",
			     "%s: the folder %s is writable by others than root (mode %04o, uid %u): they can replace "
			     "the key", path, dir, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
		else if (mode >= 0)
			step(d, STEP_PASS, "key-file", NULL, "%s is readable by root alone (mode %04o, uid %ld)", path,
			     (unsigned)mode, uid);
	}
	born = okta_key_created(k);
	if (born <= 0)
		step(d, STEP_PASS, "key-age", NULL, "%s: the key's age is unknown (a TPM handle, a PKCS#11 object or a "
		     "credential has no date here); rotate it by your policy", spec);
	else if (now - born > cfg->key_max_age)
		step(d, STEP_WARN, "key-age",
		     "rotate it: okta-jit key new, add the JWK to the app, set next_private_key and next_key_id, "
		     "then okta-jit key rotate",
		     "%s is %lld days old, more than [okta] key_max_age (%lld days)", spec,
		     (long long)((now - born) / 86400), (long long)(cfg->key_max_age / 86400));
	else
		step(d, STEP_PASS, "key-age", NULL, "%s is %lld days old ([okta] key_max_age %lld days)", spec,
		     (long long)((now - born) / 86400), (long long)(cfg->key_max_age / 86400));
	return k;
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
			else if (age >= config_snapshot_fresh(cfg))
				step(d, STEP_WARN, "snapshot", "check that a granter runs and reaches Okta",
				     "snapshot of group '%s' is %llds old (over %llds, the staleness bound): checks pass from grace",
				     g, (long long)age, (long long)config_snapshot_fresh(cfg));
			else
				step(d, STEP_PASS, "snapshot", NULL, "group '%s': %lld members, taken %llds ago by %s", g,
				     (long long)h->nmembers, (long long)age, h->host);
		}
out:
	ledger_close(l);
	free(hs);
}

/* ---- the NSS half ([nss], issue 18) -------------------------------------
 * okta-jit never edits nsswitch.conf or sshd_config: these steps read them
 * and name the exact lines to put in. */

#define DOCTOR_NSSWITCH "/etc/nsswitch.conf"
#define DOCTOR_SSHD "/usr/sbin/sshd"
#define DOCTOR_KEYS_COMMAND "/usr/bin/okta-jit keys %u"
#define DOCTOR_SSHD_OUT_MAX (256 * 1024)

/* The services of DB's line in nsswitch.conf ("files okta_jit systemd"),
 * action items ("[NOTFOUND=return]") left out; 1 if found, 0 if the file
 * has no such line, -1 if it cannot be read. glibc takes a database's
 * first line. */
static int nss_line(const char *db, char *out, size_t outlen)
{
	FILE *f = fopen(DOCTOR_NSSWITCH, "re");
	char line[1024];
	size_t dblen = strlen(db);
	int found = 0;

	out[0] = '\0';
	if (f == NULL)
		return -1;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		char *p = line, *tok, *save = NULL;
		size_t used = 0;

		p += strspn(p, " \t");
		if (strncmp(p, db, dblen) != 0)
			continue;
		p += dblen;
		p += strspn(p, " \t");
		if (*p != ':')
			continue;
		found = 1;
		for (tok = strtok_r(p + 1, " \t\r\n", &save); tok != NULL; tok = strtok_r(NULL, " \t\r\n", &save)) {
			int n;

			if (tok[0] == '#')
				break;
			if (tok[0] == '[')
				continue;
			n = snprintf(out + used, outlen - used, "%s%s", used ? " " : "", tok);
			if (n < 0 || (size_t)n >= outlen - used)
				break;
			used += (size_t)n;
		}
	}
	fclose(f);
	return found;
}

/* Position of service WANT among the space-separated SERVICES, or -1. */
static int nss_service_pos(const char *services, const char *want)
{
	const char *p = services;
	size_t wl = strlen(want);
	int i = 0;

	while (*p != '\0') {
		size_t n = strcspn(p, " ");

		if (n == wl && strncmp(p, want, n) == 0)
			return i;
		p += n;
		p += strspn(p, " ");
		i++;
	}
	return -1;
}

/* The line to write: SERVICES with okta_jit right after files (or compat)
 * and nowhere else. */
static void nss_fixed_line(const char *db, const char *services, char *out, size_t outlen)
{
	char copy[1024], *tok, *save = NULL;
	size_t used;
	int placed = 0, n;

	ojit_strlcpy(copy, services, sizeof(copy));
	n = snprintf(out, outlen, "%s: files", db);
	used = n > 0 ? (size_t)n : 0;
	if (used >= outlen)
		return;
	for (tok = strtok_r(copy, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
		if (strcmp(tok, "okta_jit") == 0 || (!placed && strcmp(tok, "files") == 0))
			continue;
		if (!placed && strcmp(tok, "compat") == 0) {
			/* compat stands for files: keep it, okta_jit after it */
			n = snprintf(out, outlen, "%s: compat", db);
			used = n > 0 ? (size_t)n : 0;
			if (used >= outlen)
				return;
			continue;
		}
		if (!placed) {
			n = snprintf(out + used, outlen - used, " okta_jit");
			if (n < 0 || (size_t)n >= outlen - used)
				return;
			used += (size_t)n;
			placed = 1;
		}
		n = snprintf(out + used, outlen - used, " %s", tok);
		if (n < 0 || (size_t)n >= outlen - used)
			return;
		used += (size_t)n;
	}
	if (!placed)
		snprintf(out + used, outlen - used, " okta_jit");
}

static void check_nsswitch_db(struct doctor *d, const char *db)
{
	char services[1024], fix[1200], msg[1400];
	int files, compat, ours, r;

	r = nss_line(db, services, sizeof(services));
	if (r < 0) {
		step(d, STEP_FAIL, "nsswitch", NULL, "cannot read " DOCTOR_NSSWITCH ": %s", strerror(errno));
		return;
	}
	if (r == 0)
		ojit_strlcpy(services, "files", sizeof(services)); /* glibc's default for passwd and group */
	files = nss_service_pos(services, "files");
	compat = nss_service_pos(services, "compat");
	if (files < 0 || (compat >= 0 && compat < files))
		files = compat;
	ours = nss_service_pos(services, "okta_jit");
	if (ours >= 0 && files >= 0 && files < ours) {
		step(d, STEP_PASS, "nsswitch", NULL, DOCTOR_NSSWITCH ": %s: %s (local accounts first, then okta_jit)", db,
		     services);
		return;
	}
	nss_fixed_line(db, services, fix, sizeof(fix));
	snprintf(msg, sizeof(msg), "in " DOCTOR_NSSWITCH " write the line '%s'", fix);
	if (ours < 0)
		step(d, STEP_FAIL, "nsswitch", msg, DOCTOR_NSSWITCH ": %s: %s%s does not name okta_jit: Okta users %s",
		     db, services, r == 0 ? " (no line: glibc's default)" : "",
		     strcmp(db, "passwd") == 0 ? "do not exist on this host" : "are in no JIT group here");
	else
		step(d, STEP_FAIL, "nsswitch", msg,
		     DOCTOR_NSSWITCH ": %s: %s names okta_jit before files: local accounts must win", db, services);
}

/* Runs `sshd -T` and returns its output (malloc'd) or NULL with why. */
static char *sshd_effective_config(char *why, size_t whylen)
{
	int out[2] = { -1, -1 };
	pid_t pid;
	char *buf = NULL;
	size_t used = 0;
	int status = 0;

	if (pipe2(out, O_CLOEXEC) != 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return NULL;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out[1], 1) < 0 || dup2(out[1], 2) < 0)
			_exit(126);
		execl(DOCTOR_SSHD, DOCTOR_SSHD, "-T", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	out[1] = -1;
	buf = malloc(DOCTOR_SSHD_OUT_MAX + 1);
	for (;;) {
		ssize_t n;

		if (buf == NULL) {
			char sink[4096];

			n = read(out[0], sink, sizeof(sink));
		} else {
			n = read(out[0], buf + used, DOCTOR_SSHD_OUT_MAX - used);
			if (n > 0)
				used += (size_t)n;
		}
		if (n == 0 || (n < 0 && errno != EINTR) || used == DOCTOR_SSHD_OUT_MAX)
			break;
	}
	/* closed before the wait: an sshd with more to say gets EPIPE
	 * instead of blocking on a pipe nobody reads */
	close(out[0]);
	out[0] = -1;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (buf == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	buf[used] = '\0';
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		buf[strcspn(buf, "\r\n")] = '\0';
		snprintf(why, whylen, DOCTOR_SSHD " -T failed (%s%d): %s", WIFEXITED(status) ? "exit " : "signal ",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), buf[0] ? buf : "no output");
		free(buf);
		buf = NULL;
	}
out:
	if (out[0] >= 0)
		close(out[0]);
	if (out[1] >= 0)
		close(out[1]);
	return buf;
}

/* The value of KEY (lower case, as sshd -T prints it) in TEXT, or "". */
static void sshd_value(const char *text, const char *key, char *out, size_t outlen)
{
	const char *p = text;
	size_t kl = strlen(key);

	out[0] = '\0';
	while (p != NULL && *p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (len > kl && strncmp(p, key, kl) == 0 && p[kl] == ' ') {
			size_t vl = len - kl - 1;

			if (vl >= outlen)
				vl = outlen - 1;
			memcpy(out, p + kl + 1, vl);
			out[vl] = '\0';
			return;
		}
		p = eol ? eol + 1 : NULL;
	}
}

/* "ANY/PATH/okta-jit keys %u": the command may sit elsewhere than /usr/bin
 * (PREFIX=/usr/local), but it must be an absolute path to okta-jit. */
static int keys_command_ok(const char *cmd)
{
	const char *sp = strchr(cmd, ' ');
	size_t plen = sp ? (size_t)(sp - cmd) : 0;

	if (cmd[0] != '/' || sp == NULL || strcmp(sp, " keys %u") != 0)
		return 0;
	return plen >= 9 && strncmp(cmd + plen - 9, "/okta-jit", 9) == 0;
}

static void check_sshd(struct doctor *d, const struct ojit_config *cfg)
{
	char why[512], cmd[512], user[256], fix[512];
	char *text;

	if (cfg->nss_keys_attribute == NULL || cfg->nss_keys_attribute[0] == '\0') {
		step(d, STEP_SKIP, "sshd", NULL, "[nss] keys_attribute is not set: SSH keys are not served from Okta");
		return;
	}
	if (access(DOCTOR_SSHD, X_OK) != 0) {
		step(d, STEP_SKIP, "sshd", NULL, DOCTOR_SSHD " is not installed here");
		return;
	}
	snprintf(fix, sizeof(fix),
		 "in /etc/ssh/sshd_config write the lines 'AuthorizedKeysCommand %s' and "
		 "'AuthorizedKeysCommandUser %s', then reload sshd", DOCTOR_KEYS_COMMAND, cfg->nss_keys_user);
	text = sshd_effective_config(why, sizeof(why));
	if (text == NULL) {
		step(d, STEP_FAIL, "sshd", fix, "cannot read sshd's effective configuration: %s", why);
		return;
	}
	sshd_value(text, "authorizedkeyscommand", cmd, sizeof(cmd));
	sshd_value(text, "authorizedkeyscommanduser", user, sizeof(user));
	free(text);
	if (!keys_command_ok(cmd))
		step(d, STEP_FAIL, "sshd", fix,
		     "sshd's AuthorizedKeysCommand is '%s', not '%s': keys in Okta are not used",
		     cmd[0] ? cmd : "none", DOCTOR_KEYS_COMMAND);
	else if (strcmp(user, cfg->nss_keys_user) != 0)
		step(d, STEP_FAIL, "sshd", fix,
		     "sshd's AuthorizedKeysCommandUser is '%s', not '%s' ([nss] keys_user): okta-jitd refuses its "
		     "KEYS requests", user[0] ? user : "none", cfg->nss_keys_user);
	else
		step(d, STEP_PASS, "sshd", NULL, "sshd runs '%s' as %s", cmd, user);
}

/* From /etc/passwd itself: getpwnam would ask okta_jit too, and the keys
 * user must be a local account. */
static void check_keys_user(struct doctor *d, const struct ojit_config *cfg)
{
	FILE *f = fopen("/etc/passwd", "re");
	struct passwd *pw;
	int found = 0;
	uid_t uid = 0;
	char fix[512];

	if (f == NULL) {
		step(d, STEP_FAIL, "keys-user", NULL, "cannot read /etc/passwd: %s", strerror(errno));
		return;
	}
	while ((pw = fgetpwent(f)) != NULL)
		if (strcmp(pw->pw_name, cfg->nss_keys_user) == 0) {
			found = 1;
			uid = pw->pw_uid;
			break;
		}
	fclose(f);
	snprintf(fix, sizeof(fix),
		 "adduser --system --group --no-create-home --home /nonexistent %s (the okta-jit package makes "
		 "okta-jit-keys)", cfg->nss_keys_user);
	if (!found)
		step(d, STEP_FAIL, "keys-user", fix,
		     "[nss] keys_user '%s' is not a local account: sshd cannot run the keys command as it",
		     cfg->nss_keys_user);
	else if (uid == 0)
		step(d, STEP_FAIL, "keys-user", fix, "[nss] keys_user '%s' has uid 0: use an unprivileged system user",
		     cfg->nss_keys_user);
	else
		step(d, STEP_PASS, "keys-user", NULL, "%s is a local account (uid %lu)", cfg->nss_keys_user,
		     (unsigned long)uid);
}

static void check_nss_cache(struct doctor *d, const struct ojit_config *cfg)
{
	struct stat st;
	int64_t age;

	if (lstat(cfg->nss_cache, &st) != 0) {
		step(d, STEP_FAIL, "nss-cache", "start okta-jitd (systemctl start okta-jitd); it writes the cache",
		     "%s: %s: Okta users and JIT groups are not offered", cfg->nss_cache, strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 07777) != 0644) {
		step(d, STEP_FAIL, "nss-cache",
		     "remove it and restart okta-jitd, which writes it root-owned, mode 0644",
		     "%s is %s, owner uid %lu, mode %04o: the module refuses it (it must be a regular file of root's, "
		     "0644)", cfg->nss_cache, S_ISREG(st.st_mode) ? "a file" : "not a regular file",
		     (unsigned long)st.st_uid, (unsigned)(st.st_mode & 07777));
		return;
	}
	age = ojit_now() - (int64_t)st.st_mtime;
	if (age > 2 * cfg->cache_ttl)
		step(d, STEP_WARN, "nss-cache", "check that okta-jitd runs (systemctl status okta-jitd)",
		     "%s was written %llds ago (okta-jitd rewrites it at least every cache_ttl, %llds)", cfg->nss_cache,
		     (long long)age, (long long)cfg->cache_ttl);
	else
		step(d, STEP_PASS, "nss-cache", NULL, "%s: root's, 0644, %lld bytes, written %llds ago", cfg->nss_cache,
		     (long long)st.st_size, (long long)(age < 0 ? 0 : age));
}

static void check_nss(struct doctor *d, const struct ojit_config *cfg)
{
	if (!cfg->nss_enabled)
		return;
	check_nsswitch_db(d, "passwd");
	check_nsswitch_db(d, "group");
	check_sshd(d, cfg);
	check_keys_user(d, cfg);
	check_nss_cache(d, cfg);
}

/* ---- [web] (issue 19) ---------------------------------------------------- */

/* The unit hands this file to okta-jit-web as a credential when [web]
 * client_secret_file names none (packaging/systemd/okta-jit-web.service). */
#define DOCTOR_WEB_SECRET "/etc/okta-jit/web-client-secret"

/* okta-jitd runs when its public socket takes a connection. */
static int jitd_running(const char *path)
{
	struct sockaddr_un sa;
	int fd, ok;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (ojit_strlcpy(sa.sun_path, path, sizeof(sa.sun_path)) != 0)
		return 0;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static void check_web_secret(struct doctor *d, const struct ojit_config *cfg)
{
	const char *path = cfg->web_client_secret_file != NULL ? cfg->web_client_secret_file : DOCTOR_WEB_SECRET;
	char fix[600];
	struct stat st;

	snprintf(fix, sizeof(fix), "put the Okta Web app's client secret in %s, one line, owned by root, mode 0600 "
		 "(chmod 600 %s)", path, path);
	if (stat(path, &st) != 0)
		step(d, STEP_FAIL, "web-secret", fix, "%s: %s: okta-jit-web cannot sign anyone in", path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		step(d, STEP_FAIL, "web-secret", fix, "%s is not a regular file", path);
	else if ((st.st_mode & 077) != 0)
		step(d, STEP_FAIL, "web-secret", fix,
		     "%s has mode %04o: the Okta Web app's client secret is readable by %s (okta-jit-web refuses it)",
		     path, (unsigned)(st.st_mode & 07777), (st.st_mode & 07) != 0 ? "everyone" : "its group");
	else
		step(d, STEP_PASS, "web-secret", NULL, "%s: mode %04o, owner uid %lu", path,
		     (unsigned)(st.st_mode & 07777), (unsigned long)st.st_uid);
}

/* The web socket okta-jitd made: 0660, root, group okta-jit-web. */
static void check_web_socket_file(struct doctor *d, const struct ojit_config *cfg, int have_group, gid_t gid)
{
	struct stat st;

	if (!jitd_running(cfg->socket)) {
		step(d, STEP_SKIP, "web-socket", "systemctl start okta-jitd",
		     "okta-jitd does not answer on %s: its web socket %s is made when it starts", cfg->socket,
		     cfg->web_socket);
		return;
	}
	if (lstat(cfg->web_socket, &st) != 0) {
		step(d, STEP_FAIL, "web-socket", "systemctl restart okta-jitd (it opens the web socket when [web] "
		     "client_id is set)", "%s: %s: okta-jit-web cannot reach okta-jitd", cfg->web_socket,
		     strerror(errno));
		return;
	}
	if (!S_ISSOCK(st.st_mode) || st.st_uid != 0 || (st.st_mode & 07777) != 0660 ||
	    !have_group || st.st_gid != gid)
		step(d, STEP_FAIL, "web-socket",
		     "create the group " OJIT_WEB_GROUP " (the okta-jit-web package does), then systemctl restart "
		     "okta-jitd",
		     "%s is %s, owner uid %lu, group gid %lu, mode %04o; want a socket of root's, group " OJIT_WEB_GROUP
		     "%s, mode 0660 (okta-jit-web reaches it through that group alone)",
		     cfg->web_socket, S_ISSOCK(st.st_mode) ? "a socket" : "not a socket", (unsigned long)st.st_uid,
		     (unsigned long)st.st_gid, (unsigned)(st.st_mode & 07777), have_group ? "" : " (which does not exist)");
	else
		step(d, STEP_PASS, "web-socket", NULL, "%s: a socket of root's, group " OJIT_WEB_GROUP ", mode 0660",
		     cfg->web_socket);
}

/* Every finding about the web service's setup; c is NULL when no Okta
 * client could be made (then the keys are not fetched). */
static void check_web(struct doctor *d, struct okta_client *c, const struct ojit_config *cfg)
{
	struct group gr, *grp = NULL;
	struct ojit_buf errs;
	char buf[4096], why[512];
	int have_group, nkeys;

	if (!cfg->web_enabled)
		return;
	ojit_buf_init(&errs, 8192);
	if (config_web_check(cfg, 1, &errs) != 0)
		step(d, STEP_FAIL, "web", "set [web] url to the https:// address people open (see okta-jit-web(8))", "%s",
		     errs.data != NULL ? errs.data : "[web] is not complete");
	else
		step(d, STEP_PASS, "web", NULL, "[web] client_id %s, url %s", cfg->web_client_id, cfg->web_url);
	ojit_buf_free(&errs);
	check_web_secret(d, cfg);
	have_group = getgrnam_r(OJIT_WEB_GROUP, &gr, buf, sizeof(buf), &grp) == 0 && grp != NULL;
	if (have_group)
		step(d, STEP_PASS, "web-group", NULL, "group " OJIT_WEB_GROUP " exists (gid %lu)",
		     (unsigned long)grp->gr_gid);
	else
		step(d, STEP_FAIL, "web-group",
		     "install the okta-jit-web package, or addgroup --system " OJIT_WEB_GROUP,
		     "no group " OJIT_WEB_GROUP ": okta-jitd's web socket is root's alone and okta-jit-web cannot "
		     "reach it");
	check_web_socket_file(d, cfg, have_group, have_group ? grp->gr_gid : 0);
	if (c == NULL) {
		step(d, STEP_SKIP, "web-keys", NULL, "needs a working Okta client");
		return;
	}
	nkeys = oidc_keys_probe(c, cfg->org_url, why, sizeof(why));
	if (nkeys < 0)
		step(d, STEP_FAIL, "web-keys",
		     "okta-jitd checks every ID token against these keys: check the network path to Okta and "
		     "[okta] ca_file",
		     "%s/oauth2/v1/keys: %s", cfg->org_url, why);
	else
		step(d, STEP_PASS, "web-keys", NULL, "%s/oauth2/v1/keys: %d signing key(s) for ID tokens", cfg->org_url,
		     nkeys);
}

int doctor_run(const char *config_path, const char *user_login, int json)
{
	struct doctor d = { json, 0, NULL, 0 };
	struct table_out mode;
	struct ojit_config *cfg = NULL;
	struct ojit_buf errs;
	struct okta_client *c = NULL;
	struct okta_error e;
	struct okta_key *key = NULL, *next_key = NULL;
	char token[8200], type[16], scope[256];
	char login[OKTA_LOGIN_MAX + 1];
	struct okta_user u;
	int web_checked = 0;

	ojit_buf_init(&errs, 64 * 1024);
	table_out_detect(STDOUT_FILENO, &mode);
	d.color = mode.color;
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
	key = check_key(&d, cfg, 0);
	if (key == NULL) {
		step(&d, STEP_SKIP, "token", NULL, "needs a usable private key");
		goto out;
	}
	if (cfg->next_private_key != NULL)
		next_key = check_key(&d, cfg, 1);
	c = okta_client_new(cfg, key, next_key, NULL);
	if (c == NULL) {
		step(&d, STEP_FAIL, "token", NULL, "cannot set up the HTTPS client");
		goto out;
	}
	if (okta_token_get(c, token, sizeof(token), type, sizeof(type), scope, sizeof(scope), &e) != 0) {
		okta_step_fail(&d, "token", "no access token from " OKTA_SCOPES, &e);
		step(&d, STEP_SKIP, "scopes", NULL, "needs an access token");
		goto out;
	}
	if (next_key != NULL) {
		/* Okta must take the next key before key rotate may switch. */
		if (okta_client_try_key(c, 1, &e) != 0) {
			char msg[1024];

			okta_error_format(&e, msg, sizeof(msg));
			step(&d, STEP_FAIL, "next-key-okta",
			     "add the next key's public JWK (okta-jit key show --next) to the app's PUBLIC KEYS with the "
			     "kid of [okta] next_key_id",
			     "Okta refuses the next key under kid %s: %s", cfg->next_key_id, msg);
		} else
			step(&d, STEP_PASS, "next-key-okta", NULL,
			     "Okta takes the next key under kid %s: okta-jit key rotate can switch to it", cfg->next_key_id);
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
	check_web(&d, c, cfg);
	web_checked = 1;
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
	/* The host's own setup needs no Okta: checked whatever the steps
	 * above found, on a granter and on a gate. */
	if (cfg != NULL)
		check_nss(&d, cfg);
	if (cfg != NULL && !web_checked)
		check_web(&d, NULL, cfg);
	if (json) {
		cJSON *root = cJSON_CreateObject();
		char *s;

		cJSON_AddNumberToObject(root, "schema", CLI_JSON_SCHEMA);
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
