/* notify.c - webhook notifications ([notify NAME] targets).
 *
 * An event worth telling (requested, approved, ... ) is queued in the
 * ledger, one row per target, in the same breath as its audit line; a
 * background thread POSTs the queue. Delivery never blocks a grant, a check
 * or an expiry: a down, slow or failing receiver costs retries with backoff
 * until the row is older than the target's max_age, when it is dropped with
 * an audit line. The queue stores the facts as JSON; each attempt renders
 * them (json or slack) and signs body and timestamp with HMAC-SHA256.
 *
 * Each target has its own thread reading only its own rows, so a receiver
 * that holds every POST until the timeout delays nobody else's; the
 * "expiring" scan (and the pruning) has a thread of its own and never
 * waits on a delivery. */
#include "notify.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "ledger.h"
#include "metrics.h"
#include "util.h"

#define NOTIFY_BATCH 32
#define NOTIFY_TIMEOUT_S 5
#define NOTIFY_BACKOFF_MAX 300
#define EXPIRING_SCAN_S 1
/* Sent and dropped rows are kept this long (their facts are in the audit
 * trail too), then deleted; waiting rows are never deleted. */
#define NOTIFY_KEEP_S (7 * 86400)
#define NOTIFY_PRUNE_EVERY_S 3600

/* Rows for targets this host does not have are looked for this often. */
#define NOTIFY_ORPHANS_EVERY_S 30

/* A kick bumps the generation and wakes every thread; each thread keeps the
 * generation it last acted on, so no kick between its read of the queue and
 * its wait is missed. */
static pthread_mutex_t nlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ncond = PTHREAD_COND_INITIALIZER;
static unsigned long ngen;
/* notify_stop's own stop: it may also undo a notify_start that failed
 * half-way, while okta-jitd runs on. */
static volatile int nquit;

static int quitting(const struct jitd *d)
{
	return d->stopping || nquit;
}

/* One sender per [notify] target. */
struct notify_sender {
	struct jitd *d;
	const struct notify_config *t;
	pthread_t thread;
	int started;
};
static struct notify_sender *senders;
static size_t nsenders;
static pthread_t scan_thread;
static int scan_started;

/* Whether an "expiring" row exists, and its insert, are one step: the scan
 * thread and an expiry (grant threads) may both want to queue it. */
static pthread_mutex_t expiring_lock = PTHREAD_MUTEX_INITIALIZER;

static const struct notify_config *target_named(const struct jitd *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->cfg->nnotify; i++)
		if (strcmp(d->cfg->notify[i].name, name) == 0)
			return &d->cfg->notify[i];
	return NULL;
}

/* [web] url + "/grants/ID": the grant's page in okta-jit-web (its route
 * for a grant or a request alike). 0, or -1 when it does not fit. */
static int notify_grant_url(const char *base, int64_t id, char *out, size_t n)
{
	size_t len = strlen(base);
	int w;

	while (len > 0 && base[len - 1] == '/')
		len--;
	w = snprintf(out, n, "%.*s/grants/%lld", (int)len, base, (long long)id);
	return w < 0 || (size_t)w >= n ? -1 : 0;
}

/* name and name_login (issue 22): a person as the audit names them,
 * the local name with the Okta login beside it (jitd_person). */
static void add_person(const struct jitd *d, cJSON *o, const char *key, const char *who)
{
	char name[LEDGER_LOGIN_MAX + 1], login[LEDGER_LOGIN_MAX + 1], k[32];

	jitd_person(d, who, name, sizeof(name), login, sizeof(login));
	cJSON_AddStringToObject(o, key, name);
	snprintf(k, sizeof(k), "%s_login", key);
	cJSON_AddStringToObject(o, k, login);
}

