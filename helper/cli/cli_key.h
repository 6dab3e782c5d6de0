/* cli_key.h - the Okta key as root's commands outside okta-jitd's unit
 * open it (doctor, groups, key show, key rotate): as okta-jitd does, and a
 * credential:NAME key from its sealed file (issue 21). */
#ifndef OJIT_CLI_KEY_H
#define OJIT_CLI_KEY_H

#include <stddef.h>

#include "config.h"
#include "okta_key.h"

/* Where docs/packaging.md seals credentials (LoadCredentialEncrypted=). */
#define CLI_CREDSTORE "/etc/credstore.encrypted"

/* Open [okta] private_key (next: next_private_key). A credential:NAME key
 * with no $CREDENTIALS_DIRECTORY (a command run from a shell) is decrypted
 * from CLI_CREDSTORE/NAME with systemd-creds, as the unit's
 * LoadCredentialEncrypted= does; *sealed is then 1, on success and when
 * that file is there but cannot be decrypted. 0, or -1 with err. */
int cli_key_open(const struct ojit_config *cfg, int next, struct okta_key **out, int *sealed, char *err,
		 size_t errlen);

#endif
