/* fuzz_okta_error.c - libFuzzer harness for okta_error_from_response.
 *
 * Input: byte 0 picks the HTTP status and whether the token endpoint
 * answered; then the WWW-Authenticate value up to the first NUL byte; the
 * rest is the response body (any bytes, NULs included). Every text field of
 * the result must come back NUL-terminated inside its array. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "okta_api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const long statuses[] = { 200, 400, 401, 403, 404, 405, 409, 429, 500, 502, 503, 504,
				 0, -1, 999, 100 };

static void check_str(const char *s, size_t n)
{
	if (memchr(s, '\0', n) == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct okta_error e;
	const uint8_t *nul;
	char *www = NULL, *body = NULL;
	size_t wlen, blen;
	char formatted[2048];

	if (size < 1)
		return 0;
	nul = memchr(data + 1, '\0', size - 1);
	wlen = nul ? (size_t)(nul - (data + 1)) : size - 1;
	blen = nul ? size - 1 - wlen - 1 : 0;
	www = malloc(wlen + 1);
	/* An exact-size copy: a read past the body is an ASan report. */
	body = malloc(blen ? blen : 1);
	if (www == NULL || body == NULL)
		abort();
	memcpy(www, data + 1, wlen);
	www[wlen] = '\0';
	if (blen)
		memcpy(body, nul + 1, blen);
	okta_error_from_response(&e, statuses[data[0] & 15], blen ? body : NULL, blen,
				 (data[0] & 32) ? NULL : www, (data[0] & 16) != 0);
	check_str(e.code, sizeof(e.code));
	check_str(e.summary, sizeof(e.summary));
	check_str(e.id, sizeof(e.id));
	check_str(e.hint, sizeof(e.hint));
	if (okta_err_kind_name(e.kind) == NULL)
		abort();
	okta_error_format(&e, formatted, sizeof(formatted));
	check_str(formatted, sizeof(formatted));
	okta_error_format(&e, formatted, 7);
	free(body);
	free(www);
	return 0;
}