/* The facts of an event, as queued. */
static char *facts_json(struct jitd *d, const char *event, const struct grant *g, const char *actor,
			const char *user, const char *grp, const char *detail, int late)
{
	cJSON *o = cJSON_CreateObject();
	char approvers[512] = "";
	char *s;

	if (o == NULL)
		return NULL;
	if (g != NULL)
		jitd_describe_approvers(d, config_flow_for_group(d->cfg, g->grp), approvers, sizeof(approvers));
	cJSON_AddStringToObject(o, "event", event);
	cJSON_AddNumberToObject(o, "grant_id", g ? (double)g->id : 0);
	/* user, requester, approver and actor: local names, each with its
	 * Okta login beside it (approver was the login before issue 22) */
	add_person(d, o, "user", g ? g->user : user);
	cJSON_AddStringToObject(o, "group", g ? g->grp : (grp ? grp : ""));
	cJSON_AddStringToObject(o, "reason", g ? g->reason : (detail ? detail : ""));
	add_person(d, o, "requester", g ? g->requester : "");
	add_person(d, o, "approver", g ? g->approver : "");
	add_person(d, o, "actor", actor);
	cJSON_AddStringToObject(o, "approvers", approvers);
	cJSON_AddStringToObject(o, "state", g ? g->state : "");
	cJSON_AddNumberToObject(o, "start", g ? (double)g->start_at : 0);
	cJSON_AddNumberToObject(o, "end", g ? (double)g->end_at : 0);
	cJSON_AddNumberToObject(o, "duration", g ? (double)g->duration : 0);
	cJSON_AddStringToObject(o, "integration", d->cfg->name ? d->cfg->name : "");
	cJSON_AddStringToObject(o, "host", ledger_host());
	cJSON_AddNumberToObject(o, "at", (double)ojit_now());
	if (late >= 0) /* "expiring" only: queued after the grant had ended */
		cJSON_AddBoolToObject(o, "late", late);
	if (g != NULL && g->id > 0 && d->cfg->web_url != NULL) {
		char url[1024];

		if (notify_grant_url(d->cfg->web_url, g->id, url, sizeof(url)) == 0)
			cJSON_AddStringToObject(o, "url", url);
	}
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

static void kick(void)
{
	pthread_mutex_lock(&nlock);
	ngen++;
	pthread_cond_broadcast(&ncond);
	pthread_mutex_unlock(&nlock);
}

/* Sleep until a kick newer than *seen, the stop, or secs have passed. */
static void wait_kick(struct jitd *d, unsigned long *seen, int secs)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += secs;
	pthread_mutex_lock(&nlock);
	while (ngen == *seen && !quitting(d))
		if (pthread_cond_timedwait(&ncond, &nlock, &ts) != 0)
			break;
	*seen = ngen;
	pthread_mutex_unlock(&nlock);
}

static void enqueue(struct jitd *d, const struct notify_config *t, const char *event, int64_t grant_id,
		    const char *facts)
{
	struct notification n;
	struct ojit_log_fields f = { .grant_id = grant_id };

	f.v[OJIT_LK_EVENT] = event;
	f.v[OJIT_LK_ERROR_CODE] = "notify_not_queued";
	memset(&n, 0, sizeof(n));
	ojit_strlcpy(n.target, t->name, sizeof(n.target));
	ojit_strlcpy(n.event, event, sizeof(n.event));
	n.grant_id = grant_id;
	if (strlen(facts) >= sizeof(n.payload)) {
		error_kv(&f, "notification %s for grant %lld too large to queue", event, (long long)grant_id);
		return;
	}
	ojit_strlcpy(n.payload, facts, sizeof(n.payload));
	n.created_at = ojit_now();
	n.next_attempt_at = n.created_at;
	if (ledger_notify_add(d->ledger, &n) != LEDGER_OK)
		error_kv(&f, "notification %s for grant %lld to %s not queued: %s", event, (long long)grant_id, t->name,
			 ledger_last_error(d->ledger));
}

/* Queue "expiring" for g to every target that wants it, whose warning is
 * due at now and has not been queued yet. late: the grant had ended. */
