/* pam_okta_jit.so - gate SSH logins and sudo on a just-in-time Okta grant.
 *
 * This runs inside sshd and sudo, as root, so it stays small: no network,
 * TLS or JSON library, no globals, nothing that outlives pam_end. It asks
 * okta-jitd one question over a Unix socket (proto.c), checks that the
 * socket and the peer are root's before trusting the answer, and turns the
 * answer into one PAM code and one log line:
 *
 *   granted      PAM_SUCCESS        the daemon allowed (asked now, or a recent
 *                                   allow on its root-only answer board)
 *   refused      PAM_PERM_DENIED    the daemon denied (the user is told why)
 *   failsecure   PAM_AUTHINFO_UNAVAIL  no answer, failmode=secure (default)
 *   failsafe     PAM_IGNORE         no answer, failmode=safe
 *   breakglass   PAM_SUCCESS        member of the local break-glass group
 *   misconfig    PAM_SERVICE_ERR    unknown or malformed module option */
#define PAM_SM_ACCOUNT
#define PAM_SM_AUTH
#define PAM_SM_SESSION

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define OJIT_ANSWERS_READER_ONLY
#include "answers.h"
#include "proto.h"

/* Built with -fvisibility=hidden: only the PAM entry points are exported. */
#define PAM_VISIBLE __attribute__((visibility("default")))

#define MOD_MAX_GROUPS 16
/* okta-jitd's PAM socket ([daemon] pam_socket): root's alone, with
 * connection threads of its own, so no local user can keep it busy. */
#define MOD_DEFAULT_SOCKET "/run/okta-jit/pam.sock"
#define MOD_DEFAULT_TIMEOUT_MS 3000
#define DATA_GROUP "pam_okta_jit_group"
#define DATA_SESSION "pam_okta_jit_session"

enum failmode { FAIL_SECURE, FAIL_SAFE };

struct mod_opts {
	const char *groups[MOD_MAX_GROUPS];
	int ngroups;
	const char *socket;
	enum failmode failmode;
	int timeout_ms;
	int prompt;
	const char *breakglass;
	int debug;
	int no_board; /* answers=off: always ask okta-jitd */
};

/* Same rule as the daemon: a name that could not reach a log or a shell
 * unharmed is refused before anything else. */
static int valid_user(const char *u)
{
	size_t i, len;

	if (u == NULL)
		return 0;
	len = strlen(u);
	if (len == 0 || len > 64 || u[0] == '-' || u[0] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		char c = u[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      c == '-' || c == '.' || c == '@' || (c == '$' && i == len - 1)))
			return 0;
	}
	return 1;
}

static int valid_group_option(const char *g)
{
	size_t i, len = strlen(g);

	if (len == 0 || len > 255)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)g[i] < 0x20 || g[i] == 0x7f)
			return 0;
	return 1;
}

static int parse_opts(pam_handle_t *pamh, int argc, const char **argv, struct mod_opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->socket = MOD_DEFAULT_SOCKET;
	o->timeout_ms = MOD_DEFAULT_TIMEOUT_MS;
	o->failmode = FAIL_SECURE;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (strncmp(a, "group=", 6) == 0) {
			if (o->ngroups >= MOD_MAX_GROUPS || !valid_group_option(a + 6))
				goto bad;
			o->groups[o->ngroups++] = a + 6;
		} else if (strncmp(a, "socket=", 7) == 0) {
			if (a[7] != '/' || strlen(a + 7) >= 108)
				goto bad;
			o->socket = a + 7;
		} else if (strcmp(a, "failmode=secure") == 0) {
			o->failmode = FAIL_SECURE;
		} else if (strcmp(a, "failmode=safe") == 0) {
			o->failmode = FAIL_SAFE;
		} else if (strncmp(a, "timeout_ms=", 11) == 0) {
			char *end = NULL;
			long v;

			errno = 0;
			v = strtol(a + 11, &end, 10);
			if (errno != 0 || end == a + 11 || *end != '\0' || v < 1 || v > 60000)
				goto bad;
			o->timeout_ms = (int)v;
		} else if (strcmp(a, "request=off") == 0) {
			o->prompt = 0;
		} else if (strcmp(a, "request=prompt") == 0) {
			o->prompt = 1;
		} else if (strncmp(a, "breakglass=", 11) == 0) {
			if (a[11] == '\0' || !valid_user(a + 11))
				goto bad;
			o->breakglass = a + 11;
		} else if (strcmp(a, "debug") == 0) {
			o->debug = 1;
		} else if (strcmp(a, "answers=off") == 0) {
			o->no_board = 1;
		} else if (strcmp(a, "answers=on") == 0) {
			o->no_board = 0;
		} else {
			goto bad;
		}
	}
	if (o->ngroups == 0) {
		pam_syslog(pamh, LOG_ERR, "misconfig: no group= option; failing closed");
		return -1;
	}
	return 0;
