/* cli_key.c - the Okta key for root's commands run outside okta-jitd's
 * unit (cli_key.h). */
#include "cli_key.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "okta_api.h"
#include "util.h"

#define CLI_SYSTEMD_CREDS "/usr/bin/systemd-creds"
#define CLI_CRED_MAX (64 * 1024)

/* Read fd to its end into buf (at most max bytes kept). */
static size_t read_to_end(int fd, char *buf, size_t max)
{
	size_t used = 0;

	for (;;) {
		char sink[4096];
		ssize_t n = used < max ? read(fd, buf + used, max - used) : read(fd, sink, sizeof(sink));

		if (n > 0 && used < max)
			used += (size_t)n;
		if (n == 0 || (n < 0 && errno != EINTR))
			break;
	}
	return used;
}

/* A command run outside the unit, where no $CREDENTIALS_DIRECTORY is,
 * decrypts the sealed credential itself, from where docs/packaging.md
 * puts it, with systemd-creds, as LoadCredentialEncrypted= would. 0: the
 * PEM is in *pem (wipe and free it); 1: no sealed file there; -1: it
 * cannot be decrypted (why says what systemd-creds said). */
static int decrypt_credential(const char *name, const char *path, char **pem, size_t *len, char *why,
			      size_t whylen)
{
	int out[2] = { -1, -1 }, err[2] = { -1, -1 };
	char arg[300], msg[1024];
	static char path_env[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	char *const env[] = { path_env, NULL }; /* nothing of the caller's environment */
	size_t mlen;
	int status = 0, r = -1;
	pid_t pid;

	*pem = NULL;
	*len = 0;
	if (access(path, F_OK) != 0)
		return 1;
	if (access(CLI_SYSTEMD_CREDS, X_OK) != 0) {
		snprintf(why, whylen, CLI_SYSTEMD_CREDS " is not installed");
		return -1;
	}
	if (snprintf(arg, sizeof(arg), "--name=%s", name) >= (int)sizeof(arg) || pipe2(out, O_CLOEXEC) != 0 ||
	    pipe2(err, O_CLOEXEC) != 0) {
		snprintf(why, whylen, "cannot run " CLI_SYSTEMD_CREDS ": %s", strerror(errno));
		goto out;
	}
	*pem = malloc(CLI_CRED_MAX + 1);
	if (*pem == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
			_exit(126);
		execle(CLI_SYSTEMD_CREDS, CLI_SYSTEMD_CREDS, "decrypt", arg, path, "-", (char *)NULL, env);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	out[1] = err[1] = -1;
	/* the key is at most a few KiB: it fits the pipe, so stderr after */
	*len = read_to_end(out[0], *pem, CLI_CRED_MAX);
	mlen = read_to_end(err[0], msg, sizeof(msg) - 1);
	msg[mlen] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/* the last line: systemd-creds says why there */
		char *p = msg + strlen(msg);

		while (p > msg && (p[-1] == '\n' || p[-1] == '\r'))
			*--p = '\0';
		p = strrchr(msg, '\n');
		ojit_strip_controls(msg);
		snprintf(why, whylen, "%s", p != NULL ? p + 1 : (msg[0] ? msg : "systemd-creds failed"));
		goto out;
	}
	(*pem)[*len] = '\0';
	r = 0;
out:
	if (r != 0 && *pem != NULL) {
		ojit_wipe(*pem, CLI_CRED_MAX + 1);
		free(*pem);
		*pem = NULL;
		*len = 0;
	}
	if (out[0] >= 0)
		close(out[0]);
	if (out[1] >= 0)
		close(out[1]);
	if (err[0] >= 0)
		close(err[0]);
	if (err[1] >= 0)
		close(err[1]);
	return r;
}

int cli_key_open(const struct ojit_config *cfg, int next, struct okta_key **out, int *sealed, char *err,
		 size_t errlen)
{
	const char *spec = next ? cfg->next_private_key : cfg->private_key;
	const char *what = next ? "next_private_key" : "private_key";
	char path[512], why[1024];
	char *pem = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	*sealed = 0;
	if (spec == NULL || strncmp(spec, "credential:", 11) != 0 || getenv("CREDENTIALS_DIRECTORY") != NULL)
		return okta_client_open_key(cfg, next, out, err, errlen);
	snprintf(path, sizeof(path), CLI_CREDSTORE "/%s", spec + 11);
	r = decrypt_credential(spec + 11, path, &pem, &len, why, sizeof(why));
	if (r == 1) /* not sealed there: say what okta-jitd would */
		return okta_client_open_key(cfg, next, out, err, errlen);
	*sealed = 1;
	if (r != 0) {
		snprintf(err, errlen, "%s: [okta] %s: %s: %s cannot be decrypted on this host: %s", cfg->path, what, spec,
			 path, why);
		return -1;
	}
	r = okta_key_from_pem(spec, (unsigned char *)pem, len, out, why, sizeof(why));
	ojit_wipe(pem, CLI_CRED_MAX + 1);
	free(pem);
	if (r != 0) {
		snprintf(err, errlen, "%s: [okta] %s: %s decrypts, but: %s", cfg->path, what, path, why);
		return -1;
	}
	return 0;
}
