/* proto.h - the okta-jitd socket protocol (docs/protocol.md).
 *
 * Shared by okta-jitd, okta-jit and pam_okta_jit.so, so it depends on libc
 * alone. A frame is a 12-byte header and a payload of TLV fields:
 *
 *   header: "OJIT" | version u8 | type u8 | reserved u16 (0) | length u32 BE
 *   field:  tag u8 | length u16 BE | value (bytes, no NUL)
 *
 * Every length is bounded; a frame that breaks any rule is refused whole. */
#ifndef OJIT_PROTO_H
#define OJIT_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_MAGIC "OJIT"
#define PROTO_VERSION 1
#define PROTO_HEADER_LEN 12
#define PROTO_MAX_PAYLOAD (1024 * 1024) /* replies with lists */
#define PROTO_MAX_REQUEST 16384         /* anything a client sends */
#define PROTO_MAX_FIELDS 8192
#define PROTO_MAX_VALUE 65535

enum proto_type {
	/* requests */
	PROTO_PING = 1,
	PROTO_CHECK = 2,
	PROTO_SESSION_OPEN = 3,
	PROTO_SESSION_CLOSE = 4,
	PROTO_REQUEST = 5,
	PROTO_APPROVE = 6,
	PROTO_DENY = 7,
	PROTO_REVOKE = 8,
	PROTO_EXTEND = 9,
	PROTO_LIST = 10,
	PROTO_STATUS = 11,
	PROTO_AUDIT = 12,
	PROTO_BREAKGLASS = 13, /* root only: a break-glass login passed (audit + notify) */
	PROTO_KEYS = 14,       /* root and [nss] keys_user only: a user's SSH keys from Okta */
	PROTO_FLOWS = 15,      /* the access flows the caller may request (issue 19) */
	PROTO_DRIFT = 16,      /* root only: members of the flows' Okta groups without a grant (issue 20) */
	PROTO_KEY_ROTATE = 17, /* root only: switch to [okta] next_private_key once Okta takes it (issue 21) */
	PROTO_METRICS = 18,    /* root only: the metrics in Prometheus' text format (issue 22) */
	PROTO_TYPE_MAX_REQUEST = 18,
	/* replies */
	PROTO_OK = 100,
	PROTO_ERROR = 101,
};

enum proto_tag {
	T_USER = 1,       /* local user name */
	T_GROUP = 2,      /* Okta group name (repeatable in CHECK) */
	T_SERVICE = 3,    /* PAM service */
	T_RHOST = 4,
	T_TTY = 5,
	T_PID = 6,
	T_DURATION = 7,   /* seconds, decimal */
	T_REASON = 8,
	T_ID = 9,         /* grant id, decimal */
	T_ALL = 10,       /* "1" */
	T_SINCE = 11,     /* epoch seconds */
	T_DECISION = 20,  /* "allow" | "deny" */
	T_CODE = 21,      /* machine-readable reason / error code */
	T_MESSAGE = 22,   /* text for the user */
	T_END = 23,       /* epoch seconds */
	T_STATE = 24,
	T_APPROVERS = 25,
	T_DETAILS = 26,   /* the integration's access_details */
	T_HINT = 27,      /* the command that gets access */
	T_SESSION = 28,   /* session id */
	T_RECORD = 29,    /* starts a record in a list reply (empty value) */
	T_START = 30,
	T_REQUESTER = 31,
	T_APPROVER = 32,
	T_EVENT = 33,
	T_AT = 34,
	T_DETAIL = 35,
	T_FLOW = 36,
	T_TIME_LEFT = 37,
	T_ACTOR = 38,
	T_MAX_DURATION = 39,
	T_REASON_REQUIRED = 40,
	T_KEY = 41,       /* one authorized_keys line (repeatable in a KEYS reply) */
	T_ID_TOKEN = 42,  /* the signed-in user's Okta ID token: every request on the web socket, no other */
	T_WEB_URL = 43,   /* CHECK refusal: the web page that requests the group ([web] url set) */
	T_CURSOR = 44,    /* LIST paging: where the next page starts (a grant id; docs/protocol.md) */
	T_LIMIT = 45,     /* LIST paging: records per page */
	T_REQUESTERS = 46, /* FLOWS: a requesters group of a flow the caller may not request (who to ask) */
	T_OKTA_ID = 47,   /* DRIFT: the member's Okta user id */
	T_LOGIN = 48,     /* DRIFT: the member's Okta login */
	T_ATTEMPTS = 49,  /* DRIFT: removals Okta refused so far */
	T_ACTION = 50,    /* DRIFT: the flow's drift setting, report | remove */
	T_KEY_ID = 51,     /* KEY_ROTATE reply: the kid now signing */
	T_OLD_KEY_ID = 52, /* KEY_ROTATE reply: the kid no longer used */
	T_TAG_MAX = 52,
};

