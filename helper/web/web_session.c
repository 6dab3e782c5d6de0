/* web_session.c - the session and sign-in tables (one mutex each). */
#include "web_session.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "web_http.h"

struct session {
	int used;
	char id[WEB_ID_LEN];
	char csrf[WEB_ID_LEN];
	char sub[128];
	char login[256];
	char *id_token;
	int64_t last, expires;
};

struct login {
	int used;
	struct web_login_view v;
	int64_t created;
};

static pthread_mutex_t sess_lock = PTHREAD_MUTEX_INITIALIZER;
static struct session *sessions;
static size_t nsessions;
static struct login *logins;
static size_t nlogins;
static int64_t sess_idle, sess_max_age;

int web_sessions_init(size_t max_sessions, size_t max_logins, int64_t idle, int64_t max_age)
{
	sessions = calloc(max_sessions, sizeof(*sessions));
	logins = calloc(max_logins, sizeof(*logins));
	if (sessions == NULL || logins == NULL) {
		free(sessions);
		free(logins);
		sessions = NULL;
		logins = NULL;
		return -1;
	}
	nsessions = max_sessions;
	nlogins = max_logins;
	sess_idle = idle;
	sess_max_age = max_age;
	return 0;
}

static void session_clear(struct session *s)
{
	ojit_free_secret(s->id_token);
	ojit_wipe(s, sizeof(*s));
	memset(s, 0, sizeof(*s));
}

void web_sessions_free(void)
{
	size_t i;

	pthread_mutex_lock(&sess_lock);
	for (i = 0; sessions != NULL && i < nsessions; i++)
		session_clear(&sessions[i]);
	free(sessions);
	if (logins != NULL)
		ojit_wipe(logins, nlogins * sizeof(*logins));
	free(logins);
	sessions = NULL;
	logins = NULL;
	nsessions = nlogins = 0;
	pthread_mutex_unlock(&sess_lock);
}

static int session_live(const struct session *s, int64_t now)
{
	return s->used && now < s->expires && now - s->last < sess_idle;
}

int web_session_create(const struct web_claims *c, const char *id_token, int64_t now,
		       struct web_session_view *out)
{
	struct session *slot;
	char *tok = NULL;
	size_t i, pick;
	int64_t end;

	memset(out, 0, sizeof(*out));
	if (strlen(id_token) > WEB_ID_TOKEN_MAX || web_random_token(out->id, sizeof(out->id)) != 0 ||
	    web_random_token(out->csrf, sizeof(out->csrf)) != 0)
		return -1;
	tok = strdup(id_token);
	if (tok == NULL)
		return -1;
	end = now + sess_max_age;
	if (c->exp < end)
		end = c->exp;
	pick = nsessions;
	pthread_mutex_lock(&sess_lock);
	/* A free or dead slot first, else the least recently used. */
	for (i = 0; i < nsessions; i++) {
		if (!session_live(&sessions[i], now)) {
			pick = i;
			break;
		}
		if (pick == nsessions || sessions[i].last < sessions[pick].last)
			pick = i;
	}
	if (pick == nsessions) {
		pthread_mutex_unlock(&sess_lock);
		ojit_free_secret(tok);
		return -1;
	}
	slot = &sessions[pick];
	session_clear(slot);
	sessions[pick].id_token = tok;
	slot->used = 1;
	memcpy(slot->id, out->id, sizeof(slot->id));
	memcpy(slot->csrf, out->csrf, sizeof(slot->csrf));
	ojit_strlcpy(slot->sub, c->sub, sizeof(slot->sub));
	ojit_strlcpy(slot->login, c->login[0] ? c->login : c->sub, sizeof(slot->login));
	ojit_strip_controls(slot->login); /* it reaches the log */
	ojit_strip_controls(slot->sub);
	slot->last = now;
	slot->expires = end;
	ojit_strlcpy(out->sub, slot->sub, sizeof(out->sub));
	ojit_strlcpy(out->login, slot->login, sizeof(out->login));
	ojit_strlcpy(out->id_token, slot->id_token, sizeof(out->id_token));
	out->expires = end;
	pthread_mutex_unlock(&sess_lock);
	return 0;
}

