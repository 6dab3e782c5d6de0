/* okta_errors.c - what went wrong with a call to Okta: error kinds and
 * their text, Okta's error bodies and WWW-Authenticate challenges with
 * the hint that fixes them, and the JSON readers every answer goes
 * through. Split out of okta_api.c (issue 16). */
#include "okta_errors.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void okta_err_set(struct okta_error *e, enum okta_err_kind kind, long status, const char *fmt, ...)
{
	va_list ap;

	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->status = status;
	va_start(ap, fmt);
	vsnprintf(e->summary, sizeof(e->summary), fmt, ap);
	va_end(ap);
	ojit_strip_controls(e->summary);
}

const char *okta_err_kind_name(enum okta_err_kind k)
{
	static const char *const names[] = {
		"ok", "network", "tls", "timeout", "token", "unauthorized", "forbidden",
		"scope", "not_found", "rate_limit", "server", "bad_response", "refused",
		"ambiguous", "http", "dpop", "internal",
	};

	if ((size_t)k < sizeof(names) / sizeof(names[0]))
		return names[k];
	return "unknown";
}

void okta_error_format(const struct okta_error *e, char *buf, size_t n)
{
	char extra[256] = "";
	size_t off = 0;

	if (e->status > 0)
		off += (size_t)snprintf(extra + off, sizeof(extra) - off, "HTTP %ld", e->status);
	if (e->code[0] != '\0' && off < sizeof(extra))
		off += (size_t)snprintf(extra + off, sizeof(extra) - off, "%s%s", off ? ", " : "", e->code);
	if (e->id[0] != '\0' && off < sizeof(extra))
		snprintf(extra + off, sizeof(extra) - off, "%serrorId %s", off ? ", " : "", e->id);
	if (extra[0] != '\0')
		snprintf(buf, n, "%s (%s)", e->summary, extra);
	else
		snprintf(buf, n, "%s", e->summary);
}

int okta_valid_id(const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > OKTA_ID_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]))
			return 0;
	return 1;
}

int okta_valid_request_id(const char *s)
{
	size_t i, len = strnlen(s, OKTA_REQUEST_ID_MAX + 1);

	if (len == 0 || len > OKTA_REQUEST_ID_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		char ch = s[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' ||
		      ch == '_' || ch == '~' || ch == '-'))
			return 0;
	}
	return 1;
}

int okta_valid_user_status(const char *s)
{
	static const char *const st[] = { "ACTIVE", "DEPROVISIONED", "LOCKED_OUT", "PASSWORD_EXPIRED",
					  "PROVISIONED", "RECOVERY", "STAGED", "SUSPENDED",
					  "ACTIVATING", NULL };
	size_t i;

	for (i = 0; st[i] != NULL; i++)
		if (strcmp(s, st[i]) == 0)
			return 1;
	return 0;
}

/* Does JSON text hold a NUL inside a string, raw or as the escape
 * \u0000? cJSON's strings end at the first NUL, so "web-sudo\u0000x" would
 * read as "web-sudo" and "alice@example.com\u0000x" as alice's login. */
int okta_json_has_nul(const char *p, size_t len)
{
	int in_str = 0;
	size_t i;

	if (memchr(p, '\0', len) != NULL)
		return 1;
	for (i = 0; i < len; i++) {
		if (!in_str) {
			in_str = p[i] == '"';
			continue;
		}
		if (p[i] == '"') {
			in_str = 0;
			continue;
		}
		if (p[i] != '\\' || ++i >= len)
			continue;
		if (p[i] == 'u' && len - i > 4 && memcmp(p + i + 1, "0000", 4) == 0)
			return 1;
	}
	return 0;
}

/* Parse an answer from Okta; NULL when it is not JSON or holds a NUL in
 * a string (refused whole: no field of it is trusted). */
cJSON *okta_json_parse(const char *p, size_t len)
{
	if (p == NULL || okta_json_has_nul(p, len))
		return NULL;
	return cJSON_ParseWithLength(p, len);
}

/* Copy a JSON string member into dst if it is a string that fits and has no
 * control characters; return 0 on success. */
int okta_json_str(const cJSON *obj, const char *name, char *dst, size_t n)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
	const unsigned char *p;

	if (!cJSON_IsString(it) || it->valuestring == NULL)
		return -1;
	if (strlen(it->valuestring) >= n)
		return -1;
	for (p = (const unsigned char *)it->valuestring; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return -1;
	memcpy(dst, it->valuestring, strlen(it->valuestring) + 1);
	return 0;
}

/* Like okta_json_str but lossy: truncates and strips; for error texts. */
void okta_json_text(const cJSON *obj, const char *name, char *dst, size_t n)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!cJSON_IsString(it) || it->valuestring == NULL)
		return;
	ojit_strlcpy(dst, it->valuestring, n);
	ojit_strip_controls(dst);
}

/* Find key="value" (or key=value) in a WWW-Authenticate header. */
static int www_auth_param(const char *h, const char *key, char *out, size_t n)
{
	size_t klen = strlen(key);
	const char *p = h;

	while ((p = strstr(p, key)) != NULL) {
		if ((p == h || p[-1] == ' ' || p[-1] == ',') && p[klen] == '=') {
			const char *v = p + klen + 1;
			size_t len;

			if (*v == '"') {
				const char *end = strchr(++v, '"');

				if (end == NULL)
					return -1;
				len = (size_t)(end - v);
			} else {
				len = strcspn(v, ", ");
			}
			if (len >= n)
				len = n - 1;
			memcpy(out, v, len);
			out[len] = '\0';
			ojit_strip_controls(out);
			return 0;
		}
		p += klen;
	}
	return -1;
}

