/* config_internal.h - what config.c takes from config_check.c beyond
 * config.h (private to the config layer). */
#ifndef OJIT_CONFIG_INTERNAL_H
#define OJIT_CONFIG_INTERNAL_H

#include <stddef.h>

/* the longest line config.c reads, and so the longest value */
#define CONFIG_LINE_MAX 4096

/* 1 when a postgresql:// URI holds a password (userinfo with a ':' or a
 * password parameter, however percent-encoded). */
int config_uri_has_password(const char *uri);
/* 0 when a PostgreSQL ledger URI is safe to connect to (a loopback or
 * Unix-socket database, or sslmode=verify-full); else -1, why in why. */
int config_pg_transport_ok(const char *uri, char *why, size_t n);

#endif
