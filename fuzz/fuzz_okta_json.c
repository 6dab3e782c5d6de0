/* fuzz_okta_json.c - libFuzzer harness for the parsers of Okta's user,
 * group and owner objects (okta_parse_*_json over parse_user, parse_group,
 * parse_owner) and of the [nss] profile attributes. Byte 0 picks the parser; the rest is the JSON text. What
 * is accepted must satisfy the checks callers rely on: a valid id, no
 * control characters, NUL-terminated fields. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "okta_api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *s, size_t n, int may_be_empty)
{
	const unsigned char *p;

	if (memchr(s, '\0', n) == NULL || (!may_be_empty && s[0] == '\0'))
		abort();
	for (p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct okta_error err;
	char *json;
	size_t len;

	if (size < 1)
		return 0;
	len = size - 1;
	/* An exact-size copy, not NUL-terminated: cJSON must keep to len. */
	json = malloc(len ? len : 1);
	if (json == NULL)
		abort();
	memcpy(json, data + 1, len);
	memset(&err, 0, sizeof(err));
	switch (data[0] % 4) {
	case 0: {
		struct okta_user u;

		if (okta_parse_user_json(json, len, &u, &err) == 0) {
			if (!okta_valid_id(u.id) || !okta_valid_user_status(u.status))
				abort();
			check_text(u.login, sizeof(u.login), 0);
			check_text(u.status, sizeof(u.status), 0);
		}
		break;
	}
	case 1: {
		struct okta_group g;

		if (okta_parse_group_json(json, len, &g, &err) == 0) {
			if (!okta_valid_id(g.id))
				abort();
			check_text(g.name, sizeof(g.name), 0);
			check_text(g.type, sizeof(g.type), 1);
		}
		break;
	}
	case 3: {
		/* the [nss] profile attributes (issue 18): bounded, no control
		 * character or ':' in the GECOS, no line break in a key */
		static char keybuf[OKTA_PROFILE_KEYS_LEN + OKTA_PROFILE_KEYS_MAX];
		struct okta_profile_attrs a = { "uid", NULL, "keys" };
		struct okta_profile pr;
		size_t i, total = 0;

		if (okta_parse_profile_json(json, len, &a, &pr, keybuf, sizeof(keybuf)) == 0) {
			check_text(pr.gecos, sizeof(pr.gecos), 1);
			check_text(pr.uid, sizeof(pr.uid), 1);
			if (strchr(pr.gecos, ':') != NULL || pr.nkeys > OKTA_PROFILE_KEYS_MAX ||
			    (pr.keys_err[0] != '\0' && pr.nkeys != 0))
				abort();
			for (i = 0; i < pr.nkeys; i++) {
				if (pr.key_len[i] == 0 || pr.key_len[i] > OKTA_PROFILE_KEY_LEN ||
				    memchr(pr.keys[i], '\n', pr.key_len[i]) != NULL)
					abort();
				total += pr.key_len[i];
			}
			if (total > OKTA_PROFILE_KEYS_LEN)
				abort();
		}
		break;
	}
	default: {
		struct okta_owner w;

		if (okta_parse_owner_json(json, len, &w, &err) == 0) {
			if (!okta_valid_id(w.id) || (strcmp(w.type, "USER") != 0 && strcmp(w.type, "GROUP") != 0))
				abort();
			check_text(w.name, sizeof(w.name), 1);
		}
		break;
	}
	}
	free(json);
	return 0;
}
