/* web_html.h - the one HTML escaper and the page frame of okta-jit-web.
 *
 * Every value that did not come from a literal in this program (a reason, a
 * user or group name, an error message from okta-jitd, a URL) reaches the
 * page through web_html_esc, so a reason such as "<script>" shows as text. */
#ifndef OJIT_WEB_HTML_H
#define OJIT_WEB_HTML_H

#include <stddef.h>

#include "util.h"

/* Append s to b with & < > " ' escaped; control characters other than tab
 * and newline become '?'. NULL appends nothing. 0, or -1 when b is full. */
int web_html_esc(struct ojit_buf *b, const char *s);
/* Append markup written in this program, unescaped. Callers use
 * ojit_buf_printf only for literals and numbers and web_html_esc for every
 * value, so the two read apart in review. */
int web_html_lit(struct ojit_buf *b, const char *literal);

/* The top of every page: doctype, viewport, the inline style (no
 * JavaScript, no external files), the title (escaped) and the navigation;
 * user is the signed-in login (NULL: none). */
int web_html_head(struct ojit_buf *b, const char *title, const char *user);
int web_html_foot(struct ojit_buf *b);

#endif