bad:
	pam_syslog(pamh, LOG_ERR, "misconfig: unknown or malformed option '%.80s'; failing closed", argv[i]);
	return -1;
}

/* Copy s for the user's screen: control characters become '?'. */
static void clean(char *dst, size_t n, const char *s)
{
	size_t i;

	if (n == 0)
		return;
	for (i = 0; s != NULL && s[i] != '\0' && i + 1 < n; i++)
		dst[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	dst[i] = '\0';
}

static void tell(pam_handle_t *pamh, int style, const char *text)
{
	/* pam_prompt would abort a silent service; a failed message is not
	 * a reason to change the decision. */
	(void)pam_prompt(pamh, style, NULL, "%s", text);
}

static int in_breakglass(const char *user, const char *group)
{
	struct group gr, *grp = NULL;
	struct passwd pw, *pwp = NULL;
	char pbuf[4096];
	char *gbuf = NULL;
	size_t glen = 16384;
	char **m;
	int r = 0, e;

	if (group == NULL)
		return 0;
	/* a break-glass group may list many members: grow until it fits */
	for (;;) {
		char *n = realloc(gbuf, glen);

		if (n == NULL)
			goto out;
		gbuf = n;
		e = getgrnam_r(group, &gr, gbuf, glen, &grp);
		if (e != ERANGE || glen >= (1u << 24))
			break;
		glen *= 2;
	}
	if (e != 0 || grp == NULL)
		goto out;
	for (m = grp->gr_mem; m != NULL && *m != NULL; m++)
		if (strcmp(*m, user) == 0)
			r = 1;
	if (!r && getpwnam_r(user, &pw, pbuf, sizeof(pbuf), &pwp) == 0 && pwp != NULL && pwp->pw_gid == grp->gr_gid)
		r = 1;
out:
	free(gbuf);
	return r;
}

/* One round trip to okta-jitd. 0 and *reply on success. */
static int ask(pam_handle_t *pamh, const struct mod_opts *o, struct proto_out *req, struct proto_msg *reply)
{
	char err[256];
	int fd, r;

	if (proto_out_finish(req, PROTO_MAX_REQUEST) != 0) {
		pam_syslog(pamh, LOG_ERR, "request too large");
		return -1;
	}
	fd = proto_connect(o->socket, 0, o->timeout_ms, err, sizeof(err));
	if (fd < 0) {
		pam_syslog(pamh, LOG_ERR, "cannot reach okta-jitd at %s: %s", o->socket, err);
		return -1;
	}
	r = proto_call(fd, req, reply, 65536, o->timeout_ms);
	close(fd);
	if (r != 0) {
		pam_syslog(pamh, LOG_ERR, "no valid answer from okta-jitd: %s", proto_strerror(r));
		return -1;
	}
	return 0;
}

static void add_items(pam_handle_t *pamh, struct proto_out *req)
{
	const void *item = NULL;

	if (pam_get_item(pamh, PAM_SERVICE, &item) == PAM_SUCCESS && item != NULL)
		proto_out_add(req, T_SERVICE, item);
	item = NULL;
	if (pam_get_item(pamh, PAM_RHOST, &item) == PAM_SUCCESS && item != NULL)
		proto_out_add(req, T_RHOST, item);
	item = NULL;
	if (pam_get_item(pamh, PAM_TTY, &item) == PAM_SUCCESS && item != NULL)
		proto_out_add(req, T_TTY, item);
}

/* Does okta-jitd's answer board (SOCKET.answers: a regular file of root's,
 * mode 0600, written only by okta-jitd) hold a current allow for user
 * through one of our groups? 1 yes (*group, *grant_id set), 0 ask. */
static int board_allows(const struct mod_opts *o, const char *user, const char **group, int64_t *grant_id)
{
	char path[160];
	struct stat st;
	int fd, i, r = 0;
	int64_t now = (int64_t)time(NULL);

	if (o->no_board || o->debug || geteuid() != 0 ||
	    snprintf(path, sizeof(path), "%s%s", o->socket, ANSWERS_SUFFIX) >= (int)sizeof(path))
		return 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 077) != 0 ||
	    st.st_size != (off_t)ANSWERS_SIZE) {
		close(fd);
		return 0;
	}
	for (i = 0; i < o->ngroups && !r; i++)
		if (answers_lookup(fd, user, o->groups[i], now, grant_id)) {
			*group = o->groups[i];
			r = 1;
		}
	close(fd);
	return r;
}