static void queue_expiring(struct jitd *d, const struct grant *g, int64_t now)
{
	int late = g->end_at <= now;
	char *facts = NULL;
	size_t i;

	pthread_mutex_lock(&expiring_lock);
	for (i = 0; i < d->cfg->nnotify; i++) {
		const struct notify_config *t = &d->cfg->notify[i];
		int rc;

		if (!(t->events & NOTIFY_EXPIRING) || g->end_at - t->expiring_before > now)
			continue;
		rc = ledger_notify_exists(d->ledger, t->name, "expiring", g->id);
		if (rc == LEDGER_OK)
			continue;
		if (rc != LEDGER_NOTFOUND) {
			/* the next scan tries again; an expiry cannot wait */
			struct ojit_log_fields f;

			jitd_grant_fields(g, &f);
			f.v[OJIT_LK_EVENT] = "expiring";
			f.v[OJIT_LK_ERROR_CODE] = "ledger";
			error_kv(&f, "expiring notification for grant %lld to %s: %s", (long long)g->id, t->name,
				 ledger_last_error(d->ledger));
			continue;
		}
		if (facts == NULL && (facts = facts_json(d, "expiring", g, "okta-jitd", NULL, NULL, NULL, late)) == NULL)
			break;
		enqueue(d, t, "expiring", g->id, facts);
		if (late)
			ojit_log(LOG_INFO, "expiring notification for grant %lld to %s queued late: the grant ended at %lld",
				 (long long)g->id, t->name, (long long)g->end_at);
	}
	pthread_mutex_unlock(&expiring_lock);
	if (facts != NULL) {
		free(facts);
		kick();
	}
}

void notify_event(struct jitd *d, const char *event, int64_t grant_id, const char *actor, const char *user,
		  const char *grp, const char *detail)
{
	unsigned bit = config_notify_event(event);
	struct grant g;
	int have = 0;
	char *facts;
	size_t i;
	int any = 0, expiring = 0;

	if (bit == 0 || d->cfg->nnotify == 0)
		return;
	for (i = 0; i < d->cfg->nnotify; i++) {
		any |= (d->cfg->notify[i].events & bit) != 0;
		expiring |= (d->cfg->notify[i].events & NOTIFY_EXPIRING) != 0;
	}
	/* a grant that ran out had its "expiring" due: queued now (late) if
	 * the scan never got to it, and always ahead of its "expired" */
	if (bit == NOTIFY_EXPIRED && expiring) {
		any = 1;
		expiring = 2;
	}
	if (!any)
		return;
	if (grant_id > 0 && ledger_grant_get(d->ledger, grant_id, &g) == LEDGER_OK)
		have = 1;
	if (have && expiring == 2 && strcmp(g.kind, "grant") == 0)
		queue_expiring(d, &g, ojit_now());
	facts = facts_json(d, event, have ? &g : NULL, actor, user, grp, detail, -1);
	if (facts == NULL)
		return;
	for (i = 0; i < d->cfg->nnotify; i++)
		if (d->cfg->notify[i].events & bit)
			enqueue(d, &d->cfg->notify[i], event, grant_id, facts);
	free(facts);
	kick();
}

/* Active grants whose end is within a target's expiring_before, and grants
 * as they run out: one "expiring" per grant and target. */
struct expiring_ctx {
	struct jitd *d;
	int64_t now;
};

static int expiring_cb(const struct grant *g, void *p)
{
	struct expiring_ctx *x = p;

	/* one that has ended is still told (late): the scan may have been
	 * held up, or okta-jitd down, while its warning was due */
	if (strcmp(g->kind, "grant") == 0 && g->end_at > 0)
		queue_expiring(x->d, g, x->now);
	return 0;
}

static void scan_expiring(struct jitd *d)
{
	struct expiring_ctx x = { d, ojit_now() };
	size_t i;
	int any = 0;

	for (i = 0; i < d->cfg->nnotify; i++)
		any |= (d->cfg->notify[i].events & NOTIFY_EXPIRING) != 0;
	if (any)
		ledger_grant_list(d->ledger, NULL, "active", 100000, expiring_cb, &x);
}

/* The first line of a root-only file. */
static int read_secret(const char *path, char *buf, size_t n, char *err, size_t errlen)
{
	struct stat st;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	char *nl;

	if (fd < 0) {
		snprintf(err, errlen, "cannot open secret_file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		snprintf(err, errlen, "secret_file %s must be a regular file owned by root with mode 0600 or 0400",
			 path);
		close(fd);
		return -1;
	}
	r = read(fd, buf, n - 1);
	close(fd);
	if (r <= 0) {
		snprintf(err, errlen, "secret_file %s is empty", path);
		return -1;
	}
	buf[r] = '\0';
	nl = strpbrk(buf, "\r\n");
	if (nl != NULL)
		*nl = '\0';
	if (buf[0] == '\0') {
		snprintf(err, errlen, "secret_file %s has an empty first line", path);
		return -1;
	}
	return 0;
}

