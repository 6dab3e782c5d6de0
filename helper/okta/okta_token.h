/* okta_token.h - DPoP helpers the API calls share with the token
 * requests; private to helper/okta/ (tokens: okta_api.h). */
#ifndef OJIT_OKTA_TOKEN_H
#define OJIT_OKTA_TOKEN_H

#include <stddef.h>

/* htu: scheme, host and path, percent-decoded (as Okta compares it), no
 * query or fragment. */
int okta_dpop_htu(const char *url, char *out, size_t n);

#endif
