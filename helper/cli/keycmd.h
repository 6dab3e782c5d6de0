/* keycmd.h - `okta-jit key new|show|rotate` (issue 21). */
#ifndef OJIT_KEYCMD_H
#define OJIT_KEYCMD_H

/* argv[0] is "key". socket_path: --socket, or NULL for the config's.
 * Returns an exit code (client.h). */
int keycmd_run(const char *config_path, const char *socket_path, int json, int argc, char **argv);

#endif