/* CHECK. Returns 1 allow, 0 deny, -1 no answer; fills *reply. */
static int check(pam_handle_t *pamh, const struct mod_opts *o, const char *user, struct proto_msg *reply)
{
	struct proto_out req;
	const char *dec;
	int i, r;

	proto_out_init(&req, PROTO_CHECK);
	proto_out_add(&req, T_USER, user);
	for (i = 0; i < o->ngroups; i++)
		proto_out_add(&req, T_GROUP, o->groups[i]);
	add_items(pamh, &req);
	r = ask(pamh, o, &req, reply);
	proto_out_free(&req);
	if (r != 0)
		return -1;
	dec = proto_get(reply, T_DECISION);
	if (reply->type != PROTO_OK || dec == NULL) {
		pam_syslog(pamh, LOG_ERR, "okta-jitd refused the check: %.200s",
			   proto_get(reply, T_MESSAGE) ? proto_get(reply, T_MESSAGE) : "no message");
		proto_msg_free(reply);
		return -1;
	}
	if (strcmp(dec, "allow") == 0)
		return 1;
	if (strcmp(dec, "deny") == 0)
		return 0;
	return -2; /* "unavailable": the daemon runs but cannot reach Okta; *reply says why */
}

/* Best effort: tell okta-jitd (audit, notifications). Break-glass must
 * work when the daemon is down or hung, so this waits briefly and its
 * outcome changes nothing. */
static void report_breakglass(pam_handle_t *pamh, const struct mod_opts *o, const char *user)
{
	struct mod_opts quick = *o;
	struct proto_out req;
	struct proto_msg reply;

	quick.timeout_ms = 300;
	proto_out_init(&req, PROTO_BREAKGLASS);
	proto_out_add(&req, T_USER, user);
	proto_out_add(&req, T_REASON, o->breakglass);
	add_items(pamh, &req);
	memset(&reply, 0, sizeof(reply));
	if (ask(pamh, &quick, &req, &reply) == 0)
		proto_msg_free(&reply);
	proto_out_free(&req);
}

static void free_str(pam_handle_t *pamh, void *data, int status)
{
	(void)pamh;
	(void)status;
	free(data);
}

