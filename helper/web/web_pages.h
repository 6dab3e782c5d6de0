/* web_pages.h - the pages of okta-jit-web. Each builds one response from
 * okta-jitd's answers; nothing here reads the network or a header. */
#ifndef OJIT_WEB_PAGES_H
#define OJIT_WEB_PAGES_H

#include <stdint.h>

#include "util.h"
#include "web_config.h"
#include "web_http.h"
#include "web_session.h"

struct web_ctx {
	const struct web_config *cfg;
	const struct web_session_view *sess; /* signed in: never NULL here */
	const char *client_ip;
};

struct web_resp {
	unsigned status;
	struct ojit_buf body;
	char location[1024]; /* a redirect when set */
	char cookies[2][512];
	size_t ncookies;
};

void web_resp_init(struct web_resp *r);
void web_resp_free(struct web_resp *r);

/* A plain page with a title and one escaped message. */
void web_page_message(struct web_resp *r, unsigned status, const char *title, const char *user,
		      const char *msg);

void web_page_home(const struct web_ctx *c, struct web_resp *r, int all);
void web_page_request_form(const struct web_ctx *c, struct web_resp *r, const char *group);
void web_page_request_post(const struct web_ctx *c, struct web_resp *r, const struct web_form *f);
void web_page_approvals(const struct web_ctx *c, struct web_resp *r);
void web_page_grant(const struct web_ctx *c, struct web_resp *r, int64_t id);
/* action: approve, deny, revoke, cancel, extend. */
void web_page_grant_action(const struct web_ctx *c, struct web_resp *r, int64_t id, const char *action,
			   const struct web_form *f);
void web_page_signout_form(const struct web_ctx *c, struct web_resp *r);

#endif