struct proto_field {
	uint8_t tag;
	uint16_t len;
	const char *val; /* NUL-terminated copy inside the message buffer */
};

struct proto_msg {
	uint8_t type;
	size_t nfields;
	struct proto_field *fields; /* points into buf */
	char *buf;                  /* owned */
	size_t max_fields;
};

/* Building: a growable frame. */
struct proto_out {
	unsigned char *data;
	size_t len, cap;
	size_t nfields; /* fields added: a reader takes at most PROTO_MAX_FIELDS */
	int failed;
};

void proto_out_init(struct proto_out *o, uint8_t type);
void proto_out_add(struct proto_out *o, uint8_t tag, const char *val);
void proto_out_add_int(struct proto_out *o, uint8_t tag, long long v);
/* Finish the header; returns 0, or -1 if anything failed, or the payload
 * is over max_payload or over PROTO_MAX_FIELDS fields (what a reader takes). */
int proto_out_finish(struct proto_out *o, size_t max_payload);
void proto_out_free(struct proto_out *o);

/* Parse header + payload already in memory. Returns 0 or a negative
 * PROTO_E* code. */
enum {
	PROTO_EOF = -1,      /* peer closed before a frame */
	PROTO_EBADMAGIC = -2,
	PROTO_EVERSION = -3,
	PROTO_ETOOBIG = -4,
	PROTO_ETRUNC = -5,
	PROTO_EFIELD = -6,   /* malformed field, NUL byte, unknown tag */
	PROTO_EIO = -7,
	PROTO_ETIMEOUT = -8,
	PROTO_ENOMEM = -9,
	PROTO_ETYPE = -10,
};
int proto_parse_header(const unsigned char hdr[PROTO_HEADER_LEN], uint8_t *type, uint32_t *len,
		       size_t max_payload);
int proto_parse_payload(struct proto_msg *m, uint8_t type, const unsigned char *p, size_t len);

/* Read one whole frame from fd within timeout_ms (-1: no limit). */
int proto_read(int fd, struct proto_msg *m, size_t max_payload, int timeout_ms);
/* Write a whole frame within timeout_ms. Returns 0 or a PROTO_E* code. */
int proto_write(int fd, const struct proto_out *o, int timeout_ms);
void proto_msg_free(struct proto_msg *m);

/* First value of tag (NULL if absent); count of tag. */
const char *proto_get(const struct proto_msg *m, uint8_t tag);
size_t proto_count(const struct proto_msg *m, uint8_t tag);
const char *proto_strerror(int code);

/* Connect to the daemon's socket within timeout_ms. Before trusting the
 * other end: the socket file must be a socket owned by owner_uid, and the
 * peer's kernel-checked credentials (SO_PEERCRED) must be owner_uid.
 * Returns an O_CLOEXEC fd above 2, or -1 with err filled. */
int proto_connect(const char *path, unsigned owner_uid, int timeout_ms, char *err, size_t errlen);
/* Send req, shut the writing side (one request per connection) and read
 * the reply. */
int proto_call(int fd, const struct proto_out *req, struct proto_msg *reply, size_t max_payload,
	       int timeout_ms);

#endif
