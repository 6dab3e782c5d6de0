/* proto_records.c - reading the records of a multi-record answer
 * (proto_records.h). */
#include "proto_records.h"

#include "util.h"

const char *proto_rec_get(const struct proto_msg *m, size_t start, uint8_t tag)
{
	size_t i;

	for (i = start; i < m->nfields && m->fields[i].tag != T_RECORD; i++)
		if (m->fields[i].tag == tag)
			return m->fields[i].val;
	return NULL;
}

int64_t proto_rec_int(const struct proto_msg *m, size_t start, uint8_t tag)
{
	const char *v = proto_rec_get(m, start, tag);
	int64_t out = 0;

	if (v == NULL || ojit_parse_int64(v, INT64_MIN / 2, INT64_MAX / 2, &out) != 0)
		return 0;
	return out;
}