static int no_answer(pam_handle_t *pamh, const struct mod_opts *o, const char *user, const char *why)
{
	char msg[512];

	if (o->failmode == FAIL_SAFE) {
		pam_syslog(pamh, LOG_WARNING, "failsafe: user=%s %s; leaving the decision to the rest of the stack", user, why);
		return PAM_IGNORE;
	}
	pam_syslog(pamh, LOG_ERR, "failsecure: user=%s %s; refusing", user, why);
	snprintf(msg, sizeof(msg), "okta-jit: access cannot be checked right now (%s); try again shortly.", why);
	tell(pamh, PAM_ERROR_MSG, msg);
	return PAM_AUTHINFO_UNAVAIL;
}

static void explain_denial(pam_handle_t *pamh, const struct proto_msg *m)
{
	char line[1024], part[600];
	const char *hint = proto_get(m, T_HINT), *approvers = proto_get(m, T_APPROVERS);
	const char *details = proto_get(m, T_DETAILS), *web = proto_get(m, T_WEB_URL);

	clean(part, sizeof(part), proto_get(m, T_MESSAGE) ? proto_get(m, T_MESSAGE) : "okta-jit: access refused");
	snprintf(line, sizeof(line), "%s", part);
	if (hint != NULL && hint[0] != '\0') {
		size_t off = strlen(line);

		clean(part, sizeof(part), hint);
		snprintf(line + off, sizeof(line) - off, "\nRequest access: %s", part);
	}
	if (web != NULL && web[0] != '\0') {
		size_t off = strlen(line);

		clean(part, sizeof(part), web);
		snprintf(line + off, sizeof(line) - off, "\nor in a browser: %s", part);
	}
	if (approvers != NULL && approvers[0] != '\0') {
		size_t off = strlen(line);

		clean(part, sizeof(part), approvers);
		snprintf(line + off, sizeof(line) - off, "\nApprovers: %s", part);
	}
	if (details != NULL && details[0] != '\0') {
		size_t off = strlen(line);

		clean(part, sizeof(part), details);
		snprintf(line + off, sizeof(line) - off, "\n%s", part);
	}
	tell(pamh, PAM_ERROR_MSG, line);
}

PAM_VISIBLE int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct mod_opts o;
	struct proto_msg reply;
	const char *user = NULL;
	int r;

	(void)flags;
	if (parse_opts(pamh, argc, argv, &o) != 0)
		return PAM_SERVICE_ERR;
	if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || !valid_user(user)) {
		pam_syslog(pamh, LOG_WARNING, "refused: invalid user name");
		return PAM_USER_UNKNOWN;
	}
	if (o.breakglass != NULL && in_breakglass(user, o.breakglass)) {
		pam_syslog(pamh, LOG_ALERT, "breakglass: user=%s passes as a member of local group %s; okta-jit not consulted",
			   user, o.breakglass);
		tell(pamh, PAM_TEXT_INFO, "okta-jit: break-glass access; this login is audited.");
		report_breakglass(pamh, &o, user);
		return PAM_SUCCESS;
	}
	{
		const char *g = NULL;
		int64_t id = 0;

		if (board_allows(&o, user, &g, &id)) {
			char *copy = strdup(g);

			if (copy != NULL && pam_set_data(pamh, DATA_GROUP, copy, free_str) != PAM_SUCCESS)
				free(copy);
			if (id > 0)
				pam_syslog(pamh, LOG_INFO, "granted: user=%s group=%s grant=%lld (answer board)", user, g,
					   (long long)id);
			else
				pam_syslog(pamh, LOG_INFO, "granted: user=%s group=%s grant=- (answer board)", user, g);
			return PAM_SUCCESS;
		}
	}
	memset(&reply, 0, sizeof(reply));
	r = check(pamh, &o, user, &reply);
	if (r < 0) {
		char why[300];
		int rc;

		if (r == -2)
			clean(why, sizeof(why), proto_get(&reply, T_MESSAGE) ? proto_get(&reply, T_MESSAGE)
									   : "okta-jitd cannot reach Okta");
		else
			snprintf(why, sizeof(why), "okta-jitd did not answer");
		rc = no_answer(pamh, &o, user, why);
		proto_msg_free(&reply);
		return rc;
	}
	if (r == 0) {
		pam_syslog(pamh, LOG_NOTICE, "refused: user=%s code=%s", user,
			   proto_get(&reply, T_CODE) ? proto_get(&reply, T_CODE) : "?");
		explain_denial(pamh, &reply);
		proto_msg_free(&reply);
		return PAM_PERM_DENIED;
	}
	{
		const char *g = proto_get(&reply, T_GROUP);
		char *copy = g ? strdup(g) : NULL;

		if (copy != NULL && pam_set_data(pamh, DATA_GROUP, copy, free_str) != PAM_SUCCESS)
			free(copy);
		pam_syslog(pamh, LOG_INFO, "granted: user=%s group=%s grant=%s", user, g ? g : "?",
			   proto_get(&reply, T_ID) ? proto_get(&reply, T_ID) : "-");
		if (o.debug) {
			char msg[800];

			clean(msg, sizeof(msg), proto_get(&reply, T_MESSAGE));
			tell(pamh, PAM_TEXT_INFO, msg);
		}
	}
	proto_msg_free(&reply);
	return PAM_SUCCESS;
}

