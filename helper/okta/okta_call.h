/* okta_call.h - one call to Okta's API with retries, and paging;
 * private to helper/okta/. */
#ifndef OJIT_OKTA_CALL_H
#define OJIT_OKTA_CALL_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "okta_api.h"

/* One API call with retries. The 2xx answer's body is parsed into *out
 * (when out is not NULL); *next receives the rel="next" link (validated
 * to stay on the org) when the caller wants paging. */
int okta_call(struct okta_client *c, const char *method, const char *url, cJSON **out, char *next, size_t next_n,
	      struct okta_error *err);

typedef int (*okta_item_fn)(const cJSON *item, void *ctx, struct okta_error *err);
/* GET url and every next page; call fn for each array element. */
int okta_paged_get(struct okta_client *c, const char *url, okta_item_fn fn, void *ctx, struct okta_error *err);

#endif
