/* client.h - okta-jit's commands that talk to okta-jitd. */
#ifndef OJIT_CLIENT_H
#define OJIT_CLIENT_H

/* Exit codes, each listed in okta-jit(1)'s EXIT STATUS (a test reads
 * this enum and the man page). */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,   /* refused, or the operation failed */
	EXIT_USAGE = 2,  /* bad command line */
	EXIT_CONFIG = 3, /* configuration or key unusable */
	EXIT_OKTA = 4,   /* Okta refused or could not be reached */
	EXIT_DAEMON = 5, /* okta-jitd unreachable or misbehaving */
	EXIT_DENIED = 6, /* not allowed (authorisation) */
};

/* The "schema" of every --json document (okta-jit(1) JSON OUTPUT,
 * docs/cli-json.md): raised when a field changes meaning or goes away,
 * not when one is added. */
#define CLI_JSON_SCHEMA 1

/* Run a daemon command (request, approve, deny, revoke, extend, list,
 * status, audit, check, ping). Returns the exit code, or -1 if cmd is not
 * one of them. */
int client_command(const char *socket_path, int json, const char *cmd, int argc, char **argv);

/* `okta-jit metrics` (cli_metrics.c): argv[0] is "metrics". */
int cli_metrics(const char *socket_path, int json, int argc, char **argv);

#endif
