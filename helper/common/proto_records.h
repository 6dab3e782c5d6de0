/* proto_records.h - reading the records of a LIST or AUDIT answer.
 *
 * A multi-record answer is a run of fields per record, each record opened
 * by T_RECORD (docs/protocol.md). The CLI and the web pages read them the
 * same way; the PAM module never does (it links proto.o alone). */
#ifndef OJIT_PROTO_RECORDS_H
#define OJIT_PROTO_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/* The value of tag within the record whose fields begin at index start
 * (up to the next T_RECORD), or NULL. */
const char *proto_rec_get(const struct proto_msg *m, size_t start, uint8_t tag);
/* The same as a number; 0 when absent or not a number. */
int64_t proto_rec_int(const struct proto_msg *m, size_t start, uint8_t tag);

#endif
