/* sshkey.c - one authorized_keys line checked and normalised (sshkey.h).
 * The blob is parsed as sshd parses it (RFC 4253 6.6, RFC 5656 3.1,
 * OpenSSH PROTOCOL.u2f): a key whose blob does not match its type is one
 * sshd would read as something else, or refuse after we printed it. */
#include "sshkey.h"

#include <stdint.h>
#include <string.h>

#include "util.h"

enum key_kind { K_ED25519, K_RSA, K_ECDSA, K_SK_ED25519, K_SK_ECDSA };

struct key_type {
	const char *name;
	enum key_kind kind;
	const char *curve; /* ECDSA: the curve name inside the blob */
	size_t point_len;  /* ECDSA: an uncompressed point; Ed25519: the key */
};

static const struct key_type key_types[] = {
	{ "ssh-ed25519", K_ED25519, NULL, 32 },
	{ "ssh-rsa", K_RSA, NULL, 0 },
	{ "ecdsa-sha2-nistp256", K_ECDSA, "nistp256", 65 },
	{ "ecdsa-sha2-nistp384", K_ECDSA, "nistp384", 97 },
	{ "ecdsa-sha2-nistp521", K_ECDSA, "nistp521", 133 },
	{ "sk-ssh-ed25519@openssh.com", K_SK_ED25519, NULL, 32 },
	{ "sk-ecdsa-sha2-nistp256@openssh.com", K_SK_ECDSA, "nistp256", 65 },
};

static const struct key_type *type_named(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++)
		if (strlen(key_types[i].name) == n && memcmp(key_types[i].name, s, n) == 0)
			return &key_types[i];
	return NULL;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Strict base64 (RFC 4648 4): whole quanta, '=' only as the last one or
 * two characters, no whitespace, and the bits padding leaves unused zero
 * (so one blob has one spelling). The decoded length, or -1. */
static long b64_decode(const char *in, size_t n, unsigned char *out, size_t outlen)
{
	size_t i, o = 0;

	if (n == 0 || n % 4 != 0 || n / 4 * 3 > outlen)
		return -1;
	for (i = 0; i < n; i += 4) {
		int v[4], k, pad = 0;
		uint32_t q;

		for (k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + k];

			if (c == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0)
				return -1; /* data after '=' */
			v[k] = ojit_b64_digit(c, 0);
			if (v[k] < 0)
				return -1;
		}
		q = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		out[o++] = (unsigned char)(q >> 16);
		if (pad < 2)
			out[o++] = (unsigned char)(q >> 8);
		else if ((q & 0xffff) != 0)
			return -1;
		if (pad < 1)
			out[o++] = (unsigned char)q;
		else if ((q & 0xff) != 0)
			return -1;
	}
	return (long)o;
}

/* The SSH wire string at *p (u32 length, bytes): 0 with *s, *slen set
 * and *p moved past it, or -1 when it runs past end. */
static int wire_string(const unsigned char **p, const unsigned char *end, const unsigned char **s, size_t *slen)
{
	uint32_t len;

	if (end - *p < 4)
		return -1;
	len = (uint32_t)(*p)[0] << 24 | (uint32_t)(*p)[1] << 16 | (uint32_t)(*p)[2] << 8 | (uint32_t)(*p)[3];
	*p += 4;
	if ((size_t)(end - *p) < len)
		return -1;
	*s = *p;
	*slen = len;
	*p += len;
	return 0;
}

static int wire_equals(const unsigned char *s, size_t n, const char *want)
{
	return strlen(want) == n && memcmp(s, want, n) == 0;
}

/* A positive mpint (RFC 4251 5) in its one spelling: its bits, or -1. */
static long mpint_bits(const unsigned char *s, size_t n)
{
	long bits;
	unsigned char top;

	if (n == 0 || (s[0] & 0x80) != 0)
		return -1; /* zero or negative */
	if (s[0] == 0) {
		if (n == 1 || (s[1] & 0x80) == 0)
			return -1; /* a leading zero byte that is not needed */
		s++;
		n--;
	}
	top = s[0];
	bits = (long)(n - 1) * 8;
	while (top != 0) {
		bits++;
		top >>= 1;
	}
	return bits;
}

