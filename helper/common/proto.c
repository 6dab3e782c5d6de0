/* proto.c - framing for the okta-jitd socket. libc only: this file is
 * linked into pam_okta_jit.so, which runs inside sshd and sudo. */
#include "proto.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void put_u16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint16_t get_u16(const unsigned char *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get_u32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static int out_reserve(struct proto_out *o, size_t need)
{
	unsigned char *n;
	size_t ncap;

	if (o->failed)
		return -1;
	if (need <= o->cap)
		return 0;
	if (need > PROTO_HEADER_LEN + PROTO_MAX_PAYLOAD) {
		o->failed = 1;
		return -1;
	}
	ncap = o->cap ? o->cap : 256;
	while (ncap < need)
		ncap *= 2;
	n = realloc(o->data, ncap);
	if (n == NULL) {
		o->failed = 1;
		return -1;
	}
	o->data = n;
	o->cap = ncap;
	return 0;
}

void proto_out_init(struct proto_out *o, uint8_t type)
{
	memset(o, 0, sizeof(*o));
	if (out_reserve(o, PROTO_HEADER_LEN) != 0)
		return;
	memcpy(o->data, PROTO_MAGIC, 4);
	o->data[4] = PROTO_VERSION;
	o->data[5] = type;
	o->data[6] = 0;
	o->data[7] = 0;
	put_u32(o->data + 8, 0);
	o->len = PROTO_HEADER_LEN;
}

void proto_out_add(struct proto_out *o, uint8_t tag, const char *val)
{
	size_t len;

	if (val == NULL)
		val = "";
	len = strlen(val);
	if (len > PROTO_MAX_VALUE) {
		o->failed = 1;
		return;
	}
	if (out_reserve(o, o->len + 3 + len) != 0)
		return;
	o->data[o->len] = tag;
	put_u16(o->data + o->len + 1, (uint16_t)len);
	memcpy(o->data + o->len + 3, val, len);
	o->len += 3 + len;
	o->nfields++;
}

void proto_out_add_int(struct proto_out *o, uint8_t tag, long long v)
{
	char buf[32];
	char *p = buf + sizeof(buf) - 1;
	unsigned long long u = v < 0 ? (unsigned long long)(-(v + 1)) + 1 : (unsigned long long)v;

	/* no snprintf: keep this file's footprint tiny and locale-free */
	*p = '\0';
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	proto_out_add(o, tag, p);
}

int proto_out_finish(struct proto_out *o, size_t max_payload)
{
	/* more fields than proto_parse_payload takes would reach the peer
	 * as a malformed message: refused here, where the writer can still
	 * answer something else (okta-jitd: ERROR too_big) */
	if (o->failed || o->data == NULL || o->len - PROTO_HEADER_LEN > max_payload || o->nfields > PROTO_MAX_FIELDS)
		return -1;
	put_u32(o->data + 8, (uint32_t)(o->len - PROTO_HEADER_LEN));
	return 0;
}

void proto_out_free(struct proto_out *o)
{
	free(o->data);
	memset(o, 0, sizeof(*o));
}

int proto_parse_header(const unsigned char hdr[PROTO_HEADER_LEN], uint8_t *type, uint32_t *len,
		       size_t max_payload)
{
	if (memcmp(hdr, PROTO_MAGIC, 4) != 0)
		return PROTO_EBADMAGIC;
	if (hdr[4] != PROTO_VERSION)
		return PROTO_EVERSION;
	if (hdr[6] != 0 || hdr[7] != 0)
		return PROTO_EBADMAGIC;
	*type = hdr[5];
	*len = get_u32(hdr + 8);
	if (*len > max_payload)
		return PROTO_ETOOBIG;
	return 0;
}