/* Is user the one at the keyboard? Before authentication PAM_USER is only
 * a claim: sshd (keyboard-interactive), login and su take it from
 * whoever is asking, so a request filed on it alone could be filed in a
 * victim's name (and, with approval = auto, add the victim's membership).
 * The invoking user is the process's real uid (sudo and su keep the
 * caller's; our caller cannot forge it) and, where the service sets it,
 * PAM_RUSER (sudo and su do): both, where there, must name user. A
 * process whose real uid is root (sshd, login, getty) has no invoking
 * user but the one it was told, so it must have set PAM_RUSER. 1 yes. */
static int user_is_invoker(pam_handle_t *pamh, const char *user)
{
	const void *ruser = NULL;
	struct passwd pw, *pwp = NULL;
	char pbuf[4096];
	uid_t uid = getuid();

	if (pam_get_item(pamh, PAM_RUSER, &ruser) != PAM_SUCCESS)
		ruser = NULL;
	if (ruser != NULL && ((const char *)ruser)[0] == '\0')
		ruser = NULL;
	if (ruser != NULL && strcmp(ruser, user) != 0)
		return 0;
	if (uid == 0)
		return ruser != NULL;
	if (getpwuid_r(uid, &pw, pbuf, sizeof(pbuf), &pwp) != 0 || pwp == NULL)
		return 0;
	return strcmp(pwp->pw_name, user) == 0;
}

/* auth with request=prompt: a user without a grant is asked for a reason
 * (and a duration) and a request is filed. This never authenticates
 * anyone: it returns PAM_IGNORE and the account step decides. */
