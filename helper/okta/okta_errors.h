/* okta_errors.h - building a struct okta_error and reading Okta's JSON
 * safely; private to helper/okta/. */
#ifndef OJIT_OKTA_ERRORS_H
#define OJIT_OKTA_ERRORS_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "okta_api.h"

void okta_err_set(struct okta_error *e, enum okta_err_kind kind, long status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Does JSON text hold a NUL inside a string, raw or as \u0000? */
int okta_json_has_nul(const char *p, size_t len);
/* Parse an answer from Okta; NULL when it is not JSON or holds a NUL in
 * a string (refused whole: no field of it is trusted). */
cJSON *okta_json_parse(const char *p, size_t len);
/* Copy a JSON string member into dst if it is a string that fits and has
 * no control characters; 0 on success. */
int okta_json_str(const cJSON *obj, const char *name, char *dst, size_t n);
/* Like okta_json_str but lossy: truncates and strips; for error texts. */
void okta_json_text(const cJSON *obj, const char *name, char *dst, size_t n);

#endif