int web_session_find(const char *id, int64_t now, struct web_session_view *out)
{
	size_t i;
	int found = 0;

	memset(out, 0, sizeof(*out));
	if (id == NULL || strlen(id) != WEB_TOKEN_LEN)
		return 0;
	pthread_mutex_lock(&sess_lock);
	for (i = 0; i < nsessions; i++) {
		struct session *s = &sessions[i];

		if (!s->used || !web_ct_streq(s->id, id))
			continue;
		if (!session_live(s, now)) {
			session_clear(s);
			break;
		}
		s->last = now;
		memcpy(out->id, s->id, sizeof(out->id));
		memcpy(out->csrf, s->csrf, sizeof(out->csrf));
		ojit_strlcpy(out->sub, s->sub, sizeof(out->sub));
		ojit_strlcpy(out->login, s->login, sizeof(out->login));
		ojit_strlcpy(out->id_token, s->id_token, sizeof(out->id_token));
		out->expires = s->expires;
		found = 1;
		break;
	}
	pthread_mutex_unlock(&sess_lock);
	return found;
}

void web_session_end(const char *id)
{
	size_t i;

	if (id == NULL || strlen(id) != WEB_TOKEN_LEN)
		return;
	pthread_mutex_lock(&sess_lock);
	for (i = 0; i < nsessions; i++)
		if (sessions[i].used && web_ct_streq(sessions[i].id, id))
			session_clear(&sessions[i]);
	pthread_mutex_unlock(&sess_lock);
}

size_t web_session_count(void)
{
	int64_t now = ojit_now();
	size_t i, n = 0;

	pthread_mutex_lock(&sess_lock);
	for (i = 0; i < nsessions; i++)
		n += session_live(&sessions[i], now) ? 1 : 0;
	pthread_mutex_unlock(&sess_lock);
	return n;
}

int web_login_begin(const char *next, int64_t now, struct web_login_view *out)
{
	struct login *slot = NULL;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (web_random_token(out->state, sizeof(out->state)) != 0 ||
	    web_random_token(out->nonce, sizeof(out->nonce)) != 0 ||
	    web_random_token(out->verifier, sizeof(out->verifier)) != 0 ||
	    web_random_token(out->binder, sizeof(out->binder)) != 0)
		return -1;
	ojit_strlcpy(out->next, web_safe_path(next) ? next : "/", sizeof(out->next));
	pthread_mutex_lock(&sess_lock);
	/* A free or expired slot, else the oldest: a flood of unfinished
	 * sign-ins pushes out only other unfinished sign-ins. */
	for (i = 0; i < nlogins; i++) {
		if (!logins[i].used || now - logins[i].created >= WEB_LOGIN_TTL) {
			slot = &logins[i];
			break;
		}
		if (slot == NULL || logins[i].created < slot->created)
			slot = &logins[i];
	}
	if (slot != NULL) {
		slot->used = 1;
		slot->v = *out;
		slot->created = now;
	}
	pthread_mutex_unlock(&sess_lock);
	return slot != NULL ? 0 : -1;
}

int web_login_take(const char *state, const char *binder, int64_t now, struct web_login_view *out)
{
	size_t i;
	int found = 0;

	memset(out, 0, sizeof(*out));
	if (state == NULL || binder == NULL)
		return 0;
	pthread_mutex_lock(&sess_lock);
	for (i = 0; i < nlogins; i++) {
		struct login *l = &logins[i];

		if (!l->used || !web_ct_streq(l->v.state, state))
			continue;
		/* Taken (and gone) whatever follows: a state is good once. */
		if (now - l->created < WEB_LOGIN_TTL && web_ct_streq(l->v.binder, binder)) {
			*out = l->v;
			found = 1;
		}
		ojit_wipe(l, sizeof(*l));
		l->used = 0;
		break;
	}
	pthread_mutex_unlock(&sess_lock);
	return found;
}

void web_session_view_wipe(struct web_session_view *v)
{
	ojit_wipe(v, sizeof(*v));
}