PAM_VISIBLE int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct mod_opts o;
	struct proto_msg reply, rr;
	struct proto_out req;
	const char *user = NULL, *code;
	char *reason = NULL, *dur = NULL;
	char msg[1024], part[600], prompt[256];
	int r;

	(void)flags;
	if (parse_opts(pamh, argc, argv, &o) != 0)
		return PAM_SERVICE_ERR;
	if (!o.prompt)
		return PAM_IGNORE;
	if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || !valid_user(user))
		return PAM_USER_UNKNOWN;
	if (!user_is_invoker(pamh, user)) {
		pam_syslog(pamh, LOG_NOTICE,
			   "request=prompt: user=%s is not the invoking user (real uid %u, PAM_RUSER unset or other): "
			   "nothing filed",
			   user, (unsigned)getuid());
		return PAM_IGNORE;
	}
	{
		const char *g = NULL;
		int64_t id = 0;

		if (board_allows(&o, user, &g, &id))
			return PAM_IGNORE; /* allowed: nothing to ask */
	}
	memset(&reply, 0, sizeof(reply));
	r = check(pamh, &o, user, &reply);
	code = r == 0 ? proto_get(&reply, T_CODE) : NULL;
	if (r != 0 || code == NULL || strcmp(code, "no_grant") != 0) {
		proto_msg_free(&reply);
		return PAM_IGNORE; /* allowed, unanswerable, or not a grant matter */
	}
	clean(part, sizeof(part), proto_get(&reply, T_MESSAGE));
	tell(pamh, PAM_TEXT_INFO, part);
	snprintf(prompt, sizeof(prompt), "Reason for access to %.100s (empty to cancel): ",
		 proto_get(&reply, T_GROUP) ? proto_get(&reply, T_GROUP) : o.groups[0]);
	if (pam_prompt(pamh, PAM_PROMPT_ECHO_ON, &reason, "%s", prompt) != PAM_SUCCESS || reason == NULL ||
	    reason[0] == '\0') {
		free(reason);
		proto_msg_free(&reply);
		return PAM_IGNORE;
	}
	if (strlen(reason) > 500) {
		tell(pamh, PAM_ERROR_MSG, "okta-jit: the reason is too long (at most 500 characters); nothing was filed.");
		free(reason);
		proto_msg_free(&reply);
		return PAM_IGNORE;
	}
	if (pam_prompt(pamh, PAM_PROMPT_ECHO_ON, &dur, "Duration (e.g. 30m, empty for the default): ") != PAM_SUCCESS)
		dur = NULL;
	proto_out_init(&req, PROTO_REQUEST);
	proto_out_add(&req, T_USER, user);
	proto_out_add(&req, T_GROUP, proto_get(&reply, T_GROUP) ? proto_get(&reply, T_GROUP) : o.groups[0]);
	proto_out_add(&req, T_REASON, reason);
	if (dur != NULL && dur[0] != '\0')
		proto_out_add(&req, T_DURATION, dur); /* the daemon parses and bounds it */
	add_items(pamh, &req);
	proto_msg_free(&reply);
	memset(&rr, 0, sizeof(rr));
	r = ask(pamh, &o, &req, &rr);
	proto_out_free(&req);
	free(reason);
	free(dur);
	if (r != 0) {
		tell(pamh, PAM_ERROR_MSG, "okta-jit: the request could not be filed (okta-jitd did not answer).");
		return PAM_IGNORE;
	}
	if (rr.type == PROTO_ERROR) {
		clean(part, sizeof(part), proto_get(&rr, T_MESSAGE));
		snprintf(msg, sizeof(msg), "okta-jit: request refused: %s", part);
		tell(pamh, PAM_ERROR_MSG, msg);
		pam_syslog(pamh, LOG_NOTICE, "request refused: user=%s code=%s", user,
			   proto_get(&rr, T_CODE) ? proto_get(&rr, T_CODE) : "?");
	} else {
		const char *state = proto_get(&rr, T_STATE);
		char id[32];

		clean(id, sizeof(id), proto_get(&rr, T_ID));
		if (state != NULL && strcmp(state, "active") == 0) {
			snprintf(msg, sizeof(msg), "okta-jit: grant %s is active.", id);
		} else {
			clean(part, sizeof(part), proto_get(&rr, T_APPROVERS) ? proto_get(&rr, T_APPROVERS) : "the approvers");
			snprintf(msg, sizeof(msg), "okta-jit: request %s is waiting for approval by %s.", id, part);
		}
		tell(pamh, PAM_TEXT_INFO, msg);
		pam_syslog(pamh, LOG_NOTICE, "request filed: user=%s id=%s state=%s", user, id, state ? state : "?");
	}
	proto_msg_free(&rr);
	return PAM_IGNORE;
}

PAM_VISIBLE int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_IGNORE;
}