/* The target's signing secret: secret_file, else the systemd credential
 * "notify-NAME" (LoadCredential=notify-NAME:...). */
static int target_secret(const struct notify_config *t, char *buf, size_t n, char *err, size_t errlen)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char path[4096];

	if (t->secret_file != NULL)
		return read_secret(t->secret_file, buf, n, err, errlen);
	if (dir == NULL || dir[0] != '/' ||
	    snprintf(path, sizeof(path), "%s/notify-%s", dir, t->name) >= (int)sizeof(path)) {
		snprintf(err, errlen, "[notify %s] has no secret_file and the unit passes no credential notify-%s",
			 t->name, t->name);
		return -1;
	}
	return read_secret(path, buf, n, err, errlen);
}

/* &, < and > escaped, as Slack asks: no mention, link or channel ping can
 * come from a user's reason or a group name. Control characters dropped. */
static void slack_escape(struct ojit_buf *b, const char *s)
{
	for (; s != NULL && *s; s++) {
		if (*s == '&')
			ojit_buf_printf(b, "&amp;");
		else if (*s == '<')
			ojit_buf_printf(b, "&lt;");
		else if (*s == '>')
			ojit_buf_printf(b, "&gt;");
		else if ((unsigned char)*s < 0x20)
			ojit_buf_append(b, " ", 1);
		else
			ojit_buf_append(b, s, 1);
	}
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) && v->valuestring != NULL ? v->valuestring : "";
}

/* A person of the payload as people read it: "alice (alice@example.com)"
 * from key and key_login (facts_json), escaped. */
static void slack_person(struct ojit_buf *b, const cJSON *o, const char *key)
{
	char k[32], text[2 * LEDGER_LOGIN_MAX + 4];

	snprintf(k, sizeof(k), "%s_login", key);
	audit_person(text, sizeof(text), jstr(o, key), jstr(o, k));
	slack_escape(b, text);
}

