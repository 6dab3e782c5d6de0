/* fuzz_proto.c - libFuzzer harness for the socket protocol parser.
 *
 * The input is a whole frame as it would arrive on the daemon's socket:
 * proto_parse_header on the first 12 bytes, proto_parse_payload on the
 * rest. A frame that parses must keep the parser's promises (each value
 * NUL-terminated, of its stated length, no NUL inside, tags in range), and
 * building it again with proto_out must give a frame that parses to the
 * same fields. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_same(const struct proto_msg *a, const struct proto_msg *b)
{
	size_t i;

	if (a->type != b->type || a->nfields != b->nfields)
		abort();
	for (i = 0; i < a->nfields; i++)
		if (a->fields[i].tag != b->fields[i].tag || a->fields[i].len != b->fields[i].len ||
		    memcmp(a->fields[i].val, b->fields[i].val, a->fields[i].len) != 0)
			abort();
}

static void round_trip(const struct proto_msg *m)
{
	struct proto_out o;
	struct proto_msg again;
	uint8_t type;
	uint32_t len;
	size_t i;

	proto_out_init(&o, m->type);
	for (i = 0; i < m->nfields; i++)
		proto_out_add(&o, m->fields[i].tag, m->fields[i].val);
	if (proto_out_finish(&o, PROTO_MAX_PAYLOAD) != 0)
		abort(); /* it came in under the limit, so it must go out */
	if (o.len < PROTO_HEADER_LEN ||
	    proto_parse_header(o.data, &type, &len, PROTO_MAX_PAYLOAD) != 0 ||
	    len != o.len - PROTO_HEADER_LEN || type != m->type)
		abort();
	if (proto_parse_payload(&again, type, o.data + PROTO_HEADER_LEN, len) != 0)
		abort();
	check_same(m, &again);
	proto_msg_free(&again);
	proto_out_free(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_msg m;
	uint8_t type;
	uint32_t len;
	size_t i, total = 0;
	int tag;

	if (size < PROTO_HEADER_LEN)
		return 0;
	/* The daemon's limit and the client's limit. */
	if (proto_parse_header(data, &type, &len, PROTO_MAX_REQUEST) != 0 &&
	    proto_parse_header(data, &type, &len, PROTO_MAX_PAYLOAD) != 0)
		return 0;
	if (len > PROTO_MAX_PAYLOAD)
		abort();
	/* The payload is what follows the header, whatever the header says:
	 * proto_read hands over exactly len bytes; here len is bounded by the
	 * input so the parser also sees lengths the header did not announce. */
	if (len > size - PROTO_HEADER_LEN)
		len = (uint32_t)(size - PROTO_HEADER_LEN);
	if (proto_parse_payload(&m, type, data + PROTO_HEADER_LEN, len) != 0)
		return 0;
	if (m.nfields > PROTO_MAX_FIELDS)
		abort();
	for (i = 0; i < m.nfields; i++) {
		const struct proto_field *f = &m.fields[i];

		if (f->tag == 0 || f->tag > T_TAG_MAX || f->val == NULL || f->val[f->len] != '\0' ||
		    strlen(f->val) != f->len)
			abort();
	}
	for (tag = 0; tag <= 255; tag++) {
		size_t n = proto_count(&m, (uint8_t)tag);
		const char *v = proto_get(&m, (uint8_t)tag);

		if ((n == 0) != (v == NULL))
			abort();
		total += n;
	}
	if (total != m.nfields)
		abort();
	round_trip(&m);
	proto_msg_free(&m);
	return 0;
}