int proto_parse_payload(struct proto_msg *m, uint8_t type, const unsigned char *p, size_t len)
{
	size_t off = 0, n = 0, cap = 0, bufoff = 0;
	struct proto_field *fields = NULL;
	char *buf = NULL;

	memset(m, 0, sizeof(*m));
	/* Worst case every field is empty: len/3 fields, each value + NUL. */
	buf = malloc(len + len / 3 + 1);
	if (buf == NULL)
		return PROTO_ENOMEM;
	while (off < len) {
		uint8_t tag;
		uint16_t flen;

		if (len - off < 3)
			goto bad;
		tag = p[off];
		flen = get_u16(p + off + 1);
		off += 3;
		if (tag == 0 || tag > T_TAG_MAX || flen > len - off)
			goto bad;
		if (memchr(p + off, '\0', flen) != NULL)
			goto bad;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct proto_field *nf;

			if (ncap > PROTO_MAX_FIELDS)
				ncap = PROTO_MAX_FIELDS;
			if (n >= ncap)
				goto bad;
			nf = realloc(fields, ncap * sizeof(*nf));
			if (nf == NULL) {
				free(fields);
				free(buf);
				return PROTO_ENOMEM;
			}
			fields = nf;
			cap = ncap;
		}
		memcpy(buf + bufoff, p + off, flen);
		buf[bufoff + flen] = '\0';
		fields[n].tag = tag;
		fields[n].len = flen;
		fields[n].val = buf + bufoff;
		bufoff += (size_t)flen + 1;
		off += flen;
		n++;
	}
	m->type = type;
	m->nfields = n;
	m->fields = fields;
	m->buf = buf;
	return 0;
bad:
	free(fields);
	free(buf);
	return PROTO_EFIELD;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd;
	int r, left;

	for (;;) {
		if (deadline < 0) {
			left = -1;
		} else {
			int64_t l = deadline - mono_ms();

			if (l <= 0)
				return PROTO_ETIMEOUT;
			left = (int)l;
		}
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, left);
		if (r > 0)
			return 0;
		if (r == 0)
			return PROTO_ETIMEOUT;
		if (errno != EINTR)
			return PROTO_EIO;
	}
}

static int read_full(int fd, unsigned char *p, size_t len, int64_t deadline, int first)
{
	size_t got = 0;

	/* Read first and wait only when nothing is there: a request or an
	 * answer has usually arrived by the time we read, and a poll per read
	 * is a system call on every login. The deadline still bounds it: each
	 * wait gets only the time left. */
	while (got < len) {
		ssize_t r = recv(fd, p + got, len - got, MSG_DONTWAIT);

		if (r == 0)
			return (first && got == 0) ? PROTO_EOF : PROTO_ETRUNC;
		if (r < 0) {
			int w;

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return PROTO_EIO;
			w = wait_fd(fd, POLLIN, deadline);
			if (w != 0)
				return w;
			continue;
		}
		got += (size_t)r;
	}
	return 0;
}

int proto_read(int fd, struct proto_msg *m, size_t max_payload, int timeout_ms)
{
	unsigned char hdr[PROTO_HEADER_LEN];
	unsigned char *payload = NULL;
	int64_t deadline = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
	uint8_t type;
	uint32_t len;
	int r;

	memset(m, 0, sizeof(*m));
	r = read_full(fd, hdr, sizeof(hdr), deadline, 1);
	if (r != 0)
		return r;
	r = proto_parse_header(hdr, &type, &len, max_payload);
	if (r != 0)
		return r;
	payload = malloc(len ? len : 1);
	if (payload == NULL)
		return PROTO_ENOMEM;
	r = read_full(fd, payload, len, deadline, 0);
	if (r == 0)
		r = proto_parse_payload(m, type, payload, len);
	free(payload);
	return r;
}