static int64_t jnum(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

static void fmt_time(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL || strftime(out, n, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		ojit_strlcpy(out, "-", n);
}

/* The body to POST for this attempt, or NULL. */
static char *render(const struct notify_config *t, const struct notification *n)
{
	cJSON *o = cJSON_Parse(n->payload);
	char *out = NULL;

	if (o == NULL)
		return NULL;
	if (!t->slack) {
		cJSON_AddNumberToObject(o, "delivery_id", (double)n->id);
		out = cJSON_PrintUnformatted(o);
	} else {
		struct ojit_buf b;
		char end[64], start[64];
		int64_t id = jnum(o, "grant_id");
		cJSON *m;

		fmt_time(jnum(o, "end"), end, sizeof(end));
		fmt_time(jnum(o, "start"), start, sizeof(start));
		ojit_buf_init(&b, 2048);
		ojit_buf_printf(&b, "okta-jit (");
		slack_escape(&b, jstr(o, "integration"));
		ojit_buf_printf(&b, ", ");
		slack_escape(&b, jstr(o, "host"));
		ojit_buf_printf(&b, "): *%s* - grant %lld: ", n->event, (long long)id);
		slack_person(&b, o, "user");
		ojit_buf_printf(&b, " in `");
		slack_escape(&b, jstr(o, "group"));
		ojit_buf_printf(&b, "` (state %s", jstr(o, "state"));
		if (jnum(o, "end") > 0)
			ojit_buf_printf(&b, ", %s to %s", start, end);
		ojit_buf_printf(&b, ")\nReason: ");
		slack_escape(&b, jstr(o, "reason")[0] ? jstr(o, "reason") : "(none)");
		ojit_buf_printf(&b, "\nRequested by: ");
		slack_person(&b, o, "requester");
		if (jstr(o, "approver")[0]) {
			ojit_buf_printf(&b, "\nDecided by: ");
			slack_person(&b, o, "approver");
		}
		if (jstr(o, "actor")[0]) {
			ojit_buf_printf(&b, "\nBy: ");
			slack_person(&b, o, "actor");
		}
		if (jstr(o, "approvers")[0]) {
			ojit_buf_printf(&b, "\nApprovers: ");
			slack_escape(&b, jstr(o, "approvers"));
		}
		if (strcmp(n->event, "requested") == 0 && strcmp(jstr(o, "state"), "pending") == 0) {
			ojit_buf_printf(&b, "\nApprove: `okta-jit approve %lld`   Deny: `okta-jit deny %lld`",
					(long long)id, (long long)id);
			if (jstr(o, "url")[0]) { /* config.c: no '<', '>' or '|' in [web] url */
				ojit_buf_printf(&b, "\nIn a browser: <");
				slack_escape(&b, jstr(o, "url"));
				ojit_buf_printf(&b, "|grant %lld>", (long long)id);
			}
		} else if (jstr(o, "url")[0]) {
			ojit_buf_printf(&b, "\nPage: <");
			slack_escape(&b, jstr(o, "url"));
			ojit_buf_printf(&b, "|grant %lld>", (long long)id);
		}
		m = cJSON_CreateObject();
		if (m != NULL && b.data != NULL) {
			cJSON_AddStringToObject(m, "text", b.data);
			out = cJSON_PrintUnformatted(m);
		}
		cJSON_Delete(m);
		ojit_buf_free(&b);
	}
	cJSON_Delete(o);
	return out;
}

static size_t discard(char *p, size_t size, size_t nmemb, void *ctx)
{
	(void)p;
	(void)ctx;
	return size * nmemb;
}

/* A POST in progress when okta-jitd stops gets NOTIFY_STOP_GRACE_MS to
 * finish (cut at once, a receiver that already took it would get it again
 * after the restart), then gives up: a receiver that never answers holds
 * no shutdown for its whole timeout. */
#define NOTIFY_STOP_GRACE_MS 2000
struct transfer {
	const struct jitd *d;
	int64_t stop_seen_ms;
};

static int stop_check(void *p, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct transfer *x = p;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	if (!quitting(x->d))
		return 0;
	if (x->stop_seen_ms == 0)
		x->stop_seen_ms = ojit_mono_ms();
	return ojit_mono_ms() - x->stop_seen_ms >= NOTIFY_STOP_GRACE_MS;
}

/* POST one notification: 0 delivered, -1 with err set. */
static int deliver(struct jitd *d, const struct notify_config *t, const struct notification *n, char *err,
		   size_t errlen)
{
	char secret[1024], ts[32], sig[EVP_MAX_MD_SIZE * 2 + 8], hdr[256];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	struct curl_slist *h = NULL;
	struct ojit_buf signed_data;
	struct transfer x = { d, 0 };
	char *body = NULL;
	CURL *c = NULL;
	long code = 0;
	CURLcode rc;
	int r = -1;
	unsigned i;

	ojit_buf_init(&signed_data, 4096);
	if (target_secret(t, secret, sizeof(secret), err, errlen) != 0)
		goto out;
	body = render(t, n);
	if (body == NULL) {
		snprintf(err, errlen, "cannot render the queued notification");
		goto out;
	}
	snprintf(ts, sizeof(ts), "%lld", (long long)ojit_now());
	ojit_buf_printf(&signed_data, "%s.", ts);
	ojit_buf_append(&signed_data, body, strlen(body));
	if (signed_data.data == NULL ||
	    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)signed_data.data, signed_data.len,
		 mac, &maclen) == NULL) {
		snprintf(err, errlen, "cannot sign the notification");
		goto out;
	}
	snprintf(sig, sizeof(sig), "v1=");
	for (i = 0; i < maclen; i++)
		snprintf(sig + 3 + 2 * i, sizeof(sig) - 3 - 2 * i, "%02x", mac[i]);
	c = curl_easy_init();
	if (c == NULL) {
		snprintf(err, errlen, "cannot set up HTTPS");
		goto out;
	}
	h = curl_slist_append(h, "Content-Type: application/json");
	snprintf(hdr, sizeof(hdr), "X-OktaJit-Event: %s", n->event);
	h = curl_slist_append(h, hdr);
	snprintf(hdr, sizeof(hdr), "X-OktaJit-Delivery: %lld", (long long)n->id);
	h = curl_slist_append(h, hdr);
	snprintf(hdr, sizeof(hdr), "X-OktaJit-Timestamp: %s", ts);
	h = curl_slist_append(h, hdr);
	snprintf(hdr, sizeof(hdr), "X-OktaJit-Signature: %s", sig);
	h = curl_slist_append(h, hdr);
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, t->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROXY, ""); /* no proxy from the environment */
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (t->ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, t->ca_file);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)NOTIFY_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 3L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "okta-jit/" OJIT_VERSION " (notify)");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, stop_check);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s", curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (code < 200 || code > 299) {
		snprintf(err, errlen, "the receiver answered HTTP %ld", code);
		goto out;
	}
	r = 0;
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(mac, sizeof(mac));
	ojit_buf_free(&signed_data);
	curl_slist_free_all(h);
	if (c != NULL)
		curl_easy_cleanup(c);
	free(body);
	return r;
}