PAM_VISIBLE int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct mod_opts o;
	struct proto_out req;
	struct proto_msg reply;
	const char *user = NULL;
	const void *group = NULL;
	const char *sid, *left;
	int r;

	(void)flags;
	if (parse_opts(pamh, argc, argv, &o) != 0)
		return PAM_SERVICE_ERR;
	if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || !valid_user(user))
		return PAM_SESSION_ERR;
	if (pam_get_data(pamh, DATA_GROUP, &group) != PAM_SUCCESS || group == NULL) {
		/* No account phase in this handle (su -l, say): ask now. */
		memset(&reply, 0, sizeof(reply));
		if (check(pamh, &o, user, &reply) != 1) {
			proto_msg_free(&reply);
			return PAM_IGNORE;
		}
		{
			char *copy = proto_get(&reply, T_GROUP) ? strdup(proto_get(&reply, T_GROUP)) : NULL;

			proto_msg_free(&reply);
			if (copy == NULL || pam_set_data(pamh, DATA_GROUP, copy, free_str) != PAM_SUCCESS) {
				free(copy);
				return PAM_IGNORE;
			}
			group = copy;
		}
	}
	proto_out_init(&req, PROTO_SESSION_OPEN);
	proto_out_add(&req, T_USER, user);
	proto_out_add(&req, T_GROUP, group);
	proto_out_add_int(&req, T_PID, (long long)getpid());
	/* No XDG_SESSION_ID: okta-jitd reads the logind session from this
	 * process's cgroup; the PAM environment may be the user's to set. */
	add_items(pamh, &req);
	memset(&reply, 0, sizeof(reply));
	r = ask(pamh, &o, &req, &reply);
	proto_out_free(&req);
	if (r != 0 || reply.type != PROTO_OK) {
		/* The session itself was already allowed by the account step. */
		proto_msg_free(&reply);
		return PAM_IGNORE;
	}
	sid = proto_get(&reply, T_SESSION);
	if (sid != NULL) {
		char *copy = strdup(sid);

		if (copy != NULL && pam_set_data(pamh, DATA_SESSION, copy, free_str) != PAM_SUCCESS)
			free(copy);
	}
	left = proto_get(&reply, T_TIME_LEFT);
	if (left != NULL) {
		long secs = strtol(left, NULL, 10);
		char msg[256];

		char human[32];

		if (secs < 60)
			snprintf(human, sizeof(human), "%lds", secs < 0 ? 0 : secs);
		else if (secs < 3600)
			snprintf(human, sizeof(human), "%ldm%02lds", secs / 60, secs % 60);
		else
			snprintf(human, sizeof(human), "%ldh%02ldm", secs / 3600, (secs % 3600) / 60);
		snprintf(msg, sizeof(msg), "okta-jit: your access through '%.100s' ends in %s (grant %.20s).",
			 (const char *)group, human, proto_get(&reply, T_ID) ? proto_get(&reply, T_ID) : "?");
		tell(pamh, PAM_TEXT_INFO, msg);
	}
	proto_msg_free(&reply);
	return PAM_SUCCESS;
}

PAM_VISIBLE int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct mod_opts o;
	struct proto_out req;
	struct proto_msg reply;
	const void *sid = NULL;

	(void)flags;
	if (parse_opts(pamh, argc, argv, &o) != 0)
		return PAM_SERVICE_ERR;
	if (pam_get_data(pamh, DATA_SESSION, &sid) != PAM_SUCCESS || sid == NULL)
		return PAM_IGNORE;
	proto_out_init(&req, PROTO_SESSION_CLOSE);
	proto_out_add(&req, T_SESSION, sid);
	memset(&reply, 0, sizeof(reply));
	if (ask(pamh, &o, &req, &reply) == 0)
		proto_msg_free(&reply);
	proto_out_free(&req);
	return PAM_SUCCESS;
}