static void set_hint(struct okta_error *e, int token_endpoint)
{
	const char *h = NULL;

	if (token_endpoint) {
		if (strcmp(e->code, "invalid_client") == 0)
			h = "Okta did not accept the client credentials: check that [okta] client_id is the app's Client ID "
			    "(General tab > Client Credentials), that client authentication is 'Public key / Private key', "
			    "that the public key of [okta] private_key is listed under PUBLIC KEYS, and that [okta] key_id is its KID";
		else if (strcmp(e->code, "invalid_scope") == 0)
			h = "grant okta.groups.manage and okta.users.read to the app on its Okta API Scopes tab";
		else if (strcmp(e->code, "invalid_dpop_proof") == 0 || strcmp(e->code, "use_dpop_nonce") == 0)
			h = "the app requires DPoP: set [okta] dpop = auto (or on), or uncheck 'Require Demonstrating "
			    "Proof of Possession (DPoP) header in token requests' in the app's General Settings";
		else if (strcmp(e->code, "unauthorized_client") == 0)
			h = "allow the Client Credentials grant for the app (General tab > General Settings > Grant type)";
		else if (strcmp(e->code, "access_denied") == 0)
			h = "Okta refused this network location: check the app's network zone restrictions";
	} else if (e->kind == OKTA_ERR_SCOPE) {
		h = "the access token lacks a scope this call needs: grant okta.groups.manage and okta.users.read on the app's "
		    "Okta API Scopes tab";
	} else if (e->kind == OKTA_ERR_FORBIDDEN) {
		h = "the app's admin role does not allow this: assign it the Organization Administrator role (Admin roles tab), "
		    "or Super Admin for groups that hold admin roles";
	} else if (e->kind == OKTA_ERR_RATE_LIMIT) {
		h = "Okta's rate limit was reached: raise the app's rate limit share (Application rate limits tab) or lower the load";
	}
	if (h != NULL)
		ojit_strlcpy(e->hint, h, sizeof(e->hint));
}

void okta_error_from_response(struct okta_error *e, long status, const char *body, size_t len,
			      const char *www_authenticate, int token_endpoint)
{
	cJSON *j = NULL;
	char werr[64] = "", wdesc[256] = "";

	memset(e, 0, sizeof(*e));
	e->status = status;
	if (status == 429)
		e->kind = OKTA_ERR_RATE_LIMIT;
	else if (status >= 500)
		e->kind = OKTA_ERR_SERVER;
	else if (status == 404)
		e->kind = OKTA_ERR_NOT_FOUND;
	else if (status == 403)
		e->kind = OKTA_ERR_FORBIDDEN;
	else if (status == 401)
		e->kind = token_endpoint ? OKTA_ERR_TOKEN : OKTA_ERR_UNAUTHORIZED;
	else
		e->kind = token_endpoint ? OKTA_ERR_TOKEN : OKTA_ERR_HTTP;

	if (body != NULL && len > 0)
		j = cJSON_ParseWithLength(body, len); /* (texts only: a NUL just ends one early) */
	if (cJSON_IsObject(j)) {
		okta_json_text(j, "errorCode", e->code, sizeof(e->code));
		okta_json_text(j, "errorSummary", e->summary, sizeof(e->summary));
		okta_json_text(j, "errorId", e->id, sizeof(e->id));
		if (e->code[0] == '\0') {
			okta_json_text(j, "error", e->code, sizeof(e->code));
			okta_json_text(j, "error_description", e->summary, sizeof(e->summary));
		}
		/* errorCauses carry the detail of validation errors. */
		const cJSON *causes = cJSON_GetObjectItemCaseSensitive(j, "errorCauses");
		const cJSON *c0 = cJSON_IsArray(causes) ? cJSON_GetArrayItem(causes, 0) : NULL;
		char cause[200] = "";

		if (cJSON_IsObject(c0))
			okta_json_text(c0, "errorSummary", cause, sizeof(cause));
		if (cause[0] != '\0') {
			size_t off = strlen(e->summary);

			snprintf(e->summary + off, sizeof(e->summary) - off, ": %s", cause);
		}
	}
	cJSON_Delete(j);
	if (www_authenticate != NULL && www_authenticate[0] != '\0' &&
	    www_auth_param(www_authenticate, "error", werr, sizeof(werr)) == 0) {
		www_auth_param(www_authenticate, "error_description", wdesc, sizeof(wdesc));
		if (e->code[0] == '\0')
			ojit_strlcpy(e->code, werr, sizeof(e->code));
		if (e->summary[0] == '\0')
			ojit_strlcpy(e->summary, wdesc[0] ? wdesc : werr, sizeof(e->summary));
		if (strcmp(werr, "insufficient_scope") == 0) {
			char scope[128] = "";

			e->kind = OKTA_ERR_SCOPE;
			if (www_auth_param(www_authenticate, "scope", scope, sizeof(scope)) == 0) {
				size_t off = strlen(e->summary);

				snprintf(e->summary + off, sizeof(e->summary) - off, " (needs %s)", scope);
			}
		} else if (strcmp(werr, "invalid_dpop_proof") == 0 || strcmp(werr, "use_dpop_nonce") == 0) {
			e->kind = OKTA_ERR_DPOP;
		}
	}
	if (strcmp(e->code, "invalid_dpop_proof") == 0 || strcmp(e->code, "use_dpop_nonce") == 0)
		e->kind = OKTA_ERR_DPOP;
	if (e->summary[0] == '\0')
		snprintf(e->summary, sizeof(e->summary), "Okta answered HTTP %ld", status);
	ojit_strip_controls(e->summary);
	set_hint(e, token_endpoint);
}