struct due_rows {
	struct notification *v;
	size_t n;
};

static int due_cb(const struct notification *n, void *p)
{
	struct due_rows *rows = p;

	if (rows->n < NOTIFY_BATCH)
		rows->v[rows->n++] = *n;
	return rows->n >= NOTIFY_BATCH;
}

/* One attempt at row n (claimed): sent, retried later or dropped. t is
 * NULL when this host has no such target. */
static void attempt(struct jitd *d, const struct notify_config *t, struct notification *n)
{
	char err[256] = "";
	int64_t now = ojit_now(), delay;

	if (t == NULL) {
		ojit_strlcpy(err, "no such [notify] target in this host's config", sizeof(err));
	} else if (deliver(d, t, n, err, sizeof(err)) == 0) {
		n->sent_at = ojit_now();
		n->attempts++;
		n->last_error[0] = '\0';
		if (ledger_notify_update(d->ledger, n) != LEDGER_OK)
			error_f("notification %lld sent but not marked: %s", (long long)n->id,
				ledger_last_error(d->ledger));
		return;
	} else if (quitting(d)) {
		return; /* cut short by the stop, not the receiver's fault */
	}
	n->attempts++;
	if (t != NULL)
		metrics_inc(METRIC_NOTIFY_FAILURES, NULL);
	ojit_strlcpy(n->last_error, err, sizeof(n->last_error));
	ojit_strip_controls(n->last_error);
	if (t == NULL || now - n->created_at >= t->max_age) {
		n->dropped_at = now;
		ledger_notify_update(d->ledger, n);
		audit_event(d, "notify_dropped", n->grant_id, "okta-jitd", "", "",
			    "target=%s notify_event=%s attempts=%d error=%s", n->target, n->event, n->attempts,
			    n->last_error);
		return;
	}
	delay = n->attempts < 8 ? (int64_t)1 << n->attempts : NOTIFY_BACKOFF_MAX;
	if (delay > NOTIFY_BACKOFF_MAX)
		delay = NOTIFY_BACKOFF_MAX;
	/* never past the drop time: the drop happens on time */
	if (now + delay > n->created_at + t->max_age)
		delay = n->created_at + t->max_age - now;
	n->next_attempt_at = now + (delay > 0 ? delay : 0);
	ledger_notify_update(d->ledger, n);
	if (n->attempts <= 3 || (n->attempts & (n->attempts - 1)) == 0) {
		struct ojit_log_fields f = { .grant_id = n->grant_id };

		f.v[OJIT_LK_EVENT] = n->event;
		f.v[OJIT_LK_ERROR_CODE] = "notify_failed";
		warn_kv(&f, "notification %lld (%s to %s) not delivered, attempt %d: %s", (long long)n->id, n->event,
			n->target, n->attempts, n->last_error);
	}
}

/* The due rows of target t, oldest first (a batch). */
static void send_due(struct jitd *d, const struct notify_config *t)
{
	struct due_rows rows = { NULL, 0 };
	size_t i;

	rows.v = calloc(NOTIFY_BATCH, sizeof(*rows.v));
	if (rows.v == NULL)
		return;
	ledger_notify_due(d->ledger, t->name, 0, ojit_now(), NOTIFY_BATCH, due_cb, &rows);
	for (i = 0; i < rows.n && !quitting(d); i++) {
		/* another okta-jitd sharing the ledger may send it; claims on
		 * notifications use negative ids, apart from the grants' */
		if (ledger_claim(d->ledger, -rows.v[i].id) != 1)
			continue;
		attempt(d, t, &rows.v[i]);
		ledger_unclaim(d->ledger, -rows.v[i].id);
	}
	free(rows.v);
}

/* Rows queued for a target this host does not have (a fleet member with
 * another config queued them): dropped with an audit line. */