/* The blob holds exactly what type t says, its own type string first. */
static int blob_check(const struct key_type *t, const unsigned char *b, size_t n, const char **why)
{
	const unsigned char *p = b, *end = b + n, *s, *s2;
	size_t slen, s2len;
	long bits;

	if (wire_string(&p, end, &s, &slen) != 0 || !wire_equals(s, slen, t->name)) {
		*why = "the key's blob is of another type than its line says";
		return -1;
	}
	switch (t->kind) {
	case K_ED25519:
	case K_SK_ED25519:
		if (wire_string(&p, end, &s, &slen) != 0 || slen != t->point_len) {
			*why = "an Ed25519 key must hold 32 bytes";
			return -1;
		}
		break;
	case K_RSA:
		if (wire_string(&p, end, &s, &slen) != 0 || wire_string(&p, end, &s2, &s2len) != 0 ||
		    mpint_bits(s, slen) < 2 || (s[slen - 1] & 1) == 0) {
			*why = "not a valid RSA public key";
			return -1;
		}
		bits = mpint_bits(s2, s2len);
		if (bits < 0) {
			*why = "not a valid RSA public key";
			return -1;
		}
		if (bits < SSHKEY_RSA_MIN_BITS) {
			*why = "an RSA key shorter than 2048 bits";
			return -1;
		}
		if (bits > SSHKEY_RSA_MAX_BITS) {
			*why = "an RSA key longer than 16384 bits";
			return -1;
		}
		break;
	case K_ECDSA:
	case K_SK_ECDSA:
		if (wire_string(&p, end, &s, &slen) != 0 || !wire_equals(s, slen, t->curve)) {
			*why = "an ECDSA key whose curve is not its type's";
			return -1;
		}
		if (wire_string(&p, end, &s, &slen) != 0 || slen != t->point_len || s[0] != 0x04) {
			*why = "an ECDSA key whose point is not an uncompressed point of its curve";
			return -1;
		}
		break;
	}
	if (t->kind == K_SK_ED25519 || t->kind == K_SK_ECDSA) {
		/* the FIDO application, "ssh:" by default: text, bounded */
		size_t i;

		if (wire_string(&p, end, &s, &slen) != 0 || slen == 0 || slen > 256) {
			*why = "a security key without a valid application";
			return -1;
		}
		for (i = 0; i < slen; i++)
			if (s[i] < 0x20 || s[i] >= 0x7f) {
				*why = "a security key without a valid application";
				return -1;
			}
	}
	if (p != end) {
		*why = "the key's blob has bytes after the key";
		return -1;
	}
	return 0;
}

/* The options field at in: up to the first space or tab outside double
 * quotes (sshd's own rule). Its length, or 0 when it never ends. */
static size_t options_len(const char *in)
{
	size_t i;
	int quoted = 0;

	for (i = 0; in[i] != '\0'; i++) {
		if (in[i] == '\\' && quoted && in[i + 1] == '"')
			i++;
		else if (in[i] == '"')
			quoted = !quoted;
		else if (!quoted && is_space(in[i]))
			return i;
	}
	return 0;
}

static int append(char *out, size_t outlen, size_t *o, const char *s, size_t n)
{
	if (n >= outlen - *o)
		return -1;
	memcpy(out + *o, s, n);
	*o += n;
	out[*o] = '\0';
	return 0;
}

