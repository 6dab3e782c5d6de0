/* web_jitd.c - one request to okta-jitd per connection. */
#include "web_jitd.h"

#include <string.h>
#include <unistd.h>

#include "util.h"

/* REQUEST and APPROVE may wait on Okta; okta-jitd's own Okta timeouts
 * are shorter than this. */
#define WEB_JITD_TIMEOUT_MS 60000

int web_jitd_call(const char *socket, const char *id_token, struct proto_out *req, struct proto_msg *reply,
		  char *err, size_t errlen)
{
	int fd = -1, r, rc = -1;

	memset(reply, 0, sizeof(*reply));
	proto_out_add(req, T_ID_TOKEN, id_token);
	if (proto_out_finish(req, PROTO_MAX_REQUEST) != 0) {
		ojit_snprintf(err, errlen, "request too large");
		goto out;
	}
	fd = proto_connect(socket, 0, 5000, err, errlen);
	if (fd < 0)
		goto out;
	r = proto_call(fd, req, reply, PROTO_MAX_PAYLOAD, WEB_JITD_TIMEOUT_MS);
	if (r != 0) {
		ojit_snprintf(err, errlen, "okta-jitd: %s", proto_strerror(r));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	/* The frame holds the ID token. */
	if (req->data != NULL)
		ojit_wipe(req->data, req->cap);
	return rc;
}