static void drop_orphans(struct jitd *d)
{
	struct due_rows rows = { NULL, 0 };
	int64_t after = 0;
	size_t i;

	rows.v = calloc(NOTIFY_BATCH, sizeof(*rows.v));
	if (rows.v == NULL)
		return;
	do {
		rows.n = 0;
		if (ledger_notify_due(d->ledger, NULL, after, ojit_now(), NOTIFY_BATCH, due_cb, &rows) != LEDGER_OK)
			break;
		for (i = 0; i < rows.n && !quitting(d); i++) {
			after = rows.v[i].id;
			if (target_named(d, rows.v[i].target) != NULL || ledger_claim(d->ledger, -rows.v[i].id) != 1)
				continue;
			attempt(d, NULL, &rows.v[i]);
			ledger_unclaim(d->ledger, -rows.v[i].id);
		}
	} while (rows.n == NOTIFY_BATCH && !quitting(d));
	free(rows.v);
}

/* A target's sender: its own rows only, so whatever its receiver does
 * (hold each POST until the timeout, refuse, vanish) delays no other. */
static void *sender_thread(void *p)
{
	struct notify_sender *s = p;
	unsigned long seen;

	pthread_mutex_lock(&nlock);
	seen = ngen;
	pthread_mutex_unlock(&nlock);
	while (!quitting(s->d)) {
		send_due(s->d, s->t);
		wait_kick(s->d, &seen, 1);
	}
	return NULL;
}

/* The "expiring" scan, the pruning and the orphans: never behind a POST. */
static void *scan_thread_main(void *p)
{
	struct jitd *d = p;
	int64_t last_prune = 0, last_orphans = 0;
	unsigned long seen = 0;

	while (!quitting(d)) {
		if (ojit_now() - last_prune >= NOTIFY_PRUNE_EVERY_S) {
			int n = ledger_notify_prune(d->ledger, ojit_now() - NOTIFY_KEEP_S);

			if (n > 0)
				ojit_log(LOG_INFO, "deleted %d notifications sent or dropped over 7 days ago", n);
			last_prune = ojit_now();
		}
		scan_expiring(d);
		if (ojit_now() - last_orphans >= NOTIFY_ORPHANS_EVERY_S) {
			drop_orphans(d);
			last_orphans = ojit_now();
		}
		wait_kick(d, &seen, EXPIRING_SCAN_S);
	}
	return NULL;
}

int notify_start(struct jitd *d)
{
	size_t i;

	/* Gates change nothing and send nothing: the granters of the fleet
	 * tell what happened. */
	if (d->cfg->nnotify == 0 || d->cfg->role_gate)
		return 0;
	for (i = 0; i < d->cfg->nnotify; i++) {
		char secret[1024], err[512];

		/* say so now rather than at the first event */
		if (target_secret(&d->cfg->notify[i], secret, sizeof(secret), err, sizeof(err)) != 0)
			error_f("%s; its notifications will be retried and then dropped", err);
		OPENSSL_cleanse(secret, sizeof(secret));
	}
	senders = calloc(d->cfg->nnotify, sizeof(*senders));
	if (senders == NULL)
		return -1;
	nsenders = d->cfg->nnotify;
	for (i = 0; i < nsenders; i++) {
		senders[i].d = d;
		senders[i].t = &d->cfg->notify[i];
		if (pthread_create(&senders[i].thread, NULL, sender_thread, &senders[i]) != 0)
			goto fail;
		senders[i].started = 1;
	}
	if (pthread_create(&scan_thread, NULL, scan_thread_main, d) != 0)
		goto fail;
	scan_started = 1;
	return 0;
fail:
	notify_stop(d);
	return -1;
}

/* d->stopping is set: every thread ends within a second or at once (a
 * POST in progress is cut short). */
void notify_stop(struct jitd *d)
{
	size_t i;

	(void)d;
	pthread_mutex_lock(&nlock);
	nquit = 1;
	pthread_mutex_unlock(&nlock);
	kick();
	for (i = 0; i < nsenders; i++)
		if (senders[i].started)
			pthread_join(senders[i].thread, NULL);
	if (scan_started)
		pthread_join(scan_thread, NULL);
	scan_started = 0;
	free(senders);
	senders = NULL;
	nsenders = 0;
	nquit = 0;
}
