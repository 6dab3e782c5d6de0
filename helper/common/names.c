/* names.c - valid user and group names (names.h). Moved out of daemon.c
 * so that every part of okta-jitd may use it without reaching up. */
#include "names.h"

#include <stddef.h>
#include <string.h>

int jitd_valid_username(const char *u)
{
	size_t i, len;

	if (u == NULL)
		return 0;
	len = strlen(u);
	if (len == 0 || len > NAMES_USER_MAX || u[0] == '-' || u[0] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		char c = u[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      c == '-' || c == '.' || c == '@' || (c == '$' && i == len - 1)))
			return 0;
	}
	return 1;
}

int jitd_valid_groupname(const char *g)
{
	const unsigned char *p;
	size_t len;

	if (g == NULL)
		return 0;
	len = strlen(g);
	if (len == 0 || len > NAMES_GROUP_MAX)
		return 0;
	for (p = (const unsigned char *)g; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}
