/* complete.h - `okta-jit __complete`: words for the bash completion. */
#ifndef OJIT_COMPLETE_H
#define OJIT_COMPLETE_H

/* `okta-jit __complete groups|ids|pending`: one word a line on stdout,
 * nothing on stderr (the shell is drawing a prompt); see complete.c.
 * argv[0] is "__complete". Returns an exit code. */
int complete_run(const char *config_path, const char *socket_path, int argc, char **argv);

#endif