int sshkey_normalise(const char *in, int allow_options, char *out, size_t outlen, const char **why)
{
	unsigned char blob[SSHKEY_BLOB_MAX];
	const struct key_type *t;
	const char *p, *b64, *opts = NULL, *cend;
	size_t n, b64len, optslen = 0, o = 0, i, clen = 0;
	long blen;
	char comment[SSHKEY_COMMENT_MAX + 1];

	*why = "";
	if (outlen == 0)
		return -1;
	out[0] = '\0';
	n = strnlen(in, SSHKEY_LINE_MAX + 1);
	if (n > SSHKEY_LINE_MAX) {
		*why = "the key is longer than 16384 bytes";
		return -1;
	}
	/* The comment is the only free text: anywhere before it a control
	 * character (a line break above all: a second authorized_keys line)
	 * refuses the key. Found below, when the comment's start is known. */
	for (p = in; is_space(*p); p++)
		;
	if (*p == '\0') {
		*why = "the key is empty";
		return -1;
	}
	for (n = 0; p[n] != '\0' && !is_space(p[n]); n++)
		;
	t = type_named(p, n);
	if (t == NULL) {
		/* Not a type: options first, when a known type follows them
		 * (sshd reads the line so), else junk. */
		const char *q;
		size_t qn;

		optslen = options_len(p);
		for (q = p + optslen; optslen > 0 && is_space(*q); q++)
			;
		for (qn = 0; optslen > 0 && q[qn] != '\0' && !is_space(q[qn]); qn++)
			;
		if (optslen == 0 || type_named(q, qn) == NULL) {
			*why = "not a known key type";
			return -1;
		}
		if (!allow_options) {
			*why = "the key has options (command=, from=, ...): refused (key_options = refuse)";
			return -1;
		}
		if (optslen > SSHKEY_OPTIONS_MAX) {
			*why = "the key's options are longer than 1024 bytes";
			return -1;
		}
		for (i = 0; i < optslen; i++)
			if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] == 0x7f) {
				*why = "a control character in the key's options";
				return -1;
			}
		opts = p;
		for (p += optslen; is_space(*p); p++)
			;
		for (n = 0; p[n] != '\0' && !is_space(p[n]); n++)
			;
		t = type_named(p, n);
		if (t == NULL) {
			*why = "not a known key type";
			return -1;
		}
	}
	for (b64 = p + n; is_space(*b64); b64++)
		;
	for (b64len = 0; b64[b64len] != '\0' && !is_space(b64[b64len]); b64len++)
		if ((unsigned char)b64[b64len] < 0x20 || (unsigned char)b64[b64len] == 0x7f) {
			*why = "a control character in the key";
			return -1;
		}
	if (b64len == 0) {
		*why = "the key has no base64 blob";
		return -1;
	}
	blen = b64_decode(b64, b64len, blob, sizeof(blob));
	if (blen < 0) {
		*why = b64len / 4 * 3 > sizeof(blob) ? "the key's blob is longer than 8192 bytes"
						     : "the key's blob is not valid base64";
		return -1;
	}
	if (blob_check(t, blob, (size_t)blen, why) != 0)
		return -1;
	/* the comment: control characters dropped, spaces kept single */
	for (cend = b64 + b64len; is_space(*cend); cend++)
		;
	for (; *cend != '\0'; cend++) {
		unsigned char c = (unsigned char)*cend;

		if (c == '\t')
			c = ' ';
		else if (c < 0x20 || c == 0x7f)
			continue;
		if (c == ' ' && (clen == 0 || comment[clen - 1] == ' '))
			continue;
		if (clen >= SSHKEY_COMMENT_MAX) {
			*why = "the key's comment is longer than 256 bytes";
			return -1;
		}
		comment[clen++] = (char)c;
	}
	while (clen > 0 && comment[clen - 1] == ' ')
		clen--;
	comment[clen] = '\0';
	if ((opts != NULL && (append(out, outlen, &o, opts, optslen) != 0 || append(out, outlen, &o, " ", 1) != 0)) ||
	    append(out, outlen, &o, t->name, strlen(t->name)) != 0 || append(out, outlen, &o, " ", 1) != 0 ||
	    append(out, outlen, &o, b64, b64len) != 0 ||
	    (clen > 0 && (append(out, outlen, &o, " ", 1) != 0 || append(out, outlen, &o, comment, clen) != 0))) {
		out[0] = '\0';
		*why = "the key does not fit";
		return -1;
	}
	return 0;
}