int proto_write(int fd, const struct proto_out *o, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
	size_t sent = 0;

	if (o->failed || o->data == NULL)
		return PROTO_EFIELD;
	while (sent < o->len) {
		ssize_t r = send(fd, o->data + sent, o->len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (r < 0) {
			int w;

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return PROTO_EIO;
			w = wait_fd(fd, POLLOUT, deadline); /* full: wait for room, within the deadline */
			if (w != 0)
				return w;
			continue;
		}
		sent += (size_t)r;
	}
	return 0;
}

void proto_msg_free(struct proto_msg *m)
{
	free(m->fields);
	free(m->buf);
	memset(m, 0, sizeof(*m));
}

const char *proto_get(const struct proto_msg *m, uint8_t tag)
{
	size_t i;

	for (i = 0; i < m->nfields; i++)
		if (m->fields[i].tag == tag)
			return m->fields[i].val;
	return NULL;
}

size_t proto_count(const struct proto_msg *m, uint8_t tag)
{
	size_t i, n = 0;

	for (i = 0; i < m->nfields; i++)
		if (m->fields[i].tag == tag)
			n++;
	return n;
}

const char *proto_strerror(int code)
{
	switch (code) {
	case 0:
		return "ok";
	case PROTO_EOF:
		return "connection closed";
	case PROTO_EBADMAGIC:
		return "not an okta-jit frame";
	case PROTO_EVERSION:
		return "unsupported protocol version";
	case PROTO_ETOOBIG:
		return "frame too large";
	case PROTO_ETRUNC:
		return "truncated frame";
	case PROTO_EFIELD:
		return "malformed field";
	case PROTO_EIO:
		return "socket error";
	case PROTO_ETIMEOUT:
		return "timed out";
	case PROTO_ENOMEM:
		return "out of memory";
	case PROTO_ETYPE:
		return "unknown message type";
	default:
		return "unknown error";
	}
}

static void set_err(char *err, size_t n, const char *a, const char *b)
{
	if (err == NULL || n == 0)
		return;
	snprintf(err, n, "%s%s%s", a, b ? ": " : "", b ? b : "");
}

int proto_connect(const char *path, unsigned owner_uid, int timeout_ms, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct stat st;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int fd = -1, flags, soerr = 0;
	socklen_t slen = sizeof(soerr);
	int64_t deadline = mono_ms() + timeout_ms;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		set_err(err, errlen, "socket path too long", NULL);
		return -1;
	}
	if (lstat(path, &st) != 0) {
		set_err(err, errlen, "okta-jitd is not running (no socket)", strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode) || st.st_uid != owner_uid) {
		set_err(err, errlen, "refusing to talk to the socket: it is not a socket owned by root", path);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		set_err(err, errlen, "socket", strerror(errno));
		return -1;
	}
	/* Inside sshd or sudo fds 0-2 may be closed: never hand one out. */
	if (fd <= 2) {
		int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);

		close(fd);
		if (nfd < 0) {
			set_err(err, errlen, "fcntl", strerror(errno));
			return -1;
		}
		fd = nfd;
	}
	/* A Unix socket whose listen backlog is full answers EAGAIN (the
	 * connection is not in progress): the daemon is busy, so try again
	 * until the deadline. */
	for (;;) {
		struct timespec ts = { 0, 5 * 1000 * 1000 };

		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		if (errno == EAGAIN) {
			if (mono_ms() >= deadline) {
				set_err(err, errlen, "cannot connect to okta-jitd", "busy (timed out)");
				goto fail;
			}
			nanosleep(&ts, NULL);
			continue;
		}
		if (errno != EINPROGRESS) {
			set_err(err, errlen, "cannot connect to okta-jitd", strerror(errno));
			goto fail;
		}
		if (wait_fd(fd, POLLOUT, deadline) != 0 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) != 0 || soerr != 0) {
			set_err(err, errlen, "cannot connect to okta-jitd", soerr ? strerror(soerr) : "timed out");
			goto fail;
		}
		break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 || clen != sizeof(cred) ||
	    cred.uid != owner_uid) {
		set_err(err, errlen, "refusing to trust the socket: the peer is not root", NULL);
		goto fail;
	}
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
		set_err(err, errlen, "fcntl", strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

int proto_call(int fd, const struct proto_out *req, struct proto_msg *reply, size_t max_payload,
	       int timeout_ms)
{
	int64_t start = mono_ms();
	int r = proto_write(fd, req, timeout_ms);
	int left;

	if (r != 0)
		return r;
	/* One request per connection: say so, and okta-jitd's wait for a
	 * next request ends at once instead of on our close. */
	shutdown(fd, SHUT_WR);
	left = timeout_ms < 0 ? -1 : (int)(timeout_ms - (mono_ms() - start));
	if (timeout_ms >= 0 && left <= 0)
		return PROTO_ETIMEOUT;
	r = proto_read(fd, reply, max_payload, left);
	if (r == 0 && reply->type != PROTO_OK && reply->type != PROTO_ERROR) {
		proto_msg_free(reply);
		return PROTO_ETYPE;
	}
	return r;
}
